#include "results/compare_job.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/sha256.h"
#include "common/yaml_fields.h"
#include "results/queries.h"

namespace mixq {
namespace {

namespace fs = std::filesystem;

// Reads the compare keys; every message names the file and the dotted key.
class CompareParser {
 public:
  CompareParser(std::string source, std::string base_dir)
      : source_(std::move(source)), base_dir_(std::move(base_dir)) {}

  StatusOr<CompareSpec> Parse(const YAML::Node& root) const {
    if (!root.IsMap()) return Error("a compare job must be a mapping");
    MIXQ_RETURN_IF_ERROR(Keys(root, "",
                              {"name", "kind", "models", "data", "configs", "calibration",
                               "benchmark", "seven_bit", "hardware", "input_shape"}));
    CompareSpec spec;
    spec.source = source_;
    spec.name = root["name"] ? root["name"].as<std::string>() : "compare";
    const YAML::Node models = root["models"];
    if (!models || !models.IsSequence() || models.size() == 0) {
      return Error("'models' must be a non-empty list (paths, or {model, calibration})");
    }
    for (size_t i = 0; i < models.size(); ++i) {
      const std::string at = "models[" + std::to_string(i) + "]";
      CompareModel m;
      if (models[i].IsScalar()) {
        m.model = Resolve(models[i].as<std::string>());
      } else if (models[i].IsMap() && models[i]["model"]) {
        MIXQ_RETURN_IF_ERROR(
            Keys(models[i], at + ".", {"model", "calibration", "configs", "input_shape"}));
        if (models[i]["input_shape"]) {
          MIXQ_ASSIGN_OR_RETURN(m.input_shapes, YamlFields(source_).InputShapeMap(
                                                    models[i]["input_shape"], at + ".input_shape"));
        }
        if (models[i]["configs"]) {
          MIXQ_ASSIGN_OR_RETURN(m.configs, Strings(models[i]["configs"], at + ".configs"));
          for (std::string& c : m.configs) c = Resolve(c);
        }
        m.model = Resolve(models[i]["model"].as<std::string>());
        if (models[i]["calibration"]) {
          m.calibration = Resolve(models[i]["calibration"].as<std::string>());
        }
      } else {
        return Error("'" + at +
                     "' must be a path or a mapping {model, calibration, configs, input_shape}");
      }
      spec.models.push_back(m);
    }
    if (root["input_shape"]) {
      MIXQ_ASSIGN_OR_RETURN(spec.input_shapes,
                            YamlFields(source_).InputShapeMap(root["input_shape"], "input_shape"));
    }
    const YAML::Node ev = root["data"] ? root["data"]["evaluation"] : YAML::Node();
    if (!ev || !ev.IsMap() || !ev["dataset"]) return Error("missing key 'data.evaluation.dataset'");
    MIXQ_RETURN_IF_ERROR(Keys(root["data"], "data.", {"evaluation"}));
    MIXQ_RETURN_IF_ERROR(
        Keys(ev, "data.evaluation.", {"dataset", "shard_size", "begin", "count", "batch"}));
    spec.eval_dataset = Resolve(ev["dataset"].as<std::string>());
    if (ev["shard_size"]) spec.shard_size = ev["shard_size"].as<int64_t>();
    if (ev["begin"]) spec.begin = ev["begin"].as<int64_t>();
    if (ev["count"]) spec.count = ev["count"].as<int64_t>();
    if (ev["batch"]) spec.eval_batch = ev["batch"].as<int64_t>();
    if (const YAML::Node c = root["calibration"]) {
      if (!c.IsMap() || !c["dataset"]) {
        return Error("'calibration' must be a mapping {dataset, samples, begin, method}");
      }
      MIXQ_RETURN_IF_ERROR(Keys(c, "calibration.", {"dataset", "samples", "begin", "method"}));
      spec.calibration_dataset = Resolve(c["dataset"].as<std::string>());
      if (c["samples"]) spec.calibration_samples = c["samples"].as<int64_t>();
      if (c["begin"]) spec.calibration_begin = c["begin"].as<int64_t>();
      if (c["method"]) spec.calibration_method = c["method"].as<std::string>();
    }
    if (root["configs"]) {
      MIXQ_ASSIGN_OR_RETURN(spec.configs, Strings(root["configs"], "configs"));
      for (std::string& c : spec.configs) {
        if (c != "fp32" && c != "int8" && c != "chosen") c = Resolve(c);
      }
    }
    if (const YAML::Node b = root["benchmark"]) {
      MIXQ_RETURN_IF_ERROR(Keys(b, "benchmark.", {"batches", "seconds"}));
      if (b["batches"]) spec.bench_batches = b["batches"].as<std::vector<int64_t>>();
      if (b["seconds"]) spec.bench_seconds = b["seconds"].as<double>();
    }
    if (root["seven_bit"]) spec.seven_bit = root["seven_bit"].as<std::string>();
    if (root["hardware"]) {
      MIXQ_ASSIGN_OR_RETURN(spec.hardware, Strings(root["hardware"], "hardware"));
    }
    const bool int8 = std::count(spec.configs.begin(), spec.configs.end(), "int8") > 0;
    for (const CompareModel& m : spec.models) {
      if (int8 && m.calibration.empty() && spec.calibration_dataset.empty()) {
        return Error("config int8 needs scales: give '" + m.model +
                     "' a calibration file ({model, calibration}) or the job a "
                     "'calibration: {dataset: ...}' to calibrate on");
      }
    }
    return spec;
  }

