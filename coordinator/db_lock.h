// One coordinator per database: an exclusive flock(2) on `<db>.lock`, held
// for the coordinator's whole life, so that a second coordinator started on
// the same file refuses at start instead of redoing the first one's work.
// The file holds the holder's pid for the refusal message. The kernel drops
// the lock with the process, so a SIGKILLed coordinator's restart is not
// blocked by a stale file. Readers (`mixq query`, `mixq report`) take no
// lock: WAL mode lets them read beside the writer.
#ifndef MIXQ_COORDINATOR_DB_LOCK_H_
#define MIXQ_COORDINATOR_DB_LOCK_H_

#include <memory>
#include <string>

#include "common/status.h"

namespace mixq {

class DbLock {
 public:
  // Locks `db_path` + ".lock" (created if missing) and writes this process's
  // pid into it. FailedPrecondition, naming the database, the holder's pid
  // and the lock file, when another process holds it; Unavailable when the
  // lock file cannot be opened. ":memory:" (and "") take no lock.
  static StatusOr<std::unique_ptr<DbLock>> Acquire(const std::string& db_path);
  // Releases the lock; the file stays (removing it would race a new holder).
  ~DbLock();
  DbLock(const DbLock&) = delete;
  DbLock& operator=(const DbLock&) = delete;

  class Key {
    friend class DbLock;
    Key() = default;
  };
  DbLock(Key, int fd) : fd_(fd) {}

 private:
  int fd_;  // -1: nothing locked
};

}  // namespace mixq

#endif  // MIXQ_COORDINATOR_DB_LOCK_H_
