#include "search/ranking_size.h"

#include <algorithm>
#include <cmath>

namespace mixq {

int64_t RankingSamplesForBudgets(const std::vector<double>& budgets, int64_t slice_samples) {
  if (slice_samples <= 0) return 0;
  if (budgets.empty()) return slice_samples;
  const double smallest = *std::min_element(budgets.begin(), budgets.end());
  if (!(smallest > 0.0)) return slice_samples;
  const double wanted = std::ceil(kRankingSamplesPerPoint / smallest);
  if (wanted >= static_cast<double>(slice_samples)) return slice_samples;
  return std::min(slice_samples, std::max(kMinRankingSamples, static_cast<int64_t>(wanted)));
}

double RankingResolution(int64_t ranking_samples) {
  return ranking_samples > 0 ? 100.0 / static_cast<double>(ranking_samples) : 0.0;
}

}  // namespace mixq
