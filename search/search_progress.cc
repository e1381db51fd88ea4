#include "search/search_progress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/hardware_info.h"
#include "common/table_format.h"

namespace mixq {
namespace {

// A short label for progress lines.
std::string ShortClass(const std::string& hardware_class) {
  const std::string isa = IsaOfHardwareClass(hardware_class);
  return isa.empty() ? hardware_class : isa;
}

}  // namespace

SearchProgress::SearchProgress(bool to_stderr, std::function<void(const std::string&)> on_line,
                               Clock::time_point start)
    : to_stderr_(to_stderr), on_line_(std::move(on_line)), start_(start) {}

void SearchProgress::Line(const std::string& line) const {
  char stamp[32];
  std::snprintf(stamp, sizeof(stamp), "[%7.1f s] ", Seconds());
  if (to_stderr_) std::fprintf(stderr, "%s%s\n", stamp, line.c_str());
  if (on_line_) on_line_(stamp + line);
}

void SearchProgress::Note(const std::string& line) const {
  if (on_line_) on_line_(line);
}

void SearchProgress::BeginClass(const std::string& hardware, int planned) {
  hardware_ = ShortClass(hardware);
  planned_ = planned;
  class_start_ = Clock::now();
  best_.clear();
  best_drop_ = 0;
}

void SearchProgress::Step(const SearchSpace& space, const SearchStep& step,
                          const SearchOutcome& so_far, double budget) {
  if (step.kind == "answer") {
    Line(hardware_ + " answer: " + DescribeMask(space, step.mask) + "  acc " +
         Fixed(step.accuracy, 2) + " %  drop " + Fixed(step.drop, 2) + "  " + Fixed(step.ms, 3) +
         " ms  [" + step.reason + "]");
    return;
  }
  if (step.kind != "full") return;
  if (step.drop <= budget && (best_.empty() || CountInt8(step.mask) > best_int8_ ||
                              (CountInt8(step.mask) == best_int8_ && step.drop < best_drop_))) {
    best_ = DescribeMask(space, step.mask);
    best_drop_ = step.drop;
    best_int8_ = CountInt8(step.mask);
  }
  const int done = so_far.full_evaluations;
  const double secs = std::chrono::duration<double>(Clock::now() - class_start_).count();
  std::string line = hardware_ + " full " + std::to_string(done) + "/" + std::to_string(planned_) +
                     " (at most): " + DescribeMask(space, step.mask) + "  drop " +
                     Fixed(step.drop, 2);
  if (!std::isnan(step.predicted_drop))
    line += " (predicted " + Fixed(step.predicted_drop, 2) + ")";
  line += "  best " +
          (best_.empty() ? std::string("none yet") : best_ + " drop " + Fixed(best_drop_, 2));
  if (done > 0) line += "  ETA <= " + Fixed(secs / done * std::max(0, planned_ - done), 0) + " s";
  Line(line);
}

double SearchProgress::Seconds() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

}  // namespace mixq
