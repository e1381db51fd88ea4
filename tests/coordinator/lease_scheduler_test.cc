#include "coordinator/lease_scheduler.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mixq {
namespace {

using std::chrono::milliseconds;
using Assigned = std::pair<std::string, std::string>;  // worker, task id

// A scheduler whose TASK_ASSIGNs and failures are recorded instead of sent
// and stored; time is whatever the test passes as "now".
class LeaseSchedulerTest : public ::testing::Test {
 protected:
  void Make(const LeaseScheduler::Options& options) {
    scheduler_ = std::make_unique<LeaseScheduler>(
        options,
        [this](const std::string& identity, const proto::TaskAssign& assign) {
          assigned_.emplace_back(identity, assign.task_id());
        },
        [this](const std::string& task_id, const std::string& error) {
          failed_.emplace_back(task_id, error);
        });
  }

  void AddTask(const std::string& id, int64_t job, const std::string& hardware,
               proto::TaskKind kind = proto::TASK_KIND_EVALUATE) {
    PendingTask task;
    task.id = id;
    task.job_id = job;
    task.hardware = hardware;
    task.assign.set_task_id(id);
    task.assign.set_kind(kind);
    scheduler_->AddTask(std::move(task));
  }

  void AddWorker(const std::string& identity, const std::string& host,
                 const std::string& hardware_class) {
    LeaseScheduler::Worker w;
    w.identity = identity;
    w.name = identity;
    w.host = host;
    w.hardware_class = hardware_class;
    scheduler_->AddWorker(std::move(w), "", start_);
  }

