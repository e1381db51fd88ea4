#include "engine/passes/specialize.h"

#include <algorithm>
#include <map>
#include <string>

#include "engine/ir/graph.h"
#include "engine/ir/node_error.h"
#include "engine/passes/common_subexpressions.h"
#include "engine/passes/constant_folding.h"
#include "engine/passes/fold_batch_norm.h"
#include "engine/passes/fold_pad.h"
#include "engine/passes/gelu_fusion.h"
#include "engine/passes/graph_cleanup.h"
#include "engine/passes/layer_norm_fusion.h"

namespace mixq {
namespace {

bool FitsDeclared(const Shape& declared, const Shape& given) {
  if (declared.size() != given.size()) return false;
  for (size_t i = 0; i < declared.size(); ++i) {
    if (declared[i] >= 0 && declared[i] != given[i]) return false;
  }
  return true;
}

}  // namespace

StatusOr<Graph> Specialize(const Graph& graph, const std::map<std::string, Shape>& input_shapes) {
  for (const auto& [name, shape] : input_shapes) {
    if (std::find(graph.inputs.begin(), graph.inputs.end(), name) == graph.inputs.end()) {
      return InvalidArgument(graph.source + ": '" + name + "' is not an input of the model");
    }
  }
  Graph out;
  out.source = graph.source;
  out.opset = graph.opset;
  out.inputs = graph.inputs;
  out.outputs = graph.outputs;
  out.nodes = graph.nodes;
  out.constants = graph.constants;
  // Intermediate shapes are recomputed from the inputs; the symbolic ones
  // of the imported graph would only be stale.
  for (const auto& [name, tensor] : out.constants) {
    out.values[name] = ValueInfo{tensor.dtype(), tensor.shape()};
  }
  for (const std::string& input : graph.inputs) {
    const ValueInfo* declared = graph.FindValue(input);
    auto given = input_shapes.find(input);
    ValueInfo info;
    if (declared != nullptr) info = *declared;
    if (given != input_shapes.end()) {
      if (declared != nullptr && !FitsDeclared(declared->shape, given->second)) {
        return InvalidArgument(graph.source + ": input '" + input + "' shape " +
                               ShapeToString(given->second) + " does not fit the declared " +
                               ShapeToString(declared->shape));
      }
      info.shape = given->second;
    } else if (declared == nullptr) {
      return InvalidArgument(graph.source + ": input '" + input +
                             "' has no declared shape; give one");
    }
    for (int64_t d : info.shape) {
      if (d < 0) {
        return InvalidArgument(graph.source + ": input '" + input + "' has shape " +
                               ShapeToString(info.shape) +
                               " with unknown dims; give a concrete "
                               "shape");
      }
    }
    MIXQ_RETURN_IF_ERROR(CheckTensorSize(info.shape, graph.source + ": input '" + input + "'"));
    out.values[input] = info;
  }
  MIXQ_RETURN_IF_ERROR(PropagateShapes(&out, true));
  MIXQ_RETURN_IF_ERROR(FoldBatchNorm(&out));
  FoldPadIntoWindowOps(&out);
  // A Cast to the type the value already has is a copy.
  for (Node& node : out.nodes) {
    if (node.op == OpType::kCast &&
        out.values.at(node.inputs[0]).dtype == out.values.at(node.outputs[0]).dtype) {
      node.op = OpType::kIdentity;
    }
  }
  MIXQ_RETURN_IF_ERROR(RemoveIdentities(&out));
  MergeCommonSubexpressions(&out);
  FuseGelu(&out);
  FuseLayerNorms(&out);
  LowerReshapes(&out);
  RemoveDeadCode(&out);
  // Shape ops that did not fold work on runtime data: not executor ops
  // (Gather and Cast have host kernels and run).
  for (const Node& node : out.nodes) {
    if (node.op == OpType::kShape || node.op == OpType::kConstant) {
      return NodeError(StatusCode::kUnimplemented, out, node,
                       "only supported on constant inputs (it is folded at load time)");
    }
  }
  return out;
}

StatusOr<Graph> SpecializeForBatch(const Graph& graph, int64_t batch) {
  if (batch <= 0) {
    return InvalidArgument(graph.source + ": batch size must be positive, got " +
                           std::to_string(batch));
  }
  std::map<std::string, Shape> shapes;
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    const ValueInfo* info = graph.FindValue(graph.inputs[i]);
    if (info == nullptr || info->shape.empty()) continue;
    Shape shape = info->shape;
    // The first input's batch is set even when declared static (so a
    // batch-1 export can be benchmarked at other batches if its shape
    // arithmetic allows); other inputs only where dynamic.
    if (i == 0 || shape[0] < 0) shape[0] = batch;
    shapes[graph.inputs[i]] = shape;
  }
  return Specialize(graph, shapes);
}

}  // namespace mixq
