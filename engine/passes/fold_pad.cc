#include "engine/passes/fold_pad.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "engine/passes/rewrite_util.h"

namespace mixq {
namespace {

// The Pad's fill when it is a constant: its constant_value input, else its
// `value` attribute (opsets before 11).
std::optional<double> FillOf(const Graph& graph, const Node& pad) {
  if (pad.inputs.size() > 2 && !pad.inputs[2].empty()) {
    auto it = graph.constants.find(pad.inputs[2]);
    if (it == graph.constants.end() || it->second.size() != 1 ||
        !IsFloatingPoint(it->second.dtype())) {
      return std::nullopt;
    }
    return it->second.FloatAt(0);
  }
  return pad.attrs.Float("value", 0.f);
}

// True where `value` cannot hold a negative number: a Relu's output, or a
// Clip's with a non-negative lower bound.
bool NonNegative(const Graph& graph, const std::string& value) {
  const Node* producer = graph.Producer(value);
  return producer != nullptr &&
         (producer->op == OpType::kRelu ||
          (producer->op == OpType::kClip && producer->attrs.Float("min", -1.f) >= 0.f));
}

// The op's pads after taking over the Pad's spatial `amounts` (begin
// amounts then end amounts over every dim), or nullopt when the fold would
// change the result (see fold_pad.h).
std::optional<std::vector<int64_t>> CombinedPads(const Graph& graph, const Node& pad,
                                                 const Node& op,
                                                 const std::vector<int64_t>& amounts) {
  const size_t rank = amounts.size() / 2;
  const size_t spatial = rank - 2;
  const std::optional<double> fill = FillOf(graph, pad);
  if (!fill || op.attrs.String("auto_pad", "NOTSET") != "NOTSET") return std::nullopt;
  std::vector<int64_t> pads = op.attrs.Ints("pads", std::vector<int64_t>(2 * spatial, 0));
  if (pads.size() != 2 * spatial) return std::nullopt;
  const bool own_pads = std::any_of(pads.begin(), pads.end(), [](int64_t p) { return p != 0; });
  for (size_t i = 0; i < spatial; ++i) {
    pads[i] += amounts[2 + i];
    pads[spatial + i] += amounts[rank + 2 + i];
  }
  switch (op.op) {
    case OpType::kConv:
      return *fill == 0 ? std::optional(pads) : std::nullopt;
    case OpType::kAveragePool:
      if (*fill != 0 || op.attrs.Int("ceil_mode", 0) != 0) return std::nullopt;
      if (own_pads && op.attrs.Int("count_include_pad", 0) == 0) return std::nullopt;
      return pads;
    case OpType::kMaxPool: {
      const bool below_all = *fill <= std::numeric_limits<float>::lowest();
      if (!below_all && !(*fill == 0 && NonNegative(graph, pad.inputs[0]))) return std::nullopt;
      const std::vector<int64_t> kernel = op.attrs.Ints("kernel_shape");
      const std::vector<int64_t> dilations =
          op.attrs.Ints("dilations", std::vector<int64_t>(spatial, 1));
      if (kernel.size() != spatial || dilations.size() != spatial) return std::nullopt;
      for (size_t i = 0; i < spatial; ++i) {
        const int64_t extent = (kernel[i] - 1) * dilations[i] + 1;
        if (pads[i] >= extent || pads[spatial + i] >= extent) return std::nullopt;
      }
      return pads;
    }
    default:
      return std::nullopt;
  }
}

}  // namespace

void FoldPadIntoWindowOps(Graph* graph) {
  std::vector<Node>& nodes = graph->nodes;
  std::vector<bool> folded(nodes.size(), false);
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& pad = nodes[i];
    if (pad.op != OpType::kPad || pad.outputs.size() != 1 || pad.inputs.empty()) continue;
    // One use, by a node (a graph output would need the padded tensor).
    const std::string& value = pad.outputs[0];
    if (UseCount(*graph, value) != 1) continue;
    const ValueInfo* x = graph->FindValue(pad.inputs[0]);
    const std::vector<int64_t> amounts = pad.attrs.Ints("pads");
    if (x == nullptr || x->dtype != DType::kF32 || x->shape.size() < 3 || x->shape.size() > 5 ||
        amounts.size() != 2 * x->shape.size() ||
        pad.attrs.String("mode", "constant") != "constant") {
      continue;
    }
    const size_t rank = x->shape.size();
    bool spatial_only =
        amounts[0] == 0 && amounts[1] == 0 && amounts[rank] == 0 && amounts[rank + 1] == 0;
    for (int64_t a : amounts) spatial_only = spatial_only && a >= 0;
    if (!spatial_only) continue;
    for (size_t j = i + 1; j < nodes.size(); ++j) {
      Node& op = nodes[j];
      if (std::find(op.inputs.begin(), op.inputs.end(), value) == op.inputs.end()) continue;
      if (op.inputs[0] != value) break;
      const std::optional<std::vector<int64_t>> pads = CombinedPads(*graph, pad, op, amounts);
      if (!pads) break;
      op.attrs.Set("pads", *pads);
      if (op.op == OpType::kAveragePool) op.attrs.Set("count_include_pad", int64_t{1});
      op.inputs[0] = pad.inputs[0];
      folded[i] = true;
      break;
    }
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!folded[i]) kept.push_back(std::move(nodes[i]));
  }
  nodes = std::move(kept);
}

}  // namespace mixq
