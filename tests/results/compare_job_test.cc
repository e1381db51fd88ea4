#include "results/compare_job.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/sha256.h"
#include "coordinator/job_spec.h"
#include "coordinator/store.h"

namespace mixq {
namespace {

const std::string kModels = std::string(MIXQ_SOURCE_DIR) + "/models";

TEST(CompareJob, ParsesModelsConfigsAndDefaults) {
  const std::string yaml = R"(
name: ref
kind: compare
models: [a.onnx, {model: b.onnx, calibration: b.calib, configs: [b-mix.json]}]
data:
  evaluation: {dataset: d.yaml, count: 500, shard_size: 250}
calibration: {dataset: train.yaml, samples: 100}
)";
  EXPECT_TRUE(IsCompareJob(yaml));
  EXPECT_FALSE(IsCompareJob("kind: evaluate\n"));
  EXPECT_FALSE(IsCompareJob("[not, a, map"));
  CompareSpec spec = ParseCompareSpec(yaml, "/jobs", "ref.yaml").value();
  EXPECT_EQ(spec.name, "ref");
  ASSERT_EQ(spec.models.size(), 2u);
  EXPECT_EQ(spec.models[0].model, "/jobs/a.onnx");
  EXPECT_EQ(spec.models[0].calibration, "");
  EXPECT_EQ(spec.models[1].calibration, "/jobs/b.calib");
  EXPECT_EQ(spec.models[1].configs, (std::vector<std::string>{"/jobs/b-mix.json"}));
  EXPECT_TRUE(spec.models[0].configs.empty());
  EXPECT_EQ(spec.eval_dataset, "/jobs/d.yaml");
  EXPECT_EQ(spec.count, 500);
  EXPECT_EQ(spec.shard_size, 250);
  EXPECT_EQ(spec.calibration_dataset, "/jobs/train.yaml");
  EXPECT_EQ(spec.calibration_samples, 100);
  EXPECT_EQ(spec.configs, (std::vector<std::string>{"fp32", "int8", "chosen"}));
  EXPECT_EQ(spec.hardware, (std::vector<std::string>{"all"}));
}

TEST(CompareJob, RefusesInt8WithoutScalesAndUnknownKeys) {
  auto no_scales = ParseCompareSpec(
      "kind: compare\nmodels: [a.onnx]\ndata: {evaluation: {dataset: d.yaml}}\n", "/j", "c.yaml");
  ASSERT_FALSE(no_scales.ok());
  EXPECT_NE(no_scales.status().message().find("config int8 needs scales"), std::string::npos);
  auto typo = ParseCompareSpec(
      "kind: compare\nmodels: [a.onnx]\nconfigs: [fp32]\ndata: {evaluation: {dataset: d.yaml}}\n"
      "hardwre: all\n",
      "/j", "c.yaml");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("unknown key 'hardwre'"), std::string::npos);
  EXPECT_FALSE(ParseCompareSpec("kind: compare\nmodels: []\n", "/j", "c.yaml").ok());
}

// Issue 20: every job kind refuses a repeated key with its path; a compare
// job is read by its own parser.
TEST(CompareJob, RefusesARepeatedKeyWithItsPath) {
  auto twice = ParseCompareSpec(
      "kind: compare\nmodels: [a.onnx]\nconfigs: [fp32]\n"
      "data: {evaluation: {dataset: d.yaml, count: 10, count: 20}}\n",
      "/j", "c.yaml");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().message().rfind("c.yaml: duplicate key 'data.evaluation.count'", 0), 0u)
      << twice.status().message();
}

