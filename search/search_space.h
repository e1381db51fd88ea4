// The search's view of a model: its quantizable layers in topological order
// and which of them feed which (through pooling, activations, reshapes and
// other non-quantizable ops). A config is a mask over the layers (true =
// INT8). The edges matter because a config's speed is a property of its
// segments: every edge whose two ends differ in precision costs a reorder.
#ifndef MIXQ_SEARCH_SEARCH_SPACE_H_
#define MIXQ_SEARCH_SEARCH_SPACE_H_

#include <map>
#include <string>
#include <vector>

#include "common/precision_config.h"
#include "common/status.h"
#include "engine/ir/graph.h"

namespace mixq {

// true = INT8, indexed like SearchSpace::layers.
using Mask = std::vector<bool>;

struct SearchLayer {
  std::string name;
  // Indices of the layers whose outputs reach this layer's inputs without
  // passing another quantizable layer.
  std::vector<int> producers;
  bool reads_graph_input = false;  // an input path starts at a graph input
};

struct SearchSpace {
  std::vector<SearchLayer> layers;

  int size() const { return static_cast<int>(layers.size()); }
  Mask AllInt8() const { return Mask(layers.size(), true); }
  Mask AllFp32() const { return Mask(layers.size(), false); }
  // The config of `mask` for a model with hash `model_sha256`.
  PrecisionConfig ToConfig(const Mask& mask, const std::string& model_sha256) const;
  // InvalidArgument when `config` does not name exactly these layers.
  StatusOr<Mask> FromConfig(const PrecisionConfig& config) const;
};

// The layers of `graph` (imported or specialised) and their producer edges.
SearchSpace BuildSearchSpace(const Graph& graph);

// The indices of the layers `names` names (SearchLayer::name), in their
// order. An unknown or repeated name is InvalidArgument naming the entry as
// `key`[i] ("'strategy.layers[2]': no layer 'x' in the model; its 53
// layers: a, b, ... and 40 more").
StatusOr<std::vector<int>> FindLayers(const SearchSpace& space,
                                      const std::vector<std::string>& names,
                                      const std::string& key);

// The layer names in model order, comma-separated, cut after about
// `max_chars` characters ("..., and 40 more"), for messages.
std::string LayerNameList(const SearchSpace& space, size_t max_chars = 240);

// "fp32", "int8", or "int8 except a, b" / "fp32 except c": short and readable.
std::string DescribeMask(const SearchSpace& space, const Mask& mask);
int CountInt8(const Mask& mask);

}  // namespace mixq

#endif  // MIXQ_SEARCH_SEARCH_SPACE_H_
