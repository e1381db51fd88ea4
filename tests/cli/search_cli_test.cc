// `mixq search` end to end on a reference model, in one process: the answer
// is within budget as measured, the outputs are written and usable (the
// config parses for the model, the QDQ export re-imports with the chosen
// precisions), and bad arguments are refused with one line.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/precision_config.h"
#include "common/sha256.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/onnx/qdq_import.h"
#include "tests/cli/mixq_runner.h"
#include "tests/common/shipped_files.h"

namespace mixq {
namespace {

using test::CountLines;
using test::MixqResult;
using test::RunMixq;
using test::StderrTo;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(SearchCli, FindsAConfigWithinBudgetAndWritesItsOutputs) {
  const std::string out = ::testing::TempDir() + "/search_cli_" + std::to_string(getpid());
  std::filesystem::remove_all(out);
  MixqResult r = RunMixq("search --json --threads 2 --model " + test::kFmMobilenet + " --dataset " +
                             test::kFashionMnistTest + " --count 500 --calibration-dataset " +
                             test::kFashionMnistTrain +
                             " --calibration-samples 100 --budget 0.6 --batch 4 "
                             "--ranking-samples 100 -o " +
                             out,
                         StderrTo::kNull);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["results"].size(), 1u);
  const nlohmann::json& res = j["results"][0];
  EXPECT_TRUE(res["met"].get<bool>());
  EXPECT_LE(res["chosen_drop"].get<double>(), 0.6);
  EXPECT_GE(res["full_evaluations"].get<int>(), 2);
  EXPECT_GT(res["speedup"].get<double>(), 0.0);
  EXPECT_EQ(j["strategy"], "speed_aware");

  // The chosen config file is a valid config of this model.
  StatusOr<Graph> graph = ImportOnnx(test::kFmMobilenet);
  ASSERT_TRUE(graph.ok());
  StatusOr<std::string> sha = Sha256File(test::kFmMobilenet);
  ASSERT_TRUE(sha.ok());
  std::string config_path;
  for (const auto& entry : std::filesystem::directory_iterator(out)) {
    if (entry.path().filename().string().rfind("config-", 0) == 0) config_path = entry.path();
  }
  ASSERT_FALSE(config_path.empty());
  StatusOr<PrecisionConfig> config =
      ParsePrecisionConfig(ReadAll(config_path), graph->QuantizableLayers(), *sha);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  // The export carries exactly that config.
  StatusOr<QdqModel> qdq = ImportOnnxWithQdq(out + "/model.qdq.onnx");
  ASSERT_TRUE(qdq.ok()) << qdq.status().ToString();
  for (const auto& [layer, precision] : config->layers) {
    auto it = qdq->spec.layers.find(layer);
    const Precision exported = it == qdq->spec.layers.end() ? Precision::kFp32 : it->second;
    EXPECT_EQ(exported, precision) << layer;
  }
  EXPECT_NE(ReadAll(out + "/summary.txt").find("chosen"), std::string::npos);
  std::filesystem::remove_all(out);
}

// --layers: exhaustive enumerates only the named layers (the option
// repeated), the others INT8: 2^2 configs and FP32, not fm_resnet's 2^10.
TEST(SearchCli, ExhaustiveEnumeratesTheLayersNamed) {
  MixqResult r = RunMixq("search --json --threads 1 --model " + test::kFmResnet + " --dataset " +
                             test::kFashionMnistTest + " --count 100 --calibration-dataset " +
                             test::kFashionMnistTrain +
                             " --calibration-samples 50 --ranking-samples 50 --budget 100 --batch 4"
                             " --confirm-rounds 0 --strategy exhaustive --layers /stem/stem.0/Conv"
                             " --layers /fc/Gemm",
                         StderrTo::kNull);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json res = nlohmann::json::parse(r.out)["results"][0];
  EXPECT_EQ(res["full_evaluations"].get<int>(), 4 + 1);
  // The answer keeps at most those two in FP32.
  const std::set<std::string> possible = {"-", "/stem/stem.0/Conv", "/fc/Gemm",
                                          "/stem/stem.0/Conv, /fc/Gemm"};
  EXPECT_EQ(possible.count(res["fp32_layers"].get<std::string>()), 1u) << res["fp32_layers"];
}

TEST(SearchCli, BadArgumentsAreRefusedWithOneLine) {
  for (const std::string& args : std::vector<std::string>{
           "--budget -1 --calibration-dataset " + test::kFashionMnistTrain,
           std::string("--budget 0.3"),  // neither calibration option
           "--budget 0.3 --calibration-dataset " + test::kFashionMnistTrain + " --strategy random",
           "--budget 0.3 --calibration-dataset " + test::kFashionMnistTrain + " --metric top3",
           "--budget 0.3 --calibration-dataset " + test::kFashionMnistTrain + " --min-gain 1.5",
           "--budget 0.3 --calibration-dataset " + test::kFashionMnistTrain +
               " --confirm-rounds 20",
           "--budget 0.3 --calibration-dataset " + test::kFashionMnistTrain +
               " --strategy exhaustive --layers features.0,no-such-layer",
           "--budget 0.3 --calibration-dataset " + test::kFashionMnistTrain +
               " --strategy speed_aware --layers features.0"}) {
    MixqResult r = RunMixq("search --model " + test::kFmMobilenet + " --dataset " +
                           test::kFashionMnistTest + " --count 100 " + args);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_EQ(CountLines(r.out), 1) << args << "\n" << r.out;
  }
}

}  // namespace
}  // namespace mixq
