#include "engine/runtime/task_scorer.h"

#include <algorithm>
#include <filesystem>

#include "common/image_codec.h"
#include "metrics/coco_annotations.h"

namespace mixq {
namespace {

std::string FileNameUnder(const std::string& path, const std::string& root) {
  std::string name = std::filesystem::path(path).lexically_relative(root).string();
  if (name.empty() || name.rfind("..", 0) == 0) name = std::filesystem::path(path).filename();
  return name;
}

// The name an image's annotation entry has: the file's name under the
// dataset's folder, as a worker's manifest gives it or as found.
std::string AnnotationName(const ImageFile& file, const std::string& root) {
  return file.name.empty() ? FileNameUnder(file.path, root) : file.name;
}

// `error`, which starts with `path` (a worker's cached copy, named by hash),
// naming the file `name` instead, as the dataset does; unchanged when `name`
// is empty.
Status Renamed(const Status& error, const std::string& path, const std::string& name) {
  if (name.empty()) return error;
  std::string message = error.message();
  if (message.rfind(path, 0) == 0) message.erase(0, path.size());
  return Status(error.code(), name + message);
}

}  // namespace

StatusOr<std::unique_ptr<TaskScorer>> TaskScorer::Make(const Dataset& dataset, int64_t input_height,
                                                       int64_t input_width) {
  const TaskSpec& task = dataset.spec().task;
  const ImageSamples* images = dataset.images();
  if (task.kind == TaskSpec::Kind::kClassification || images == nullptr) {
    return InvalidArgument(dataset.spec().source + ": not a detection or segmentation dataset");
  }
  auto scorer = std::make_unique<TaskScorer>(dataset);
  if (task.kind == TaskSpec::Kind::kSegmentation) {
    MIXQ_ASSIGN_OR_RETURN(
        SegmentationStats stats,
        SegmentationStats::Create(task.classes, task.ignore_index >= 0
                                                    ? std::optional<int64_t>(task.ignore_index)
                                                    : std::nullopt));
    scorer->segmentation_ = std::move(stats);
    return scorer;
  }
  const ImageResizeCrop& how = dataset.spec().preprocess.image;
  if (how.crop_height > 0 || how.resize_shorter > 0) {
    return InvalidArgument(dataset.spec().source +
                           ": a detection dataset resizes each image to the model's size "
                           "(no 'center_crop', no shorter-side 'resize'), so that boxes map back");
  }
  StatusOr<CocoAnnotations> read = ReadCocoAnnotations(task.annotations);
  if (!read.ok()) return Renamed(read.status(), task.annotations, task.annotations_name);
  const CocoAnnotations& coco = *read;
  const std::string& annotations =
      task.annotations_name.empty() ? task.annotations : task.annotations_name;
  if (static_cast<int64_t>(coco.categories.size()) != task.classes) {
    return InvalidArgument(annotations + ": " + std::to_string(coco.categories.size()) +
                           " categories, but the dataset's task says the model has " +
                           std::to_string(task.classes) + " classes");
  }
  std::vector<int64_t> category_ids;
  for (const CocoCategory& c : coco.categories) category_ids.push_back(c.id);
  std::sort(category_ids.begin(), category_ids.end());
  scorer->head_.box_format = task.boxes_cxcywh ? BoxFormat::kCxcywh : BoxFormat::kXyxy;
  scorer->head_.has_objectness = task.objectness;
  scorer->head_.num_classes = task.classes;
  scorer->head_.layout = task.two_outputs ? HeadLayout::kBoxesAndScores : HeadLayout::kCombined;
  scorer->head_.category_ids = category_ids;
  scorer->decode_.score_threshold = task.score_threshold;
  scorer->decode_.nms_iou_threshold = task.nms_iou;
  scorer->decode_.max_detections = task.max_detections;
  scorer->input_height_ = input_height;
  scorer->input_width_ = input_width;

  // Each sample is the annotated image of its file name; its ground truths
  // take the sample's index as their image index.
  std::map<std::string, const CocoImage*> by_name;
  for (const CocoImage& image : coco.images) by_name[image.file_name] = &image;
  std::map<int64_t, int64_t> sample_of_id;
  const int64_t n = images->size();
  scorer->truths_.resize(static_cast<size_t>(n));
  scorer->transforms_.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const std::string name = AnnotationName(images->files()[i], dataset.spec().images);
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      return InvalidArgument(annotations + ": no image entry for '" + name + "' (sample " +
                             std::to_string(i) + " of " + dataset.spec().images + ")");
    }
    const CocoImage& image = *it->second;
    sample_of_id[image.id] = i;
    ImageTransform& t = scorer->transforms_[static_cast<size_t>(i)];
    t.scale_x = static_cast<double>(image.width) / static_cast<double>(input_width);
    t.scale_y = static_cast<double>(image.height) / static_cast<double>(input_height);
    t.width = static_cast<double>(image.width);
    t.height = static_cast<double>(image.height);
  }
  // Every annotated image must be a sample: COCO's mAP counts the objects
  // of an image nobody ran as missed, so a lost file would lower it silently.
  for (const CocoImage& image : coco.images) {
    if (sample_of_id.count(image.id) == 0) {
      return InvalidArgument(task.annotations + ": image '" + image.file_name + "' (id " +
                             std::to_string(image.id) + ") is not in " + dataset.spec().images);
    }
  }
  for (GroundTruth gt : coco.ground_truths) {
    auto it = sample_of_id.find(gt.image_index);
    if (it == sample_of_id.end()) continue;  // cannot happen: every image is a sample
    gt.image_index = it->second;
    scorer->truths_[static_cast<size_t>(it->second)].push_back(gt);
  }
  scorer->detection_ = DetectionStats();
  return scorer;
}

