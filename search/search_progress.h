// A search job's progress lines: each full evaluation with the best config
// within budget so far, the count done and planned and an ETA from the pace,
// each class's answer, and the notes of the driver. Lines go to stderr (when
// enabled) and to a listener, the coordinator's STATUS_REPLY search log that
// `mixq status` and `mixq submit --wait` print; each starts with the seconds
// since the job started.
#ifndef MIXQ_SEARCH_SEARCH_PROGRESS_H_
#define MIXQ_SEARCH_SEARCH_PROGRESS_H_

#include <chrono>
#include <functional>
#include <string>

#include "search/search_space.h"
#include "search/strategy.h"

namespace mixq {

class SearchProgress {
 public:
  using Clock = std::chrono::steady_clock;

  SearchProgress(bool to_stderr, std::function<void(const std::string&)> on_line,
                 Clock::time_point start);

  // A time-stamped line, to stderr and the listener.
  void Line(const std::string& line) const;

  // A line for the listener only: what stderr readers see in the report
  // printed at the end (verdicts, the last line).
  void Note(const std::string& line) const;

  // Starts counting a target class's full evaluations, at most `planned`.
  void BeginClass(const std::string& hardware, int planned);

  // A line for each full evaluation and answer of the class's strategy;
  // `budget` decides which configs count as the best so far.
  void Step(const SearchSpace& space, const SearchStep& step, const SearchOutcome& so_far,
            double budget);

  // Seconds since the job started.
  double Seconds() const;

 private:
  bool to_stderr_;
  std::function<void(const std::string&)> on_line_;
  Clock::time_point start_;
  Clock::time_point class_start_;
  std::string hardware_;
  int planned_ = 0;
  std::string best_;
  double best_drop_ = 0;
  int best_int8_ = 0;
};

}  // namespace mixq

#endif  // MIXQ_SEARCH_SEARCH_PROGRESS_H_
