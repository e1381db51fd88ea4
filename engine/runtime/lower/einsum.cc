// Einsum: a two-operand contraction runs as one oneDNN matmul that reads
// both operands and writes the output through views wherever their
// layouts allow; everything else (one or three operands, diagonals, labels
// summed inside one operand, broadcast summed labels) runs on the host
// kernel (engine/ops/einsum.cc).
//
// The matmul's shape comes from the output's labels: its trailing run of
// labels found only in the weights operand is N, the run before it found
// only in the source operand is M, and the labels before those are batch
// dims (broadcast where an operand lacks one, size 1). The summed labels are
// K, in the source operand's order. Each operand is read as [batch...,
// rows, cols] with its row and column groups merged into one dim each: a
// strided view of its buffer when the strides merge and one of the two
// matrix dims is contiguous, else a copy (a reorder step, or at compile time
// for a constant). The output is always written in place, since its layout
// is [batch..., M..., N...] by construction. Both operand orders are tried:
// the one with fewer batch dims that only one operand has (rows or columns
// spread over batch entries) wins, then the one with fewer copies, then the
// one whose weights are constant.
#include "engine/ops/einsum.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include "engine/runtime/lower/host_op.h"
#include "engine/runtime/lower/lowering.h"

namespace mixq {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

// One operand as the matmul reads it.
struct Side {
  std::string value;
  memory::dims full_dims, full_strides;  // batch..., row labels..., column labels...
  memory::dims dims;                     // batch..., rows, cols (groups merged)
  bool copy = false;                     // the strides do not merge: the matmul reads a plain copy
  memory::desc read;  // dims as the matmul reads them (of the value, or of the copy)
};

// Size and element stride of each label in an operand (1 and 0 if absent).
struct LabelLayout {
  std::vector<int64_t> size, stride;
};

LabelLayout LayoutOf(const std::vector<int>& labels, const Shape& shape, int num_labels) {
  LabelLayout layout{std::vector<int64_t>(num_labels, 1), std::vector<int64_t>(num_labels, 0)};
  int64_t stride = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    layout.size[labels[d]] = shape[d];
    layout.stride[labels[d]] = stride;
    stride *= shape[d];
  }
  return layout;
}

// Merges a group of labels (outer to inner) into one dim of `size`: false
// when the strides of its non-trivial labels are not nested, so that no
// single `stride` walks it.
bool Merge(const LabelLayout& layout, const std::vector<int>& group, int64_t* size,
           int64_t* stride) {
  *size = 1;
  *stride = 1;
  bool nested = true;
  for (int l : group) {
    if (layout.size[l] == 1) continue;
    if (*size > 1 && *stride != layout.stride[l] * layout.size[l]) nested = false;
    *size *= layout.size[l];
    *stride = layout.stride[l];
  }
  return nested;
}

Side Arrange(const std::string& value, const LabelLayout& layout, const std::vector<int>& batch,
             const std::vector<int>& rows, const std::vector<int>& cols) {
  Side side;
  side.value = value;
  for (const std::vector<int>* group : {&batch, &rows, &cols}) {
    for (int l : *group) {
      side.full_dims.push_back(layout.size[l]);
      side.full_strides.push_back(layout.size[l] == 1 ? 1 : layout.stride[l]);
    }
  }
  side.dims.assign(side.full_dims.begin(), side.full_dims.begin() + batch.size());
  memory::dims strides(side.full_strides.begin(), side.full_strides.begin() + batch.size());
  int64_t r = 1, r_stride = 1, c = 1, c_stride = 1;
  const bool rows_merge = Merge(layout, rows, &r, &r_stride);
  const bool merged = Merge(layout, cols, &c, &c_stride) && rows_merge;
  side.copy = !merged || (r > 1 && c > 1 && r_stride != 1 && c_stride != 1);
  side.dims.push_back(r);
  side.dims.push_back(c);
  strides.push_back(r_stride);
  strides.push_back(c_stride);
  side.read = side.copy ? PlainDesc(side.dims) : memory::desc(side.dims, dt::f32, strides);
  return side;
}

struct Plan {
  Side src, weights;
  memory::dims dst_dims;
  int copies = 0;
  // Batch dims that only one operand has: matrix rows or columns spread
  // over batch entries (smaller, slower products).
  int scattered = 0;
};

