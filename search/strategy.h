// Search strategies: from measurements a backend provides (full and ranking
// evaluations, benchmarks, profiles), find the fastest config whose accuracy
// drop stays within the budget, for one hardware class.
//
//   accuracy_aware  the NNCF/POT baseline: FP32 and all-INT8; if INT8 is in
//                   budget stop; else rank layers (each one back to FP32 on
//                   the ranking subset) and revert the worst, one full
//                   evaluation each, re-ranking when a revert made things
//                   worse, until within budget.
//   speed_aware     (default) measures speed first: the config predicted
//                   fastest (all-INT8 with the layers slower in INT8 back in
//                   FP32, boundaries' reorders included: candidates.h) is
//                   benchmarked against all-INT8 and the faster one
//                   is evaluated in full with FP32; if it fits, that is the
//                   answer (two full evaluations, as the baseline when
//                   all-INT8 fits). Otherwise ranking feeds a DropModel,
//                   and with the SpeedModel it proposes the configs with the best
//                   predicted speed under the predicted drop, verifies a few
//                   per round in parallel, refits the drop model to the
//                   misses, and stops when no unverified config is predicted
//                   faster than the fastest verified one by more than
//                   min_gain (then, once, it tries the one-layer flips of
//                   that config that are over budget by less than the drop
//                   model's largest over-prediction). The verified
//                   feasible configs are benchmarked (in confirm_rounds
//                   rounds; a gain smaller than the spread of those
//                   timings is not worth a full evaluation either); the
//                   fastest measured one is the answer. The configs
//                   accuracy_aware would try are among its candidates.
//                   With SearchSettings::screen, every config is screened
//                   on the ranking subset before its full evaluation (the
//                   first one too): one the subset puts over budget by more
//                   than one ranking sample is not evaluated in full but
//                   taught to the drop model, so that configs whose layers
//                   interact more than one-layer rankings show cost ranking
//                   evaluations, not full ones.
//   pareto          speed_aware for a list of budgets in one job (RunPareto).
//   exhaustive      every config of a set of layers evaluated in full (all
//                   layers, or SearchSettings::exhaustive_layers with every
//                   other layer INT8; at most kMaxExhaustiveLayers of them:
//                   2^k configs, plus FP32 as the reference when the set is
//                   not every layer); the feasible ones benchmarked in order
//                   of predicted speed (all of them, or the first
//                   `exhaustive_benchmarks`). On a subset it is the optimum
//                   of that subset, a reference for the other strategies
//                   when their answers keep only those layers in FP32.
//
// accuracy_aware and speed_aware then refine their answer (unless
// SearchSettings::refine is off): the models that chose it are predictions,
// and a layer kept in FP32 as "slower in INT8" may cost more in boundary
// reorders than it saves. The answer's neighbours - each FP32 layer back in
// INT8, each run of consecutive FP32 layers in INT8 at once, each INT8 layer
// bordering an FP32 one in FP32 - are screened on the ranking subset (the
// answer's measured drop plus what the change costs there, within one ranking
// sample of the budget), up to kRefineCandidates timed (moves back to INT8
// first), plus every single flip back to INT8 that screened harmless and
// timed faster, all at once (a cautious answer is undone in one step, not
// one layer per full evaluation); the fastest timed head to head with the
// answer, and those faster by more than kRefineMinGain in median and faster
// in every round they met in (a gain the timings agree on) verified in full,
// fastest first; a verified one within budget becomes the answer and the
// refinement repeats around it (at most kRefinePasses times). Its full
// evaluations are counted in SearchOutcome::refinement_full_evaluations.
//
// Every strategy ends head to head (SearchSettings::confirm_rounds): the
// answer, its close feasible rivals, FP32 and all-INT8 benchmarked again in
// the same rounds, the fastest median among the feasible quantized ones
// winning (all-INT8 too when it was evaluated within budget), so that
// reported speed-ups do not compare timings taken minutes apart.
//
// The backend memoizes (a result DB), so a stopped search run again replays
// its finished measurements for free and resumes where it stopped. A strategy
// never reports a prediction as a measurement: SearchOutcome's accuracies and
// times are all measured.
#ifndef MIXQ_SEARCH_STRATEGY_H_
#define MIXQ_SEARCH_STRATEGY_H_

#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "common/status.h"
#include "search/search_models.h"
#include "search/search_space.h"

