// The results database (schemas/db.sql, schemas/db.md): models, datasets,
// configs, jobs, tasks and their results in SQLite. The coordinator keeps
// nothing else: after a restart it rebuilds its queue from LoadPendingTasks().
// Results are idempotent by task id, and a task whose key already has a
// result is never planned again (memoization across jobs). WAL mode, foreign
// keys on, schema version with ordered migrations. One thread uses a Store.
#ifndef MIXQ_COORDINATOR_STORE_H_
#define MIXQ_COORDINATOR_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/sqlite_db.h"
#include "common/status.h"
#include "schemas/mixq.pb.h"

namespace mixq {

inline constexpr int kSchemaVersion = 5;

// A detection or segmentation group's metrics in points (Store::TaskMetrics);
// unset where the dataset has no such task or nothing counted (COCO's -1).
struct TaskMetricPoints {
  std::optional<double> map50, map50_95, miou;
};

// A task as the planner makes it; `id` is the memo key.
struct PlannedTask {
  std::string id;
  std::string kind;  // "evaluate" | "benchmark"
  int64_t model_id = 0;
  int64_t dataset_id = 0;  // 0: none
  int64_t config_id = 0;
  std::string hardware = "any";
  int64_t shard_index = -1;  // -1: none
  int64_t batch = 0;
  proto::TaskAssign assign;
};

// A task waiting to run, as the scheduler needs it.
struct PendingTask {
  std::string id;
  int64_t job_id = 0;
  std::string hardware;
  proto::TaskAssign assign;
  int attempts = 0;
};

struct TaskOutcome {
  proto::TaskResult result;
  int64_t worker_id = 0;          // 0: unknown (e.g. result after a restart)
  int64_t hardware_class_id = 0;  // 0: unknown
  std::string worker_key;         // the worker's CURVE public key; "" when keyless
};

struct JobProgress {
  std::string state = "unknown";
  int64_t total = 0;
  int64_t done = 0;
  int64_t failed = 0;
  // The job's own error first (jobs.error: why it failed when no task
  // did), then the distinct errors of its failed tasks.
  std::vector<std::string> errors;
};

class Store {
 public:
  // Opens or creates the database at `path` (":memory:" for tests) and
  // migrates it to kSchemaVersion. FailedPrecondition if the file is newer;
  // DataLoss, naming the file and what SQLite's quick_check found, if an
  // existing file is damaged (so a coordinator refuses to start on it rather
  // than fail its jobs one by one). Takes no lock: a coordinator holds its
  // database with db_lock.h.
  static StatusOr<std::unique_ptr<Store>> Open(const std::string& path);

  StatusOr<int> SchemaVersion();

  Status Begin();
  Status Commit();
  Status Rollback();

  Status UpsertBlob(const std::string& sha256, const std::string& path, int64_t size);
  // Registers the file at `path` as a blob (its absolute path and size) and
  // returns the reference tasks carry; `sha256` is the file's digest when
  // the caller has it already, else "" to have it computed. NotFound when
  // the file cannot be read; InvalidArgument, before hashing, for a file
  // above kMaxBlobBytes (common/resource_limits.h).
  StatusOr<proto::BlobRef> RegisterBlob(const std::string& path, std::string sha256 = "");
  // The path and size the blob was registered with, if any.
  StatusOr<std::optional<std::pair<std::string, int64_t>>> FindBlob(const std::string& sha256);

  StatusOr<int64_t> UpsertModel(const std::string& sha256, const std::string& path);
  StatusOr<int64_t> UpsertDataset(const std::string& sha256, const std::string& spec_path,
                                  const std::string& images_sha256,
                                  const std::string& labels_sha256,
                                  const std::string& preprocess_json, int64_t size);
  StatusOr<int64_t> UpsertConfig(const std::string& sha256, const std::string& name,
                                 const std::string& json);
  StatusOr<int64_t> UpsertHardwareClass(const proto::HardwareClass& hw, const std::string& name);
  StatusOr<int64_t> UpsertWorker(const std::string& host, int pid, int64_t hardware_class_id,
                                 const std::string& mixq_version, const std::string& key = "");
  // Deletes worker rows not seen for `max_age_seconds` that no result
  // refers to; how many went.
  StatusOr<int64_t> ExpireWorkers(int64_t max_age_seconds);

  StatusOr<int64_t> CreateJob(const std::string& name, const std::string& kind,
                              const std::string& spec_yaml, int64_t model_id, int64_t dataset_id,
                              const std::string& base_dir = "", const std::string& owner = "");
  // The CURVE public key of the client that submitted the job ("" for a
  // keyless one); NotFound when there is no such job.
  StatusOr<std::string> JobOwner(int64_t job_id);
  // The job's YAML text and the folder its relative paths resolve against.
  StatusOr<std::pair<std::string, std::string>> JobSource(int64_t job_id);
  Status SetJobState(int64_t job_id, const std::string& state);
  // Marks the job failed with `error`, which Progress() reports first.
  Status FailJob(int64_t job_id, const std::string& error);
  // Files `job_id` as a sub-job of `parent_id` (a search); NotFound if the parent does not exist.
  Status SetJobParent(int64_t job_id, int64_t parent_id);
  // Running jobs with tasks (search jobs are driven by their own process, not by tasks).
  StatusOr<std::vector<int64_t>> RunningJobs();

