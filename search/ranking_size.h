// How many samples the ranking subset needs for a budget. The search ranks
// layers and screens configs on the first samples of the evaluation slice;
// one sample there is worth 100 / n points, and a subset whose one sample
// is as large as the budget cannot tell a config that fits from one that
// does not. So by default the subset is sized from the smallest budget: one
// sample is at most a quarter of it, within [kMinRankingSamples, the slice].
#ifndef MIXQ_SEARCH_RANKING_SIZE_H_
#define MIXQ_SEARCH_RANKING_SIZE_H_

#include <cstdint>
#include <vector>

namespace mixq {

constexpr int64_t kMinRankingSamples = 300;
// Samples per budget point: n = ceil(kRankingSamplesPerPoint / budget).
constexpr double kRankingSamplesPerPoint = 400.0;

// The ranking subset's size for budgets in accuracy points (the smallest
// decides; 0 or no budgets give the whole slice), at most `slice_samples`.
int64_t RankingSamplesForBudgets(const std::vector<double>& budgets, int64_t slice_samples);

// Points one ranking sample is worth.
double RankingResolution(int64_t ranking_samples);

}  // namespace mixq

#endif  // MIXQ_SEARCH_RANKING_SIZE_H_