// The chosen config of the model's latest search (met answers only) becomes
// a config file of its evaluate sub-job; the sub-job is a valid job file.
TEST(CompareJob, ExpandsToEvaluateJobsWithTheSearchsChosenConfig) {
  const std::string dir = ::testing::TempDir() + "/mixq_compare_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string db_path = dir + "/mixq.db";
  const std::string model = kModels + "/fm_resnet.onnx";
  const std::string sha = Sha256File(model).value();
  {
    auto store = Store::Open(db_path).value();
    ASSERT_TRUE(store->UpsertBlob(sha, model, 1).ok());
    const int64_t model_id = store->UpsertModel(sha, model).value();
    const int64_t old_config = store->UpsertConfig("h1", "old", "{\"old\":1}").value();
    const int64_t config = store->UpsertConfig("h2", "x", "{\"layers\":{}}").value();
    const int64_t unmet = store->UpsertConfig("h3", "y", "{\"unmet\":1}").value();
    ASSERT_TRUE(store->db()
                    .Exec("INSERT INTO jobs(id, name, kind, spec_yaml, model_id) VALUES (7, 's1', "
                          "'search', '', " +
                          std::to_string(model_id) +
                          "), (8, 's2', 'search', "
                          "'', " +
                          std::to_string(model_id) + ")")
                    .ok());
    const int64_t old_job = 7, job = 8;
    const Status inserted = store->db().Exec(
        "INSERT INTO search_results(job_id, hardware_class, budget, strategy, "
        "met, verdict, config_id) VALUES (" +
        std::to_string(old_job) + ", 'cpu / 2 cores / avx2', 1.0, 's', 1, 'v', " +
        std::to_string(old_config) + "), (" + std::to_string(job) +
        ", 'cpu / 2 cores / avx2', 0.5, 's', 1, 'v', " + std::to_string(config) + "), (" +
        std::to_string(job) +
        ", 'cpu / 2 cores / avx2', 0.1, 's', 0, "
        "'v', " +
        std::to_string(unmet) + ")");
    ASSERT_TRUE(inserted.ok()) << inserted.message();
  }
  CompareSpec spec =
      ParseCompareSpec(
          "name: ref\nkind: compare\nmodels: [fm_resnet.onnx, {model: fm_mobilenet.onnx, configs: "
          "[mb.json]}]\n"
          "configs: [fp32, chosen]\nhardware: [avx2, sse41]\n"
          "data: {evaluation: {dataset: ../configs/datasets/fashion_mnist_test.yaml,"
          " count: 400, shard_size: 200}}\nbenchmark: {batches: [1], seconds: 0.5}\n",
          kModels, "ref.yaml")
          .value();
  std::ostringstream log;
  // The spec names no calibration dataset: nothing is calibrated.
  const CompareCalibrator no_calibration = [](const CompareSpec&, const std::string& model,
                                              const std::string&) {
    return Internal("unexpected calibration of " + model);
  };
  std::vector<SubJob> jobs = ExpandCompareJob(spec, db_path, dir, no_calibration, log).value();
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_NE(log.str().find("fm_mobilenet: no search result"), std::string::npos) << log.str();
  JobSpec resnet = ParseJobSpec(jobs[0].yaml, "", "sub").value();
  EXPECT_EQ(resnet.kind, "evaluate");
  EXPECT_EQ(resnet.name, "ref/fm_resnet");
  EXPECT_EQ(resnet.model, model);
  EXPECT_EQ(resnet.count, 400);
  EXPECT_EQ(resnet.shard_size, 200);
  EXPECT_EQ(resnet.bench_batches, (std::vector<int64_t>{1}));
  EXPECT_EQ(resnet.hardware, (std::vector<std::string>{"avx2", "sse41"}));
  ASSERT_EQ(resnet.configs.size(), 2u);
  EXPECT_EQ(resnet.configs[0], "fp32");
  EXPECT_EQ(std::filesystem::path(resnet.configs[1]).filename(), "chosen-avx2-0.50.json");
  std::ifstream chosen(resnet.configs[1]);
  std::stringstream text;
  text << chosen.rdbuf();
  EXPECT_EQ(text.str(), "{\"layers\":{}}");
  JobSpec mobilenet = ParseJobSpec(jobs[1].yaml, "", "sub").value();
  EXPECT_EQ(mobilenet.configs, (std::vector<std::string>{"fp32", kModels + "/mb.json"}));
  std::filesystem::remove_all(dir);
}

TEST(CompareJob, InputShapeOfTheJobOrOfAModelGoesIntoItsSubJob) {
  const std::string yaml = R"(
kind: compare
models: [a.onnx, {model: b.onnx, input_shape: {images: 1x3x32x32}}]
data: {evaluation: {dataset: d.yaml}}
configs: [fp32]
input_shape: [1, 3, 64, 64]
)";
  StatusOr<CompareSpec> spec = ParseCompareSpec(yaml, "/j", "c.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(ModelInputShapes(*spec, "/j/a.onnx"), (InputShapes{{"", {1, 3, 64, 64}}}));
  EXPECT_EQ(ModelInputShapes(*spec, "/j/b.onnx"), (InputShapes{{"images", {1, 3, 32, 32}}}));
  std::ostringstream log;
  const CompareCalibrator none = [](const CompareSpec&, const std::string& model,
                                    const std::string&) {
    return Internal("unexpected calibration of " + model);
  };
  StatusOr<std::vector<SubJob>> jobs = ExpandCompareJob(*spec, "", "/tmp", none, log);
  ASSERT_TRUE(jobs.ok()) << jobs.status().message();
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ(ParseJobSpec((*jobs)[0].yaml, "", "sub").value().input_shapes,
            ModelInputShapes(*spec, "/j/a.onnx"));
  EXPECT_EQ(ParseJobSpec((*jobs)[1].yaml, "", "sub").value().input_shapes,
            ModelInputShapes(*spec, "/j/b.onnx"));

  auto bad = ParseCompareSpec(
      "kind: compare\nmodels: [a.onnx]\ndata: {evaluation: {dataset: d.yaml}}\n"
      "configs: [fp32]\ninput_shape: [1, 0]\n",
      "/j", "c.yaml");
  EXPECT_EQ(bad.status().message(), "c.yaml: 'input_shape[1]' must be >= 1");
}

}  // namespace
}  // namespace mixq