  // Links the task to the job, inserting it if its key is new. True when the
  // task still has to run (new or pending), false when a result exists.
  StatusOr<bool> AddTask(int64_t job_id, const PlannedTask& task);
  // Pending tasks of running jobs, for a coordinator (re)starting.
  StatusOr<std::vector<PendingTask>> LoadPendingTasks();

  // Stores results in one transaction; a task that already has a result
  // keeps the first one. Returns how many were new.
  StatusOr<int> WriteResults(const std::vector<TaskOutcome>& outcomes);
  // A calibrate task's stored statistics (CalibrateResult.stats_json), if any.
  StatusOr<std::optional<std::string>> CalibrationStatsOf(const std::string& task_id);
  StatusOr<int64_t> UpsertCalibration(const std::string& sha256, int64_t model_id,
                                      int64_t dataset_id, const std::string& method,
                                      int64_t samples, const std::string& stats_json);
  Status MarkTaskFailed(const std::string& task_id, const std::string& error);

  // What ForgetWorkerResults() did.
  struct Forgotten {
    int64_t results = 0;        // result rows deleted
    int64_t tasks = 0;          // tasks back to pending (they run again when a job needs them)
    std::vector<int64_t> jobs;  // finished jobs that had counted them: resubmit them
  };
  // Forgets every result the worker with CURVE public key `key` produced,
  // in one transaction, so that no later job is served them from memo.
  StatusOr<Forgotten> ForgetWorkerResults(const std::string& key);

  StatusOr<JobProgress> Progress(int64_t job_id);
  // Sums shard results per config and hardware class into `evaluations`
  // and marks the job done (or failed when a task failed for good), in one
  // transaction: on error nothing of it is stored and the job stays running.
  Status FinishJob(int64_t job_id);
  // With each row's fidelity (EvalRow.fidelity) and task metrics (map50,
  // map50_95, miou) merged from its shards.
  StatusOr<std::vector<proto::EvalRow>> EvalRows(int64_t job_id);
  // The job's detection and segmentation metrics, each group's shards
  // merged exactly (metrics/detection.h, metrics/segmentation.h), by
  // (config name, hardware class), or by (config sha256, "") across
  // hardware classes when `by_sha256`. DataLoss naming the task for a stored
  // blob that does not parse or merge.
  StatusOr<std::map<std::pair<std::string, std::string>, TaskMetricPoints>> TaskMetrics(
      int64_t job_id, bool by_sha256);
  StatusOr<std::vector<proto::BenchRow>> BenchRows(int64_t job_id);

  SqliteDb& db() { return *db_; }

  class Key {
    friend class Store;
    Key() = default;
  };
  Store(Key, std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}

 private:
  // Merges the job's shard fidelity statistics into `rows` (by config and
  // hardware class); DataLoss naming the task for a stored blob that does
  // not parse.
  Status AddFidelity(int64_t job_id, std::vector<proto::EvalRow>* rows);
  // The same for the shards' detection and segmentation statistics: each
  // row's map50, map50_95 or miou (in points).
  Status AddTaskMetrics(int64_t job_id, std::vector<proto::EvalRow>* rows);
  Status Migrate();
  Status FinishJobInTransaction(int64_t job_id);
  // Rows of a profile result's JSON into layer_profiles: per layer its
  // "fp32", config precision ("int8") and "reorder" times. Malformed JSON
  // fails the task instead (-1). Rows added.
  StatusOr<int> InsertLayerProfile(const std::string& task_id, const std::string& json,
                                   const std::string& worker_key);
  StatusOr<int64_t> IdOf(const std::string& sql, const std::string& key);

  std::unique_ptr<SqliteDb> db_;
  std::unique_ptr<SqliteStatement> insert_shard_result_;
  std::unique_ptr<SqliteStatement> insert_benchmark_;
  std::unique_ptr<SqliteStatement> insert_layer_profile_;
  std::unique_ptr<SqliteStatement> insert_calibration_stats_;
  std::unique_ptr<SqliteStatement> mark_done_;
};

// The schema text (schemas/db.sql, version 1) and the migrations after it
// (schemas/db_v2.sql, db_v3.sql, ...), embedded at build time.
const char* DbSchemaSql();
const char* DbMigrationV2Sql();
const char* DbMigrationV3Sql();
const char* DbMigrationV4Sql();
const char* DbMigrationV5Sql();

}  // namespace mixq

#endif  // MIXQ_COORDINATOR_STORE_H_
