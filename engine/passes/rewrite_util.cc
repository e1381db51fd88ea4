#include "engine/passes/rewrite_util.h"

#include <algorithm>

namespace mixq {

int UseCount(const Graph& graph, const std::string& value) {
  int uses = static_cast<int>(std::count(graph.outputs.begin(), graph.outputs.end(), value));
  for (const Node& node : graph.nodes) {
    uses += static_cast<int>(std::count(node.inputs.begin(), node.inputs.end(), value));
  }
  return uses;
}

std::string FreshName(const Graph& graph, const std::string& base) {
  std::string name = base;
  for (int i = 1; graph.values.count(name) || graph.constants.count(name); ++i) {
    name = base + "_" + std::to_string(i);
  }
  return name;
}

}  // namespace mixq
