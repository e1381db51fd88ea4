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

GraphUses::GraphUses(const Graph& graph) : outputs_(graph.outputs.begin(), graph.outputs.end()) {
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    for (const std::string& in : graph.nodes[i].inputs) {
      std::vector<size_t>& readers = consumers_[in];
      if (readers.empty() || readers.back() != i) readers.push_back(i);
    }
    for (const std::string& out : graph.nodes[i].outputs) producer_[out] = i;
  }
}

std::optional<size_t> GraphUses::Producer(const std::string& value) const {
  auto it = producer_.find(value);
  if (it == producer_.end()) return std::nullopt;
  return it->second;
}

std::vector<size_t> GraphUses::Consumers(const std::string& value) const {
  auto it = consumers_.find(value);
  return it == consumers_.end() ? std::vector<size_t>{} : it->second;
}

std::optional<size_t> GraphUses::SoleConsumer(const std::string& value) const {
  auto it = consumers_.find(value);
  if (IsGraphOutput(value) || it == consumers_.end() || it->second.size() != 1) {
    return std::nullopt;
  }
  return it->second[0];
}

}  // namespace mixq
