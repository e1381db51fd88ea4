// Where the time of one forward pass goes, per quantizable layer: the model
// is compiled twice - all FP32, and with a QuantSpec - every primitive is
// timed with RunProfiled() over several runs (median per step) and the steps
// are grouped by layer: a layer's group is its own primitive and every step
// after it up to the next quantizable layer (the ops that follow it:
// pooling, adds), while a reorder joins the group of the step it feeds, so
// the reorders just before a layer (its input boundary) count for that
// layer. Reorders in the spec's model are reported apart: with mixed
// precision they are the cost of the FP32<->INT8 boundaries.
// `mixq profile` prints it; workers run it as a profile task.
#ifndef MIXQ_ENGINE_RUNTIME_LAYER_PROFILE_H_
#define MIXQ_ENGINE_RUNTIME_LAYER_PROFILE_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/ir/graph.h"
#include "engine/quant/quant_spec.h"

namespace mixq {

struct LayerProfileOptions {
  int64_t batch = 1;
  int warmup = 3;        // untimed runs per model
  int runs = 20;         // profiled runs and plain runs per model; medians are reported
  int threads = 0;       // oneDNN threads; 0 = default
  bool winograd = true;  // ExecutorOptions::winograd
};

// One row: a quantizable layer's group, or the steps before the first one
// ("(input)") or after the graph's last op ("(outputs)").
struct LayerTime {
  std::string layer;
  bool quantizable = false;
  std::string precision;    // in the spec's model: "fp32", "int8"; "-" for non-layers
  double fp32_ms = 0.0;     // the group in the all-FP32 model, reorders included
  double config_ms = 0.0;   // the group in the spec's model, reorders excluded
  double reorder_ms = 0.0;  // reorders of the group in the spec's model
};

struct ModelTime {
  double sum_ms = 0.0;    // of the per-step medians
  double whole_ms = 0.0;  // median of plain Run()s
  double SumOverWhole() const { return whole_ms > 0 ? sum_ms / whole_ms : 0.0; }
};

struct LayerProfile {
  std::vector<LayerTime> layers;  // in execution order; empty edge groups left out
  ModelTime fp32;
  ModelTime config;
};

// Profiles `graph` (not yet specialised) at options.batch, FP32 against
// `spec`. Inputs are fixed-seed random normal values.
StatusOr<LayerProfile> ProfileLayers(const Graph& graph, const QuantSpec& spec,
                                     const LayerProfileOptions& options);

// {"layers": [{"layer", "quantizable", "precision", "fp32_ms", "config_ms",
//  "reorder_ms"}...], "fp32": {"sum_ms", "whole_ms", "sum_over_whole"},
//  "config": {...}}
nlohmann::json LayerProfileToJson(const LayerProfile& profile);

}  // namespace mixq

#endif  // MIXQ_ENGINE_RUNTIME_LAYER_PROFILE_H_
