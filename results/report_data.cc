#include "results/report_data.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "results/queries.h"

namespace mixq {
namespace {

// The job and its sub-jobs (a compare job's evaluations, a search's
// verifications) as an SQL list of ids.
StatusOr<std::string> Family(SqliteDb& db, int64_t job_id) {
  MIXQ_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                        SelectStrings(db, "SELECT id FROM jobs WHERE id = ?1 OR parent_job_id = ?1",
                                      [&](SqliteStatement& s) { s.Bind(1, job_id); }));
  std::string list;
  for (const std::string& id : ids) list += (list.empty() ? "" : ",") + id;
  return "(" + list + ")";
}

// Drop vs speed-up per config and class: the family's evaluations (top-1)
// against its models' benchmarks at the largest batch they share.
Status LoadPoints(SqliteDb& db, int64_t job_id, const std::string& family, ReportData* data) {
  MIXQ_ASSIGN_OR_RETURN(
      auto stmt,
      db.Prepare("SELECT a.config, a.hardware_class, MAX(a.drop_points), s.speedup, "
                 "(SELECT path FROM models WHERE id = a.model_id), "
                 "EXISTS(SELECT 1 FROM search_results r WHERE r.job_id = ?1 AND "
                 "r.config_id = a.config_id AND r.hardware_class = a.hardware_class) AS chosen "
                 "FROM accuracy_drops a JOIN config_speedups s ON s.model_id = a.model_id "
                 "AND s.config_id = a.config_id AND s.hardware_class = a.hardware_class "
                 "WHERE a.metric = 'top1' AND a.job_id IN " +
                 family +
                 " AND s.speedup IS NOT NULL AND s.batch = (SELECT MAX(batch) FROM "
                 "config_speedups s2 WHERE s2.model_id = a.model_id AND s2.hardware_class = "
                 "a.hardware_class) GROUP BY a.model_id, a.config_id, a.hardware_class "
                 "ORDER BY a.hardware_class, a.config"));
  stmt->Bind(1, job_id);
  std::vector<std::string> models;
  std::set<std::string> distinct_models;
  while (true) {
    MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    ReportPoint p;
    p.config = stmt->Text(0);
    p.hardware = ShortClassName(stmt->Text(1));
    p.drop = stmt->Real(2);
    p.speedup = stmt->Real(3);
    p.chosen = stmt->Int(5) != 0;
    models.push_back(std::filesystem::path(stmt->Text(4)).stem().string());
    distinct_models.insert(models.back());
    data->points.push_back(p);
  }
  // Several models (a compare job): a series, and so a Pareto front, per
  // model and class.
  if (distinct_models.size() > 1) {
    for (size_t i = 0; i < models.size(); ++i) {
      data->points[i].hardware = models[i] + " / " + data->points[i].hardware;
    }
  }
  return Status::Ok();
}

Status LoadLayers(SqliteDb& db, const std::string& family, ReportData* data) {
  MIXQ_ASSIGN_OR_RETURN(
      auto stmt, db.Prepare("SELECT layer, hardware_class, sensitivity, gain FROM layer_summary "
                            "WHERE model_id IN (SELECT model_id FROM jobs WHERE id IN " +
                            family +
                            ") AND sensitivity IS NOT NULL AND gain IS NOT NULL "
                            "ORDER BY hardware_class, layer"));
  while (true) {
    MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    data->layers.push_back(
        {stmt->Text(0), ShortClassName(stmt->Text(1)), stmt->Real(2), stmt->Real(3)});
  }
  return Status::Ok();
}

// The best verified speed-up after each step: a config counts once a full
// evaluation put it within the smallest budget and some step measured its
// time; FP32's time is the config with no INT8 layer.
Status LoadSteps(SqliteDb& db, int64_t job_id, ReportData* data) {
  MIXQ_ASSIGN_OR_RETURN(std::vector<std::string> budget,
                        SelectStrings(db, "SELECT MIN(budget) FROM search_results WHERE job_id = ?",
                                      [&](SqliteStatement& s) { s.Bind(1, job_id); }));
  const bool has_budget = !budget.empty() && !budget.front().empty();
  const double max_drop = has_budget ? std::stod(budget.front()) : 1e300;
  MIXQ_ASSIGN_OR_RETURN(
      auto stmt,
      db.Prepare("SELECT seconds, kind, COALESCE(config, '?'), int8_layers, drop_points, "
                 "ms, hardware_class FROM search_history WHERE job_id = ? "
                 "ORDER BY at, hardware_class, step"));
  stmt->Bind(1, job_id);
  std::map<std::string, double> ms_of;
  std::set<std::string> verified;
  double fp32_ms = 0.0, best = 0.0;
  while (true) {
    MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    const std::string kind = stmt->Text(1), config = stmt->Text(6) + "/" + stmt->Text(2);
    if (!stmt->IsNull(5)) {
      ms_of[config] = stmt->Real(5);
      if (!stmt->IsNull(3) && stmt->Int(3) == 0) fp32_ms = stmt->Real(5);
    }
    if (kind == "full" && !stmt->IsNull(4) && stmt->Real(4) <= max_drop) verified.insert(config);
    if (fp32_ms > 0.0) {
      for (const std::string& c : verified) {
        auto it = ms_of.find(c);
        if (it != ms_of.end() && it->second > 0.0) best = std::max(best, fp32_ms / it->second);
      }
    }
    ReportStep step;
    step.seconds = stmt->Real(0);
    step.best_speedup = best;
    step.drop = stmt->IsNull(4) ? 0.0 : stmt->Real(4);
    step.what = kind + " " + stmt->Text(2);
    data->steps.push_back(step);
  }
  return Status::Ok();
}

void AddTable(const std::string& title, Table table, ReportData* data) {
  if (!table.rows.empty()) data->tables.push_back({title, std::move(table)});
}

}  // namespace

