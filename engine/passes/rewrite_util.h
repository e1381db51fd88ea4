// Queries that the graph rewrites (BatchNorm folding, LayerNorm fusion, Pad
// folding) share.
#ifndef MIXQ_ENGINE_PASSES_REWRITE_UTIL_H_
#define MIXQ_ENGINE_PASSES_REWRITE_UTIL_H_

#include <string>

#include "engine/ir/graph.h"

namespace mixq {

// How many node inputs and graph outputs refer to `value`.
int UseCount(const Graph& graph, const std::string& value);

// `base`, or `base` with a "_<n>" suffix, naming no value or constant yet.
std::string FreshName(const Graph& graph, const std::string& base);

}  // namespace mixq

#endif  // MIXQ_ENGINE_PASSES_REWRITE_UTIL_H_
