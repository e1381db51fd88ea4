#include "coordinator/job_spec.h"

#include <gtest/gtest.h>

#include "engine/ir/graph.h"
#include "tests/common/data_files.h"

namespace mixq {
namespace {

TEST(JobSpec, ParsesEvaluateJobAndResolvesPaths) {
  StatusOr<JobSpec> job = ParseJobSpec(
      "name: j\nmodel: m.onnx\n"
      "data: {evaluation: {dataset: d.yaml, shard_size: 250, count: 2000}}\n"
      "benchmark: {batches: [1, 8], seconds: 0.5, round: 2}\n",
      "/base", "j.yaml");
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(job->name, "j");
  EXPECT_EQ(job->model, "/base/m.onnx");
  EXPECT_EQ(job->eval_dataset, "/base/d.yaml");
  EXPECT_EQ(job->shard_size, 250);
  EXPECT_EQ(job->count, 2000);
  EXPECT_EQ(job->bench_batches, (std::vector<int64_t>{1, 8}));
  EXPECT_DOUBLE_EQ(job->bench_seconds, 0.5);
  EXPECT_EQ(job->bench_round, 2);
  EXPECT_EQ(job->configs, std::vector<std::string>{"fp32"});
  EXPECT_EQ(job->hardware, std::vector<std::string>{"any"});
  EXPECT_TRUE(job->search.empty());
}

// Issue 20: search settings in an evaluate job ran with exit 0 and were
// ignored; they are refused by path, as the schema says. A search job keeps
// them for its own parser.
TEST(JobSpec, SearchSettingsAreRefusedOutsideSearchJobs) {
  const std::string head = "name: j\nmodel: m.onnx\ndata: {evaluation: {dataset: d.yaml}}\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"strategy: {name: nonsense}\n", "'strategy' is a search setting, not for an evaluate job"},
      {"budget: {max_drop: 0.3}\n", "'budget' is a search setting"},
      {"metric: top1\n", "'metric' is a search setting"},
      {"calibration: {colour: red}\n", "unknown key 'calibration.colour'"},
      {"calibration: {methods: [kl]}\n", "unknown key 'calibration.methods'"},
  };
  for (const auto& [extra, message] : cases) {
    StatusOr<JobSpec> job = ParseJobSpec(head + extra, "", "j.yaml");
    ASSERT_FALSE(job.ok()) << extra;
    EXPECT_NE(job.status().message().find(message), std::string::npos)
        << extra << ": " << job.status().message();
  }
  StatusOr<JobSpec> ranking = ParseJobSpec(
      "name: j\nmodel: m.onnx\ndata: {evaluation: {dataset: d.yaml}, ranking: {samples: 9}}\n", "",
      "j.yaml");
  ASSERT_FALSE(ranking.ok());
  EXPECT_NE(ranking.status().message().find("'data.ranking' is a search setting"),
            std::string::npos);
  StatusOr<JobSpec> search = ParseJobSpec(
      "name: j\nkind: search\nmodel: m.onnx\ndata: {evaluation: {dataset: d.yaml}}\n"
      "strategy: {name: speed_aware}\nbudget: {max_drop: 0.3}\n",
      "", "j.yaml");
  ASSERT_TRUE(search.ok()) << search.status().message();
  EXPECT_EQ(search->search.count("strategy"), 1u);
}

// Issue 20: a repeated key kept its first value silently.
TEST(JobSpec, DuplicateKeysAreRefusedWithPathAndLine) {
  StatusOr<JobSpec> job = ParseJobSpec(
      "name: j\nmodel: m.onnx\ndata:\n  evaluation:\n    dataset: d.yaml\n    count: 1000\n"
      "    count: 10\n",
      "", "j.yaml");
  ASSERT_FALSE(job.ok());
  EXPECT_NE(job.status().message().find("j.yaml: duplicate key 'data.evaluation.count' (line 7)"),
            std::string::npos)
      << job.status().message();
  StatusOr<JobSpec> top = ParseJobSpec("name: j\nmodel: m.onnx\nname: k\n", "", "j.yaml");
  ASSERT_FALSE(top.ok());
  EXPECT_NE(top.status().message().find("duplicate key 'name' (line 3)"), std::string::npos)
      << top.status().message();
}

// The same for every kind ParseJobSpec reads, in the keys of that kind.
TEST(JobSpec, DuplicateKeysAreRefusedInEveryKind) {
  const std::string head = "name: j\nmodel: m.onnx\ndata: {evaluation: {dataset: d.yaml}}\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"kind: evaluate\nbenchmark: {batches: [1], batches: [2]}\n", "'benchmark.batches'"},
      {"kind: calibrate\ncalibration: {method: kl, method: mse}\n", "'calibration.method'"},
      {"kind: search\nstrategy: {name: speed_aware, name: exhaustive}\n", "'strategy.name'"},
  };
  for (const auto& [body, key] : cases) {
    StatusOr<JobSpec> job = ParseJobSpec(head + body, "", "j.yaml");
    ASSERT_FALSE(job.ok()) << body;
    EXPECT_EQ(job.status().message().rfind("j.yaml: duplicate key " + key, 0), 0u)
        << job.status().message();
  }
}

