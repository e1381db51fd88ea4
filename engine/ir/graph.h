// The graph IR: a small typed DAG of ops that the ONNX importer produces and
// the executor compiles. Values are named tensors (ONNX names); constants
// (initializers and folded sub-graphs) live in `constants`; nodes are kept in
// topological order. Each node keeps its ONNX node name (or a stable generated
// one, "<OpType>_<index>") because precision configs address quantizable
// layers (Conv, Gemm, MatMul) by that name.
//
// Life of a graph:
//   ImportOnnx()  -> Graph with symbolic shapes (-1 for a dynamic batch dim),
//                    attributes normalised (explicit pads, axes, perms),
//                    BatchNormalization folded into a preceding Conv/Gemm.
//   Specialize()  -> a copy with concrete input shapes (engine/passes/
//                    specialize.h): every shape known,
//                    Shape/Gather/... chains folded into constants,
//                    Identity/Dropout removed, Flatten/Squeeze/Unsqueeze/
//                    Reshape lowered to kReshape. The executor only ever sees
//                    specialised graphs.
#ifndef MIXQ_ENGINE_IR_GRAPH_H_
#define MIXQ_ENGINE_IR_GRAPH_H_

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "common/status.h"
#include "common/tensor.h"

namespace mixq {

enum class OpType {
  // Quantizable layers.
  kConv,    // inputs: X, W, [B]
  kGemm,    // inputs: A, B, [C]; attrs alpha, beta, transA, transB
  kMatMul,  // inputs: A, B
  // Normalisation (folded into Conv/Gemm by the importer where possible).
  kBatchNorm,  // inputs: X, scale, B, mean, var; attr epsilon
  // Element-wise unary.
  kRelu,
  kLeakyRelu,  // attr alpha
  kClip,       // attrs min, max (floats; +-inf when absent)
  kSigmoid,
  kHardSigmoid,  // attrs alpha, beta
  kHardSwish,
  kTanh,
  // Element-wise binary with numpy broadcasting.
  kAdd,
  kSub,
  kMul,
  kDiv,
  // Pooling.
  kMaxPool,      // attrs kernel_shape, strides, pads, dilations, ceil_mode
  kAveragePool,  // attrs kernel_shape, strides, pads, ceil_mode, count_include_pad
  kGlobalAveragePool,
  kGlobalMaxPool,
  // Layout and shape.
  kFlatten,     // attr axis
  kReshape,     // attr shape (after Specialize: the concrete output shape)
  kSqueeze,     // attr axes
  kUnsqueeze,   // attr axes
  kTranspose,   // attr perm (always explicit)
  kConcat,      // attr axis (non-negative)
  kSoftmax,     // attr axis (non-negative); attr coerce_2d = 1 for opset < 13
  kLogSoftmax,  // as kSoftmax
  kIdentity,
  kDropout,
  // Shape computations; only ever folded into constants by Specialize().
  kConstant,
  kShape,
  kGather,  // attr axis
  kCast,    // attr to (an ONNX TensorProto data type)
  // Ops defined in engine/ops/ (shape rule and host kernel there; oneDNN
  // lowerings where oneDNN has the op). Element-wise unary:
  kAbs,
  kNeg,
  kSqrt,
  kReciprocal,
  kExp,
  kLog,
  kErf,
  kFloor,
  kCeil,
  kRound,
  kSin,
  kCos,
  kElu,   // attr alpha
  kSelu,  // attrs alpha, gamma
  kSoftplus,
  kGelu,  // attr approximate ("none" or "tanh")
  kNot,
  // Element-wise binary or variadic, with numpy broadcasting.
  kPow,
  kMin,
  kMax,
  kSum,
  kMean,
  kEqual,
  kGreater,
  kGreaterOrEqual,
  kLess,
  kLessOrEqual,
  kAnd,
  kOr,
  kMod,    // attr fmod
  kWhere,  // inputs: condition, X, Y
  kPRelu,  // inputs: X, slope (broadcast to X)
  // Reductions (attrs axes, keepdims, noop_with_empty_axes).
  kReduceMean,
  kReduceSum,
  kReduceMax,
  kReduceMin,
  kReduceProd,
  kReduceL1,
  kReduceL2,
  kReduceSumSquare,
  kArgMax,  // attrs axis, keepdims, select_last_index
  kArgMin,
  // Normalisation that is not folded.
  kLayerNormalization,     // inputs: X, scale, [B]; attrs axis, epsilon
  kInstanceNormalization,  // inputs: X, scale, B; attr epsilon
  kLRN,                    // attrs size, alpha, beta, bias
  // Convolution-like.
  kConvTranspose,  // inputs: X, W, [B]
  kEinsum,         // attr equation
  // Data movement and generation.
  kPad,     // inputs: data, pads, [constant_value], [axes]; attr mode
  kSlice,   // inputs: data, starts, ends, [axes], [steps]
  kSplit,   // inputs: input, [split]; attrs axis, split, num_outputs
  kResize,  // inputs: X, [roi], [scales], [sizes]; attrs mode, coordinate_transformation_mode, ...
  kUpsample,
  kExpand,           // inputs: input, shape
  kTile,             // inputs: input, repeats
  kConstantOfShape,  // input: shape; attr value (a tensor, kept as the node's constant input)
  kRange,            // inputs: start, limit, delta
  kDepthToSpace,     // attrs blocksize, mode
  kSpaceToDepth,     // attr blocksize
  kScatterND,        // inputs: data, indices, updates; attr reduction
  // QDQ annotations (inputs x, scale, [zero_point]; attr axis). Never
  // executed: QdqToQuantSpec() (qdq_import.h) turns them into a QuantSpec.
  kQuantizeLinear,
  kDequantizeLinear,
};

const char* OpTypeName(OpType op);
// True for Conv, Gemm and MatMul: the layers a precision config addresses.
bool IsQuantizable(OpType op);
// True for the unary element-wise ops (Relu ... Tanh), which can be fused as
// post-ops into the layer before them.
bool IsEltwise(OpType op);

// An attribute value: int, float, string, or lists of ints / floats.
using AttrValue =
    std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>>;

class Attributes {
 public:
  void Set(const std::string& name, AttrValue value) { map_[name] = std::move(value); }
  bool Has(const std::string& name) const { return map_.count(name) != 0; }
  // Typed getters returning `fallback` when the attribute is absent.
  int64_t Int(const std::string& name, int64_t fallback) const;
  float Float(const std::string& name, float fallback) const;
  std::string String(const std::string& name, const std::string& fallback) const;
  std::vector<int64_t> Ints(const std::string& name,
                            const std::vector<int64_t>& fallback = {}) const;
  std::vector<float> Floats(const std::string& name, const std::vector<float>& fallback = {}) const;
  const std::map<std::string, AttrValue>& map() const { return map_; }

