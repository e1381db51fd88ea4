// `mixq export` end to end: the QDQ model it writes imports again with the
// same INT8 layers, and evaluates to the same top-1 counts as the original
// model run with the same QuantSpec and the same (dequantised) weights.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/sha256.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/onnx/qdq_import.h"
#include "engine/quant/weight_scales.h"
#include "engine/runtime/evaluator.h"
#include "tests/cli/mixq_runner.h"
#include "tests/common/data_files.h"
#include "tests/engine/minmax_calibration.h"

namespace mixq {
namespace {

const std::string kSrc = MIXQ_SOURCE_DIR;
const std::string kModel = kSrc + "/models/fm_resnet.onnx";
const std::string kTestSet = kSrc + "/configs/datasets/fashion_mnist_test.yaml";

using test::RunMixq;

// The original graph with each INT8 layer's weights and bias replaced by the
// values a QDQ model stores for them: q * s_w[c] and round(b / s_b[c]) * s_b[c]
// with s_b = s_x * s_w. Computed here from the definitions, not by the export.
Graph FakeQuantised(Graph graph, const QuantSpec& spec) {
  for (const Node& node : graph.nodes) {
    auto it = spec.layers.find(node.name);
    if (it == spec.layers.end() || it->second != Precision::kInt8) continue;
    const int axis = node.op == OpType::kConv                                  ? 0
                     : node.op == OpType::kGemm && node.attrs.Int("transB", 0) ? 0
                                                                               : 1;
    Tensor& w = graph.constants.at(node.inputs[1]);
    auto scales = PerChannelWeightScales(w, {axis, false});
    EXPECT_TRUE(scales.ok());
    auto q = QuantizeWeights(w, *scales, axis);
    EXPECT_TRUE(q.ok());
    const int64_t channels = w.shape()[static_cast<size_t>(axis)];
    const int64_t inner = axis == 0 ? w.size() / channels : 1;
    for (int64_t i = 0; i < w.size(); ++i) {
      const float s = scales->dequant_scales[static_cast<size_t>((i / inner) % channels)];
      w.data<float>()[i] = static_cast<float>(q->data<int8_t>()[i]) * s;
    }
    if (node.inputs.size() < 3 || node.inputs[2].empty()) continue;
    Tensor& b = graph.constants.at(node.inputs[2]);
    const float sx = spec.activations.at(node.inputs[0]).dequant_scale;
    for (int64_t c = 0; c < b.size(); ++c) {
      const float sb = sx * scales->dequant_scales[static_cast<size_t>(c)];
      const double qb = std::nearbyint(static_cast<double>(b.data<float>()[c]) / sb);
      b.data<float>()[c] = static_cast<float>(static_cast<int32_t>(qb)) * sb;
    }
  }
  return graph;
}

class MixqExport : public ::testing::Test {
 protected:
  void SetUp() override {
    auto graph = ImportOnnx(kModel);
    ASSERT_TRUE(graph.ok()) << graph.status().ToString();
    graph_ = std::move(graph).value();
    auto spec = LoadDatasetSpec(kTestSet);
    ASSERT_TRUE(spec.ok()) << spec.status().ToString();
    auto dataset = Dataset::Open(*spec);
    ASSERT_TRUE(dataset.ok()) << dataset.status().ToString();
    dataset_ = std::move(dataset).value();
    // Calibrated on test images 5000..5199, evaluated on 0..999.
    calibration_ = test::MinMaxCalibration(graph_, *dataset_, 5000, 200);
    auto sha = Sha256File(kModel);
    ASSERT_TRUE(sha.ok());
    calibration_.model_sha256 = *sha;
    // Kept in the build folder: scripts/bench_peers --qdq uses it (this
    // branch has no `mixq calibrate` yet).
    std::filesystem::create_directories(std::string(MIXQ_BINARY_DIR) + "/qdq");
    calibration_path_ = std::string(MIXQ_BINARY_DIR) + "/qdq/fm_resnet.minmax.json";
    ASSERT_TRUE(SaveCalibration(calibration_, calibration_path_).ok());
  }

