#include "coordinator/job_spec.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string_view>

#include "common/dataset.h"
#include "common/resource_limits.h"
#include "common/yaml_fields.h"
#include "engine/ir/graph.h"
#include "engine/passes/input_shapes.h"

namespace mixq {
namespace {

class JobParser : public YamlFields {
 public:
  JobParser(std::string source, std::string base_dir)
      : YamlFields(std::move(source)), base_dir_(std::move(base_dir)) {}

  StatusOr<std::vector<std::string>> StringList(const YAML::Node& node,
                                                const std::string& path) const {
    std::vector<std::string> out;
    if (node.IsScalar()) {
      MIXQ_ASSIGN_OR_RETURN(std::string s, String(node, path));
      out.push_back(s);
      return out;
    }
    if (!node.IsSequence() || node.size() == 0) {
      return Error("'" + path + "' must be a string or a non-empty list of strings");
    }
    for (size_t i = 0; i < node.size(); ++i) {
      MIXQ_ASSIGN_OR_RETURN(std::string s, String(node[i], path + "[" + std::to_string(i) + "]"));
      out.push_back(s);
    }
    return out;
  }

  std::string Resolve(const std::string& value) const {
    const std::filesystem::path path(value);
    if (path.is_absolute() || base_dir_.empty()) return value;
    return (std::filesystem::path(base_dir_) / path).lexically_normal().string();
  }

  static std::string Dump(const YAML::Node& node) {
    YAML::Emitter e;
    e << YAML::Flow << node;
    return e.c_str();
  }

  // Keys that only a search reads are refused in other jobs, which would
  // otherwise run without them (schemas/job.md: "kind: search only").
  Status CheckNoSearchSettings(const YAML::Node& root, const std::string& job_kind) const {
    const std::string kind = (job_kind == "evaluate" ? "an " : "a ") + job_kind;
    for (const char* key : {"metric", "budget", "objective", "strategy", "limits"}) {
      if (root[key]) {
        return Error("'" + std::string(key) + "' is a search setting, not for " + kind +
                     " job (kind: search only)");
      }
    }
    // `data` may be absent (a calibrate job) or not a mapping (refused with
    // its own message later): only a mapping has search keys.
    const YAML::Node data = root["data"];
    if (data && data.IsMap()) {
      if (data["ranking"]) {
        return Error("'data.ranking' is a search setting, not for " + kind +
                     " job (kind: search only)");
      }
      const YAML::Node data_cal = data["calibration"];
      if (data_cal) {
        MIXQ_RETURN_IF_ERROR(CheckKeys(data_cal, "data.calibration.",
                                       {"dataset", "begin", "samples", "shard_size", "batch"}));
      }
    }
    const YAML::Node cal = root["calibration"];
    if (cal && cal.IsMap()) {
      MIXQ_RETURN_IF_ERROR(CheckKeys(
          cal, "calibration.",
          {"dataset", "begin", "samples", "shard_size", "batch", "method", "percentile"}));
    }
    return Status::Ok();
  }

