#include "engine/quant/precision_plan.h"

#include <algorithm>
#include <unordered_map>

namespace mixq {

namespace {

bool IsPool(OpType op) {
  return op == OpType::kMaxPool || op == OpType::kAveragePool || op == OpType::kGlobalAveragePool ||
         op == OpType::kGlobalMaxPool;
}

bool IsReshape(OpType op) {
  return op == OpType::kReshape || op == OpType::kFlatten || op == OpType::kSqueeze ||
         op == OpType::kUnsqueeze;
}

// Post-ops that commute with a positive scale, so they can run on quantised
// values: ReLU, LeakyReLU, and Clip with rescaled bounds.
bool ScaleEquivariant(const std::vector<PostOp>& post_ops) {
  for (const PostOp& op : post_ops) {
    if (op.kind != PostOp::Kind::kEltwise) return false;
    if (op.eltwise != OpType::kRelu && op.eltwise != OpType::kLeakyRelu &&
        op.eltwise != OpType::kClip) {
      return false;
    }
  }
  return true;
}

// True when `operand` is [N or 1, C, 1, ...] beside a result of shape `y`
// [N, C, ...]: a per-channel scale, e.g. a squeeze-excitation one.
bool PerChannelOf(const Shape& operand, const Shape& y) {
  if (operand.size() != y.size() || y.size() < 3 || operand == y) return false;
  if ((operand[0] != 1 && operand[0] != y[0]) || operand[1] != y[1]) return false;
  return std::all_of(operand.begin() + 2, operand.end(), [](int64_t d) { return d == 1; });
}

bool IsFollower(const Node& node, const Graph& graph) {
  if (node.outputs.size() != 1 &&
      !(IsPool(node.op) && node.outputs.size() == 2 && node.outputs[1].empty())) {
    return false;
  }
  if (IsPool(node.op) || IsReshape(node.op)) return node.post_ops.empty();
  // Concat and Add read every input as a tensor: no constant operands.
  for (const std::string& in : node.inputs) {
    if (in.empty() || graph.IsConstant(in)) return false;
  }
  if (node.op == OpType::kConcat) return node.post_ops.empty();
  if (node.op != OpType::kAdd && node.op != OpType::kMul) return false;
  if (node.inputs.size() != 2 || !ScaleEquivariant(node.post_ops)) return false;
  const ValueInfo* a = graph.FindValue(node.inputs[0]);
  const ValueInfo* b = graph.FindValue(node.inputs[1]);
  const ValueInfo* y = graph.FindValue(node.outputs[0]);
  if (!a || !b || !y) return false;
  if (a->shape == y->shape && b->shape == y->shape) return true;
  return node.op == OpType::kMul &&
         (PerChannelOf(b->shape, y->shape) || PerChannelOf(a->shape, y->shape));
}

// Rule 2b: a Softmax, which computes in f32 and can write its output
// quantised.
bool WritesInt8Output(const Node& node) {
  return node.op == OpType::kSoftmax && node.outputs.size() == 1 && node.post_ops.empty();
}

// The non-constant inputs a follower reads (Reshape's shape input is a
// constant after specialisation).
std::vector<std::string> DataInputs(const Node& node, const Graph& graph) {
  std::vector<std::string> inputs;
  if (IsReshape(node.op) || IsPool(node.op)) {
    if (!node.inputs.empty()) inputs.push_back(node.inputs[0]);
    return inputs;
  }
  for (const std::string& in : node.inputs) {
    if (!in.empty() && !graph.IsConstant(in)) inputs.push_back(in);
  }
  return inputs;
}

// True for a MatMul whose B is computed at run time (attention's products).
bool IsRunTimeMatMul(const Node& node, const Graph& graph) {
  return node.op == OpType::kMatMul && node.inputs.size() == 2 && !graph.IsConstant(node.inputs[1]);
}

// `p` as oneDNN's s8 weights read it: the same clipping threshold over
// [-127, 127], or [-63, 63] for 7-bit weights; `p` itself when it is already
// that.
QuantParams SignedOperandParams(const QuantParams& p, bool seven_bit) {
  if (!p.is_unsigned && !seven_bit) return p;
  const float threshold = p.dequant_scale * (p.is_unsigned ? 255.f : 127.f);
  QuantParams out;
  out.is_unsigned = false;
  out.threshold = threshold;
  out.dequant_scale = threshold > 0.f ? threshold / (seven_bit ? 63.f : 127.f) : 1.f;
  return out;
}

std::string ResidualOf(const Node& node) {
  for (const PostOp& op : node.post_ops) {
    if (op.kind == PostOp::Kind::kSum) return op.sum_input;
  }
  return "";
}

}  // namespace

const QuantParams* PrecisionPlan::Int8Value(const std::string& value) const {
  auto it = int8_values.find(value);
  return it == int8_values.end() ? nullptr : &it->second;
}

std::string Int8Refusal(const Node& node, const Graph& graph) {
  if (!IsQuantizable(node.op)) return "not a quantizable layer";
  if (node.inputs.size() < 2 || node.outputs.size() != 1) return "unexpected inputs or outputs";
  const ValueInfo* a = graph.FindValue(node.inputs[0]);
  if (a == nullptr) return "its input has no shape";
  auto constant_or_absent = [&](size_t i) {
    return node.inputs.size() <= i || node.inputs[i].empty() || graph.IsConstant(node.inputs[i]);
  };
  switch (node.op) {
    case OpType::kConvTranspose: {
      // oneDNN's deconvolution refuses negative begin pads (the FP32 path
      // runs those on the host kernel).
      const std::vector<int64_t> pads = node.attrs.Ints("pads");
      for (size_t i = 0; i < pads.size() / 2; ++i) {
        if (pads[i] < 0) return "negative begin pads (oneDNN's INT8 deconvolution has none)";
      }
      [[fallthrough]];
    }
    case OpType::kConv:
      if (!graph.IsConstant(node.inputs[1])) return "its weights are computed at run time";
      if (!constant_or_absent(2)) return "its bias is computed at run time";
      return "";
    case OpType::kGemm: {
      if (!graph.IsConstant(node.inputs[1])) return "B is computed at run time";
      if (node.attrs.Int("transA", 0) != 0) return "transA is set";
      if (node.inputs.size() < 3 || node.inputs[2].empty()) return "";
      const std::string& c = node.inputs[2];
      const ValueInfo* c_info = graph.FindValue(c);
      const ValueInfo* y = graph.FindValue(node.outputs[0]);
      if (!graph.IsConstant(c) || c_info == nullptr || y == nullptr || y->shape.size() != 2) {
        return "C is not a constant row";
      }
      const int64_t n = y->shape[1];
      const bool row =
          (c_info->shape.size() == 1 && c_info->shape[0] == n) ||
          (c_info->shape.size() == 2 && c_info->shape[0] == 1 && c_info->shape[1] == n);
      return row ? "" : "C is not a constant row";
    }
    case OpType::kMatMul: {
      if (node.inputs.size() != 2) return "unexpected inputs or outputs";
      if (graph.IsConstant(node.inputs[1])) {
        const ValueInfo* b = graph.FindValue(node.inputs[1]);
        return b && b->shape.size() >= 2 ? "" : "B has rank < 2";
      }
      // Both operands are quantised per tensor with their calibrated
      // parameters; a constant has none (calibration observes run-time
      // tensors only), and per-channel scales of a constant A would be per
      // row of the result, which oneDNN's output scales cannot express for A.
      if (graph.IsConstant(node.inputs[0])) return "A is a constant and B is computed at run time";
      return graph.FindValue(node.inputs[1]) ? "" : "B has no shape";
    }
    default:
      return "not a quantizable layer";
  }
}

bool Int8Capable(const Node& node, const Graph& graph) { return Int8Refusal(node, graph).empty(); }

StatusOr<PrecisionPlan> PlanPrecision(const Graph& fused, const QuantSpec& spec,
                                      const std::vector<std::string>& f32_values) {
  PrecisionPlan plan;
  std::set<std::string> forced_f32(fused.outputs.begin(), fused.outputs.end());
  forced_f32.insert(f32_values.begin(), f32_values.end());
  auto spec_params = [&](const std::string& value) -> const QuantParams* {
    auto it = spec.activations.find(value);
    return it == spec.activations.end() ? nullptr : &it->second;
  };

  // Consumers of each value, counting a fused residual as read by its conv.
  std::unordered_map<std::string, std::vector<size_t>> consumers;
  for (size_t i = 0; i < fused.nodes.size(); ++i) {
    for (const std::string& in : fused.nodes[i].inputs) consumers[in].push_back(i);
    for (const PostOp& op : fused.nodes[i].post_ops) {
      if (op.kind == PostOp::Kind::kSum) consumers[op.sum_input].push_back(i);
    }
  }

  // Forward pass: what could be INT8, and with which parameters.
  std::vector<bool> layer(fused.nodes.size(), false), node_int8(fused.nodes.size(), false);
  std::vector<bool> writer(fused.nodes.size(), false);  // rule 2b
  std::map<std::string, QuantParams> candidate;
  bool first_layer = true;
  for (size_t i = 0; i < fused.nodes.size(); ++i) {
    const Node& node = fused.nodes[i];
    if (IsQuantizable(node.op)) {
      auto p = spec.layers.find(node.name);
      const bool int8 =
          p != spec.layers.end() && p->second == Precision::kInt8 && Int8Capable(node, fused);
      if (p != spec.layers.end() && p->second == Precision::kInt8 && !int8) {
        plan.fp32_fallbacks[node.name] = Int8Refusal(node, fused);
      }
      if (int8) {
        layer[i] = node_int8[i] = true;
        const bool seven = spec.seven_bit == SevenBitWeights::kAll ||
                           (spec.seven_bit == SevenBitWeights::kFirstLayer && first_layer);
        if (seven) plan.seven_bit_layers.insert(node.name);
        if (const QuantParams* out = spec_params(node.outputs[0])) {
          if (!forced_f32.count(node.outputs[0])) candidate[node.outputs[0]] = *out;
        }
      }
      first_layer = false;
      continue;
    }
    if (WritesInt8Output(node)) {
      const QuantParams* p = spec_params(node.outputs[0]);
      if (p != nullptr && !forced_f32.count(node.outputs[0])) {
        candidate[node.outputs[0]] = *p;
        node_int8[i] = writer[i] = true;
      }
      continue;
    }
    if (!IsFollower(node, fused)) continue;
    std::vector<std::string> inputs = DataInputs(node, fused);
    bool all = !inputs.empty();
    for (const std::string& in : inputs) all = all && candidate.count(in) != 0;
    const std::string& out = node.outputs[0];
    if (!all || forced_f32.count(out)) continue;
    if (IsPool(node.op) || IsReshape(node.op)) {
      candidate[out] = candidate[inputs[0]];
    } else if (const QuantParams* p = spec_params(out)) {
      candidate[out] = *p;
    } else {
      continue;
    }
    node_int8[i] = true;
  }

  // Backward: drop INT8 values with an f32 consumer and followers with an f32
  // input or output, until stable.
  bool changed = true;
  while (changed) {
    changed = false;
    for (auto it = candidate.begin(); it != candidate.end();) {
      bool keep = true;
      // A Softmax writes INT8 but reads f32 (rule 2b).
      for (size_t c : consumers[it->first]) keep = keep && node_int8[c] && !writer[c];
      if (keep) {
        ++it;
      } else {
        it = candidate.erase(it);
        changed = true;
      }
    }
    for (size_t i = 0; i < fused.nodes.size(); ++i) {
      if (!node_int8[i] || layer[i]) continue;
      const Node& node = fused.nodes[i];
      bool keep = candidate.count(node.outputs[0]) != 0;
      if (!writer[i]) {
        for (const std::string& in : DataInputs(node, fused)) keep = keep && candidate.count(in);
      }
      if (!keep) {
        node_int8[i] = false;
        candidate.erase(node.outputs[0]);
        changed = true;
      }
    }
  }
  plan.int8_values = std::move(candidate);

  for (size_t i = 0; i < fused.nodes.size(); ++i) {
    const Node& node = fused.nodes[i];
    if (!node_int8[i]) continue;
    plan.int8_nodes.insert(node.name);
    if (!layer[i]) continue;
    const std::string& src = node.inputs[0];
    if (const QuantParams* p = plan.Int8Value(src)) {
      plan.source_params[node.name] = *p;
    } else if (const QuantParams* q = spec_params(src)) {
      plan.source_params[node.name] = *q;
    } else {
      return FailedPrecondition("no quantisation parameters for tensor '" + src +
                                "', the input of INT8 layer '" + node.name + "'");
    }
    if (IsRunTimeMatMul(node, fused)) {
      const std::string& b = node.inputs[1];
      const QuantParams* p = plan.Int8Value(b);
      if (p == nullptr) p = spec_params(b);
      if (p == nullptr) {
        return FailedPrecondition("no quantisation parameters for tensor '" + b +
                                  "', input B of INT8 layer '" + node.name + "'");
      }
      plan.operand_b_params[node.name] =
          SignedOperandParams(*p, plan.seven_bit_layers.count(node.name) != 0);
    }
    const std::string residual = ResidualOf(node);
    if (residual.empty() || plan.Int8Value(node.outputs[0]) == nullptr) continue;
    if (const QuantParams* p = plan.Int8Value(residual)) {
      plan.residual_params[node.name] = *p;
    } else if (const QuantParams* q = spec_params(residual)) {
      plan.residual_params[node.name] = *q;
    } else {
      return FailedPrecondition("no quantisation parameters for tensor '" + residual +
                                "', the residual of INT8 layer '" + node.name + "'");
    }
  }
  return plan;
}

}  // namespace mixq
