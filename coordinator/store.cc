#include "coordinator/store.h"

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <tuple>

#include "common/resource_limits.h"
#include "common/sha256.h"
#include "metrics/detection.h"
#include "metrics/fidelity.h"
#include "metrics/segmentation.h"

namespace mixq {
namespace {

// Migration i (1-based) brings the schema from version i-1 to i. Append,
// never edit: a database remembers which ones it has run.
std::vector<std::string> Migrations() {
  return {DbSchemaSql(), DbMigrationV2Sql(), DbMigrationV3Sql(), DbMigrationV4Sql(),
          DbMigrationV5Sql()};
}

// quick_check reads every page (not indexes against their tables, which is
// what makes integrity_check slow), so a damaged page is found at start, not
// by the first query that reads it, which would fail its job or leave it
// running. The first lines of its report name the damage.
Status CheckIntegrity(SqliteDb* db, const std::string& path) {
  constexpr int kLinesShown = 3;
  auto damaged = [&path](const std::string& what) {
    return DataLoss(path + ": the database is damaged (quick_check: " + what +
                    "); restore it from a backup or move it aside");
  };
  StatusOr<std::unique_ptr<SqliteStatement>> check = db->Prepare("PRAGMA quick_check");
  std::vector<std::string> lines;
  Status failed = check.status();
  while (failed.ok()) {
    StatusOr<bool> row = (*check)->Step();
    if (!row.ok()) failed = row.status();
    if (!row.ok() || !*row) break;
    if (static_cast<int>(lines.size()) <= kLinesShown) lines.push_back((*check)->Text(0));
  }
  if (!failed.ok()) {
    // SQLite stops the check with an error when the damage is in the file's
    // header, its schema or a table's root page; show SQLite's words alone.
    std::string m = failed.message();
    if (m.find("malformed") != std::string::npos || m.find("not a database") != std::string::npos) {
      if (const size_t at = m.find("sqlite: "); at != std::string::npos) m.erase(0, at + 8);
      if (const size_t at = m.find(" in: "); at != std::string::npos) m.erase(at);
      return damaged(m);
    }
    return failed.WithContext("checking the database's integrity");
  }
  if (lines.size() == 1 && lines[0] == "ok") return Status::Ok();
  std::string what;
  for (int i = 0; i < static_cast<int>(lines.size()) && i < kLinesShown; ++i) {
    what += (i > 0 ? "; " : "") + lines[i];
  }
  if (static_cast<int>(lines.size()) > kLinesShown) what += "; ...";
  return damaged(what);
}

}  // namespace

StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path));
  if (path != ":memory:" && !path.empty()) MIXQ_RETURN_IF_ERROR(CheckIntegrity(db.get(), path));
  // WAL: readers (mixq query) do not block the coordinator's writes;
  // synchronous=NORMAL in WAL mode loses no committed transaction on a
  // process crash (only on power loss), which is what kill -9 tests.
  MIXQ_RETURN_IF_ERROR(
      db->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
               // A larger page cache and memory-mapped reads keep the
               // result commits off pread() (measured with bench_coordinator).
               "PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;"));
  auto store = std::make_unique<Store>(Key(), std::move(db));
  MIXQ_RETURN_IF_ERROR(store->Migrate().WithContext(path));
  MIXQ_ASSIGN_OR_RETURN(store->insert_shard_result_,
                        store->db_->Prepare("INSERT OR IGNORE INTO shard_results(task_id, "
                                            "worker_id, hardware_class_id, samples, correct1, "
                                            "correct5, seconds, agree1, worker_key, fidelity, "
                                            "detection, segmentation) "
                                            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"));
  MIXQ_ASSIGN_OR_RETURN(store->insert_calibration_stats_,
                        store->db_->Prepare("INSERT OR IGNORE INTO calibration_stats(task_id, "
                                            "worker_id, hardware_class_id, pass, samples, stats, "
                                            "worker_key) VALUES (?,?,?,?,?,?,?)"));
  MIXQ_ASSIGN_OR_RETURN(
      store->insert_benchmark_,
      store->db_->Prepare("INSERT OR IGNORE INTO benchmarks(task_id, worker_id, "
                          "hardware_class_id, batch, threads, iterations, latency_ms_median, "
                          "latency_ms_p90, images_per_second, worker_key) "
                          "VALUES (?,?,?,?,?,?,?,?,?,?)"));
  MIXQ_ASSIGN_OR_RETURN(store->insert_layer_profile_,
                        store->db_->Prepare("INSERT OR IGNORE INTO layer_profiles(task_id, layer, "
                                            "precision, ms, worker_key) VALUES (?,?,?,?,?)"));
  MIXQ_ASSIGN_OR_RETURN(store->mark_done_,
                        store->db_->Prepare("UPDATE tasks SET state='done', attempts=attempts+1 "
                                            "WHERE id=? AND state!='done'"));
  return store;
}

Status Store::Migrate() {
  MIXQ_RETURN_IF_ERROR(
      db_->Exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
  MIXQ_ASSIGN_OR_RETURN(int current, SchemaVersion());
  const std::vector<std::string> migrations = Migrations();
  if (current > static_cast<int>(migrations.size())) {
    return FailedPrecondition("database schema version " + std::to_string(current) +
                              " is newer than this mixq (" + std::to_string(migrations.size()) +
                              ")");
  }
  for (int v = current + 1; v <= static_cast<int>(migrations.size()); ++v) {
    MIXQ_RETURN_IF_ERROR(Begin());
    Status s = db_->Exec(migrations[v - 1]);
    if (s.ok()) {
      s = db_->Exec("DELETE FROM schema_version; INSERT INTO schema_version VALUES (" +
                    std::to_string(v) + ")");
    }
    if (!s.ok()) {
      (void)Rollback();
      return s.WithContext("migration to schema version " + std::to_string(v));
    }
    MIXQ_RETURN_IF_ERROR(Commit());
  }
  return Status::Ok();
}

StatusOr<int> Store::SchemaVersion() {
  MIXQ_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT MAX(version) FROM schema_version"));
  MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
  return row && !stmt->IsNull(0) ? static_cast<int>(stmt->Int(0)) : 0;
}

Status Store::Begin() { return db_->Exec("BEGIN IMMEDIATE"); }
Status Store::Commit() { return db_->Exec("COMMIT"); }
Status Store::Rollback() { return db_->Exec("ROLLBACK"); }

StatusOr<int64_t> Store::IdOf(const std::string& sql, const std::string& key) {
  MIXQ_ASSIGN_OR_RETURN(auto stmt, db_->Prepare(sql));
  stmt->Bind(1, key);
  MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return NotFound("no row for " + key);
  return stmt->Int(0);
}

Status Store::UpsertBlob(const std::string& sha256, const std::string& path, int64_t size) {
  MIXQ_ASSIGN_OR_RETURN(auto stmt,
                        db_->Prepare("INSERT INTO blobs(sha256, path, size) VALUES (?,?,?) "
                                     "ON CONFLICT(sha256) DO UPDATE SET path=excluded.path"));
  stmt->Bind(1, sha256).Bind(2, path).Bind(3, size);
  return stmt->Run();
}

StatusOr<proto::BlobRef> Store::RegisterBlob(const std::string& path, std::string sha256) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return NotFound(path + ": " + ec.message());
  // Before hashing: a job naming a huge file is refused at once.
  if (size > kMaxBlobBytes) {
    return InvalidArgument(path + ": " + std::to_string(size) +
                           " bytes, more than the limit of a job's file (" +
                           std::to_string(kMaxBlobBytes) + " bytes)");
  }
  if (sha256.empty()) {
    MIXQ_ASSIGN_OR_RETURN(sha256, Sha256File(path));
  }
  const std::string absolute = std::filesystem::absolute(path).lexically_normal().string();
  MIXQ_RETURN_IF_ERROR(UpsertBlob(sha256, absolute, static_cast<int64_t>(size)));
  proto::BlobRef ref;
  ref.set_sha256(sha256);
  ref.set_size(size);
  ref.set_path(absolute);
  return ref;
}

StatusOr<std::optional<std::pair<std::string, int64_t>>> Store::FindBlob(
    const std::string& sha256) {
  MIXQ_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT path, size FROM blobs WHERE sha256=?"));
  stmt->Bind(1, sha256);
  MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return std::optional<std::pair<std::string, int64_t>>();
  return std::optional<std::pair<std::string, int64_t>>(
      std::make_pair(stmt->Text(0), stmt->Int(1)));
}

StatusOr<int64_t> Store::UpsertModel(const std::string& sha256, const std::string& path) {
  MIXQ_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("INSERT OR IGNORE INTO models(sha256, path) "
                                                "VALUES (?,?)"));
  stmt->Bind(1, sha256).Bind(2, path);
  MIXQ_RETURN_IF_ERROR(stmt->Run());
  return IdOf("SELECT id FROM models WHERE sha256=?", sha256);
}

