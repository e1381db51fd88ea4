#include "coordinator/job_planner.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/dataset.h"
#include "common/image_listing.h"
#include "common/image_manifest.h"
#include "common/log.h"
#include "common/sha256.h"
#include "coordinator/job_files.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/quant/calibration_file.h"
#include "engine/quant/quant_spec.h"
#include "engine/quant/scale_methods.h"
#include "engine/quant/tensor_stats.h"

namespace mixq {
namespace {

// Links a planned task to the job; true when it still has to run.
using TaskAdder = std::function<StatusOr<bool>(PlannedTask)>;

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
  // Inline configs (a search's) get names that say what they are: "int8"
  // when every layer is INT8 (the same row as the shorthand), else how many
  // of the layers are INT8 and a hash prefix.
  const int64_t layers = static_cast<int64_t>(config.layers.size());
  const int64_t int8 = config.Count(Precision::kInt8);
  std::string name;
  if (entry == "int8" || (inline_json && int8 == layers)) {
    name = "int8";
  } else if (inline_json) {
    name = "mixed-" + std::to_string(int8) + "of" + std::to_string(layers) + "-" +
           config.Hash().substr(0, 8);
  } else {
    name = std::filesystem::path(entry).stem().string();
  }
  return ConfigRef{name, config.Hash(), config.Canonical()};
}

std::string Key(const std::vector<std::string>& parts) {
  std::string joined;
  for (const std::string& p : parts) joined += p + "\n";
  return Sha256Hex(joined);
}

// `parts` of a task key, plus the input shapes when there are any (so that
// the keys of jobs without them hold).
std::vector<std::string> WithShapes(std::vector<std::string> parts, const InputShapes& shapes) {
  if (!shapes.empty()) parts.push_back("input_shape=" + InputShapesText(shapes));
  return parts;
}

void AssignShapes(const InputShapes& shapes, proto::TaskAssign* assign) {
  for (const auto& [name, shape] : shapes) {
    proto::InputShape* entry = assign->add_input_shapes();
    entry->set_input(name);
    for (int64_t d : shape) entry->add_dims(d);
  }
}

// A dataset as tasks name it: its files as blobs and its content key.
struct DatasetInputs {
  proto::DatasetRef ref;
  std::string sha256;
  int64_t id = 0;
  int64_t size = 0;
};

// Image manifests live beside the coordinator's calibrations, in its own
// folder, which it may read and write (file_roots.h).
std::string ManifestDir(const std::string& calibration_dir) {
  return (std::filesystem::path(calibration_dir) / "manifests").string();
}

const char* InterpolationName(Interpolation how) {
  switch (how) {
    case Interpolation::kNearest:
      return "nearest";
    case Interpolation::kBicubic:
      return "bicubic";
    case Interpolation::kBilinear:
      break;
  }
  return "bilinear";
}

// Every file of `manifest` registered as a blob, and the manifest itself,
// written to `manifest_dir` under its own hash.
StatusOr<proto::BlobRef> RegisterManifest(Store* store, const BuiltImageManifest& manifest,
                                          const std::string& manifest_dir) {
  for (size_t i = 0; i < manifest.paths.size(); ++i) {
    MIXQ_RETURN_IF_ERROR(
        store->RegisterBlob(manifest.paths[i], manifest.entries[i].sha256).status());
  }
  MIXQ_ASSIGN_OR_RETURN(const std::string path, SaveImageManifest(manifest, manifest_dir));
  return store->RegisterBlob(path, manifest.sha256);
}

// A detection or segmentation dataset's scoring as workers take it: the
// task's parameters, the annotation file (detection) or the manifest of the
// masks in sample order (segmentation), registered as blobs.
Status RegisterTask(Store* store, const DatasetSpec& spec, const BuiltImageManifest& images,
                    const std::string& manifest_dir, proto::DatasetRef* ds) {
  const TaskSpec& task = spec.task;
  proto::TaskParams* params = ds->mutable_task();
  params->set_kind(TaskKindName(task.kind));
  params->set_classes(task.classes);
  params->set_boxes_cxcywh(task.boxes_cxcywh);
  params->set_objectness(task.objectness);
  params->set_two_outputs(task.two_outputs);
  params->set_score_threshold(task.score_threshold);
  params->set_nms_iou(task.nms_iou);
  params->set_max_detections(task.max_detections);
  params->set_ignore_index(task.ignore_index);
  if (task.kind == TaskSpec::Kind::kDetection) {
    params->set_annotations_name(std::filesystem::path(task.annotations).filename().string());
    MIXQ_ASSIGN_OR_RETURN(*ds->mutable_annotations(), store->RegisterBlob(task.annotations));
    return Status::Ok();
  }
  std::vector<ManifestFile> masks;
  masks.reserve(images.paths.size());
  for (const std::string& image : images.paths) {
    const std::string mask = MaskPath(task.masks, image);
    masks.push_back({mask, 0, std::filesystem::path(mask).filename().string()});
  }
  MIXQ_ASSIGN_OR_RETURN(BuiltImageManifest manifest, BuildFileManifest(std::move(masks)));
  MIXQ_ASSIGN_OR_RETURN(*ds->mutable_masks(), RegisterManifest(store, manifest, manifest_dir));
  return Status::Ok();
}

// An image folder: every file registered as a blob, and the manifest that
// lists them by hash (common/image_manifest.h) written to `manifest_dir`
// under its own hash and registered too; it is what tasks name.
StatusOr<DatasetInputs> RegisterImageDataset(Store* store, const std::string& yaml_path,
                                             const DatasetSpec& spec,
                                             const std::string& manifest_dir) {
  if (spec.task.kind == TaskSpec::Kind::kUnlabelled) {
    // Its evaluate tasks would need FP32 beside every config; not planned yet.
    return Unimplemented(yaml_path +
                         ": an unlabelled dataset is measured by `mixq eval` only, not yet in jobs");
  }
  const bool task = spec.task.kind != TaskSpec::Kind::kClassification;
  MIXQ_ASSIGN_OR_RETURN(BuiltImageManifest manifest, BuildImageManifest(spec.images, task));
  proto::DatasetRef ds;
  ds.set_format(spec.format);
  MIXQ_ASSIGN_OR_RETURN(*ds.mutable_images(), RegisterManifest(store, manifest, manifest_dir));
  const std::string& sha = manifest.sha256;
  if (task) MIXQ_RETURN_IF_ERROR(RegisterTask(store, spec, manifest, manifest_dir, &ds));
  const Preprocess& p = spec.preprocess;
  ds.set_scale(p.scale);
  for (float m : p.mean) ds.add_mean(m);
  for (float s : p.std) ds.add_std(s);
  ds.set_layout(LayoutName(p.layout));
  ds.set_color(p.image.color == ColorMode::kGray ? "gray" : (p.bgr ? "bgr" : "rgb"));
  ds.set_resize_shorter(p.image.resize_shorter);
  ds.set_resize_height(p.image.resize_height);
  ds.set_resize_width(p.image.resize_width);
  ds.set_interpolation(InterpolationName(p.image.interpolation));
  ds.set_crop_height(p.image.crop_height);
  ds.set_crop_width(p.image.crop_width);
  nlohmann::json pre = {{"format", ds.format()},
                        {"scale", ds.scale()},
                        {"mean", p.mean},
                        {"std", p.std},
                        {"layout", ds.layout()},
                        {"color", ds.color()},
                        {"resize", {ds.resize_shorter(), ds.resize_height(), ds.resize_width()}},
                        {"interpolation", ds.interpolation()},
                        {"center_crop", {ds.crop_height(), ds.crop_width()}}};
  if (task) {
    // The scoring is part of the dataset's content, and so of its key.
    const proto::TaskParams& t = ds.task();
    pre["task"] = {{"kind", t.kind()},
                   {"classes", t.classes()},
                   {"boxes_cxcywh", t.boxes_cxcywh()},
                   {"objectness", t.objectness()},
                   {"two_outputs", t.two_outputs()},
                   {"score_threshold", t.score_threshold()},
                   {"nms_iou", t.nms_iou()},
                   {"max_detections", t.max_detections()},
                   {"ignore_index", t.ignore_index()},
                   {"annotations", ds.annotations().sha256()},
                   {"masks", ds.masks().sha256()}};
  }
  DatasetInputs inputs;
  inputs.sha256 = Key({"dataset", sha, "", pre.dump()});
  inputs.size = static_cast<int64_t>(manifest.entries.size());
  // The manifest holds the labels too: it is the row's labels blob as well.
  MIXQ_ASSIGN_OR_RETURN(
      inputs.id, store->UpsertDataset(inputs.sha256, yaml_path, sha, sha, pre.dump(), inputs.size));
  inputs.ref = std::move(ds);
  return inputs;
}

StatusOr<DatasetInputs> RegisterDataset(Store* store, const std::string& yaml_path,
                                        const std::string& manifest_dir) {
  MIXQ_ASSIGN_OR_RETURN(DatasetSpec spec, LoadDatasetSpec(yaml_path));
  if (spec.format == "images") return RegisterImageDataset(store, yaml_path, spec, manifest_dir);
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> dataset, Dataset::Open(spec));
  proto::DatasetRef ds;
  ds.set_format(spec.format);
  if (spec.inputs.empty()) {
    MIXQ_ASSIGN_OR_RETURN(*ds.mutable_images(), store->RegisterBlob(spec.images));
  }
  for (const DatasetInput& file : spec.inputs) {
    proto::DatasetInputRef* input = ds.add_inputs();
    input->set_name(file.name);
    MIXQ_ASSIGN_OR_RETURN(*input->mutable_samples(), store->RegisterBlob(file.path));
  }
  MIXQ_ASSIGN_OR_RETURN(*ds.mutable_labels(), store->RegisterBlob(spec.labels));
  ds.set_scale(spec.preprocess.scale);
  for (float m : spec.preprocess.mean) ds.add_mean(m);
  for (float s : spec.preprocess.std) ds.add_std(s);
  ds.set_layout(LayoutName(spec.preprocess.layout));
  ds.set_stored_layout(LayoutName(spec.stored_layout));
  nlohmann::json pre = {{"format", ds.format()},        {"scale", ds.scale()},
                        {"mean", spec.preprocess.mean}, {"std", spec.preprocess.std},
                        {"layout", ds.layout()},        {"stored_layout", ds.stored_layout()}};
  // Named inputs: the row's images_sha256 is the first input's file, and
  // `preprocess` (part of the key) lists them all.
  std::string samples_sha = ds.images().sha256();
  if (ds.inputs_size() > 0) {
    samples_sha = ds.inputs(0).samples().sha256();
    nlohmann::json files = nlohmann::json::array();
    for (const proto::DatasetInputRef& input : ds.inputs()) {
      files.push_back({input.name(), input.samples().sha256()});
    }
    pre["inputs"] = files;
  }
  DatasetInputs inputs;
  inputs.sha256 = Key({"dataset", samples_sha, ds.labels().sha256(), pre.dump()});
  MIXQ_ASSIGN_OR_RETURN(
      inputs.id, store->UpsertDataset(inputs.sha256, yaml_path, samples_sha, ds.labels().sha256(),
                                      pre.dump(), dataset->size()));
  inputs.ref = std::move(ds);
  inputs.size = dataset->size();
  return inputs;
}

