#include "coordinator/store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/resource_limits.h"
#include "tests/common/data_files.h"
#include "tests/coordinator/damage_page.h"

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

// A database written by schema version 1 (db.sql alone) opens at the current
// version with its results intact and the version-2 columns and tables there.
TEST(Store, Version1DatabaseMigratesKeepingItsResults) {
  const std::string path = ::testing::TempDir() + "/mixq_v1_" + std::to_string(::getpid()) + ".db";
  std::remove(path.c_str());
  {
    auto db = SqliteDb::Open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec(DbSchemaSql()).ok());
    Status filled = (*db)->Exec(
        "DELETE FROM schema_version; INSERT INTO schema_version VALUES (1);"
        "INSERT INTO blobs VALUES ('m', '/m.onnx', 1);"
        "INSERT INTO models(id, sha256, path) VALUES (1, 'm', '/m.onnx');"
        "INSERT INTO configs(id, sha256, name, json) VALUES (1, 'c', 'fp32', '{}');"
        "INSERT INTO tasks(id, kind, model_id, config_id, hardware, assign) "
        "VALUES ('t1', 'evaluate', 1, 1, 'any', x'');"
        "INSERT INTO shard_results(task_id, samples, correct1, correct5, seconds) "
        "VALUES ('t1', 100, 93, 99, 0.5);");
    ASSERT_TRUE(filled.ok()) << filled.message();
  }
  auto opened = Store::Open(path);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  Store& store = **opened;
  EXPECT_EQ(store.SchemaVersion().value(), kSchemaVersion);
  auto stmt =
      store.db().Prepare("SELECT correct1, agree1 IS NULL FROM shard_results WHERE task_id='t1'");
  ASSERT_TRUE(stmt.ok());
  ASSERT_TRUE((*stmt)->Step().value());
  EXPECT_EQ((*stmt)->Int(0), 93);
  EXPECT_EQ((*stmt)->Int(1), 1);
  for (const char* table : {"calibration_stats", "search_steps", "search_results"}) {
    auto count = store.db().Prepare(std::string("SELECT COUNT(*) FROM ") + table);
    EXPECT_TRUE(count.ok()) << table;
  }
  auto hw = store.db().Prepare("SELECT hardware_class, predicted_ms FROM search_steps");
  EXPECT_TRUE(hw.ok()) << "search_steps has its version-2 columns";
  std::remove(path.c_str());
}

