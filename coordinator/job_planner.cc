#include "coordinator/job_planner.h"

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/dataset.h"
#include "common/sha256.h"
#include "worker/calibration/calibration_file.h"
#include "worker/onnx_importer.h"
#include "worker/quant_spec.h"

namespace mixq {
namespace {

StatusOr<proto::BlobRef> RegisterBlob(Store* store, const std::string& path) {
  MIXQ_ASSIGN_OR_RETURN(std::string sha, Sha256File(path));
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return NotFound(path + ": " + ec.message());
  const std::string absolute = std::filesystem::absolute(path).lexically_normal().string();
  MIXQ_RETURN_IF_ERROR(store->UpsertBlob(sha, absolute, static_cast<int64_t>(size)));
  proto::BlobRef ref;
  ref.set_sha256(sha);
  ref.set_size(size);
  ref.set_path(absolute);
  return ref;
}

struct ConfigRef {
  std::string name, sha256, text;
};

// What the configs are checked against at submission, so that a config for
// another model or INT8 without scales is refused here, not on every worker.
struct QuantCheck {
  std::unique_ptr<Graph> graph;  // imported only when a config is not fp32
  Calibration calibration;       // empty unless the job names one
  std::string calibration_file;
  SevenBitWeights seven_bit = SevenBitWeights::kNone;
};

// `fp32` stays the literal word (workers run it without a spec); `int8` and
// config files become the canonical config text, so equal configs share
// their tasks whatever file they came from.
StatusOr<ConfigRef> LoadConfig(const std::string& entry, const std::string& model_path,
                               const std::string& model_sha256, QuantCheck* check) {
  if (entry == "fp32") return ConfigRef{"fp32", Sha256Hex("fp32"), "fp32"};
  if (!check->graph) {
    MIXQ_ASSIGN_OR_RETURN(Graph graph, ImportOnnx(model_path));
    check->graph = std::make_unique<Graph>(std::move(graph));
  }
  // Inline JSON (a search's sub-job) arrives without a file to read.
  const bool inline_json = entry.front() == '{';
  StatusOr<PrecisionConfig> loaded =
      inline_json ? ParsePrecisionConfig(entry, check->graph->QuantizableLayers(), model_sha256)
                  : LoadPrecisionConfig(entry, *check->graph, model_sha256);
  if (!loaded.ok() && inline_json) return loaded.status().WithContext("inline config");
  MIXQ_ASSIGN_OR_RETURN(PrecisionConfig config, std::move(loaded));
  if (config.Count(Precision::kBf16) > 0) {
    return InvalidArgument("config '" + entry + "': bf16 layers do not run on workers yet");
  }
  if (config.Count(Precision::kInt8) > 0) {
    if (check->calibration_file.empty()) {
      return InvalidArgument("config '" + entry + "' has " +
                             std::to_string(config.Count(Precision::kInt8)) +
                             " INT8 layer(s) but the job names no calibration: add "
                             "'calibration: FILE' (a file from mixq calibrate)");
    }
    StatusOr<QuantSpec> spec = MakeQuantSpec(config, check->calibration, check->seven_bit);
    if (!spec.ok()) {
      return spec.status().WithContext("config '" + entry + "' with calibration '" +
                                       check->calibration_file + "'");
    }
  }
  const std::string name = entry == "int8" ? entry
                           : inline_json   ? "config-" + config.Hash().substr(0, 12)
                                           : std::filesystem::path(entry).stem().string();
  return ConfigRef{name, config.Hash(), config.Canonical()};
}

std::string Key(const std::vector<std::string>& parts) {
  std::string joined;
  for (const std::string& p : parts) joined += p + "\n";
  return Sha256Hex(joined);
}

StatusOr<PlanResult> PlanInTransaction(Store* store, const JobSpec& job,
                                       const std::string& yaml_text, uint32_t lease_ms) {
  MIXQ_ASSIGN_OR_RETURN(proto::BlobRef model, RegisterBlob(store, job.model));
  MIXQ_ASSIGN_OR_RETURN(int64_t model_id, store->UpsertModel(model.sha256(), model.path()));

  MIXQ_ASSIGN_OR_RETURN(DatasetSpec spec, LoadDatasetSpec(job.eval_dataset));
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> dataset, Dataset::Open(spec));
  proto::DatasetRef ds;
  ds.set_format(spec.format);
  MIXQ_ASSIGN_OR_RETURN(*ds.mutable_images(), RegisterBlob(store, spec.images));
  MIXQ_ASSIGN_OR_RETURN(*ds.mutable_labels(), RegisterBlob(store, spec.labels));
  ds.set_scale(spec.preprocess.scale);
  for (float m : spec.preprocess.mean) ds.add_mean(m);
  for (float s : spec.preprocess.std) ds.add_std(s);
  ds.set_layout(LayoutName(spec.preprocess.layout));
  ds.set_stored_layout(LayoutName(spec.stored_layout));
  nlohmann::json pre = {{"format", ds.format()},        {"scale", ds.scale()},
                        {"mean", spec.preprocess.mean}, {"std", spec.preprocess.std},
                        {"layout", ds.layout()},        {"stored_layout", ds.stored_layout()}};
  const std::string dataset_sha =
      Key({"dataset", ds.images().sha256(), ds.labels().sha256(), pre.dump()});
  MIXQ_ASSIGN_OR_RETURN(int64_t dataset_id,
                        store->UpsertDataset(dataset_sha, job.eval_dataset, ds.images().sha256(),
                                             ds.labels().sha256(), pre.dump(), dataset->size()));

