// 7-bit weights against u8 x s8 saturation. CPUs without VNNI sum pairs of
// u8 x s8 products in saturating s16 (vpmaddubsw): activations near 255 times
// weights near 127 overflow, and 7-bit weights ([-63, 63]) keep the sums
// exact. With VNNI nothing saturates and 8-bit weights are the more precise.
// This file runs twice: in worker_tests (the machine's ISA) and in
// avx2_tests (oneDNN capped at AVX2); it asserts what the effective
// ISA implies.
#include <gtest/gtest.h>

#include "engine/runtime/executor.h"
#include "tests/engine/graph_builder.h"
#include "tests/engine/int8_test_util.h"

namespace mixq {
namespace {

using testing::GraphBuilder;
using testing::HasVnni;
using testing::RelativeError;
using testing::RunGraph;

// A 1x1 convolution over 256 channels of u8 inputs near 255 with positive
// weights near the channel maximum: every pair sum is near 2 * 255 * 127.
struct Saturating {
  Graph graph;
  Tensor x;
};

Saturating SaturatingConv() {
  GraphBuilder b;
  Saturating s;
  b.Input("x", {1, 256, 4, 4});
  s.x = b.Random({1, 256, 4, 4}, 0.9f, 1.0f);
  b.Const("w", b.Random({8, 256, 1, 1}, 0.45f, 0.5f));
  b.Op(OpType::kConv, "conv", {"x", "w"}, {1, 8, 4, 4});
  b.Output("conv");
  s.graph = b.graph();
  return s;
}

double Int8Error(const Saturating& s, SevenBitWeights mode) {
  std::vector<Tensor> fp32 = RunGraph(s.graph, {&s.x});
  ExecutorOptions options;
  options.quant.layers["conv"] = Precision::kInt8;
  QuantParams x_params;
  x_params.is_unsigned = true;
  x_params.dequant_scale = 1.0f / 255.f;
  x_params.threshold = 1.0f;
  options.quant.activations["x"] = x_params;
  options.quant.seven_bit = mode;
  std::vector<Tensor> int8 = RunGraph(s.graph, {&s.x}, options);
  if (int8.empty() || fp32.empty()) return 1e9;
  return RelativeError(int8[0], fp32[0]);
}

TEST(SevenBitWeights, HelpExactlyWhenTheIsaSaturates) {
  Saturating s = SaturatingConv();
  const double eight = Int8Error(s, SevenBitWeights::kNone);
  const double seven = Int8Error(s, SevenBitWeights::kFirstLayer);
  const std::string isa = EffectiveIsaName();
  std::printf("effective ISA %s: relative error 8-bit %.5f, 7-bit %.5f\n", isa.c_str(), eight,
              seven);
  EXPECT_LT(seven, 0.01);
  if (HasVnni(isa)) {
    EXPECT_LT(eight, 0.01);
    EXPECT_LE(eight, seven);
  } else {
    EXPECT_GT(eight, 0.05);  // saturated
    EXPECT_LT(seven, eight);
  }
}

}  // namespace
}  // namespace mixq
