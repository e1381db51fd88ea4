// The `mixq query` questions answered from the results database: each reads
// one of the views schemas/db_v2.sql defines (schemas/db.md "Views") and
// returns a Table for table_format to render. The database is opened
// read-only, so queries run while a coordinator writes (WAL mode). Empty
// answers are errors that say what is missing ("no evaluations for model X
// on class Y yet").
#ifndef MIXQ_RESULTS_QUERIES_H_
#define MIXQ_RESULTS_QUERIES_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/sqlite_db.h"
#include "common/status.h"
#include "common/table_format.h"

namespace mixq {

// How a result column becomes a cell: text, an integer, or a real with
// `digits` decimals; NULL is "-" in every case.
struct QueryColumn {
  std::string name;
  int digits = -1;  // -1: text; 0: integer; > 0: real
};

using Binder = std::function<void(SqliteStatement&)>;

// Runs `sql` (parameters bound by `bind`, may be empty) into a Table,
// column by column.
StatusOr<Table> SelectTable(SqliteDb& db, const std::string& sql,
                            const std::vector<QueryColumn>& columns, const Binder& bind);
// The first column of every row, as text.
StatusOr<std::vector<std::string>> SelectStrings(SqliteDb& db, const std::string& sql,
                                                 const Binder& bind);
std::string FormatReal(double value, int digits);
// The ISA part of a class name "<cpu> / <n> cores / <isa>" (the name itself
// when it has no such part).
std::string ShortClassName(const std::string& name);

// Opens `path` read-only and checks that it has the query views (schema
// version 2 or later). NotFound for a missing file.
StatusOr<std::unique_ptr<SqliteDb>> OpenQueryDb(const std::string& path);

struct ModelRef {
  int64_t id = 0;
  std::string path;
  std::string sha256;
  std::string Name() const;  // the file name
};

// A model by its path, its file name or a prefix of its sha256 (at least 4
// hex digits). NotFound / InvalidArgument (ambiguous) with the candidates.
StatusOr<ModelRef> ResolveModel(SqliteDb& db, const std::string& model);

struct BestQuery {
  std::string model;
  double max_drop = 1.0;                 // top-1 points
  std::string hardware;                  // "" = every class
  std::string objective = "throughput";  // throughput | latency
  int64_t batch = 0;                     // 0: 16 for throughput, 1 for latency
};

// The fastest benchmarked config per hardware class whose worst measured
// top-1 drop on that class (or 'any') is within max_drop.
StatusOr<Table> QueryBest(SqliteDb& db, const BestQuery& query);

struct CompareQuery {
  std::vector<std::string> models;    // empty: every evaluated model
  std::vector<std::string> hardware;  // empty: every class with results
};

struct CompareTables {
  Table accuracy;  // model x dataset x metric x config; a column per class: drop, points
  Table speedup;   // model x config x batch; a column per class: over FP32
  std::vector<std::string> missing;  // classes asked for with no result at all
};

StatusOr<CompareTables> QueryCompare(SqliteDb& db, const CompareQuery& query);

// A search job's steps, in order per hardware class.
StatusOr<Table> QueryHistory(SqliteDb& db, int64_t job_id);

// Per-layer sensitivity (from the latest search's ranking steps) and INT8
// gain (from profiles) of a model on a class, most sensitive first.
StatusOr<Table> QueryLayers(SqliteDb& db, const std::string& model, const std::string& hardware);

// Every job, newest first.
StatusOr<Table> QueryJobs(SqliteDb& db);

}  // namespace mixq

#endif  // MIXQ_RESULTS_QUERIES_H_
