#include <cmath>

#include "engine/quant/weight_scales.h"
#include "engine/runtime/lower/int8_lowering.h"
#include "engine/runtime/lower/post_ops.h"

namespace mixq {

using dnnl::algorithm;
using dnnl::memory;

memory::data_type Int8Type(const QuantParams& params) {
  return params.is_unsigned ? memory::data_type::u8 : memory::data_type::s8;
}

memory::desc WithType(const memory::desc& desc, memory::data_type type) {
  memory::desc out = desc;
  out.data.data_type = static_cast<dnnl_data_type_t>(type);
  return out;
}

StatusOr<Int8Epilogue> Int8PostOps(const Node& node, float dst_scale, const Int8Residual& residual,
                                   dnnl::post_ops leading) {
  bool equivariant = true;
  for (const PostOp& op : node.post_ops) {
    if (op.kind == PostOp::Kind::kEltwise && op.eltwise != OpType::kRelu &&
        op.eltwise != OpType::kLeakyRelu && op.eltwise != OpType::kClip) {
      equivariant = false;
    }
  }
  Int8Epilogue out;
  out.domain = equivariant ? dst_scale : 1.f;
  out.post_ops = leading;
  std::vector<EltwiseStep> run;
  for (const PostOp& op : node.post_ops) {
    if (op.kind == PostOp::Kind::kSum) {
      MIXQ_RETURN_IF_ERROR(AppendEltwiseRun(run, &out.post_ops));
      run.clear();
      out.post_ops.append_sum(residual.scale / out.domain, residual.type);
      continue;
    }
    float alpha = op.alpha, beta = op.beta;
    if (op.eltwise == OpType::kClip) {
      // Clip's bounds are real values; the post-op sees values / domain.
      alpha /= out.domain;
      beta /= out.domain;
    }
    MIXQ_ASSIGN_OR_RETURN(std::vector<EltwiseStep> chain, EltwiseChain(op.eltwise, alpha, beta));
    run.insert(run.end(), chain.begin(), chain.end());
  }
  if (out.domain != dst_scale) run.push_back({algorithm::eltwise_linear, 1.f / dst_scale, 0.f});
  MIXQ_RETURN_IF_ERROR(AppendEltwiseRun(run, &out.post_ops));
  return out;
}

StatusOr<Int8LayerPrecision> Int8LayerPrecisionOf(const Node& node, const PrecisionPlan& plan) {
  auto it = plan.source_params.find(node.name);
  if (it == plan.source_params.end()) return Internal("INT8 layer without source parameters");
  Int8LayerPrecision lp;
  lp.src = it->second;
  lp.dst = plan.Int8Value(node.outputs[0]);
  if (lp.dst) {
    lp.dst_type = Int8Type(*lp.dst);
    lp.dst_scale = lp.dst->dequant_scale;
  }
  lp.seven_bit = plan.seven_bit_layers.count(node.name) != 0;
  return lp;
}

StatusOr<dnnl::primitive_attr> Int8LayerAttr(const Node& node, const Int8LayerPrecision& lp,
                                             const std::vector<float>& w_scales, int mask) {
  MIXQ_ASSIGN_OR_RETURN(Int8Epilogue epilogue, Int8PostOps(node, lp.dst_scale));
  std::vector<float> oscales(w_scales.size());
  for (size_t c = 0; c < oscales.size(); ++c) {
    oscales[c] = lp.src.dequant_scale * w_scales[c] / epilogue.domain;
  }
  dnnl::primitive_attr attr;
  attr.set_output_scales(mask, oscales);
  attr.set_post_ops(epilogue.post_ops);
  return attr;
}

StatusOr<memory> Int8Source(const std::string& value, const QuantParams& params,
                            const memory::desc& desc, const PrecisionPlan& plan,
                            CompileContext* ctx) {
  if (plan.Int8Value(value) != nullptr) return ctx->ValueAs(value, desc);
  return ctx->ValueAs(value, desc, 1.f / params.dequant_scale);
}

StatusOr<Int8Weights> QuantizeLayerWeights(const Tensor& w, int channel_axis, bool seven_bit) {
  WeightQuantOptions options;
  options.channel_axis = channel_axis;
  options.seven_bit = seven_bit;
  MIXQ_ASSIGN_OR_RETURN(WeightQuantParams params, PerChannelWeightScales(w, options));
  MIXQ_ASSIGN_OR_RETURN(Tensor q, QuantizeWeights(w, params, channel_axis));
  return Int8Weights{std::move(q), std::move(params.dequant_scales)};
}

Tensor AccumulatorBias(const Tensor& bias, float src_scale, const std::vector<float>& w_scales) {
  Tensor out(DType::kF32, bias.shape());
  const float* b = bias.data<float>();
  float* o = out.data<float>();
  // Rounded to whole accumulator units, as an int32 QDQ bias is: a QDQ
  // export and its re-import then add exactly the same bias.
  for (int64_t i = 0; i < out.size(); ++i) {
    const float scale = src_scale * w_scales[i];
    o[i] = static_cast<float>(std::nearbyint(static_cast<double>(b[i]) / scale));
  }
  return out;
}

}  // namespace mixq
