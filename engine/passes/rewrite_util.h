// Queries that the graph rewrites (BatchNorm folding, LayerNorm fusion, Pad
// folding) share.
#ifndef MIXQ_ENGINE_PASSES_REWRITE_UTIL_H_
#define MIXQ_ENGINE_PASSES_REWRITE_UTIL_H_

#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/ir/graph.h"

namespace mixq {

// How many node inputs and graph outputs refer to `value`.
int UseCount(const Graph& graph, const std::string& value);

// `base`, or `base` with a "_<n>" suffix, naming no value or constant yet.
std::string FreshName(const Graph& graph, const std::string& base);

// Who produces and who reads each value of a graph, for the pattern
// rewrites (GELU and LayerNorm fusion): a node reading a value twice (x * x)
// counts as one reader. Indexes refer to graph.nodes as it was when built.
class GraphUses {
 public:
  explicit GraphUses(const Graph& graph);

  // The index of the node computing `value`; nullopt for inputs and constants.
  std::optional<size_t> Producer(const std::string& value) const;
  // The indexes of the nodes reading `value`, in graph order.
  std::vector<size_t> Consumers(const std::string& value) const;
  bool IsGraphOutput(const std::string& value) const { return outputs_.count(value) != 0; }
  // The index of the only node reading `value`, when `value` is not a graph
  // output either: an intermediate a pattern may absorb. nullopt otherwise.
  std::optional<size_t> SoleConsumer(const std::string& value) const;

 private:
  std::unordered_map<std::string, std::vector<size_t>> consumers_;
  std::unordered_map<std::string, size_t> producer_;
  std::set<std::string> outputs_;
};

}  // namespace mixq

#endif  // MIXQ_ENGINE_PASSES_REWRITE_UTIL_H_