// Plans the job's evaluate, benchmark and profile tasks into `plan`, with
// `calibration_file` ("" = none) for its quantised configs and the model's
// inputs fixed to `shapes` (ResolveJobInputShapes()).
Status PlanConfigs(Store* store, const JobSpec& job, const proto::BlobRef& model, int64_t model_id,
                   const std::string& calibration_file, const InputShapes& shapes,
                   const std::string& manifest_dir, const TaskAdder& add) {
  MIXQ_ASSIGN_OR_RETURN(DatasetInputs inputs,
                        RegisterDataset(store, job.eval_dataset, manifest_dir));
  const proto::DatasetRef& ds = inputs.ref;
  const std::string& dataset_sha = inputs.sha256;
  const int64_t dataset_id = inputs.id;
  const int64_t size = inputs.size;
  const int64_t begin = job.begin;
  const int64_t count = job.count < 0 ? size - begin : job.count;
  // count 0 (given): a job of benchmark or profile tasks only.
  if (begin + count > size || count < 0 || (count == 0 && job.count != 0)) {
    return InvalidArgument(job.source + ": data.evaluation begin " + std::to_string(begin) +
                           " count " + std::to_string(count) + " is outside the dataset (" +
                           std::to_string(size) + " samples)");
  }

  QuantCheck check;
  MIXQ_ASSIGN_OR_RETURN(check.seven_bit, ParseSevenBitWeights(job.seven_bit));
  proto::BlobRef calibration;
  if (!calibration_file.empty()) {
    MIXQ_ASSIGN_OR_RETURN(check.calibration, LoadCalibration(calibration_file));
    if (check.calibration.model_sha256 != model.sha256()) {
      return InvalidArgument(job.source + ": calibration '" + calibration_file +
                             "' was made for another model (model_sha256 " +
                             check.calibration.model_sha256.substr(0, 12) + ", model " +
                             model.sha256().substr(0, 12) + ")");
    }
    check.calibration_file = calibration_file;
    MIXQ_ASSIGN_OR_RETURN(calibration, store->RegisterBlob(calibration_file));
  }
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
        // Fidelity is (the result holds more), for quantised configs only.
        const bool fidelity = job.fidelity && quantised;
        std::vector<std::string> key = {"evaluate",
                                        model.sha256(),
                                        dataset_sha,
                                        std::to_string(shard.begin),
                                        std::to_string(shard.count),
                                        config.sha256,
                                        quant_key,
                                        hw};
        if (fidelity) key.push_back("fidelity");
        t.id = Key(WithShapes(key, shapes));
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
        t.assign.set_fidelity(fidelity);
        AssignShapes(shapes, &t.assign);
        MIXQ_RETURN_IF_ERROR(add(std::move(t)).status());
      }
      for (int64_t batch : job.bench_batches) {
        PlannedTask t;
        std::vector<std::string> key = {"benchmark",   model.sha256(), std::to_string(batch),
                                        config.sha256, quant_key,      hw};
        // Round 0 keeps the key benchmarks had before rounds existed.
        if (job.bench_round > 0) key.push_back("round=" + std::to_string(job.bench_round));
        t.id = Key(WithShapes(std::move(key), shapes));
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
        AssignShapes(shapes, &t.assign);
        MIXQ_RETURN_IF_ERROR(add(std::move(t)).status());
      }
      if (job.profile && quantised) {
        PlannedTask t;
        t.id = Key(WithShapes({"profile", model.sha256(), std::to_string(job.profile_batch),
                               config.sha256, quant_key, hw},
                              shapes));
        t.kind = "profile";
        t.model_id = model_id;
        t.config_id = config_id;
        t.hardware = hw;
        t.batch = job.profile_batch;
        t.assign.set_kind(proto::TASK_KIND_PROFILE);
        *t.assign.mutable_model() = model;
        set_quant(&t.assign);
        t.assign.set_batch(job.profile_batch);
        AssignShapes(shapes, &t.assign);
        MIXQ_RETURN_IF_ERROR(add(std::move(t)).status());
      }
    }
  }
  return Status::Ok();
}

