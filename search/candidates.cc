#include "search/candidates.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

namespace mixq {

namespace {

constexpr size_t kMaxCandidates = 64;

// All-INT8 with the layers that are simply faster in FP32 (e.g. depthwise
// on AVX2) reverted, until no flip of a run of up to kMaxRevertRun layers
// gains time.
Mask RevertSlowInt8(const SearchSpace& space, const SpeedModel& speed) {
  const int n = space.size();
  Mask m = space.AllInt8();
  double ms = speed.PredictMs(m);
  // Runs of consecutive layers (topological order) go back to FP32 together:
  // moving a precision boundary can pay only when several layers move at
  // once (the reorder lands on a cheaper tensor), which single flips miss.
  for (bool changed = true; changed;) {
    changed = false;
    for (int length = 1; length <= kMaxRevertRun; ++length) {
      for (int first = 0; first + length <= n; ++first) {
        Mask t = m;
        bool all_int8 = true;
        for (int i = first; i < first + length; ++i) {
          all_int8 = all_int8 && m[i];
          t[i] = false;
        }
        if (!all_int8) continue;
        const double t_ms = speed.PredictMs(t);
        if (t_ms < ms) {
          m = std::move(t);
          ms = t_ms;
          changed = true;
        }
      }
    }
  }
  return m;
}

// Greedy repair and improvement of one mask (see the header).
Mask Greedy(const SearchSpace& space, const SpeedModel& speed, const DropModel& drop, double target,
            double exponent) {
  const int n = space.size();
  Mask m = RevertSlowInt8(space, speed);
  // Revert the best recovery per millisecond until the predicted drop fits.
  while (drop.Predict(m) > target) {
    int best = -1;
    double best_score = -1.0;
    for (int i = 0; i < n; ++i) {
      const double gain = drop.LayerCost(i, static_cast<double>(CountInt8(m)) / n);
      if (!m[i] || gain <= 0.0) continue;
      const double cost = std::max(1e-6, speed.FlipDeltaMs(m, i));
      const double score = std::pow(gain, exponent) / cost;
      if (score > best_score) {
        best_score = score;
        best = i;
      }
    }
    if (best < 0) break;
    m[best] = false;
  }
  // Improve: flips back to INT8 and swaps that stay feasible and gain time.
  for (int pass = 0; pass < 4; ++pass) {
    bool improved = false;
    for (int i = 0; i < n; ++i) {
      if (m[i]) continue;
      Mask t = m;
      t[i] = true;
      if (speed.PredictMs(t) < speed.PredictMs(m) && drop.Predict(t) <= target) {
        m = t;
        improved = true;
        continue;
      }
      for (int j = 0; j < n; ++j) {
        if (!m[j] || j == i) continue;
        Mask u = t;
        u[j] = false;
        if (speed.PredictMs(u) < speed.PredictMs(m) && drop.Predict(u) <= target) {
          m = u;
          improved = true;
          break;
        }
      }
    }
    if (!improved) break;
  }
  return m;
}

}  // namespace

Mask FastestPredicted(const SearchSpace& space, const SpeedModel& speed) {
  const int n = space.size();
  if (n > kEnumerateLayers) return RevertSlowInt8(space, speed);
  Mask best = space.AllInt8();
  double best_ms = speed.PredictMs(best);
  for (uint32_t bits = 1; bits < (1u << n); ++bits) {
    Mask m(n);
    for (int i = 0; i < n; ++i) m[i] = (bits >> i) & 1u;
    const double ms = speed.PredictMs(m);
    if (ms < best_ms) {
      best_ms = ms;
      best = m;
    }
  }
  return best;
}

std::vector<Mask> ProposeCandidates(const SearchSpace& space, const SpeedModel& speed,
                                    const DropModel& drop, double budget) {
  const int n = space.size();
  std::set<Mask> pool;
  if (n <= kEnumerateLayers) {
    for (uint32_t bits = 0; bits < (1u << n); ++bits) {
      Mask m(n);
      for (int i = 0; i < n; ++i) m[i] = (bits >> i) & 1u;
      pool.insert(m);
    }
  } else {
    for (double margin : {1.0, 0.9, 0.75, 0.5}) {
      for (double exponent : {0.5, 1.0, 2.0}) {
        pool.insert(Greedy(space, speed, drop, budget * margin, exponent));
      }
    }
    // The accuracy-aware baseline's path: revert in order of recovery.
    std::vector<int> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return drop.recovery()[a] > drop.recovery()[b]; });
    Mask m = space.AllInt8();
    pool.insert(m);
    for (int i : order) {
      if (drop.Predict(m) <= budget) break;
      m[i] = false;
      pool.insert(m);
    }
  }
  std::vector<std::pair<double, Mask>> feasible;
  for (const Mask& m : pool) {
    if (CountInt8(m) > 0 && drop.Predict(m) <= budget) feasible.emplace_back(speed.PredictMs(m), m);
  }
  std::sort(feasible.begin(), feasible.end());
  std::vector<Mask> out;
  for (const auto& [ms, m] : feasible) {
    out.push_back(m);
    if (out.size() >= kMaxCandidates) break;
  }
  return out;
}

}  // namespace mixq
