// INT8 followers: pooling and reshape run the FP32 lowerings, which keep
// their source's type (so the quantisation parameters pass through);
// Concat requantises each input whose parameters differ from the output's
// with a scaled reorder, then concatenates bytes; Add and Mul scale their
// sources into the output's domain inside the binary primitive.
#include "engine/runtime/lower/int8_lowering.h"
#include "engine/runtime/lower/lowering.h"

namespace mixq {

using dnnl::memory;

Status LowerPoolInt8(const Node& node, const PrecisionPlan& plan, CompileContext* ctx) {
  return LowerPool(node, ctx);
}

Status LowerReshapeInt8(const Node& node, const PrecisionPlan& plan, CompileContext* ctx) {
  return LowerReshape(node, ctx);
}

Status LowerConcatInt8(const Node& node, const PrecisionPlan& plan, CompileContext* ctx) {
  MIXQ_ASSIGN_OR_RETURN(memory::dims y_dims, ctx->Dims(node.outputs[0]));
  const int64_t axis = node.attrs.Int("axis", 0);
  if (axis < 0 || axis >= static_cast<int64_t>(y_dims.size())) {
    return InvalidArgument("Concat axis out of range");
  }
  const QuantParams* out = plan.Int8Value(node.outputs[0]);
  if (out == nullptr) return Internal("INT8 Concat without output parameters");
  const memory::data_type type = Int8Type(*out);
  std::vector<memory> srcs;
  std::vector<memory::desc> descs;
  for (const std::string& in : node.inputs) {
    const QuantParams* p = plan.Int8Value(in);
    if (p == nullptr) return Internal("INT8 Concat input '" + in + "' is not INT8");
    MIXQ_ASSIGN_OR_RETURN(memory m, ctx->Value(in));
    if (p->dequant_scale != out->dequant_scale || Int8Type(*p) != type) {
      memory requantised = ctx->NewBuffer(WithType(m.get_desc(), type));
      ctx->AddReorder(m, requantised, p->dequant_scale / out->dequant_scale);
      m = requantised;
    }
    srcs.push_back(m);
    descs.push_back(m.get_desc());
  }
  memory::desc dst_md(y_dims, type, memory::format_tag::any);
  dnnl::concat::primitive_desc pd(dst_md, static_cast<int>(axis), descs, ctx->engine());
  std::unordered_map<int, memory> args;
  for (size_t i = 0; i < srcs.size(); ++i) {
    args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i)] = srcs[i];
  }
  args[DNNL_ARG_DST] = ctx->DefineValue(node.outputs[0], pd.dst_desc());
  ctx->AddStep("concat", dnnl::concat(pd), pd.impl_info_str(), std::move(args));
  return Status::Ok();
}

Status LowerBinaryInt8(const Node& node, const PrecisionPlan& plan, CompileContext* ctx) {
  if (node.inputs.size() != 2) return InvalidArgument("binary op needs two inputs");
  MIXQ_ASSIGN_OR_RETURN(memory::dims y_dims, ctx->Dims(node.outputs[0]));
  // oneDNN broadcasts the second source only: the full-shaped operand first.
  std::string first = node.inputs[0], second = node.inputs[1];
  MIXQ_ASSIGN_OR_RETURN(memory::dims first_dims, ctx->Dims(first));
  if (first_dims != y_dims) std::swap(first, second);
  MIXQ_ASSIGN_OR_RETURN(memory::dims second_dims, ctx->Dims(second));
  const QuantParams* a = plan.Int8Value(first);
  const QuantParams* b = plan.Int8Value(second);
  const QuantParams* out = plan.Int8Value(node.outputs[0]);
  if (!a || !b || !out) return Internal("INT8 binary op with an f32 operand or output");
  MIXQ_ASSIGN_OR_RETURN(Int8Epilogue epilogue, Int8PostOps(node, out->dequant_scale));
  // Into the domain D of the post-ops: a + b is (sa qa + sb qb) / D, a * b
  // is (sa / D) qa * sb qb.
  const bool is_mul = node.op == OpType::kMul;
  dnnl::primitive_attr attr;
  attr.set_scales(DNNL_ARG_SRC_0, 0, {a->dequant_scale / epilogue.domain});
  attr.set_scales(DNNL_ARG_SRC_1, 0, {b->dequant_scale / (is_mul ? 1.f : epilogue.domain)});
  attr.set_post_ops(epilogue.post_ops);
  MIXQ_ASSIGN_OR_RETURN(memory src0, ctx->Value(first));
  // The second operand in the layout of the first; a per-channel one too
  // (see binary.cc).
  const memory::desc like = WithType(src0.get_desc(), Int8Type(*b));
  const memory::desc src1_md = second_dims == y_dims ? like : LayoutLike(like, second_dims);
  MIXQ_ASSIGN_OR_RETURN(memory src1, ctx->ValueAs(second, src1_md));
  const memory::desc dst_md = WithType(src0.get_desc(), Int8Type(*out));
  dnnl::binary::desc desc(is_mul ? dnnl::algorithm::binary_mul : dnnl::algorithm::binary_add,
                          src0.get_desc(), src1.get_desc(), dst_md);
  dnnl::binary::primitive_desc pd(desc, attr, ctx->engine());
  memory dst = ctx->DefineValue(node.outputs[0], dst_md);
  ctx->AddStep("binary", dnnl::binary(pd), pd.impl_info_str(),
               {{DNNL_ARG_SRC_0, src0}, {DNNL_ARG_SRC_1, src1}, {DNNL_ARG_DST, dst}});
  return Status::Ok();
}

Int8LowerFn FindInt8Lowering(OpType op) {
  switch (op) {
    case OpType::kConv:
      return LowerConvInt8;
    case OpType::kGemm:
      return LowerGemmInt8;
    case OpType::kMatMul:
      return LowerMatMulInt8;
    case OpType::kConvTranspose:
      return LowerConvTransposeInt8;
    case OpType::kMaxPool:
    case OpType::kAveragePool:
    case OpType::kGlobalAveragePool:
    case OpType::kGlobalMaxPool:
      return LowerPoolInt8;
    case OpType::kFlatten:
    case OpType::kSqueeze:
    case OpType::kUnsqueeze:
    case OpType::kReshape:
      return LowerReshapeInt8;
    case OpType::kConcat:
      return LowerConcatInt8;
    case OpType::kAdd:
    case OpType::kMul:
      return LowerBinaryInt8;
    case OpType::kSoftmax:
      return LowerSoftmaxInt8;
    default:
      return nullptr;
  }
}

}  // namespace mixq