 private:
  Status Error(const std::string& message) const {
    return InvalidArgument(source_ + ": " + message);
  }

  Status Keys(const YAML::Node& node, const std::string& prefix,
              const std::set<std::string>& allowed) const {
    if (!node.IsMap()) return Error("'" + prefix + "' must be a mapping");
    for (const auto& entry : node) {
      const std::string key = entry.first.as<std::string>();
      if (!allowed.count(key)) return Error("unknown key '" + prefix + key + "'");
    }
    return Status::Ok();
  }

  StatusOr<std::vector<std::string>> Strings(const YAML::Node& node,
                                             const std::string& path) const {
    if (node.IsScalar()) return std::vector<std::string>{node.as<std::string>()};
    if (!node.IsSequence() || node.size() == 0) {
      return Error("'" + path + "' must be a string or a non-empty list of strings");
    }
    return node.as<std::vector<std::string>>();
  }

  std::string Resolve(const std::string& value) const {
    const fs::path path(value);
    if (path.is_absolute()) return value;
    return fs::absolute(fs::path(base_dir_.empty() ? "." : base_dir_) / path)
        .lexically_normal()
        .string();
  }

  std::string source_;
  std::string base_dir_;
};

struct ChosenConfig {
  std::string name;  // chosen-<isa>-<budget>
  std::string json;
};

// The met answers of the model's latest search with results; none when the
// database does not exist yet.
StatusOr<std::vector<ChosenConfig>> ChosenConfigs(const std::string& db_path,
                                                  const std::string& model_sha256) {
  if (!fs::exists(db_path)) return std::vector<ChosenConfig>{};
  StatusOr<std::unique_ptr<SqliteDb>> opened = OpenQueryDb(db_path);
  // A version-1 file (migrated when the coordinator opens it) has no search
  // results yet.
  if (!opened.ok() && opened.status().code() == StatusCode::kFailedPrecondition) {
    return std::vector<ChosenConfig>{};
  }
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, std::move(opened));
  MIXQ_ASSIGN_OR_RETURN(
      auto stmt,
      db->Prepare("SELECT r.hardware_class, r.budget, c.json FROM search_results r "
                  "JOIN configs c ON c.id = r.config_id WHERE r.met = 1 AND r.job_id = "
                  "(SELECT MAX(r2.job_id) FROM search_results r2 JOIN jobs j ON j.id = r2.job_id "
                  "JOIN models m ON m.id = j.model_id WHERE m.sha256 = ?) "
                  "ORDER BY r.hardware_class, r.budget"));
  stmt->Bind(1, model_sha256);
  std::vector<ChosenConfig> out;
  std::set<std::string> seen;
  while (true) {
    MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    const std::string json = stmt->Text(2);
    if (!seen.insert(json).second) continue;  // equal answers for several classes or budgets
    std::string isa = stmt->Text(0);
    isa = isa.substr(isa.rfind('/') == std::string::npos ? 0 : isa.rfind('/') + 1);
    isa.erase(0, isa.find_first_not_of(' '));
    out.push_back({"chosen-" + isa + "-" + FormatReal(stmt->Real(1), 2), json});
  }
  return out;
}

Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary);
  file << text;
  file.close();
  return file ? Status::Ok() : Unavailable(path + ": cannot write");
}

}  // namespace

