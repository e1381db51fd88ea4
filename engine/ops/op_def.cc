#include "engine/ops/op_def.h"

#include <algorithm>

#include "engine/ir/node_error.h"

namespace mixq {

ShapeContext::ShapeContext(Graph* graph, Node* node, bool concrete)
    : graph_(*graph), node_(*node), concrete_(concrete) {}

const ValueInfo& ShapeContext::Input(size_t i) const { return graph_.values.at(node_.inputs[i]); }

const Tensor* ShapeContext::Constant(size_t i) const {
  if (!HasInput(i)) return nullptr;
  auto it = graph_.constants.find(node_.inputs[i]);
  return it == graph_.constants.end() ? nullptr : &it->second;
}

void ShapeContext::SetOutput(size_t i, DType dtype, Shape shape) {
  if (i < node_.outputs.size() && !node_.outputs[i].empty()) {
    graph_.values[node_.outputs[i]] = ValueInfo{dtype, std::move(shape)};
  }
}

Status ShapeContext::Invalid(const std::string& reason) const {
  return NodeError(StatusCode::kInvalidArgument, graph_, node_, reason);
}

Status ShapeContext::Unsupported(const std::string& reason) const {
  return NodeError(StatusCode::kUnimplemented, graph_, node_, reason);
}

StatusOr<bool> ShapeContext::NotYet(const std::string& reason) const {
  if (concrete_) return Invalid("cannot infer the output shape: " + reason);
  return false;
}

namespace {

std::string CountRange(size_t min_count, size_t max_count) {
  return min_count == max_count ? std::to_string(min_count)
                                : std::to_string(min_count) + " to " + std::to_string(max_count);
}

}  // namespace

Status ShapeContext::ExpectInputs(size_t min_count, size_t max_count) const {
  size_t n = node_.inputs.size();
  while (n > 0 && node_.inputs[n - 1].empty()) --n;
  if (n < min_count || n > max_count) {
    return Invalid("has " + std::to_string(n) + " inputs, expected " +
                   CountRange(min_count, max_count));
  }
  for (size_t i = 0; i < min_count; ++i) {
    if (node_.inputs[i].empty())
      return Invalid("required input " + std::to_string(i) + " is empty");
  }
  return Status::Ok();
}

Status ShapeContext::ExpectOutputs(size_t min_count, size_t max_count) const {
  const size_t n = node_.outputs.size();
  if (n < min_count || n > max_count) {
    return Invalid("has " + std::to_string(n) + " outputs, expected " +
                   CountRange(min_count, max_count));
  }
  return Status::Ok();
}

StatusOr<int64_t> ShapeContext::NormalizeAxis(int64_t axis, int64_t rank,
                                              const std::string& what) const {
  if (axis < -rank || axis >= rank) {
    return Invalid(what + " " + std::to_string(axis) + " is out of range for rank " +
                   std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

StatusOr<bool> ShapeContext::IntsOfInput(size_t i, std::vector<int64_t>* out) const {
  const Tensor* t = Constant(i);
  if (t == nullptr) {
    return NotYet("input '" + node_.inputs[i] + "' is computed at run time; it must be constant");
  }
  if (IsFloatingPoint(t->dtype())) {
    return Invalid("input '" + node_.inputs[i] + "' must hold integers, not " +
                   DTypeName(t->dtype()));
  }
  *out = t->ToInt64Vector();
  return true;
}

void SerialParallelism::For(int64_t n, int64_t /*grain*/, const RangeBody& body) const {
  if (n > 0) body.Run(0, n);
}

ConstView ViewOf(const Tensor& tensor) {
  return ConstView{tensor.dtype(), tensor.shape(), tensor.size(), tensor.raw()};
}

MutView MutViewOf(Tensor* tensor) {
  return MutView{tensor->dtype(), tensor->shape(), tensor->size(), tensor->raw()};
}

StatusOr<std::vector<Tensor>> RunHostKernel(const Node& node,
                                            const std::vector<const Tensor*>& inputs,
                                            const std::vector<ValueInfo>& output_infos,
                                            const Parallelism& par) {
  const OpDef* def = FindOpDef(node.op);
  if (def == nullptr || def->host == nullptr) {
    return Unimplemented(std::string(OpTypeName(node.op)) + " has no host kernel");
  }
  std::vector<ConstView> in;
  for (const Tensor* t : inputs) in.push_back(t == nullptr ? ConstView{} : ViewOf(*t));
  std::vector<Tensor> outputs;
  for (const ValueInfo& info : output_infos) outputs.emplace_back(info.dtype, info.shape);
  std::vector<MutView> out;
  for (Tensor& t : outputs) out.push_back(MutViewOf(&t));
  MIXQ_RETURN_IF_ERROR(def->host(node, in, out, par));
  return outputs;
}

}  // namespace mixq