  const LeaseScheduler::Clock::time_point start_ = LeaseScheduler::Clock::now();
  std::unique_ptr<LeaseScheduler> scheduler_;
  std::vector<Assigned> assigned_;
  std::vector<std::pair<std::string, std::string>> failed_;  // task id, error
};

TEST_F(LeaseSchedulerTest, TaskOfAClassNoWorkerHasWaitsThenFailsNamingTheClass) {
  LeaseScheduler::Options options;
  options.missing_class_grace_ms = 5000;
  Make(options);
  AddWorker("w1", "h1", "A");
  AddTask("for-b", 1, "B");
  AddTask("for-a", 1, "A");
  scheduler_->Dispatch(start_);
  // The worker skips the task it cannot run and takes the next one.
  EXPECT_EQ(assigned_, (std::vector<Assigned>{{"w1", "for-a"}}));

  // Heartbeats keep the worker alive; the grace counts from the first round
  // that saw class B missing.
  scheduler_->Touch("w1", start_ + milliseconds(4000));
  scheduler_->Tick(start_ + milliseconds(1000));
  scheduler_->Tick(start_ + milliseconds(5999));
  EXPECT_TRUE(failed_.empty());
  EXPECT_EQ(scheduler_->OpenTasksOf(1), 2);

  scheduler_->Tick(start_ + milliseconds(6000));
  ASSERT_EQ(failed_.size(), 1u);
  EXPECT_EQ(failed_[0].first, "for-b");
  EXPECT_EQ(failed_[0].second, "no connected worker of hardware class 'B' for 5000 ms");
  EXPECT_EQ(scheduler_->OpenTasksOf(1), 1);  // the leased one is still open
  EXPECT_EQ(assigned_.size(), 1u);
}

TEST_F(LeaseSchedulerTest, SilentWorkersTaskIsRequeuedThenFailsForGoodAfterMaxAttempts) {
  LeaseScheduler::Options options;
  options.heartbeat_ms = 1000;
  options.liveness = 3;
  options.max_attempts = 2;
  Make(options);
  AddTask("t", 7, "A");
  AddWorker("w1", "h1", "A");
  scheduler_->Dispatch(start_);
  ASSERT_EQ(assigned_, (std::vector<Assigned>{{"w1", "t"}}));

  // w1 misses its heartbeats; w2 joins and gets the requeued task.
  AddWorker("w2", "h2", "A");
  scheduler_->Touch("w2", start_ + milliseconds(3001));
  EXPECT_EQ(scheduler_->LiveWorkers(start_ + milliseconds(3001)), std::vector<std::string>{"w2"});
  scheduler_->Tick(start_ + milliseconds(3001));
  EXPECT_EQ(scheduler_->FindWorker("w1"), nullptr);
  ASSERT_EQ(assigned_, (std::vector<Assigned>{{"w1", "t"}, {"w2", "t"}}));
  EXPECT_TRUE(failed_.empty());

  // The second loss is the last attempt: the task fails for good.
  scheduler_->LoseWorker("w2", "test");
  ASSERT_EQ(failed_.size(), 1u);
  EXPECT_EQ(failed_[0].first, "t");
  EXPECT_EQ(failed_[0].second, "worker lost (2 attempts)");
  EXPECT_EQ(scheduler_->OpenTasksOf(7), 0);
  EXPECT_FALSE(scheduler_->Complete("t"));  // a late result is a duplicate
}

TEST_F(LeaseSchedulerTest, NotStartedTaskIsRequeuedWithoutAnAttemptAndTheWorkerWaits) {
  LeaseScheduler::Options options;
  options.max_attempts = 1;
  Make(options);
  AddTask("t", 1, "any");
  AddWorker("w1", "h1", "A");
  scheduler_->Dispatch(start_);
  scheduler_->NotStarted("w1", "t");
  scheduler_->Dispatch(start_);
  // Busy with something else: w1 gets nothing, and the refusal cost no
  // attempt (with max_attempts 1 a counted one would have failed the task).
  EXPECT_EQ(assigned_.size(), 1u);
  EXPECT_TRUE(failed_.empty());

  AddWorker("w2", "h2", "A");
  scheduler_->Dispatch(start_);
  EXPECT_EQ(assigned_, (std::vector<Assigned>{{"w1", "t"}, {"w2", "t"}}));
  scheduler_->LoseWorker("w2", "test");
  ASSERT_EQ(failed_.size(), 1u);
  EXPECT_EQ(failed_[0].second, "worker lost (1 attempts)");
}

TEST_F(LeaseSchedulerTest, TimedTaskWaitsForItsHostToEmptyAndThenRunsAlone) {
  Make(LeaseScheduler::Options{});
  AddTask("eval-1", 1, "any");
  AddWorker("w1", "h", "A");
  scheduler_->Dispatch(start_);
  AddTask("bench", 1, "any", proto::TASK_KIND_BENCHMARK);
  AddTask("eval-2", 1, "any");
  AddWorker("w2", "h", "A");
  scheduler_->Dispatch(start_);
  // w1 runs an evaluation on host h: the benchmark waits, and the host
  // drains (eval-2 does not start beside it).
  EXPECT_EQ(assigned_, (std::vector<Assigned>{{"w1", "eval-1"}}));

  ASSERT_TRUE(scheduler_->Complete("eval-1"));
  ASSERT_TRUE(scheduler_->Release("w1", "eval-1"));
  scheduler_->Dispatch(start_);
  EXPECT_EQ(assigned_, (std::vector<Assigned>{{"w1", "eval-1"}, {"w2", "bench"}}));
}

TEST_F(LeaseSchedulerTest, CancelDropsOnlyTheTasksNoOtherJobNeeds) {
  Make(LeaseScheduler::Options{});
  AddTask("mine", 1, "any");
  AddTask("shared", 1, "any");
  AddTask("shared", 2, "any");
  EXPECT_EQ(scheduler_->open_count(), 2u);
  scheduler_->DropJob(1);
  EXPECT_EQ(scheduler_->OpenTasksOf(1), 0);
  EXPECT_EQ(scheduler_->OpenTasksOf(2), 1);
  AddWorker("w1", "h1", "A");
  AddWorker("w2", "h2", "A");
  scheduler_->Dispatch(start_);
  EXPECT_EQ(assigned_.size(), 1u);
  EXPECT_EQ(assigned_[0].second, "shared");
}

}  // namespace
}  // namespace mixq
