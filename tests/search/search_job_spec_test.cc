// Search job files: every section read into its typed form, defaults where
// keys are left out, and unknown keys or impossible values refused with the
// key's path; target hardware resolved against the connected classes.
#include "search/search_job_spec.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "search/search_job.h"

namespace mixq {
namespace {

const char* kFull = R"(
name: s
kind: search
model: m.onnx
data:
  calibration: {dataset: train.yaml, samples: 200, begin: 10}
  evaluation: {dataset: test.yaml, shard_size: 500, count: 2000}
  ranking: {samples: 300}
calibration: {method: percentile, percentile: 99.9}
metric: top5
budget: {max_drop: 0.5, relative: true}
objective: {measure: throughput, batch: 8}
hardware: [avx2]
strategy: {name: accuracy_aware, parallel: 3, reference_int8: true, min_gain: 0.02,
           confirm_rounds: 5}
limits: {max_full_evaluations: 12, max_seconds: 600}
output: out
)";

StatusOr<SearchJobSpec> Parse(const std::string& yaml) {
  MIXQ_ASSIGN_OR_RETURN(JobSpec job, ParseJobSpec(yaml, "/jobs", "job.yaml"));
  return ParseSearchJobSpec(job);
}

// A minimal valid search job with `extra` appended (top-level keys).
std::string Minimal(const std::string& extra) {
  return "name: s\nkind: search\nmodel: m.onnx\ndata:\n  evaluation: {dataset: t.yaml}\n" + extra;
}

TEST(SearchJobSpec, ReadsEverySection) {
  StatusOr<SearchJobSpec> s = Parse(kFull);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->job.model, "/jobs/m.onnx");
  EXPECT_EQ(s->calibration_dataset, "/jobs/train.yaml");
  EXPECT_EQ(s->calibration_samples, 200);
  EXPECT_EQ(s->calibration_begin, 10);
  EXPECT_EQ(s->calibration_methods, std::vector<std::string>{"percentile"});
  EXPECT_DOUBLE_EQ(s->calibration_percentile, 99.9);
  EXPECT_EQ(s->job.count, 2000);
  EXPECT_EQ(s->job.shard_size, 500);
  EXPECT_EQ(s->ranking_samples, 300);
  EXPECT_EQ(s->metric, "top5");
  ASSERT_EQ(s->budgets.size(), 1u);
  EXPECT_DOUBLE_EQ(s->budgets[0], 0.5);
  EXPECT_TRUE(s->relative);
  EXPECT_EQ(s->objective, "throughput");
  EXPECT_EQ(s->batch, 8);
  EXPECT_EQ(s->job.hardware, std::vector<std::string>{"avx2"});
  EXPECT_EQ(s->strategy, "accuracy_aware");
  EXPECT_EQ(s->settings.parallel, 3);
  EXPECT_TRUE(s->settings.reference_int8);
  EXPECT_DOUBLE_EQ(s->settings.min_gain, 0.02);
  EXPECT_EQ(s->settings.confirm_rounds, 5);
  EXPECT_EQ(s->settings.max_full_evaluations, 12);
  EXPECT_DOUBLE_EQ(s->max_seconds, 600);
  EXPECT_EQ(s->output, "/jobs/out");
}

TEST(SearchJobSpec, DefaultsWhenSectionsAreLeftOut) {
  StatusOr<SearchJobSpec> s = Parse(Minimal(""));
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->calibration_dataset, "/jobs/t.yaml");  // the evaluation dataset
  EXPECT_EQ(s->calibration_samples, 300);
  EXPECT_EQ(s->calibration_methods, std::vector<std::string>{"minmax"});
  EXPECT_EQ(s->strategy, "speed_aware");
  EXPECT_EQ(s->objective, "throughput");
  EXPECT_EQ(s->batch, 16);
  EXPECT_EQ(s->budgets, std::vector<double>{1.0});
  EXPECT_FALSE(s->relative);
  EXPECT_EQ(s->metric, "");  // the dataset task's own, resolved when the job runs
  EXPECT_EQ(s->output, "");
  EXPECT_DOUBLE_EQ(s->max_seconds, 0.0);
  EXPECT_EQ(s->ranking_samples, 0);  // auto: sized from the budget when the search runs
  EXPECT_TRUE(s->settings.refine);
}

