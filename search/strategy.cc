#include "search/strategy.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>

#include "search/candidates.h"

namespace mixq {

namespace {

// Shared bookkeeping of one strategy run: memoised measurements (a mask is
// measured once per run), counts, steps and the observer.
class SearchRun {
 public:
  SearchRun(const SearchSpace& space, const SearchSettings& settings, SearchBackend* backend,
            const StepObserver& observer)
      : space_(space), settings_(settings), backend_(backend), observer_(observer) {}

  int RemainingFull() const {
    return std::max(0, settings_.max_full_evaluations - outcome_.full_evaluations);
  }
  bool HasFull(const Mask& m) const { return full_.count(m) != 0; }
  double FullAccuracy(const Mask& m) const { return full_.at(m); }
  double Drop(double accuracy) const { return outcome_.fp32_accuracy - accuracy; }
  const std::map<Mask, double>& full() const { return full_; }

  // Full evaluations of the masks not measured yet; `predicted` (drop, ms)
  // pairs are recorded with them when known.
  Status Full(const std::vector<Mask>& masks, const std::string& reason,
              const std::vector<std::pair<double, double>>& predicted = {}) {
    std::vector<Mask> todo;
    std::vector<size_t> index;
    for (size_t i = 0; i < masks.size(); ++i) {
      if (!HasFull(masks[i]) && std::find(todo.begin(), todo.end(), masks[i]) == todo.end()) {
        todo.push_back(masks[i]);
        index.push_back(i);
      }
    }
    if (todo.empty()) return Status::Ok();
    MIXQ_ASSIGN_OR_RETURN(std::vector<double> acc, backend_->EvaluateFull(todo));
    if (acc.size() != todo.size()) return Internal("backend returned the wrong number of results");
    for (size_t k = 0; k < todo.size(); ++k) {
      full_[todo[k]] = acc[k];
      // Drops of the same round are measured against it.
      if (CountInt8(todo[k]) == 0) outcome_.fp32_accuracy = acc[k];
    }
    for (size_t k = 0; k < todo.size(); ++k) {
      ++outcome_.full_evaluations;
      SearchStep step;
      step.kind = "full";
      step.mask = todo[k];
      step.reason = reason;
      if (index[k] < predicted.size()) {
        step.predicted_drop = predicted[index[k]].first;
        step.predicted_ms = predicted[index[k]].second;
      }
      step.accuracy = acc[k];
      step.drop = CountInt8(todo[k]) == 0 ? 0.0 : Drop(acc[k]);
      Emit(step);
    }
    return Status::Ok();
  }

  StatusOr<std::vector<double>> Ranking(const std::vector<Mask>& masks, const std::string& reason) {
    MIXQ_ASSIGN_OR_RETURN(std::vector<double> acc, backend_->EvaluateRanking(masks));
    if (acc.size() != masks.size()) return Internal("backend returned the wrong number of results");
    for (size_t k = 0; k < masks.size(); ++k) {
      ++outcome_.ranking_evaluations;
      SearchStep step;
      step.kind = "ranking";
      step.mask = masks[k];
      step.reason = reason;
      step.accuracy = acc[k];
      Emit(step);
    }
    return acc;
  }

  Status Bench(const std::vector<Mask>& masks, const std::string& reason,
               const SpeedModel* speed = nullptr) {
    std::vector<Mask> todo;
    for (const Mask& m : masks) {
      if (!bench_.count(m) && std::find(todo.begin(), todo.end(), m) == todo.end()) {
        todo.push_back(m);
      }
    }
    if (todo.empty()) return Status::Ok();
    MIXQ_ASSIGN_OR_RETURN(std::vector<double> ms, backend_->Benchmark(todo, 0));
    if (ms.size() != todo.size()) return Internal("backend returned the wrong number of results");
    for (size_t k = 0; k < todo.size(); ++k) {
      bench_[todo[k]] = ms[k];
      EmitBenchmark(todo[k], ms[k], reason, speed);
    }
    return Status::Ok();
  }
  double BenchMs(const Mask& m) const { return bench_.at(m); }
  // `masks` (benchmarked) timed again in rounds 1..confirm_rounds; SteadyMs
  // is then the median with the first timing, steadier than one timing when
  // a search weighs a further full evaluation against it.
  Status SteadyBench(const std::vector<Mask>& masks) {
    if (settings_.confirm_rounds == 0 || masks.empty()) return Status::Ok();
    MIXQ_ASSIGN_OR_RETURN(auto median, Rounds(masks, 1, "verified within budget", true));
    for (const auto& [mask, ms] : median) steady_[mask] = ms;
    return Status::Ok();
  }
  // The largest spread (max - min over the median) of one config's timings
  // across rounds so far: how much two timings of the same config differ on
  // this class, which a predicted gain must exceed to be worth verifying.
  double TimingSpread() const { return spread_; }
  double SteadyMs(const Mask& m) const {
    auto it = steady_.find(m);
    return it != steady_.end() ? it->second : bench_.at(m);
  }
  bool HasBench(const Mask& m) const { return bench_.count(m) != 0; }
  const std::map<Mask, double>& benched() const { return bench_; }

  StatusOr<ProfileData> Profile() {
    MIXQ_ASSIGN_OR_RETURN(ProfileData profile, backend_->Profile());
    if (profile.layers.size() != space_.layers.size()) {
      return Internal("profile has " + std::to_string(profile.layers.size()) +
                      " layers, the model " + std::to_string(space_.layers.size()));
    }
    SearchStep step;
    step.kind = "profile";
    step.reason = "per-layer FP32/INT8 times and boundary reorders";
    Emit(step);
    return profile;
  }

  // FP32 and all-INT8: measured accuracy and speed, the two ends of the range.
  Status Baselines() {
    const Mask fp32 = space_.AllFp32(), int8 = space_.AllInt8();
    MIXQ_RETURN_IF_ERROR(Full({fp32}, "FP32 reference"));
    MIXQ_RETURN_IF_ERROR(Full({int8}, "all-INT8"));
    MIXQ_RETURN_IF_ERROR(Bench({fp32, int8}, "FP32 and all-INT8 speed"));
    SetReferences(bench_[fp32], bench_[int8]);
    return Status::Ok();
  }

