// The speed model's predictions on a small chain whose costs are known by
// hand, and the config predicted fastest.
#include "search/search_models.h"

#include <gtest/gtest.h>

#include <string>

#include "search/candidates.h"

namespace mixq {
namespace {

// a -> b -> c, a reads the graph input. b is slower in INT8 (depthwise on
// AVX2): 2.0 ms in FP32, 3.0 in INT8.
SearchSpace Chain() {
  SearchSpace space;
  for (int i = 0; i < 3; ++i) {
    SearchLayer layer;
    layer.name = std::string(1, static_cast<char>('a' + i));
    if (i == 0) layer.reads_graph_input = true;
    if (i > 0) layer.producers.push_back(i - 1);
    space.layers.push_back(layer);
  }
  return space;
}

ProfileData ChainProfile(double reorder_ms) {
  ProfileData profile;
  profile.layers = {{4.0, 1.0, reorder_ms, reorder_ms},
                    {2.0, 3.0, reorder_ms, reorder_ms},
                    {4.0, 1.0, reorder_ms, reorder_ms}};
  profile.other_ms = 0.5;
  return profile;
}

TEST(SpeedModel, AddsAReorderAtEachPrecisionBoundary) {
  const SearchSpace space = Chain();
  SpeedModel speed(space, ChainProfile(0.25));
  // All FP32: no boundary.
  EXPECT_DOUBLE_EQ(speed.PredictMs({false, false, false}), 0.5 + 10.0);
  // All INT8: the graph input is quantized once.
  EXPECT_DOUBLE_EQ(speed.PredictMs({true, true, true}), 0.5 + 5.0 + 0.25);
  // INT8, FP32, INT8: input, b's dequantize, c's quantize.
  EXPECT_DOUBLE_EQ(speed.PredictMs({true, false, true}), 0.5 + 4.0 + 0.75);
  EXPECT_DOUBLE_EQ(speed.FlipDeltaMs({true, true, true}, 1),
                   speed.PredictMs({true, false, true}) - speed.PredictMs({true, true, true}));
}

TEST(Candidates, FastestPredictedRevertsALayerThatIsSlowerInInt8OnlyWhenReordersAreCheap) {
  const SearchSpace space = Chain();
  // Cheap reorders: b back in FP32 saves 1.0 ms and costs 0.5 ms.
  SpeedModel cheap(space, ChainProfile(0.25));
  EXPECT_EQ(FastestPredicted(space, cheap), (Mask{true, false, true}));
  // Dear reorders: two boundaries cost more than b's INT8 penalty.
  SpeedModel dear(space, ChainProfile(0.75));
  EXPECT_EQ(FastestPredicted(space, dear), (Mask{true, true, true}));
}

// Beyond kEnumerateLayers the fastest mask is searched by flips. Layer 0
// (reading the graph input) and layer 1 are both slower in INT8, but each
// alone in FP32 would put a dear reorder on a precision boundary; together
// they move the boundary to layer 2's input, where the reorder is cheap.
TEST(Candidates, FastestPredictedFlipsRunsOfLayersWhenSingleFlipsDoNotPay) {
  const int n = kEnumerateLayers + 1;
  SearchSpace space;
  ProfileData profile;
  for (int i = 0; i < n; ++i) {
    SearchLayer layer;
    layer.name = "l" + std::to_string(i);
    layer.reads_graph_input = i == 0;
    if (i > 0) layer.producers.push_back(i - 1);
    space.layers.push_back(layer);
    profile.layers.push_back({1.0, 0.5, 0.1, 0.5});  // fp32, int8, quantize, dequantize
  }
  profile.layers[0] = {1.0, 1.3, 0.05, 0.5};  // 0.3 ms slower in INT8
  profile.layers[1] = {1.0, 1.1, 1.0, 0.5};   // 0.1 ms slower; quantizing its input is dear
  SpeedModel speed(space, profile);
  Mask all = space.AllInt8();
  Mask first_alone = all, second_alone = all, both = all;
  first_alone[0] = false;
  second_alone[1] = false;
  both[0] = both[1] = false;
  ASSERT_GT(speed.PredictMs(first_alone), speed.PredictMs(all));
  ASSERT_GT(speed.PredictMs(second_alone), speed.PredictMs(all));
  ASSERT_LT(speed.PredictMs(both), speed.PredictMs(all));
  EXPECT_EQ(FastestPredicted(space, speed), both);
}

// An estimate (a config screened on the ranking subset) is an anchor for
// predictions near it, but a measured config wins at the same distance and
// only measurements fit kappa.
TEST(DropModel, AnEstimateAnchorsPredictionsButLeavesKappaAlone) {
  DropModel drop({1.0, 1.0, 1.0}, {0.5, 0.5, 0.5});
  drop.Learn({false, false, false}, 0.0);
  drop.Learn({true, true, true}, 6.0);
  const double kappa = drop.kappa();
  EXPECT_GT(kappa, 1.5);  // all-INT8 lost more than the rankings add up to
  drop.Observe({true, true, false}, 9.0);
  EXPECT_DOUBLE_EQ(drop.kappa(), kappa);
  EXPECT_DOUBLE_EQ(drop.Predict({true, true, false}), 9.0);
  // One layer from the estimate (distance 1) and from all-INT8 (distance 1):
  // the measured anchor wins the tie.
  drop.Observe({true, false, true}, 20.0);
  EXPECT_DOUBLE_EQ(drop.Predict({true, true, true}), 6.0);
  // {false, true, false} is one layer from the estimate {true, true, false}
  // and one from FP32, which is measured and anchors it: FP32's 0 plus
  // kappa times layer 1's cost among FP32 neighbours (its sensitivity).
  EXPECT_NEAR(drop.Predict({false, true, false}), kappa * 0.5, 1e-9);
}

}  // namespace
}  // namespace mixq