// Issue 20: a job's batches and sample counts are held to the command
// line's limits at submission, not met by a worker's allocation.
TEST(JobSpec, BatchesAndSampleCountsAboveTheLimitsAreRefused) {
  const std::string head = "name: j\nmodel: m.onnx\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"data: {evaluation: {dataset: d.yaml}}\nbenchmark: {batches: [1, 2000000]}\n",
       "j.yaml: 'benchmark.batches[1]' must be <= 1048576 (the limit), got 2000000"},
      {"data: {evaluation: {dataset: d.yaml, batch: 4000000}}\n",
       "j.yaml: 'data.evaluation.batch' must be <= 1048576 (the limit), got 4000000"},
      {"data: {evaluation: {dataset: d.yaml, count: 2000000000000}}\n",
       "j.yaml: 'data.evaluation.count' must be <= 1099511627776 (the limit), got 2000000000000"},
  };
  for (const auto& [body, message] : cases) {
    StatusOr<JobSpec> job = ParseJobSpec(head + body, "", "j.yaml");
    ASSERT_FALSE(job.ok()) << body;
    EXPECT_EQ(job.status().message(), message);
  }
}

// Issue 20: an empty job file said "'(top)' must be a mapping".
TEST(JobSpec, EmptyOrNonMappingFileIsNamedPlainly) {
  StatusOr<JobSpec> empty = ParseJobSpec("", "", "j.yaml");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(), "j.yaml: the file is empty (expected a mapping of keys)");
  StatusOr<JobSpec> list = ParseJobSpec("- a\n- b\n", "", "j.yaml");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().message(),
            "j.yaml: the file must be a mapping of keys (key: value lines)");
}

TEST(JobSpec, CalibrationFileIsResolvedAndInt8KeptAsAWord) {
  StatusOr<JobSpec> job = ParseJobSpec(
      "name: j\nmodel: m.onnx\ndata: {evaluation: {dataset: d.yaml}}\n"
      "configs: [fp32, int8, c/mixed.json]\ncalibration: cal/m.json\nprofile: true\n"
      "seven_bit: first\n",
      "/base", "j.yaml");
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(job->configs, (std::vector<std::string>{"fp32", "int8", "/base/c/mixed.json"}));
  EXPECT_EQ(job->calibration_file, "/base/cal/m.json");
  EXPECT_TRUE(job->profile);
  EXPECT_EQ(job->seven_bit, "first");
  EXPECT_EQ(job->search.count("calibration"), 0u);
}

TEST(JobSpec, CalibrationMappingStaysASearchSetting) {
  StatusOr<JobSpec> job = ParseJobSpec(
      "name: j\nmodel: m.onnx\ndata: {evaluation: {dataset: d.yaml}}\n"
      "calibration: {method: kl}\n",
      "/base", "j.yaml");
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(job->calibration_file, "");
  EXPECT_FALSE(job->profile);
  EXPECT_EQ(job->seven_bit, "none");
  EXPECT_EQ(job->search.count("calibration"), 1u);
  StatusOr<JobSpec> bad = ParseJobSpec(
      "name: j\nmodel: m.onnx\ndata: {evaluation: {dataset: d.yaml}}\nprofile: maybe\n", "",
      "j.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'profile' must be true or false"), std::string::npos)
      << bad.status().message();
}

