// A ConvTranspose node's geometry as oneDNN's deconvolution wants it,
// shared by the FP32 and INT8 lowerings.
//
// ONNX stores the weights [C_in, C_out / group, K...]; oneDNN's
// deconvolution reads [C_out, C_in, K...] or, grouped, [group, C_out /
// group, C_in / group, K...]. `onnx_weights` describes the ONNX bytes in
// oneDNN's dims (a strided, transposed reading), so one reorder converts
// them. oneDNN has no output_padding: the end pads are derived from the
// output shape (pad_r = natural size - pad_l - output size), and may be
// negative.
#ifndef MIXQ_ENGINE_RUNTIME_LOWER_CONV_TRANSPOSE_PARAMS_H_
#define MIXQ_ENGINE_RUNTIME_LOWER_CONV_TRANSPOSE_PARAMS_H_

#include <dnnl.hpp>

#include "common/status.h"
#include "engine/ir/graph.h"
#include "engine/runtime/lower/compile_context.h"

namespace mixq {

struct ConvTransposeParams {
  const Tensor* weights = nullptr;  // nullptr: computed at run time
  const Tensor* bias = nullptr;     // nullptr: absent or computed
  bool has_bias = false;
  int64_t group = 1;
  int64_t oc = 0;            // output channels
  int64_t oc_per_group = 0;  // ONNX weight dim 1
  dnnl::memory::dims x_dims, y_dims;
  dnnl::memory::dims w_dims;        // oneDNN's weight dims (leading group dim when grouped)
  dnnl::memory::desc onnx_weights;  // f32 ONNX weights read in w_dims
  dnnl::memory::dims strides, dilations, pad_l, pad_r;
};

// Both defined in conv_transpose.cc.
StatusOr<ConvTransposeParams> ParseConvTranspose(const Node& node, CompileContext* ctx);

// The deconvolution of `p` reading `src` and `weights`, writing `dst`, with
// p.oc f32 bias values when p.has_bias. Throws dnnl::error.
dnnl::deconvolution_forward::primitive_desc DeconvolutionDesc(
    const ConvTransposeParams& p, const dnnl::memory::desc& src, const dnnl::memory::desc& weights,
    const dnnl::memory::desc& dst, const dnnl::primitive_attr& attr, const dnnl::engine& engine);

}  // namespace mixq

#endif  // MIXQ_ENGINE_RUNTIME_LOWER_CONV_TRANSPOSE_PARAMS_H_
