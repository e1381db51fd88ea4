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
    MIXQ_RETURN_IF_ERROR(CheckKeys(node, "preprocess.", {"scale", "mean", "std", "layout"}));
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
    return p;
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

  StatusOr<DatasetSpec> Parse(const YAML::Node& root) const {
    if (!root.IsMap()) {
      return Error("expected a mapping with keys format, images (or inputs), labels, preprocess");
    }
    MIXQ_RETURN_IF_ERROR(CheckKeys(
        root, "",
        {"format", "images", "inputs", "labels", "preprocess", "stored_layout", "input_shape"}));
    DatasetSpec spec;
    spec.source = source();
    for (const char* key : {"format", "labels"}) {
      if (!root[key]) return Error(std::string("missing required key '") + key + "'");
    }
    if (root["images"] && root["inputs"]) {
      return Error(
          "give 'images' (the model's only input) or 'inputs' (a file per input), not both");
    }
    if (!root["images"] && !root["inputs"]) {
      return Error("missing required key 'images' (or 'inputs', a file per model input)");
    }
    MIXQ_ASSIGN_OR_RETURN(spec.format, String(root["format"], "format"));
    if (spec.format != "idx" && spec.format != "npy") {
      return Error("'format' must be idx or npy, got '" + spec.format + "'");
    }
    if (root["images"]) {
      MIXQ_ASSIGN_OR_RETURN(const std::string images, String(root["images"], "images"));
      spec.images = ResolvePath(images);
    } else {
      MIXQ_ASSIGN_OR_RETURN(spec.inputs, Inputs(root["inputs"]));
    }
    MIXQ_ASSIGN_OR_RETURN(const std::string labels, String(root["labels"], "labels"));
    spec.labels = ResolvePath(labels);
    if (root["preprocess"]) {
      MIXQ_ASSIGN_OR_RETURN(spec.preprocess, ParsePreprocess(root["preprocess"]));
    }
    if (root["stored_layout"]) {
      MIXQ_ASSIGN_OR_RETURN(spec.stored_layout, Layout(root["stored_layout"], "stored_layout"));
    }
    if (root["input_shape"]) {
      MIXQ_ASSIGN_OR_RETURN(spec.input_shapes, InputShapeMap(root["input_shape"], "input_shape"));
    }
    return spec;
  }
};

}  // namespace

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