  // `calibration` (a mapping) and `data.calibration` (may be absent): the
  // coordinator's calibrate settings. Keys of the search's own (methods,
  // weights, ...) are left to it; `methods` gives the default method.
  Status ParseCalibrate(const YAML::Node& node, const YAML::Node& data, JobSpec* job) const {
    CalibrateSpec& c = job->calibrate;
    c.enabled = true;
    const YAML::Node sources[] = {data, node};  // the job's mapping wins
    for (int i = 0; i < 2; ++i) {
      const YAML::Node& n = sources[i];
      if (!n || !n.IsMap()) continue;
      const std::string at = i == 0 ? "data.calibration." : "calibration.";
      if (n["dataset"]) {
        MIXQ_ASSIGN_OR_RETURN(std::string ds, String(n["dataset"], at + "dataset"));
        c.dataset = Resolve(ds);
      }
      if (n["begin"]) {
        MIXQ_ASSIGN_OR_RETURN(c.begin, Int(n["begin"], at + "begin", 0, kMaxSamples));
      }
      if (n["samples"]) {
        MIXQ_ASSIGN_OR_RETURN(c.samples, Int(n["samples"], at + "samples", 1, kMaxSamples));
      }
      if (n["shard_size"]) {
        MIXQ_ASSIGN_OR_RETURN(c.shard_size, Int(n["shard_size"], at + "shard_size", 1));
      }
      if (n["batch"]) {
        MIXQ_ASSIGN_OR_RETURN(c.batch, Int(n["batch"], at + "batch", 1, kMaxBatch));
      }
    }
    if (node["methods"] && node["methods"].IsSequence() && node["methods"].size() > 0) {
      MIXQ_ASSIGN_OR_RETURN(c.method, String(node["methods"][0], "calibration.methods[0]"));
    }
    if (node["method"] && node["method"].IsSequence()) {
      // A search runs once per listed method (its own parser reads the
      // list); any other job calibrates once.
      if (job->kind != "search") {
        return Error("'calibration.method' takes one method in a " + job->kind +
                     " job (a list is for search jobs)");
      }
      if (node["method"].size() > 0) {
        MIXQ_ASSIGN_OR_RETURN(c.method, String(node["method"][0], "calibration.method[0]"));
      }
    } else if (node["method"]) {
      MIXQ_ASSIGN_OR_RETURN(c.method, String(node["method"], "calibration.method"));
    }
    if (c.method != "minmax" && c.method != "percentile" && c.method != "kl" && c.method != "mse") {
      return Error("'calibration.method' must be minmax, percentile, kl or mse, got '" + c.method +
                   "'");
    }
    if (node["percentile"]) {
      MIXQ_ASSIGN_OR_RETURN(c.percentile, Number(node["percentile"], "calibration.percentile"));
      if (!(c.percentile > 0 && c.percentile <= 100)) {
        return Error("'calibration.percentile' must be in (0, 100]");
      }
    }
    return Status::Ok();
  }

