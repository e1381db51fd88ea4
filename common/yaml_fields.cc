#include "common/yaml_fields.h"

#include <set>
#include <string>

namespace mixq {

Status YamlFields::Error(const std::string& message) const {
  return InvalidArgument(source_ + ": " + message);
}

Status YamlFields::CheckKeys(const YAML::Node& map, const std::string& prefix,
                             std::initializer_list<std::string_view> allowed) const {
  if (!map.IsMap()) {
    if (prefix.empty()) {
      return Error(map.IsNull() ? "the file is empty (expected a mapping of keys)"
                                : "the file must be a mapping of keys (key: value lines)");
    }
    return Error("'" + prefix.substr(0, prefix.size() - 1) + "' must be a mapping");
  }
  for (const auto& entry : map) {
    const std::string key = entry.first.Scalar();
    bool known = false;
    for (std::string_view a : allowed) known = known || key == a;
    if (!known) {
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return Error("unknown key '" + prefix + key + "' (expected one of: " + list + ")");
    }
  }
  return Status::Ok();
}

StatusOr<std::string> YamlFields::String(const YAML::Node& node, const std::string& path) const {
  if (!node.IsScalar() || node.Scalar().empty()) {
    return Error("'" + path + "' must be a non-empty string");
  }
  return node.Scalar();
}

StatusOr<int64_t> YamlFields::Int(const YAML::Node& node, const std::string& path, int64_t min,
                                  int64_t max) const {
  int64_t v = 0;
  try {
    if (!node.IsScalar()) return Error("'" + path + "' must be an integer");
    v = node.as<int64_t>();
  } catch (const YAML::Exception&) {
    return Error("'" + path + "' must be an integer, got '" + node.Scalar() + "'");
  }
  if (v < min) return Error("'" + path + "' must be >= " + std::to_string(min));
  if (v > max) {
    return Error("'" + path + "' must be <= " + std::to_string(max) + " (the limit), got " +
                 std::to_string(v));
  }
  return v;
}

StatusOr<double> YamlFields::Number(const YAML::Node& node, const std::string& path) const {
  try {
    if (node.IsScalar()) return node.as<double>();
  } catch (const YAML::Exception&) {
  }
  return Error("'" + path + "' must be a number");
}

StatusOr<bool> YamlFields::Bool(const YAML::Node& node, const std::string& path) const {
  try {
    if (node.IsScalar()) return node.as<bool>();
  } catch (const YAML::Exception&) {
  }
  return Error("'" + path + "' must be true or false");
}

StatusOr<InputShapes> YamlFields::InputShapeMap(const YAML::Node& node,
                                                const std::string& path) const {
  // One shape, as a list of dims or as text.
  auto shape_of = [this](const YAML::Node& n, const std::string& at) -> StatusOr<Shape> {
    Shape shape;
    if (n.IsScalar()) {
      StatusOr<Shape> parsed = ParseShapeText(n.Scalar());
      if (!parsed.ok()) return Error("'" + at + "': " + parsed.status().message());
      return parsed;
    }
    if (!n.IsSequence()) {
      return Error("'" + at +
                   "' must be a list of dims such as [1, 3, 640, 640] or text such as "
                   "1x3x640x640");
    }
    for (size_t i = 0; i < n.size(); ++i) {
      MIXQ_ASSIGN_OR_RETURN(int64_t d, Int(n[i], at + "[" + std::to_string(i) + "]", 1));
      shape.push_back(d);
    }
    Status fits = CheckInputShape(shape);
    if (!fits.ok()) return Error("'" + at + "': " + fits.message());
    return shape;
  };
  InputShapes shapes;
  if (!node.IsMap()) {
    MIXQ_ASSIGN_OR_RETURN(shapes[""], shape_of(node, path));
    return shapes;
  }
  if (node.size() == 0) return Error("'" + path + "' must name at least one input");
  for (const auto& entry : node) {
    const std::string name = entry.first.Scalar();
    if (name.empty()) return Error("'" + path + "' has an empty input name");
    MIXQ_ASSIGN_OR_RETURN(shapes[name], shape_of(entry.second, path + "." + name));
  }
  return shapes;
}

void EmitInputShapes(const InputShapes& shapes, YAML::Emitter* out) {
  auto dims = [out](const Shape& shape) {
    *out << YAML::Flow << YAML::BeginSeq;
    for (int64_t d : shape) *out << d;
    *out << YAML::EndSeq;
  };
  auto first = shapes.find("");
  if (first != shapes.end() && shapes.size() == 1) return dims(first->second);
  *out << YAML::Flow << YAML::BeginMap;
  for (const auto& [name, shape] : shapes) {
    if (name.empty()) continue;
    *out << YAML::Key << YAML::DoubleQuoted << name << YAML::Value;
    dims(shape);
  }
  *out << YAML::EndMap;
}

namespace {

Status FindDuplicateKeys(const YAML::Node& node, const std::string& path, const std::string& source,
                         int depth) {
  // Aliases can make a graph deeper than the text; a bound keeps the walk
  // off the stack's edge on a hostile file.
  if (depth > 64)
    return InvalidArgument(source + ": nested deeper than 64 levels at '" + path + "'");
  if (node.IsMap()) {
    std::set<std::string> seen;
    for (const auto& entry : node) {
      const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "(complex key)";
      const std::string at = path.empty() ? key : path + "." + key;
      if (!seen.insert(key).second) {
        return InvalidArgument(source + ": duplicate key '" + at + "' (line " +
                               std::to_string(entry.first.Mark().line + 1) + ")");
      }
      MIXQ_RETURN_IF_ERROR(FindDuplicateKeys(entry.second, at, source, depth + 1));
    }
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      MIXQ_RETURN_IF_ERROR(
          FindDuplicateKeys(node[i], path + "[" + std::to_string(i) + "]", source, depth + 1));
    }
  }
  return Status::Ok();
}

}  // namespace

Status CheckNoDuplicateKeys(const YAML::Node& root, const std::string& source) {
  return FindDuplicateKeys(root, "", source, 0);
}

}  // namespace mixq
