// The two predictions a speed-aware search makes before it measures: how
// fast a config runs (from per-layer profiles on one hardware class) and how
// much accuracy it loses (from per-layer ranking on a subset). Both are
// cheap to evaluate for millions of masks, and both are only predictions:
// the search verifies its answer by full evaluation and benchmark.
#ifndef MIXQ_SEARCH_SEARCH_MODELS_H_
#define MIXQ_SEARCH_SEARCH_MODELS_H_

#include <vector>

#include "search/search_space.h"

namespace mixq {

// Measured costs of one layer on one hardware class, in milliseconds per
// batch: the layer (with the ops fused into it and those following it up to
// the next layer) in each precision, and the reorder of its input tensor
// when it sits on a precision boundary.
struct LayerTiming {
  double fp32_ms = 0.0;
  double int8_ms = 0.0;
  double quantize_ms = 0.0;    // f32 -> int8 of the input, when this layer is INT8
  double dequantize_ms = 0.0;  // int8 -> f32 of the input, when this layer is FP32
};

struct ProfileData {
  std::vector<LayerTiming> layers;  // indexed like SearchSpace::layers
  double other_ms = 0.0;            // everything not attributed to a layer
};

// Predicted time of a config: the sum of each layer's time in its precision
// plus a reorder wherever a layer's precision differs from one of its
// producers' (or an INT8 layer reads a graph input). A shared converted
// tensor is paid once per consumer here, an over-estimate the verification
// benchmark corrects.
class SpeedModel {
 public:
  SpeedModel(const SearchSpace& space, ProfileData profile);
  double PredictMs(const Mask& mask) const;
  // The change in predicted time when layer `i` flips precision.
  double FlipDeltaMs(const Mask& mask, int i) const;
  const ProfileData& profile() const { return profile_; }

 private:
  double BoundaryMs(const Mask& mask, int i) const;

  const SearchSpace& space_;
  ProfileData profile_;
  std::vector<std::vector<int>> consumers_;
};

// Predicted accuracy drop (points) of a config, from per-layer ranking on a
// subset measured from both ends: `recovery[i]` = acc(all-INT8 but layer i
// in FP32) - acc(all-INT8), and `sensitivity[i]` = acc(FP32) - acc(only
// layer i in INT8). Layer effects are not additive - a layer costs more
// among INT8 neighbours than alone - so a prediction starts from the nearest
// verified config (its measured drop) and adds, per layer that differs, a
// blend of the two: sensitivity where the anchor is mostly FP32, recovery
// where it is mostly INT8. `kappa` converts subset points to full-set points
// and is refitted (least squares) to every verified config.
class DropModel {
 public:
  DropModel(std::vector<double> recovery, std::vector<double> sensitivity, double kappa = 1.0);
  double Predict(const Mask& mask) const;
  // Records a full-set measurement (the first ones should be FP32 and
  // all-INT8) and refits kappa.
  void Learn(const Mask& mask, double measured_drop);
  // Records an estimate (a config screened on the ranking subset): an anchor
  // that predictions near it start from, a measured one winning at the same
  // distance, but no evidence for kappa, which converts the one-layer
  // rankings, not a whole config's subset drop.
  void Observe(const Mask& mask, double estimated_drop);
  double kappa() const { return kappa_; }
  // The cost (before kappa) of layer i being INT8 rather than FP32 when a
  // fraction `int8_fraction` of the other layers is INT8.
  double LayerCost(int i, double int8_fraction) const;
  const std::vector<double>& recovery() const { return recovery_; }
  const std::vector<double>& sensitivity() const { return sensitivity_; }

 private:
  // Predicted drop of `mask` starting from `anchor`, before clamping.
  double FromAnchor(const Mask& anchor, double anchor_drop, const Mask& mask, double kappa) const;

  std::vector<double> recovery_;     // clamped at 0: noise never predicts a gain
  std::vector<double> sensitivity_;  // likewise
  double kappa_ = 1.0;
  struct Anchor {
    Mask mask;
    double drop = 0.0;
    bool measured = false;  // a full evaluation, not a subset's estimate
  };
  std::vector<Anchor> observed_;
};

}  // namespace mixq

#endif  // MIXQ_SEARCH_SEARCH_MODELS_H_
