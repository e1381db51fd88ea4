// `mixq calibrate` and the --config / --calibration options of eval and
// bench, through the real binary: files that load, and one-line refusals
// (exit 1) for configs and calibrations that do not belong to the model.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/sha256.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/passes/specialize.h"
#include "engine/quant/calibration_file.h"
#include "engine/runtime/executor.h"
#include "tests/cli/mixq_runner.h"
#include "tests/common/shipped_files.h"

namespace mixq {
namespace {

using test::CountLines;
using test::MixqResult;
using test::RunMixq;
using test::StderrTo;

// ctest runs every test in its own process, in parallel: files are per process.
std::string Pid() { return std::to_string(getpid()); }

class CalibrateCli : public testing::Test {
 protected:
  // One calibration per model for the whole suite: calibrating is the slow part.
  static void SetUpTestSuite() {
    resnet_calibration_ = testing::TempDir() + "calibrate_cli_resnet_" + Pid() + ".json";
    mobilenet_calibration_ = testing::TempDir() + "calibrate_cli_mobilenet_" + Pid() + ".json";
    resnet_summary_ = RunMixq(
        "calibrate --json --quiet --threads 2 --method percentile --max-isa sse41 "
        "--samples 60 --begin 1000 --batch 25 --model " +
            test::kFmResnet + " --dataset " + test::kFashionMnistTrain + " -o " +
            resnet_calibration_,
        StderrTo::kNull);
    mobilenet_summary_ =
        RunMixq("calibrate --quiet --threads 2 --samples 20 --model " + test::kFmMobilenet +
                " --dataset " + test::kFashionMnistTrain + " -o " + mobilenet_calibration_);
  }
  static void TearDownTestSuite() {
    std::remove(resnet_calibration_.c_str());
    std::remove(mobilenet_calibration_.c_str());
  }
  void TearDown() override {
    for (const std::string& path : files_) std::remove(path.c_str());
  }
  std::string Write(const nlohmann::json& doc) {
    files_.push_back(testing::TempDir() + "calibrate_cli_config_" + Pid() + "_" +
                     std::to_string(files_.size()) + ".json");
    std::ofstream(files_.back()) << doc.dump();
    return files_.back();
  }
  static nlohmann::json AllInt8Config() {
    StatusOr<Graph> graph = ImportOnnx(test::kFmResnet);
    EXPECT_TRUE(graph.ok());
    nlohmann::json layers = nlohmann::json::object();
    if (graph.ok()) {
      for (const std::string& name : graph->QuantizableLayers()) layers[name] = "int8";
    }
    return {{"layers", layers}};
  }
  // Runs `args` and expects exit 1 with one line that contains `needle`.
  static void ExpectRefused(const std::string& args, const std::string& needle) {
    MixqResult r = RunMixq(args);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_EQ(CountLines(r.out), 1) << r.out;
    EXPECT_NE(r.out.find(needle), std::string::npos) << r.out;
  }

