// Candidate configs for the speed-aware search: the masks with the best
// predicted speed whose predicted drop is within the budget. Small models
// (at most kEnumerateLayers layers) are enumerated exactly; larger ones are
// searched greedily from several starts - all-INT8 with layers that are
// faster in FP32 reverted, then the best recovery per millisecond reverted
// until the predicted drop fits, then improving flips and swaps - for a few
// budget margins and ratio exponents, plus the prefixes of the ranking order
// that the accuracy-aware baseline would try.
#ifndef MIXQ_SEARCH_CANDIDATES_H_
#define MIXQ_SEARCH_CANDIDATES_H_

#include <vector>

#include "search/search_models.h"
#include "search/search_space.h"

namespace mixq {

constexpr int kEnumerateLayers = 16;
// Longest run of consecutive layers flipped at once beyond that.
constexpr int kMaxRevertRun = 4;

// The mask predicted fastest regardless of accuracy: exact for at most
// kEnumerateLayers layers, otherwise all-INT8 with runs of up to
// kMaxRevertRun consecutive layers (topological order) flipped to FP32 while
// a flip is predicted to gain time.
Mask FastestPredicted(const SearchSpace& space, const SpeedModel& speed);

// Distinct masks, predicted feasible, fastest predicted first.
std::vector<Mask> ProposeCandidates(const SearchSpace& space, const SpeedModel& speed,
                                    const DropModel& drop, double budget);

}  // namespace mixq

#endif  // MIXQ_SEARCH_CANDIDATES_H_