StatusOr<int64_t> Store::UpsertDataset(const std::string& sha256, const std::string& spec_path,
                                       const std::string& images_sha256,
                                       const std::string& labels_sha256,
                                       const std::string& preprocess_json, int64_t size) {
  MIXQ_ASSIGN_OR_RETURN(
      auto stmt, db_->Prepare("INSERT OR IGNORE INTO datasets(sha256, spec_path, images_sha256, "
                              "labels_sha256, preprocess, size) VALUES (?,?,?,?,?,?)"));
  stmt->Bind(1, sha256).Bind(2, spec_path).Bind(3, images_sha256).Bind(4, labels_sha256);
  stmt->Bind(5, preprocess_json).Bind(6, size);
  MIXQ_RETURN_IF_ERROR(stmt->Run());
  return IdOf("SELECT id FROM datasets WHERE sha256=?", sha256);
}

StatusOr<int64_t> Store::UpsertConfig(const std::string& sha256, const std::string& name,
                                      const std::string& json) {
  MIXQ_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("INSERT OR IGNORE INTO configs(sha256, name, "
                                                "json) VALUES (?,?,?)"));
  stmt->Bind(1, sha256).Bind(2, name).Bind(3, json);
  MIXQ_RETURN_IF_ERROR(stmt->Run());
  return IdOf("SELECT id FROM configs WHERE sha256=?", sha256);
}

