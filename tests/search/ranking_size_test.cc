// The ranking subset's size from the budget: one sample at most a quarter of
// the smallest budget, never fewer than kMinRankingSamples, never more than
// the evaluation slice.
#include "search/ranking_size.h"

#include <gtest/gtest.h>

namespace mixq {
namespace {

TEST(RankingSize, OneSampleIsAtMostAQuarterOfTheSmallestBudget) {
  EXPECT_EQ(RankingSamplesForBudgets({0.1}, 10000), 4000);
  EXPECT_EQ(RankingSamplesForBudgets({0.3}, 10000), 1334);
  EXPECT_EQ(RankingSamplesForBudgets({1.0}, 10000), 400);
  EXPECT_EQ(RankingSamplesForBudgets({1.0, 0.3, 0.5}, 10000), 1334);  // pareto: the smallest
  for (double budget : {0.05, 0.1, 0.3, 0.7, 1.0}) {
    const int64_t n = RankingSamplesForBudgets({budget}, 100000);
    EXPECT_LE(RankingResolution(n), budget / 4.0 + 1e-12) << budget;
  }
}

TEST(RankingSize, BoundedByTheMinimumAndTheSlice) {
  EXPECT_EQ(RankingSamplesForBudgets({2.0}, 10000), kMinRankingSamples);
  EXPECT_EQ(RankingSamplesForBudgets({5.0}, 100), 100);  // a slice smaller than the minimum
  EXPECT_EQ(RankingSamplesForBudgets({0.1}, 1000), 1000);
  EXPECT_EQ(RankingSamplesForBudgets({0.0}, 2500), 2500);  // no drop allowed: everything
  EXPECT_EQ(RankingSamplesForBudgets({}, 2500), 2500);
  EXPECT_EQ(RankingSamplesForBudgets({0.3}, 0), 0);
}

TEST(RankingSize, ResolutionIsPointsPerSample) {
  EXPECT_DOUBLE_EQ(RankingResolution(400), 0.25);
  EXPECT_DOUBLE_EQ(RankingResolution(10000), 0.01);
  EXPECT_DOUBLE_EQ(RankingResolution(0), 0.0);
}

}  // namespace
}  // namespace mixq