// Both passes of a calibration spread over workers: pass 1 (ranges) on every
// shard; once all are stored, pass 2 (histograms over the merged ranges) if
// the method needs it; once those are stored, the calibration itself, saved
// in `calibration_dir` under its hash and registered as a blob. Returns that
// file, or nothing while a pass still has tasks to run (planned through
// `add`) or failed. Everything is derived from stored results, so calling it
// again (next phase, coordinator restart, rerun) plans only what is missing.
StatusOr<std::optional<std::string>> PlanCalibration(Store* store, const JobSpec& job,
                                                     const proto::BlobRef& model, int64_t model_id,
                                                     const std::string& calibration_dir,
                                                     const InputShapes& shapes,
                                                     const TaskAdder& add) {
  const CalibrateSpec& c = job.calibrate;
  const std::string dataset_path = c.dataset.empty() ? job.eval_dataset : c.dataset;
  if (dataset_path.empty()) {
    return InvalidArgument(job.source + ": calibration needs 'calibration.dataset'");
  }
  MIXQ_ASSIGN_OR_RETURN(DatasetInputs ds,
                        RegisterDataset(store, dataset_path, ManifestDir(calibration_dir)));
  if (c.begin + c.samples > ds.size) {
    return InvalidArgument(job.source + ": calibration samples [" + std::to_string(c.begin) + ", " +
                           std::to_string(c.begin + c.samples) + ") are outside '" + dataset_path +
                           "' (" + std::to_string(ds.size) + " samples)");
  }
  ScaleOptions scale;
  MIXQ_ASSIGN_OR_RETURN(scale.method, ParseScaleMethod(c.method));
  scale.percentile = c.percentile;
  MIXQ_ASSIGN_OR_RETURN(int64_t fp32_id, store->UpsertConfig(Sha256Hex("fp32"), "fp32", "fp32"));
  const std::vector<Shard> shards = MakeShards(c.begin, c.samples, c.shard_size);

  // One pass over every shard; the merged statistics once all are stored.
  auto pass = [&](int number,
                  const std::string& ranges_json) -> StatusOr<std::optional<CalibrationStats>> {
    bool complete = true;
    CalibrationStats merged;
    for (const Shard& shard : shards) {
      PlannedTask t;
      // The method is not in the key: the same statistics serve every method.
      t.id = Key(WithShapes(
          {"calibrate", model.sha256(), ds.sha256, std::to_string(shard.begin),
           std::to_string(shard.count), std::to_string(c.batch), std::to_string(number),
           number == 2 ? std::to_string(kDefaultHistogramBins) + " " + Sha256Hex(ranges_json)
                       : std::string()},
          shapes));
      t.kind = "calibrate";
      t.model_id = model_id;
      t.dataset_id = ds.id;
      t.config_id = fp32_id;
      t.shard_index = shard.index;
      t.batch = c.batch;
      t.assign.set_kind(proto::TASK_KIND_CALIBRATE);
      *t.assign.mutable_model() = model;
      *t.assign.mutable_dataset() = ds.ref;
      t.assign.set_begin(shard.begin);
      t.assign.set_count(shard.count);
      t.assign.set_config_json("fp32");
      t.assign.set_batch(c.batch);
      AssignShapes(shapes, &t.assign);
      proto::CalibrateParams* params = t.assign.mutable_calibrate();
      params->set_pass(number);
      params->set_batch(c.batch);
      if (number == 2) {
        params->set_bins(kDefaultHistogramBins);
        params->set_ranges_json(ranges_json);
      }
      const std::string id = t.id;
      MIXQ_ASSIGN_OR_RETURN(bool to_run, add(std::move(t)));
      if (to_run) {
        complete = false;
        continue;
      }
      MIXQ_ASSIGN_OR_RETURN(std::optional<std::string> stored, store->CalibrationStatsOf(id));
      if (!stored) {
        complete = false;  // failed for good: the job ends failed
        continue;
      }
      StatusOr<CalibrationStats> stats =
          StatsFromJson(nlohmann::json::parse(*stored, nullptr, false));
      if (!stats.ok()) return stats.status().WithContext("calibrate task " + id.substr(0, 12));
      MIXQ_RETURN_IF_ERROR(Merge(*stats, &merged));
    }
    if (!complete) return std::optional<CalibrationStats>();
    return std::optional<CalibrationStats>(std::move(merged));
  };

  MIXQ_ASSIGN_OR_RETURN(std::optional<CalibrationStats> stats, pass(1, ""));
  if (!stats) return std::optional<std::string>();
  if (scale.method != ScaleMethod::kMinMax) {
    const std::string ranges_json = StatsToJson(*stats).dump();
    MIXQ_ASSIGN_OR_RETURN(stats, pass(2, ranges_json));
    if (!stats) return std::optional<std::string>();
  }

  MIXQ_ASSIGN_OR_RETURN(Graph graph, ImportOnnx(job.model));
  Calibration calibration;
  calibration.model_sha256 = model.sha256();
  calibration.scale = scale;
  MIXQ_ASSIGN_OR_RETURN(calibration.activations,
                        ActivationQuantParams(*stats, scale, graph.inputs));
  calibration.stats = std::move(*stats);
  calibration.provenance = {
      {"dataset", dataset_path},        {"begin", c.begin},
      {"samples", c.samples},           {"batch", c.batch},
      {"bins", kDefaultHistogramBins},  {"method", c.method},
      {"percentile", c.percentile},     {"mixq_version", MIXQ_VERSION},
      {"model_sha256", model.sha256()}, {"synthetic", false},
      {"shards", shards.size()},        {"tool", "coordinator calibrate tasks"}};
  if (!shapes.empty()) calibration.provenance["input_shape"] = InputShapesText(shapes);
  const std::string text = CalibrationToJson(calibration).dump(1);
  const std::string sha = Sha256Hex(text);
  std::error_code ec;
  std::filesystem::create_directories(calibration_dir, ec);
  const std::string path = (std::filesystem::path(calibration_dir) / (sha + ".json")).string();
  if (!std::filesystem::exists(path)) {
    log().info("calibration of {} ({}, {} samples in {} shard(s)) written to {}", job.model,
               c.method, c.samples, shards.size(), path);
    const std::string part = path + ".part";
    std::ofstream out(part, std::ios::trunc);
    out << text;
    out.close();
    if (!out) return Unavailable(part + ": cannot write the calibration");
    std::filesystem::rename(part, path, ec);
    if (ec) return Unavailable(path + ": " + ec.message());
  }
  MIXQ_ASSIGN_OR_RETURN(proto::BlobRef blob, store->RegisterBlob(path));
  MIXQ_RETURN_IF_ERROR(store
                           ->UpsertCalibration(blob.sha256(), model_id, ds.id, c.method, c.samples,
                                               StatsToJson(calibration.stats).dump())
                           .status());
  return std::optional<std::string>(path);
}

