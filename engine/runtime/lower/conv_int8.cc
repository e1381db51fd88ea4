// INT8 convolution (see int8_lowering.h for the scale algebra). Weights are
// quantised per output channel once here (OIHW, grouped or not, channel axis
// 0). A fused residual reaches the destination buffer before the convolution
// runs: in place when its buffer may be overwritten and has the
// destination's layout, else by a reorder - a plain copy for an INT8
// residual of an INT8 destination, quantising or dequantising otherwise.
#include <algorithm>

#include "engine/runtime/lower/conv_params.h"
#include "engine/runtime/lower/int8_lowering.h"

namespace mixq {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

Status LowerConvInt8(const Node& node, const PrecisionPlan& plan, CompileContext* ctx) {
  MIXQ_ASSIGN_OR_RETURN(ConvParams p, ParseConv(node, ctx));
  auto src_it = plan.source_params.find(node.name);
  if (src_it == plan.source_params.end()) return Internal("INT8 conv without source parameters");
  const QuantParams& src = src_it->second;
  MIXQ_ASSIGN_OR_RETURN(
      Int8Weights w, QuantizeLayerWeights(*p.weights, 0, plan.seven_bit_layers.count(node.name)));
  const QuantParams* dst = plan.Int8Value(node.outputs[0]);
  const dt dst_type = dst ? Int8Type(*dst) : dt::f32;
  const float dst_scale = dst ? dst->dequant_scale : 1.f;

  // Where the residual comes from and how the destination buffer holds it.
  const std::string residual = SumInput(node);
  Int8Residual held;
  float copy_scale = 1.f;
  if (!residual.empty()) {
    const QuantParams* stored = plan.Int8Value(residual);
    if (dst) {
      auto r_it = plan.residual_params.find(node.name);
      if (r_it == plan.residual_params.end()) {
        return Internal("INT8 conv without residual parameters");
      }
      const QuantParams& r = r_it->second;
      held.scale = r.dequant_scale;
      held.type = Int8Type(r);
      copy_scale = stored ? 1.f : 1.f / r.dequant_scale;
    } else {
      held.scale = 1.f;
      copy_scale = stored ? stored->dequant_scale : 1.f;
    }
  }
  MIXQ_ASSIGN_OR_RETURN(Int8Epilogue epilogue, Int8PostOps(node, dst_scale, held));
  std::vector<float> oscales(w.scales.size());
  for (size_t c = 0; c < oscales.size(); ++c) {
    oscales[c] = src.dequant_scale * w.scales[c] / epilogue.domain;
  }
  dnnl::primitive_attr attr;
  attr.set_output_scales(1 << 1, oscales);
  attr.set_post_ops(epilogue.post_ops);

  memory::desc src_md(p.x_dims, Int8Type(src), tag::any);
  memory::desc w_md(p.w_dims, dt::s8, tag::any);
  memory::desc b_md({p.oc}, dt::f32, tag::x);
  memory::desc dst_md(p.y_dims, dst_type, tag::any);
  dnnl::convolution_forward::primitive_desc pd(ConvDesc(p, src_md, w_md, b_md, dst_md), attr,
                                               ctx->engine());

  std::unordered_map<int, memory> args;
  MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_SRC],
                        Int8Source(node.inputs[0], src, pd.src_desc(), plan, ctx));
  MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_WEIGHTS],
                        ctx->ConstantAs(w.q, PlainDesc(p.w_dims, dt::s8), pd.weights_desc()));
  if (p.bias) {
    MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_BIAS],
                          ctx->ConstantAs(AccumulatorBias(*p.bias, src.dequant_scale, w.scales),
                                          PlainDesc({p.oc}), b_md));
  }
  memory out;
  if (!residual.empty()) {
    MIXQ_ASSIGN_OR_RETURN(memory res, ctx->Value(residual));
    const memory::desc held_md =
        held.type == dt::undef ? pd.dst_desc() : WithType(pd.dst_desc(), held.type);
    const bool reads_residual =
        std::find(node.inputs.begin(), node.inputs.end(), residual) != node.inputs.end();
    if (!reads_residual && copy_scale == 1.f && res.get_desc() == held_md &&
        ctx->CanOverwrite(residual)) {
      if (held_md == pd.dst_desc()) {
        out = res;
        ctx->DefineSame(node.outputs[0], out);
      } else {
        out = ctx->DefineAlias(node.outputs[0], pd.dst_desc(), res);
      }
    } else {
      out = ctx->DefineValue(node.outputs[0], pd.dst_desc());
      ctx->AddReorder(res, ctx->View(out, held_md), copy_scale);
    }
  } else {
    out = ctx->DefineValue(node.outputs[0], pd.dst_desc());
  }
  args[DNNL_ARG_DST] = out;
  ctx->AddStep("convolution", dnnl::convolution_forward(pd), pd.impl_info_str(), std::move(args));
  return Status::Ok();
}

}  // namespace mixq
