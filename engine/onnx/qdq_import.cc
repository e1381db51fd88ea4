#include "engine/onnx/qdq_import.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/ir/node_error.h"
#include "engine/onnx/onnx_importer.h"

namespace mixq {
namespace {

bool IsQdq(OpType op) { return op == OpType::kQuantizeLinear || op == OpType::kDequantizeLinear; }

// The largest |q| of a dequantised integer weight, for the 7-bit test.
struct Dequantised {
  DType dtype = DType::kI8;
  int64_t max_abs = 0;
};

class QdqPass {
 public:
  explicit QdqPass(Graph graph) : graph_(std::move(graph)) {}
  StatusOr<QdqModel> Run();

 private:
  Status Error(StatusCode code, const Node& node, const std::string& reason) const {
    return NodeError(code, graph_, node, reason);
  }
  const Tensor* ConstantInput(const Node& node, size_t i) const {
    if (i >= node.inputs.size() || node.inputs[i].empty()) return nullptr;
    auto it = graph_.constants.find(node.inputs[i]);
    return it == graph_.constants.end() ? nullptr : &it->second;
  }
  // A MatMul of two run-time tensors that both had a Q -> DQ pair.
  bool IsRunTimeProduct(const Node& node) const {
    return node.op == OpType::kMatMul && node.inputs.size() == 2 &&
           ConstantInput(node, 0) == nullptr && ConstantInput(node, 1) == nullptr &&
           spec_.activations.count(node.inputs[0]) != 0 &&
           spec_.activations.count(node.inputs[1]) != 0;
  }
  // Scale (float32 constant) and zero point (constant, all zero) of a Q/DQ.
  Status CheckParams(const Node& node, const Tensor** scale, DType* zero_type) const;
  Status FoldConstantDq(const Node& node);
  Status MapActivationPair(size_t q_index);
  void Rename(const std::string& from, const std::string& to);