// Compare and search jobs have no dataset (a compare job no single model):
// 0 is stored as NULL, and the job can be the parent of other jobs.
TEST(Store, JobWithoutModelOrDatasetStoresNullAndHoldsSubJobs) {
  Fixture f;
  const int64_t parent = f.store->CreateJob("cmp", "compare", "kind: compare", 0, 0).value();
  const int64_t child = f.store->CreateJob("child", "evaluate", "", f.model, f.dataset).value();
  ASSERT_TRUE(f.store->SetJobParent(child, parent).ok());
  auto stmt =
      f.store->db()
          .Prepare("SELECT kind, model_id IS NULL, dataset_id IS NULL FROM jobs WHERE id = ?")
          .value();
  stmt->Bind(1, parent);
  ASSERT_TRUE(stmt->Step().value());
  EXPECT_EQ(stmt->Text(0), "compare");
  EXPECT_EQ(stmt->Int(1), 1);
  EXPECT_EQ(stmt->Int(2), 1);
  auto sub = f.store->db().Prepare("SELECT parent_job_id FROM jobs WHERE id = ?").value();
  sub->Bind(1, child);
  ASSERT_TRUE(sub->Step().value());
  EXPECT_EQ(sub->Int(0), parent);
  EXPECT_FALSE(f.store->SetJobParent(child, 999).ok());
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

// The job's end cannot be stored (a trigger stands in for a failing disk):
// FinishJob fails with SQLite's reason and stores nothing of it, the store
// is left usable (no transaction open), and FailJob records the reason
// where Progress (and so `mixq status`) reports it first.
TEST(Store, FinishJobThatCannotStoreItsEndStoresNothingAndFailJobKeepsTheReason) {
  Fixture f;
  ASSERT_TRUE(f.store->AddTask(f.job, f.Task("t1")).value());
  ASSERT_TRUE(f.store->WriteResults({Fixture::Result("t1", 90)}).ok());
  ASSERT_TRUE(f.store->db()
                  .Exec("CREATE TRIGGER no_done BEFORE UPDATE OF state ON jobs "
                        "WHEN NEW.state='done' BEGIN SELECT RAISE(ABORT, 'disk says no'); END;")
                  .ok());
  Status finished = f.store->FinishJob(f.job);
  ASSERT_FALSE(finished.ok());
  EXPECT_NE(finished.message().find("disk says no"), std::string::npos) << finished.message();
  EXPECT_EQ(f.store->Progress(f.job).value().state, "running");
  auto evaluations = f.store->db().Prepare("SELECT COUNT(*) FROM evaluations").value();
  ASSERT_TRUE(evaluations->Step().value());
  EXPECT_EQ(evaluations->Int(0), 0) << "the rolled-back aggregate left rows";
  ASSERT_TRUE(f.store->Begin().ok()) << "FinishJob left its transaction open";
  ASSERT_TRUE(f.store->Rollback().ok());

  ASSERT_TRUE(f.store->FailJob(f.job, "storing its completion: disk says no").ok());
  JobProgress p = f.store->Progress(f.job).value();
  EXPECT_EQ(p.state, "failed");
  ASSERT_FALSE(p.errors.empty());
  EXPECT_EQ(p.errors[0], "storing its completion: disk says no");
}

// A page of shard_results overwritten with garbage: the file opened before
// the damage opens again, the damaged one is refused at Open with DataLoss,
// naming the file and what quick_check found, instead of failing the first
// query that reads the page.
TEST(Store, DamagedTablePageIsRefusedAtOpenNamingTheFile) {
  const test::TempDir dir;
  const std::string path = dir.Path("mixq.db");
  {
    auto opened = Store::Open(path);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    Store& store = **opened;
    ASSERT_TRUE(store.UpsertBlob("m", "/m.onnx", 10).ok());
    const int64_t model = store.UpsertModel("m", "/m.onnx").value();
    const int64_t config = store.UpsertConfig("c", "fp32", "{}").value();
    const int64_t job = store.CreateJob("j", "evaluate", "name: j", model, 0).value();
    PlannedTask task;
    task.id = "t1";
    task.kind = "evaluate";
    task.model_id = model;
    task.config_id = config;
    ASSERT_TRUE(store.AddTask(job, task).value());
    ASSERT_TRUE(store.WriteResults({Fixture::Result("t1", 90)}).ok());
  }
  ASSERT_TRUE(Store::Open(path).ok()) << "the undamaged file is refused";
  Status damaged = test::DamageTableRootPage(path, "shard_results");
  ASSERT_TRUE(damaged.ok()) << damaged.message();
  auto reopened = Store::Open(path);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), StatusCode::kDataLoss);
  const std::string& m = reopened.status().message();
  EXPECT_EQ(m.rfind(path + ": the database is damaged (quick_check: ", 0), 0u) << m;
  EXPECT_NE(m.find("restore it from a backup or move it aside"), std::string::npos) << m;
}

TEST(Store, FailedTaskFailsTheJob) {
  Fixture f;
  ASSERT_TRUE(f.store->AddTask(f.job, f.Task("t1")).value());
  ASSERT_TRUE(f.store->MarkTaskFailed("t1", "bad model").ok());
  ASSERT_TRUE(f.store->FinishJob(f.job).ok());
  EXPECT_EQ(f.store->Progress(f.job).value().state, "failed");
}

