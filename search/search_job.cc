#include "search/search_job.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "common/dataset.h"
#include "common/eval_metric.h"
#include "common/hardware_info.h"
#include "common/sha256.h"
#include "common/table_format.h"
#include "coordinator/coordinator_client.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/onnx/qdq_export.h"
#include "search/distributed_backend.h"
#include "search/ranking_size.h"
#include "search/search_calibration.h"
#include "search/search_progress.h"
#include "search/search_records.h"
#include "search/search_space.h"
#include "search/search_summary.h"
#include "search/strategy.h"

namespace mixq {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string Absolute(const std::string& path) {
  return fs::absolute(path).lexically_normal().string();
}

Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) return Unavailable(path + ": cannot open for writing");
  file << text;
  return file ? Status::Ok() : Unavailable(path + ": write failed");
}

// Connected classes once at least `min_workers` workers are connected.
StatusOr<std::vector<std::string>> WaitForWorkers(CoordinatorClient* client,
                                                  const SearchJobOptions& options) {
  const auto start = Clock::now();
  while (true) {
    if (options.stop && options.stop()) return Unavailable("the coordinator is stopping");
    StatusOr<proto::StatusReply> s = client->GetStatus(0, milliseconds(5000));
    if (s.ok() && s->workers() >= std::max(1, options.min_workers)) {
      return std::vector<std::string>(s->hardware_classes().begin(), s->hardware_classes().end());
    }
    if (options.worker_wait_seconds > 0 &&
        Clock::now() - start > std::chrono::seconds(options.worker_wait_seconds)) {
      return Unavailable("no worker connected to " + options.endpoint + " within " +
                         std::to_string(options.worker_wait_seconds) + " s" +
                         (s.ok() ? "" : ": " + s.status().message()));
    }
    std::this_thread::sleep_for(milliseconds(200));
  }
}

// The best of one budget's answers under different calibrations: within
// budget first, then the fastest measured, then the smallest drop.
size_t BestOutcome(const std::vector<const SearchOutcome*>& outcomes) {
  size_t best = 0;
  for (size_t i = 1; i < outcomes.size(); ++i) {
    const SearchOutcome& a = *outcomes[i];
    const SearchOutcome& b = *outcomes[best];
    if (a.met != b.met) {
      if (a.met) best = i;
      continue;
    }
    const bool better =
        a.met ? a.chosen_ms < b.chosen_ms
              : a.fp32_accuracy - a.chosen_accuracy < b.fp32_accuracy - b.chosen_accuracy;
    if (better) best = i;
  }
  return best;
}

// What `mixq search -o` writes, for one budget: summary, configs, the
// calibration (per class when there are several: the best answer of a class
// may use another method's scales) and the QDQ export of each class's chosen
// config.
Status WriteOutputs(const std::string& dir, const SearchJobSpec& spec, const SearchSpace& space,
                    const std::string& model_sha256, const InputShapes& input_shapes,
                    const std::vector<const Calibration*>& calibrations,
                    const std::vector<HardwareOutcome>& outcomes) {
  MIXQ_ASSIGN_OR_RETURN(std::vector<std::string> files,
                        WriteSearchOutputs(dir, space, model_sha256, outcomes));
  (void)files;
  MIXQ_RETURN_IF_ERROR(SaveCalibration(*calibrations[0], dir + "/calibration.json"));
  if (outcomes.size() > 1) {
    for (size_t i = 0; i < outcomes.size(); ++i) {
      MIXQ_RETURN_IF_ERROR(SaveCalibration(
          *calibrations[i], dir + "/calibration-" + std::to_string(i + 1) + ".json"));
    }
  }
  QdqExportOptions qdq;
  MIXQ_ASSIGN_OR_RETURN(qdq.seven_bit, ParseSevenBitWeights(spec.job.seven_bit));
  qdq.input_shapes = input_shapes;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    // One class: model.qdq.onnx as `mixq search`; more: one per class.
    const std::string path = outcomes.size() == 1
                                 ? dir + "/model.qdq.onnx"
                                 : dir + "/model-" + std::to_string(i + 1) + ".qdq.onnx";
    MIXQ_RETURN_IF_ERROR(ExportQdqFile(spec.job.model,
                                       space.ToConfig(outcomes[i].outcome.chosen, model_sha256),
                                       *calibrations[i], qdq, path));
  }
  return Status::Ok();
}

