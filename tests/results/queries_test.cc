#include "results/queries.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/results/query_fixture.h"

namespace mixq {
namespace {

using mixq_test::QueryDbFixture;

std::unique_ptr<SqliteDb> OpenReadOnly(const QueryDbFixture& f) {
  auto db = OpenQueryDb(f.path());
  EXPECT_TRUE(db.ok()) << db.status().message();
  return db.ok() ? std::move(*db) : nullptr;
}

// Column `name` of `table` as a list, row by row.
std::vector<std::string> ColumnOf(const Table& table, const std::string& name) {
  std::vector<std::string> out;
  for (size_t c = 0; c < table.columns.size(); ++c) {
    if (table.columns[c] != name) continue;
    for (const auto& row : table.rows) out.push_back(row[c]);
  }
  return out;
}

TEST(Queries, ModelsResolveByPathFileNameAndSha256Prefix) {
  QueryDbFixture f("resolve");
  auto db = OpenReadOnly(f);
  EXPECT_EQ(ResolveModel(*db, "/m/fm_resnet.onnx").value().id, 1);
  EXPECT_EQ(ResolveModel(*db, "fm_mlp.onnx").value().id, 2);
  EXPECT_EQ(ResolveModel(*db, "aaaa2").value().id, 2);
  EXPECT_EQ(ResolveModel(*db, "AAAA1111").value().id, 1);
  auto ambiguous = ResolveModel(*db, "aaaa");
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_NE(ambiguous.status().message().find("ambiguous"), std::string::npos);
  auto unknown = ResolveModel(*db, "fm_vit.onnx");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("unknown model 'fm_vit.onnx'"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("fm_resnet.onnx"), std::string::npos);
}

TEST(Queries, BestIsTheFastestConfigWithinBudgetPerClass) {
  QueryDbFixture f("best");
  auto db = OpenReadOnly(f);
  BestQuery q;
  q.model = "fm_resnet.onnx";
  q.max_drop = 1.0;
  Table t = QueryBest(*db, q).value();
  // avx2: INT8 (drop 1.0, 3000/s from the latest benchmark, not the stale
  // 100/s); sse41: INT8 loses 2 points there, so the mix.
  EXPECT_EQ(ColumnOf(t, "hardware"), (std::vector<std::string>{"avx2", "sse41"}));
  EXPECT_EQ(ColumnOf(t, "config"), (std::vector<std::string>{"int8", "mix"}));
  EXPECT_EQ(ColumnOf(t, "images/s"), (std::vector<std::string>{"3000.0", "700.0"}));
  EXPECT_EQ(ColumnOf(t, "speed-up"), (std::vector<std::string>{"3.00", "1.40"}));
  EXPECT_EQ(ColumnOf(t, "drop points"), (std::vector<std::string>{"1.00", "0.30"}));

  q.max_drop = 0.2;  // the mix's drop is 0.2 up to rounding
  q.hardware = "avx2";
  t = QueryBest(*db, q).value();
  EXPECT_EQ(ColumnOf(t, "config"), (std::vector<std::string>{"mix"}));

  q.max_drop = 1.0;
  q.objective = "latency";  // batch 1: the mix's 0.4 ms beats INT8's 0.5 ms
  t = QueryBest(*db, q).value();
  EXPECT_EQ(ColumnOf(t, "config"), (std::vector<std::string>{"mix"}));
  EXPECT_EQ(ColumnOf(t, "batch"), (std::vector<std::string>{"1"}));
  EXPECT_EQ(ColumnOf(t, "latency ms"), (std::vector<std::string>{"0.400"}));
}

TEST(Queries, BestSaysWhatIsMissing) {
  QueryDbFixture f("best_missing");
  auto db = OpenReadOnly(f);
  BestQuery q;
  q.model = "fm_mlp.onnx";
  auto none = QueryBest(*db, q);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no evaluations for model fm_mlp.onnx yet"),
            std::string::npos)
      << none.status().message();
  q.model = "fm_resnet.onnx";
  q.hardware = "avx512";
  none = QueryBest(*db, q);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("on class avx512"), std::string::npos);
  q.hardware = "sse41";
  q.max_drop = 0.1;  // FP32 itself is within any budget: it is the answer
  EXPECT_EQ(ColumnOf(QueryBest(*db, q).value(), "config"), (std::vector<std::string>{"fp32"}));
  q.objective = "speed";
  EXPECT_EQ(QueryBest(*db, q).status().code(), StatusCode::kInvalidArgument);
}