// The matmul with operand `s` as source and `w` as weights; false when the
// equation is not a plain contraction of the two.
bool PlanRoles(const EinsumLabels& labels, const std::vector<std::string>& values,
               const std::vector<Shape>& shapes, size_t s, size_t w, Plan* plan) {
  const int num = labels.num_labels();
  std::vector<int> in_s(num, 0), in_w(num, 0), in_out(num, 0);
  for (int l : labels.inputs[s]) ++in_s[l];
  for (int l : labels.inputs[w]) ++in_w[l];
  for (int l : labels.output) ++in_out[l];
  const LabelLayout ls = LayoutOf(labels.inputs[s], shapes[s], num);
  const LabelLayout lw = LayoutOf(labels.inputs[w], shapes[w], num);
  std::vector<int> k_labels;
  for (int l : labels.inputs[s]) {
    if (in_s[l] > 1 || in_w[l] > 1) return false;  // a diagonal
    if (!in_out[l] && !in_w[l]) return false;      // summed inside one operand
    if (!in_out[l]) {
      if (ls.size[l] != lw.size[l]) return false;  // a broadcast summed label
      k_labels.push_back(l);
    }
  }
  for (int l : labels.inputs[w]) {
    if (in_w[l] > 1 || (!in_out[l] && !in_s[l])) return false;
  }
  const std::vector<int>& out = labels.output;
  size_t n_begin = out.size();
  while (n_begin > 0 && in_w[out[n_begin - 1]] && !in_s[out[n_begin - 1]]) --n_begin;
  size_t m_begin = n_begin;
  while (m_begin > 0 && in_s[out[m_begin - 1]] && !in_w[out[m_begin - 1]]) --m_begin;
  if (m_begin + 2 > DNNL_MAX_NDIMS) return false;
  const std::vector<int> batch(out.begin(), out.begin() + m_begin);
  const std::vector<int> m_labels(out.begin() + m_begin, out.begin() + n_begin);
  const std::vector<int> n_labels(out.begin() + n_begin, out.end());
  plan->src = Arrange(values[s], ls, batch, m_labels, k_labels);
  plan->weights = Arrange(values[w], lw, batch, k_labels, n_labels);
  plan->dst_dims.clear();
  for (int l : batch) plan->dst_dims.push_back(labels.sizes[l]);
  plan->dst_dims.push_back(plan->src.dims[m_begin]);
  plan->dst_dims.push_back(plan->weights.dims.back());
  plan->copies = plan->src.copy + plan->weights.copy;
  plan->scattered = 0;
  for (int l : batch) plan->scattered += labels.sizes[l] > 1 && !(in_s[l] && in_w[l]);
  return true;
}

// The memory a side reads: a view of its value, or a plain copy of it.
StatusOr<memory> ReadSide(const Side& side, CompileContext* ctx) {
  const memory::desc full(side.full_dims, dt::f32, side.full_strides);
  memory source;
  if (const Tensor* constant = ctx->FindConstant(side.value)) {
    if (side.copy) {
      MIXQ_ASSIGN_OR_RETURN(source, ctx->ConstantAs(*constant, full, PlainDesc(side.full_dims)));
    } else {
      MIXQ_ASSIGN_OR_RETURN(source, ctx->Value(side.value));
    }
  } else {
    MIXQ_ASSIGN_OR_RETURN(source, ctx->PlainValue(side.value));
    if (side.copy) {
      memory copy = ctx->NewBuffer(PlainDesc(side.full_dims));
      ctx->AddReorder(ctx->View(source, full), copy);
      source = copy;
    }
  }
  return ctx->View(source, side.read);
}

}  // namespace

Status LowerEinsum(const Node& node, CompileContext* ctx) {
  if (node.inputs.size() != 2) return LowerHostOp(node, ctx);
  std::vector<Shape> shapes;
  for (const std::string& in : node.inputs) {
    MIXQ_RETURN_IF_ERROR(ctx->Dims(in).status());
    shapes.push_back(ctx->graph().values.at(in).shape);
  }
  MIXQ_ASSIGN_OR_RETURN(EinsumLabels labels,
                        ResolveEinsum(node.attrs.String("equation", ""), shapes));
  Plan best;
  bool found = false;
  for (size_t s : {0, 1}) {
    Plan plan;
    if (!PlanRoles(labels, node.inputs, shapes, s, 1 - s, &plan)) continue;
    const auto rank = [&](const Plan& p) {
      return std::make_tuple(p.scattered, p.copies, ctx->FindConstant(p.weights.value) == nullptr);
    };
    const bool better = !found || rank(plan) < rank(best);
    if (better) best = plan;
    found = true;
  }
  if (!found) return LowerHostOp(node, ctx);

  MIXQ_ASSIGN_OR_RETURN(memory src, ReadSide(best.src, ctx));
  MIXQ_ASSIGN_OR_RETURN(memory weights, ReadSide(best.weights, ctx));
  MIXQ_ASSIGN_OR_RETURN(memory::dims y_dims, ctx->Dims(node.outputs[0]));
  const memory dst =
      DefineMatMulOutput(node, MatMulDims{{}, {}, best.dst_dims, y_dims}, dt::f32, ctx);
  dnnl::matmul::desc desc(src.get_desc(), weights.get_desc(), dst.get_desc());
  dnnl::matmul::primitive_desc pd(desc, ctx->engine());
  ctx->AddStep("matmul", dnnl::matmul(pd), pd.impl_info_str(),
               {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}});
  return Status::Ok();
}

}  // namespace mixq