StatusOr<int64_t> Store::UpsertHardwareClass(const proto::HardwareClass& hw,
                                             const std::string& name) {
  MIXQ_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("INSERT OR IGNORE INTO hardware_classes(name, "
                                                "cpu_brand, cores, isa, isa_cap) "
                                                "VALUES (?,?,?,?,?)"));
  stmt->Bind(1, name).Bind(2, hw.cpu_brand()).Bind(3, static_cast<int64_t>(hw.cores()));
  stmt->Bind(4, hw.isa()).Bind(5, hw.isa_cap());
  MIXQ_RETURN_IF_ERROR(stmt->Run());
  return IdOf("SELECT id FROM hardware_classes WHERE name=?", name);
}

StatusOr<int64_t> Store::UpsertWorker(const std::string& host, int pid, int64_t hardware_class_id,
                                      const std::string& mixq_version, const std::string& key) {
  MIXQ_ASSIGN_OR_RETURN(
      auto stmt,
      db_->Prepare("INSERT INTO workers(host, pid, hardware_class_id, mixq_version, public_key) "
                   "VALUES (?,?,?,?,?) ON CONFLICT(host, pid) DO UPDATE SET "
                   "last_seen=datetime('now'), hardware_class_id=excluded.hardware_class_id, "
                   "public_key=excluded.public_key"));
  stmt->Bind(1, host).Bind(2, static_cast<int64_t>(pid)).Bind(3, hardware_class_id);
  stmt->Bind(4, mixq_version).Bind(5, key);
  MIXQ_RETURN_IF_ERROR(stmt->Run());
  MIXQ_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT id FROM workers WHERE host=? AND pid=?"));
  q->Bind(1, host).Bind(2, static_cast<int64_t>(pid));
  MIXQ_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return Internal("worker row vanished");
  return q->Int(0);
}

StatusOr<int64_t> Store::ExpireWorkers(int64_t max_age_seconds) {
  MIXQ_ASSIGN_OR_RETURN(
      auto stmt,
      db_->Prepare("DELETE FROM workers WHERE last_seen < datetime('now', ?) AND id NOT IN ("
                   "SELECT worker_id FROM shard_results WHERE worker_id IS NOT NULL "
                   "UNION SELECT worker_id FROM benchmarks WHERE worker_id IS NOT NULL "
                   "UNION SELECT worker_id FROM calibration_stats WHERE worker_id IS NOT NULL)"));
  stmt->Bind(1, "-" + std::to_string(max_age_seconds) + " seconds");
  MIXQ_RETURN_IF_ERROR(stmt->Run());
  return db_->Changes();
}

StatusOr<int64_t> Store::CreateJob(const std::string& name, const std::string& kind,
                                   const std::string& spec_yaml, int64_t model_id,
                                   int64_t dataset_id, const std::string& base_dir,
                                   const std::string& owner) {
  MIXQ_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("INSERT INTO jobs(name, kind, spec_yaml, model_id, "
                                                "dataset_id, base_dir, owner) "
                                                "VALUES (?,?,?,?,?,?,?)"));
  stmt->Bind(1, name).Bind(2, kind).Bind(3, spec_yaml);
  // 0 is "none": NULL, which the foreign keys accept (search and compare
  // jobs have no dataset; a compare job has no single model).
  if (model_id > 0) {
    stmt->Bind(4, model_id);
  } else {
    stmt->BindNull(4);
  }
  if (dataset_id > 0) {
    stmt->Bind(5, dataset_id);
  } else {
    stmt->BindNull(5);
  }
  stmt->Bind(6, base_dir).Bind(7, owner);
  MIXQ_RETURN_IF_ERROR(stmt->Run());
  return db_->LastInsertId();
}

StatusOr<std::string> Store::JobOwner(int64_t job_id) {
  MIXQ_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT owner FROM jobs WHERE id=?"));
  stmt->Bind(1, job_id);
  MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return NotFound("no job " + std::to_string(job_id));
  return stmt->Text(0);
}

StatusOr<std::pair<std::string, std::string>> Store::JobSource(int64_t job_id) {
  MIXQ_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT spec_yaml, COALESCE(base_dir, '') "
                                                "FROM jobs WHERE id=?"));
  stmt->Bind(1, job_id);
  MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return NotFound("job " + std::to_string(job_id) + " is not in the database");
  return std::make_pair(stmt->Text(0), stmt->Text(1));
}

