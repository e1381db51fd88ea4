#include "results/queries.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <tuple>

namespace mixq {
namespace {

std::string FileName(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

std::string Join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
  return out;
}

std::string Cell(const SqliteStatement& stmt, int index, int digits) {
  if (stmt.IsNull(index)) return "-";
  if (digits < 0) return stmt.Text(index);
  if (digits == 0) return std::to_string(stmt.Int(index));
  return FormatReal(stmt.Real(index), digits);
}

// Matches a class by its full name or, as workers started with --max-isa
// are told apart, by its ISA alone.
bool ClassMatches(const std::string& full, const std::string& asked) {
  return full == asked || (asked.find(" / ") == std::string::npos && ShortClassName(full) == asked);
}

// SQL for ClassMatches on `column` against parameter `param`.
std::string ClassSql(const std::string& column, const std::string& param) {
  return "(" + column + " = " + param + " OR " + column + " LIKE '% / ' || " + param + ")";
}

}  // namespace

std::string FormatReal(double value, int digits) {
  char text[48];
  std::snprintf(text, sizeof(text), "%.*f", digits, value);
  return text;
}

std::string ShortClassName(const std::string& name) {
  const size_t at = name.rfind(" / ");
  return at == std::string::npos ? name : name.substr(at + 3);
}

StatusOr<Table> SelectTable(SqliteDb& db, const std::string& sql,
                            const std::vector<QueryColumn>& columns, const Binder& bind) {
  MIXQ_ASSIGN_OR_RETURN(auto stmt, db.Prepare(sql));
  if (bind) bind(*stmt);
  Table table;
  for (const QueryColumn& c : columns) {
    table.columns.push_back(c.name);
    table.numeric.push_back(c.digits >= 0);
  }
  while (true) {
    MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    std::vector<std::string> cells;
    for (size_t c = 0; c < columns.size(); ++c) {
      cells.push_back(Cell(*stmt, static_cast<int>(c), columns[c].digits));
    }
    table.AddRow(std::move(cells));
  }
  return table;
}

StatusOr<std::vector<std::string>> SelectStrings(SqliteDb& db, const std::string& sql,
                                                 const Binder& bind) {
  MIXQ_ASSIGN_OR_RETURN(auto stmt, db.Prepare(sql));
  if (bind) bind(*stmt);
  std::vector<std::string> out;
  while (true) {
    MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    out.push_back(stmt->Text(0));
  }
  return out;
}

StatusOr<std::unique_ptr<SqliteDb>> OpenQueryDb(const std::string& path) {
  StatusOr<std::unique_ptr<SqliteDb>> db = SqliteDb::OpenReadOnly(path);
  if (!db.ok()) {
    if (db.status().code() == StatusCode::kNotFound) {
      return NotFound(path + ": no such database (results are written by mixq run --db or " +
                      "mixq-coordinator --db)");
    }
    return db.status();
  }
  StatusOr<std::unique_ptr<SqliteStatement>> version_stmt =
      (*db)->Prepare("SELECT MAX(version) FROM schema_version");
  if (!version_stmt.ok()) {
    return FailedPrecondition(path + ": not a mixq results database (" +
                              version_stmt.status().message() + ")");
  }
  auto& stmt = *version_stmt;
  MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
  const int64_t version = row && !stmt->IsNull(0) ? stmt->Int(0) : 0;
  if (version < 2) {
    return FailedPrecondition(path + ": schema version " + std::to_string(version) +
                              " has no query views; open it once with this mixq's coordinator " +
                              "(mixq run) to migrate it");
  }
  return std::move(*db);
}

std::string ModelRef::Name() const { return FileName(path); }

StatusOr<ModelRef> ResolveModel(SqliteDb& db, const std::string& model) {
  MIXQ_ASSIGN_OR_RETURN(auto stmt, db.Prepare("SELECT id, path, sha256 FROM models ORDER BY id"));
  std::vector<ModelRef> all, by_path, by_name, by_hash;
  std::error_code error;
  const std::string absolute = std::filesystem::absolute(model, error).lexically_normal().string();
  const bool hash_like =
      model.size() >= 4 && model.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
  std::string lower = model;
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  while (true) {
    MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    ModelRef ref{stmt->Int(0), stmt->Text(1), stmt->Text(2)};
    all.push_back(ref);
    if (ref.path == model || ref.path == absolute) by_path.push_back(ref);
    if (ref.Name() == model) by_name.push_back(ref);
    if (hash_like && ref.sha256.rfind(lower, 0) == 0) by_hash.push_back(ref);
  }
  for (const auto* found : {&by_path, &by_name, &by_hash}) {
    if (found->size() == 1) return found->front();
    if (found->size() > 1) {
      std::vector<std::string> names;
      for (const ModelRef& r : *found)
        names.push_back(r.path + " (" + r.sha256.substr(0, 12) + ")");
      return InvalidArgument("model '" + model + "' is ambiguous: " + Join(names, ", ") +
                             "; give a longer sha256 prefix");
    }
  }
  std::vector<std::string> names;
  for (const ModelRef& r : all) names.push_back(r.Name() + " (" + r.sha256.substr(0, 12) + ")");
  return NotFound("unknown model '" + model + "'" +
                  (names.empty() ? std::string(": the database has no models yet")
                                 : ": known models are " + Join(names, ", ")));
}

StatusOr<Table> QueryBest(SqliteDb& db, const BestQuery& query) {
  if (query.objective != "throughput" && query.objective != "latency") {
    return InvalidArgument("--objective '" + query.objective + "': throughput or latency");
  }
  MIXQ_ASSIGN_OR_RETURN(ModelRef model, ResolveModel(db, query.model));
  const bool latency = query.objective == "latency";
  const int64_t batch = query.batch > 0 ? query.batch : (latency ? 1 : 16);
  const std::string where_class =
      query.hardware.empty() ? "" : " AND " + ClassSql("hardware_class", "?3");
  auto bind = [&](SqliteStatement& s) {
    s.Bind(1, model.id).Bind(2, batch);
    if (!query.hardware.empty()) s.Bind(3, query.hardware);
  };
  // Everything benchmarked for the model at this batch, to tell "nothing
  // measured" from "nothing within budget".
  MIXQ_ASSIGN_OR_RETURN(
      std::vector<std::string> classes,
      SelectStrings(db,
                    "SELECT DISTINCT hardware_class FROM best_configs WHERE model_id = "
                    "?1 AND batch = ?2 AND drop_points IS NOT NULL" +
                        where_class + " ORDER BY 1",
                    bind));
  const std::string on_class = query.hardware.empty() ? "" : " on class " + query.hardware;
  if (classes.empty()) {
    return NotFound("no evaluations for model " + model.Name() + on_class + " yet (with a " +
                    "batch-" + std::to_string(batch) + " benchmark and an FP32 evaluation)");
  }
  const std::string order = latency ? "latency_ms ASC" : "images_per_second DESC";
  // Rank 1 per class among the configs within budget.
  MIXQ_ASSIGN_OR_RETURN(
      Table table,
      SelectTable(
          db,
          "SELECT hardware_class, config, batch, images_per_second, latency_ms, speedup, "
          "drop_points FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY hardware_class ORDER "
          "BY " +
              order +
              ") AS r FROM best_configs WHERE model_id = ?1 AND batch = ?2 AND drop_points <= "
              "?4 + 1e-9" +
              where_class + ") WHERE r = 1 ORDER BY hardware_class",
          {{"hardware"},
           {"config"},
           {"batch", 0},
           {"images/s", 1},
           {"latency ms", 3},
           {"speed-up", 2},
           {"drop points", 2}},
          [&](SqliteStatement& s) {
            bind(s);
            s.Bind(4, query.max_drop);
          }));
  // The ISA alone when it tells the rows apart: a cut class name would not.
  std::set<std::string> shorts;
  for (const auto& row : table.rows) shorts.insert(ShortClassName(row[0]));
  if (shorts.size() == table.rows.size()) {
    for (auto& row : table.rows) row[0] = ShortClassName(row[0]);
  }
  if (table.rows.empty()) {
    return NotFound("no config of model " + model.Name() + on_class + " is within " +
                    FormatReal(query.max_drop, 2) +
                    " points (classes measured: " + Join(classes, ", ") + ")");
  }
  return table;
}

StatusOr<CompareTables> QueryCompare(SqliteDb& db, const CompareQuery& query) {
  std::set<int64_t> model_ids;
  for (const std::string& m : query.models) {
    MIXQ_ASSIGN_OR_RETURN(ModelRef ref, ResolveModel(db, m));
    model_ids.insert(ref.id);
  }
  auto wanted_model = [&](int64_t id) { return model_ids.empty() || model_ids.count(id) > 0; };
  auto wanted_class = [&](const std::string& c) {
    if (query.hardware.empty()) return true;
    for (const std::string& a : query.hardware) {
      if (ClassMatches(c, a)) return true;
    }
    return false;
  };

  // Accuracy: (model, dataset, metric, config) -> class -> drop.
  using AccKey = std::tuple<std::string, std::string, std::string, std::string>;
  std::map<AccKey, std::map<std::string, double>> drops;
  std::set<std::string> classes;
  {
    MIXQ_ASSIGN_OR_RETURN(
        auto stmt,
        db.Prepare("SELECT a.model_id, m.path, COALESCE(d.spec_path, '-'), a.metric, a.config, "
                   "a.hardware_class, a.drop_points FROM latest_accuracy_drops a "
                   "JOIN models m ON m.id = a.model_id LEFT JOIN datasets d ON d.id = a.dataset_id "
                   "WHERE a.config != 'fp32'"));
    while (true) {
      MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      const std::string hw = stmt->Text(5);
      if (!wanted_model(stmt->Int(0)) || !wanted_class(hw)) continue;
      const std::string dataset = std::filesystem::path(stmt->Text(2)).stem().string();
      drops[{FileName(stmt->Text(1)), dataset, stmt->Text(3), stmt->Text(4)}][hw] = stmt->Real(6);
      classes.insert(hw);
    }
  }
  // Speed-up: (model, config, batch) -> class -> speed-up over FP32.
  using SpeedKey = std::tuple<std::string, std::string, int64_t>;
  std::map<SpeedKey, std::map<std::string, double>> speedups;
  {
    MIXQ_ASSIGN_OR_RETURN(
        auto stmt,
        db.Prepare("SELECT s.model_id, m.path, s.config, s.batch, s.hardware_class, s.speedup "
                   "FROM config_speedups s JOIN models m ON m.id = s.model_id "
                   "WHERE s.config != 'fp32' AND s.speedup IS NOT NULL"));
    while (true) {
      MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      const std::string hw = stmt->Text(4);
      if (!wanted_model(stmt->Int(0)) || !wanted_class(hw)) continue;
      speedups[{FileName(stmt->Text(1)), stmt->Text(2), stmt->Int(3)}][hw] = stmt->Real(5);
      classes.insert(hw);
    }
  }
  if (drops.empty() && speedups.empty()) {
    return NotFound(
        "no evaluations of a non-FP32 config against FP32" +
        (query.hardware.empty() ? std::string() : " on class " + Join(query.hardware, ", ")) +
        " yet (a compare or evaluate job with fp32 and int8 configs makes them)");
  }
  CompareTables out;
  // Columns: the classes asked for in their order (missing ones included,
  // so the gap shows), else every class seen.
  std::vector<std::string> columns;
  if (query.hardware.empty()) columns.assign(classes.begin(), classes.end());
  for (const std::string& a : query.hardware) {
    bool found = false;
    for (const std::string& c : classes) {
      if (ClassMatches(c, a)) {
        columns.push_back(c);
        found = true;
      }
    }
    if (!found) {
      columns.push_back(a);
      out.missing.push_back(a);
    }
  }
  // Headers: the ISA alone when that tells the columns apart.
  std::set<std::string> shorts;
  for (const std::string& c : columns) shorts.insert(ShortClassName(c));
  const bool use_short = shorts.size() == columns.size();
  out.accuracy.columns = {"model", "dataset", "metric", "config"};
  out.speedup.columns = {"model", "config", "batch"};
  out.accuracy.numeric = {false, false, false, false};
  out.speedup.numeric = {false, false, true};
  for (const std::string& c : columns) {
    out.accuracy.columns.push_back(use_short ? ShortClassName(c) : c);
    out.accuracy.numeric.push_back(true);
    out.speedup.columns.push_back(use_short ? ShortClassName(c) : c);
    out.speedup.numeric.push_back(true);
  }
  for (const auto& [key, by_class] : drops) {
    std::vector<std::string> row = {std::get<0>(key), std::get<1>(key), std::get<2>(key),
                                    std::get<3>(key)};
    for (const std::string& c : columns) {
      auto it = by_class.find(c);
      row.push_back(it == by_class.end() ? "-" : FormatReal(it->second, 2));
    }
    out.accuracy.AddRow(std::move(row));
  }
  for (const auto& [key, by_class] : speedups) {
    std::vector<std::string> row = {std::get<0>(key), std::get<1>(key),
                                    std::to_string(std::get<2>(key))};
    for (const std::string& c : columns) {
      auto it = by_class.find(c);
      row.push_back(it == by_class.end() ? "-" : FormatReal(it->second, 2));
    }
    out.speedup.AddRow(std::move(row));
  }
  return out;
}

StatusOr<Table> QueryHistory(SqliteDb& db, int64_t job_id) {
  MIXQ_ASSIGN_OR_RETURN(std::vector<std::string> kind,
                        SelectStrings(db, "SELECT kind FROM jobs WHERE id = ?",
                                      [&](SqliteStatement& s) { s.Bind(1, job_id); }));
  if (kind.empty()) return NotFound("no job " + std::to_string(job_id));
  MIXQ_ASSIGN_OR_RETURN(
      Table table,
      SelectTable(db,
                  "SELECT hardware_class, step, seconds, kind, config, int8_layers, reason, "
                  "predicted_drop, predicted_ms, accuracy, drop_points, ms FROM search_history "
                  "WHERE job_id = ? ORDER BY hardware_class, step",
                  {{"hardware"},
                   {"step", 0},
                   {"seconds", 1},
                   {"kind"},
                   {"config"},
                   {"int8 layers", 0},
                   {"reason"},
                   {"predicted drop", 2},
                   {"predicted ms", 3},
                   {"accuracy", 2},
                   {"drop", 2},
                   {"ms", 3}},
                  [&](SqliteStatement& s) { s.Bind(1, job_id); }));
  if (table.rows.empty()) {
    return NotFound("job " + std::to_string(job_id) + " (" + kind.front() +
                    ") has no search steps yet");
  }
  return table;
}

StatusOr<Table> QueryLayers(SqliteDb& db, const std::string& model, const std::string& hardware) {
  MIXQ_ASSIGN_OR_RETURN(ModelRef ref, ResolveModel(db, model));
  MIXQ_ASSIGN_OR_RETURN(
      Table table,
      SelectTable(
          db,
          "SELECT layer, sensitivity, fp32_ms, int8_ms, gain, search_job_id FROM layer_summary "
          "WHERE model_id = ?1 AND " +
              ClassSql("hardware_class", "?2") +
              " ORDER BY sensitivity IS NULL, sensitivity DESC, gain DESC, layer",
          {{"layer"},
           {"sensitivity", 2},
           {"fp32 ms", 4},
           {"int8 ms", 4},
           {"int8 gain", 2},
           {"search job", 0}},
          [&](SqliteStatement& s) { s.Bind(1, ref.id).Bind(2, hardware); }));
  if (table.rows.empty()) {
    return NotFound("no per-layer data for model " + ref.Name() + " on class " + hardware +
                    " yet (a search's ranking steps or profile tasks make it)");
  }
  return table;
}

StatusOr<Table> QueryJobs(SqliteDb& db) {
  MIXQ_ASSIGN_OR_RETURN(
      Table table,
      SelectTable(db,
                  "SELECT job_id, name, kind, state, parent_job_id, model, dataset, done || '/' || "
                  "tasks, failed, created_at FROM job_list ORDER BY job_id DESC",
                  {{"id", 0},
                   {"name"},
                   {"kind"},
                   {"state"},
                   {"parent", 0},
                   {"model"},
                   {"dataset"},
                   {"tasks done"},
                   {"failed", 0},
                   {"created"}},
                  nullptr));
  for (auto& row : table.rows) {
    if (row[5] != "-") row[5] = FileName(row[5]);
    if (row[6] != "-") row[6] = FileName(row[6]);
  }
  if (table.rows.empty()) return NotFound("no jobs yet");
  return table;
}

}  // namespace mixq
