#include "fuzz/fuzz_check.h"

#include <cstdio>
#include <cstdlib>
#include <exception>

namespace mixq::fuzz {

void Fail(const std::string& what) {
  std::fprintf(stderr, "fuzz check failed: %s\n", what.c_str());
  std::abort();
}

void CheckRefusal(const Status& status, const std::string& reader) {
  if (status.code() == StatusCode::kInternal) {
    Fail(reader + " answered a user's bytes with an internal error: " + status.message());
  }
  if (status.message().empty()) Fail(reader + " refused without a message");
  if (status.message().find('\n') != std::string::npos) {
    Fail(reader + " refused with more than one line: " + status.message());
  }
  // To see which seeds a reader accepts (a seed that is refused explores
  // only the refusal).
  if (std::getenv("MIXQ_FUZZ_VERBOSE")) {
    std::fprintf(stderr, "refused by %s: %s\n", reader.c_str(), status.message().c_str());
  }
}

void CatchEscapes(const std::function<void()>& body) {
  try {
    body();
  } catch (const std::exception& e) {
    Fail(std::string("exception escaped: ") + e.what());
  } catch (...) {
    Fail("a non-standard exception escaped");
  }
}

}  // namespace mixq::fuzz