  const int64_t begin = job.begin;
  const int64_t count = job.count < 0 ? dataset->size() - begin : job.count;
  // count 0 (given): a job of benchmark or profile tasks only.
  if (begin + count > dataset->size() || count < 0 || (count == 0 && job.count != 0)) {
    return InvalidArgument(job.source + ": data.evaluation begin " + std::to_string(begin) +
                           " count " + std::to_string(count) + " is outside the dataset (" +
                           std::to_string(dataset->size()) + " samples)");
  }

  QuantCheck check;
  MIXQ_ASSIGN_OR_RETURN(check.seven_bit, ParseSevenBitWeights(job.seven_bit));
  proto::BlobRef calibration;
  if (!job.calibration_file.empty()) {
    MIXQ_ASSIGN_OR_RETURN(check.calibration, LoadCalibration(job.calibration_file));
    if (check.calibration.model_sha256 != model.sha256()) {
      return InvalidArgument(job.source + ": calibration '" + job.calibration_file +
                             "' was made for another model (model_sha256 " +
                             check.calibration.model_sha256.substr(0, 12) + ", model " +
                             model.sha256().substr(0, 12) + ")");
    }
    check.calibration_file = job.calibration_file;
    MIXQ_ASSIGN_OR_RETURN(calibration, RegisterBlob(store, job.calibration_file));
  }

