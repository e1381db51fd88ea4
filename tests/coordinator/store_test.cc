#include "coordinator/store.h"

#include <gtest/gtest.h>

namespace mixq {
namespace {

// A store with one model, dataset, config and a running job.
struct Fixture {
  std::unique_ptr<Store> store;
  int64_t job = 0, model = 0, dataset = 0, config = 0;

  Fixture() {
    auto opened = Store::Open(":memory:");
    EXPECT_TRUE(opened.ok()) << opened.status().message();
    store = std::move(opened.value());
    EXPECT_TRUE(store->UpsertBlob("m", "/m.onnx", 10).ok());
    EXPECT_TRUE(store->UpsertBlob("i", "/i", 10).ok());
    EXPECT_TRUE(store->UpsertBlob("l", "/l", 10).ok());
    model = store->UpsertModel("m", "/m.onnx").value();
    dataset = store->UpsertDataset("d", "/d.yaml", "i", "l", "{}", 100).value();
    config = store->UpsertConfig("c", "fp32", "{}").value();
    job = store->CreateJob("j", "evaluate", "name: j", model, dataset).value();
  }

  PlannedTask Task(const std::string& id) const {
    PlannedTask t;
    t.id = id;
    t.kind = "evaluate";
    t.model_id = model;
    t.dataset_id = dataset;
    t.config_id = config;
    t.assign.set_task_id(id);
    return t;
  }

  static TaskOutcome Result(const std::string& id, int64_t correct1) {
    TaskOutcome o;
    o.result.set_task_id(id);
    o.result.mutable_eval()->set_samples(100);
    o.result.mutable_eval()->set_correct1(correct1);
    o.result.mutable_eval()->set_correct5(100);
    return o;
  }
};

TEST(Store, MigratesToCurrentVersion) {
  Fixture f;
  EXPECT_EQ(f.store->SchemaVersion().value(), kSchemaVersion);
}

TEST(Store, ResultIsStoredOncePerTask) {
  Fixture f;
  ASSERT_TRUE(f.store->AddTask(f.job, f.Task("t1")).value());
  EXPECT_EQ(f.store->WriteResults({Fixture::Result("t1", 90)}).value(), 1);
  // A late duplicate (requeued task finishing twice) changes nothing.
  EXPECT_EQ(f.store->WriteResults({Fixture::Result("t1", 7)}).value(), 0);
  auto rows = f.store->EvalRows(f.job).value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].correct1(), 90);
  EXPECT_EQ(rows[0].samples(), 100);
}

TEST(Store, DoneTaskIsNotPlannedAgainInAnotherJob) {
  Fixture f;
  ASSERT_TRUE(f.store->AddTask(f.job, f.Task("t1")).value());
  ASSERT_TRUE(f.store->AddTask(f.job, f.Task("t2")).value());
  ASSERT_TRUE(f.store->WriteResults({Fixture::Result("t1", 90)}).ok());
  int64_t job2 = f.store->CreateJob("j2", "evaluate", "", f.model, f.dataset).value();
  EXPECT_FALSE(f.store->AddTask(job2, f.Task("t1")).value());
  EXPECT_TRUE(f.store->AddTask(job2, f.Task("t2")).value());
  JobProgress p = f.store->Progress(job2).value();
  EXPECT_EQ(p.total, 2);
  EXPECT_EQ(p.done, 1);
}

TEST(Store, PendingTasksSurviveAndFinishSums) {
  Fixture f;
  ASSERT_TRUE(f.store->AddTask(f.job, f.Task("t1")).value());
  ASSERT_TRUE(f.store->AddTask(f.job, f.Task("t2")).value());
  ASSERT_TRUE(f.store->WriteResults({Fixture::Result("t1", 90)}).ok());
  auto pending = f.store->LoadPendingTasks().value();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].id, "t2");
  EXPECT_EQ(pending[0].assign.task_id(), "t2");
  ASSERT_TRUE(f.store->WriteResults({Fixture::Result("t2", 80)}).ok());
  ASSERT_TRUE(f.store->FinishJob(f.job).ok());
  EXPECT_EQ(f.store->Progress(f.job).value().state, "done");
  auto stmt = f.store->db().Prepare("SELECT samples, correct1 FROM evaluations").value();
  ASSERT_TRUE(stmt->Step().value());
  EXPECT_EQ(stmt->Int(0), 200);
  EXPECT_EQ(stmt->Int(1), 170);
  EXPECT_TRUE(f.store->LoadPendingTasks().value().empty());
}

TEST(Store, FailedTaskFailsTheJob) {
  Fixture f;
  ASSERT_TRUE(f.store->AddTask(f.job, f.Task("t1")).value());
  ASSERT_TRUE(f.store->MarkTaskFailed("t1", "bad model").ok());
  ASSERT_TRUE(f.store->FinishJob(f.job).ok());
  EXPECT_EQ(f.store->Progress(f.job).value().state, "failed");
}

}  // namespace
}  // namespace mixq
