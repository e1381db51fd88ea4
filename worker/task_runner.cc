#include "worker/task_runner.h"

#include "common/image_manifest.h"
#include "common/log.h"
#include "common/precision_config.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/passes/input_shapes.h"
#include "engine/quant/calibration_file.h"
#include "engine/runtime/benchmark.h"
#include "engine/runtime/calibrator.h"
#include "engine/runtime/evaluator.h"
#include "engine/runtime/isa.h"
#include "engine/runtime/layer_profile.h"

namespace mixq {

Status TaskRunner::LoadModel(const proto::TaskAssign& task, const std::string& path) {
  InputShapes shapes;
  for (const proto::InputShape& entry : task.input_shapes()) {
    shapes[entry.input()] = Shape(entry.dims().begin(), entry.dims().end());
  }
  const std::string key = task.model().sha256() + "\n" + InputShapesText(shapes);
  if (graph_ && model_key_ == key) return Status::Ok();
  graph_.reset();
  MIXQ_ASSIGN_OR_RETURN(Graph graph, ImportOnnx(path));
  MIXQ_RETURN_IF_ERROR(FixInputShapes(shapes, &graph).WithContext("task " + task.task_id()));
  graph_ = std::make_unique<Graph>(std::move(graph));
  model_key_ = key;
  return Status::Ok();
}

namespace {

// Scale, mean, std and layout as every dataset form sends them.
void ReadScaling(const proto::DatasetRef& ref, Preprocess* p) {
  p->scale = ref.scale();
  p->mean.assign(ref.mean().begin(), ref.mean().end());
  p->std.assign(ref.std().begin(), ref.std().end());
  p->layout = ref.layout() == "nhwc" ? Preprocess::Layout::kNhwc : Preprocess::Layout::kNchw;
}

// The spec of an image folder as the task describes it; the worker checks
// what the coordinator sent (it is data from the network).
StatusOr<DatasetSpec> ImageSpec(const proto::DatasetRef& ref, const std::string& source) {
  DatasetSpec spec;
  spec.source = source;
  spec.format = "images";
  ImageResizeCrop& image = spec.preprocess.image;
  if (ref.color() == "gray") {
    image.color = ColorMode::kGray;
  } else if (ref.color() == "bgr") {
    spec.preprocess.bgr = true;
  } else if (!ref.color().empty() && ref.color() != "rgb") {
    return InvalidArgument(source + ": unknown color '" + ref.color().substr(0, 40) + "'");
  }
  if (ref.interpolation() == "nearest") {
    image.interpolation = Interpolation::kNearest;
  } else if (ref.interpolation() == "bicubic") {
    image.interpolation = Interpolation::kBicubic;
  } else if (!ref.interpolation().empty() && ref.interpolation() != "bilinear") {
    return InvalidArgument(source + ": unknown interpolation '" +
                           ref.interpolation().substr(0, 40) + "'");
  }
  // The same bound as a dataset file's (dataset_spec.cc): the decoder's.
  constexpr int64_t kMaxSide = 65535;
  for (int64_t side : {ref.resize_shorter(), ref.resize_height(), ref.resize_width(),
                       ref.crop_height(), ref.crop_width()}) {
    if (side < 0 || side > kMaxSide) {
      return InvalidArgument(source + ": image size " + std::to_string(side) + " outside [0, " +
                             std::to_string(kMaxSide) + "]");
    }
  }
  if ((ref.resize_height() > 0) != (ref.resize_width() > 0) ||
      (ref.crop_height() > 0) != (ref.crop_width() > 0)) {
    return InvalidArgument(source + ": an image size with one side");
  }
  image.resize_shorter = ref.resize_shorter();
  image.resize_height = ref.resize_height();
  image.resize_width = ref.resize_width();
  image.crop_height = ref.crop_height();
  image.crop_width = ref.crop_width();
  return spec;
}

// The dataset's `task` as the coordinator sent it, checked as the dataset
// file's parser checks it (common/dataset_spec.cc): the kind, the classes,
// the thresholds, the ignore index, and the files that kind needs.
StatusOr<TaskSpec> TaskFromRef(const proto::DatasetRef& ref, const TaskFiles& files,
                               const std::string& source) {
  const proto::TaskParams& p = ref.task();
  TaskSpec task;
  if (p.kind().empty() || p.kind() == "classification") return task;
  if (p.kind() == "detection") {
    task.kind = TaskSpec::Kind::kDetection;
  } else if (p.kind() == "segmentation") {
    task.kind = TaskSpec::Kind::kSegmentation;
  } else {
    return InvalidArgument(source + ": unknown task kind '" + p.kind().substr(0, 40) + "'");
  }
  if (p.classes() < 1 || p.classes() > 100000) {
    return InvalidArgument(source + ": task classes " + std::to_string(p.classes()) +
                           " outside [1, 100000]");
  }
  task.classes = p.classes();
  if (task.kind == TaskSpec::Kind::kDetection) {
    for (double value : {p.score_threshold(), p.nms_iou()}) {
      if (!(value >= 0.0 && value <= 1.0)) {
        return InvalidArgument(source + ": task score threshold or NMS IoU outside [0, 1]");
      }
    }
    if (p.max_detections() < 1 || p.max_detections() > 100000) {
      return InvalidArgument(source + ": task max_detections " +
                             std::to_string(p.max_detections()) + " outside [1, 100000]");
    }
    if (files.annotations.empty()) return InvalidArgument(source + ": no annotation file");
    task.annotations = files.annotations;
    task.annotations_name = p.annotations_name().substr(0, 200);
    if (task.annotations_name.empty()) task.annotations_name = "annotations " + source;
    task.boxes_cxcywh = p.boxes_cxcywh();
    task.objectness = p.objectness();
    task.two_outputs = p.two_outputs();
    task.score_threshold = p.score_threshold();
    task.nms_iou = p.nms_iou();
    task.max_detections = p.max_detections();
    return task;
  }
  if (p.ignore_index() < -1 || p.ignore_index() > 255) {
    return InvalidArgument(source + ": task ignore_index " + std::to_string(p.ignore_index()) +
                           " outside [-1, 255]");
  }
  if (files.masks.empty()) return InvalidArgument(source + ": no masks' manifest");
  task.ignore_index = p.ignore_index();
  return task;
}

}  // namespace

Status TaskRunner::LoadImages(const proto::TaskAssign& task, const TaskFiles& files) {
  const proto::DatasetRef& ref = task.dataset();
  // Evaluate tasks score the dataset's task; calibrate tasks open it without.
  const bool scored = task.kind() == proto::TASK_KIND_EVALUATE;
  const std::string key = ref.SerializeAsString() + (scored ? "\nscored" : "");
  if (!dataset_ || dataset_key_ != key) {
    dataset_.reset();
    const std::string source = "task images " + ref.images().sha256().substr(0, 12);
    MIXQ_ASSIGN_OR_RETURN(DatasetSpec spec, ImageSpec(ref, source));
    spec.images = files.images;
    ReadScaling(ref, &spec.preprocess);
    if (scored) {
      MIXQ_ASSIGN_OR_RETURN(spec.task, TaskFromRef(ref, files, source));
    }
    const bool labelled = spec.task.kind == TaskSpec::Kind::kClassification;
    MIXQ_ASSIGN_OR_RETURN(std::vector<ImageManifestEntry> entries, ReadImageManifest(files.images));
    std::vector<ImageManifestEntry> masks;
    if (spec.task.kind == TaskSpec::Kind::kSegmentation) {
      MIXQ_ASSIGN_OR_RETURN(masks, ReadImageManifest(files.masks));
      if (masks.size() != entries.size()) {
        return InvalidArgument(source + ": " + std::to_string(masks.size()) + " masks for " +
                               std::to_string(entries.size()) + " images");
      }
    }
    std::vector<ImageFile> images;
    images.reserve(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
      // A detection or segmentation set has no labels (-1, as Dataset::Open).
      ImageFile file{"", labelled ? entries[i].label : -1, entries[i].name, "", ""};
      if (!masks.empty()) file.mask_name = masks[i].name;
      images.push_back(std::move(file));
    }
    MIXQ_ASSIGN_OR_RETURN(dataset_, Dataset::OpenImages(spec, std::move(images)));
    dataset_key_ = key;
  }
  // The slice's files, fetched for this task; the decoded-image cache stays
  // with the dataset from task to task.
  if (static_cast<int64_t>(files.image_paths.size()) != task.count() || task.begin() < 0 ||
      task.begin() + task.count() > dataset_->size()) {
    return InvalidArgument("task " + task.task_id() + ": " +
                           std::to_string(files.image_paths.size()) +
                           " image files for a slice of " + std::to_string(task.count()));
  }
  const bool masks = dataset_->spec().task.kind == TaskSpec::Kind::kSegmentation;
  if (masks && files.mask_paths.size() != files.image_paths.size()) {
    return InvalidArgument("task " + task.task_id() + ": " +
                           std::to_string(files.mask_paths.size()) + " masks for a slice of " +
                           std::to_string(task.count()));
  }
  for (int64_t i = 0; i < task.count(); ++i) {
    dataset_->SetImagePath(task.begin() + i, files.image_paths[static_cast<size_t>(i)]);
    if (masks) dataset_->SetMaskPath(task.begin() + i, files.mask_paths[static_cast<size_t>(i)]);
  }
  return Status::Ok();
}

Status TaskRunner::LoadDataset(const proto::DatasetRef& ref, const TaskFiles& files) {
  const std::string key = ref.SerializeAsString();
  if (dataset_ && dataset_key_ == key) return Status::Ok();
  dataset_.reset();
  DatasetSpec spec;
  const std::string& samples_sha =
      ref.inputs_size() > 0 ? ref.inputs(0).samples().sha256() : ref.images().sha256();
  spec.source = "task dataset " + samples_sha.substr(0, 12);
  spec.format = ref.format();
  if (ref.inputs_size() == 0) spec.images = files.images;
  spec.inputs = files.inputs;
  spec.labels = files.labels;
  ReadScaling(ref, &spec.preprocess);
  spec.stored_layout =
      ref.stored_layout() == "nhwc" ? Preprocess::Layout::kNhwc : Preprocess::Layout::kNchw;
  MIXQ_ASSIGN_OR_RETURN(dataset_, Dataset::Open(spec));
  dataset_key_ = key;
  return Status::Ok();
}

Status TaskRunner::LoadQuant(const proto::TaskAssign& task, const TaskFiles& files) {
  const std::string key = task.model().sha256() + "\n" + task.calibration_sha256() + "\n" +
                          task.seven_bit() + "\n" + task.config_json();
  if (key == quant_key_) return Status::Ok();
  quant_key_.clear();
  quant_ = QuantSpec();
  if (task.config_json() != "fp32") {
    const std::string& model_sha256 = task.model().sha256();
    MIXQ_ASSIGN_OR_RETURN(
        PrecisionConfig config,
        ParsePrecisionConfig(task.config_json(), graph_->QuantizableLayers(), model_sha256));
    Calibration calibration;
    calibration.model_sha256 = model_sha256;
    if (!task.calibration_sha256().empty()) {
      if (files.calibration.empty()) {
        return InvalidArgument("task " + task.task_id() + ": calibration blob missing");
      }
      MIXQ_ASSIGN_OR_RETURN(calibration, LoadCalibration(files.calibration));
    }
    MIXQ_ASSIGN_OR_RETURN(
        SevenBitWeights seven_bit,
        ParseSevenBitWeights(task.seven_bit().empty() ? "none" : task.seven_bit()));
    StatusOr<QuantSpec> spec = MakeQuantSpec(config, calibration, seven_bit);
    if (!spec.ok()) return spec.status().WithContext("task " + task.task_id());
    quant_ = std::move(*spec);
  }
  quant_key_ = key;
  return Status::Ok();
}

StatusOr<std::vector<int32_t>> TaskRunner::Fp32Top1(const proto::TaskAssign& task) {
  const std::string key = Top1Key(task, EffectiveIsaName());
  if (std::optional<std::vector<int32_t>> cached = top1_cache_.Find(key, task.count())) {
    return std::move(*cached);
  }
  std::vector<int32_t> top1;
  EvalOptions options;
  options.batch = task.batch() > 0 ? task.batch() : 100;
  options.begin = task.begin();
  options.count = task.count();
  options.executor.threads = threads_;
  options.top1 = &top1;
  MIXQ_RETURN_IF_ERROR(mixq::Evaluate(*graph_, *dataset_, options).status());
  Status saved = top1_cache_.Put(key, top1);
  if (!saved.ok()) log().warn("FP32 predictions not cached: {}", saved.message());
  return top1;
}

StatusOr<proto::TaskResult> TaskRunner::Evaluate(const proto::TaskAssign& task) {
  const bool fp32 = task.config_json() == "fp32";
  std::vector<int32_t> top1;       // fp32: this run's predictions, kept for later tasks
  std::vector<int32_t> reference;  // otherwise: FP32's, to count agreement
  // Fidelity runs FP32 beside the config, which gives agreement as well.
  const bool fidelity = !fp32 && task.fidelity();
  // A detection or segmentation dataset is scored on its task: no top-1,
  // so no agreement either.
  const bool scored = dataset_->spec().task.kind != TaskSpec::Kind::kClassification;
  if (!fp32 && !fidelity && !scored) {
    MIXQ_ASSIGN_OR_RETURN(reference, Fp32Top1(task));
  }
  EvalOptions options;
  options.batch = task.batch() > 0 ? task.batch() : 100;
  options.begin = task.begin();
  options.count = task.count();
  options.executor.threads = threads_;
  options.executor.quant = quant_;
  if (fp32) {
    options.top1 = &top1;
  } else if (fidelity) {
    options.fidelity = true;
  } else if (!scored) {
    options.reference_top1 = &reference;
  }
  MIXQ_ASSIGN_OR_RETURN(EvalCounts counts, mixq::Evaluate(*graph_, *dataset_, options));
  if (fp32 && !scored) {
    Status saved = top1_cache_.Put(Top1Key(task, EffectiveIsaName()), top1);
    if (!saved.ok()) log().warn("FP32 predictions not cached: {}", saved.message());
  }
  proto::TaskResult result;
  result.set_task_id(task.task_id());
  proto::EvalResult* eval = result.mutable_eval();
  eval->set_samples(counts.samples);
  eval->set_correct1(counts.correct1);
  eval->set_correct5(counts.correct5);
  if (!scored) eval->set_agree1(fp32 ? counts.samples : counts.agree1);
  eval->set_seconds(counts.seconds);
  if (fidelity) eval->set_fidelity(counts.fidelity.Serialize());
  if (counts.detection) eval->set_detection(counts.detection->Serialize());
  if (counts.segmentation) eval->set_segmentation(counts.segmentation->Serialize());
  return result;
}

StatusOr<proto::TaskResult> TaskRunner::Calibrate(const proto::TaskAssign& task) {
  const proto::CalibrateParams& params = task.calibrate();
  CalibratorOptions options;
  options.batch = params.batch() > 0 ? params.batch() : 100;
  options.executor.threads = threads_;
  CalibrationStats stats;
  if (params.pass() == 1) {
    MIXQ_ASSIGN_OR_RETURN(stats,
                          CollectRanges(*graph_, *dataset_, task.begin(), task.count(), options));
  } else if (params.pass() == 2) {
    const nlohmann::json doc = nlohmann::json::parse(params.ranges_json(), nullptr, false);
    StatusOr<CalibrationStats> ranges = StatsFromJson(doc);
    if (!ranges.ok()) return ranges.status().WithContext("task " + task.task_id() + ": ranges");
    MIXQ_RETURN_IF_ERROR(InitHistograms(params.bins(), &*ranges));
    MIXQ_ASSIGN_OR_RETURN(
        stats, CollectHistograms(*graph_, *dataset_, task.begin(), task.count(), *ranges, options));
  } else {
    return InvalidArgument("task " + task.task_id() + ": calibrate pass " +
                           std::to_string(params.pass()) + " (expected 1 or 2)");
  }
  proto::TaskResult result;
  result.set_task_id(task.task_id());
  proto::CalibrateResult* out = result.mutable_calibrate();
  out->set_pass(params.pass());
  out->set_samples(task.count());
  out->set_stats_json(StatsToJson(stats).dump());
  return result;
}

StatusOr<proto::TaskResult> TaskRunner::Run(const proto::TaskAssign& task, const TaskFiles& files) {
  MIXQ_RETURN_IF_ERROR(LoadModel(task, files.model));
  MIXQ_RETURN_IF_ERROR(LoadQuant(task, files));
  proto::TaskResult result;
  result.set_task_id(task.task_id());
  switch (task.kind()) {
    case proto::TASK_KIND_EVALUATE:
      MIXQ_RETURN_IF_ERROR(task.dataset().format() == "images"
                               ? LoadImages(task, files)
                               : LoadDataset(task.dataset(), files));
      return Evaluate(task);
    case proto::TASK_KIND_CALIBRATE:
      MIXQ_RETURN_IF_ERROR(task.dataset().format() == "images"
                               ? LoadImages(task, files)
                               : LoadDataset(task.dataset(), files));
      return Calibrate(task);
    case proto::TASK_KIND_BENCHMARK: {
      BenchOptions options;
      options.batch = task.batch() > 0 ? task.batch() : 1;
      options.executor.threads = threads_;
      options.executor.quant = quant_;
      if (task.min_seconds() > 0) options.min_seconds = task.min_seconds();
      MIXQ_ASSIGN_OR_RETURN(BenchResult bench, Benchmark(*graph_, options));
      proto::BenchResult* out = result.mutable_bench();
      out->set_batch(bench.batch);
      out->set_threads(bench.threads);
      out->set_iterations(bench.iterations);
      out->set_latency_ms_median(bench.latency_ms_median);
      out->set_latency_ms_p90(bench.latency_ms_p90);
      out->set_images_per_second(bench.images_per_second);
      return result;
    }
    case proto::TASK_KIND_PROFILE: {
      LayerProfileOptions options;
      options.batch = task.batch() > 0 ? task.batch() : 1;
      options.threads = threads_;
      MIXQ_ASSIGN_OR_RETURN(LayerProfile profile, ProfileLayers(*graph_, quant_, options));
      proto::ProfileResult* out = result.mutable_profile();
      out->set_batch(options.batch);
      out->set_threads(threads_);
      out->set_json(LayerProfileToJson(profile).dump());
      return result;
    }
    default:
      return Unimplemented("task " + task.task_id() + ": kind " +
                           proto::TaskKind_Name(task.kind()) + " is not supported by this worker");
  }
}

}  // namespace mixq