// One search job being driven. Each public method is a step of
// DriveSearchJob, in order; together they fill the job's rows, its output
// folder and the report. The job's row exists before the first step, so a
// failure of any step ends the job (failed), and a stop leaves it running.
class SearchJobRun {
 public:
  SearchJobRun(int64_t job_id, const SearchJobSpec& spec, const SearchJobOptions& options,
               Store* store, SearchProgress* progress, SearchJobResult* result,
               std::function<bool()> stop)
      : job_id_(job_id),
        spec_(spec),
        options_(options),
        store_(store),
        progress_(progress),
        result_(result),
        client_(options.endpoint),
        stop_(std::move(stop)) {}

  // Imports the model, builds the search space, waits for workers and
  // resolves the target classes among the connected ones.
  Status Prepare() {
    MIXQ_ASSIGN_OR_RETURN(Graph graph, ImportOnnx(spec_.job.model));
    MIXQ_ASSIGN_OR_RETURN(input_shapes_, ResolveJobInputShapes(spec_.job, graph));
    MIXQ_ASSIGN_OR_RETURN(model_sha256_, Sha256File(spec_.job.model));
    {
      // A ranking subset sized from the budget is bounded by the evaluation
      // slice, which a job may leave open (count absent: to the end); and a
      // subset as large as the slice screens nothing.
      MIXQ_ASSIGN_OR_RETURN(DatasetSpec eval_spec, LoadDatasetSpec(spec_.job.eval_dataset));
      // The budget is in the points of the metric, which must score the
      // dataset's task (the task's own by default).
      MIXQ_ASSIGN_OR_RETURN(metric_, ResolveEvalMetric(spec_.metric, eval_spec.task.kind,
                                                       "'metric'", spec_.job.eval_dataset));
      MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> eval_set, Dataset::Open(eval_spec));
      const int64_t rest = std::max<int64_t>(0, eval_set->size() - spec_.job.begin);
      eval_slice_ = spec_.job.count >= 0 ? std::min(spec_.job.count, rest) : rest;
    }
    space_ = BuildSearchSpace(graph);
    if (space_.size() == 0) return InvalidArgument(spec_.job.model + ": no quantizable layers");
    // strategy.layers names the model's layers; known only now.
    StatusOr<std::vector<int>> layers =
        FindLayers(space_, spec_.exhaustive_layers, "strategy.layers");
    if (!layers.ok()) return layers.status().WithContext(spec_.job.source);
    exhaustive_layers_ = std::move(*layers);
    MIXQ_ASSIGN_OR_RETURN(model_id_, store_->UpsertModel(model_sha256_, Absolute(spec_.job.model)));
    MIXQ_ASSIGN_OR_RETURN(std::vector<std::string> connected, WaitForWorkers(&client_, options_));
    MIXQ_ASSIGN_OR_RETURN(targets_, ResolveTargetClasses(spec_.job.hardware, connected));
    progress_->Line("search job " + std::to_string(job_id_) + " '" + spec_.job.name +
                    "': " + std::to_string(space_.size()) + " layers, strategy " + spec_.strategy +
                    (exhaustive_layers_.empty()
                         ? std::string()
                         : " over " + std::to_string(exhaustive_layers_.size()) + " of them") +
                    ", " + std::to_string(targets_.size()) + " target class(es), output " +
                    result_->output);
    backend_options_ = BackendOptions();
    return Status::Ok();
  }

  // One calibration per scale method (a file given by the job is the only
  // one), made by calibrate sub-jobs unless cached.
  Status Calibrate() {
    methods_ = spec_.calibration_methods;
    if (!spec_.calibration_file.empty()) methods_ = {"file"};
    calibrations_.resize(methods_.size());
    calibration_files_.resize(methods_.size());
    const std::string db_dir = fs::absolute(options_.db).parent_path().string();
    for (size_t m = 0; m < methods_.size(); ++m) {
      if (spec_.calibration_file.empty()) {
        progress_->Line("calibrating (" + methods_[m] + ", " +
                        std::to_string(spec_.calibration_samples) + " samples)");
      }
      DistributedBackend calibrator(&client_, store_, space_, model_sha256_, backend_options_);
      MIXQ_ASSIGN_OR_RETURN(
          calibration_files_[m],
          PrepareSearchCalibration(spec_, methods_[m], store_, model_id_, model_sha256_,
                                   input_shapes_, db_dir, &calibrator, &calibrations_[m]));
      Count(calibrator);
    }
    return Status::Ok();
  }

  const std::vector<std::string>& targets() const { return targets_; }

  // Runs the strategy on `hardware` once per calibration, keeps the best
  // answer of each budget, and writes the steps and answers to the DB.
  Status SearchClass(const std::string& hardware) {
    std::vector<double> class_budgets = spec_.budgets;
    std::vector<double> sorted;
    SearchStepWriter writer(store_, job_id_, hardware);
    // per_method[m][budget index], measured through backends[m].
    std::vector<std::vector<SearchOutcome>> per_method;
    std::vector<std::unique_ptr<DistributedBackend>> backends;
    const auto class_start = Clock::now();
    SearchSettings settings = spec_.settings;
    settings.exhaustive_layers = exhaustive_layers_;
    for (size_t m = 0; m < methods_.size(); ++m) {
      backend_options_.hardware = hardware;
      backend_options_.calibration_file = calibration_files_[m];
      backends.push_back(std::make_unique<DistributedBackend>(&client_, store_, space_,
                                                              model_sha256_, backend_options_));
      DistributedBackend& backend = *backends.back();
      if (spec_.relative) {
        // The FP32 accuracy is measured first (the strategy reuses it: memoized).
        MIXQ_ASSIGN_OR_RETURN(std::vector<double> fp32, backend.EvaluateFull({space_.AllFp32()}));
        class_budgets = AbsoluteBudgets(spec_, fp32[0]);
      }
      // The ranking subset: as the job says, or sized so that one sample is
      // well below the smallest budget in points (known only now when the
      // budgets are relative).
      const int64_t ranking = spec_.ranking_samples > 0
                                  ? spec_.ranking_samples
                                  : RankingSamplesForBudgets(class_budgets, eval_slice_);
      if (ranking <= 0) {
        return InvalidArgument(spec_.job.source + ": the evaluation slice is empty");
      }
      backend.set_ranking_count(ranking);
      settings.ranking_resolution = RankingResolution(ranking);
      settings.screen = ranking < eval_slice_;
      if (m == 0) {
        progress_->Line("ranking subset: the first " + std::to_string(ranking) +
                        " samples of the evaluation slice (one sample = " +
                        Fixed(settings.ranking_resolution, 3) + " points" +
                        (spec_.ranking_samples > 0 ? ")" : ", sized from the budget)"));
      }
      sorted = class_budgets;
      std::sort(sorted.begin(), sorted.end());
      Status write_status;
      const double current_budget = spec_.strategy == "pareto" ? sorted.back() : class_budgets[0];
      progress_->BeginClass(hardware, spec_.settings.max_full_evaluations);
      if (methods_.size() > 1) progress_->Line("calibration " + methods_[m]);
      // With several methods, each step's reason says which scales it used.
      const std::string tag = methods_.size() > 1 ? "[" + methods_[m] + "] " : "";
      StepObserver observer = [&](const SearchStep& step, const SearchOutcome& so_far) {
        SearchStep tagged = step;
        tagged.reason = tag + step.reason;
        Status s = writer.Write(backend, tagged);
        if (!s.ok() && write_status.ok()) write_status = s;
        progress_->Step(space_, step, so_far, current_budget);
      };
      std::vector<SearchOutcome> method_outcomes;
      if (spec_.strategy == "pareto") {
        int distinct = 0;
        MIXQ_ASSIGN_OR_RETURN(method_outcomes, RunPareto(space_, class_budgets, settings, &backend,
                                                         &distinct, observer));
      } else {
        settings.max_drop = class_budgets[0];
        MIXQ_ASSIGN_OR_RETURN(SearchOutcome o,
                              RunStrategy(spec_.strategy, space_, settings, &backend, observer));
        method_outcomes.push_back(std::move(o));
        sorted = class_budgets;
      }
      MIXQ_RETURN_IF_ERROR(write_status);
      per_method.push_back(std::move(method_outcomes));
      Count(backend);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - class_start).count();
    const size_t count = per_method[0].size();
    outcomes_.resize(count);
    outcome_calibration_.resize(count);
    for (size_t i = 0; i < count; ++i) {
      std::vector<const SearchOutcome*> candidates;
      for (const auto& method_outcomes : per_method) candidates.push_back(&method_outcomes[i]);
      const size_t best = BestOutcome(candidates);
      SearchOutcome chosen = per_method[best][i];
      if (methods_.size() > 1) MergeMethods(per_method, i, best, &chosen);
      MIXQ_RETURN_IF_ERROR(WriteSearchResult(store_, *backends[best], job_id_, hardware, sorted[i],
                                             spec_.strategy, chosen, seconds));
      result_->met = result_->met && chosen.met;
      outcomes_[i].push_back({hardware, chosen});
      outcome_calibration_[i].push_back(best);
    }
    budgets_ = sorted;  // relative budgets: the last class's, for folder names
    return Status::Ok();
  }

  // What `mixq search -o` writes, per budget (a folder each when several).
  Status WriteOutputs() const {
    for (size_t i = 0; i < outcomes_.size(); ++i) {
      const std::string dir = outcomes_.size() == 1
                                  ? result_->output
                                  : result_->output + "/budget-" + Fixed(budgets_[i], 2);
      std::vector<const Calibration*> used;
      for (size_t c : outcome_calibration_[i]) used.push_back(&calibrations_[c]);
      MIXQ_RETURN_IF_ERROR(
          mixq::WriteOutputs(dir, spec_, space_, model_sha256_, input_shapes_, used, outcomes_[i]));
    }
    return Status::Ok();
  }

  // The report: the verdicts (also to the listener) and summary tables, the
  // tasks run and the wall time, in <output>/search.txt.
  Status WriteReport() const {
    std::ostringstream out;
    out << "search job " << job_id_ << " '" << spec_.job.name << "': strategy " << spec_.strategy
        << ", objective " << spec_.objective << " (batch " << spec_.batch << ")\n";
    for (size_t i = 0; i < outcomes_.size(); ++i) {
      out << "\nbudget " << Fixed(budgets_[i], 2) << " points:\n";
      for (const HardwareOutcome& h : outcomes_[i]) {
        out << "  " << VerdictLine(h) << "\n";
        progress_->Note("budget " + Fixed(budgets_[i], 2) + ": " + VerdictLine(h));
      }
      out << RenderTable(SearchSummaryTable(space_, outcomes_[i], EvalMetricColumn(metric_)),
                         TableFormat::kTable, TerminalWidth());
    }
    out << result_->sub_jobs << " sub-jobs, " << result_->tasks_total << " tasks, "
        << result_->tasks_planned << " run now (the others reused from the DB)\n";
    out << "wall time " << Fixed(progress_->Seconds(), 1) << " s; outputs in " << result_->output
        << "\n";
    std::error_code ec;
    fs::create_directories(result_->output, ec);
    return WriteText(result_->output + "/search.txt", out.str());
  }

 private:
  DistributedBackendOptions BackendOptions() const {
    DistributedBackendOptions o;
    o.search_name = spec_.job.name;
    o.parent_job_id = job_id_;
    o.model = Absolute(spec_.job.model);
    o.eval_dataset = Absolute(spec_.job.eval_dataset);
    o.eval_begin = spec_.job.begin;
    o.eval_count = spec_.job.count;
    o.shard_size = spec_.job.shard_size;
    o.eval_batch = spec_.job.eval_batch;
    o.ranking_count = spec_.ranking_samples;
    o.metric = metric_;
    o.batch = spec_.batch;
    o.bench_seconds = spec_.job.bench_seconds;
    o.seven_bit = spec_.job.seven_bit;
    o.input_shapes = input_shapes_;
    if (spec_.max_seconds > 0) {
      o.deadline =
          start_ + std::chrono::milliseconds(static_cast<int64_t>(spec_.max_seconds * 1000));
    }
    o.progress = [this](const std::string& line) { progress_->Line("  " + line); };
    o.stop = stop_;
    return o;
  }

  // Adds what a backend's sub-jobs ran to the job's counts.
  void Count(const DistributedBackend& backend) {
    result_->tasks_planned += backend.tasks_planned();
    result_->tasks_total += backend.tasks_total();
    result_->sub_jobs += backend.sub_jobs();
  }

  // The answer at budget `i` cost every method's measurements; FP32 is one
  // evaluation shared by all (memoized). Its verdict names the methods tried.
  void MergeMethods(const std::vector<std::vector<SearchOutcome>>& per_method, size_t i,
                    size_t best, SearchOutcome* chosen) const {
    for (size_t m = 0; m < methods_.size(); ++m) {
      if (m == best) continue;
      chosen->full_evaluations += per_method[m][i].full_evaluations - 1;
      chosen->ranking_evaluations += per_method[m][i].ranking_evaluations;
      chosen->benchmarks += per_method[m][i].benchmarks;
    }
    std::string tried;
    for (size_t m = 0; m < methods_.size(); ++m) {
      tried += (m ? ", " : "") + methods_[m] + " " +
               (per_method[m][i].met ? Fixed(per_method[m][i].chosen_ms, 3) + " ms"
                                     : std::string("not met"));
    }
    chosen->verdict += "; calibration " + methods_[best] + " (tried " + tried + ")";
  }

  const int64_t job_id_;
  const SearchJobSpec& spec_;
  const SearchJobOptions& options_;
  Store* store_;
  SearchProgress* progress_;
  SearchJobResult* result_;
  CoordinatorClient client_;
  std::function<bool()> stop_;
  const Clock::time_point start_ = Clock::now();

  std::string model_sha256_;
  InputShapes input_shapes_;  // the job's and its datasets' (ResolveJobInputShapes())
  int64_t eval_slice_ = 0;    // samples in the evaluation slice
  int64_t model_id_ = 0;
  SearchSpace space_;
  std::vector<int> exhaustive_layers_;     // strategy.layers, resolved (empty = every layer)
  EvalMetric metric_ = EvalMetric::kTop1;  // spec_.metric, resolved against the dataset's task
  std::vector<std::string> targets_;
  DistributedBackendOptions backend_options_;
  std::vector<std::string> methods_;
  std::vector<Calibration> calibrations_;
  std::vector<std::string> calibration_files_;
  // outcomes_[budget index] = one HardwareOutcome per class, and the index
  // of the calibration its answer uses.
  std::vector<std::vector<HardwareOutcome>> outcomes_;
  std::vector<std::vector<size_t>> outcome_calibration_;
  std::vector<double> budgets_;
};

}  // namespace