  EvalCounts Eval(const Graph& graph, const QuantSpec& spec) {
    EvalOptions options;
    options.count = 1000;
    options.executor.quant = spec;
    auto counts = Evaluate(graph, *dataset_, options);
    EXPECT_TRUE(counts.ok()) << counts.status().ToString();
    return counts.ok() ? *counts : EvalCounts{};
  }

  test::TempDir dir_;
  Graph graph_;
  std::unique_ptr<Dataset> dataset_;
  Calibration calibration_;
  std::string calibration_path_;
};

TEST_F(MixqExport, ReimportsWithTheSameInt8LayersAndTop1) {
  // Every other layer INT8, the first one included.
  nlohmann::json layers = nlohmann::json::object();
  QuantSpec spec;
  int i = 0;
  for (const std::string& name : graph_.QuantizableLayers()) {
    const Precision p = i++ % 2 == 0 ? Precision::kInt8 : Precision::kFp32;
    layers[name] = PrecisionName(p);
    spec.layers[name] = p;
  }
  spec.activations = calibration_.activations;
  const std::string config_path = dir_.Path("config.json");
  std::ofstream(config_path) << nlohmann::json{{"layers", layers}}.dump();
  const std::string out = dir_.Path("fm_resnet.qdq.onnx");

  test::MixqResult r = RunMixq("export --model " + kModel + " --config " + config_path +
                               " --calibration " + calibration_path_ + " -o " + out);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("5 of 10 layers int8"), std::string::npos) << r.out;

  auto model = ImportOnnxWithQdq(out);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ(model->spec.layers, spec.layers);

  const EvalCounts original = Eval(graph_, spec);
  const EvalCounts fake_quantised = Eval(FakeQuantised(graph_, spec), spec);
  const EvalCounts exported = Eval(model->graph, model->spec);
  ASSERT_EQ(exported.samples, 1000);
  // Identical weights and spec: identical counts, FP32 or INT8 execution.
  EXPECT_EQ(exported.correct1, fake_quantised.correct1);
  EXPECT_EQ(exported.correct5, fake_quantised.correct5);
  // Against the INT8 run of the original model it came from: the dequantised
  // weights requantise to the same int8 values and the bias is rounded to
  // the same int32, so the counts are identical.
  EXPECT_EQ(exported.correct1, original.correct1);
  EXPECT_EQ(exported.correct5, original.correct5);
  std::printf("top-1 on 1000 images: original %lld, exported %lld, fake-quantised %lld\n",
              static_cast<long long>(original.correct1), static_cast<long long>(exported.correct1),
              static_cast<long long>(fake_quantised.correct1));

  // `mixq eval` runs the export with its embedded spec.
  r = RunMixq("eval --quiet --json --count 1000 --model " + out + " --dataset " + kTestSet);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report["correct1"].get<int64_t>(), exported.correct1);
  EXPECT_EQ(report["precision"], "mixed");
  EXPECT_EQ(report["int8_layers"], 5);
}

TEST_F(MixqExport, Int8ShorthandAndBenchOnTheExport) {
  const std::string out = dir_.Path("all.qdq.onnx");
  test::MixqResult r = RunMixq("export --model " + kModel + " --config int8 --calibration " +
                               calibration_path_ + " -o " + out + " --seven-bit first");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto model = ImportOnnxWithQdq(out);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ(model->spec.seven_bit, SevenBitWeights::kFirstLayer);
  for (const auto& [name, precision] : model->spec.layers) {
    EXPECT_EQ(precision, Precision::kInt8) << name;
  }
  r = RunMixq("bench --json --batch 2 --warmup 0 --min-iterations 1 --min-seconds 0 --model " +
              out);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out)[0]["precision"], "int8");
}

TEST_F(MixqExport, RefusesACalibrationOfAnotherModel) {
  Calibration other = calibration_;
  other.model_sha256 = std::string(64, 'a');
  const std::string path = dir_.Path("other.json");
  ASSERT_TRUE(SaveCalibration(other, path).ok());
  test::MixqResult r = RunMixq("export --model " + kModel + " --config int8 --calibration " + path +
                               " -o " + dir_.Path("x.onnx"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("another model"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
}

}  // namespace
}  // namespace mixq
