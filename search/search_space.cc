#include "search/search_space.h"

#include <algorithm>
#include <set>
#include <unordered_map>

namespace mixq {

PrecisionConfig SearchSpace::ToConfig(const Mask& mask, const std::string& model_sha256) const {
  PrecisionConfig config;
  config.model_sha256 = model_sha256;
  for (size_t i = 0; i < layers.size(); ++i) {
    config.layers[layers[i].name] = mask[i] ? Precision::kInt8 : Precision::kFp32;
  }
  return config;
}

StatusOr<Mask> SearchSpace::FromConfig(const PrecisionConfig& config) const {
  if (config.layers.size() != layers.size()) {
    return InvalidArgument("config names " + std::to_string(config.layers.size()) +
                           " layers; the model has " + std::to_string(layers.size()));
  }
  Mask mask(layers.size(), false);
  for (size_t i = 0; i < layers.size(); ++i) {
    auto it = config.layers.find(layers[i].name);
    if (it == config.layers.end()) {
      return InvalidArgument("config does not name layer '" + layers[i].name + "'");
    }
    if (it->second != Precision::kInt8 && it->second != Precision::kFp32) {
      return InvalidArgument("layer '" + layers[i].name + "': the search handles fp32 and int8");
    }
    mask[i] = it->second == Precision::kInt8;
  }
  return mask;
}

SearchSpace BuildSearchSpace(const Graph& graph) {
  SearchSpace space;
  std::unordered_map<std::string, int> layer_of_node;
  std::unordered_map<std::string, const Node*> producer;
  for (const Node& node : graph.nodes) {
    for (const std::string& out : node.outputs) producer[out] = &node;
    if (IsQuantizable(node.op)) {
      layer_of_node[node.name] = static_cast<int>(space.layers.size());
      space.layers.push_back({node.name, {}, false});
    }
  }
  // Walk each layer's activation input back to the nearest quantizable
  // producers. Constants (weights, bias) are not activations.
  for (const Node& node : graph.nodes) {
    auto layer = layer_of_node.find(node.name);
    if (layer == layer_of_node.end()) continue;
    SearchLayer& target = space.layers[layer->second];
    std::set<int> found;
    std::set<std::string> visited;
    std::vector<std::string> stack;
    for (const std::string& in : node.inputs) {
      if (!in.empty() && !graph.IsConstant(in)) stack.push_back(in);
    }
    while (!stack.empty()) {
      const std::string value = stack.back();
      stack.pop_back();
      if (!visited.insert(value).second) continue;
      auto p = producer.find(value);
      if (p == producer.end()) {
        if (!graph.IsConstant(value)) target.reads_graph_input = true;
        continue;
      }
      auto q = layer_of_node.find(p->second->name);
      if (q != layer_of_node.end()) {
        found.insert(q->second);
        continue;
      }
      for (const std::string& in : p->second->inputs) {
        if (!in.empty() && !graph.IsConstant(in)) stack.push_back(in);
      }
    }
    target.producers.assign(found.begin(), found.end());
  }
  return space;
}

StatusOr<std::vector<int>> FindLayers(const SearchSpace& space,
                                      const std::vector<std::string>& names,
                                      const std::string& key) {
  std::unordered_map<std::string, int> index;
  for (int i = 0; i < space.size(); ++i) index.emplace(space.layers[i].name, i);
  std::vector<int> out;
  for (size_t j = 0; j < names.size(); ++j) {
    const std::string entry = "'" + key + "[" + std::to_string(j) + "]'";
    auto it = index.find(names[j]);
    if (it == index.end()) {
      return InvalidArgument(entry + ": no layer '" + names[j] + "' in the model; its " +
                             std::to_string(space.size()) + " layers: " + LayerNameList(space));
    }
    if (std::find(out.begin(), out.end(), it->second) != out.end()) {
      return InvalidArgument(entry + ": layer '" + names[j] + "' is listed twice");
    }
    out.push_back(it->second);
  }
  return out;
}

std::string LayerNameList(const SearchSpace& space, size_t max_chars) {
  std::string text;
  for (int i = 0; i < space.size(); ++i) {
    if (i > 0 && text.size() + space.layers[i].name.size() > max_chars) {
      return text + ", and " + std::to_string(space.size() - i) + " more";
    }
    text += (i ? ", " : "") + space.layers[i].name;
  }
  return text;
}

int CountInt8(const Mask& mask) {
  return static_cast<int>(std::count(mask.begin(), mask.end(), true));
}

std::string DescribeMask(const SearchSpace& space, const Mask& mask) {
  const int int8 = CountInt8(mask);
  if (int8 == space.size()) return "int8";
  if (int8 == 0) return "fp32";
  const bool minority_fp32 = int8 * 2 >= space.size();
  std::string text = minority_fp32 ? "int8 except " : "fp32 except ";
  bool first = true;
  for (int i = 0; i < space.size(); ++i) {
    if (mask[i] == minority_fp32) continue;
    text += (first ? "" : ", ") + space.layers[i].name;
    first = false;
  }
  return text;
}

}  // namespace mixq
