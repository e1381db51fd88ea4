// A Conv node's geometry as oneDNN wants it (grouped weight dims, strides,
// dilations counted as gaps, split pads), shared by the FP32 and INT8
// convolution lowerings, and the residual a fused sum post-op reads.
#ifndef MIXQ_ENGINE_RUNTIME_LOWER_CONV_PARAMS_H_
#define MIXQ_ENGINE_RUNTIME_LOWER_CONV_PARAMS_H_

#include <dnnl.hpp>
#include <string>

#include "common/status.h"
#include "engine/ir/graph.h"
#include "engine/runtime/lower/compile_context.h"

namespace mixq {

struct ConvParams {
  const Tensor* weights = nullptr;
  const Tensor* bias = nullptr;  // nullptr when absent
  int64_t group = 1;
  int64_t oc = 0;
  dnnl::memory::dims x_dims, y_dims;
  dnnl::memory::dims w_dims;  // with a leading group dim when group > 1
  dnnl::memory::dims strides, dilations, pad_l, pad_r;
};

// These three are defined in conv.cc.
StatusOr<ConvParams> ParseConv(const Node& node, CompileContext* ctx);

// The forward-inference convolution of `p` over these descriptors (the bias
// one unused when p has no bias).
dnnl::convolution_forward::desc ConvDesc(const ConvParams& p, const dnnl::memory::desc& src,
                                         const dnnl::memory::desc& weights,
                                         const dnnl::memory::desc& bias,
                                         const dnnl::memory::desc& dst);

// The value a fused residual sum adds, or "" when there is none.
std::string SumInput(const Node& node);

// The FP32 convolution's output buffer, defined as node.outputs[0] in layout
// `dst_desc`. With a fused residual sum it holds the residual when the step
// runs: the residual's own buffer when nothing reads it later (in place),
// else a copy made by a reorder step added here.
StatusOr<dnnl::memory> ConvDestination(const Node& node, const dnnl::memory::desc& dst_desc,
                                       CompileContext* ctx);

// Lowers an FP32 convolution onto mixq's Winograd kernel when it applies
// (conv_winograd.cc), in the layouts of `direct`, oneDNN's direct
// convolution for the same node; false (nothing added) when it does not.
StatusOr<bool> TryLowerWinogradConv(const Node& node, const ConvParams& p,
                                    const dnnl::convolution_forward::primitive_desc& direct,
                                    CompileContext* ctx);

}  // namespace mixq

#endif  // MIXQ_ENGINE_RUNTIME_LOWER_CONV_PARAMS_H_
