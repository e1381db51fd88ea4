#include "engine/ir/graph.h"

#include <cmath>
#include <limits>

namespace mixq {

const char* OpTypeName(OpType op) {
  switch (op) {
    case OpType::kConv:
      return "Conv";
    case OpType::kGemm:
      return "Gemm";
    case OpType::kMatMul:
      return "MatMul";
    case OpType::kBatchNorm:
      return "BatchNormalization";
    case OpType::kRelu:
      return "Relu";
    case OpType::kLeakyRelu:
      return "LeakyRelu";
    case OpType::kClip:
      return "Clip";
    case OpType::kSigmoid:
      return "Sigmoid";
    case OpType::kHardSigmoid:
      return "HardSigmoid";
    case OpType::kHardSwish:
      return "HardSwish";
    case OpType::kTanh:
      return "Tanh";
    case OpType::kAdd:
      return "Add";
    case OpType::kSub:
      return "Sub";
    case OpType::kMul:
      return "Mul";
    case OpType::kDiv:
      return "Div";
    case OpType::kMaxPool:
      return "MaxPool";
    case OpType::kAveragePool:
      return "AveragePool";
    case OpType::kGlobalAveragePool:
      return "GlobalAveragePool";
    case OpType::kGlobalMaxPool:
      return "GlobalMaxPool";
    case OpType::kFlatten:
      return "Flatten";
    case OpType::kReshape:
      return "Reshape";
    case OpType::kSqueeze:
      return "Squeeze";
    case OpType::kUnsqueeze:
      return "Unsqueeze";
    case OpType::kTranspose:
      return "Transpose";
    case OpType::kConcat:
      return "Concat";
    case OpType::kSoftmax:
      return "Softmax";
    case OpType::kLogSoftmax:
      return "LogSoftmax";
    case OpType::kIdentity:
      return "Identity";
    case OpType::kDropout:
      return "Dropout";
    case OpType::kConstant:
      return "Constant";
    case OpType::kShape:
      return "Shape";
    case OpType::kGather:
      return "Gather";
    case OpType::kCast:
      return "Cast";
    case OpType::kAbs:
      return "Abs";
    case OpType::kNeg:
      return "Neg";
    case OpType::kSqrt:
      return "Sqrt";
    case OpType::kReciprocal:
      return "Reciprocal";
    case OpType::kExp:
      return "Exp";
    case OpType::kLog:
      return "Log";
    case OpType::kErf:
      return "Erf";
    case OpType::kFloor:
      return "Floor";
    case OpType::kCeil:
      return "Ceil";
    case OpType::kRound:
      return "Round";
    case OpType::kSin:
      return "Sin";
    case OpType::kCos:
      return "Cos";
    case OpType::kElu:
      return "Elu";
    case OpType::kSelu:
      return "Selu";
    case OpType::kSoftplus:
      return "Softplus";
    case OpType::kGelu:
      return "Gelu";
    case OpType::kNot:
      return "Not";
    case OpType::kPow:
      return "Pow";
    case OpType::kMin:
      return "Min";
    case OpType::kMax:
      return "Max";
    case OpType::kSum:
      return "Sum";
    case OpType::kMean:
      return "Mean";
    case OpType::kEqual:
      return "Equal";
    case OpType::kGreater:
      return "Greater";
    case OpType::kGreaterOrEqual:
      return "GreaterOrEqual";
    case OpType::kLess:
      return "Less";
    case OpType::kLessOrEqual:
      return "LessOrEqual";
    case OpType::kAnd:
      return "And";
    case OpType::kOr:
      return "Or";
    case OpType::kMod:
      return "Mod";
    case OpType::kScatterND:
      return "ScatterND";
    case OpType::kWhere:
      return "Where";
    case OpType::kPRelu:
      return "PRelu";
    case OpType::kReduceMean:
      return "ReduceMean";
    case OpType::kReduceSum:
      return "ReduceSum";
    case OpType::kReduceMax:
      return "ReduceMax";
    case OpType::kReduceMin:
      return "ReduceMin";
    case OpType::kReduceProd:
      return "ReduceProd";
    case OpType::kReduceL1:
      return "ReduceL1";
    case OpType::kReduceL2:
      return "ReduceL2";
    case OpType::kReduceSumSquare:
      return "ReduceSumSquare";
    case OpType::kArgMax:
      return "ArgMax";
    case OpType::kArgMin:
      return "ArgMin";
    case OpType::kLayerNormalization:
      return "LayerNormalization";
    case OpType::kInstanceNormalization:
      return "InstanceNormalization";
    case OpType::kLRN:
      return "LRN";
    case OpType::kConvTranspose:
      return "ConvTranspose";
    case OpType::kEinsum:
      return "Einsum";
    case OpType::kPad:
      return "Pad";
    case OpType::kSlice:
      return "Slice";
    case OpType::kSplit:
      return "Split";
    case OpType::kResize:
      return "Resize";
    case OpType::kUpsample:
      return "Upsample";
    case OpType::kExpand:
      return "Expand";
    case OpType::kTile:
      return "Tile";
    case OpType::kConstantOfShape:
      return "ConstantOfShape";
    case OpType::kRange:
      return "Range";
    case OpType::kDepthToSpace:
      return "DepthToSpace";
    case OpType::kSpaceToDepth:
      return "SpaceToDepth";
    case OpType::kQuantizeLinear:
      return "QuantizeLinear";
    case OpType::kDequantizeLinear:
      return "DequantizeLinear";
  }
  return "Unknown";
}

bool IsQuantizable(OpType op) {
  return op == OpType::kConv || op == OpType::kGemm || op == OpType::kMatMul ||
         op == OpType::kConvTranspose;
}

bool IsEltwise(OpType op) {
  switch (op) {
    case OpType::kRelu:
    case OpType::kLeakyRelu:
    case OpType::kClip:
    case OpType::kSigmoid:
    case OpType::kHardSigmoid:
    case OpType::kHardSwish:
    case OpType::kTanh:
    // Ops of engine/ops/ that oneDNN runs as eltwise algorithms, stand-alone
    // (on float32 data) and fused.
    case OpType::kAbs:
    case OpType::kNeg:
    case OpType::kSqrt:
    case OpType::kReciprocal:
    case OpType::kExp:
    case OpType::kLog:
    case OpType::kRound:
    case OpType::kElu:
    case OpType::kSelu:
    case OpType::kSoftplus:
    case OpType::kGelu:
      return true;
    default:
      return false;
  }
}

int64_t Attributes::Int(const std::string& name, int64_t fallback) const {
  auto it = map_.find(name);
  if (it == map_.end()) return fallback;
  if (auto* v = std::get_if<int64_t>(&it->second)) return *v;
  if (auto* f = std::get_if<float>(&it->second)) {
    // A float read as an integer (a model's type mix-up) saturates, and NaN
    // gives the fallback: the conversion must never be undefined.
    const double v = *f;
    if (std::isnan(v)) return fallback;
    if (v >= 9223372036854775808.0) return std::numeric_limits<int64_t>::max();
    if (v <= -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
    return static_cast<int64_t>(v);
  }
  return fallback;
}

float Attributes::Float(const std::string& name, float fallback) const {
  auto it = map_.find(name);
  if (it == map_.end()) return fallback;
  if (auto* f = std::get_if<float>(&it->second)) return *f;
  if (auto* v = std::get_if<int64_t>(&it->second)) return static_cast<float>(*v);
  return fallback;
}

std::string Attributes::String(const std::string& name, const std::string& fallback) const {
  auto it = map_.find(name);
  if (it == map_.end()) return fallback;
  if (auto* s = std::get_if<std::string>(&it->second)) return *s;
  return fallback;
}

std::vector<int64_t> Attributes::Ints(const std::string& name,
                                      const std::vector<int64_t>& fallback) const {
  auto it = map_.find(name);
  if (it == map_.end()) return fallback;
  if (auto* v = std::get_if<std::vector<int64_t>>(&it->second)) return *v;
  return fallback;
}

std::vector<float> Attributes::Floats(const std::string& name,
                                      const std::vector<float>& fallback) const {
  auto it = map_.find(name);
  if (it == map_.end()) return fallback;
  if (auto* v = std::get_if<std::vector<float>>(&it->second)) return *v;
  return fallback;
}

const ValueInfo* Graph::FindValue(const std::string& value) const {
  auto it = values.find(value);
  return it == values.end() ? nullptr : &it->second;
}

const Node* Graph::Producer(const std::string& value) const {
  for (const Node& node : nodes) {
    for (const std::string& out : node.outputs) {
      if (out == value) return &node;
    }
  }
  return nullptr;
}

std::vector<std::string> Graph::QuantizableLayers() const {
  std::vector<std::string> names;
  for (const Node& node : nodes) {
    if (IsQuantizable(node.op)) names.push_back(node.name);
  }
  return names;
}

StatusOr<PostOp> EltwisePostOpOf(const Node& node) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  if (!IsEltwise(node.op)) {
    return Unimplemented(std::string(OpTypeName(node.op)) + " is not an element-wise op");
  }
  PostOp op;
  op.kind = PostOp::Kind::kEltwise;
  op.eltwise = node.op;
  // Ops not named here have no parameters.
  switch (node.op) {
    case OpType::kLeakyRelu:
      op.alpha = node.attrs.Float("alpha", 0.01f);
      break;
    case OpType::kClip:
      op.alpha = node.attrs.Float("min", -kInf);
      op.beta = node.attrs.Float("max", kInf);
      break;
    case OpType::kHardSigmoid:
      op.alpha = node.attrs.Float("alpha", 0.2f);
      op.beta = node.attrs.Float("beta", 0.5f);
      break;
    case OpType::kElu:
      op.alpha = node.attrs.Float("alpha", 1.f);
      break;
    case OpType::kSelu:
      // beta carries Selu's gamma.
      op.alpha = node.attrs.Float("alpha", 1.67326319217681884765625f);
      op.beta = node.attrs.Float("gamma", 1.05070102214813232421875f);
      break;
    case OpType::kGelu:
      // alpha 1 marks the tanh approximation, 0 the exact erf form.
      op.alpha = node.attrs.String("approximate", "none") == "tanh" ? 1.f : 0.f;
      break;
    default:
      break;
  }
  return op;
}

}  // namespace mixq