StatusOr<ReportData> LoadReportData(SqliteDb& db, int64_t job_id) {
  MIXQ_ASSIGN_OR_RETURN(
      Table job, SelectTable(db,
                             "SELECT name, kind, state, model, dataset, created_at, finished_at, "
                             "done || '/' || tasks, failed FROM job_list WHERE job_id = ?",
                             {{"name"},
                              {"kind"},
                              {"state"},
                              {"model"},
                              {"dataset"},
                              {"created"},
                              {"finished"},
                              {"tasks"},
                              {"failed", 0}},
                             [&](SqliteStatement& s) { s.Bind(1, job_id); }));
  if (job.rows.empty()) return NotFound("no job " + std::to_string(job_id));
  ReportData data;
  const auto& j = job.rows.front();
  data.title = "mixq report: job " + std::to_string(job_id) + " (" + j[0] + ")";
  for (size_t c = 1; c < j.size(); ++c) data.facts.push_back(job.columns[c] + ": " + j[c]);
  MIXQ_ASSIGN_OR_RETURN(std::string family, Family(db, job_id));
  auto bind_job = [&](SqliteStatement& s) { s.Bind(1, job_id); };

  // The pivot tables of `mixq query compare` over the family's models.
  MIXQ_ASSIGN_OR_RETURN(std::vector<std::string> models,
                        SelectStrings(db,
                                      "SELECT DISTINCT m.path FROM jobs j JOIN models m ON m.id = "
                                      "j.model_id WHERE j.id IN " +
                                          family,
                                      nullptr));
  if (!models.empty()) {
    CompareQuery query;
    query.models = models;
    StatusOr<CompareTables> compare = QueryCompare(db, query);
    if (compare.ok()) {
      AddTable("Accuracy drop vs FP32 (points), latest per model", std::move(compare->accuracy),
               &data);
      AddTable("Speed-up over FP32, latest per model", std::move(compare->speedup), &data);
    } else if (compare.status().code() != StatusCode::kNotFound) {
      return compare.status();
    }
  }

  MIXQ_ASSIGN_OR_RETURN(
      Table accuracy,
      SelectTable(db,
                  "SELECT a.job_id, m.path, a.config, a.hardware_class, a.metric, a.samples, "
                  "a.accuracy, a.fp32_accuracy, a.drop_points FROM accuracy_drops a "
                  "JOIN models m ON m.id = a.model_id WHERE a.job_id IN " +
                      family + " ORDER BY m.path, a.metric, a.config, a.hardware_class",
                  {{"job", 0},
                   {"model"},
                   {"config"},
                   {"hardware"},
                   {"metric"},
                   {"samples", 0},
                   {"accuracy %", 2},
                   {"FP32 %", 2},
                   {"drop points", 2}},
                  nullptr));
  for (auto& row : accuracy.rows) row[1] = std::filesystem::path(row[1]).filename().string();
  AddTable("Accuracy", std::move(accuracy), &data);

  MIXQ_ASSIGN_OR_RETURN(
      Table speed,
      SelectTable(db,
                  "SELECT m.path, s.config, s.hardware_class, s.batch, s.images_per_second, "
                  "s.latency_ms, s.speedup FROM config_speedups s JOIN models m ON m.id = "
                  "s.model_id WHERE s.model_id IN (SELECT model_id FROM jobs WHERE id IN " +
                      family +
                      ") AND s.config_id IN (SELECT t.config_id FROM job_tasks jt JOIN tasks t "
                      "ON t.id = jt.task_id WHERE jt.job_id IN " +
                      family + ") ORDER BY m.path, s.batch, s.config, s.hardware_class",
                  {{"model"},
                   {"config"},
                   {"hardware"},
                   {"batch", 0},
                   {"images/s", 1},
                   {"latency ms", 3},
                   {"speed-up", 2}},
                  nullptr));
  for (auto& row : speed.rows) row[0] = std::filesystem::path(row[0]).filename().string();
  AddTable("Speed", std::move(speed), &data);

  MIXQ_ASSIGN_OR_RETURN(
      Table answers,
      SelectTable(db,
                  "SELECT r.hardware_class, r.budget, r.strategy, r.met, c.name, "
                  "r.fp32_accuracy, r.chosen_accuracy, r.fp32_ms, r.chosen_ms, "
                  "r.full_evaluations, r.wall_seconds, r.verdict FROM search_results r "
                  "LEFT JOIN configs c ON c.id = r.config_id WHERE r.job_id = ? "
                  "ORDER BY r.hardware_class, r.budget",
                  {{"hardware"},
                   {"budget", 2},
                   {"strategy"},
                   {"met", 0},
                   {"config"},
                   {"FP32 %", 2},
                   {"chosen %", 2},
                   {"FP32 ms", 3},
                   {"chosen ms", 3},
                   {"full evals", 0},
                   {"seconds", 1},
                   {"verdict"}},
                  bind_job));
  AddTable("Search answers", std::move(answers), &data);

  MIXQ_RETURN_IF_ERROR(LoadPoints(db, job_id, family, &data));
  MIXQ_RETURN_IF_ERROR(LoadLayers(db, family, &data));
  MIXQ_RETURN_IF_ERROR(LoadSteps(db, job_id, &data));
  return data;
}

}  // namespace mixq