bool IsCompareJob(const std::string& yaml_text) {
  try {
    const YAML::Node root = YAML::Load(yaml_text);
    return root.IsMap() && root["kind"] && root["kind"].IsScalar() &&
           root["kind"].Scalar() == "compare";
  } catch (const YAML::Exception&) {
    return false;
  }
}

StatusOr<CompareSpec> ParseCompareSpec(const std::string& yaml_text, const std::string& base_dir,
                                       const std::string& source) {
  try {
    const YAML::Node root = YAML::Load(yaml_text);
    MIXQ_RETURN_IF_ERROR(CheckNoDuplicateKeys(root, source));
    return CompareParser(source, base_dir).Parse(root);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source + ": " + e.what());
  }
}

StatusOr<CompareSpec> LoadCompareSpec(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot open job file");
  std::stringstream text;
  text << in.rdbuf();
  return ParseCompareSpec(text.str(), fs::path(path).parent_path().string(), path);
}

InputShapes ModelInputShapes(const CompareSpec& spec, const std::string& model) {
  for (const CompareModel& m : spec.models) {
    if (m.model == model && !m.input_shapes.empty()) return m.input_shapes;
  }
  return spec.input_shapes;
}

StatusOr<std::vector<SubJob>> ExpandCompareJob(const CompareSpec& spec, const std::string& db_path,
                                               const std::string& work_dir,
                                               const CompareCalibrator& calibrate,
                                               std::ostream& log) {
  std::vector<SubJob> jobs;
  for (size_t i = 0; i < spec.models.size(); ++i) {
    const CompareModel& m = spec.models[i];
    const std::string stem = fs::path(m.model).stem().string();
    const std::string prefix = work_dir + "/" + std::to_string(i) + "-" + stem;
    std::vector<std::string> configs;
    for (const std::string& c : spec.configs) {
      if (c != "chosen") {
        configs.push_back(c);
        continue;
      }
      MIXQ_ASSIGN_OR_RETURN(std::string sha, Sha256File(m.model));
      MIXQ_ASSIGN_OR_RETURN(std::vector<ChosenConfig> chosen, ChosenConfigs(db_path, sha));
      if (chosen.empty()) {
        log << spec.source << ": " << stem
            << ": no search result in " + db_path + " yet, so no chosen config\n";
      }
      for (const ChosenConfig& c : chosen) {
        fs::create_directories(prefix);
        const std::string path = prefix + "/" + c.name + ".json";
        MIXQ_RETURN_IF_ERROR(WriteText(path, c.json));
        configs.push_back(path);
      }
    }
    configs.insert(configs.end(), m.configs.begin(), m.configs.end());
    std::string calibration = m.calibration;
    const bool needs_scales =
        configs.size() > static_cast<size_t>(std::count(configs.begin(), configs.end(), "fp32"));
    if (calibration.empty() && needs_scales && !spec.calibration_dataset.empty()) {
      const std::string output = prefix + ".calibration.json";
      log << spec.source << ": calibrating " << stem << " (" << spec.calibration_method << ", "
          << spec.calibration_samples << " samples)\n";
      MIXQ_RETURN_IF_ERROR(calibrate(spec, m.model, output).WithContext(spec.source + ": " + stem));
      calibration = output;
    }
    YAML::Node root;
    root["name"] = spec.name + "/" + stem;
    root["kind"] = "evaluate";
    root["model"] = m.model;
    YAML::Node ev;
    ev["dataset"] = spec.eval_dataset;
    ev["shard_size"] = spec.shard_size;
    ev["begin"] = spec.begin;
    if (spec.count > 0) ev["count"] = spec.count;
    ev["batch"] = spec.eval_batch;
    root["data"]["evaluation"] = ev;
    for (const std::string& c : configs) root["configs"].push_back(c);
    if (!calibration.empty()) root["calibration"] = calibration;
    if (spec.seven_bit != "none") root["seven_bit"] = spec.seven_bit;
    for (int64_t b : spec.bench_batches) root["benchmark"]["batches"].push_back(b);
    root["benchmark"]["seconds"] = spec.bench_seconds;
    for (const std::string& h : spec.hardware) root["hardware"].push_back(h);
    if (const InputShapes shapes = ModelInputShapes(spec, m.model); !shapes.empty()) {
      YAML::Emitter value;
      EmitInputShapes(shapes, &value);
      root["input_shape"] = YAML::Load(value.c_str());
    }
    YAML::Emitter out;
    out << root;
    jobs.push_back({m.model, out.c_str()});
  }
  return jobs;
}

}  // namespace mixq