// Plans what the job needs next given what is stored: its calibration's
// passes first (if it has `calibration:` as a mapping), then its configs.
Status PlanPhases(Store* store, const JobSpec& job, const std::string& calibration_dir,
                  const TaskAdder& add) {
  MIXQ_ASSIGN_OR_RETURN(proto::BlobRef model, store->RegisterBlob(job.model));
  MIXQ_ASSIGN_OR_RETURN(int64_t model_id, store->UpsertModel(model.sha256(), model.path()));
  InputShapes shapes;
  if (JobHasInputShapes(job)) {
    MIXQ_ASSIGN_OR_RETURN(Graph graph, ImportOnnx(job.model));
    MIXQ_ASSIGN_OR_RETURN(shapes, ResolveJobInputShapes(job, graph));
  }
  std::string calibration_file = job.calibration_file;
  if (job.calibrate.enabled) {
    MIXQ_ASSIGN_OR_RETURN(
        std::optional<std::string> file,
        PlanCalibration(store, job, model, model_id, calibration_dir, shapes, add));
    if (!file) return Status::Ok();
    calibration_file = *file;
    if (!job.output.empty()) {
      std::error_code ec;
      const std::filesystem::path folder = std::filesystem::path(job.output).parent_path();
      if (!folder.empty()) std::filesystem::create_directories(folder, ec);
      std::filesystem::copy_file(calibration_file, job.output,
                                 std::filesystem::copy_options::overwrite_existing, ec);
      if (ec) return Unavailable(job.output + ": cannot write the calibration: " + ec.message());
    }
  }
  if (job.kind == "calibrate") return Status::Ok();
  return PlanConfigs(store, job, model, model_id, calibration_file, shapes,
                     ManifestDir(calibration_dir), add);
}