  static std::string resnet_calibration_, mobilenet_calibration_;
  static MixqResult resnet_summary_, mobilenet_summary_;
  std::vector<std::string> files_;
};

std::string CalibrateCli::resnet_calibration_;
std::string CalibrateCli::mobilenet_calibration_;
MixqResult CalibrateCli::resnet_summary_;
MixqResult CalibrateCli::mobilenet_summary_;

TEST_F(CalibrateCli, WritesALoadableFileCoveringTheCalibrationPoints) {
  ASSERT_EQ(resnet_summary_.exit_code, 0) << resnet_summary_.out;
  nlohmann::json summary = nlohmann::json::parse(resnet_summary_.out);
  StatusOr<Calibration> c = LoadCalibration(resnet_calibration_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  StatusOr<std::string> sha = Sha256File(test::kFmResnet);
  ASSERT_TRUE(sha.ok());
  EXPECT_EQ(c->model_sha256, *sha);
  EXPECT_EQ(c->scale.method, ScaleMethod::kPercentile);
  EXPECT_EQ(c->provenance["samples"], 60);
  EXPECT_EQ(c->provenance["begin"], 1000);
  EXPECT_EQ(c->provenance["method"], "percentile");

  StatusOr<Graph> graph = ImportOnnx(test::kFmResnet);
  ASSERT_TRUE(graph.ok());
  StatusOr<Graph> specialised = SpecializeForBatch(*graph, 1);
  ASSERT_TRUE(specialised.ok());
  const std::vector<std::string> points = CalibrationPoints(*specialised, ExecutorOptions());
  for (const std::string& name : points) {
    ASSERT_EQ(c->activations.count(name), 1u) << name;
    EXPECT_GT(c->activations.at(name).dequant_scale, 0.0f) << name;
    EXPECT_EQ(c->stats.count(name), 1u) << name;
  }
  EXPECT_EQ(summary["tensors"], points.size());
  int u8 = 0;
  for (const auto& [name, params] : c->activations) u8 += params.is_unsigned;
  EXPECT_EQ(summary["u8"], u8);
  EXPECT_EQ(summary["s8"], static_cast<int>(points.size()) - u8);
  // --max-isa took effect before the first primitive (every x86-64 CPU here has SSE4.1).
  EXPECT_EQ(summary["isa"], "sse41");
}

TEST_F(CalibrateCli, TableSummaryNamesTheCounts) {
  ASSERT_EQ(mobilenet_summary_.exit_code, 0) << mobilenet_summary_.out;
  EXPECT_NE(mobilenet_summary_.out.find("tensors"), std::string::npos);
  EXPECT_NE(mobilenet_summary_.out.find(" u8, "), std::string::npos);
  EXPECT_NE(mobilenet_summary_.out.find("method      minmax"), std::string::npos);
}

TEST_F(CalibrateCli, UnknownMethodIsRefused) {
  ExpectRefused("calibrate --quiet --method entropy --model " + test::kFmResnet + " --dataset " +
                    test::kFashionMnistTrain + " -o " + testing::TempDir() + "never.json",
                "entropy");
}

TEST_F(CalibrateCli, EvalRunsTheConfigAndReportsIt) {
  ASSERT_EQ(resnet_summary_.exit_code, 0);
  MixqResult r = RunMixq(
      "eval --quiet --json --threads 2 --count 200 --config int8 "
      "--calibration " +
          resnet_calibration_ + " --model " + test::kFmResnet + " --dataset " +
          test::kFashionMnistTest,
      StderrTo::kNull);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["precision"], "int8");
  EXPECT_EQ(j["int8_layers"], j["layers"]);
  EXPECT_GT(j["layers"].get<int>(), 0);
  EXPECT_EQ(j["calibration"], resnet_calibration_);
  EXPECT_EQ(j["calibration_synthetic"], false);
  EXPECT_EQ(j["config_hash"].get<std::string>().size(), 64u);
  EXPECT_FALSE(j["isa"].get<std::string>().empty());
  EXPECT_EQ(j["samples"], 200);
}

TEST_F(CalibrateCli, MixedConfigFileIsCountedInTheTable) {
  ASSERT_EQ(resnet_summary_.exit_code, 0);
  nlohmann::json config = AllInt8Config();
  const int layers = static_cast<int>(config["layers"].size());
  config["layers"].begin().value() = "fp32";
  MixqResult r = RunMixq("eval --quiet --threads 2 --count 100 --config " + Write(config) +
                         " --calibration " + resnet_calibration_ + " --model " + test::kFmResnet +
                         " --dataset " + test::kFashionMnistTest);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("mixed (" + std::to_string(layers - 1) + "/" + std::to_string(layers) +
                       " layers int8"),
            std::string::npos)
      << r.out;
}

TEST_F(CalibrateCli, ConfigWithUnknownLayerIsRefused) {
  nlohmann::json config = AllInt8Config();
  config["layers"]["conv_typo"] = "int8";
  ExpectRefused("eval --quiet --config " + Write(config) + " --calibration " + resnet_calibration_ +
                    " --model " + test::kFmResnet + " --dataset " + test::kFashionMnistTest,
                "conv_typo");
}

TEST_F(CalibrateCli, ConfigWithMissingLayerIsRefused) {
  nlohmann::json config = AllInt8Config();
  const std::string dropped = config["layers"].begin().key();
  config["layers"].erase(dropped);
  ExpectRefused("bench --config " + Write(config) + " --model " + test::kFmResnet, dropped);
}

TEST_F(CalibrateCli, ConfigForAnotherModelIsRefused) {
  nlohmann::json config = AllInt8Config();
  StatusOr<std::string> other = Sha256File(test::kFmMobilenet);
  ASSERT_TRUE(other.ok());
  config["model_sha256"] = *other;
  ExpectRefused("bench --config " + Write(config) + " --model " + test::kFmResnet, "model_sha256");
}

TEST_F(CalibrateCli, CalibrationOfAnotherModelIsRefused) {
  ASSERT_EQ(mobilenet_summary_.exit_code, 0) << mobilenet_summary_.out;
  ExpectRefused("eval --quiet --config int8 --calibration " + mobilenet_calibration_ + " --model " +
                    test::kFmResnet + " --dataset " + test::kFashionMnistTest,
                "another model");
  ExpectRefused(
      "bench --config int8 --calibration " + mobilenet_calibration_ + " --model " + test::kFmResnet,
      "another model");
}

TEST_F(CalibrateCli, EvalOfInt8WithoutCalibrationIsRefused) {
  ExpectRefused("eval --quiet --config int8 --model " + test::kFmResnet + " --dataset " +
                    test::kFashionMnistTest,
                "--calibration");
}

TEST_F(CalibrateCli, BadSevenBitModeIsRefused) {
  ExpectRefused("bench --config fp32 --seven-bit half --model " + test::kFmResnet, "half");
}

TEST_F(CalibrateCli, BenchInt8WithoutCalibrationSaysSynthetic) {
  const std::string args =
      "bench --threads 2 --min-seconds 0 --min-iterations 2 --warmup 1 --batch 2 --config int8 "
      "--model " +
      test::kFmResnet;
  MixqResult json = RunMixq(args + " --json", StderrTo::kNull);
  ASSERT_EQ(json.exit_code, 0) << json.out;
  nlohmann::json rows = nlohmann::json::parse(json.out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["calibration_synthetic"], true);
  EXPECT_EQ(rows[0]["calibration"], "synthetic");
  EXPECT_EQ(rows[0]["precision"], "int8");
  MixqResult table = RunMixq(args);
  ASSERT_EQ(table.exit_code, 0) << table.out;
  EXPECT_NE(table.out.find("SYNTHETIC"), std::string::npos) << table.out;
  // The default is FP32 and needs no calibration at all.
  MixqResult fp32 = RunMixq(
      "bench --json --threads 2 --min-seconds 0 --min-iterations 2 "
      "--warmup 1 --batch 2 --model " +
          test::kFmResnet,
      StderrTo::kNull);
  ASSERT_EQ(fp32.exit_code, 0) << fp32.out;
  nlohmann::json fp32_rows = nlohmann::json::parse(fp32.out);
  EXPECT_EQ(fp32_rows[0]["precision"], "fp32");
  EXPECT_EQ(fp32_rows[0]["calibration"], "");
}

}  // namespace
}  // namespace mixq