 private:
  std::map<std::string, AttrValue> map_;
};

// An operation fused into the end of a Conv/Gemm/MatMul/pooling/binary node by
// the executor's fusion pass: an eltwise op, or a sum with another value
// (residual Add). Applied in order after the node's own computation.
struct PostOp {
  enum class Kind { kEltwise, kSum };
  Kind kind = Kind::kEltwise;
  OpType eltwise = OpType::kRelu;  // for kEltwise: kRelu, kClip, kLeakyRelu, ...
  float alpha = 0.f;               // meaning as the eltwise op's attrs
  float beta = 0.f;
  std::string sum_input;  // for kSum: the value added
};

struct Node {
  std::string name;  // ONNX node name, or "<OpType>_<index>" if it had none
  OpType op = OpType::kIdentity;
  std::vector<std::string> inputs;   // value names; "" for an omitted optional input
  std::vector<std::string> outputs;  // value names
  Attributes attrs;
  std::vector<PostOp> post_ops;  // filled by the executor's fusion pass only
};

// The PostOp form of an eltwise node (IsEltwise) with its attribute values
// (LeakyRelu's alpha, Clip's min and max, HardSigmoid's alpha and beta);
// Unimplemented for other ops.
StatusOr<PostOp> EltwisePostOpOf(const Node& node);

// Type and shape of a value. Shape dims are -1 where unknown before
// specialisation (the batch dimension).
struct ValueInfo {
  DType dtype = DType::kF32;
  Shape shape;
};

struct Graph {
  std::string source;                // path of the ONNX file, for error messages
  int64_t opset = 0;                 // default-domain opset the model was written for
  std::vector<std::string> inputs;   // graph inputs that are not initializers
  std::vector<std::string> outputs;  // graph outputs
  std::unordered_map<std::string, ValueInfo> values;  // every value's type/shape
  std::unordered_map<std::string, Tensor> constants;  // initializers, folded values
  std::vector<Node> nodes;                            // topological order

  bool IsConstant(const std::string& value) const { return constants.count(value) != 0; }
  const ValueInfo* FindValue(const std::string& value) const;
  // The node producing `value`, or nullptr for inputs and constants.
  const Node* Producer(const std::string& value) const;
  // Names of the quantizable nodes in topological order.
  std::vector<std::string> QuantizableLayers() const;
};

}  // namespace mixq

#endif  // MIXQ_ENGINE_IR_GRAPH_H_
