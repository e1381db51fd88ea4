#include "search/distributed_backend.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>
#include <unordered_map>

#include "common/sha256.h"
#include "common/yaml_fields.h"

namespace mixq {

namespace {

using std::chrono::milliseconds;

constexpr auto kRequestTimeout = milliseconds(10000);
constexpr auto kStopTimeout = milliseconds(1000);
constexpr auto kPollInterval = milliseconds(100);

// The keys every sub-job starts with: name "<search_name> <label>", kind,
// parent job, model and its input shapes.
void EmitHeader(YAML::Emitter* y, const DistributedBackendOptions& options,
                const std::string& label, const std::string& kind) {
  *y << YAML::Key << "name" << YAML::Value << options.search_name + " " + label;
  *y << YAML::Key << "kind" << YAML::Value << kind;
  if (options.parent_job_id > 0) {
    *y << YAML::Key << "parent_job" << YAML::Value << options.parent_job_id;
  }
  *y << YAML::Key << "model" << YAML::Value << options.model;
  if (!options.input_shapes.empty()) {
    *y << YAML::Key << "input_shape" << YAML::Value;
    EmitInputShapes(options.input_shapes, y);
  }
}

StatusOr<std::string> Text(const YAML::Emitter& y) {
  if (!y.good()) return Internal("sub-job YAML: " + y.GetLastError());
  return std::string(y.c_str());
}

}  // namespace

DistributedBackend::DistributedBackend(CoordinatorClient* client, Store* store,
                                       const SearchSpace& space, std::string model_sha256,
                                       DistributedBackendOptions options)
    : client_(client),
      store_(store),
      space_(space),
      model_sha256_(std::move(model_sha256)),
      options_(std::move(options)) {}

std::string DistributedBackend::ConfigEntry(const Mask& mask) const {
  if (CountInt8(mask) == 0) return "fp32";
  return space_.ToConfig(mask, model_sha256_).Canonical();
}

std::string DistributedBackend::ConfigSha(const Mask& mask) const {
  if (CountInt8(mask) == 0) return Sha256Hex("fp32");  // the planner's name for all-FP32
  return space_.ToConfig(mask, model_sha256_).Hash();
}

StatusOr<int64_t> DistributedBackend::Run(const SubJob& sub) {
  YAML::Emitter y;
  y << YAML::BeginMap;
  EmitHeader(&y, options_, sub.kind, "evaluate");
  y << YAML::Key << "data" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "evaluation" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "dataset" << YAML::Value << options_.eval_dataset;
  y << YAML::Key << "begin" << YAML::Value << sub.begin;
  if (sub.count != -1) y << YAML::Key << "count" << YAML::Value << sub.count;
  y << YAML::Key << "shard_size" << YAML::Value << options_.shard_size;
  y << YAML::Key << "batch" << YAML::Value << options_.eval_batch;
  y << YAML::EndMap << YAML::EndMap;
  bool quantised = false;
  std::set<std::string> seen;
  y << YAML::Key << "configs" << YAML::Value << YAML::BeginSeq;
  for (const Mask& m : sub.masks) {
    const std::string entry = ConfigEntry(m);
    if (!seen.insert(entry).second) continue;
    quantised = quantised || entry != "fp32";
    y << YAML::DoubleQuoted << entry;
  }
  y << YAML::EndSeq;
  if (quantised && !options_.calibration_file.empty()) {
    y << YAML::Key << "calibration" << YAML::Value << options_.calibration_file;
  }
  y << YAML::Key << "seven_bit" << YAML::Value << options_.seven_bit;
  y << YAML::Key << "benchmark" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "batches" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  if (sub.benchmark) y << options_.batch;
  y << YAML::EndSeq;
  y << YAML::Key << "seconds" << YAML::Value << options_.bench_seconds;
  if (sub.bench_round > 0) y << YAML::Key << "round" << YAML::Value << sub.bench_round;
  y << YAML::EndMap;
  y << YAML::Key << "profile" << YAML::Value << sub.profile;
  if (sub.profile) y << YAML::Key << "profile_batch" << YAML::Value << options_.batch;
  y << YAML::Key << "hardware" << YAML::Value;
  if (options_.hardware == "any") {
    y << "any";
  } else {
    y << YAML::Flow << YAML::BeginSeq << options_.hardware << YAML::EndSeq;
  }
  y << YAML::EndMap;
  MIXQ_ASSIGN_OR_RETURN(std::string yaml, Text(y));
  return SubmitAndWait(yaml, sub.kind);
}

StatusOr<int64_t> DistributedBackend::Calibrate(const CalibrateRequest& request) {
  YAML::Emitter y;
  y << YAML::BeginMap;
  EmitHeader(&y, options_, "calibrate", "calibrate");
  y << YAML::Key << "data" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "calibration" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "dataset" << YAML::Value << request.dataset;
  y << YAML::Key << "begin" << YAML::Value << request.begin;
  y << YAML::Key << "samples" << YAML::Value << request.samples;
  y << YAML::EndMap << YAML::EndMap;
  // Shard size and batch keep their defaults: the batch is mixq calibrate's,
  // which the scales depend on.
  y << YAML::Key << "calibration" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "method" << YAML::Value << request.method;
  y << YAML::Key << "percentile" << YAML::Value << request.percentile;
  y << YAML::EndMap;
  y << YAML::Key << "output" << YAML::Value << request.output;
  y << YAML::EndMap;
  MIXQ_ASSIGN_OR_RETURN(std::string yaml, Text(y));
  MIXQ_ASSIGN_OR_RETURN(int64_t job_id, SubmitAndWait(yaml, "calibrate"));
  if (options_.progress) options_.progress("calibrate: sub-job " + std::to_string(job_id));
  return job_id;
}

StatusOr<int64_t> DistributedBackend::SubmitAndWait(const std::string& yaml,
                                                    const std::string& label) {
  if (std::chrono::steady_clock::now() > options_.deadline) {
    return OutOfRange("the search's time limit (limits.max_seconds) is reached");
  }
  MIXQ_ASSIGN_OR_RETURN(proto::SubmitReply reply, client_->Submit(yaml, "", kRequestTimeout));
  if (!reply.error().empty()) {
    return InvalidArgument("sub-job '" + label + "' refused: " + reply.error());
  }
  ++sub_jobs_;
  while (true) {
    MIXQ_ASSIGN_OR_RETURN(proto::StatusReply status,
                          client_->GetStatus(reply.job_id(), kRequestTimeout));
    if (!status.error().empty()) return Internal(status.error());
    if (status.state() == "done") {
      // A calibrate job plans its later passes as the earlier ones finish;
      // those depend on the new results, so they ran too.
      const int64_t later = std::max<int64_t>(0, status.tasks_total() - reply.tasks_total());
      tasks_planned_ += reply.tasks_planned() + later;
      tasks_total_ += reply.tasks_total() + later;
      break;
    }
    if (status.state() != "running") {
      std::string why =
          "sub-job " + std::to_string(reply.job_id()) + " (" + label + ") ended " + status.state();
      for (const std::string& e : status.task_errors()) why += "; " + e;
      return Unavailable(why);
    }
    if (options_.stop && options_.stop()) {
      (void)client_->Cancel(reply.job_id(), kStopTimeout);  // not delivered when shutting down
      return Unavailable("the search was stopped");
    }
    if (std::chrono::steady_clock::now() > options_.deadline) {
      // Finished tasks stay in the DB: a run again resumes from them.
      (void)client_->Cancel(reply.job_id(), kRequestTimeout);
      return OutOfRange("the search's time limit (limits.max_seconds) is reached");
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  return reply.job_id();
}

StatusOr<std::vector<double>> DistributedBackend::Accuracies(const std::vector<Mask>& masks,
                                                             int64_t begin, int64_t count,
                                                             const std::string& kind) {
  SubJob sub;
  sub.kind = kind;
  sub.masks = masks;
  sub.begin = begin;
  sub.count = count;
  MIXQ_ASSIGN_OR_RETURN(int64_t job_id, Run(sub));
  MIXQ_ASSIGN_OR_RETURN(auto accuracy, Points(job_id));
  std::vector<double> out;
  for (const Mask& m : masks) {
    auto it = accuracy.find(ConfigSha(m));
    if (it == accuracy.end()) {
      return Internal("sub-job " + std::to_string(job_id) + " has no evaluation of " +
                      DescribeMask(space_, m));
    }
    out.push_back(it->second);
  }
  if (options_.progress) {
    options_.progress(kind + ": " + std::to_string(masks.size()) + " config(s), sub-job " +
                      std::to_string(job_id));
  }
  return out;
}

StatusOr<std::unordered_map<std::string, double>> DistributedBackend::Points(int64_t job_id) {
  std::unordered_map<std::string, double> points;  // by config sha256
  const EvalMetric metric = options_.metric;
  if (metric != EvalMetric::kTop1 && metric != EvalMetric::kTop5) {
    // A detection or segmentation dataset: the shards' statistics merged
    // exactly across the sub-job (and its hardware classes).
    MIXQ_ASSIGN_OR_RETURN(auto merged, store_->TaskMetrics(job_id, true));
    for (const auto& [key, m] : merged) {
      const std::optional<double>& value = metric == EvalMetric::kMap50      ? m.map50
                                           : metric == EvalMetric::kMap50_95 ? m.map50_95
                                                                             : m.miou;
      if (value) points[key.first] = *value;
    }
    return points;
  }
  MIXQ_ASSIGN_OR_RETURN(
      auto stmt, store_->db().Prepare("SELECT c.sha256, SUM(e.samples), SUM(e.correct1), "
                                      "SUM(e.correct5) FROM evaluations e JOIN configs c ON "
                                      "c.id = e.config_id WHERE e.job_id = ? GROUP BY c.sha256"));
  stmt->Bind(1, job_id);
  while (true) {
    MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    const int64_t samples = stmt->Int(1);
    if (samples <= 0) continue;
    const int64_t correct = metric == EvalMetric::kTop5 ? stmt->Int(3) : stmt->Int(2);
    points[stmt->Text(0)] = 100.0 * static_cast<double>(correct) / static_cast<double>(samples);
  }
  return points;
}

StatusOr<std::vector<double>> DistributedBackend::EvaluateFull(const std::vector<Mask>& masks) {
  return Accuracies(masks, options_.eval_begin, options_.eval_count, "full");
}

StatusOr<std::vector<double>> DistributedBackend::EvaluateRanking(const std::vector<Mask>& masks) {
  return Accuracies(masks, options_.eval_begin, options_.ranking_count, "ranking");
}

StatusOr<std::vector<double>> DistributedBackend::Benchmark(const std::vector<Mask>& masks,
                                                            int round) {
  SubJob sub;
  sub.kind = "benchmark";
  sub.masks = masks;
  sub.begin = options_.eval_begin;
  sub.count = 0;
  sub.benchmark = true;
  sub.bench_round = round;
  MIXQ_ASSIGN_OR_RETURN(int64_t job_id, Run(sub));
  MIXQ_ASSIGN_OR_RETURN(
      auto stmt, store_->db().Prepare(
                     "SELECT c.sha256, b.latency_ms_median FROM job_tasks jt JOIN tasks t ON "
                     "t.id = jt.task_id JOIN configs c ON c.id = t.config_id JOIN benchmarks b "
                     "ON b.task_id = t.id WHERE jt.job_id = ? AND t.kind = 'benchmark'"));
  stmt->Bind(1, job_id);
  std::unordered_map<std::string, double> ms;
  while (true) {
    MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    ms[stmt->Text(0)] = stmt->Real(1);
  }
  std::vector<double> out;
  for (const Mask& m : masks) {
    auto it = ms.find(ConfigSha(m));
    if (it == ms.end()) {
      return Internal("sub-job " + std::to_string(job_id) + " has no benchmark of " +
                      DescribeMask(space_, m));
    }
    out.push_back(it->second);
  }
  if (options_.progress) {
    options_.progress("benchmark" + (round > 0 ? " round " + std::to_string(round) : "") + ": " +
                      std::to_string(masks.size()) + " config(s), sub-job " +
                      std::to_string(job_id));
  }
  return out;
}

StatusOr<ProfileData> DistributedBackend::Profile() {
  const int n = space_.size();
  // All-INT8 gives each layer's FP32 and INT8 time; the checkerboards put
  // (almost) every layer on a precision boundary once as INT8 and once as
  // FP32, which measures the reorders there.
  Mask int8 = space_.AllInt8(), even(n), odd(n);
  for (int i = 0; i < n; ++i) {
    even[i] = i % 2 == 0;
    odd[i] = i % 2 == 1;
  }
  std::vector<Mask> masks = {int8};
  for (const Mask* m : {&even, &odd}) {
    if (CountInt8(*m) > 0 && *m != int8) masks.push_back(*m);
  }
  SubJob sub;
  sub.kind = "profile";
  sub.masks = masks;
  sub.begin = options_.eval_begin;
  sub.count = 0;
  sub.profile = true;
  MIXQ_ASSIGN_OR_RETURN(int64_t job_id, Run(sub));
  MIXQ_ASSIGN_OR_RETURN(
      auto stmt,
      store_->db().Prepare(
          "SELECT c.sha256, lp.layer, lp.precision, lp.ms FROM job_tasks jt JOIN tasks t ON "
          "t.id = jt.task_id JOIN configs c ON c.id = t.config_id JOIN layer_profiles lp ON "
          "lp.task_id = t.id WHERE jt.job_id = ? AND t.kind = 'profile'"));
  stmt->Bind(1, job_id);
  std::map<std::string, const Mask*> mask_of;
  for (const Mask& m : masks) mask_of[ConfigSha(m)] = &m;
  std::unordered_map<std::string, int> layer_of;
  for (int i = 0; i < n; ++i) layer_of[space_.layers[i].name] = i;
  ProfileData profile;
  profile.layers.resize(n);
  std::vector<bool> quantize_seen(n, false), dequantize_seen(n, false);
  std::vector<double> uniform_quantize(n, 0.0);
  int rows = 0;
  while (true) {
    MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    auto m = mask_of.find(stmt->Text(0));
    if (m == mask_of.end()) continue;
    ++rows;
    const Mask& mask = *m->second;
    const std::string layer = stmt->Text(1), precision = stmt->Text(2);
    const double ms = stmt->Real(3);
    auto l = layer_of.find(layer);
    const bool uniform = &mask == &masks[0];
    if (l == layer_of.end()) {
      if (uniform && precision == "fp32") profile.other_ms += ms;
      continue;
    }
    LayerTiming& t = profile.layers[l->second];
    if (uniform) {
      if (precision == "fp32") t.fp32_ms = ms;
      if (precision == "int8") t.int8_ms = ms;
      if (precision == "reorder") uniform_quantize[l->second] = ms;
    } else if (precision == "reorder") {
      if (mask[l->second]) {
        t.quantize_ms = ms;
        quantize_seen[l->second] = true;
      } else {
        t.dequantize_ms = ms;
        dequantize_seen[l->second] = true;
      }
    }
  }
  if (rows == 0) return Internal("profile sub-job " + std::to_string(job_id) + " has no rows");
  // A layer no checkerboard made INT8 keeps the all-INT8 model's reorder
  // (the graph input's quantization for the first layer).
  for (int i = 0; i < n; ++i) {
    if (!quantize_seen[i]) profile.layers[i].quantize_ms = uniform_quantize[i];
  }
  if (options_.progress) options_.progress("profile: sub-job " + std::to_string(job_id));
  return profile;
}

}  // namespace mixq