TEST(Queries, CompareTabulatesDropsAndSpeedupsPerClass) {
  QueryDbFixture f("compare");
  auto db = OpenReadOnly(f);
  CompareTables t = QueryCompare(*db, {}).value();
  EXPECT_EQ(t.accuracy.columns,
            (std::vector<std::string>{"model", "dataset", "metric", "config", "avx2", "sse41"}));
  // Rows sorted by model, dataset, metric, config; job 1's stale 10-point
  // drop is superseded by job 2.
  ASSERT_EQ(t.accuracy.rows.size(), 4u);
  EXPECT_EQ(t.accuracy.rows[0], (std::vector<std::string>{"fm_resnet.onnx", "fashion_mnist_test",
                                                          "top1", "int8", "1.00", "2.00"}));
  EXPECT_EQ(t.accuracy.rows[1][3], "mix");
  EXPECT_EQ(t.accuracy.rows[1][4], "0.20");
  EXPECT_EQ(t.accuracy.rows[2][2], "top5");
  EXPECT_EQ(t.accuracy.rows[2][4], "0.50");
  EXPECT_EQ(t.speedup.columns,
            (std::vector<std::string>{"model", "config", "batch", "avx2", "sse41"}));
  ASSERT_EQ(t.speedup.rows.size(), 4u);
  EXPECT_EQ(t.speedup.rows[0],
            (std::vector<std::string>{"fm_resnet.onnx", "int8", "1", "2.00", "-"}));
  EXPECT_EQ(t.speedup.rows[1],
            (std::vector<std::string>{"fm_resnet.onnx", "int8", "16", "3.00", "1.20"}));
  EXPECT_TRUE(t.missing.empty());
}

// A search evaluates one batch of configs per sub-job: a config's drop is
// measured against the FP32 evaluation of a sibling sub-job with the same
// sample count, and a ranking-subset evaluation (fewer samples) of the same
// config, even a later one, does not replace its full evaluation.
TEST(Queries, SearchSubJobsTakeTheirFp32ReferenceFromASiblingWithTheSameSamples) {
  QueryDbFixture f("siblings");
  f.Exec(R"SQL(
INSERT INTO jobs(id, name, kind, spec_yaml, state, model_id, dataset_id, parent_job_id) VALUES
  (10, 's', 'search', '', 'done', 2, 1, NULL),
  (11, 's full', 'evaluate', '', 'done', 2, 1, 10),
  (12, 's full', 'evaluate', '', 'done', 2, 1, 10),
  (13, 's ranking', 'evaluate', '', 'done', 2, 1, 10),
  (14, 's ranking', 'evaluate', '', 'done', 2, 1, 10);
INSERT INTO evaluations(job_id, config_id, hardware_class, samples, correct1, correct5, top1) VALUES
  (11, 1, 'avx2', 2000, 1800, 1990, 0.9),
  (12, 2, 'avx2', 2000, 1790, 1990, 0.895),
  (13, 1, 'avx2', 300, 290, 300, 0.9667),
  (14, 2, 'avx2', 300, 250, 300, 0.8333);
)SQL");
  auto db = OpenReadOnly(f);
  auto stmt = db->Prepare(
      "SELECT samples, drop_points FROM latest_accuracy_drops WHERE model_id = 2 AND "
      "config = 'int8' AND metric = 'top1' AND hardware_class = 'avx2'");
  ASSERT_TRUE(stmt.ok());
  ASSERT_TRUE((*stmt)->Step().value());
  EXPECT_EQ((*stmt)->Int(0), 2000);
  EXPECT_NEAR((*stmt)->Real(1), 0.5, 1e-9);  // 90.0 - 89.5, not 96.67 - 83.33
  EXPECT_FALSE((*stmt)->Step().value());
}

TEST(Queries, CompareShowsAskedClassesInOrderAndReportsMissingOnes) {
  QueryDbFixture f("compare_missing");
  auto db = OpenReadOnly(f);
  CompareQuery q;
  q.models = {"fm_resnet.onnx"};
  q.hardware = {"sse41", "avx"};
  CompareTables t = QueryCompare(*db, q).value();
  EXPECT_EQ(t.accuracy.columns,
            (std::vector<std::string>{"model", "dataset", "metric", "config", "sse41", "avx"}));
  EXPECT_EQ(t.accuracy.rows[0][4], "2.00");
  EXPECT_EQ(t.accuracy.rows[0][5], "-");
  EXPECT_EQ(t.missing, (std::vector<std::string>{"avx"}));
  q.hardware = {"avx"};
  EXPECT_EQ(QueryCompare(*db, q).status().code(), StatusCode::kNotFound);
  q = {};
  q.models = {"nope.onnx"};
  EXPECT_EQ(QueryCompare(*db, q).status().code(), StatusCode::kNotFound);
}

// Workers started with --max-isa are classes "<cpu> / <n> cores / <isa>":
// asked for by their ISA, shown by it when that tells the columns apart.
TEST(Queries, ClassesMatchByTheirIsa) {
  QueryDbFixture f("compare_isa");
  f.Exec(
      "INSERT INTO evaluations(job_id, config_id, hardware_class, samples, correct1, correct5, "
      "top1) VALUES (2, 1, 'Xeon / 4 cores / avx', 1000, 920, 990, 0.92), "
      "(2, 2, 'Xeon / 4 cores / avx', 1000, 905, 990, 0.905)");
  auto db = OpenReadOnly(f);
  CompareQuery q;
  q.hardware = {"avx", "avx2"};
  CompareTables t = QueryCompare(*db, q).value();
  EXPECT_EQ(t.accuracy.columns,
            (std::vector<std::string>{"model", "dataset", "metric", "config", "avx", "avx2"}));
  EXPECT_EQ(t.accuracy.rows[0][4], "1.50");
  EXPECT_EQ(t.accuracy.rows[0][5], "1.00");
  EXPECT_TRUE(t.missing.empty());
  q.hardware = {"Xeon / 4 cores / avx"};
  EXPECT_EQ(QueryCompare(*db, q).value().accuracy.rows[0][4], "1.50");
  q.hardware = {"avx2", "4 cores / avx"};  // not an ISA, not a full name
  EXPECT_EQ(QueryCompare(*db, q).value().missing, (std::vector<std::string>{"4 cores / avx"}));
}