TEST(Store, FailedTaskErrorsAreListedOnceInProgress) {
  Fixture f;
  for (const char* id : {"t1", "t2", "t3"})
    ASSERT_TRUE(f.store->AddTask(f.job, f.Task(id)).value());
  ASSERT_TRUE(f.store->MarkTaskFailed("t1", "no worker of class 'x'").ok());
  ASSERT_TRUE(f.store->MarkTaskFailed("t2", "no worker of class 'x'").ok());
  JobProgress p = f.store->Progress(f.job).value();
  EXPECT_EQ(p.failed, 2);
  EXPECT_EQ(p.errors, std::vector<std::string>{"no worker of class 'x'"});
}

TEST(Store, ProfileResultBecomesLayerRowsAndMalformedOneFailsItsTask) {
  Fixture f;
  PlannedTask good = f.Task("p1"), bad = f.Task("p2");
  good.kind = bad.kind = "profile";
  ASSERT_TRUE(f.store->AddTask(f.job, good).value());
  ASSERT_TRUE(f.store->AddTask(f.job, bad).value());
  TaskOutcome g, b;
  g.result.set_task_id("p1");
  g.result.mutable_profile()->set_json(
      R"({"layers": [{"layer": "conv", "quantizable": true, "precision": "int8",
          "fp32_ms": 0.5, "config_ms": 0.25, "reorder_ms": 0.125},
         {"layer": "fc", "quantizable": true, "precision": "fp32",
          "fp32_ms": 0.75, "config_ms": 0.7, "reorder_ms": 0.0}]})");
  b.result.set_task_id("p2");
  b.result.mutable_profile()->set_json("{not json");
  EXPECT_EQ(f.store->WriteResults({g, b}).value(), 1);
  auto count = [&](const std::string& where) {
    auto stmt = f.store->db().Prepare(
        "SELECT COUNT(*), COALESCE(SUM(ms), 0) FROM layer_profiles "
        "WHERE " +
        where);
    EXPECT_TRUE(stmt.ok());
    EXPECT_TRUE((*stmt)->Step().value());
    return std::make_pair((*stmt)->Int(0), (*stmt)->Real(1));
  };
  EXPECT_EQ(count("layer='conv' AND precision='int8'"), std::make_pair(int64_t{1}, 0.25));
  EXPECT_EQ(count("layer='conv' AND precision='fp32'"), std::make_pair(int64_t{1}, 0.5));
  EXPECT_EQ(count("layer='conv' AND precision='reorder'"), std::make_pair(int64_t{1}, 0.125));
  // An FP32 layer of the config has its all-FP32 time only.
  EXPECT_EQ(count("layer='fc'").first, 2);
  EXPECT_EQ(count("task_id='p2'").first, 0);
  JobProgress p = f.store->Progress(f.job).value();
  EXPECT_EQ(p.done, 1);
  EXPECT_EQ(p.failed, 1);
  EXPECT_EQ(p.errors, std::vector<std::string>{"malformed profile result"});
}

}  // namespace
}  // namespace mixq

namespace mixq {
namespace {

TEST(Store, AgreementIsSummedOnlyWhenEveryShardMeasuredIt) {
  Fixture f;
  for (const char* id : {"a1", "a2"}) ASSERT_TRUE(f.store->AddTask(f.job, f.Task(id)).value());
  TaskOutcome one = Fixture::Result("a1", 90);
  one.result.mutable_eval()->set_agree1(95);
  ASSERT_TRUE(f.store->WriteResults({one}).ok());
  std::vector<proto::EvalRow> rows = f.store->EvalRows(f.job).value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0].has_agree1());
  EXPECT_EQ(rows[0].agree1(), 95);
  // A shard result without agreement (an older worker) makes the sum unknown.
  ASSERT_TRUE(f.store->WriteResults({Fixture::Result("a2", 80)}).ok());
  rows = f.store->EvalRows(f.job).value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_FALSE(rows[0].has_agree1());
  ASSERT_TRUE(f.store->FinishJob(f.job).ok());
  auto stmt = f.store->db().Prepare("SELECT agree1 IS NULL FROM evaluations").value();
  ASSERT_TRUE(stmt->Step().value());
  EXPECT_EQ(stmt->Int(0), 1);