StatusOr<std::vector<std::string>> ResolveTargetClasses(const std::vector<std::string>& hardware,
                                                        const std::vector<std::string>& classes) {
  std::vector<std::string> out;
  auto add = [&](const std::string& c) {
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  };
  for (const std::string& entry : hardware) {
    if (entry == "any") {
      add("any");
    } else if (entry == "all") {
      if (classes.empty()) return FailedPrecondition("'hardware: all' but no worker is connected");
      for (const std::string& c : classes) add(c);
    } else if (entry.find(" / ") != std::string::npos) {
      add(entry);  // a full class name: a missing class fails its tasks after the grace period
    } else {
      bool found = false;
      for (const std::string& c : classes) {
        if (IsaOfHardwareClass(c) == entry) {
          add(c);
          found = true;
        }
      }
      if (!found) {
        std::string list;
        for (const std::string& c : classes) list += (list.empty() ? "" : "; ") + c;
        return InvalidArgument("'hardware': no connected worker has ISA '" + entry +
                               "' (connected: " + (list.empty() ? "none" : list) + ")");
      }
    }
  }
  return out;
}

std::string SearchOutputDir(const SearchJobSpec& spec, const std::string& db, int64_t job_id) {
  if (!spec.output.empty()) return spec.output;
  return fs::absolute(db).parent_path().string() + "/search-" + std::to_string(job_id);
}