StatusOr<std::optional<std::string>> Store::CalibrationStatsOf(const std::string& task_id) {
  MIXQ_ASSIGN_OR_RETURN(auto stmt,
                        db_->Prepare("SELECT stats FROM calibration_stats WHERE task_id=?"));
  stmt->Bind(1, task_id);
  MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(stmt->Text(0));
}

StatusOr<int64_t> Store::UpsertCalibration(const std::string& sha256, int64_t model_id,
                                           int64_t dataset_id, const std::string& method,
                                           int64_t samples, const std::string& stats_json) {
  MIXQ_ASSIGN_OR_RETURN(auto stmt,
                        db_->Prepare("INSERT OR IGNORE INTO calibrations(sha256, model_id, "
                                     "dataset_id, method, samples, stats_json) "
                                     "VALUES (?,?,?,?,?,?)"));
  stmt->Bind(1, sha256).Bind(2, model_id).Bind(3, dataset_id).Bind(4, method);
  stmt->Bind(5, samples).Bind(6, stats_json);
  MIXQ_RETURN_IF_ERROR(stmt->Run());
  return IdOf("SELECT id FROM calibrations WHERE sha256=?", sha256);
}

Status Store::SetJobState(int64_t job_id, const std::string& state) {
  MIXQ_ASSIGN_OR_RETURN(auto stmt,
                        db_->Prepare("UPDATE jobs SET state=?, finished_at=CASE WHEN ?='running' "
                                     "THEN NULL ELSE datetime('now') END WHERE id=?"));
  stmt->Bind(1, state).Bind(2, state).Bind(3, job_id);
  return stmt->Run();
}

Status Store::FailJob(int64_t job_id, const std::string& error) {
  MIXQ_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("UPDATE jobs SET state='failed', error=?, "
                                                "finished_at=datetime('now') WHERE id=?"));
  stmt->Bind(1, error).Bind(2, job_id);
  return stmt->Run();
}

Status Store::SetJobParent(int64_t job_id, int64_t parent_id) {
  MIXQ_ASSIGN_OR_RETURN(auto find, db_->Prepare("SELECT 1 FROM jobs WHERE id=?"));
  find->Bind(1, parent_id);
  MIXQ_ASSIGN_OR_RETURN(bool exists, find->Step());
  if (!exists) return NotFound("parent job " + std::to_string(parent_id) + " does not exist");
  MIXQ_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("UPDATE jobs SET parent_job_id=? WHERE id=?"));
  stmt->Bind(1, parent_id).Bind(2, job_id);
  return stmt->Run();
}

StatusOr<std::vector<int64_t>> Store::RunningJobs() {
  MIXQ_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT id FROM jobs WHERE state='running' "
                                                "AND kind <> 'search' ORDER BY id"));
  std::vector<int64_t> ids;
  while (true) {
    MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    ids.push_back(stmt->Int(0));
  }
  return ids;
}

StatusOr<bool> Store::AddTask(int64_t job_id, const PlannedTask& task) {
  MIXQ_ASSIGN_OR_RETURN(
      auto insert,
      db_->Prepare("INSERT OR IGNORE INTO tasks(id, kind, model_id, dataset_id, config_id, "
                   "hardware, shard_index, batch, assign) VALUES (?,?,?,?,?,?,?,?,?)"));
  insert->Bind(1, task.id).Bind(2, task.kind).Bind(3, task.model_id);
  if (task.dataset_id > 0) {
    insert->Bind(4, task.dataset_id);
  } else {
    insert->BindNull(4);
  }
  insert->Bind(5, task.config_id).Bind(6, task.hardware);
  if (task.shard_index >= 0) {
    insert->Bind(7, task.shard_index);
  } else {
    insert->BindNull(7);
  }
  insert->Bind(8, task.batch).BindBlob(9, task.assign.SerializeAsString());
  MIXQ_RETURN_IF_ERROR(insert->Run());
  MIXQ_ASSIGN_OR_RETURN(auto link, db_->Prepare("INSERT OR IGNORE INTO job_tasks(job_id, task_id) "
                                                "VALUES (?,?)"));
  link->Bind(1, job_id).Bind(2, task.id);
  MIXQ_RETURN_IF_ERROR(link->Run());
  MIXQ_ASSIGN_OR_RETURN(auto state, db_->Prepare("SELECT state FROM tasks WHERE id=?"));
  state->Bind(1, task.id);
  MIXQ_ASSIGN_OR_RETURN(bool row, state->Step());
  // A task that failed for good stays failed: planning it again would fail the same way.
  return row && state->Text(0) == "pending";
}

