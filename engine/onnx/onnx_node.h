// Translation of one onnx.NodeProto into an IR Node: op type lookup, the
// attributes copied into Attributes with the explicit defaults of the
// model's opset (Gemm alpha/beta/trans*, LeakyRelu/HardSigmoid alpha/beta,
// Clip min/max, pooling ceil_mode/count_include_pad, (Log)Softmax axis and
// coerce_2d, Flatten/Gather axis, BatchNormalization epsilon, Conv group,
// LRN alpha/beta/bias).
// Defaults that need shapes (kernel_shape, strides, pads, ...) are filled by
// shape inference.
#ifndef MIXQ_ENGINE_ONNX_ONNX_NODE_H_
#define MIXQ_ENGINE_ONNX_ONNX_NODE_H_

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "common/status.h"
#include "engine/ir/graph.h"

namespace mixq {

// The name the importer gives each node of `graph`, in order: the node's
// own, or "<op_type>_<index>" when it has none, with "_<index>" appended to
// a name given out before. Layer names in configs and calibrations are
// these.
std::vector<std::string> ImportedNodeNames(const onnx::GraphProto& graph);

// `name` is the node's final name (generated when the ONNX node has none).
// Unsupported ops, domains or attribute values are Unimplemented; errors
// name `source` and the node.
StatusOr<Node> ConvertOnnxNode(const onnx::NodeProto& proto, const std::string& name, int64_t opset,
                               const std::string& source);

// The value of a Constant node (value, value_float(s), value_int(s)).
StatusOr<Tensor> ConstantNodeValue(const onnx::NodeProto& proto, const std::string& name,
                                   const std::string& source);

}  // namespace mixq

#endif  // MIXQ_ENGINE_ONNX_ONNX_NODE_H_