namespace mixq {

// What the search measures through; one hardware class. Batched calls let
// the backend run configs in parallel across workers.
class SearchBackend {
 public:
  virtual ~SearchBackend() = default;
  // Accuracy in percent (the job's metric) on the full evaluation set.
  virtual StatusOr<std::vector<double>> EvaluateFull(const std::vector<Mask>& masks) = 0;
  // Accuracy in percent on the ranking subset.
  virtual StatusOr<std::vector<double>> EvaluateRanking(const std::vector<Mask>& masks) = 0;
  // Milliseconds per batch of the objective (batch B for throughput, 1 for
  // latency): lower is faster. Round 0 is a config's first measurement;
  // round r > 0 times it again (a memoizing backend keeps each round apart),
  // so that rivals measured in one round meet the same machine load.
  virtual StatusOr<std::vector<double>> Benchmark(const std::vector<Mask>& masks, int round) = 0;
  virtual StatusOr<ProfileData> Profile() = 0;
};

struct SearchSettings {
  double max_drop = 1.0;          // absolute, in accuracy points
  int max_full_evaluations = 40;  // FP32 and all-INT8 included
  int parallel = 1;               // full evaluations per speed_aware round
  int exhaustive_benchmarks = 0;  // 0 = benchmark every feasible config
  // speed_aware: also evaluate all-INT8 in full (counted) when the search
  // does not need it, so that the summary shows its accuracy.
  bool reference_int8 = false;
  // speed_aware: verify another config only if it is predicted faster than
  // the fastest verified one by more than this fraction.
  double min_gain = 0.05;
  // Head-to-head rounds at the end (0 = none): the answer, its feasible
  // rivals within kRivalMargin of its first timing, FP32 and all-INT8 are
  // benchmarked again, all of them in each round; each one's speed is its
  // median over the rounds, and the fastest feasible median is the answer.
  int confirm_rounds = 3;
  // The final refinement (accuracy_aware and speed_aware).
  bool refine = true;
  // Points one ranking sample is worth (100 / ranking subset size): the
  // refinement's screening accepts a neighbour up to one sample over budget,
  // the subset's resolution. 0 = exact screening.
  double ranking_resolution = 0.0;
  // speed_aware: screen each config on the ranking subset before its full
  // evaluation, and evaluate in full only those the subset puts within
  // budget. Off when the subset is the whole evaluation slice: a screen would
  // then cost as much as the evaluation it is meant to save.
  bool screen = true;
  // exhaustive: the layers it enumerates (indices into SearchSpace::layers,
  // distinct; at most kMaxExhaustiveLayers); every other layer stays INT8.
  // Empty = every layer. Other strategies refuse a non-empty set.
  std::vector<int> exhaustive_layers;
};

// The most layers exhaustive enumerates: 2^16 = 65,536 full evaluations.
constexpr int kMaxExhaustiveLayers = 16;

// A feasible config whose first timing is within this fraction of the
// answer's meets it head to head (one-second timings taken minutes apart on
// a shared machine differ by more than that); at most kMaxRivals of them.
constexpr double kRivalMargin = 0.2;
constexpr int kMaxRivals = 3;
constexpr int kMaxConfirmRounds = 15;
// The final refinement: neighbours timed per pass, passes, and the gain in
// head-to-head timing that buys a neighbour a full evaluation.
constexpr int kRefineCandidates = 12;
constexpr int kRefinePasses = 4;
constexpr double kRefineMinGain = 0.02;
// The most configs a speed_aware round verifies at once (--parallel,
// strategy.parallel), and the largest limit on full evaluations a search
// takes (--max-full-evaluations, limits.max_full_evaluations).
constexpr int kMaxParallel = 64;
constexpr int kMaxFullEvaluations = 1 << 20;

// One measurement or decision, as the DB's search_steps rows hold them.
struct SearchStep {
  std::string kind;  // "full", "ranking", "benchmark", "profile", "answer"
  Mask mask;
  std::string reason;  // why it was tried
  double predicted_drop = std::numeric_limits<double>::quiet_NaN();
  double predicted_ms = std::numeric_limits<double>::quiet_NaN();
  double accuracy = std::numeric_limits<double>::quiet_NaN();  // measured
  double drop = std::numeric_limits<double>::quiet_NaN();      // measured
  double ms = std::numeric_limits<double>::quiet_NaN();        // measured
};

struct SearchOutcome {
  bool met = false;  // the chosen config is within budget
  std::string verdict;
  Mask chosen;
  // int8_accuracy is NaN when speed_aware never evaluated all-INT8 in full.
  double fp32_accuracy = 0, int8_accuracy = 0, chosen_accuracy = 0;
  // Medians of the head-to-head rounds (first timings when there are none).
  double fp32_ms = 0, int8_ms = 0, chosen_ms = 0;
  int timing_rounds = 0;  // head-to-head rounds behind those times; 0: none
  int full_evaluations = 0;
  int refinement_full_evaluations = 0;  // of full_evaluations, the final refinement's
  int ranking_evaluations = 0;
  int benchmarks = 0;
  std::vector<SearchStep> steps;
};

// Called after each step (progress output, DB rows); may be empty.
using StepObserver = std::function<void(const SearchStep&, const SearchOutcome& so_far)>;

const std::vector<std::string>& StrategyNames();  // accuracy_aware, speed_aware, exhaustive
// InvalidArgument for an unknown strategy, impossible settings, or an
// exhaustive set (given, or every layer) of more than kMaxExhaustiveLayers.
StatusOr<SearchOutcome> RunStrategy(const std::string& strategy, const SearchSpace& space,
                                    const SearchSettings& settings, SearchBackend* backend,
                                    const StepObserver& observer = nullptr);

// The speed/accuracy frontier: speed_aware once per budget (ascending), the
// runs sharing one memo so that a config is measured once across budgets.
// `new_full_evaluations` receives the number of distinct full evaluations.
StatusOr<std::vector<SearchOutcome>> RunPareto(const SearchSpace& space,
                                               std::vector<double> budgets,
                                               const SearchSettings& settings,
                                               SearchBackend* backend,
                                               int* new_full_evaluations = nullptr,
                                               const StepObserver& observer = nullptr);

}  // namespace mixq

#endif  // MIXQ_SEARCH_STRATEGY_H_