StatusOr<std::vector<PendingTask>> Store::LoadPendingTasks() {
  MIXQ_ASSIGN_OR_RETURN(
      auto stmt,
      db_->Prepare("SELECT t.id, t.hardware, t.assign, t.attempts, jt.job_id FROM tasks t "
                   "JOIN job_tasks jt ON jt.task_id = t.id JOIN jobs j ON j.id = jt.job_id "
                   "WHERE t.state='pending' AND j.state='running' ORDER BY jt.job_id, t.id"));
  std::vector<PendingTask> tasks;
  while (true) {
    MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    PendingTask t;
    t.id = stmt->Text(0);
    t.hardware = stmt->Text(1);
    if (!t.assign.ParseFromString(stmt->Text(2))) {
      return DataLoss("task " + t.id + ": stored TaskAssign does not parse");
    }
    t.attempts = static_cast<int>(stmt->Int(3));
    t.job_id = stmt->Int(4);
    tasks.push_back(std::move(t));
  }
  return tasks;
}

StatusOr<int> Store::WriteResults(const std::vector<TaskOutcome>& outcomes) {
  MIXQ_RETURN_IF_ERROR(Begin());
  int added = 0;
  auto bind_owner = [](SqliteStatement* s, const TaskOutcome& o) {
    if (o.worker_id > 0) {
      s->Bind(2, o.worker_id);
    } else {
      s->BindNull(2);
    }
    if (o.hardware_class_id > 0) {
      s->Bind(3, o.hardware_class_id);
    } else {
      s->BindNull(3);
    }
  };
  for (const TaskOutcome& o : outcomes) {
    const proto::TaskResult& r = o.result;
    SqliteStatement* s = nullptr;
    if (r.has_eval()) {
      s = insert_shard_result_.get();
      s->Bind(1, r.task_id());
      bind_owner(s, o);
      s->Bind(4, r.eval().samples()).Bind(5, r.eval().correct1()).Bind(6, r.eval().correct5());
      s->Bind(7, r.eval().seconds());
      if (r.eval().has_agree1()) {
        s->Bind(8, r.eval().agree1());
      } else {
        s->BindNull(8);
      }
      s->Bind(9, o.worker_key);
      int column = 10;
      for (const std::string* blob :
           {&r.eval().fidelity(), &r.eval().detection(), &r.eval().segmentation()}) {
        if (blob->empty()) {
          s->BindNull(column++);
        } else {
          s->BindBlob(column++, *blob);
        }
      }
    } else if (r.has_bench()) {
      s = insert_benchmark_.get();
      s->Bind(1, r.task_id());
      bind_owner(s, o);
      s->Bind(4, r.bench().batch()).Bind(5, static_cast<int64_t>(r.bench().threads()));
      s->Bind(6, static_cast<int64_t>(r.bench().iterations()));
      s->Bind(7, r.bench().latency_ms_median()).Bind(8, r.bench().latency_ms_p90());
      s->Bind(9, r.bench().images_per_second());
      s->Bind(10, o.worker_key);
    } else if (r.has_calibrate()) {
      s = insert_calibration_stats_.get();
      s->Bind(1, r.task_id());
      bind_owner(s, o);
      s->Bind(4, static_cast<int64_t>(r.calibrate().pass())).Bind(5, r.calibrate().samples());
      s->BindBlob(6, r.calibrate().stats_json());
      s->Bind(7, o.worker_key);
    } else if (r.has_profile()) {
      StatusOr<int> rows = InsertLayerProfile(r.task_id(), r.profile().json(), o.worker_key);
      if (!rows.ok()) {
        (void)Rollback();
        return rows.status();
      }
      if (*rows < 0) continue;  // malformed: the task is failed, not done
      added += *rows > 0 ? 1 : 0;
    } else {
      continue;
    }
    Status st = s != nullptr ? s->Run() : Status::Ok();
    if (st.ok()) {
      if (s != nullptr) added += db_->Changes();
      mark_done_->Bind(1, r.task_id());
      st = mark_done_->Run();
    }
    if (!st.ok()) {
      (void)Rollback();
      return st;
    }
  }
  MIXQ_RETURN_IF_ERROR(Commit());
  return added;
}

StatusOr<int> Store::InsertLayerProfile(const std::string& task_id, const std::string& json,
                                        const std::string& worker_key) {
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, false);
  std::vector<std::tuple<std::string, std::string, double>> rows;
  const bool valid = doc.is_object() && doc.contains("layers") && doc["layers"].is_array();
  if (valid) {
    for (const nlohmann::json& layer : doc["layers"]) {
      if (!layer.is_object() || !layer.value("layer", nlohmann::json()).is_string()) continue;
      const std::string name = layer["layer"].get<std::string>();
      auto ms = [&](const char* key) {
        const nlohmann::json v = layer.value(key, nlohmann::json());
        return v.is_number() ? v.get<double>() : -1.0;
      };
      const std::string precision = layer.value("precision", nlohmann::json()).is_string()
                                        ? layer["precision"].get<std::string>()
                                        : "";
      rows.emplace_back(name, "fp32", ms("fp32_ms"));
      // A layer FP32 in the config has its FP32 row already.
      if (precision != "fp32" && precision != "-")
        rows.emplace_back(name, precision, ms("config_ms"));
      rows.emplace_back(name, "reorder", ms("reorder_ms"));
    }
  }
  if (!valid || rows.empty()) {
    // A worker's malformed result fails its task; it must not stop the store.
    MIXQ_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("UPDATE tasks SET state='failed', error=? "
                                                  "WHERE id=? AND state='pending'"));
    stmt->Bind(1, std::string("malformed profile result")).Bind(2, task_id);
    MIXQ_RETURN_IF_ERROR(stmt->Run());
    return -1;
  }
  int added = 0;
  for (const auto& [layer, precision, ms] : rows) {
    if (ms < 0) continue;
    insert_layer_profile_->Bind(1, task_id).Bind(2, layer).Bind(3, precision).Bind(4, ms);
    insert_layer_profile_->Bind(5, worker_key);
    MIXQ_RETURN_IF_ERROR(insert_layer_profile_->Run());
    added += db_->Changes();
  }
  return added;
}