  // A second job whose shards all measured it stores the sum.
  const int64_t job2 = f.store->CreateJob("j2", "evaluate", "name: j2", f.model, f.dataset).value();
  for (const char* id : {"b1", "b2"}) ASSERT_TRUE(f.store->AddTask(job2, f.Task(id)).value());
  TaskOutcome b1 = Fixture::Result("b1", 90), b2 = Fixture::Result("b2", 70);
  b1.result.mutable_eval()->set_agree1(99);
  b2.result.mutable_eval()->set_agree1(97);
  ASSERT_TRUE(f.store->WriteResults({b1, b2}).ok());
  ASSERT_TRUE(f.store->FinishJob(job2).ok());
  stmt = f.store->db()
             .Prepare("SELECT agree1 FROM evaluations WHERE job_id=" + std::to_string(job2))
             .value();
  ASSERT_TRUE(stmt->Step().value());
  EXPECT_EQ(stmt->Int(0), 196);
}

TEST(Store, CalibrateResultIsStoredOnceAndJobSourceKeepsItsFolder) {
  Fixture f;
  const int64_t job =
      f.store->CreateJob("c", "calibrate", "name: c", f.model, f.dataset, "/jobs").value();
  PlannedTask t = f.Task("c1");
  t.kind = "calibrate";
  ASSERT_TRUE(f.store->AddTask(job, t).value());
  EXPECT_FALSE(f.store->CalibrationStatsOf("c1").value().has_value());
  TaskOutcome o;
  o.result.set_task_id("c1");
  o.result.mutable_calibrate()->set_pass(1);
  o.result.mutable_calibrate()->set_samples(100);
  o.result.mutable_calibrate()->set_stats_json("{\"version\": 1, \"tensors\": {}}");
  TaskOutcome late = o;
  late.result.mutable_calibrate()->set_stats_json("{}");
  EXPECT_EQ(f.store->WriteResults({o}).value(), 1);
  EXPECT_EQ(f.store->WriteResults({late}).value(), 0);  // a late copy keeps the first
  EXPECT_EQ(f.store->CalibrationStatsOf("c1").value().value(), "{\"version\": 1, \"tensors\": {}}");
  EXPECT_EQ(f.store->Progress(job).value().done, 1);
  const auto source = f.store->JobSource(job).value();
  EXPECT_EQ(source.first, "name: c");
  EXPECT_EQ(source.second, "/jobs");
  EXPECT_EQ(f.store->JobSource(999).status().code(), StatusCode::kNotFound);
  const int64_t id = f.store->UpsertCalibration("s", f.model, f.dataset, "kl", 300, "{}").value();
  EXPECT_EQ(f.store->UpsertCalibration("s", f.model, f.dataset, "kl", 300, "{}").value(), id);
}

// A job naming a file above kMaxBlobBytes is refused when it is submitted,
// before the file is hashed (a sparse file: no disk, and hashing it would
// read 16 GiB of zeros).
TEST(Store, FileAboveTheBlobLimitIsRefusedBeforeHashing) {
  char tmpl[] = "/tmp/mixq-store-blob-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string path = dir + "/huge.npy";
  std::ofstream(path).close();
  std::filesystem::resize_file(path, kMaxBlobBytes + 1);
  auto opened = Store::Open(":memory:");
  ASSERT_TRUE(opened.ok());
  StatusOr<proto::BlobRef> blob = (*opened)->RegisterBlob(path);
  ASSERT_FALSE(blob.ok());
  EXPECT_EQ(blob.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(blob.status().message(), path +
                                         ": 17179869185 bytes, more than the limit of a job's "
                                         "file (17179869184 bytes)");
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace mixq