  MIXQ_ASSIGN_OR_RETURN(int64_t job_id,
                        store->CreateJob(job.name, job.kind, yaml_text, model_id, dataset_id));
  if (job.parent_job_id > 0) MIXQ_RETURN_IF_ERROR(store->SetJobParent(job_id, job.parent_job_id));
  PlanResult plan;
  plan.job_id = job_id;
  auto add = [&](PlannedTask task) -> Status {
    task.assign.set_task_id(task.id);
    task.assign.set_lease_ms(lease_ms);
    ++plan.total;
    MIXQ_ASSIGN_OR_RETURN(bool to_run, store->AddTask(job_id, task));
    if (to_run) plan.to_run.push_back(PendingTask{task.id, job_id, task.hardware, task.assign, 0});
    return Status::Ok();
  };
  for (const std::string& entry : job.configs) {
    MIXQ_ASSIGN_OR_RETURN(ConfigRef config, LoadConfig(entry, job.model, model.sha256(), &check));
    // FP32 tasks do not depend on the calibration: they keep their key.
    const bool quantised = config.text != "fp32";
    std::string quant_key;  // what else determines a quantised config's results
    if (quantised) {
      quant_key = calibration.sha256();
      // The default 7-bit mode adds nothing, so keys made before it existed hold.
      if (job.seven_bit != "none") quant_key += " seven_bit=" + job.seven_bit;
    }
    auto set_quant = [&](proto::TaskAssign* assign) {
      assign->set_config_json(config.text);
      if (!quantised) return;
      assign->set_seven_bit(job.seven_bit);
      if (calibration.sha256().empty()) return;
      assign->set_calibration_sha256(calibration.sha256());
      *assign->mutable_calibration() = calibration;
    };
    MIXQ_ASSIGN_OR_RETURN(int64_t config_id,
                          store->UpsertConfig(config.sha256, config.name, config.text));
    for (const std::string& hw : job.hardware) {
      for (const Shard& shard :
           count > 0 ? MakeShards(begin, count, job.shard_size) : std::vector<Shard>()) {
        PlannedTask t;
        // The evaluation batch size is not in the key: counts do not depend on it.
        t.id = Key({"evaluate", model.sha256(), dataset_sha, std::to_string(shard.begin),
                    std::to_string(shard.count), config.sha256, quant_key, hw});
        t.kind = "evaluate";
        t.model_id = model_id;
        t.dataset_id = dataset_id;
        t.config_id = config_id;
        t.hardware = hw;
        t.shard_index = shard.index;
        t.batch = job.eval_batch;
        t.assign.set_kind(proto::TASK_KIND_EVALUATE);
        *t.assign.mutable_model() = model;
        *t.assign.mutable_dataset() = ds;
        t.assign.set_begin(shard.begin);
        t.assign.set_count(shard.count);
        set_quant(&t.assign);
        t.assign.set_batch(job.eval_batch);
        MIXQ_RETURN_IF_ERROR(add(std::move(t)));
      }
      for (int64_t batch : job.bench_batches) {
        PlannedTask t;
        t.id =
            Key({"benchmark", model.sha256(), std::to_string(batch), config.sha256, quant_key, hw});
        t.kind = "benchmark";
        t.model_id = model_id;
        t.config_id = config_id;
        t.hardware = hw;
        t.batch = batch;
        t.assign.set_kind(proto::TASK_KIND_BENCHMARK);
        *t.assign.mutable_model() = model;
        set_quant(&t.assign);
        t.assign.set_batch(batch);
        t.assign.set_min_seconds(job.bench_seconds);
        MIXQ_RETURN_IF_ERROR(add(std::move(t)));
      }
      if (job.profile && quantised) {
        PlannedTask t;
        t.id = Key({"profile", model.sha256(), std::to_string(job.profile_batch), config.sha256,
                    quant_key, hw});
        t.kind = "profile";
        t.model_id = model_id;
        t.config_id = config_id;
        t.hardware = hw;
        t.batch = job.profile_batch;
        t.assign.set_kind(proto::TASK_KIND_PROFILE);
        *t.assign.mutable_model() = model;
        set_quant(&t.assign);
        t.assign.set_batch(job.profile_batch);
        MIXQ_RETURN_IF_ERROR(add(std::move(t)));
      }
    }
  }
  return plan;
}

}  // namespace

StatusOr<PlanResult> PlanJob(Store* store, const JobSpec& spec, const std::string& yaml_text,
                             uint32_t lease_ms, const std::vector<std::string>& known_classes) {
  if (spec.kind == "search") {
    return InvalidArgument(spec.source +
                           ": a search job is driven by its coordinator, not planned as tasks");
  }
  JobSpec job = spec;
  if (job.hardware.size() == 1 && job.hardware[0] == "all") {
    if (known_classes.empty()) {
      return FailedPrecondition(job.source +
                                ": 'hardware: all' needs connected workers; none are connected");
    }
    job.hardware = known_classes;
  }
  MIXQ_RETURN_IF_ERROR(store->Begin());
  StatusOr<PlanResult> plan = PlanInTransaction(store, job, yaml_text, lease_ms);
  if (!plan.ok()) {
    (void)store->Rollback();
    return plan.status();
  }
  MIXQ_RETURN_IF_ERROR(store->Commit());
  return plan;
}

}  // namespace mixq