StatusOr<int64_t> FileSearchJob(Store* store, const SearchJobSpec& spec,
                                const std::string& yaml_text, const std::string& owner) {
  MIXQ_ASSIGN_OR_RETURN(std::string model_sha256, Sha256File(spec.job.model));
  MIXQ_RETURN_IF_ERROR(store->RegisterBlob(spec.job.model, model_sha256).status());
  MIXQ_ASSIGN_OR_RETURN(int64_t model_id,
                        store->UpsertModel(model_sha256, Absolute(spec.job.model)));
  return store->CreateJob(spec.job.name, "search", yaml_text, model_id, 0, spec.job.base_dir,
                          owner);
}

StatusOr<std::vector<std::pair<int64_t, SearchJobSpec>>> LoadRunningSearches(Store* store) {
  MIXQ_ASSIGN_OR_RETURN(auto stmt,
                        store->db().Prepare("SELECT id, spec_yaml, COALESCE(base_dir, '') FROM "
                                            "jobs WHERE kind='search' AND state='running' "
                                            "ORDER BY id"));
  std::vector<std::pair<int64_t, SearchJobSpec>> out;
  std::vector<int64_t> bad;
  while (true) {
    MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    const int64_t id = stmt->Int(0);
    const std::string source = "search job " + std::to_string(id);
    StatusOr<JobSpec> job = ParseJobSpec(stmt->Text(1), stmt->Text(2), source);
    StatusOr<SearchJobSpec> spec = job.ok() ? ParseSearchJobSpec(*job) : job.status();
    if (spec.ok()) {
      out.emplace_back(id, std::move(*spec));
    } else {
      bad.push_back(id);  // its file no longer reads (e.g. a newer mixq wrote it)
    }
  }
  for (int64_t id : bad) MIXQ_RETURN_IF_ERROR(store->SetJobState(id, "failed"));
  return out;
}

