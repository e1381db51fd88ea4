#include "coordinator/db_lock.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "tests/common/data_files.h"

namespace mixq {
namespace {

// flock(2) locks belong to an open file description, so a second Acquire in
// this same process conflicts as a second coordinator's would.
TEST(DbLock, SecondHolderIsRefusedNamingTheFirstPidAndTheLockFile) {
  const test::TempDir dir;
  const std::string db = dir.Path("mixq.db");
  auto first = DbLock::Acquire(db);
  ASSERT_TRUE(first.ok()) << first.status().message();
  auto second = DbLock::Acquire(db);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(second.status().message(), db + " is in use by another coordinator (pid " +
                                           std::to_string(getpid()) + "; lock " + db + ".lock)");
}

TEST(DbLock, ReleasedLockCanBeTakenAgain) {
  const test::TempDir dir;
  const std::string db = dir.Path("mixq.db");
  ASSERT_TRUE(DbLock::Acquire(db).ok());  // released at the end of the statement
  auto again = DbLock::Acquire(db);
  EXPECT_TRUE(again.ok()) << again.status().message();
}

TEST(DbLock, InMemoryDatabaseTakesNoLock) {
  auto first = DbLock::Acquire(":memory:");
  auto second = DbLock::Acquire(":memory:");
  EXPECT_TRUE(first.ok());
  EXPECT_TRUE(second.ok());
  EXPECT_FALSE(std::ifstream(":memory:.lock").good());
}

TEST(DbLock, UnopenableLockFileIsUnavailableNamingIt) {
  auto lock = DbLock::Acquire("/nonexistent/dir/mixq.db");
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(lock.status().message().rfind("/nonexistent/dir/mixq.db.lock: cannot open", 0), 0u);
}

}  // namespace
}  // namespace mixq