  // The FP32 reference, and all-INT8 when it was evaluated in full (NaN
  // otherwise: speed_aware may never need it).
  void SetReferences(double fp32_ms, double int8_ms) {
    const Mask fp32 = space_.AllFp32(), int8 = space_.AllInt8();
    outcome_.fp32_accuracy = full_.at(fp32);
    outcome_.int8_accuracy =
        HasFull(int8) ? full_.at(int8) : std::numeric_limits<double>::quiet_NaN();
    outcome_.fp32_ms = fp32_ms;
    outcome_.int8_ms = int8_ms;
  }

  // Each contender benchmarked again in settings_.confirm_rounds rounds
  // (backend rounds first_round, first_round + 1, ...), all of them in every
  // round, in reverse order every other round so that a drift in machine
  // load hits all alike; their medians over the rounds (and round 0 when
  // `with_first`). `paired` (optional) receives each one's timings of those
  // rounds only, in round order: timings of one round met the same load.
  StatusOr<std::map<Mask, double>> Rounds(const std::vector<Mask>& contenders, int first_round,
                                          const std::string& reason, bool with_first,
                                          std::map<Mask, std::vector<double>>* paired = nullptr) {
    const int rounds = settings_.confirm_rounds;
    std::map<Mask, std::vector<double>> times;
    if (with_first) {
      for (const Mask& m : contenders) times[m].push_back(bench_.at(m));
    }
    for (int r = 1; r <= rounds; ++r) {
      std::vector<Mask> order = contenders;
      if (r % 2 == 0) std::reverse(order.begin(), order.end());
      MIXQ_ASSIGN_OR_RETURN(std::vector<double> ms,
                            backend_->Benchmark(order, first_round + r - 1));
      if (ms.size() != order.size())
        return Internal("backend returned the wrong number of results");
      for (size_t k = 0; k < order.size(); ++k) {
        times[order[k]].push_back(ms[k]);
        if (paired) (*paired)[order[k]].push_back(ms[k]);
        EmitBenchmark(order[k], ms[k],
                      reason + ", round " + std::to_string(r) + " of " + std::to_string(rounds));
      }
    }
    std::map<Mask, double> median;
    for (auto& [mask, v] : times) {
      std::sort(v.begin(), v.end());
      const size_t n = v.size();
      median[mask] = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
      if (median[mask] > 0.0) spread_ = std::max(spread_, (v.back() - v.front()) / median[mask]);
    }
    return median;
  }

  // Ends the run with `chosen` (benchmarked if it was not yet). With
  // head-to-head rounds, `rivals` (feasible, benchmarked) within
  // kRivalMargin of its first timing meet it and FP32 and all-INT8 in the
  // same rounds; the fastest median among the feasible ones (all-INT8
  // included when it was evaluated within budget, FP32 always) is the
  // answer, and the reported times are those medians.
  StatusOr<SearchOutcome> Finish(Mask chosen, bool met, const std::string& verdict,
                                 std::vector<Mask> rivals = {}) {
    MIXQ_RETURN_IF_ERROR(Bench({chosen}, "the answer's speed"));
    outcome_.chosen_ms = bench_.at(chosen);
    std::string why = verdict;
    if (settings_.confirm_rounds > 0) {
      std::sort(rivals.begin(), rivals.end(),
                [&](const Mask& a, const Mask& b) { return SteadyMs(a) < SteadyMs(b); });
      std::vector<Mask> field = {chosen};
      for (const Mask& m : rivals) {
        if (static_cast<int>(field.size()) > kMaxRivals) break;
        if (m == chosen || SteadyMs(m) > SteadyMs(chosen) * (1.0 + kRivalMargin)) continue;
        field.push_back(m);
      }
      std::vector<Mask> contenders = field;
      const Mask fp32 = space_.AllFp32(), int8 = space_.AllInt8();
      for (const Mask& ref : {fp32, int8}) {
        if (HasBench(ref) &&
            std::find(contenders.begin(), contenders.end(), ref) == contenders.end()) {
          contenders.push_back(ref);
        }
      }
      // Rounds after those SteadyBench may have used.
      MIXQ_ASSIGN_OR_RETURN(auto median, Rounds(contenders, settings_.confirm_rounds + 1,
                                                "head to head with the answer", false));
      if (met) {
        // A reference timed in the same rounds can win too: a first timing
        // may have flattered the answer over all-INT8, and where no INT8
        // layer pays on this class FP32 itself is the fastest config within
        // budget (a quantized answer slower than FP32 helps nobody).
        for (const Mask& m : contenders) {
          const bool feasible = HasFull(m) && Drop(full_.at(m)) <= settings_.max_drop;
          if (feasible && median.at(m) < median.at(chosen)) chosen = m;
        }
        if (CountInt8(chosen) == 0) {
          why = "FP32 is the fastest measured head to head (" + verdict +
                ", but slower): no INT8 config tried pays on this class";
        }
      }
      outcome_.chosen_ms = median.at(chosen);
      outcome_.timing_rounds = settings_.confirm_rounds;
      if (median.count(fp32)) outcome_.fp32_ms = median.at(fp32);
      if (median.count(int8)) outcome_.int8_ms = median.at(int8);
    }
    outcome_.met = met;
    outcome_.verdict = why;
    outcome_.chosen = chosen;
    outcome_.chosen_accuracy = full_.at(chosen);
    SearchStep step;
    step.kind = "answer";
    step.mask = chosen;
    step.reason = why;
    step.accuracy = outcome_.chosen_accuracy;
    step.drop = Drop(step.accuracy);
    step.ms = outcome_.chosen_ms;
    Emit(step);
    return outcome_;
  }

  // The closest quantized config measured so far (least drop, then fastest).
  Mask Closest() const {
    Mask best;
    double best_drop = 0.0;
    for (const auto& [mask, acc] : full_) {
      if (CountInt8(mask) == 0) continue;
      if (best.empty() || Drop(acc) < best_drop) {
        best = mask;
        best_drop = Drop(acc);
      }
    }
    return best;
  }

  StatusOr<SearchOutcome> NotMet(const std::string& why) {
    const Mask closest = Closest();
    char text[160];
    std::snprintf(text, sizeof(text), "%s; closest config loses %.2f points (budget %.2f)",
                  why.c_str(), Drop(full_.at(closest)), settings_.max_drop);
    return Finish(closest, false, text);
  }