Status TaskScorer::Add(int64_t first, const std::vector<Tensor>& outputs) {
  if (outputs.empty()) return InvalidArgument("task scoring: the model has no output");
  return detection_ ? AddDetections(first, outputs) : AddMasks(first, outputs);
}

Status TaskScorer::AddDetections(int64_t first, const std::vector<Tensor>& outputs) {
  const int64_t n = outputs[0].rank() > 0 ? outputs[0].shape()[0] : 0;
  if (first < 0 || first + n > static_cast<int64_t>(truths_.size())) {
    return OutOfRange("task scoring: samples [" + std::to_string(first) + ", +" +
                      std::to_string(n) + ") outside the dataset");
  }
  std::vector<int64_t> indices;
  std::vector<ImageTransform> transforms;
  for (int64_t i = first; i < first + n; ++i) {
    indices.push_back(i);
    transforms.push_back(transforms_[static_cast<size_t>(i)]);
  }
  const std::vector<Tensor> head(
      outputs.begin(),
      outputs.begin() +
          std::min<size_t>(outputs.size(), head_.layout == HeadLayout::kCombined ? 1 : 2));
  MIXQ_ASSIGN_OR_RETURN(std::vector<Detection> detections,
                        DecodeDetections(head_, head, indices, transforms, decode_));
  std::vector<std::vector<Detection>> per_sample(static_cast<size_t>(n));
  for (Detection& d : detections)
    per_sample[static_cast<size_t>(d.image_index - first)].push_back(d);
  for (int64_t i = 0; i < n; ++i) {
    MIXQ_RETURN_IF_ERROR(detection_->AddImage(first + i, truths_[static_cast<size_t>(first + i)],
                                              per_sample[static_cast<size_t>(i)]));
  }
  return Status::Ok();
}

Status TaskScorer::AddMasks(int64_t first, const std::vector<Tensor>& outputs) {
  const Tensor& logits = outputs[0];
  if (logits.dtype() != DType::kF32 || logits.rank() != 4) {
    return InvalidArgument("segmentation: output is " + ShapeToString(logits.shape()) + " " +
                           DTypeName(logits.dtype()) + ", expected float32 [N, classes, H, W]");
  }
  const int64_t n = logits.shape()[0], classes = logits.shape()[1];
  const int64_t height = logits.shape()[2], width = logits.shape()[3];
  const TaskSpec& task = dataset_.spec().task;
  if (classes != task.classes) {
    return InvalidArgument("segmentation: the model gives " + std::to_string(classes) +
                           " classes, the dataset's task says " + std::to_string(task.classes));
  }
  const ImageSamples& images = *dataset_.images();
  if (first < 0 || first + n > images.size()) {
    return OutOfRange("task scoring: samples outside the dataset");
  }
  const int64_t pixels = height * width;
  std::vector<int64_t> predicted(static_cast<size_t>(pixels)), labels(static_cast<size_t>(pixels));
  for (int64_t i = 0; i < n; ++i) {
    const ImageFile& file = images.files()[first + i];
    const std::string& mask_path = file.mask_name.empty() ? file.mask : file.mask_name;
    if (file.mask.empty()) {
      return FailedPrecondition("segmentation: sample " + std::to_string(first + i) + " (" +
                                AnnotationName(file, dataset_.spec().images) +
                                ") has no mask on this machine");
    }
    StatusOr<Image> decoded = DecodeImageFile(file.mask, ColorMode::kGray);
    if (!decoded.ok()) return Renamed(decoded.status(), file.mask, file.mask_name);
    const Image& mask = *decoded;
    if (mask.height != height || mask.width != width) {
      return InvalidArgument(mask_path + ": a mask of " + std::to_string(mask.height) + "x" +
                             std::to_string(mask.width) + " pixels for an output of " +
                             std::to_string(height) + "x" + std::to_string(width));
    }
    const float* p = logits.data<float>() + i * classes * pixels;
    for (int64_t k = 0; k < pixels; ++k) {
      int64_t best = 0;
      for (int64_t c = 1; c < classes; ++c) {
        if (p[c * pixels + k] > p[best * pixels + k]) best = c;
      }
      predicted[static_cast<size_t>(k)] = best;
      labels[static_cast<size_t>(k)] = mask.pixels[static_cast<size_t>(k)];
    }
    MIXQ_RETURN_IF_ERROR(
        segmentation_->Add(predicted.data(), labels.data(), pixels).WithContext(mask_path));
  }
  return Status::Ok();
}

}  // namespace mixq