TEST(SearchJobSpec, RankingSamplesMayBeAutoAndRefinementMayBeOff) {
  StatusOr<SearchJobSpec> s = Parse(
      "name: s\nkind: search\nmodel: m.onnx\ndata:\n  evaluation: {dataset: t.yaml}\n"
      "  ranking: {samples: auto}\nstrategy: {name: speed_aware, refine: false}\n");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->ranking_samples, 0);
  EXPECT_FALSE(s->settings.refine);
  for (const char* bad : {"0", "automatic", "-3"}) {
    StatusOr<SearchJobSpec> b = Parse(
        "name: s\nkind: search\nmodel: m.onnx\ndata:\n  evaluation: {dataset: t.yaml}\n"
        "  ranking: {samples: " +
        std::string(bad) + "}\n");
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_NE(b.status().message().find("data.ranking.samples"), std::string::npos)
        << b.status().message();
  }
}

TEST(SearchJobSpec, LatencyMeansBatchOne) {
  StatusOr<SearchJobSpec> s = Parse(Minimal("objective: {measure: latency}\n"));
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->batch, 1);
  StatusOr<SearchJobSpec> bad = Parse(Minimal("objective: {measure: latency, batch: 4}\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("objective.batch"), std::string::npos);
}

TEST(SearchJobSpec, ParetoTakesAListOfBudgets) {
  StatusOr<SearchJobSpec> s =
      Parse(Minimal("budget: {max_drop: [0.1, 0.3, 1.0]}\nstrategy: {name: pareto}\n"));
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->budgets, (std::vector<double>{0.1, 0.3, 1.0}));
  StatusOr<SearchJobSpec> one =
      Parse(Minimal("budget: {max_drop: 0.3}\nstrategy: {name: pareto}\n"));
  EXPECT_FALSE(one.ok());
  StatusOr<SearchJobSpec> list = Parse(Minimal("budget: {max_drop: [0.1, 0.3]}\n"));
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.status().message().find("pareto"), std::string::npos);
}

TEST(SearchJobSpec, CalibrationMethodMayBeAList) {
  StatusOr<SearchJobSpec> s = Parse(Minimal("calibration: {method: [minmax, kl]}\n"));
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->calibration_methods, (std::vector<std::string>{"minmax", "kl"}));
  StatusOr<SearchJobSpec> with_file =
      Parse(Minimal("calibration: {method: [minmax, kl], file: scales.json}\n"));
  ASSERT_FALSE(with_file.ok());
  EXPECT_NE(with_file.status().message().find("calibration.file"), std::string::npos);
}

TEST(SearchJobSpec, RelativeBudgetsScaleWithFp32Accuracy) {
  StatusOr<SearchJobSpec> s = Parse(Minimal("budget: {max_drop: 1.0, relative: true}\n"));
  ASSERT_TRUE(s.ok()) << s.status().message();
  const std::vector<double> b = AbsoluteBudgets(*s, 90.0);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_DOUBLE_EQ(b[0], 0.9);
  s->relative = false;
  EXPECT_DOUBLE_EQ(AbsoluteBudgets(*s, 90.0)[0], 1.0);
}

// Each bad input is refused with a message naming its key path.
TEST(SearchJobSpec, RefusesUnknownKeysAndImpossibleValuesByPath) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"budget: {max_drop: 0.3, kind: absolute}\n", "budget.kind"},
      {"budget: {max_drop: -1}\n", "budget.max_drop"},
      {"budget: {max_drop: abc}\n", "budget.max_drop"},
      {"budget: {max_drop: 0.3, relative: maybe}\n", "budget.relative"},
      {"metric: top3\n", "metric"},
      {"objective: {measure: speed}\n", "objective.measure"},
      {"objective: {batch: 0}\n", "objective.batch"},
      {"objective: {measure: throughput, bach: 4}\n", "objective.bach"},
      {"strategy: {name: greedy}\n", "strategy.name"},
      {"strategy: {name: speed_aware, parallel: 0}\n", "strategy.parallel"},
      {"strategy: {name: speed_aware, paralel: 2}\n", "strategy.paralel"},
      {"strategy: {name: speed_aware, reference_int8: sometimes}\n", "strategy.reference_int8"},
      {"strategy: {name: speed_aware, min_gain: 1.5}\n", "strategy.min_gain"},
      {"strategy: {name: speed_aware, confirm_rounds: 20}\n", "strategy.confirm_rounds"},
      {"strategy: {name: speed_aware, confirm_rounds: -1}\n", "strategy.confirm_rounds"},
      {"strategy: {name: speed_aware, refine: often}\n", "strategy.refine"},
      {"limits: {max_full_evaluations: 1}\n", "limits.max_full_evaluations"},
      {"limits: {max_seconds: 0}\n", "limits.max_seconds"},
      {"limits: {max_minutes: 5}\n", "limits.max_minutes"},
      {"calibration: {method: median}\n", "calibration.method"},
      {"calibration: {method: [kl, median]}\n", "calibration.method"},
      {"calibration: {method: [kl, kl]}\n", "calibration.method"},
      {"calibration: {method: []}\n", "calibration.method"},
      {"calibration: {method: percentile, percentile: 120}\n", "calibration.percentile"},
      {"calibration: {mehtod: kl}\n", "calibration.mehtod"},
      {"configs: [int8]\n", "configs"},
      {"profile: true\n", "profile"},
  };
  for (const auto& [extra, path] : cases) {
    StatusOr<SearchJobSpec> s = Parse(Minimal(extra));
    ASSERT_FALSE(s.ok()) << extra;
    EXPECT_NE(s.status().message().find(path), std::string::npos)
        << extra << " -> " << s.status().message();
  }
}

