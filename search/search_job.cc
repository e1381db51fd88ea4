#include "search/search_job.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/dataset.h"
#include "common/sha256.h"
#include "common/table_format.h"
#include "coordinator/coordinator_client.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/onnx/qdq_export.h"
#include "search/distributed_backend.h"
#include "search/search_space.h"
#include "search/search_summary.h"
#include "search/strategy.h"

namespace mixq {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string Fixed(double v, int digits) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.*f", digits, v);
  return text;
}

std::string Absolute(const std::string& path) {
  return fs::absolute(path).lexically_normal().string();
}

// The ISA part of a class name ("<cpu brand> / <cores> cores / <isa>").
std::string IsaOf(const std::string& hardware_class) {
  const size_t slash = hardware_class.rfind(" / ");
  return slash == std::string::npos ? "" : hardware_class.substr(slash + 3);
}

// A short label for progress lines.
std::string ShortClass(const std::string& hardware_class) {
  const std::string isa = IsaOf(hardware_class);
  return isa.empty() ? hardware_class : isa;
}

void BindOptional(SqliteStatement* stmt, int index, double value) {
  if (std::isnan(value)) {
    stmt->BindNull(index);
  } else {
    stmt->Bind(index, value);
  }
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

StatusOr<int64_t> ConfigId(Store* store, const DistributedBackend& backend, const Mask& mask) {
  const std::string entry = backend.ConfigEntry(mask);
  const std::string sha = backend.ConfigSha(mask);
  const std::string name = entry == "fp32" ? "fp32" : "config-" + sha.substr(0, 12);
  return store->UpsertConfig(sha, name, entry);
}

class StepWriter {
 public:
  StepWriter(Store* store, int64_t job_id, std::string hardware)
      : store_(store), job_id_(job_id), hardware_(std::move(hardware)) {}

  Status Write(const DistributedBackend& backend, const SearchStep& step) {
    MIXQ_ASSIGN_OR_RETURN(
        auto stmt,
        store_->db().Prepare("INSERT OR REPLACE INTO search_steps(job_id, hardware_class, step, "
                             "kind, config_id, int8_layers, reason, predicted_drop, predicted_ms, "
                             "accuracy, drop_points, ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"));
    stmt->Bind(1, job_id_).Bind(2, hardware_).Bind(3, static_cast<int64_t>(step_++));
    stmt->Bind(4, step.kind);
    if (step.mask.empty()) {
      stmt->BindNull(5).BindNull(6);
    } else {
      MIXQ_ASSIGN_OR_RETURN(int64_t config_id, ConfigId(store_, backend, step.mask));
      stmt->Bind(5, config_id).Bind(6, static_cast<int64_t>(CountInt8(step.mask)));
    }
    stmt->Bind(7, step.reason);
    BindOptional(stmt.get(), 8, step.predicted_drop);
    BindOptional(stmt.get(), 9, step.predicted_ms);
    BindOptional(stmt.get(), 10, step.accuracy);
    BindOptional(stmt.get(), 11, step.drop);
    BindOptional(stmt.get(), 12, step.ms);
    return stmt->Run();
  }

 private:
  Store* store_;
  int64_t job_id_;
  std::string hardware_;
  int step_ = 0;
};

Status WriteResult(Store* store, const DistributedBackend& backend, int64_t job_id,
                   const std::string& hardware, double budget, const std::string& strategy,
                   const SearchOutcome& o, double seconds) {
  MIXQ_ASSIGN_OR_RETURN(int64_t config_id, ConfigId(store, backend, o.chosen));
  MIXQ_ASSIGN_OR_RETURN(
      auto stmt,
      store->db().Prepare(
          "INSERT OR REPLACE INTO search_results(job_id, hardware_class, budget, strategy, met, "
          "verdict, config_id, fp32_accuracy, int8_accuracy, chosen_accuracy, fp32_ms, int8_ms, "
          "chosen_ms, full_evaluations, wall_seconds) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  stmt->Bind(1, job_id).Bind(2, hardware).Bind(3, budget).Bind(4, strategy);
  stmt->Bind(5, static_cast<int64_t>(o.met ? 1 : 0)).Bind(6, o.verdict).Bind(7, config_id);
  stmt->Bind(8, o.fp32_accuracy).Bind(9, o.int8_accuracy).Bind(10, o.chosen_accuracy);
  stmt->Bind(11, o.fp32_ms).Bind(12, o.int8_ms).Bind(13, o.chosen_ms);
  stmt->Bind(14, static_cast<int64_t>(o.full_evaluations)).Bind(15, seconds);
  return stmt->Run();
}

// Progress on stderr: each full evaluation with the best config within
// budget so far, the count done and planned, and an ETA from the pace.
class Progress {
 public:
  Progress(bool enabled, std::function<void(const std::string&)> on_line, Clock::time_point start)
      : enabled_(enabled), on_line_(std::move(on_line)), start_(start) {}

  void Line(const std::string& line) const {
    char stamp[32];
    std::snprintf(stamp, sizeof(stamp), "[%7.1f s] ", Seconds());
    if (enabled_) std::fprintf(stderr, "%s%s\n", stamp, line.c_str());
    if (on_line_) on_line_(stamp + line);
  }

  // A line for the on_line listener only (STATUS_REPLY's search log): what
  // stderr readers see in the report printed at the end.
  void Note(const std::string& line) const {
    if (on_line_) on_line_(line);
  }

  void BeginClass(const std::string& hardware, int planned) {
    hardware_ = ShortClass(hardware);
    planned_ = planned;
    class_start_ = Clock::now();
    best_.clear();
    best_drop_ = 0;
  }

  void Step(const SearchSpace& space, const SearchStep& step, const SearchOutcome& so_far,
            double budget) {
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
    std::string line = hardware_ + " full " + std::to_string(done) + "/" +
                       std::to_string(planned_) + " (at most): " + DescribeMask(space, step.mask) +
                       "  drop " + Fixed(step.drop, 2);
    if (!std::isnan(step.predicted_drop))
      line += " (predicted " + Fixed(step.predicted_drop, 2) + ")";
    line += "  best " +
            (best_.empty() ? std::string("none yet") : best_ + " drop " + Fixed(best_drop_, 2));
    if (done > 0) line += "  ETA <= " + Fixed(secs / done * std::max(0, planned_ - done), 0) + " s";
    Line(line);
  }

  double Seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  bool enabled_;
  std::function<void(const std::string&)> on_line_;
  Clock::time_point start_;
  Clock::time_point class_start_;
  std::string hardware_;
  int planned_ = 0;
  std::string best_;
  double best_drop_ = 0;
  int best_int8_ = 0;
};

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
                    const std::string& model_sha256,
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
        if (IsaOf(c) == entry) {
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

StatusOr<std::string> PrepareSearchCalibration(const SearchJobSpec& spec, const std::string& method,
                                               Store* store, int64_t model_id,
                                               const std::string& model_sha256,
                                               const std::string& db_dir,
                                               DistributedBackend* backend,
                                               Calibration* calibration) {
  if (!spec.calibration_file.empty()) {
    MIXQ_ASSIGN_OR_RETURN(*calibration, LoadCalibration(spec.calibration_file));
    if (calibration->model_sha256 != model_sha256) {
      return InvalidArgument(spec.job.source + ": calibration '" + spec.calibration_file +
                             "' was made for another model");
    }
    return Absolute(spec.calibration_file);
  }
  MIXQ_ASSIGN_OR_RETURN(DatasetSpec ds, LoadDatasetSpec(spec.calibration_dataset));
  MIXQ_ASSIGN_OR_RETURN(std::string images_sha, Sha256File(ds.images));
  MIXQ_ASSIGN_OR_RETURN(std::string labels_sha, Sha256File(ds.labels));
  const nlohmann::json pre = {{"scale", ds.preprocess.scale},
                              {"mean", ds.preprocess.mean},
                              {"std", ds.preprocess.std},
                              {"layout", LayoutName(ds.preprocess.layout)}};
  // Everything that determines the scales names the cached file.
  const std::string key = Sha256Hex(model_sha256 + "\n" + images_sha + "\n" + pre.dump() + "\n" +
                                    std::to_string(spec.calibration_begin) + "\n" +
                                    std::to_string(spec.calibration_samples) + "\n" + method +
                                    "\n" + Fixed(spec.calibration_percentile, 6));
  const std::string path =
      (fs::path(db_dir) / "calibrations" / ("search-" + key.substr(0, 16) + ".json")).string();
  std::error_code ec;
  bool loaded = false;
  if (fs::exists(path, ec)) {
    StatusOr<Calibration> cached = LoadCalibration(path);
    if (cached.ok() && cached->model_sha256 == model_sha256) {
      *calibration = std::move(*cached);
      loaded = true;
    }
  }
  if (!loaded) {
    // Calibrate tasks on the workers; the coordinator merges them and
    // writes the file where the next run of this search finds it.
    CalibrateRequest request;
    request.dataset = Absolute(spec.calibration_dataset);
    request.begin = spec.calibration_begin;
    request.samples = spec.calibration_samples;
    request.method = method;
    request.percentile = spec.calibration_percentile;
    request.output = path;
    MIXQ_ASSIGN_OR_RETURN(int64_t sub_job, backend->Calibrate(request));
    StatusOr<Calibration> made = LoadCalibration(path);
    if (!made.ok()) {
      return made.status().WithContext("calibrate sub-job " + std::to_string(sub_job));
    }
    *calibration = std::move(*made);
  }
  // Recorded in `calibrations` (by the file's hash) for queries.
  MIXQ_ASSIGN_OR_RETURN(std::string file_sha, Sha256File(path));
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> sized, Dataset::Open(ds));
  MIXQ_RETURN_IF_ERROR(store->RegisterBlob(ds.images, images_sha).status());
  MIXQ_RETURN_IF_ERROR(store->RegisterBlob(ds.labels, labels_sha).status());
  const std::string dataset_sha =
      Sha256Hex("dataset\n" + images_sha + "\n" + labels_sha + "\n" + pre.dump() + "\n");
  MIXQ_ASSIGN_OR_RETURN(int64_t dataset_id,
                        store->UpsertDataset(dataset_sha, spec.calibration_dataset, images_sha,
                                             labels_sha, pre.dump(), sized->size()));
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  MIXQ_ASSIGN_OR_RETURN(auto stmt,
                        store->db().Prepare("INSERT OR IGNORE INTO calibrations(sha256, model_id, "
                                            "dataset_id, method, samples, stats_json) VALUES "
                                            "(?,?,?,?,?,?)"));
  stmt->Bind(1, file_sha).Bind(2, model_id).Bind(3, dataset_id).Bind(4, method);
  stmt->Bind(5, spec.calibration_samples).Bind(6, text.str());
  MIXQ_RETURN_IF_ERROR(stmt->Run());
  return Absolute(path);
}

std::string SearchOutputDir(const SearchJobSpec& spec, const std::string& db, int64_t job_id) {
  if (!spec.output.empty()) return spec.output;
  return fs::absolute(db).parent_path().string() + "/search-" + std::to_string(job_id);
}

StatusOr<int64_t> FileSearchJob(Store* store, const SearchJobSpec& spec,
                                const std::string& yaml_text) {
  MIXQ_ASSIGN_OR_RETURN(std::string model_sha256, Sha256File(spec.job.model));
  MIXQ_RETURN_IF_ERROR(store->RegisterBlob(spec.job.model, model_sha256).status());
  MIXQ_ASSIGN_OR_RETURN(int64_t model_id,
                        store->UpsertModel(model_sha256, Absolute(spec.job.model)));
  return store->CreateJob(spec.job.name, "search", yaml_text, model_id, 0, spec.job.base_dir);
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
  const auto start = Clock::now();
  Progress progress(options.progress, options.on_line, start);
  SearchJobResult unused;
  if (result == nullptr) result = &unused;
  result->job_id = job_id;
  result->output = SearchOutputDir(spec, options.db, job_id);
  const std::string& output = result->output;
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(options.db));
  std::ostringstream out;
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
  // Everything after the job row exists ends the job: done or failed.
  auto run = [&]() -> Status {
    MIXQ_ASSIGN_OR_RETURN(Graph graph, ImportOnnx(spec.job.model));
    MIXQ_ASSIGN_OR_RETURN(std::string model_sha256, Sha256File(spec.job.model));
    const SearchSpace space = BuildSearchSpace(graph);
    if (space.size() == 0) return InvalidArgument(spec.job.model + ": no quantizable layers");
    MIXQ_ASSIGN_OR_RETURN(int64_t model_id,
                          store->UpsertModel(model_sha256, Absolute(spec.job.model)));
    CoordinatorClient client(options.endpoint);
    MIXQ_ASSIGN_OR_RETURN(std::vector<std::string> connected, WaitForWorkers(&client, options));
    MIXQ_ASSIGN_OR_RETURN(std::vector<std::string> targets,
                          ResolveTargetClasses(spec.job.hardware, connected));
    const std::string db_dir = fs::absolute(options.db).parent_path().string();
    progress.Line("search job " + std::to_string(job_id) + " '" + spec.job.name +
                  "': " + std::to_string(space.size()) + " layers, strategy " + spec.strategy +
                  ", " + std::to_string(targets.size()) + " target class(es), output " + output);
    DistributedBackendOptions backend_options;
    backend_options.search_name = spec.job.name;
    backend_options.parent_job_id = job_id;
    backend_options.model = Absolute(spec.job.model);
    backend_options.eval_dataset = Absolute(spec.job.eval_dataset);
    backend_options.eval_begin = spec.job.begin;
    backend_options.eval_count = spec.job.count;
    backend_options.shard_size = spec.job.shard_size;
    backend_options.eval_batch = spec.job.eval_batch;
    backend_options.ranking_count = spec.ranking_samples;
    backend_options.top5 = spec.metric == "top5";
    backend_options.batch = spec.batch;
    backend_options.bench_seconds = spec.job.bench_seconds;
    backend_options.seven_bit = spec.job.seven_bit;
    if (spec.max_seconds > 0) {
      backend_options.deadline =
          start + std::chrono::milliseconds(static_cast<int64_t>(spec.max_seconds * 1000));
    }
    backend_options.progress = [&](const std::string& line) { progress.Line("  " + line); };
    backend_options.stop = [&] { return (options.stop && options.stop()) || cancelled(); };

    // One calibration per method (a file given by the job is the only one).
    std::vector<std::string> methods = spec.calibration_methods;
    if (!spec.calibration_file.empty()) methods = {"file"};
    std::vector<Calibration> calibrations(methods.size());
    std::vector<std::string> calibration_files(methods.size());
    for (size_t m = 0; m < methods.size(); ++m) {
      if (spec.calibration_file.empty()) {
        progress.Line("calibrating (" + methods[m] + ", " +
                      std::to_string(spec.calibration_samples) + " samples)");
      }
      DistributedBackend calibrator(&client, store.get(), space, model_sha256, backend_options);
      MIXQ_ASSIGN_OR_RETURN(
          calibration_files[m],
          PrepareSearchCalibration(spec, methods[m], store.get(), model_id, model_sha256, db_dir,
                                   &calibrator, &calibrations[m]));
      result->tasks_planned += calibrator.tasks_planned();
      result->tasks_total += calibrator.tasks_total();
      result->sub_jobs += calibrator.sub_jobs();
    }
    SearchSettings settings = spec.settings;

    // outcomes[budget index] = one HardwareOutcome per class, and the index
    // of the calibration its answer uses.
    std::vector<std::vector<HardwareOutcome>> outcomes;
    std::vector<std::vector<size_t>> outcome_calibration;
    std::vector<double> budgets;
    for (const std::string& hardware : targets) {
      std::vector<double> class_budgets = spec.budgets;
      std::vector<double> sorted;
      StepWriter writer(store.get(), job_id, hardware);
      // per_method[m][budget index], measured through backends[m].
      std::vector<std::vector<SearchOutcome>> per_method;
      std::vector<std::unique_ptr<DistributedBackend>> backends;
      const auto class_start = Clock::now();
      for (size_t m = 0; m < methods.size(); ++m) {
        backend_options.hardware = hardware;
        backend_options.calibration_file = calibration_files[m];
        backends.push_back(std::make_unique<DistributedBackend>(&client, store.get(), space,
                                                                model_sha256, backend_options));
        DistributedBackend& backend = *backends.back();
        if (spec.relative) {
          // The FP32 accuracy is measured first (the strategy reuses it: memoized).
          MIXQ_ASSIGN_OR_RETURN(std::vector<double> fp32, backend.EvaluateFull({space.AllFp32()}));
          class_budgets = AbsoluteBudgets(spec, fp32[0]);
        }
        sorted = class_budgets;
        std::sort(sorted.begin(), sorted.end());
        Status write_status;
        double current_budget = spec.strategy == "pareto" ? sorted.back() : class_budgets[0];
        progress.BeginClass(hardware, spec.settings.max_full_evaluations);
        if (methods.size() > 1) progress.Line("calibration " + methods[m]);
        // With several methods, each step's reason says which scales it used.
        const std::string tag = methods.size() > 1 ? "[" + methods[m] + "] " : "";
        StepObserver observer = [&](const SearchStep& step, const SearchOutcome& so_far) {
          SearchStep tagged = step;
          tagged.reason = tag + step.reason;
          Status s = writer.Write(backend, tagged);
          if (!s.ok() && write_status.ok()) write_status = s;
          progress.Step(space, step, so_far, current_budget);
        };
        std::vector<SearchOutcome> method_outcomes;
        if (spec.strategy == "pareto") {
          int distinct = 0;
          MIXQ_ASSIGN_OR_RETURN(method_outcomes, RunPareto(space, class_budgets, settings, &backend,
                                                           &distinct, observer));
        } else {
          settings.max_drop = class_budgets[0];
          MIXQ_ASSIGN_OR_RETURN(SearchOutcome o,
                                RunStrategy(spec.strategy, space, settings, &backend, observer));
          method_outcomes.push_back(std::move(o));
          sorted = class_budgets;
        }
        MIXQ_RETURN_IF_ERROR(write_status);
        per_method.push_back(std::move(method_outcomes));
        result->tasks_planned += backend.tasks_planned();
        result->tasks_total += backend.tasks_total();
        result->sub_jobs += backend.sub_jobs();
      }
      const double seconds = std::chrono::duration<double>(Clock::now() - class_start).count();
      const size_t count = per_method[0].size();
      outcomes.resize(count);
      outcome_calibration.resize(count);
      for (size_t i = 0; i < count; ++i) {
        std::vector<const SearchOutcome*> candidates;
        for (const auto& method_outcomes : per_method) candidates.push_back(&method_outcomes[i]);
        const size_t best = BestOutcome(candidates);
        SearchOutcome chosen = per_method[best][i];
        if (methods.size() > 1) {
          // The answer cost every method's measurements; FP32 is one
          // evaluation shared by all (memoized).
          for (size_t m = 0; m < methods.size(); ++m) {
            if (m == best) continue;
            chosen.full_evaluations += per_method[m][i].full_evaluations - 1;
            chosen.ranking_evaluations += per_method[m][i].ranking_evaluations;
            chosen.benchmarks += per_method[m][i].benchmarks;
          }
          std::string tried;
          for (size_t m = 0; m < methods.size(); ++m) {
            tried += (m ? ", " : "") + methods[m] + " " +
                     (per_method[m][i].met ? Fixed(per_method[m][i].chosen_ms, 3) + " ms"
                                           : std::string("not met"));
          }
          chosen.verdict += "; calibration " + methods[best] + " (tried " + tried + ")";
        }
        MIXQ_RETURN_IF_ERROR(WriteResult(store.get(), *backends[best], job_id, hardware, sorted[i],
                                         spec.strategy, chosen, seconds));
        result->met = result->met && chosen.met;
        outcomes[i].push_back({hardware, chosen});
        outcome_calibration[i].push_back(best);
      }
      budgets = sorted;  // relative budgets: the last class's, for folder names
    }

    for (size_t i = 0; i < outcomes.size(); ++i) {
      const std::string dir =
          outcomes.size() == 1 ? output : output + "/budget-" + Fixed(budgets[i], 2);
      std::vector<const Calibration*> used;
      for (size_t c : outcome_calibration[i]) used.push_back(&calibrations[c]);
      MIXQ_RETURN_IF_ERROR(WriteOutputs(dir, spec, space, model_sha256, used, outcomes[i]));
    }
    out << "search job " << job_id << " '" << spec.job.name << "': strategy " << spec.strategy
        << ", objective " << spec.objective << " (batch " << spec.batch << ")\n";
    for (size_t i = 0; i < outcomes.size(); ++i) {
      out << "\nbudget " << Fixed(budgets[i], 2) << " points:\n";
      for (const HardwareOutcome& h : outcomes[i]) {
        out << "  " << VerdictLine(h) << "\n";
        progress.Note("budget " + Fixed(budgets[i], 2) + ": " + VerdictLine(h));
      }
      out << RenderTable(SearchSummaryTable(space, outcomes[i]), TableFormat::kTable,
                         TerminalWidth());
    }
    out << result->sub_jobs << " sub-jobs, " << result->tasks_total << " tasks, "
        << result->tasks_planned << " run now (the others reused from the DB)\n";
    out << "wall time " << Fixed(progress.Seconds(), 1) << " s; outputs in " << output << "\n";
    std::error_code ec;
    fs::create_directories(output, ec);
    return WriteText(output + "/search.txt", out.str());
  };
  Status status = run();
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
                                  ": outputs in " + output + " on the coordinator's machine"
                            : "failed: " + status.message());
  Status state = store->SetJobState(job_id, status.ok() ? "done" : "failed");
  if (!status.ok()) {
    return status.WithContext("search job " + std::to_string(job_id) +
                              " (submit it again to resume: finished measurements are reused)");
  }
  return state;
}

}  // namespace mixq
