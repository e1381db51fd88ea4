// INT8 ConvTranspose as oneDNN's int8 deconvolution (see int8_lowering.h for
// the scale algebra): u8/s8 source, s8 weights, f32 bias in accumulator
// units, per-output-channel output scales and fused eltwise post-ops.
//
// The weights are quantised per channel of ONNX's axis 1 (C_out / group),
// the axis a per-channel QDQ DequantizeLinear of ConvTranspose weights names;
// output channel g * (C_out / group) + j takes scale j. Without groups that
// is one scale per output channel.
#include "engine/runtime/lower/conv_transpose_params.h"
#include "engine/runtime/lower/int8_lowering.h"

namespace mixq {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

Status LowerConvTransposeInt8(const Node& node, const PrecisionPlan& plan, CompileContext* ctx) {
  MIXQ_ASSIGN_OR_RETURN(ConvTransposeParams p, ParseConvTranspose(node, ctx));
  if (p.weights == nullptr || (p.has_bias && p.bias == nullptr)) {
    return Unimplemented("INT8 ConvTranspose needs constant weights and bias");
  }
  MIXQ_ASSIGN_OR_RETURN(Int8LayerPrecision lp, Int8LayerPrecisionOf(node, plan));
  MIXQ_ASSIGN_OR_RETURN(Int8Weights w, QuantizeLayerWeights(*p.weights, 1, lp.seven_bit));
  std::vector<float> scales(static_cast<size_t>(p.oc));
  for (int64_t oc = 0; oc < p.oc; ++oc) scales[oc] = w.scales[oc % p.oc_per_group];
  MIXQ_ASSIGN_OR_RETURN(dnnl::primitive_attr attr, Int8LayerAttr(node, lp, scales, 1 << 1));

  const auto pd =
      DeconvolutionDesc(p, memory::desc(p.x_dims, Int8Type(lp.src), tag::any),
                        memory::desc(p.w_dims, dt::s8, tag::any),
                        memory::desc(p.y_dims, lp.dst_type, tag::any), attr, ctx->engine());

  std::unordered_map<int, memory> args;
  MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_SRC],
                        Int8Source(node.inputs[0], lp.src, pd.src_desc(), plan, ctx));
  MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_WEIGHTS],
                        ctx->ConstantAs(w.q, WithType(p.onnx_weights, dt::s8), pd.weights_desc()));
  if (p.bias) {
    const memory::desc b_md = PlainDesc({p.oc});
    MIXQ_ASSIGN_OR_RETURN(
        args[DNNL_ARG_BIAS],
        ctx->ConstantAs(AccumulatorBias(*p.bias, lp.src.dequant_scale, scales), b_md, b_md));
  }
  args[DNNL_ARG_DST] = ctx->DefineValue(node.outputs[0], pd.dst_desc());
  ctx->AddStep("deconvolution", dnnl::deconvolution_forward(pd), pd.impl_info_str(),
               std::move(args));
  return Status::Ok();
}

}  // namespace mixq