TEST(SearchJobSpec, RefusesDataKeysByPath) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"  calibration: {dataset: a.yaml, sample: 3}\n", "data.calibration.sample"},
      {"  calibration: {samples: 0}\n", "data.calibration.samples"},
      {"  ranking: {samples: 100, dataset: x.yaml}\n", "data.ranking.dataset"},
      {"  ranking: {samples: 0}\n", "data.ranking.samples"},
  };
  for (const auto& [extra, path] : cases) {
    const std::string yaml =
        "name: s\nkind: search\nmodel: m.onnx\ndata:\n  evaluation: {dataset: t.yaml}\n" + extra;
    StatusOr<SearchJobSpec> s = Parse(yaml);
    ASSERT_FALSE(s.ok()) << extra;
    EXPECT_NE(s.status().message().find(path), std::string::npos)
        << extra << " -> " << s.status().message();
  }
  // The ranking subset is the start of the evaluation slice.
  StatusOr<SearchJobSpec> s = Parse(
      "name: s\nkind: search\nmodel: m.onnx\ndata:\n  evaluation: {dataset: t.yaml, count: 100}\n"
      "  ranking: {samples: 300}\n");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("data.ranking.samples"), std::string::npos);
}

TEST(SearchJobSpec, StrategyLayersNameTheLayersExhaustiveEnumerates) {
  StatusOr<SearchJobSpec> s =
      Parse(Minimal("strategy: {name: exhaustive, layers: [stem, 'layers.0/conv1', 'a,b']}\n"));
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->exhaustive_layers, (std::vector<std::string>{"stem", "layers.0/conv1", "a,b"}));
  // Resolved against the model only when the job runs.
  EXPECT_TRUE(s->settings.exhaustive_layers.empty());
  StatusOr<SearchJobSpec> none = Parse(Minimal("strategy: {name: exhaustive}\n"));
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_TRUE(none->exhaustive_layers.empty());
}

TEST(SearchJobSpec, RefusesBadStrategyLayersByPath) {
  std::string seventeen;
  for (int i = 0; i < 17; ++i) seventeen += (i ? ", l" : "l") + std::to_string(i);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"strategy: {name: exhaustive, layers: [a, b, a]}\n", "'strategy.layers[2]'"},
      {"strategy: {name: exhaustive, layers: []}\n", "'strategy.layers'"},
      {"strategy: {name: exhaustive, layers: a}\n", "'strategy.layers'"},
      {"strategy: {name: exhaustive, layers: [a, [b]]}\n", "'strategy.layers[1]'"},
      {"strategy: {name: exhaustive, layers: [a, '']}\n", "'strategy.layers[1]'"},
      {"strategy: {name: exhaustive, layers: [" + seventeen + "]}\n", "names 17 layers"},
      {"strategy: {name: exhaustive, layer: [a]}\n", "strategy.layer"},
      {"strategy: {name: speed_aware, layers: [a]}\n",
       "'strategy.layers' is for strategy exhaustive"},
      {"strategy: {layers: [a]}\n", "'strategy.layers' is for strategy exhaustive"},
      {"budget: {max_drop: [0.1, 0.3]}\nstrategy: {name: pareto, layers: [a]}\n",
       "'strategy.layers' is for strategy exhaustive"},
  };
  for (const auto& [extra, expected] : cases) {
    StatusOr<SearchJobSpec> s = Parse(Minimal(extra));
    ASSERT_FALSE(s.ok()) << extra;
    EXPECT_NE(s.status().message().find(expected), std::string::npos)
        << extra << " -> " << s.status().message();
  }
}

TEST(SearchJobSpec, EvaluateJobIsNotASearch) {
  StatusOr<JobSpec> job =
      ParseJobSpec("name: e\nmodel: m.onnx\ndata:\n  evaluation: {dataset: t.yaml}\n", "", "j");
  ASSERT_TRUE(job.ok());
  EXPECT_FALSE(ParseSearchJobSpec(*job).ok());
}

