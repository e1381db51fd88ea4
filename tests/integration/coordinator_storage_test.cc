// The coordinator's hold on its database, with real processes: it refuses a
// damaged file at start, refuses a file another coordinator holds, and ends
// a job whose completion cannot be stored as failed, with the reason.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "coordinator/store.h"
#include "tests/coordinator/damage_page.h"
#include "tests/integration/cluster.h"

namespace mixq::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Two FP32 evaluate shards of fm_resnet: a job that ends in seconds.
std::string SmallJobYaml() {
  return "name: storage-test\nmodel: " + kFmResnet +
         "\ndata: {evaluation: {dataset: " + kFashionMnistTest +
         ", shard_size: 100, count: 200}}\n";
}

int64_t SubmitSmallJob(Cluster& c) {
  StatusOr<proto::SubmitReply> reply = c.Submit(SmallJobYaml());
  EXPECT_TRUE(reply.ok()) << reply.status().message();
  if (!reply.ok()) return 0;
  EXPECT_EQ(reply->error(), "");
  return reply->job_id();
}

// mixq-coordinator on the cluster's database at `bind`, as an operator would
// start a second one by mistake.
std::unique_ptr<Process> StartAnotherCoordinator(Cluster& c, const std::string& bind,
                                                 const std::string& log) {
  return std::make_unique<Process>(
      std::vector<std::string>{kBinDir + "/mixq-coordinator", "--bind", bind, "--db", c.db(),
                               "--key", c.KeyFile("coordinator"), "--allow",
                               c.dir() + "/keys/allow"},
      c.dir() + "/" + log);
}

// A results page damaged while the coordinator was down: the next one
// refuses to start, with one line naming the file and the damage, rather
// than run on and leave jobs that read the page running forever.
TEST(CoordinatorStorage, DamagedShardResultsPageIsRefusedAtStartNamingTheFile) {
  Cluster c;
  ASSERT_TRUE(c.StartCoordinator());
  c.AddWorker();
  c.WaitDone(SubmitSmallJob(c));
  ASSERT_GT(c.Count("SELECT COUNT(*) FROM shard_results"), 0);
  c.coordinator().Stop(milliseconds(5000));
  Status damaged = DamageTableRootPage(c.db(), "shard_results");
  ASSERT_TRUE(damaged.ok()) << damaged.message();

  std::unique_ptr<Process> next = StartAnotherCoordinator(c, c.endpoint(), "after_damage.log");
  const int code = next->Wait(milliseconds(60000));
  EXPECT_NE(code, 0) << next->Log();
  EXPECT_NE(code, -1) << "still running on a damaged database:\n" << next->Log();
  EXPECT_NE(
      next->Log().find("mixq-coordinator: " + c.db() + ": the database is damaged (quick_check: "),
      std::string::npos)
      << next->Log();
}

// A second coordinator on the same database (another endpoint) exits with
// the first one's pid and the lock file, and the first one serves on.
TEST(CoordinatorStorage, SecondCoordinatorOnOneDatabaseIsRefusedAndTheFirstServesOn) {
  Cluster c;
  ASSERT_TRUE(c.StartCoordinator());
  std::unique_ptr<Process> second =
      StartAnotherCoordinator(c, "ipc://" + c.dir() + "/second", "second.log");
  const int code = second->Wait(milliseconds(60000));
  EXPECT_NE(code, 0) << second->Log();
  EXPECT_NE(code, -1) << "two coordinators run on one database:\n" << second->Log();
  EXPECT_NE(
      second->Log().find(c.db() + " is in use by another coordinator (pid " +
                         std::to_string(c.coordinator().pid()) + "; lock " + c.db() + ".lock)"),
      std::string::npos)
      << second->Log();
  EXPECT_TRUE(c.client().GetStatus(0, milliseconds(5000)).ok()) << c.coordinator().Log();
  c.AddWorker();
  c.WaitDone(SubmitSmallJob(c));
}

// Setting a job 'done' fails (a trigger stands in for the disk): the job
// ends failed with SQLite's reason in its status, and is never logged as
// finished.
TEST(CoordinatorStorage, JobWhoseEndCannotBeStoredEndsFailedWithTheReason) {
  Cluster c;
  {
    StatusOr<std::unique_ptr<Store>> store = Store::Open(c.db());
    ASSERT_TRUE(store.ok()) << store.status().message();
    ASSERT_TRUE((*store)
                    ->db()
                    .Exec("CREATE TRIGGER no_done BEFORE UPDATE OF state ON jobs "
                          "WHEN NEW.state='done' BEGIN SELECT RAISE(ABORT, 'disk says no'); END;")
                    .ok());
  }
  ASSERT_TRUE(c.StartCoordinator());
  c.AddWorker();
  const int64_t job = SubmitSmallJob(c);
  proto::StatusReply last;
  ASSERT_TRUE(c.WaitEnded(job, seconds(90), &last)) << c.coordinator().Log();
  EXPECT_EQ(last.state(), "failed");
  EXPECT_EQ(last.tasks_failed(), 0);
  ASSERT_GT(last.task_errors_size(), 0) << c.coordinator().Log();
  EXPECT_NE(last.task_errors(0).find("disk says no"), std::string::npos) << last.task_errors(0);
  EXPECT_EQ(c.coordinator().Log().find("job " + std::to_string(job) + " finished"),
            std::string::npos)
      << c.coordinator().Log();
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM jobs WHERE state='failed' AND error LIKE "
                    "'%disk says no%'"),
            1);
}

}  // namespace
}  // namespace mixq::test
