// What a finished search leaves behind: the summary table users read (per
// hardware class: FP32, all-INT8 and the chosen config with accuracy, drop,
// speed-up and the layers left in FP32), the chosen config as JSON, and the
// verdict. Everything in it is measured; the search never reports a
// prediction here.
#ifndef MIXQ_SEARCH_SEARCH_SUMMARY_H_
#define MIXQ_SEARCH_SEARCH_SUMMARY_H_

#include <string>
#include <vector>

#include "common/status.h"
#include "common/table_format.h"
#include "search/search_space.h"
#include "search/strategy.h"

namespace mixq {

struct HardwareOutcome {
  std::string hardware;  // hardware class name
  SearchOutcome outcome;
};

// Rows: per hardware class, fp32 / int8 / chosen. Columns: hardware, config,
// top-1 %, drop (points), ms/batch, speed-up, FP32 layers.
// `metric_column` heads the accuracy column: the metric the budget is in.
Table SearchSummaryTable(const SearchSpace& space, const std::vector<HardwareOutcome>& outcomes,
                         const std::string& metric_column = "top-1 %");

// "<hardware>: <verdict> (N full evaluations, N ranking, N benchmarks)" and
// what the table's numbers rest on (all-INT8 not evaluated in full; how
// many head-to-head rounds the times are medians of). No newline.
std::string VerdictLine(const HardwareOutcome& outcome);

// The layers `mask` keeps in FP32, comma-separated ("-" when none).
std::string Fp32Layers(const SearchSpace& space, const Mask& mask);

// Writes into `dir` (created if missing): summary.txt (aligned table and
// verdicts), summary.md, and config-<hardware>.json (the chosen config's
// canonical JSON) per hardware class. Returns the written paths.
StatusOr<std::vector<std::string>> WriteSearchOutputs(const std::string& dir,
                                                      const SearchSpace& space,
                                                      const std::string& model_sha256,
                                                      const std::vector<HardwareOutcome>& outcomes);

}  // namespace mixq

#endif  // MIXQ_SEARCH_SEARCH_SUMMARY_H_