  StatusOr<JobSpec> Parse(const YAML::Node& root) const {
    JobSpec job;
    job.source = source();
    job.base_dir = base_dir_;
    MIXQ_RETURN_IF_ERROR(
        CheckKeys(root, "",
                  {"name", "kind", "model", "data", "configs", "benchmark", "profile", "seven_bit",
                   "hardware", "calibration", "metric", "budget", "objective", "strategy", "limits",
                   "output", "parent_job", "profile_batch", "input_shape"}));
    if (!root["name"]) return Error("missing key 'name'");
    MIXQ_ASSIGN_OR_RETURN(job.name, String(root["name"], "name"));
    if (root["kind"]) {
      MIXQ_ASSIGN_OR_RETURN(job.kind, String(root["kind"], "kind"));
      if (job.kind != "evaluate" && job.kind != "calibrate" && job.kind != "search") {
        return Error(
            "'kind' must be evaluate, calibrate or search (compare jobs run with `mixq "
            "run`), got '" +
            job.kind + "'");
      }
    }
    if (!root["model"]) return Error("missing key 'model'");
    MIXQ_ASSIGN_OR_RETURN(std::string model, String(root["model"], "model"));
    job.model = Resolve(model);

    // A calibrate job may name its dataset in the calibration mapping alone,
    // and then needs no `data` at all.
    const bool needs_evaluation = job.kind != "calibrate";
    const YAML::Node data = root["data"] ? root["data"] : YAML::Node(YAML::NodeType::Map);
    if (!root["data"] && needs_evaluation) return Error("missing key 'data'");
    MIXQ_RETURN_IF_ERROR(CheckKeys(data, "data.", {"evaluation", "calibration", "ranking"}));
    const YAML::Node ev = data["evaluation"];
    if (!ev && needs_evaluation) return Error("missing key 'data.evaluation'");
    if (ev) {
      MIXQ_RETURN_IF_ERROR(
          CheckKeys(ev, "data.evaluation.",
                    {"dataset", "shard_size", "begin", "count", "batch", "fidelity"}));
      if (!ev["dataset"]) return Error("missing key 'data.evaluation.dataset'");
      MIXQ_ASSIGN_OR_RETURN(std::string ds, String(ev["dataset"], "data.evaluation.dataset"));
      job.eval_dataset = Resolve(ds);
      if (ev["shard_size"]) {
        MIXQ_ASSIGN_OR_RETURN(job.shard_size,
                              Int(ev["shard_size"], "data.evaluation.shard_size", 1));
      }
      if (ev["begin"]) {
        MIXQ_ASSIGN_OR_RETURN(job.begin, Int(ev["begin"], "data.evaluation.begin", 0, kMaxSamples));
      }
      if (ev["count"]) {
        MIXQ_ASSIGN_OR_RETURN(job.count, Int(ev["count"], "data.evaluation.count", 0, kMaxSamples));
      }
      if (ev["batch"]) {
        MIXQ_ASSIGN_OR_RETURN(job.eval_batch,
                              Int(ev["batch"], "data.evaluation.batch", 1, kMaxBatch));
      }
      if (ev["fidelity"]) {
        MIXQ_ASSIGN_OR_RETURN(job.fidelity, Bool(ev["fidelity"], "data.evaluation.fidelity"));
      }
    }
    for (const char* key : {"calibration", "ranking"}) {
      if (data[key]) job.search[std::string("data.") + key] = Dump(data[key]);
    }

    if (root["configs"]) {
      MIXQ_ASSIGN_OR_RETURN(std::vector<std::string> configs,
                            StringList(root["configs"], "configs"));
      job.configs.clear();
      for (const std::string& c : configs) {
        const bool literal = c == "fp32" || c == "int8" || c.front() == '{';
        job.configs.push_back(literal ? c : Resolve(c));
      }
    }
    if (root["benchmark"]) {
      const YAML::Node b = root["benchmark"];
      MIXQ_RETURN_IF_ERROR(CheckKeys(b, "benchmark.", {"batches", "seconds", "round"}));
      if (b["batches"]) {
        job.bench_batches.clear();
        const YAML::Node list = b["batches"];
        if (!list.IsSequence()) return Error("'benchmark.batches' must be a list of integers");
        for (size_t i = 0; i < list.size(); ++i) {
          MIXQ_ASSIGN_OR_RETURN(
              int64_t v,
              Int(list[i], "benchmark.batches[" + std::to_string(i) + "]", 1, kMaxBatch));
          job.bench_batches.push_back(v);
        }
      }
      if (b["seconds"]) {
        MIXQ_ASSIGN_OR_RETURN(job.bench_seconds, Number(b["seconds"], "benchmark.seconds"));
        if (!(job.bench_seconds > 0)) return Error("'benchmark.seconds' must be > 0");
      }
      if (b["round"]) {
        MIXQ_ASSIGN_OR_RETURN(job.bench_round, Int(b["round"], "benchmark.round", 0));
      }
    }
    if (root["seven_bit"]) {
      MIXQ_ASSIGN_OR_RETURN(job.seven_bit, String(root["seven_bit"], "seven_bit"));
      if (job.seven_bit != "none" && job.seven_bit != "first" && job.seven_bit != "all") {
        return Error("'seven_bit' must be none, first or all, got '" + job.seven_bit + "'");
      }
    }
    if (root["profile"]) {
      try {
        if (!root["profile"].IsScalar()) return Error("'profile' must be true or false");
        job.profile = root["profile"].as<bool>();
      } catch (const YAML::Exception&) {
        return Error("'profile' must be true or false, got '" + root["profile"].Scalar() + "'");
      }
    }
    if (root["hardware"]) {
      MIXQ_ASSIGN_OR_RETURN(job.hardware, StringList(root["hardware"], "hardware"));
      for (const std::string& h : job.hardware) {
        if ((h == "any" || h == "all") && job.hardware.size() != 1) {
          return Error("'hardware': '" + h + "' cannot be combined with class names");
        }
      }
    }
    // A scalar names a calibration file; a mapping is the search's setting.
    if (root["calibration"] && root["calibration"].IsScalar()) {
      MIXQ_ASSIGN_OR_RETURN(std::string calibration, String(root["calibration"], "calibration"));
      job.calibration_file = Resolve(calibration);
    } else if (root["calibration"]) {
      job.search["calibration"] = Dump(root["calibration"]);
      MIXQ_RETURN_IF_ERROR(ParseCalibrate(root["calibration"], data["calibration"], &job));
    }
    if (root["output"]) {
      MIXQ_ASSIGN_OR_RETURN(std::string output, String(root["output"], "output"));
      job.output = Resolve(output);
    }
    if (job.kind == "calibrate" && !job.calibrate.enabled) {
      return Error(
          "a 'kind: calibrate' job needs 'calibration' as a mapping (method, samples, ...)");
    }
    for (const char* key : {"metric", "budget", "objective", "strategy", "limits", "output"}) {
      if (root[key]) job.search[key] = Dump(root[key]);
    }
    if (job.kind != "search") MIXQ_RETURN_IF_ERROR(CheckNoSearchSettings(root, job.kind));
    if (root["profile_batch"]) {
      MIXQ_ASSIGN_OR_RETURN(job.profile_batch,
                            Int(root["profile_batch"], "profile_batch", 1, kMaxBatch));
    }
    if (root["parent_job"]) {
      MIXQ_ASSIGN_OR_RETURN(job.parent_job_id, Int(root["parent_job"], "parent_job", 1));
    }
    if (root["input_shape"]) {
      MIXQ_ASSIGN_OR_RETURN(job.input_shapes, InputShapeMap(root["input_shape"], "input_shape"));
    }
    return job;
  }

