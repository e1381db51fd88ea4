#include "search/search_records.h"

#include <cmath>
#include <utility>

namespace mixq {
namespace {

void BindOptional(SqliteStatement* stmt, int index, double value) {
  if (std::isnan(value)) {
    stmt->BindNull(index);
  } else {
    stmt->Bind(index, value);
  }
}

StatusOr<int64_t> ConfigId(Store* store, const DistributedBackend& backend, const Mask& mask) {
  const std::string entry = backend.ConfigEntry(mask);
  const std::string sha = backend.ConfigSha(mask);
  const std::string name = entry == "fp32" ? "fp32" : "config-" + sha.substr(0, 12);
  return store->UpsertConfig(sha, name, entry);
}

}  // namespace

SearchStepWriter::SearchStepWriter(Store* store, int64_t job_id, std::string hardware)
    : store_(store), job_id_(job_id), hardware_(std::move(hardware)) {}

Status SearchStepWriter::Write(const DistributedBackend& backend, const SearchStep& step) {
  MIXQ_ASSIGN_OR_RETURN(
      auto stmt,
      store_->db().Prepare("INSERT OR REPLACE INTO search_steps(job_id, hardware_class, step, "
                           "kind, config_id, int8_layers, reason, predicted_drop, predicted_ms, "
                           "accuracy, drop_points, ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"));
  stmt->Bind(1, job_id_).Bind(2, hardware_).Bind(3, static_cast<int64_t>(step_++));
  stmt->Bind(4, step.kind);
  if (step.mask.empty()) {
    stmt->BindNull(5).BindNull(6);
  } else {
    MIXQ_ASSIGN_OR_RETURN(int64_t config_id, ConfigId(store_, backend, step.mask));
    stmt->Bind(5, config_id).Bind(6, static_cast<int64_t>(CountInt8(step.mask)));
  }
  stmt->Bind(7, step.reason);
  BindOptional(stmt.get(), 8, step.predicted_drop);
  BindOptional(stmt.get(), 9, step.predicted_ms);
  BindOptional(stmt.get(), 10, step.accuracy);
  BindOptional(stmt.get(), 11, step.drop);
  BindOptional(stmt.get(), 12, step.ms);
  return stmt->Run();
}

Status WriteSearchResult(Store* store, const DistributedBackend& backend, int64_t job_id,
                         const std::string& hardware, double budget, const std::string& strategy,
                         const SearchOutcome& o, double seconds) {
  MIXQ_ASSIGN_OR_RETURN(int64_t config_id, ConfigId(store, backend, o.chosen));
  MIXQ_ASSIGN_OR_RETURN(
      auto stmt,
      store->db().Prepare(
          "INSERT OR REPLACE INTO search_results(job_id, hardware_class, budget, strategy, met, "
          "verdict, config_id, fp32_accuracy, int8_accuracy, chosen_accuracy, fp32_ms, int8_ms, "
          "chosen_ms, full_evaluations, wall_seconds) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  stmt->Bind(1, job_id).Bind(2, hardware).Bind(3, budget).Bind(4, strategy);
  stmt->Bind(5, static_cast<int64_t>(o.met ? 1 : 0)).Bind(6, o.verdict).Bind(7, config_id);
  stmt->Bind(8, o.fp32_accuracy).Bind(9, o.int8_accuracy).Bind(10, o.chosen_accuracy);
  stmt->Bind(11, o.fp32_ms).Bind(12, o.int8_ms).Bind(13, o.chosen_ms);
  stmt->Bind(14, static_cast<int64_t>(o.full_evaluations)).Bind(15, seconds);
  return stmt->Run();
}

}  // namespace mixq
