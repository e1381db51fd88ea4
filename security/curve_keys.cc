#include "security/curve_keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mixq {
namespace {

constexpr size_t kZ85Chars = 40;

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// A key file is small; anything larger is not one of ours.
StatusOr<std::string> ReadSmallFile(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return NotFound(path + ": cannot read key file: " + ec.message());
  if (size > 4096)
    return InvalidArgument(path + ": not a key file (" + std::to_string(size) + " bytes)");
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot read key file");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// "name = value" lines of a .key file.
StatusOr<std::string> Field(const std::string& text, const std::string& name,
                            const std::string& path) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    if (Trim(line.substr(0, eq)) != name) continue;
    const std::string value = Trim(line.substr(eq + 1));
    if (!IsCurveKey(value)) {
      return InvalidArgument(path + ": '" + name + "' is not a Z85 CURVE key (40 characters)");
    }
    return value;
  }
  return InvalidArgument(path + ": no '" + name + " = ...' line (make key files with mixq keygen)");
}

Status WriteNew(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return FailedPrecondition(
        path + ": " + std::strerror(errno) +
        (errno == EEXIST ? " (keys are never overwritten; remove it first)" : ""));
  }
  const ssize_t n = write(fd, text.data(), text.size());
  const bool ok = n == static_cast<ssize_t>(text.size());
  const int saved = errno;
  close(fd);
  if (!ok) return Unavailable(path + ": write failed: " + std::strerror(saved));
  return Status::Ok();
}

}  // namespace

StatusOr<CurveKeyPair> GenerateCurveKeyPair() {
  std::array<char, kZ85Chars + 1> pub{}, sec{};
  if (zmq_curve_keypair(pub.data(), sec.data()) != 0) {
    return Unavailable(std::string("cannot make a CURVE key pair: ") + zmq_strerror(zmq_errno()));
  }
  return CurveKeyPair{pub.data(), sec.data()};
}

bool IsCurveKey(const std::string& z85) {
  if (z85.size() != kZ85Chars) return false;
  std::array<uint8_t, 32> bytes{};
  return zmq_z85_decode(bytes.data(), z85.c_str()) != nullptr;
}

Status SaveCurveKeyPair(const CurveKeyPair& pair, const std::string& prefix) {
  if (!IsCurveKey(pair.public_key) || !IsCurveKey(pair.secret_key)) {
    return InvalidArgument("not a CURVE key pair");
  }
  const std::string key = prefix + ".key", pub = prefix + ".pub";
  if (std::filesystem::exists(pub)) {
    return FailedPrecondition(pub + ": exists (keys are never overwritten; remove it first)");
  }
  MIXQ_RETURN_IF_ERROR(WriteNew(key,
                                "# mixq CURVE key pair: keep this file private\n"
                                "public = " +
                                    pair.public_key +
                                    "\n"
                                    "secret = " +
                                    pair.secret_key + "\n",
                                0600));
  return WriteNew(pub, pair.public_key + "\n", 0644);
}

StatusOr<CurveKeyPair> LoadCurveKeyPair(const std::string& path) {
  MIXQ_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path));
  CurveKeyPair pair;
  MIXQ_ASSIGN_OR_RETURN(pair.public_key, Field(text, "public", path));
  MIXQ_ASSIGN_OR_RETURN(pair.secret_key, Field(text, "secret", path));
  std::array<char, kZ85Chars + 1> derived{};
  if (zmq_curve_public(derived.data(), pair.secret_key.c_str()) != 0 ||
      pair.public_key != derived.data()) {
    return InvalidArgument(path + ": the public key is not the secret key's");
  }
  return pair;
}

StatusOr<std::string> LoadCurvePublicKey(const std::string& path) {
  MIXQ_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path));
  const std::string bare = Trim(text);
  if (IsCurveKey(bare)) return bare;
  return Field(text, "public", path);
}

}  // namespace mixq