Status DriveSearchJob(int64_t job_id, const SearchJobSpec& spec, const SearchJobOptions& options,
                      SearchJobResult* result) {
  SearchProgress progress(options.progress, options.on_line, Clock::now());
  SearchJobResult unused;
  if (result == nullptr) result = &unused;
  result->job_id = job_id;
  result->output = SearchOutputDir(spec, options.db, job_id);
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(options.db));
  // `mixq cancel` marks the job cancelled in the DB; the driver then gives up.
  MIXQ_ASSIGN_OR_RETURN(auto state_query, store->db().Prepare("SELECT state FROM jobs WHERE id=?"));
  auto cancelled = [&] {
    state_query->Reset();
    state_query->Bind(1, job_id);
    StatusOr<bool> row = state_query->Step();
    const bool yes = row.ok() && *row && state_query->Text(0) == "cancelled";
    state_query->Reset();  // an unfinished statement would pin a WAL snapshot
    return yes;
  };
  auto stop = [&] { return (options.stop && options.stop()) || cancelled(); };

  // The steps of a search job. Everything after the job row exists ends the
  // job: done or failed.
  SearchJobRun run(job_id, spec, options, store.get(), &progress, result, stop);
  Status status = run.Prepare();
  if (status.ok()) status = run.Calibrate();
  for (const std::string& hardware : run.targets()) {
    if (!status.ok()) break;
    status = run.SearchClass(hardware);
  }
  if (status.ok()) status = run.WriteOutputs();
  if (status.ok()) status = run.WriteReport();

  if (cancelled()) {
    progress.Note("cancelled");
    return FailedPrecondition("search job " + std::to_string(job_id) + " was cancelled");
  }
  if (!status.ok() && options.stop && options.stop()) {
    // Stopped with its coordinator: still running, resumed when it restarts.
    return Unavailable("search job " + std::to_string(job_id) + " stopped: " + status.message());
  }
  // The last line goes out before the state changes, so that a client that
  // sees the job end has seen its log's end too.
  progress.Note(status.ok() ? std::string(result->met ? "done" : "done, budget not met") +
                                  ": outputs in " + result->output + " on the coordinator's machine"
                            : "failed: " + status.message());
  // A failure is kept with the job (jobs.error), so that `mixq run`,
  // `mixq status` and the STATUS reply can say why.
  Status state =
      status.ok() ? store->SetJobState(job_id, "done") : store->FailJob(job_id, status.message());
  if (!status.ok()) {
    return status.WithContext("search job " + std::to_string(job_id) +
                              " (submit it again to resume: finished measurements are reused)");
  }
  return state;
}

}  // namespace mixq
