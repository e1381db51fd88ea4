// LoadDatasetSpec: the dataset YAML (schemas/dataset.md) into a DatasetSpec.
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <initializer_list>
#include <string_view>

#include "common/dataset.h"
#include "common/yaml_fields.h"

namespace mixq {
namespace {

// The largest |value| of preprocess.scale, mean and std.
constexpr double kMaxPreprocessValue = 1e6;

// The largest side `resize` and `center_crop` may name: the decoder's own
// limit on a side.
constexpr int64_t kMaxImageSide = 65535;

// A number as the user would write it: 1e+30, -5, 0.5, nan.
std::string FormatNumber(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

// Errors name the YAML file and the key's dotted path.
class SpecParser : public YamlFields {
 public:
  explicit SpecParser(std::string source) : YamlFields(std::move(source)) {}

  // A finite float (YamlFields::Number is a double and takes infinities).
  StatusOr<float> Number(const YAML::Node& node, const std::string& path) const {
    double value = 0;
    try {
      if (!node.IsScalar()) return Error("'" + path + "' must be a number");
      value = node.as<double>();
    } catch (const YAML::Exception&) {
      return Error("'" + path + "' must be a number, got '" + node.Scalar() + "'");
    }
    if (!std::isfinite(value)) return Error("'" + path + "' must be finite");
    return static_cast<float>(value);
  }

  // A list of numbers; a single number counts as a list of one.
  StatusOr<std::vector<float>> NumberList(const YAML::Node& node, const std::string& path) const {
    std::vector<float> values;
    if (node.IsScalar()) {
      MIXQ_ASSIGN_OR_RETURN(float v, Number(node, path));
      values.push_back(v);
    } else if (node.IsSequence()) {
      for (size_t i = 0; i < node.size(); ++i) {
        MIXQ_ASSIGN_OR_RETURN(float v, Number(node[i], path + "[" + std::to_string(i) + "]"));
        values.push_back(v);
      }
    }
    if (values.empty())
      return Error("'" + path + "' must be a number or a non-empty list of numbers");
    return values;
  }

  StatusOr<Preprocess::Layout> Layout(const YAML::Node& node, const std::string& path) const {
    if (node.IsScalar() && node.Scalar() == "nchw") return Preprocess::Layout::kNchw;
    if (node.IsScalar() && node.Scalar() == "nhwc") return Preprocess::Layout::kNhwc;
    return Error("'" + path + "' must be nchw or nhwc, got '" +
                 (node.IsScalar() ? node.Scalar() : std::string("a non-scalar")) + "'");
  }

  StatusOr<Preprocess> ParsePreprocess(const YAML::Node& node) const {
    Preprocess p;
    if (node.IsNull()) return p;
    if (!node.IsMap()) return Error("'preprocess' must be a mapping (scale, mean, std, layout)");
    MIXQ_RETURN_IF_ERROR(CheckKeys(
        node, "preprocess.",
        {"scale", "mean", "std", "layout", "color", "resize", "interpolation", "center_crop"}));
    if (node["scale"]) {
      MIXQ_ASSIGN_OR_RETURN(p.scale, Number(node["scale"], "preprocess.scale"));
      // Real preprocessing multiplies by 1/255, 1 or 255; beyond this range
      // (or negative, or not finite) it is a typo that would run silently.
      if (!(p.scale > 0 && p.scale <= kMaxPreprocessValue)) {
        return Error("'preprocess.scale' must be in (0, 1e6], got " + FormatNumber(p.scale));
      }
    }
    if (node["mean"]) {
      MIXQ_ASSIGN_OR_RETURN(p.mean, NumberList(node["mean"], "preprocess.mean"));
      for (size_t i = 0; i < p.mean.size(); ++i) {
        if (!(std::fabs(p.mean[i]) <= kMaxPreprocessValue)) {
          return Error("'preprocess.mean[" + std::to_string(i) + "]' must be in [-1e6, 1e6], got " +
                       FormatNumber(p.mean[i]));
        }
      }
    }
    if (node["std"]) {
      MIXQ_ASSIGN_OR_RETURN(p.std, NumberList(node["std"], "preprocess.std"));
      for (size_t i = 0; i < p.std.size(); ++i) {
        if (!(p.std[i] > 0 && p.std[i] <= kMaxPreprocessValue)) {
          return Error("'preprocess.std[" + std::to_string(i) + "]' must be in (0, 1e6], got " +
                       FormatNumber(p.std[i]));
        }
      }
    }
    if (p.mean.size() > 1 && p.std.size() > 1 && p.mean.size() != p.std.size()) {
      return Error("'preprocess.mean' has " + std::to_string(p.mean.size()) +
                   " values but 'preprocess.std' has " + std::to_string(p.std.size()));
    }
    if (node["layout"]) {
      MIXQ_ASSIGN_OR_RETURN(p.layout, Layout(node["layout"], "preprocess.layout"));
    }
    MIXQ_RETURN_IF_ERROR(ParseImageSteps(node, &p));
    return p;
  }

  // A size as `resize` or `center_crop` take it: one number or [height, width].
  StatusOr<std::pair<int64_t, int64_t>> Size(const YAML::Node& node, const std::string& path,
                                             bool* one_number) const {
    *one_number = node.IsScalar();
    if (node.IsScalar()) {
      MIXQ_ASSIGN_OR_RETURN(int64_t side, Int(node, path, 1, kMaxImageSide));
      return std::make_pair(side, side);
    }
    if (!node.IsSequence() || node.size() != 2) {
      return Error("'" + path + "' must be a number or [height, width]");
    }
    MIXQ_ASSIGN_OR_RETURN(int64_t height, Int(node[0], path + "[0]", 1, kMaxImageSide));
    MIXQ_ASSIGN_OR_RETURN(int64_t width, Int(node[1], path + "[1]", 1, kMaxImageSide));
    return std::make_pair(height, width);
  }

  // The image folder's steps (color, resize, interpolation, center_crop).
  Status ParseImageSteps(const YAML::Node& node, Preprocess* p) const {
    ImageResizeCrop& image = p->image;
    if (node["color"]) {
      MIXQ_ASSIGN_OR_RETURN(const std::string color, String(node["color"], "preprocess.color"));
      if (color == "rgb" || color == "bgr") {
        image.color = ColorMode::kRgb;
        p->bgr = color == "bgr";
      } else if (color == "gray" || color == "grey") {
        image.color = ColorMode::kGray;
      } else {
        return Error("'preprocess.color' must be rgb, bgr or gray, got '" + color + "'");
      }
    }
    if (node["resize"]) {
      bool shorter = false;
      MIXQ_ASSIGN_OR_RETURN(const auto size, Size(node["resize"], "preprocess.resize", &shorter));
      if (shorter) {
        image.resize_shorter = size.first;
      } else {
        image.resize_height = size.first;
        image.resize_width = size.second;
      }
    }
    if (node["interpolation"]) {
      MIXQ_ASSIGN_OR_RETURN(const std::string how,
                            String(node["interpolation"], "preprocess.interpolation"));
      if (how == "bilinear") {
        image.interpolation = Interpolation::kBilinear;
      } else if (how == "bicubic") {
        image.interpolation = Interpolation::kBicubic;
      } else if (how == "nearest") {
        image.interpolation = Interpolation::kNearest;
      } else {
        return Error("'preprocess.interpolation' must be bilinear, bicubic or nearest, got '" +
                     how + "'");
      }
    }
    if (node["center_crop"]) {
      bool unused = false;
      MIXQ_ASSIGN_OR_RETURN(const auto size,
                            Size(node["center_crop"], "preprocess.center_crop", &unused));
      image.crop_height = size.first;
      image.crop_width = size.second;
    }
    return Status::Ok();
  }

  // `value` made relative to the YAML's folder unless absolute.
  std::string ResolvePath(const std::string& value) const {
    const std::filesystem::path path(value);
    const std::filesystem::path base = std::filesystem::path(source()).parent_path();
    if (path.is_absolute() || base.empty()) return value;
    return (base / path).lexically_normal().string();
  }

  // `inputs`: model input name -> sample file, in the YAML's order.
  StatusOr<std::vector<DatasetInput>> Inputs(const YAML::Node& node) const {
    if (!node.IsMap() || node.size() == 0) {
      return Error("'inputs' must be a non-empty mapping from model input name to sample file");
    }
    std::vector<DatasetInput> inputs;
    for (const auto& entry : node) {
      if (!entry.first.IsScalar() || entry.first.Scalar().empty()) {
        return Error("'inputs' keys must be model input names");
      }
      const std::string name = entry.first.Scalar();
      for (const DatasetInput& seen : inputs) {
        if (seen.name == name) return Error("'inputs." + name + "' is given twice");
      }
      MIXQ_ASSIGN_OR_RETURN(const std::string path, String(entry.second, "inputs." + name));
      inputs.push_back({name, ResolvePath(path)});
    }
    return inputs;
  }

  // `task` (common/task_spec.h): what the samples are scored on.
  StatusOr<TaskSpec> ParseTask(const YAML::Node& node) const {
    TaskSpec task;
    if (!node.IsMap()) return Error("'task' must be a mapping with 'kind'");
    MIXQ_RETURN_IF_ERROR(
        CheckKeys(node, "task.",
                  {"kind", "annotations", "masks", "classes", "ignore_index", "boxes", "objectness",
                   "outputs", "score_threshold", "nms_iou", "max_detections"}));
    if (!node["kind"]) return Error("missing required key 'task.kind'");
    MIXQ_ASSIGN_OR_RETURN(const std::string kind, String(node["kind"], "task.kind"));
    if (kind == "classification") {
      task.kind = TaskSpec::Kind::kClassification;
    } else if (kind == "detection") {
      task.kind = TaskSpec::Kind::kDetection;
    } else if (kind == "segmentation") {
      task.kind = TaskSpec::Kind::kSegmentation;
    } else if (kind == "unlabelled") {
      task.kind = TaskSpec::Kind::kUnlabelled;
    } else {
      return Error(
          "'task.kind' must be classification, detection, segmentation or unlabelled, got '" +
          kind + "'");
    }
    const bool detection = task.kind == TaskSpec::Kind::kDetection;
    const bool segmentation = task.kind == TaskSpec::Kind::kSegmentation;
    // Each key belongs to one kind; another kind's key is a slip, not a no-op.
    for (const char* key : {"annotations", "boxes", "objectness", "outputs", "score_threshold",
                            "nms_iou", "max_detections"}) {
      if (node[key] && !detection) {
        return Error(std::string("'task.") + key + "' applies to kind detection only");
      }
    }
    for (const char* key : {"masks", "ignore_index"}) {
      if (node[key] && !segmentation) {
        return Error(std::string("'task.") + key + "' applies to kind segmentation only");
      }
    }
    if (!detection && !segmentation) {
      if (node["classes"]) return Error("'task.classes' applies to detection and segmentation");
      return task;
    }
    if (!node["classes"]) return Error("missing required key 'task.classes'");
    MIXQ_ASSIGN_OR_RETURN(task.classes, Int(node["classes"], "task.classes", 1, 100000));
    if (detection) {
      if (!node["annotations"]) return Error("missing required key 'task.annotations'");
      MIXQ_ASSIGN_OR_RETURN(const std::string path,
                            String(node["annotations"], "task.annotations"));
      task.annotations = ResolvePath(path);
      if (node["boxes"]) {
        MIXQ_ASSIGN_OR_RETURN(const std::string boxes, String(node["boxes"], "task.boxes"));
        if (boxes != "cxcywh" && boxes != "xyxy") {
          return Error("'task.boxes' must be cxcywh or xyxy, got '" + boxes + "'");
        }
        task.boxes_cxcywh = boxes == "cxcywh";
      }
      if (node["objectness"]) {
        MIXQ_ASSIGN_OR_RETURN(task.objectness, Bool(node["objectness"], "task.objectness"));
      }
      if (node["outputs"]) {
        MIXQ_ASSIGN_OR_RETURN(const std::string outputs, String(node["outputs"], "task.outputs"));
        if (outputs != "combined" && outputs != "boxes_and_scores") {
          return Error("'task.outputs' must be combined or boxes_and_scores, got '" + outputs +
                       "'");
        }
        task.two_outputs = outputs == "boxes_and_scores";
      }
      for (const auto& [key, value] : {std::make_pair("score_threshold", &task.score_threshold),
                                       std::make_pair("nms_iou", &task.nms_iou)}) {
        if (!node[key]) continue;
        MIXQ_ASSIGN_OR_RETURN(*value, YamlFields::Number(node[key], std::string("task.") + key));
        if (!(*value >= 0 && *value <= 1)) {
          return Error(std::string("'task.") + key + "' must be in [0, 1]");
        }
      }
      if (node["max_detections"]) {
        MIXQ_ASSIGN_OR_RETURN(task.max_detections,
                              Int(node["max_detections"], "task.max_detections", 1, 100000));
      }
    } else {
      if (!node["masks"]) return Error("missing required key 'task.masks'");
      MIXQ_ASSIGN_OR_RETURN(const std::string path, String(node["masks"], "task.masks"));
      task.masks = ResolvePath(path);
      if (node["ignore_index"]) {
        MIXQ_ASSIGN_OR_RETURN(task.ignore_index,
                              Int(node["ignore_index"], "task.ignore_index", 0, 255));
      }
    }
    return task;
  }

  StatusOr<DatasetSpec> Parse(const YAML::Node& root) const {
    if (!root.IsMap()) {
      return Error("expected a mapping with keys format, images (or inputs), labels, preprocess");
    }
    MIXQ_RETURN_IF_ERROR(CheckKeys(root, "",
                                   {"format", "images", "inputs", "labels", "preprocess",
                                    "stored_layout", "input_shape", "task"}));
    DatasetSpec spec;
    spec.source = source();
    if (!root["format"]) return Error("missing required key 'format'");
    MIXQ_ASSIGN_OR_RETURN(spec.format, String(root["format"], "format"));
    if (spec.format != "idx" && spec.format != "npy" && spec.format != "images") {
      return Error("'format' must be idx, npy or images, got '" + spec.format + "'");
    }
    const bool image_folder = spec.format == "images";
    if (image_folder) {
      if (root["labels"]) {
        return Error(
            "'labels' is not used with format images: the class folders or the list "
            "file give the labels");
      }
      if (root["inputs"])
        return Error("format images feeds one input: give 'images', not 'inputs'");
      if (root["stored_layout"]) return Error("'stored_layout' is not used with format images");
    } else if (!root["labels"]) {
      return Error("missing required key 'labels'");
    }
    if (root["images"] && root["inputs"]) {
      return Error(
          "give 'images' (the model's only input) or 'inputs' (a file per input), not both");
    }
    if (!root["images"] && !root["inputs"]) {
      return Error("missing required key 'images' (or 'inputs', a file per model input)");
    }
    if (root["images"]) {
      MIXQ_ASSIGN_OR_RETURN(const std::string images, String(root["images"], "images"));
      spec.images = ResolvePath(images);
    } else {
      MIXQ_ASSIGN_OR_RETURN(spec.inputs, Inputs(root["inputs"]));
    }
    if (!image_folder) {
      MIXQ_ASSIGN_OR_RETURN(const std::string labels, String(root["labels"], "labels"));
      spec.labels = ResolvePath(labels);
    }
    if (root["preprocess"]) {
      MIXQ_ASSIGN_OR_RETURN(spec.preprocess, ParsePreprocess(root["preprocess"]));
      if (!image_folder) {
        for (const char* key : {"color", "resize", "interpolation", "center_crop"}) {
          if (root["preprocess"][key]) {
            return Error(std::string("'preprocess.") + key +
                         "' applies to format images only (decoded image files)");
          }
        }
      }
    }
    if (root["stored_layout"]) {
      MIXQ_ASSIGN_OR_RETURN(spec.stored_layout, Layout(root["stored_layout"], "stored_layout"));
    }
    if (root["task"]) {
      MIXQ_ASSIGN_OR_RETURN(spec.task, ParseTask(root["task"]));
      if (spec.task.kind != TaskSpec::Kind::kClassification && !image_folder) {
        return Error("'task.kind: " + std::string(TaskKindName(spec.task.kind)) +
                     "' needs format images (the annotations name image files)");
      }
    }
    if (root["input_shape"]) {
      MIXQ_ASSIGN_OR_RETURN(spec.input_shapes, InputShapeMap(root["input_shape"], "input_shape"));
    }
    return spec;
  }
};

}  // namespace

const char* TaskKindName(TaskSpec::Kind kind) {
  switch (kind) {
    case TaskSpec::Kind::kDetection:
      return "detection";
    case TaskSpec::Kind::kSegmentation:
      return "segmentation";
    case TaskSpec::Kind::kUnlabelled:
      return "unlabelled";
    case TaskSpec::Kind::kClassification:
      break;
  }
  return "classification";
}

const char* LayoutName(Preprocess::Layout layout) {
  return layout == Preprocess::Layout::kNhwc ? "nhwc" : "nchw";
}

StatusOr<DatasetSpec> LoadDatasetSpec(const std::string& yaml_path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(yaml_path, ec)) {
    return NotFound(yaml_path + ": no such dataset file");
  }
  YAML::Node root;
  try {
    root = YAML::LoadFile(yaml_path);
  } catch (const YAML::ParserException& e) {
    return InvalidArgument(yaml_path + ":" + std::to_string(e.mark.line + 1) + ":" +
                           std::to_string(e.mark.column + 1) + ": " + e.msg);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(yaml_path + ": " + e.what());
  }
  MIXQ_RETURN_IF_ERROR(CheckNoDuplicateKeys(root, yaml_path));
  try {
    return SpecParser(yaml_path).Parse(root);
  } catch (const YAML::Exception& e) {
    // Defensive: node access on odd documents (e.g. non-scalar keys) throws.
    return InvalidArgument(yaml_path + ": " + e.what());
  }
}

}  // namespace mixq