 private:
  std::string base_dir_;
};

}  // namespace

StatusOr<JobSpec> ParseJobSpec(const std::string& yaml_text, const std::string& base_dir,
                               const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source + ": not valid YAML: " + e.what());
  }
  MIXQ_RETURN_IF_ERROR(CheckNoDuplicateKeys(root, source));
  try {
    return JobParser(source, base_dir).Parse(root);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source + ": " + e.what());
  }
}

StatusOr<JobSpec> LoadJobSpec(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot open job file");
  std::stringstream text;
  text << in.rdbuf();
  return ParseJobSpec(text.str(), std::filesystem::path(path).parent_path().string(), path);
}

namespace {

// The datasets whose input_shape a job's tasks take, the first winning.
std::vector<std::string> JobDatasets(const JobSpec& job) {
  std::vector<std::string> datasets;
  if (!job.eval_dataset.empty()) datasets.push_back(job.eval_dataset);
  if (!job.calibrate.dataset.empty()) datasets.push_back(job.calibrate.dataset);
  return datasets;
}

}  // namespace

StatusOr<InputShapes> ResolveJobInputShapes(const JobSpec& job, const Graph& graph) {
  InputShapes shapes;
  const std::vector<std::string> datasets = JobDatasets(job);
  for (auto it = datasets.rbegin(); it != datasets.rend(); ++it) {
    MIXQ_ASSIGN_OR_RETURN(DatasetSpec spec, LoadDatasetSpec(*it));
    if (spec.input_shapes.empty()) continue;
    StatusOr<InputShapes> resolved = ResolveInputShapes(graph, spec.input_shapes);
    if (!resolved.ok()) return resolved.status().WithContext(*it + ": 'input_shape'");
    shapes = MergeInputShapes(std::move(shapes), *resolved);
  }
  StatusOr<InputShapes> own = ResolveInputShapes(graph, job.input_shapes);
  if (!own.ok()) return own.status().WithContext(job.source + ": 'input_shape'");
  return MergeInputShapes(std::move(shapes), *own);
}

bool JobHasInputShapes(const JobSpec& job) {
  if (!job.input_shapes.empty()) return true;
  for (const std::string& dataset : JobDatasets(job)) {
    StatusOr<DatasetSpec> spec = LoadDatasetSpec(dataset);
    if (spec.ok() && !spec->input_shapes.empty()) return true;
  }
  return false;
}

}  // namespace mixq
