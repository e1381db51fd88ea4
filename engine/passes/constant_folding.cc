#include "engine/passes/constant_folding.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "engine/ir/broadcast.h"
#include "engine/ir/node_error.h"
#include "engine/ops/op_def.h"
#include "engine/passes/shape_inference.h"

namespace mixq {
namespace {

// Folding a large tensor would only move executor work to load time and
// bloat the graph; shape arithmetic is tiny.
constexpr int64_t kMaxFoldedElements = int64_t{1} << 24;

bool IsFoldable(OpType op) {
  switch (op) {
    case OpType::kShape:
    case OpType::kConcat:
    case OpType::kIdentity:
    case OpType::kDropout:
    case OpType::kFlatten:
    case OpType::kReshape:
    case OpType::kSqueeze:
    case OpType::kUnsqueeze:
    case OpType::kTranspose:
    case OpType::kAdd:
    case OpType::kSub:
    case OpType::kMul:
    case OpType::kDiv:
      return true;
    default:
      return false;
  }
}

// x `op` y for the binary ops Folder::Binary folds (Add, Sub, Mul, Div), in
// T's arithmetic: double for floating results, int64 for integer ones.
template <typename T>
T Arithmetic(OpType op, T x, T y) {
  switch (op) {
    case OpType::kAdd:
      return x + y;
    case OpType::kSub:
      return x - y;
    case OpType::kMul:
      return x * y;
    default:
      return x / y;
  }
}

class Folder {
 public:
  Folder(const Graph& graph, const Node& node) : graph_(graph), node_(node) {}

  // Fills `out` (already shaped and typed from shape inference).
  Status Evaluate(Tensor* out) const;

 private:
  const Tensor& In(size_t i) const { return graph_.constants.at(node_.inputs[i]); }
  Status Invalid(const std::string& reason) const {
    return NodeError(StatusCode::kInvalidArgument, graph_, node_, reason);
  }
  Status Binary(Tensor* out) const;
  Status Concat(Tensor* out) const;
  void Transpose(Tensor* out) const;

  const Graph& graph_;
  const Node& node_;
};

Status Folder::Binary(Tensor* out) const {
  const Tensor& a = In(0);
  const Tensor& b = In(1);
  const size_t rank = out->shape().size();
  const auto sa = BroadcastStrides(a.shape(), rank);
  const auto sb = BroadcastStrides(b.shape(), rank);
  std::vector<int64_t> index(rank, 0);
  const bool floating = IsFloatingPoint(out->dtype());
  for (int64_t i = 0; i < out->size(); ++i) {
    int64_t ia = 0, ib = 0;
    for (size_t d = 0; d < rank; ++d) {
      ia += index[d] * sa[d];
      ib += index[d] * sb[d];
    }
    if (floating) {
      out->SetFromDouble(i, Arithmetic(node_.op, a.FloatAt(ia), b.FloatAt(ib)));
    } else {
      const int64_t x = a.IntAt(ia), y = b.IntAt(ib);
      if (node_.op == OpType::kDiv && y == 0) {
        return Invalid("integer division by zero in constant folding");
      }
      out->SetFromInt(i, Arithmetic(node_.op, x, y));
    }
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < out->shape()[d]) break;
      index[d] = 0;
    }
  }
  return Status::Ok();
}

Status Folder::Concat(Tensor* out) const {
  const int64_t axis = node_.attrs.Int("axis", 0);
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= out->shape()[d];
  auto* dst = static_cast<char*>(out->raw());
  const size_t esize = DTypeSize(out->dtype());
  for (int64_t o = 0; o < outer; ++o) {
    for (size_t i = 0; i < node_.inputs.size(); ++i) {
      const Tensor& in = In(i);
      if (in.dtype() != out->dtype()) return Invalid("inputs have different element types");
      const size_t chunk = (outer ? in.size() / outer : 0) * esize;
      if (chunk) std::memcpy(dst, static_cast<const char*>(in.raw()) + o * chunk, chunk);
      dst += chunk;
    }
  }
  return Status::Ok();
}

void Folder::Transpose(Tensor* out) const {
  const Tensor& in = In(0);
  const auto perm = node_.attrs.Ints("perm");
  const size_t rank = perm.size();
  std::vector<int64_t> in_strides;
  int64_t stride = 1;
  for (size_t d = rank; d-- > 0;) {
    in_strides.insert(in_strides.begin(), stride);
    stride *= in.shape()[d];
  }
  const size_t esize = DTypeSize(in.dtype());
  std::vector<int64_t> index(rank, 0);
  const auto* src = static_cast<const char*>(in.raw());
  auto* dst = static_cast<char*>(out->raw());
  for (int64_t i = 0; i < out->size(); ++i) {
    int64_t offset = 0;
    for (size_t d = 0; d < rank; ++d) offset += index[d] * in_strides[perm[d]];
    std::memcpy(dst + i * esize, src + offset * esize, esize);
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < out->shape()[d]) break;
      index[d] = 0;
    }
  }
}

