#include "coordinator/db_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mixq {
namespace {

// The pid the holder wrote, or "unknown" if it has not written it yet (it
// locks first, then writes) or the file cannot be read.
std::string HolderPid(int fd) {
  char buffer[32] = {};
  const ssize_t n = pread(fd, buffer, sizeof(buffer) - 1, 0);
  std::string pid = n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

}  // namespace

StatusOr<std::unique_ptr<DbLock>> DbLock::Acquire(const std::string& db_path) {
  if (db_path.empty() || db_path == ":memory:") return std::make_unique<DbLock>(Key(), -1);
  const std::string lock_path = db_path + ".lock";
  // O_CLOEXEC: a child process must not inherit, and so outlive us with, the lock.
  const int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Unavailable(lock_path + ": cannot open lock file: " + std::strerror(errno));
  }
  auto lock = std::make_unique<DbLock>(Key(), fd);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    if (error == EWOULDBLOCK) {
      return FailedPrecondition(db_path + " is in use by another coordinator (pid " +
                                HolderPid(fd) + "; lock " + lock_path + ")");
    }
    return Unavailable(lock_path + ": cannot lock: " + std::strerror(error));
  }
  const std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) != 0 ||
      pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return Unavailable(lock_path + ": cannot write pid: " + std::strerror(errno));
  }
  return lock;
}

DbLock::~DbLock() {
  if (fd_ >= 0) close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace mixq