TEST(SearchJobSpec, SubJobKeysParse) {
  StatusOr<JobSpec> job = ParseJobSpec(
      "name: e\nmodel: m.onnx\nparent_job: 7\nprofile_batch: 16\ndata:\n"
      "  evaluation: {dataset: t.yaml, count: 0}\nconfigs: ['{\"layers\":{}}', fp32]\n",
      "/d", "j");
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(job->parent_job_id, 7);
  EXPECT_EQ(job->profile_batch, 16);
  EXPECT_EQ(job->count, 0);
  // Inline JSON is kept as text, not resolved as a path.
  ASSERT_EQ(job->configs.size(), 2u);
  EXPECT_EQ(job->configs[0], "{\"layers\":{}}");
  EXPECT_FALSE(
      ParseJobSpec("name: e\nmodel: m\nparent_job: 0\ndata:\n  evaluation: {dataset: t}\n", "", "j")
          .ok());
}

TEST(ResolveTargetClasses, MatchesIsaNamesAllAndFullNames) {
  const std::vector<std::string> connected = {"CPU X / 2 cores / avx2",
                                              "CPU X / 2 cores / avx512_core"};
  StatusOr<std::vector<std::string>> avx2 = ResolveTargetClasses({"avx2"}, connected);
  ASSERT_TRUE(avx2.ok());
  EXPECT_EQ(*avx2, std::vector<std::string>{"CPU X / 2 cores / avx2"});
  StatusOr<std::vector<std::string>> all = ResolveTargetClasses({"all"}, connected);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, connected);
  StatusOr<std::vector<std::string>> any = ResolveTargetClasses({"any"}, connected);
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(*any, std::vector<std::string>{"any"});
  StatusOr<std::vector<std::string>> named =
      ResolveTargetClasses({"CPU Y / 4 cores / avx2"}, connected);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(*named, std::vector<std::string>{"CPU Y / 4 cores / avx2"});
  StatusOr<std::vector<std::string>> missing = ResolveTargetClasses({"avx512_core_amx"}, connected);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("avx512_core_amx"), std::string::npos);
  EXPECT_FALSE(ResolveTargetClasses({"all"}, {}).ok());
}

// The shipped search job on the text model reads as its comments say: its
// own calibration set, the whole 2,000-sequence test set, a 1-point budget.
StatusOr<SearchJobSpec> ParseShipped(const std::string& file_name) {
  const std::string dir = std::string(MIXQ_SOURCE_DIR) + "/configs/jobs";
  std::ifstream file(dir + "/" + file_name);
  if (!file) return NotFound(dir + "/" + file_name);
  std::stringstream text;
  text << file.rdbuf();
  MIXQ_ASSIGN_OR_RETURN(JobSpec job, ParseJobSpec(text.str(), dir, file_name));
  return ParseSearchJobSpec(job);
}

TEST(SearchJobSpec, ShippedTextBertJobReads) {
  const std::string src = MIXQ_SOURCE_DIR;
  StatusOr<SearchJobSpec> s = ParseShipped("text_bert_search.yaml");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->job.model, src + "/models/text_bert.onnx");
  EXPECT_EQ(s->job.eval_dataset, src + "/configs/datasets/text_bert_test.yaml");
  EXPECT_EQ(s->calibration_dataset, src + "/configs/datasets/text_bert_calib.yaml");
  EXPECT_EQ(s->calibration_samples, 500);
  EXPECT_EQ(s->ranking_samples, 500);
  EXPECT_EQ(s->metric, "top1");
  EXPECT_EQ(s->budgets, std::vector<double>{0.3});
  EXPECT_EQ(s->batch, 8);
}

// The hard-model job: the outlier model, a ranking subset sized from the
// budget, two configs verified per round, the refinement on.
TEST(SearchJobSpec, ShippedOutlierJobReads) {
  const std::string src = MIXQ_SOURCE_DIR;
  StatusOr<SearchJobSpec> s = ParseShipped("fm_resnet_outlier_search.yaml");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->job.model, src + "/models/fm_resnet_outlier.onnx");
  EXPECT_EQ(s->ranking_samples, 0);
  EXPECT_EQ(s->settings.parallel, 2);
  EXPECT_TRUE(s->settings.refine);
  EXPECT_EQ(s->budgets, std::vector<double>{0.3});
  EXPECT_EQ(s->strategy, "speed_aware");
}

}  // namespace
}  // namespace mixq