// The `add` of a job: links each task to it, counting them and collecting
// those that still have to run.
TaskAdder MakeAdder(Store* store, int64_t job_id, uint32_t lease_ms, PlanResult* plan) {
  return [store, job_id, lease_ms, plan](PlannedTask task) -> StatusOr<bool> {
    task.assign.set_task_id(task.id);
    task.assign.set_lease_ms(lease_ms);
    ++plan->total;
    MIXQ_ASSIGN_OR_RETURN(bool to_run, store->AddTask(job_id, task));
    if (to_run) {
      plan->to_run.push_back(PendingTask{task.id, job_id, task.hardware, task.assign, 0});
    }
    return to_run;
  };
}

StatusOr<PlanResult> PlanInTransaction(Store* store, const JobSpec& job,
                                       const std::string& yaml_text, const PlanOptions& options) {
  // The job row names the evaluation dataset, or for a calibrate job the
  // calibration's.
  const std::string dataset_path =
      !job.eval_dataset.empty() ? job.eval_dataset : job.calibrate.dataset;
  MIXQ_ASSIGN_OR_RETURN(proto::BlobRef model, store->RegisterBlob(job.model));
  MIXQ_ASSIGN_OR_RETURN(int64_t model_id, store->UpsertModel(model.sha256(), model.path()));
  MIXQ_ASSIGN_OR_RETURN(DatasetInputs ds,
                        RegisterDataset(store, dataset_path, ManifestDir(options.calibration_dir)));
  if (job.calibrate.enabled && job.kind != "calibrate") {
    // The configs are planned only after calibration: refuse those that can
    // never run (unknown layers, another model) now, not minutes later.
    std::unique_ptr<Graph> graph;
    for (const std::string& entry : job.configs) {
      if (entry == "fp32") continue;
      if (!graph) {
        MIXQ_ASSIGN_OR_RETURN(Graph imported, ImportOnnx(job.model));
        graph = std::make_unique<Graph>(std::move(imported));
      }
      MIXQ_RETURN_IF_ERROR(LoadPrecisionConfig(entry, *graph, model.sha256()).status());
    }
  }
  MIXQ_ASSIGN_OR_RETURN(int64_t job_id, store->CreateJob(job.name, job.kind, yaml_text, model_id,
                                                         ds.id, options.base_dir, options.owner));
  if (job.parent_job_id > 0) MIXQ_RETURN_IF_ERROR(store->SetJobParent(job_id, job.parent_job_id));
  PlanResult plan;
  plan.job_id = job_id;
  MIXQ_RETURN_IF_ERROR(PlanPhases(store, job, options.calibration_dir,
                                  MakeAdder(store, job_id, options.lease_ms, &plan)));
  return plan;
}

