// The speed model's predictions on a small chain whose costs are known by
// hand, the boundary-cost fit, and the config predicted fastest.
#include "coordinator/search/search_models.h"

#include <gtest/gtest.h>

#include "coordinator/search/candidates.h"

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
  EXPECT_EQ(speed.Boundaries({false, false, false}), 0);
  // All INT8: the graph input is quantized once.
  EXPECT_DOUBLE_EQ(speed.PredictMs({true, true, true}), 0.5 + 5.0 + 0.25);
  EXPECT_EQ(speed.Boundaries({true, true, true}), 1);
  // INT8, FP32, INT8: input, b's dequantize, c's quantize.
  EXPECT_DOUBLE_EQ(speed.PredictMs({true, false, true}), 0.5 + 4.0 + 0.75);
  EXPECT_EQ(speed.Boundaries({true, false, true}), 3);
  EXPECT_DOUBLE_EQ(speed.FlipDeltaMs({true, true, true}, 1),
                   speed.PredictMs({true, false, true}) - speed.PredictMs({true, true, true}));
}

TEST(SpeedModel, FitBoundaryCostRecoversAFixedCostPerBoundary) {
  const SearchSpace space = Chain();
  SpeedModel speed(space, ChainProfile(0.25));
  // Measured = predicted + an offset + 0.07 ms per boundary.
  std::map<Mask, double> measured;
  for (const Mask& m : std::vector<Mask>{
           {false, false, false}, {true, true, true}, {true, false, true}, {false, true, false}}) {
    measured[m] = speed.PredictMs(m) + 0.3 + 0.07 * speed.Boundaries(m);
  }
  FitBoundaryCost(measured, &speed);
  EXPECT_NEAR(speed.boundary_ms(), 0.07, 1e-12);
  EXPECT_NEAR(speed.PredictMs({true, false, true}), 0.5 + 4.0 + 0.75 + 3 * 0.07, 1e-12);

  // Two measurements fit any line: the model is left as it is.
  SpeedModel fresh(space, ChainProfile(0.25));
  std::map<Mask, double> two = {{{false, false, false}, 20.0}, {{true, true, true}, 1.0}};
  FitBoundaryCost(two, &fresh);
  EXPECT_DOUBLE_EQ(fresh.boundary_ms(), 0.0);
}

TEST(SpeedModel, FitBoundaryCostNeverGoesNegative) {
  const SearchSpace space = Chain();
  SpeedModel speed(space, ChainProfile(0.25));
  std::map<Mask, double> measured;
  for (const Mask& m :
       std::vector<Mask>{{false, false, false}, {true, true, true}, {true, false, true}}) {
    measured[m] = speed.PredictMs(m) - 0.1 * speed.Boundaries(m);
  }
  FitBoundaryCost(measured, &speed);
  EXPECT_DOUBLE_EQ(speed.boundary_ms(), 0.0);
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

}  // namespace
}  // namespace mixq
