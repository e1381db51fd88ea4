#include "search/search_models.h"

#include <algorithm>

namespace mixq {

SpeedModel::SpeedModel(const SearchSpace& space, ProfileData profile)
    : space_(space), profile_(std::move(profile)), consumers_(space.layers.size()) {
  profile_.layers.resize(space.layers.size());
  for (int i = 0; i < space.size(); ++i) {
    for (int p : space.layers[i].producers) consumers_[p].push_back(i);
  }
}

double SpeedModel::BoundaryMs(const Mask& mask, int i) const {
  const SearchLayer& layer = space_.layers[i];
  bool differs = mask[i] && layer.reads_graph_input;
  for (int p : layer.producers) differs = differs || mask[p] != mask[i];
  if (!differs) return 0.0;
  return mask[i] ? profile_.layers[i].quantize_ms : profile_.layers[i].dequantize_ms;
}

double SpeedModel::PredictMs(const Mask& mask) const {
  double total = profile_.other_ms;
  for (int i = 0; i < space_.size(); ++i) {
    total += mask[i] ? profile_.layers[i].int8_ms : profile_.layers[i].fp32_ms;
    total += BoundaryMs(mask, i);
  }
  return total;
}

double SpeedModel::FlipDeltaMs(const Mask& mask, int i) const {
  // Only layer i's own time and the boundaries of i and its consumers change.
  double before = BoundaryMs(mask, i);
  for (int c : consumers_[i]) before += BoundaryMs(mask, c);
  before += mask[i] ? profile_.layers[i].int8_ms : profile_.layers[i].fp32_ms;
  Mask flipped = mask;
  flipped[i] = !flipped[i];
  double after = BoundaryMs(flipped, i);
  for (int c : consumers_[i]) after += BoundaryMs(flipped, c);
  after += flipped[i] ? profile_.layers[i].int8_ms : profile_.layers[i].fp32_ms;
  return after - before;
}

DropModel::DropModel(std::vector<double> recovery, std::vector<double> sensitivity, double kappa)
    : recovery_(std::move(recovery)),
      sensitivity_(std::move(sensitivity)),
      kappa_(std::clamp(kappa, 0.1, 4.0)) {
  sensitivity_.resize(recovery_.size(), 0.0);
  for (double& r : recovery_) r = std::max(0.0, r);
  for (double& r : sensitivity_) r = std::max(0.0, r);
}

double DropModel::LayerCost(int i, double int8_fraction) const {
  return (1.0 - int8_fraction) * sensitivity_[i] + int8_fraction * recovery_[i];
}

double DropModel::FromAnchor(const Mask& anchor, double anchor_drop, const Mask& mask,
                             double kappa) const {
  const int n = static_cast<int>(mask.size());
  const double fraction = n > 1 ? static_cast<double>(CountInt8(anchor)) / n : 0.0;
  double predicted = anchor_drop;
  for (int i = 0; i < n; ++i) {
    if (anchor[i] == mask[i]) continue;
    const double cost = kappa * LayerCost(i, fraction);
    predicted += mask[i] ? cost : -cost;
  }
  return predicted;
}

double DropModel::Predict(const Mask& mask) const {
  const Anchor* anchor = nullptr;
  int anchor_distance = 0;
  for (const Anchor& seen : observed_) {
    if (seen.mask.size() != mask.size()) continue;
    int distance = 0;
    for (size_t i = 0; i < mask.size(); ++i) distance += seen.mask[i] != mask[i];
    if (anchor == nullptr || distance < anchor_distance ||
        (distance == anchor_distance && seen.measured && !anchor->measured)) {
      anchor = &seen;
      anchor_distance = distance;
    }
  }
  if (anchor == nullptr) {
    return std::max(0.0, FromAnchor(Mask(mask.size(), false), 0.0, mask, kappa_));
  }
  if (anchor_distance == 0) return anchor->drop;
  return std::max(0.0, FromAnchor(anchor->mask, anchor->drop, mask, kappa_));
}

void DropModel::Observe(const Mask& mask, double estimated_drop) {
  observed_.push_back({mask, estimated_drop, false});
}

void DropModel::Learn(const Mask& mask, double measured_drop) {
  observed_.push_back({mask, measured_drop, true});
  // Fit kappa so that predictions of each verified config from the others
  // match: least squares of (drop - anchor_drop) on the unscaled change.
  double num = 0.0, den = 0.0;
  for (size_t a = 0; a < observed_.size(); ++a) {
    if (!observed_[a].measured) continue;
    for (size_t b = 0; b < observed_.size(); ++b) {
      if (a == b || !observed_[b].measured) continue;
      const double change = FromAnchor(observed_[a].mask, 0.0, observed_[b].mask, 1.0);
      num += (observed_[b].drop - observed_[a].drop) * change;
      den += change * change;
    }
  }
  if (den > 0.0) kappa_ = std::clamp(num / den, 0.1, 4.0);
}

}  // namespace mixq