  Graph graph_;
  QuantSpec spec_;
  std::vector<bool> removed_;
  std::unordered_map<std::string, Dequantised> dequantised_;
};

Status QdqPass::CheckParams(const Node& node, const Tensor** scale, DType* zero_type) const {
  *scale = ConstantInput(node, 1);
  if (*scale == nullptr || (*scale)->dtype() != DType::kF32) {
    return Error(StatusCode::kUnimplemented, node, "the scale must be a float32 constant");
  }
  for (int64_t i = 0; i < (*scale)->size(); ++i) {
    const float s = (*scale)->data<float>()[i];
    if (!(s > 0.0f) || !std::isfinite(s)) {
      return Error(StatusCode::kInvalidArgument, node, "scale must be positive and finite");
    }
  }
  *zero_type = node.op == OpType::kQuantizeLinear ? DType::kU8 : DType::kI8;
  if (node.inputs.size() > 2 && !node.inputs[2].empty()) {
    const Tensor* zp = ConstantInput(node, 2);
    if (zp == nullptr) {
      return Error(StatusCode::kUnimplemented, node, "the zero point must be a constant");
    }
    for (int64_t i = 0; i < zp->size(); ++i) {
      if (zp->IntAt(i) != 0) {
        return Error(StatusCode::kUnimplemented, node,
                     "non-zero zero point " + std::to_string(zp->IntAt(i)) +
                         " (mixq quantises symmetrically: zero point 0)");
      }
    }
    *zero_type = zp->dtype();
  }
  return Status::Ok();
}

Status QdqPass::FoldConstantDq(const Node& node) {
  const Tensor& x = *ConstantInput(node, 0);
  const Tensor* scale = nullptr;
  DType zero_type = DType::kI8;
  MIXQ_RETURN_IF_ERROR(CheckParams(node, &scale, &zero_type));
  if (x.dtype() != DType::kI8 && x.dtype() != DType::kU8 && x.dtype() != DType::kI32) {
    return Error(StatusCode::kUnimplemented, node,
                 std::string("dequantising ") + DTypeName(x.dtype()) + " is not supported");
  }
  int64_t channels = 1;
  int64_t inner = x.size();
  if (scale->size() != 1) {
    int64_t axis = node.attrs.Int("axis", 1);
    if (axis < 0) axis += x.rank();
    if (axis < 0 || axis >= x.rank() || x.shape()[static_cast<size_t>(axis)] != scale->size()) {
      return Error(StatusCode::kInvalidArgument, node,
                   "scale of " + std::to_string(scale->size()) + " values does not fit axis " +
                       std::to_string(node.attrs.Int("axis", 1)) + " of " +
                       ShapeToString(x.shape()));
    }
    channels = scale->size();
    inner = 1;
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.shape()[static_cast<size_t>(d)];
  }
  Tensor out(DType::kF32, x.shape());
  Dequantised info;
  info.dtype = x.dtype();
  for (int64_t i = 0; i < x.size(); ++i) {
    const int64_t q = x.IntAt(i);
    info.max_abs = std::max<int64_t>(info.max_abs, std::llabs(q));
    const float s = scale->data<float>()[(i / inner) % channels];
    out.data<float>()[i] = static_cast<float>(q) * s;
  }
  const std::string& name = node.outputs[0];
  graph_.values[name] = ValueInfo{DType::kF32, x.shape()};
  graph_.constants[name] = std::move(out);
  dequantised_[name] = info;
  return Status::Ok();
}

void QdqPass::Rename(const std::string& from, const std::string& to) {
  for (Node& node : graph_.nodes) {
    std::replace(node.inputs.begin(), node.inputs.end(), from, to);
    std::replace(node.outputs.begin(), node.outputs.end(), from, to);
  }
  std::replace(graph_.outputs.begin(), graph_.outputs.end(), from, to);
  auto it = graph_.values.find(from);
  if (it != graph_.values.end()) {
    graph_.values[to] = it->second;
    graph_.values.erase(from);
  }
}

Status QdqPass::MapActivationPair(size_t q_index) {
  const Node q = graph_.nodes[q_index];
  const Tensor* scale = nullptr;
  DType zero_type = DType::kU8;
  MIXQ_RETURN_IF_ERROR(CheckParams(q, &scale, &zero_type));
  if (scale->size() != 1) {
    return Error(StatusCode::kUnimplemented, q,
                 "per-axis activation scales (mixq quantises activations per tensor)");
  }
  if (zero_type != DType::kU8 && zero_type != DType::kI8) {
    return Error(StatusCode::kUnimplemented, q,
                 std::string("quantised type ") + DTypeName(zero_type) + " (only uint8/int8)");
  }
  const std::string& quantised = q.outputs[0];
  if (std::count(graph_.outputs.begin(), graph_.outputs.end(), quantised)) {
    return Error(StatusCode::kUnimplemented, q, "a quantised graph output is not supported");
  }
  std::vector<size_t> dqs;
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    const Node& n = graph_.nodes[i];
    if (std::count(n.inputs.begin(), n.inputs.end(), quantised) == 0) continue;
    if (n.op != OpType::kDequantizeLinear || n.inputs[0] != quantised) {
      return Error(StatusCode::kUnimplemented, q,
                   "its output feeds node '" + n.name + "' (" + OpTypeName(n.op) +
                       "), not a DequantizeLinear");
    }
    const Tensor* dq_scale = nullptr;
    DType dq_zero = DType::kI8;
    MIXQ_RETURN_IF_ERROR(CheckParams(n, &dq_scale, &dq_zero));
    if (dq_scale->size() != 1 || dq_scale->data<float>()[0] != scale->data<float>()[0] ||
        (n.inputs.size() > 2 && !n.inputs[2].empty() && dq_zero != zero_type)) {
      return Error(StatusCode::kUnimplemented, n,
                   "its scale or zero point differs from QuantizeLinear '" + q.name + "'");
    }
    dqs.push_back(i);
  }
  if (dqs.empty()) {
    return Error(StatusCode::kUnimplemented, q, "QuantizeLinear without a DequantizeLinear");
  }
  QuantParams params;
  params.dequant_scale = scale->data<float>()[0];
  params.is_unsigned = zero_type == DType::kU8;
  params.threshold = params.dequant_scale * (params.is_unsigned ? 255.0f : 127.0f);