StatusOr<Store::Forgotten> Store::ForgetWorkerResults(const std::string& key) {
  Forgotten f;
  MIXQ_RETURN_IF_ERROR(Begin());
  Status s = [&]() -> Status {
    // The tasks first, while their results still say which they are.
    MIXQ_RETURN_IF_ERROR(
        db_->Exec("CREATE TEMP TABLE IF NOT EXISTS forgotten_tasks(id TEXT PRIMARY KEY);"
                  "DELETE FROM forgotten_tasks;"));
    MIXQ_ASSIGN_OR_RETURN(
        auto tasks, db_->Prepare("INSERT OR IGNORE INTO forgotten_tasks "
                                 "SELECT task_id FROM shard_results WHERE worker_key=?1 "
                                 "UNION SELECT task_id FROM benchmarks WHERE worker_key=?1 "
                                 "UNION SELECT task_id FROM calibration_stats WHERE worker_key=?1 "
                                 "UNION SELECT task_id FROM layer_profiles WHERE worker_key=?1"));
    tasks->Bind(1, key);
    MIXQ_RETURN_IF_ERROR(tasks->Run());
    for (const char* table :
         {"shard_results", "benchmarks", "calibration_stats", "layer_profiles"}) {
      MIXQ_ASSIGN_OR_RETURN(
          auto del, db_->Prepare(std::string("DELETE FROM ") + table + " WHERE worker_key=?"));
      del->Bind(1, key);
      MIXQ_RETURN_IF_ERROR(del->Run());
      f.results += db_->Changes();
    }
    MIXQ_ASSIGN_OR_RETURN(auto reset,
                          db_->Prepare("UPDATE tasks SET state='pending', attempts=0, error=NULL "
                                       "WHERE id IN (SELECT id FROM forgotten_tasks)"));
    MIXQ_RETURN_IF_ERROR(reset->Run());
    f.tasks = db_->Changes();
    MIXQ_ASSIGN_OR_RETURN(
        auto jobs, db_->Prepare("SELECT DISTINCT jt.job_id FROM job_tasks jt JOIN jobs j ON "
                                "j.id = jt.job_id WHERE j.state != 'running' AND jt.task_id IN "
                                "(SELECT id FROM forgotten_tasks) ORDER BY 1"));
    while (true) {
      MIXQ_ASSIGN_OR_RETURN(bool row, jobs->Step());
      if (!row) break;
      f.jobs.push_back(jobs->Int(0));
    }
    return db_->Exec("DELETE FROM forgotten_tasks");
  }();
  if (!s.ok()) {
    (void)Rollback();
    return s.WithContext("forgetting the results of worker key " + key);
  }
  MIXQ_RETURN_IF_ERROR(Commit());
  return f;
}

Status Store::MarkTaskFailed(const std::string& task_id, const std::string& error) {
  MIXQ_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("UPDATE tasks SET state='failed', error=? "
                                                "WHERE id=? AND state='pending'"));
  stmt->Bind(1, error).Bind(2, task_id);
  return stmt->Run();
}

StatusOr<JobProgress> Store::Progress(int64_t job_id) {
  JobProgress p;
  MIXQ_ASSIGN_OR_RETURN(auto job, db_->Prepare("SELECT state, error FROM jobs WHERE id=?"));
  job->Bind(1, job_id);
  MIXQ_ASSIGN_OR_RETURN(bool found, job->Step());
  if (!found) return p;
  p.state = job->Text(0);
  if (!job->IsNull(1)) p.errors.push_back(job->Text(1));
  MIXQ_ASSIGN_OR_RETURN(auto stmt,
                        db_->Prepare("SELECT COUNT(*), COALESCE(SUM(t.state='done'), 0), "
                                     "COALESCE(SUM(t.state='failed'), 0) FROM job_tasks jt "
                                     "JOIN tasks t ON t.id = jt.task_id WHERE jt.job_id=?"));
  stmt->Bind(1, job_id);
  MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (row) {
    p.total = stmt->Int(0);
    p.done = stmt->Int(1);
    p.failed = stmt->Int(2);
  }
  if (p.failed > 0) {
    MIXQ_ASSIGN_OR_RETURN(auto errors,
                          db_->Prepare("SELECT DISTINCT COALESCE(t.error, '') FROM job_tasks jt "
                                       "JOIN tasks t ON t.id = jt.task_id "
                                       "WHERE jt.job_id=? AND t.state='failed' ORDER BY 1"));
    errors->Bind(1, job_id);
    while (true) {
      MIXQ_ASSIGN_OR_RETURN(bool more, errors->Step());
      if (!more) break;
      p.errors.push_back(errors->Text(0));
    }
  }
  return p;
}