JobSpec WithHardware(const JobSpec& spec, const std::vector<std::string>& known_classes,
                     Status* status) {
  JobSpec job = spec;
  if (job.hardware.size() == 1 && job.hardware[0] == "all") {
    if (known_classes.empty()) {
      *status = FailedPrecondition(job.source +
                                   ": 'hardware: all' needs connected workers; none are connected");
    }
    job.hardware = known_classes;
  }
  // A bare ISA ("avx2") names the connected class with that effective ISA
  // ("<cpu> / <n> cores / avx2"), as workers started with --max-isa are; an
  // unmatched name stays, so its tasks fail as a missing class.
  for (std::string& hw : job.hardware) {
    if (hw == "any" || hw.find(" / ") != std::string::npos) continue;
    for (const std::string& known : known_classes) {
      const std::string suffix = " / " + hw;
      if (known.size() > suffix.size() &&
          known.compare(known.size() - suffix.size(), suffix.size(), suffix) == 0) {
        hw = known;
        break;
      }
    }
  }
  return job;
}

}  // namespace

StatusOr<PlanResult> PlanJob(Store* store, const JobSpec& spec, const std::string& yaml_text,
                             const PlanOptions& options) {
  if (spec.kind == "search") {
    return InvalidArgument(spec.source +
                           ": a search job is driven by its coordinator, not planned as tasks");
  }
  // Before anything opens, stats or hashes a file the job names.
  MIXQ_RETURN_IF_ERROR(CheckJobFiles(spec, options.roots));
  Status hardware;
  const JobSpec job = WithHardware(spec, options.known_classes, &hardware);
  MIXQ_RETURN_IF_ERROR(hardware);
  MIXQ_RETURN_IF_ERROR(store->Begin());
  StatusOr<PlanResult> plan = PlanInTransaction(store, job, yaml_text, options);
  if (!plan.ok()) {
    (void)store->Rollback();
    return plan.status();
  }
  MIXQ_RETURN_IF_ERROR(store->Commit());
  return plan;
}

}  // namespace mixq

namespace mixq {

StatusOr<PlanResult> PlanNextPhase(Store* store, int64_t job_id, const PlanOptions& options) {
  PlanResult plan;
  plan.job_id = job_id;
  MIXQ_ASSIGN_OR_RETURN(auto source, store->JobSource(job_id));
  MIXQ_ASSIGN_OR_RETURN(JobSpec spec,
                        ParseJobSpec(source.first, source.second, "job " + std::to_string(job_id)));
  if (!spec.calibrate.enabled) return plan;  // planned whole at submission
  // A coordinator restarted with other roots: the job's files again, and
  // its output before the calibration is copied there.
  MIXQ_RETURN_IF_ERROR(CheckJobFiles(spec, options.roots));
  Status hardware;
  const JobSpec job = WithHardware(spec, options.known_classes, &hardware);
  MIXQ_RETURN_IF_ERROR(hardware);
  MIXQ_RETURN_IF_ERROR(store->Begin());
  Status s = PlanPhases(store, job, options.calibration_dir,
                        MakeAdder(store, job_id, options.lease_ms, &plan));
  if (!s.ok()) {
    (void)store->Rollback();
    return s;
  }
  MIXQ_RETURN_IF_ERROR(store->Commit());
  return plan;
}

}  // namespace mixq
