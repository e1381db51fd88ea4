// `mixq profile` through the real binary: a row with positive times for every
// quantizable layer of both reference models, and consistent totals.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "engine/onnx/onnx_importer.h"
#include "tests/cli/mixq_runner.h"

namespace mixq {
namespace {

using test::MixqResult;
using test::RunMixq;
using test::StderrTo;

const std::string kSrc = MIXQ_SOURCE_DIR;

void ExpectEveryLayerProfiled(const std::string& name, const std::string& config_args,
                              const std::string& precision, const std::string& isa = "") {
  const std::string model = kSrc + "/models/" + name + ".onnx";
  MixqResult r = RunMixq("profile --json --threads 2 --runs 3 --warmup 1 --batch 2 --model " +
                             model + " " + config_args,
                         StderrTo::kNull);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out);
  StatusOr<Graph> graph = ImportOnnx(model);
  ASSERT_TRUE(graph.ok());
  std::set<std::string> seen;
  for (const nlohmann::json& row : j["layers"]) {
    if (!row["quantizable"].get<bool>()) continue;
    const std::string layer = row["layer"];
    seen.insert(layer);
    EXPECT_GT(row["fp32_ms"].get<double>(), 0.0) << layer;
    EXPECT_GT(row["config_ms"].get<double>(), 0.0) << layer;
    EXPECT_GE(row["reorder_ms"].get<double>(), 0.0) << layer;
    EXPECT_EQ(row["precision"], precision) << layer;
  }
  for (const std::string& layer : graph->QuantizableLayers()) {
    EXPECT_EQ(seen.count(layer), 1u) << layer;
  }
  EXPECT_EQ(seen.size(), graph->QuantizableLayers().size());
  for (const char* model_key : {"fp32", "config"}) {
    const nlohmann::json& totals = j[model_key];
    EXPECT_GT(totals["sum_ms"].get<double>(), 0.0);
    EXPECT_GT(totals["whole_ms"].get<double>(), 0.0);
    // The rows add up to the reported sum.
    double rows = 0.0;
    for (const nlohmann::json& row : j["layers"]) {
      rows += model_key == std::string("fp32")
                  ? row["fp32_ms"].get<double>()
                  : row["config_ms"].get<double>() + row["reorder_ms"].get<double>();
    }
    EXPECT_NEAR(rows, totals["sum_ms"].get<double>(), 1e-9 + 1e-9 * rows);
  }
  EXPECT_EQ(j["quant"]["precision"], precision);
  if (!isa.empty()) {
    EXPECT_EQ(j["isa"], isa);
  }
}

TEST(ProfileCli, EveryLayerOfFmResnetHasPositiveTimes) {
  ExpectEveryLayerProfiled("fm_resnet", "", "int8");
}

TEST(ProfileCli, EveryLayerOfFmMobilenetHasPositiveTimes) {
  ExpectEveryLayerProfiled("fm_mobilenet", "--config fp32 --max-isa avx", "fp32", "avx");
}

TEST(ProfileCli, TableNamesTotalsAndSyntheticCalibration) {
  MixqResult r =
      RunMixq("profile --threads 2 --runs 2 --warmup 0 --model " + kSrc + "/models/fm_resnet.onnx");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("sum / whole"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SYNTHETIC"), std::string::npos) << r.out;
}

// A usage error (exit 2) as it is parsed, like every numeric option.
TEST(ProfileCli, ZeroRunsIsRefused) {
  MixqResult r = RunMixq("profile --runs 0 --model " + kSrc + "/models/fm_resnet.onnx");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_EQ(r.out, "mixq profile: --runs: '0' is not an integer in 1..10000000\n");
}

}  // namespace
}  // namespace mixq