  const SearchOutcome& outcome() const { return outcome_; }
  void CountRefinement(int full) { outcome_.refinement_full_evaluations += full; }
  const SearchSettings& settings() const { return settings_; }
  const SearchSpace& space() const { return space_; }

 private:
  void Emit(const SearchStep& step) {
    outcome_.steps.push_back(step);
    if (observer_) observer_(step, outcome_);
  }
  // A benchmark step (and its count), with the accuracy when known.
  void EmitBenchmark(const Mask& mask, double ms, const std::string& reason,
                     const SpeedModel* speed = nullptr) {
    ++outcome_.benchmarks;
    SearchStep step;
    step.kind = "benchmark";
    step.mask = mask;
    step.reason = reason;
    if (speed) step.predicted_ms = speed->PredictMs(mask);
    if (HasFull(mask)) {
      step.accuracy = full_.at(mask);
      step.drop = Drop(step.accuracy);
    }
    step.ms = ms;
    Emit(step);
  }

  const SearchSpace& space_;
  const SearchSettings& settings_;
  SearchBackend* backend_;
  StepObserver observer_;
  SearchOutcome outcome_;
  std::map<Mask, double> full_;
  std::map<Mask, double> bench_;   // first timings (round 0)
  std::map<Mask, double> steady_;  // SteadyBench's medians
  double spread_ = 0.0;
};

// Ranks the INT8 layers of `current`: the ranking-subset accuracy of
// `current` with each one back in FP32, best recovery first.
StatusOr<std::vector<int>> RankLayers(SearchRun* run, const Mask& current) {
  std::vector<Mask> masks = {current};
  std::vector<int> layers;
  for (int i = 0; i < run->space().size(); ++i) {
    if (!current[i]) continue;
    Mask m = current;
    m[i] = false;
    masks.push_back(m);
    layers.push_back(i);
  }
  if (layers.empty()) return layers;
  MIXQ_ASSIGN_OR_RETURN(std::vector<double> acc,
                        run->Ranking(masks, "rank layers: each INT8 layer back to FP32"));
  std::vector<int> order(layers.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = static_cast<int>(k);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return acc[a + 1] > acc[b + 1]; });
  std::vector<int> ranked;
  for (int k : order) ranked.push_back(layers[k]);
  return ranked;
}

// The final refinement's candidates around `answer`: each FP32 layer back in
// INT8; each run of two or more consecutive FP32 layers (topological order)
// in INT8 at once, since the boundaries inside a run only go away together;
// and each INT8 layer that feeds or reads an FP32 one in FP32, which moves a
// boundary outward.
std::vector<Mask> RefineNeighbours(const SearchSpace& space, const Mask& answer) {
  std::vector<Mask> out;
  auto add = [&](const Mask& m) {
    if (CountInt8(m) > 0 && m != answer && std::find(out.begin(), out.end(), m) == out.end()) {
      out.push_back(m);
    }
  };
  const int n = space.size();
  for (int i = 0; i < n; ++i) {
    if (answer[i]) continue;
    Mask m = answer;
    m[i] = true;
    add(m);
  }
  for (int i = 0; i < n;) {
    if (answer[i]) {
      ++i;
      continue;
    }
    int end = i;
    while (end < n && !answer[end]) ++end;
    if (end - i >= 2) {
      Mask m = answer;
      for (int k = i; k < end; ++k) m[k] = true;
      add(m);
    }
    i = end;
  }
  std::vector<bool> borders(n, false);
  for (int i = 0; i < n; ++i) {
    for (int p : space.layers[i].producers) {
      if (answer[i] != answer[p]) borders[answer[i] ? i : p] = true;
    }
  }
  for (int i = 0; i < n; ++i) {
    if (!borders[i]) continue;
    Mask m = answer;
    m[i] = false;
    add(m);
  }
  return out;
}

// One pass of the final refinement around `answer` (feasible, measured):
// the neighbour that replaces it, or `answer` itself when none verified
// faster and within budget.
StatusOr<Mask> RefinePass(SearchRun* run, const Mask& answer, const SpeedModel& speed, int pass) {
  const SearchSettings& settings = run->settings();
  const double budget = settings.max_drop;
  std::vector<Mask> near;
  for (const Mask& m : RefineNeighbours(run->space(), answer)) {
    if (run->HasFull(m) && run->Drop(run->FullAccuracy(m)) > budget) continue;
    near.push_back(m);
  }
  if (near.empty()) return answer;
  // Screened on the ranking subset: the answer's measured drop plus what the
  // change costs there. A neighbour already verified keeps its measurement.
  std::vector<Mask> masks = {answer};
  masks.insert(masks.end(), near.begin(), near.end());
  MIXQ_ASSIGN_OR_RETURN(std::vector<double> acc,
                        run->Ranking(masks, "final refinement: the answer's neighbours"));
  const double answer_drop = run->Drop(run->FullAccuracy(answer));
  std::vector<std::pair<double, Mask>> screened;  // (predicted ms, mask)
  for (size_t k = 0; k < near.size(); ++k) {
    const double drop = run->HasFull(near[k]) ? run->Drop(run->FullAccuracy(near[k]))
                                              : answer_drop + (acc[0] - acc[k + 1]);
    if (drop <= budget + settings.ranking_resolution) {
      screened.emplace_back(speed.PredictMs(near[k]), near[k]);
    }
  }
  if (screened.empty()) return answer;
  // Which to time when there are too many: the moves back to INT8 first
  // (what the refinement is for; the profile may be exactly what kept those
  // layers in FP32, so it does not rank them against the rest), then by the
  // profile's prediction. The measurement, not the prediction, decides.
  const int answer_int8 = CountInt8(answer);
  std::stable_sort(screened.begin(), screened.end(), [&](const auto& a, const auto& b) {
    const bool a_back = CountInt8(a.second) > answer_int8,
               b_back = CountInt8(b.second) > answer_int8;
    if (a_back != b_back) return a_back;
    return a.first < b.first;
  });
  if (screened.size() > static_cast<size_t>(kRefineCandidates)) screened.resize(kRefineCandidates);
  std::vector<Mask> timed;
  for (const auto& entry : screened) timed.push_back(entry.second);
  MIXQ_RETURN_IF_ERROR(run->Bench(timed, "final refinement: a neighbour of the answer", &speed));
  // The bolder move as well: every FP32 layer whose flip alone screened
  // within budget and timed faster, back in INT8 at once (one flip per pass
  // would take as many passes, each a full evaluation, to undo a cautious
  // answer); screened and timed as a whole, since neither drops nor times
  // add up.
  Mask combined = answer;
  int flips = 0;
  for (const Mask& m : timed) {
    if (CountInt8(m) != CountInt8(answer) + 1 || run->BenchMs(m) >= run->SteadyMs(answer)) continue;
    for (size_t i = 0; i < m.size(); ++i) {
      if (m[i] && !answer[i]) {
        combined[i] = true;
        ++flips;
      }
    }
  }
  if (flips >= 2 && std::find(timed.begin(), timed.end(), combined) == timed.end() &&
      !(run->HasFull(combined) && run->Drop(run->FullAccuracy(combined)) > budget)) {
    MIXQ_ASSIGN_OR_RETURN(
        std::vector<double> whole,
        run->Ranking({combined}, "final refinement: the faster harmless flips together"));
    const double drop = run->HasFull(combined) ? run->Drop(run->FullAccuracy(combined))
                                               : answer_drop + (acc[0] - whole[0]);
    if (drop <= budget + settings.ranking_resolution) {
      MIXQ_RETURN_IF_ERROR(
          run->Bench({combined}, "final refinement: the faster harmless flips together", &speed));
      timed.push_back(combined);
    }
  }
  std::stable_sort(timed.begin(), timed.end(),
                   [&](const Mask& a, const Mask& b) { return run->BenchMs(a) < run->BenchMs(b); });
  std::vector<Mask> field = {answer};
  for (const Mask& m : timed) {
    if (static_cast<int>(field.size()) > kMaxRivals) break;
    if (run->BenchMs(m) < run->SteadyMs(answer) * (1.0 + kRivalMargin)) field.push_back(m);
  }
  if (field.size() == 1) return answer;
  // Head to head in rounds of their own (after those SteadyBench and Finish
  // use), so that the answer and its neighbours meet the same load.
  std::map<Mask, std::vector<double>> paired;
  MIXQ_ASSIGN_OR_RETURN(
      auto median, run->Rounds(field, 2 * kMaxConfirmRounds + 1 + pass * kMaxConfirmRounds,
                               "final refinement: head to head with the answer", true, &paired));
  // A full evaluation is bought only by a gain the timings agree on: a
  // median faster by kRefineMinGain, and faster than the answer in every
  // round they met in. One-second timings on a shared machine spread by more
  // than the gains refined here, and a median of a few of them alone buys
  // evaluations for noise.
  auto faster_every_round = [&](const Mask& m) {
    const std::vector<double>& mine = paired[m];
    const std::vector<double>& theirs = paired[answer];
    for (size_t r = 0; r < mine.size() && r < theirs.size(); ++r) {
      if (mine[r] >= theirs[r]) return false;
    }
    return true;
  };
  std::vector<std::pair<double, Mask>> faster;
  for (size_t k = 1; k < field.size(); ++k) {
    if (median.at(field[k]) < median.at(answer) * (1.0 - kRefineMinGain) &&
        faster_every_round(field[k])) {
      faster.emplace_back(median.at(field[k]), field[k]);
    }
  }
  std::stable_sort(faster.begin(), faster.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  // Verified fastest first, `parallel` at once; the fastest that fits wins.
  const int per_round = std::max(1, settings.parallel);
  for (size_t k = 0; k < faster.size() && run->RemainingFull() > 0;) {
    std::vector<Mask> batch;
    while (k < faster.size() &&
           static_cast<int>(batch.size()) < std::min(per_round, run->RemainingFull())) {
      batch.push_back(faster[k++].second);
    }
    const int before = run->outcome().full_evaluations;
    MIXQ_RETURN_IF_ERROR(run->Full(batch, "final refinement: faster head to head than the answer"));
    run->CountRefinement(run->outcome().full_evaluations - before);
    for (const Mask& m : batch) {
      if (run->Drop(run->FullAccuracy(m)) <= budget) return m;
    }
  }
  return answer;
}

// Ends a strategy whose `answer` is within budget: refined (with `speed`, or
// a profile taken now), then head to head with every verified feasible
// config as a possible rival.
StatusOr<SearchOutcome> FinishRefined(SearchRun* run, Mask answer, std::string verdict,
                                      const SpeedModel* speed) {
  const double budget = run->settings().max_drop;
  if (run->settings().refine) {
    std::unique_ptr<SpeedModel> own;
    if (!speed) {
      MIXQ_ASSIGN_OR_RETURN(ProfileData profile, run->Profile());
      own = std::make_unique<SpeedModel>(run->space(), std::move(profile));
      speed = own.get();
    }
    MIXQ_RETURN_IF_ERROR(run->Bench({answer}, "the answer's speed", speed));
    const Mask start = answer;
    for (int pass = 0; pass < kRefinePasses && run->RemainingFull() > 0; ++pass) {
      MIXQ_ASSIGN_OR_RETURN(Mask next, RefinePass(run, answer, *speed, pass));
      if (next == answer) break;
      answer = next;
    }
    if (answer != start) {
      verdict += "; the final refinement found a faster config within budget (" +
                 std::to_string(run->outcome().refinement_full_evaluations) + " full evaluations)";
    }
  }
  std::vector<Mask> feasible;
  for (const auto& [mask, acc] : run->full()) {
    if (run->Drop(acc) <= budget && CountInt8(mask) > 0 && run->HasBench(mask)) {
      feasible.push_back(mask);
    }
  }
  return run->Finish(answer, true, verdict, feasible);
}

StatusOr<SearchOutcome> AccuracyAware(SearchRun* run) {
  const double budget = run->settings().max_drop;
  MIXQ_RETURN_IF_ERROR(run->Baselines());
  Mask current = run->space().AllInt8();
  if (run->Drop(run->FullAccuracy(current)) <= budget) {
    return FinishRefined(run, current, "all-INT8 is within budget", nullptr);
  }
  double current_acc = run->FullAccuracy(current);
  MIXQ_ASSIGN_OR_RETURN(std::vector<int> order, RankLayers(run, current));
  size_t next = 0;
  while (run->RemainingFull() > 0) {
    if (next >= order.size()) break;
    Mask candidate = current;
    candidate[order[next++]] = false;
    if (CountInt8(candidate) == 0) break;
    MIXQ_RETURN_IF_ERROR(run->Full({candidate}, "revert the worst-ranked layer to FP32"));
    const double acc = run->FullAccuracy(candidate);
    if (run->Drop(acc) <= budget) {
      return FinishRefined(run, candidate, "within budget after reverting layers in rank order",
                           nullptr);
    }
    const bool worse = acc < current_acc;
    current = candidate;
    current_acc = acc;
    if (worse) {
      MIXQ_ASSIGN_OR_RETURN(order, RankLayers(run, current));
      next = 0;
    }
  }
  if (run->RemainingFull() == 0) return run->NotMet("full-evaluation limit reached");
  return run->NotMet("only FP32 meets the budget");
}

// speed_aware's screen (SearchSettings::screen): a config's drop on the
// ranking subset, scaled to the full set by what the configs measured both
// ways showed, decides whether it is worth a full evaluation. The subset is
// sized so that one sample is a fraction of the budget, so a config it puts
// well over budget would fail in full too, for a fraction of the cost.
class Screener {
 public:
  explicit Screener(SearchRun* run) : run_(run) {}
  bool enabled() const { return run_->settings().screen; }
  // kMaxScreenRounds screens spent: nothing more is screened (nor verified
  // unscreened: the screen is what keeps full evaluations few).
  bool spent() const { return rounds_ >= kMaxScreenRounds; }

  // Measures the masks not screened yet (with FP32, the first time).
  Status Measure(const std::vector<Mask>& masks, const std::string& reason) {
    std::vector<Mask> todo;
    const Mask fp32 = run_->space().AllFp32();
    if (std::isnan(fp32_subset_)) todo.push_back(fp32);
    for (const Mask& m : masks) {
      if (!Has(m) && std::find(todo.begin(), todo.end(), m) == todo.end()) todo.push_back(m);
    }
    if (todo.empty()) return Status::Ok();
    ++rounds_;
    MIXQ_ASSIGN_OR_RETURN(std::vector<double> acc, run_->Ranking(todo, reason));
    Record(todo, acc);
    return Status::Ok();
  }
  // Subset accuracies measured elsewhere (the sensitivity ranking).
  void Record(const std::vector<Mask>& masks, const std::vector<double>& acc) {
    for (size_t k = 0; k < masks.size() && k < acc.size(); ++k) {
      if (CountInt8(masks[k]) == 0) fp32_subset_ = acc[k];
    }
    for (size_t k = 0; k < masks.size() && k < acc.size(); ++k) subset_acc_[masks[k]] = acc[k];
  }
  bool Has(const Mask& m) const { return subset_acc_.count(m) != 0; }
  // The quantized config screened with the least drop (empty if none).
  Mask Closest() const {
    Mask best;
    for (const auto& [mask, acc] : subset_acc_) {
      if (CountInt8(mask) > 0 && (best.empty() || SubsetDrop(mask) < SubsetDrop(best))) best = mask;
    }
    return best;
  }
  // Within budget up to one ranking sample (the subset's resolution).
  bool Passes(const Mask& m) const { return LeastDrop(m) <= run_->settings().max_drop; }
  // The reading less one sample: what the drop model learns, so that it
  // proposes what the screen would pass. (Allowing for the subset's
  // sampling error instead, about sqrt(2 d r) for a drop d and a resolution
  // r, passed nearly every config on a 400-sample subset at budget 1.0 on
  // the outlier model: 15 full evaluations, 13 of them over budget.)
  double LeastDrop(const Mask& m) const {
    return std::max(0.0, EstimatedDrop(m) - Ratio() * Resolution());
  }

 private:
  // The most screening calls in one search.
  static constexpr int kMaxScreenRounds = 12;

  double SubsetDrop(const Mask& m) const { return fp32_subset_ - subset_acc_.at(m); }
  // The full-set drop the subset predicts (Has(m) must hold).
  double EstimatedDrop(const Mask& m) const { return Ratio() * SubsetDrop(m); }
  double Resolution() const { return run_->settings().ranking_resolution; }
  // Full-set points per subset point: least squares through the origin over
  // the configs measured both ways whose subset drop exceeds one sample,
  // clamped to [0.5, 2]; 1 until there is one.
  double Ratio() const {
    double num = 0.0, den = 0.0;
    for (const auto& [mask, acc] : subset_acc_) {
      if (CountInt8(mask) == 0 || !run_->HasFull(mask)) continue;
      const double sub = SubsetDrop(mask);
      if (sub <= Resolution()) continue;
      num += run_->Drop(run_->FullAccuracy(mask)) * sub;
      den += sub * sub;
    }
    return den > 0.0 ? std::clamp(num / den, 0.5, 2.0) : 1.0;
  }

  SearchRun* run_;
  std::map<Mask, double> subset_acc_;
  double fp32_subset_ = std::numeric_limits<double>::quiet_NaN();
  int rounds_ = 0;
};

StatusOr<SearchOutcome> SpeedAware(SearchRun* run) {
  const SearchSpace& space = run->space();
  const double budget = run->settings().max_drop;
  const Mask int8 = space.AllInt8(), fp32 = space.AllFp32();
  // Speed first: profiles and benchmarks cost no full evaluation. The
  // config predicted fastest regardless of accuracy (all-INT8 with the
  // layers that are slower in INT8 on this class back in FP32) is measured
  // against all-INT8, and the faster of the two is the first one verified.
  MIXQ_ASSIGN_OR_RETURN(ProfileData profile, run->Profile());
  SpeedModel speed(space, std::move(profile));
  Mask first = FastestPredicted(space, speed);
  if (CountInt8(first) == 0) first = int8;
  MIXQ_RETURN_IF_ERROR(
      run->Bench({fp32, int8, first}, "FP32, all-INT8 and the config predicted fastest", &speed));
  if (run->BenchMs(first) >= run->BenchMs(int8)) first = int8;
  // Screened first: when the subset puts it over budget, its full
  // evaluation is saved and the search goes on from the rankings.
  Screener screen(run);
  bool first_screened_out = false;
  if (screen.enabled()) {
    MIXQ_RETURN_IF_ERROR(
        screen.Measure({first}, "screen: the config measured fastest, on the ranking subset"));
    first_screened_out = !screen.Passes(first);
  }
  // Together with FP32 in one round. When `first` fits, the search ends
  // with as many full evaluations as the accuracy-aware baseline (FP32 and
  // all-INT8) and an answer at least as fast as all-INT8, measured.
  std::vector<Mask> round = {fp32};
  if (!first_screened_out) round.push_back(first);
  if (run->settings().reference_int8) round.push_back(int8);
  MIXQ_RETURN_IF_ERROR(run->Full(
      round, first_screened_out ? "FP32 reference (the config measured fastest screened over "
                                  "budget on the ranking subset)"
             : first == int8    ? "FP32 reference and all-INT8"
                                : "FP32 reference and the config measured fastest (all-INT8 "
                                  "with the layers that are slower in INT8 back in FP32)"));
  run->SetReferences(run->BenchMs(fp32), run->BenchMs(int8));
  if (!first_screened_out && run->Drop(run->FullAccuracy(first)) <= budget) {
    return FinishRefined(run, first,
                         first == int8 ? "all-INT8 is within budget and the fastest measured"
                                       : "the fastest measured config is within budget",
                         &speed);
  }

  // Sensitivity from both ends on the ranking subset: each layer back to
  // FP32 from all-INT8, and each layer alone in INT8 from FP32.
  std::vector<double> recovery(space.size(), 0.0), sensitivity(space.size(), 0.0);
  double kappa = 1.0;
  {
    std::vector<Mask> masks = {fp32, int8};
    for (int i = 0; i < space.size(); ++i) {
      Mask m = int8;
      m[i] = false;
      masks.push_back(m);
    }
    for (int i = 0; i < space.size(); ++i) {
      Mask m = fp32;
      m[i] = true;
      masks.push_back(m);
    }
    const size_t first_index = first == int8 ? 1 : masks.size();
    if (first != int8) masks.push_back(first);
    MIXQ_ASSIGN_OR_RETURN(
        std::vector<double> acc,
        run->Ranking(masks, "sensitivity: each layer back to FP32 / alone in INT8"));
    screen.Record(masks, acc);
    const int n = space.size();
    for (int i = 0; i < n; ++i) {
      recovery[i] = acc[i + 2] - acc[1];
      sensitivity[i] = acc[0] - acc[n + i + 2];
    }
    // Subset points to full-set points, from the verified config.
    const double ranking_drop = acc[0] - acc[first_index];
    if (run->HasFull(first) && ranking_drop > 0.0) {
      kappa = run->Drop(run->FullAccuracy(first)) / ranking_drop;
    }
  }
  DropModel drop(recovery, sensitivity, kappa);
  drop.Learn(fp32, 0.0);
  for (const auto& [mask, acc] : run->full()) {
    if (CountInt8(mask) > 0) drop.Learn(mask, run->Drop(acc));
  }
  if (first_screened_out) drop.Observe(first, screen.LeastDrop(first));

  // Speed in measured milliseconds: the profile's prediction scaled by the
  // mean measured/predicted ratio of the configs benchmarked so far (a
  // profile misses a share of a whole run, and boundaries cost more than
  // their reorders), so that a candidate compares with measured answers.
  auto expected_ms = [&](const Mask& m) {
    double ratio = 0.0;
    for (const auto& [mask, ms] : run->benched()) ratio += ms / speed.PredictMs(mask);
    if (!run->benched().empty()) ratio /= static_cast<double>(run->benched().size());
    return speed.PredictMs(m) * (ratio > 0.0 ? ratio : 1.0);
  };
  // The fastest measured config within budget (FP32 at first).
  auto best_measured_ms = [&]() {
    double best = std::numeric_limits<double>::infinity();
    for (const auto& [mask, acc] : run->full()) {
      if (run->Drop(acc) <= budget && run->HasBench(mask))
        best = std::min(best, run->SteadyMs(mask));
    }
    return best;
  };
  // How far the drop model over-predicted a verified config, before it
  // learned from it: a config predicted over budget by less than that may
  // well fit. The model never predicts a gain, so a measured gain over FP32
  // (noise on the evaluation set) counts as no drop, not as an error.
  double overestimate = 0.0;
  auto verify = [&](const std::vector<Mask>& batch, const std::string& reason) -> Status {
    std::vector<std::pair<double, double>> predicted;
    for (const Mask& m : batch) predicted.emplace_back(drop.Predict(m), speed.PredictMs(m));
    MIXQ_RETURN_IF_ERROR(run->Full(batch, reason, predicted));
    std::vector<Mask> fits;
    for (size_t k = 0; k < batch.size(); ++k) {
      const double measured = run->Drop(run->FullAccuracy(batch[k]));
      overestimate = std::max(overestimate, predicted[k].first - std::max(0.0, measured));
      drop.Learn(batch[k], measured);
      if (measured <= budget) fits.push_back(batch[k]);
    }
    // Measured at once, in several rounds: the next candidates must beat its
    // real speed, and one noisy timing would buy a full evaluation.
    MIXQ_RETURN_IF_ERROR(run->Bench(fits, "verified within budget", &speed));
    return run->SteadyBench(fits);
  };
  // Of `candidates` (fastest first), the first `want` that pass the screen;
  // when a faster one is not screened yet, those are screened (at most
  // `screen_batch` at once, taught to the drop model) and `screened` is set
  // instead, so that the caller proposes again with what the model learned.
  const size_t screen_batch = static_cast<size_t>(std::max(4, 2 * run->settings().parallel));
  auto pick = [&](const std::vector<Mask>& candidates, int want, const std::string& what,
                  bool* screened) -> StatusOr<std::vector<Mask>> {
    *screened = false;
    std::vector<Mask> batch, unscreened;
    for (const Mask& m : candidates) {
      if (screen.enabled() && !screen.Has(m)) {
        if (screen.spent()) continue;
        unscreened.push_back(m);
        if (unscreened.size() >= screen_batch) break;
        continue;
      }
      if (screen.enabled() && !screen.Passes(m)) continue;
      if (!unscreened.empty()) break;
      batch.push_back(m);
      if (static_cast<int>(batch.size()) >= want) break;
    }
    if (unscreened.empty()) return batch;
    MIXQ_RETURN_IF_ERROR(screen.Measure(unscreened, "screen: " + what + ", on the ranking subset"));
    for (const Mask& m : unscreened) drop.Observe(m, screen.LeastDrop(m));
    *screened = true;
    return std::vector<Mask>{};
  };
  const auto per_round = [&] { return std::min(run->settings().parallel, run->RemainingFull()); };
  bool refined = false;
  while (run->RemainingFull() > 0) {
    std::vector<Mask> pool = ProposeCandidates(space, speed, drop, budget);
    // Worth a full evaluation only if expected faster than the fastest
    // measured config within budget by more than min_gain, and by more than
    // the same config's timings have spread across rounds: smaller gains are
    // within what the prediction and a benchmark resolve on this class.
    const double gain = std::min(0.5, std::max(run->settings().min_gain, run->TimingSpread()));
    const double worth = best_measured_ms() * (1.0 - gain);
    std::vector<Mask> worthy;
    for (const Mask& m : pool) {
      if (!run->HasFull(m) && expected_ms(m) < worth) worthy.push_back(m);
    }
    bool screened = false;
    MIXQ_ASSIGN_OR_RETURN(
        std::vector<Mask> batch,
        pick(worthy, per_round(), "the fastest predicted within budget", &screened));
    if (screened) continue;
    if (!batch.empty()) {
      MIXQ_RETURN_IF_ERROR(verify(batch, "fastest predicted within budget"));
      continue;
    }
    // Nothing left predicted within budget and faster. Once, refine
    // locally: the faster one-layer flips of the fastest verified config
    // whose predicted drop is over budget by less than the model has
    // over-predicted so far (screened like the rest).
    if (refined || overestimate <= 0.0) break;
    Mask anchor;
    for (const auto& [mask, acc] : run->full()) {
      if (CountInt8(mask) == 0 || run->Drop(acc) > budget || !run->HasBench(mask)) continue;
      if (anchor.empty() || run->BenchMs(mask) < run->BenchMs(anchor)) anchor = mask;
    }
    if (anchor.empty()) break;
    std::vector<std::pair<double, Mask>> flips;
    for (int i = 0; i < space.size(); ++i) {
      Mask m = anchor;
      m[i] = !m[i];
      if (CountInt8(m) == 0 || run->HasFull(m) || expected_ms(m) >= worth) continue;
      if (drop.Predict(m) <= budget + overestimate) flips.emplace_back(speed.PredictMs(m), m);
    }
    std::sort(flips.begin(), flips.end());
    std::vector<Mask> ordered;
    for (const auto& [ms, m] : flips) ordered.push_back(m);
    MIXQ_ASSIGN_OR_RETURN(batch, pick(ordered, per_round(),
                                      "one flip from the fastest verified "
                                      "config, within the model's error",
                                      &screened));
    if (screened) continue;  // the same flips, screened, are picked next time
    refined = true;
    if (batch.empty()) break;
    MIXQ_RETURN_IF_ERROR(
        verify(batch, "one flip from the fastest verified config, within the model's error"));
  }

  // Every verified feasible config was benchmarked when it was verified;
  // the fastest measured one is the answer.
  std::vector<Mask> feasible;
  for (const auto& [mask, acc] : run->full()) {
    if (run->Drop(acc) <= budget && CountInt8(mask) > 0) feasible.push_back(mask);
  }
  if (feasible.empty()) {
    if (run->RemainingFull() == 0) return run->NotMet("full-evaluation limit reached");
    const Mask closest = screen.Closest();
    if (run->Closest().empty() && !closest.empty()) {
      // Everything was screened out: the verdict names a measured config.
      MIXQ_RETURN_IF_ERROR(run->Full({closest}, "the config the screen put closest to the budget"));
    }
    return run->NotMet(
        "no quantized config verified within budget; none left predicted within "
        "budget and faster than FP32");
  }
  MIXQ_RETURN_IF_ERROR(run->Bench(feasible, "verified within budget", &speed));  // none left
  Mask chosen = feasible.front();
  for (const Mask& m : feasible) {
    if (run->SteadyMs(m) < run->SteadyMs(chosen)) chosen = m;
  }
  return FinishRefined(run, chosen, "fastest measured config within budget", &speed);
}

StatusOr<SearchOutcome> Exhaustive(SearchRun* run) {
  const SearchSpace& space = run->space();
  const double budget = run->settings().max_drop;
  MIXQ_RETURN_IF_ERROR(run->Baselines());
  // The enumerated layers (RunStrategy checked them); the others stay INT8,
  // so on a subset FP32 is the reference but not one of the configs.
  std::vector<int> set = run->settings().exhaustive_layers;
  const bool subset = !set.empty();
  if (!subset) {
    for (int i = 0; i < space.size(); ++i) set.push_back(i);
  }
  const int k = static_cast<int>(set.size());
  std::vector<Mask> all;
  for (uint32_t bits = 0; bits < (1u << k); ++bits) {
    Mask m = space.AllInt8();
    for (int j = 0; j < k; ++j) m[set[j]] = (bits >> j) & 1u;
    all.push_back(m);
  }
  constexpr size_t kChunk = 64;
  for (size_t start = 0; start < all.size(); start += kChunk) {
    std::vector<Mask> chunk(all.begin() + start,
                            all.begin() + std::min(all.size(), start + kChunk));
    MIXQ_RETURN_IF_ERROR(run->Full(chunk, "exhaustive"));
  }
  MIXQ_ASSIGN_OR_RETURN(ProfileData profile, run->Profile());
  SpeedModel speed(space, std::move(profile));
  std::vector<Mask> feasible;
  for (const Mask& m : all) {
    if (CountInt8(m) > 0 && run->Drop(run->FullAccuracy(m)) <= budget) feasible.push_back(m);
  }
  if (feasible.empty()) {
    return run->NotMet(subset ? "no config of the " + std::to_string(k) +
                                    " enumerated layers (the others INT8) meets the budget"
                              : "only FP32 meets the budget");
  }
  std::sort(feasible.begin(), feasible.end(),
            [&](const Mask& a, const Mask& b) { return speed.PredictMs(a) < speed.PredictMs(b); });
  const int limit = run->settings().exhaustive_benchmarks;
  if (limit > 0 && feasible.size() > static_cast<size_t>(limit)) feasible.resize(limit);
  MIXQ_RETURN_IF_ERROR(run->Bench(feasible, "exhaustive: feasible", &speed));
  Mask chosen = feasible.front();
  for (const Mask& m : feasible) {
    if (run->BenchMs(m) < run->BenchMs(chosen)) chosen = m;
  }
  return run->Finish(chosen, true,
                     subset ? "fastest measured of all configs of the " + std::to_string(k) +
                                  " enumerated layers within budget"
                            : "fastest measured of all configs within budget",
                     feasible);
}

// Answers repeated requests from memory; forwards the rest in one batch.
class MemoBackend final : public SearchBackend {
 public:
  explicit MemoBackend(SearchBackend* inner) : inner_(inner) {}
  StatusOr<std::vector<double>> EvaluateFull(const std::vector<Mask>& masks) override {
    return Memo(
        masks, &full_, [&](const std::vector<Mask>& m) { return inner_->EvaluateFull(m); },
        &new_full_);
  }
  StatusOr<std::vector<double>> EvaluateRanking(const std::vector<Mask>& masks) override {
    int unused = 0;
    return Memo(
        masks, &ranking_, [&](const std::vector<Mask>& m) { return inner_->EvaluateRanking(m); },
        &unused);
  }
  StatusOr<std::vector<double>> Benchmark(const std::vector<Mask>& masks, int round) override {
    int unused = 0;
    return Memo(
        masks, &bench_[round],
        [&](const std::vector<Mask>& m) { return inner_->Benchmark(m, round); }, &unused);
  }
  StatusOr<ProfileData> Profile() override {
    if (!profile_) {
      MIXQ_ASSIGN_OR_RETURN(ProfileData profile, inner_->Profile());
      profile_ = std::make_unique<ProfileData>(std::move(profile));
    }
    return *profile_;
  }
  int new_full() const { return new_full_; }

 private:
  template <typename Fn>
  StatusOr<std::vector<double>> Memo(const std::vector<Mask>& masks, std::map<Mask, double>* memo,
                                     Fn fetch, int* fetched) {
    std::vector<Mask> missing;
    for (const Mask& m : masks) {
      if (!memo->count(m) && std::find(missing.begin(), missing.end(), m) == missing.end()) {
        missing.push_back(m);
      }
    }
    if (!missing.empty()) {
      MIXQ_ASSIGN_OR_RETURN(std::vector<double> values, fetch(missing));
      if (values.size() != missing.size()) {
        return Internal("backend returned the wrong number of results");
      }
      for (size_t i = 0; i < missing.size(); ++i) (*memo)[missing[i]] = values[i];
      *fetched += static_cast<int>(missing.size());
    }
    std::vector<double> out;
    for (const Mask& m : masks) out.push_back(memo->at(m));
    return out;
  }

  SearchBackend* inner_;
  std::map<Mask, double> full_, ranking_;
  std::map<int, std::map<Mask, double>> bench_;  // per round
  std::unique_ptr<ProfileData> profile_;
  int new_full_ = 0;
};

}  // namespace

const std::vector<std::string>& StrategyNames() {
  static const std::vector<std::string> kNames = {"accuracy_aware", "speed_aware", "exhaustive"};
  return kNames;
}

StatusOr<SearchOutcome> RunStrategy(const std::string& strategy, const SearchSpace& space,
                                    const SearchSettings& settings, SearchBackend* backend,
                                    const StepObserver& observer) {
  if (space.size() == 0) return InvalidArgument("the model has no quantizable layers");
  if (!(settings.max_drop >= 0.0)) return InvalidArgument("budget must be >= 0 points");
  if (settings.max_full_evaluations < 2) {
    return InvalidArgument("max_full_evaluations must be at least 2 (FP32 and all-INT8)");
  }
  if (!(settings.min_gain >= 0.0 && settings.min_gain < 1.0)) {
    return InvalidArgument("min_gain must be in [0, 1) (a fraction of the time)");
  }
  if (settings.confirm_rounds < 0 || settings.confirm_rounds > kMaxConfirmRounds) {
    return InvalidArgument("confirm_rounds must be in [0, " + std::to_string(kMaxConfirmRounds) +
                           "]");
  }
  const std::vector<int>& set = settings.exhaustive_layers;
  if (!set.empty() && strategy != "exhaustive") {
    return InvalidArgument("a set of layers to enumerate is for strategy exhaustive, not '" +
                           strategy + "'");
  }
  for (size_t j = 0; j < set.size(); ++j) {
    if (set[j] < 0 || set[j] >= space.size()) {
      return InvalidArgument("exhaustive layer index " + std::to_string(set[j]) +
                             " is out of range (the model has " + std::to_string(space.size()) +
                             " layers)");
    }
    if (std::find(set.begin(), set.begin() + j, set[j]) != set.begin() + j) {
      return InvalidArgument("exhaustive layer '" + space.layers[set[j]].name +
                             "' is listed twice");
    }
  }
  SearchRun run(space, settings, backend, observer);
  if (strategy == "accuracy_aware") return AccuracyAware(&run);
  if (strategy == "speed_aware") return SpeedAware(&run);
  if (strategy == "exhaustive") {
    const int enumerated = set.empty() ? space.size() : static_cast<int>(set.size());
    if (enumerated > kMaxExhaustiveLayers) {
      return InvalidArgument(
          "exhaustive search enumerates at most " + std::to_string(kMaxExhaustiveLayers) +
          " layers (2^" + std::to_string(kMaxExhaustiveLayers) + " configs); " +
          (set.empty() ? "the model has " + std::to_string(enumerated) +
                             " (choose a set of layers: strategy.layers, --layers)"
                       : "the set has " + std::to_string(enumerated)));
    }
    return Exhaustive(&run);
  }
  return InvalidArgument("unknown strategy '" + strategy +
                         "' (accuracy_aware, speed_aware, exhaustive)");
}

StatusOr<std::vector<SearchOutcome>> RunPareto(const SearchSpace& space,
                                               std::vector<double> budgets,
                                               const SearchSettings& settings,
                                               SearchBackend* backend, int* new_full_evaluations,
                                               const StepObserver& observer) {
  if (budgets.empty()) return InvalidArgument("pareto needs at least one budget");
  std::sort(budgets.begin(), budgets.end());
  MemoBackend memo(backend);
  std::vector<SearchOutcome> outcomes;
  for (double budget : budgets) {
    SearchSettings one = settings;
    one.max_drop = budget;
    MIXQ_ASSIGN_OR_RETURN(SearchOutcome outcome,
                          RunStrategy("speed_aware", space, one, &memo, observer));
    outcomes.push_back(std::move(outcome));
  }
  if (new_full_evaluations) *new_full_evaluations = memo.new_full();
  return outcomes;
}

}  // namespace mixq
