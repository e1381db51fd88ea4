// What every fuzz target asserts beyond "no crash": a user's bytes are
// answered with a refusal, never an internal error or an exception escaping
// the product's boundary. A failed check aborts, which libFuzzer (and the
// replay binary) report as a crash with the message before it.
#ifndef MIXQ_FUZZ_FUZZ_CHECK_H_
#define MIXQ_FUZZ_FUZZ_CHECK_H_

#include <functional>
#include <string>

#include "common/status.h"

namespace mixq::fuzz {

// Prints `what` and aborts.
[[noreturn]] void Fail(const std::string& what);

// Aborts when `status` is an internal error (a bug in mixq, status.h) or has
// an empty message: a refusal must say why in one line. With
// MIXQ_FUZZ_VERBOSE set, prints the refusal.
void CheckRefusal(const Status& status, const std::string& reader);

// Runs `body`; aborts naming the exception if one escapes it.
void CatchEscapes(const std::function<void()>& body);

}  // namespace mixq::fuzz

#define MIXQ_FUZZ_CHECK(condition, what)        \
  do {                                          \
    if (!(condition)) ::mixq::fuzz::Fail(what); \
  } while (false)

#endif  // MIXQ_FUZZ_FUZZ_CHECK_H_