Status Store::FinishJob(int64_t job_id) {
  MIXQ_RETURN_IF_ERROR(Begin());
  Status s = FinishJobInTransaction(job_id);
  if (!s.ok()) {
    // The error is the caller's to act on; a failed rollback adds nothing.
    (void)Rollback();
    return s;
  }
  return Commit();
}

Status Store::FinishJobInTransaction(int64_t job_id) {
  MIXQ_ASSIGN_OR_RETURN(
      auto agg,
      db_->Prepare("INSERT OR REPLACE INTO evaluations(job_id, config_id, hardware_class, "
                   "samples, correct1, correct5, top1, agree1) "
                   "SELECT jt.job_id, t.config_id, t.hardware, SUM(r.samples), SUM(r.correct1), "
                   "SUM(r.correct5), CAST(SUM(r.correct1) AS REAL) / MAX(SUM(r.samples), 1), "
                   // Agreement only when every shard measured it.
                   "CASE WHEN COUNT(r.agree1) = COUNT(*) THEN SUM(r.agree1) END "
                   "FROM job_tasks jt JOIN tasks t ON t.id = jt.task_id "
                   "JOIN shard_results r ON r.task_id = t.id WHERE jt.job_id=? "
                   "GROUP BY t.config_id, t.hardware"));
  agg->Bind(1, job_id);
  MIXQ_RETURN_IF_ERROR(agg->Run());
  MIXQ_ASSIGN_OR_RETURN(JobProgress p, Progress(job_id));
  return SetJobState(job_id, p.failed > 0 ? "failed" : "done");
}

StatusOr<std::vector<proto::EvalRow>> Store::EvalRows(int64_t job_id) {
  // Live sums, so a running job shows its partial numbers too.
  MIXQ_ASSIGN_OR_RETURN(
      auto stmt,
      db_->Prepare("SELECT c.name, t.hardware, SUM(r.samples), SUM(r.correct1), SUM(r.correct5), "
                   "CASE WHEN COUNT(r.agree1) = COUNT(*) THEN SUM(r.agree1) END FROM job_tasks jt "
                   "JOIN tasks t ON t.id = jt.task_id "
                   "JOIN shard_results r ON r.task_id = t.id JOIN configs c ON c.id = t.config_id "
                   "WHERE jt.job_id=? GROUP BY c.name, t.hardware ORDER BY c.name, t.hardware"));
  stmt->Bind(1, job_id);
  std::vector<proto::EvalRow> rows;
  while (true) {
    MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    proto::EvalRow r;
    r.set_config(stmt->Text(0));
    r.set_hardware_class(stmt->Text(1));
    r.set_samples(stmt->Int(2));
    r.set_correct1(stmt->Int(3));
    r.set_correct5(stmt->Int(4));
    if (!stmt->IsNull(5)) r.set_agree1(stmt->Int(5));
    rows.push_back(r);
  }
  MIXQ_RETURN_IF_ERROR(AddFidelity(job_id, &rows));
  MIXQ_RETURN_IF_ERROR(AddTaskMetrics(job_id, &rows));
  return rows;
}

Status Store::AddFidelity(int64_t job_id, std::vector<proto::EvalRow>* rows) {
  // Merged in C++: the sums are exact (metrics/exact_sum.h), not SQL's.
  MIXQ_ASSIGN_OR_RETURN(
      auto stmt, db_->Prepare("SELECT c.name, t.hardware, r.fidelity, t.id FROM job_tasks jt "
                              "JOIN tasks t ON t.id = jt.task_id "
                              "JOIN shard_results r ON r.task_id = t.id "
                              "JOIN configs c ON c.id = t.config_id "
                              "WHERE jt.job_id=? AND r.fidelity IS NOT NULL"));
  stmt->Bind(1, job_id);
  std::map<std::pair<std::string, std::string>, FidelityStats> merged;
  while (true) {
    MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    StatusOr<FidelityStats> shard = FidelityStats::Parse(stmt->Text(2), "task " + stmt->Text(3));
    if (!shard.ok()) return DataLoss(shard.status().message());
    FidelityStats& into = merged[{stmt->Text(0), stmt->Text(1)}];
    MIXQ_RETURN_IF_ERROR(into.Merge(*shard).WithContext("task " + stmt->Text(3)));
  }
  for (proto::EvalRow& r : *rows) {
    auto it = merged.find({r.config(), r.hardware_class()});
    if (it == merged.end()) continue;
    for (const OutputFidelity& f : it->second.outputs()) {
      proto::FidelityRow* out = r.add_fidelity();
      out->set_output(f.output);
      out->set_sqnr_db(f.SqnrDb());
      out->set_cosine(f.MeanCosine());
      out->set_samples(f.samples);
    }
  }
  return Status::Ok();
}

