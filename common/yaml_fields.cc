#include "common/yaml_fields.h"

namespace mixq {

Status YamlFields::Error(const std::string& message) const {
  return InvalidArgument(source_ + ": " + message);
}

Status YamlFields::CheckKeys(const YAML::Node& map, const std::string& prefix,
                             std::initializer_list<std::string_view> allowed) const {
  if (!map.IsMap()) {
    return Error("'" +
                 (prefix.empty() ? std::string("(top)") : prefix.substr(0, prefix.size() - 1)) +
                 "' must be a mapping");
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

StatusOr<int64_t> YamlFields::Int(const YAML::Node& node, const std::string& path,
                                  int64_t min) const {
  int64_t v = 0;
  try {
    if (!node.IsScalar()) return Error("'" + path + "' must be an integer");
    v = node.as<int64_t>();
  } catch (const YAML::Exception&) {
    return Error("'" + path + "' must be an integer, got '" + node.Scalar() + "'");
  }
  if (v < min) return Error("'" + path + "' must be >= " + std::to_string(min));
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

}  // namespace mixq
