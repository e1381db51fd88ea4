// Data movement: Reshape (a plain view of the input, converted to plain
// first if it was blocked), Transpose (one reorder into permuted strides)
// and Concat (oneDNN concat, layout left to oneDNN).
#include "engine/runtime/lower/lowering.h"

namespace mixq {

using dnnl::memory;

Status LowerReshape(const Node& node, CompileContext* ctx) {
  if (node.inputs.empty()) return InvalidArgument("Reshape without input");
  MIXQ_ASSIGN_OR_RETURN(memory::dims x_dims, ctx->Dims(node.inputs[0]));
  MIXQ_ASSIGN_OR_RETURN(memory::dims y_dims, ctx->Dims(node.outputs[0]));
  if (PlainDesc(x_dims).get_size() != PlainDesc(y_dims).get_size()) {
    return InvalidArgument("Reshape changes the element count");
  }
  MIXQ_ASSIGN_OR_RETURN(memory plain, ctx->PlainValue(node.inputs[0]));
  ctx->DefineAlias(node.outputs[0], PlainDesc(y_dims, plain.get_desc().data_type()), plain);
  return Status::Ok();
}

Status LowerTranspose(const Node& node, CompileContext* ctx) {
  MIXQ_ASSIGN_OR_RETURN(memory::dims x_dims, ctx->Dims(node.inputs[0]));
  MIXQ_ASSIGN_OR_RETURN(memory::dims y_dims, ctx->Dims(node.outputs[0]));
  const size_t rank = x_dims.size();
  std::vector<int64_t> perm = node.attrs.Ints("perm");
  if (perm.empty()) {
    for (size_t i = 0; i < rank; ++i) perm.push_back(static_cast<int64_t>(rank - 1 - i));
  }
  if (perm.size() != rank || y_dims.size() != rank) return InvalidArgument("Transpose perm rank");
  memory::dims y_strides(rank, 1);
  for (int i = static_cast<int>(rank) - 2; i >= 0; --i)
    y_strides[i] = y_strides[i + 1] * y_dims[i + 1];
  // Output element j sits at input axis perm[j]: write the input through
  // strides that place it in output order.
  memory::dims x_strides(rank, 0);
  for (size_t j = 0; j < rank; ++j) {
    if (perm[j] < 0 || perm[j] >= static_cast<int64_t>(rank) || x_dims[perm[j]] != y_dims[j]) {
      return InvalidArgument("Transpose perm does not fit the shapes");
    }
    x_strides[perm[j]] = y_strides[j];
  }
  MIXQ_ASSIGN_OR_RETURN(memory src, ctx->Value(node.inputs[0]));
  memory dst = ctx->DefineValue(node.outputs[0], PlainDesc(y_dims));
  memory permuted = ctx->View(dst, memory::desc(x_dims, memory::data_type::f32, x_strides));
  ctx->AddReorder(src, permuted);
  return Status::Ok();
}

Status LowerConcat(const Node& node, CompileContext* ctx) {
  MIXQ_ASSIGN_OR_RETURN(memory::dims y_dims, ctx->Dims(node.outputs[0]));
  const int64_t axis = node.attrs.Int("axis", 0);
  if (axis < 0 || axis >= static_cast<int64_t>(y_dims.size())) {
    return InvalidArgument("Concat axis out of range");
  }
  std::vector<memory> srcs;
  std::vector<memory::desc> descs;
  for (const std::string& in : node.inputs) {
    MIXQ_ASSIGN_OR_RETURN(memory m, ctx->Value(in));
    srcs.push_back(m);
    descs.push_back(m.get_desc());
  }
  memory::desc dst_md(y_dims, memory::data_type::f32, memory::format_tag::any);
  dnnl::concat::primitive_desc pd(dst_md, static_cast<int>(axis), descs, ctx->engine());
  std::unordered_map<int, memory> args;
  for (size_t i = 0; i < srcs.size(); ++i) {
    args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i)] = srcs[i];
  }
  args[DNNL_ARG_DST] = ctx->DefineValue(node.outputs[0], pd.dst_desc());
  ctx->AddStep("concat", dnnl::concat(pd), pd.impl_info_str(), std::move(args));
  return Status::Ok();
}

}  // namespace mixq