Status Folder::Evaluate(Tensor* out) const {
  switch (node_.op) {
    case OpType::kShape: {
      const Shape& s = graph_.values.at(node_.inputs[0]).shape;
      const int64_t start = node_.attrs.Int("start", 0);
      for (int64_t i = 0; i < out->size(); ++i) out->data<int64_t>()[i] = s[start + i];
      return Status::Ok();
    }
    case OpType::kAdd:
    case OpType::kSub:
    case OpType::kMul:
    case OpType::kDiv:
      return Binary(out);
    case OpType::kConcat:
      return Concat(out);
    case OpType::kTranspose:
      Transpose(out);
      return Status::Ok();
    default:
      // Identity, Dropout and the reshapes keep the bytes.
      if (In(0).bytes()) std::memcpy(out->raw(), In(0).raw(), In(0).bytes());
      return Status::Ok();
  }
}

bool AllKnown(const Shape& s) {
  return std::all_of(s.begin(), s.end(), [](int64_t d) { return d >= 0; });
}

}  // namespace

StatusOr<bool> TryFoldNode(Graph* graph, const Node& node) {
  const OpDef* def = FindOpDef(node.op);
  const bool host = def != nullptr && def->host != nullptr;
  if (!IsFoldable(node.op) && !host) return false;
  if (node.op == OpType::kShape) {
    if (node.inputs.empty()) return false;
    const ValueInfo* info = graph->FindValue(node.inputs[0]);
    if (info == nullptr || !AllKnown(info->shape)) return false;
  } else {
    for (const std::string& in : node.inputs) {
      if (!in.empty() && !graph->IsConstant(in)) return false;
    }
  }
  // Shape inference on a scratch copy gives the output shapes (and the
  // normalised attributes the evaluation reads).
  Node scratch = node;
  MIXQ_ASSIGN_OR_RETURN(bool inferred, InferNodeShapes(graph, &scratch, false));
  if (!inferred) return false;
  std::vector<Tensor> results;
  for (size_t i = 0; i < scratch.outputs.size(); ++i) {
    const std::string& name = scratch.outputs[i];
    if (name.empty()) {
      results.emplace_back();
      continue;
    }
    const ValueInfo& info = graph->values.at(name);
    if (!AllKnown(info.shape) || NumElements(info.shape) > kMaxFoldedElements ||
        info.dtype == DType::kF16) {
      return false;
    }
    results.emplace_back(info.dtype, info.shape);
  }
  if (results.empty() || scratch.outputs[0].empty()) return false;
  if (host) {
    std::vector<const Tensor*> inputs;
    for (const std::string& in : scratch.inputs) {
      inputs.push_back(in.empty() ? nullptr : &graph->constants.at(in));
    }
    std::vector<MutView> outputs;
    for (Tensor& t : results) outputs.push_back(MutViewOf(&t));
    std::vector<ConstView> views;
    for (const Tensor* t : inputs) views.push_back(t == nullptr ? ConstView{} : ViewOf(*t));
    Status status = def->host(scratch, views, outputs, SerialParallelism());
    if (!status.ok()) return NodeError(status.code(), *graph, node, status.message());
    for (size_t i = 0; i < scratch.outputs.size(); ++i) {
      if (!scratch.outputs[i].empty()) graph->constants[scratch.outputs[i]] = std::move(results[i]);
    }
    return true;
  }
  MIXQ_RETURN_IF_ERROR(Folder(*graph, scratch).Evaluate(&results[0]));
  // Dropout's mask is all ones in inference.
  if (results.size() > 1 && !scratch.outputs[1].empty()) {
    for (int64_t i = 0; i < results[1].size(); ++i) results[1].SetFromInt(i, 1);
  }
  for (size_t i = 0; i < scratch.outputs.size(); ++i) {
    if (!scratch.outputs[i].empty()) graph->constants[scratch.outputs[i]] = std::move(results[i]);
  }
  return true;
}

Status PropagateShapes(Graph* graph, bool concrete) {
  std::vector<Node> kept;
  kept.reserve(graph->nodes.size());
  for (Node& node : graph->nodes) {
    MIXQ_ASSIGN_OR_RETURN(bool folded, TryFoldNode(graph, node));
    if (folded) continue;
    MIXQ_ASSIGN_OR_RETURN(bool inferred, InferNodeShapes(graph, &node, concrete));
    (void)inferred;
    kept.push_back(std::move(node));
  }
  graph->nodes = std::move(kept);
  return Status::Ok();
}

}  // namespace mixq