TEST(JobSpec, RefusesUnknownKeyByPath) {
  StatusOr<JobSpec> job =
      ParseJobSpec("name: j\nmodel: m.onnx\ndata: {evaluation: {dataset: d.yaml, shard_sise: 3}}\n",
                   "", "j.yaml");
  ASSERT_FALSE(job.ok());
  EXPECT_NE(job.status().message().find("'data.evaluation.shard_sise'"), std::string::npos)
      << job.status().message();
}

TEST(JobSpec, RefusesMissingModelAndBadValues) {
  EXPECT_FALSE(ParseJobSpec("name: j\ndata: {evaluation: {dataset: d}}\n", "", "x").ok());
  StatusOr<JobSpec> job =
      ParseJobSpec("name: j\nmodel: m\ndata: {evaluation: {dataset: d, shard_size: 0}}\n", "", "x");
  ASSERT_FALSE(job.ok());
  EXPECT_NE(job.status().message().find("shard_size"), std::string::npos);
  EXPECT_FALSE(ParseJobSpec("name: [", "", "x").ok());
}

}  // namespace
}  // namespace mixq

namespace mixq {
namespace {

TEST(JobSpec, CalibrationMappingAsksTheCoordinatorToCalibrate) {
  StatusOr<JobSpec> job = ParseJobSpec(
      "name: j\nkind: search\nmodel: m.onnx\ndata: {evaluation: {dataset: d.yaml}, "
      "calibration: {dataset: train.yaml, samples: 200}}\n"
      "calibration: {methods: [kl, percentile], weights: per_channel, shard_size: 50}\n",
      "/base", "j.yaml");
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_TRUE(job->calibrate.enabled);
  EXPECT_EQ(job->calibrate.dataset, "/base/train.yaml");
  EXPECT_EQ(job->calibrate.samples, 200);
  EXPECT_EQ(job->calibrate.begin, 0);
  EXPECT_EQ(job->calibrate.shard_size, 50);
  EXPECT_EQ(job->calibrate.method, "kl");  // the first of the search's methods
  // Still there for the search.
  EXPECT_EQ(job->search.count("calibration"), 1u);

  job = ParseJobSpec(
      "name: j\nmodel: m.onnx\ndata: {evaluation: {dataset: d.yaml}}\n"
      "calibration: {method: percentile, percentile: 99.9, samples: 100, begin: 7}\n",
      "", "j.yaml");
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(job->calibrate.method, "percentile");
  EXPECT_DOUBLE_EQ(job->calibrate.percentile, 99.9);
  EXPECT_EQ(job->calibrate.samples, 100);
  EXPECT_EQ(job->calibrate.begin, 7);
  EXPECT_EQ(job->calibrate.dataset, "");  // the evaluation dataset
}

TEST(JobSpec, CalibrateJobsAndBadCalibrationSettings) {
  StatusOr<JobSpec> job = ParseJobSpec(
      "name: j\nkind: calibrate\nmodel: m.onnx\ndata: {calibration: {dataset: t.yaml}}\n"
      "calibration: {method: mse}\noutput: out/c.json\n",
      "/base", "j.yaml");
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(job->kind, "calibrate");
  EXPECT_EQ(job->output, "/base/out/c.json");
  EXPECT_EQ(job->calibrate.dataset, "/base/t.yaml");
  EXPECT_EQ(job->eval_dataset, "");

  // schemas/job.md: a calibrate job whose mapping names the dataset needs no
  // `data` at all (it was refused with "missing key 'data'").
  StatusOr<JobSpec> no_data = ParseJobSpec(
      "name: j\nkind: calibrate\nmodel: m.onnx\ncalibration: {dataset: t.yaml, samples: 50}\n",
      "/base", "j.yaml");
  ASSERT_TRUE(no_data.ok()) << no_data.status().message();
  EXPECT_EQ(no_data->calibrate.dataset, "/base/t.yaml");
  EXPECT_EQ(no_data->calibrate.samples, 50);

  auto error = [](const std::string& yaml) {
    StatusOr<JobSpec> j = ParseJobSpec(yaml, "", "j.yaml");
    return j.ok() ? std::string() : j.status().message();
  };
  EXPECT_NE(error("name: j\nkind: calibrate\nmodel: m.onnx\ndata: {}\ncalibration: c.json\n")
                .find("needs 'calibration' as a mapping"),
            std::string::npos);
  EXPECT_NE(error("name: j\nmodel: m.onnx\ndata: {evaluation: {dataset: d.yaml}}\n"
                  "calibration: {method: entropy}\n")
                .find("'calibration.method' must be"),
            std::string::npos);
  EXPECT_NE(error("name: j\nmodel: m.onnx\ndata: {evaluation: {dataset: d.yaml}}\n"
                  "calibration: {method: [kl, minmax]}\n")
                .find("a list is for search jobs"),
            std::string::npos);
  EXPECT_NE(error("name: j\nmodel: m.onnx\ndata: {evaluation: {dataset: d.yaml}}\n"
                  "calibration: {samples: 0}\n")
                .find("'calibration.samples' must be >= 1"),
            std::string::npos);
  EXPECT_NE(error("name: j\nmodel: m.onnx\ndata: {calibration: {dataset: t.yaml}}\n"
                  "calibration: {method: kl}\n")
                .find("missing key 'data.evaluation'"),
            std::string::npos);
}

// Inputs x [?,3,?,?], m [?,4] and "raw" (no declared shape).
Graph ThreeInputs() {
  Graph g;
  g.inputs = {"x", "m", "raw"};
  g.values["x"] = {DType::kF32, {-1, 3, -1, -1}};
  g.values["m"] = {DType::kF32, {-1, 4}};
  return g;
}

TEST(JobSpec, InputShapeWinsOverTheDatasetsInputByInput) {
  test::TempDir dir;
  const std::string files = "format: idx\nimages: i.gz\nlabels: l.gz\n";
  test::WriteText(dir.Path("eval.yaml"), files + "input_shape: {x: [1, 3, 8, 8], m: 2x4}\n");
  test::WriteText(dir.Path("cal.yaml"), files + "input_shape: {m: [9, 4], raw: [5]}\n");
  StatusOr<JobSpec> job = ParseJobSpec(
      "name: j\nmodel: m.onnx\ndata: {evaluation: {dataset: eval.yaml}}\n"
      "calibration: {dataset: cal.yaml}\ninput_shape: [1, 3, 16, 16]\n",
      dir.path(), "j.yaml");
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(job->input_shapes, (InputShapes{{"", {1, 3, 16, 16}}}));
  EXPECT_TRUE(JobHasInputShapes(*job));
  StatusOr<InputShapes> shapes = ResolveJobInputShapes(*job, ThreeInputs());
  ASSERT_TRUE(shapes.ok()) << shapes.status().message();
  EXPECT_EQ(*shapes, (InputShapes{{"x", {1, 3, 16, 16}}, {"m", {2, 4}}, {"raw", {5}}}));

  // Errors name the file the shape came from.
  job->input_shapes = {{"nope", {1}}};
  EXPECT_EQ(ResolveJobInputShapes(*job, ThreeInputs()).status().message(),
            "j.yaml: 'input_shape': 'nope' is not an input of the model (its inputs: 'x', 'm', "
            "'raw')");
  test::WriteText(dir.Path("cal.yaml"), files + "input_shape: [1, 2, 8, 8]\n");
  job->input_shapes.clear();
  EXPECT_EQ(ResolveJobInputShapes(*job, ThreeInputs()).status().message(),
            dir.Path("cal.yaml") +
                ": 'input_shape': input 'x' is declared [?,3,?,?]; the given [1,2,8,8] does not "
                "fit (dim 1 is 3)");

  StatusOr<JobSpec> plain = ParseJobSpec(
      "name: j\nmodel: m.onnx\ndata: {evaluation: {dataset: " + dir.Path("none.yaml") + "}}\n", "",
      "j.yaml");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(JobHasInputShapes(*plain));
  StatusOr<JobSpec> bad = ParseJobSpec(
      "name: j\nmodel: m.onnx\ndata: {evaluation: {dataset: d.yaml}}\ninput_shape: 1x3xAx4\n", "",
      "j.yaml");
  EXPECT_EQ(bad.status().message(),
            "j.yaml: 'input_shape': '1x3xAx4': 'A' is not an integer in [1, 2^31 - 1] (write a "
            "shape as 1x3x640x640)");
}

}  // namespace
}  // namespace mixq