namespace {

// One group's detection or segmentation statistics, merged shard by shard.
struct MergedTaskStats {
  std::optional<DetectionStats> detection;
  std::optional<SegmentationStats> segmentation;
};

// Parses shard statistics `bytes` and merges them into `into`.
template <typename Stats>
Status MergeShard(const std::string& bytes, const std::string& task, std::optional<Stats>* into) {
  StatusOr<Stats> shard = Stats::Parse(bytes, task);
  if (!shard.ok()) return DataLoss(shard.status().message());
  if (!*into) {
    *into = std::move(*shard);
    return Status::Ok();
  }
  return (*into)->Merge(*shard).WithContext(task);
}

}  // namespace

StatusOr<std::map<std::pair<std::string, std::string>, TaskMetricPoints>> Store::TaskMetrics(
    int64_t job_id, bool by_sha256) {
  // As AddFidelity: merged in C++, exactly, whatever the shards' order.
  MIXQ_ASSIGN_OR_RETURN(
      auto stmt,
      db_->Prepare(std::string("SELECT ") + (by_sha256 ? "c.sha256, ''" : "c.name, t.hardware") +
                   ", r.detection, r.segmentation, t.id FROM job_tasks jt "
                   "JOIN tasks t ON t.id = jt.task_id "
                   "JOIN shard_results r ON r.task_id = t.id "
                   "JOIN configs c ON c.id = t.config_id "
                   "WHERE jt.job_id=? AND (r.detection IS NOT NULL OR "
                   "r.segmentation IS NOT NULL)"));
  stmt->Bind(1, job_id);
  std::map<std::pair<std::string, std::string>, MergedTaskStats> merged;
  while (true) {
    MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    const std::string task = "task " + stmt->Text(4);
    MergedTaskStats& into = merged[{stmt->Text(0), stmt->Text(1)}];
    if (!stmt->IsNull(2)) MIXQ_RETURN_IF_ERROR(MergeShard(stmt->Text(2), task, &into.detection));
    if (!stmt->IsNull(3)) {
      MIXQ_RETURN_IF_ERROR(MergeShard(stmt->Text(3), task, &into.segmentation));
    }
  }
  std::map<std::pair<std::string, std::string>, TaskMetricPoints> points;
  for (const auto& [key, m] : merged) {
    // In points; unset where nothing counted (COCO's -1).
    TaskMetricPoints& p = points[key];
    if (m.detection && m.detection->Map50() >= 0) p.map50 = 100.0 * m.detection->Map50();
    if (m.detection && m.detection->Map50_95() >= 0) p.map50_95 = 100.0 * m.detection->Map50_95();
    if (m.segmentation && m.segmentation->MeanIoU() >= 0) {
      p.miou = 100.0 * m.segmentation->MeanIoU();
    }
  }
  return points;
}

Status Store::AddTaskMetrics(int64_t job_id, std::vector<proto::EvalRow>* rows) {
  MIXQ_ASSIGN_OR_RETURN(auto points, TaskMetrics(job_id, false));
  for (proto::EvalRow& r : *rows) {
    auto it = points.find({r.config(), r.hardware_class()});
    if (it == points.end()) continue;
    if (it->second.map50) r.set_map50(*it->second.map50);
    if (it->second.map50_95) r.set_map50_95(*it->second.map50_95);
    if (it->second.miou) r.set_miou(*it->second.miou);
  }
  return Status::Ok();
}

StatusOr<std::vector<proto::BenchRow>> Store::BenchRows(int64_t job_id) {
  MIXQ_ASSIGN_OR_RETURN(
      auto stmt,
      db_->Prepare("SELECT c.name, COALESCE(hc.name, t.hardware), b.batch, b.latency_ms_median, "
                   "b.images_per_second FROM job_tasks jt JOIN tasks t ON t.id = jt.task_id "
                   "JOIN benchmarks b ON b.task_id = t.id JOIN configs c ON c.id = t.config_id "
                   "LEFT JOIN hardware_classes hc ON hc.id = b.hardware_class_id "
                   "WHERE jt.job_id=? ORDER BY c.name, 2, b.batch"));
  stmt->Bind(1, job_id);
  std::vector<proto::BenchRow> rows;
  while (true) {
    MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    proto::BenchRow r;
    r.set_config(stmt->Text(0));
    r.set_hardware_class(stmt->Text(1));
    r.set_batch(stmt->Int(2));
    r.set_latency_ms_median(stmt->Real(3));
    r.set_images_per_second(stmt->Real(4));
    rows.push_back(r);
  }
  return rows;
}

}  // namespace mixq