  std::string tensor = q.inputs[0];
  removed_[q_index] = true;
  for (size_t i : dqs) {
    removed_[i] = true;
    const std::string dq_out = graph_.nodes[i].outputs[0];
    const bool is_output = std::count(graph_.outputs.begin(), graph_.outputs.end(), dq_out) != 0;
    if (is_output) {
      // The graph output keeps its name: the quantised tensor takes it.
      if (std::count(graph_.inputs.begin(), graph_.inputs.end(), tensor)) {
        return Error(StatusCode::kUnimplemented, q, "a graph input quantised into an output");
      }
      graph_.values.erase(dq_out);
      graph_.outputs.erase(std::remove(graph_.outputs.begin(), graph_.outputs.end(), dq_out),
                           graph_.outputs.end());
      Rename(tensor, dq_out);
      // Rename() rewrote the graph's outputs too; put this one back in place.
      tensor = dq_out;
    } else {
      graph_.values.erase(dq_out);
      Rename(dq_out, tensor);
    }
  }
  graph_.values.erase(quantised);
  auto [it, inserted] = spec_.activations.emplace(tensor, params);
  if (!inserted && (it->second.dequant_scale != params.dequant_scale ||
                    it->second.is_unsigned != params.is_unsigned)) {
    return Error(StatusCode::kUnimplemented, q,
                 "tensor '" + tensor + "' is quantised twice with different parameters");
  }
  return Status::Ok();
}

StatusOr<QdqModel> QdqPass::Run() {
  QdqModel model;
  const std::vector<std::string> original_outputs = graph_.outputs;
  removed_.assign(graph_.nodes.size(), false);
  bool any = false;
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    const Node& node = graph_.nodes[i];
    if (!IsQdq(node.op)) continue;
    any = true;
    if (node.op == OpType::kDequantizeLinear && ConstantInput(node, 0) != nullptr) {
      MIXQ_RETURN_IF_ERROR(FoldConstantDq(node));
      removed_[i] = true;
    }
  }
  if (!any) {
    model.graph = std::move(graph_);
    return model;
  }
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    if (graph_.nodes[i].op != OpType::kQuantizeLinear) continue;
    if (ConstantInput(graph_.nodes[i], 0) != nullptr) {
      return Error(StatusCode::kUnimplemented, graph_.nodes[i],
                   "QuantizeLinear of a constant (store the quantised value instead)");
    }
    MIXQ_RETURN_IF_ERROR(MapActivationPair(i));
  }
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    if (IsQdq(graph_.nodes[i].op) && !removed_[i]) {
      return Error(StatusCode::kUnimplemented, graph_.nodes[i],
                   "DequantizeLinear of an activation without a QuantizeLinear before it");
    }
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    if (!removed_[i]) kept.push_back(std::move(graph_.nodes[i]));
  }
  graph_.nodes = std::move(kept);
  // Graph outputs renamed by Rename() keep their original order.
  graph_.outputs = original_outputs;

  // Layers reading a dequantised int8 weight are INT8; 7-bit when every such
  // weight lies in [-63, 63].
  std::vector<bool> seven;
  bool first_seven = false;
  bool first = true;
  for (const Node& node : graph_.nodes) {
    if (!IsQuantizable(node.op)) continue;
    Precision precision = Precision::kFp32;
    auto it = node.inputs.size() > 1 ? dequantised_.find(node.inputs[1]) : dequantised_.end();
    if (IsRunTimeProduct(node)) {
      precision = Precision::kInt8;
    } else if (it != dequantised_.end()) {
      if (it->second.dtype != DType::kI8) {
        return Error(StatusCode::kUnimplemented, node,
                     std::string("weights dequantised from ") + DTypeName(it->second.dtype) +
                         " (mixq's INT8 weights are int8)");
      }
      precision = Precision::kInt8;
      seven.push_back(it->second.max_abs <= 63);
      if (first) first_seven = seven.back();
    }
    first = false;
    spec_.layers[node.name] = precision;
  }
  const bool all_seven =
      !seven.empty() && std::all_of(seven.begin(), seven.end(), [](bool s) { return s; });
  const bool others_eight = std::count(seven.begin(), seven.end(), true) == (first_seven ? 1 : 0);
  if (all_seven) {
    spec_.seven_bit = SevenBitWeights::kAll;
  } else if (first_seven && others_eight) {
    spec_.seven_bit = SevenBitWeights::kFirstLayer;
  }

  // Scales, zero points and integer weights are no longer referenced.
  std::unordered_set<std::string> used(graph_.outputs.begin(), graph_.outputs.end());
  for (const Node& node : graph_.nodes) used.insert(node.inputs.begin(), node.inputs.end());
  for (auto it = graph_.constants.begin(); it != graph_.constants.end();) {
    if (used.count(it->first)) {
      ++it;
    } else {
      graph_.values.erase(it->first);
      it = graph_.constants.erase(it);
    }
  }
  model.graph = std::move(graph_);
  model.spec = std::move(spec_);
  model.has_qdq = true;
  return model;
}

}  // namespace

StatusOr<QdqModel> QdqToQuantSpec(Graph graph) { return QdqPass(std::move(graph)).Run(); }

StatusOr<QdqModel> ImportOnnxWithQdq(const std::string& path) {
  MIXQ_ASSIGN_OR_RETURN(Graph graph, ImportOnnx(path));
  return QdqToQuantSpec(std::move(graph));
}

}  // namespace mixq