TEST(Queries, HistoryListsSearchStepsInOrder) {
  QueryDbFixture f("history");
  auto db = OpenReadOnly(f);
  Table t = QueryHistory(*db, 4).value();
  EXPECT_EQ(ColumnOf(t, "step"), (std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6"}));
  EXPECT_EQ(ColumnOf(t, "kind")[2], "ranking");
  EXPECT_EQ(ColumnOf(t, "config")[2], "only-conv1");
  EXPECT_EQ(ColumnOf(t, "seconds")[6], "70.0");
  EXPECT_EQ(ColumnOf(t, "drop")[1], "-");
  auto none = QueryHistory(*db, 2);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("job 2 (evaluate) has no search steps"),
            std::string::npos);
  EXPECT_NE(QueryHistory(*db, 99).status().message().find("no job 99"), std::string::npos);
}

TEST(Queries, LayersJoinRankingSensitivityAndProfileGain) {
  QueryDbFixture f("layers");
  auto db = OpenReadOnly(f);
  Table t = QueryLayers(*db, "fm_resnet.onnx", "avx2").value();
  // conv1 alone in INT8 costs 93.0 - 92.0 points on the ranking subset and
  // runs 2.0 / 0.5 times faster; fc 0.2 points and 1.25x.
  EXPECT_EQ(ColumnOf(t, "layer"), (std::vector<std::string>{"conv1", "fc"}));
  EXPECT_EQ(ColumnOf(t, "sensitivity"), (std::vector<std::string>{"1.00", "0.20"}));
  EXPECT_EQ(ColumnOf(t, "int8 gain"), (std::vector<std::string>{"4.00", "1.25"}));
  auto none = QueryLayers(*db, "fm_resnet.onnx", "sse41");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("on class sse41"), std::string::npos);
}

TEST(Queries, JobsNewestFirstWithTaskCounts) {
  QueryDbFixture f("jobs");
  auto db = OpenReadOnly(f);
  Table t = QueryJobs(*db).value();
  EXPECT_EQ(ColumnOf(t, "id"), (std::vector<std::string>{"4", "3", "2", "1"}));
  EXPECT_EQ(ColumnOf(t, "tasks done")[2], "8/9");
  EXPECT_EQ(ColumnOf(t, "model")[1], "fm_mlp.onnx");
}

TEST(Queries, MissingOrForeignDatabaseIsAClearError) {
  auto db = OpenQueryDb(::testing::TempDir() + "/no_such_mixq.db");
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kNotFound);
  EXPECT_NE(db.status().message().find("no such database"), std::string::npos);
  const std::string other = ::testing::TempDir() + "/other_" + std::to_string(::getpid()) + ".db";
  std::remove(other.c_str());
  {
    auto writer = SqliteDb::Open(other).value();
    ASSERT_TRUE(writer->Exec("CREATE TABLE t(x)").ok());
  }
  db = OpenQueryDb(other);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("not a mixq results database"), std::string::npos);
  {
    auto writer = SqliteDb::Open(other).value();
    ASSERT_TRUE(writer
                    ->Exec("CREATE TABLE schema_version(version); "
                           "INSERT INTO schema_version VALUES (1)")
                    .ok());
  }
  db = OpenQueryDb(other);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("schema version 1 has no query views"), std::string::npos);
  std::remove(other.c_str());
}

// The coordinator holds a write transaction open while a query runs: the
// query neither waits nor fails, sees the last committed state, and its
// connection cannot write.
TEST(Queries, ReadOnlyQueryRunsWhileAWriterHoldsATransaction) {
  QueryDbFixture f("concurrent");
  ASSERT_TRUE(f.store().Begin().ok());
  f.Exec("INSERT INTO jobs(id, name, kind, spec_yaml) VALUES (5, 'new', 'evaluate', '')");
  auto db = OpenReadOnly(f);
  StatusOr<Table> during = QueryJobs(*db);
  ASSERT_TRUE(during.ok()) << during.status().message();
  EXPECT_EQ(during->rows.size(), 4u);
  Status write = db->Exec("INSERT INTO jobs(name, kind, spec_yaml) VALUES ('x', 'evaluate', '')");
  EXPECT_FALSE(write.ok());
  EXPECT_NE(write.message().find("readonly"), std::string::npos) << write.message();
  ASSERT_TRUE(f.store().Commit().ok());
  EXPECT_EQ(QueryJobs(*db).value().rows.size(), 5u);
}

}  // namespace
}  // namespace mixq
