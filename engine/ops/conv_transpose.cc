// ConvTranspose (1-D, 2-D and 3-D): X [N, C_in, D...], W [C_in, C_out /
// group, K...], optional B [C_out]. Input position i and kernel tap k add
// X[i] * W[k] to output position i * stride + k * dilation - pad_begin.
//
// The shape rule resolves every way ONNX gives the geometry into explicit
// attributes (conv_transpose.h): kernel_shape, strides, dilations,
// output_padding and pads; auto_pad becomes NOTSET and output_shape is
// cleared once it has decided the pads, so a second inference reads the
// same geometry. With output_shape (or SAME_*), the total padding is
// stride * (in - 1) + output_padding + (kernel - 1) * dilation + 1 - out,
// split with floor division as ONNX specifies: SAME_UPPER puts the odd unit
// at the end, NOTSET and SAME_LOWER at the beginning. A negative total (an
// output larger than the natural one) gives negative pads; pads given
// explicitly may be negative too (a resolved output_shape leaves them so).
#include "engine/ops/conv_transpose.h"

#include <algorithm>
#include <string>
#include <vector>

#include "engine/ops/op_families.h"

namespace mixq {
namespace {

bool Known(int64_t d) { return d >= 0; }

// floor(t / 2) for either sign (C++ division truncates).
int64_t FloorHalf(int64_t t) { return t >= 0 ? t / 2 : -((1 - t) / 2); }

std::vector<int64_t> IntsOr(const Attributes& attrs, const char* name, size_t count,
                            int64_t fallback) {
  std::vector<int64_t> v = attrs.Ints(name);
  return v.empty() ? std::vector<int64_t>(count, fallback) : v;
}

// Checks X, W and B against each other and group; the output channels.
StatusOr<int64_t> CheckChannels(ShapeContext& ctx, int64_t group) {
  const Shape& x = ctx.InShape(0);
  const Shape& w = ctx.InShape(1);
  if (Known(w[0]) && w[0] % group != 0) {
    return ctx.Invalid("weight has " + std::to_string(w[0]) +
                       " input channels, not a multiple of group " + std::to_string(group));
  }
  if (Known(x[1]) && Known(w[0]) && x[1] != w[0]) {
    return ctx.Invalid("input has " + std::to_string(x[1]) + " channels but weight " +
                       ShapeToString(w) + " expects " + std::to_string(w[0]));
  }
  const int64_t out_channels = Known(w[1]) ? w[1] * group : -1;
  if (ctx.HasInput(2)) {
    const Shape& b = ctx.InShape(2);
    if (b.size() != 1 || (Known(b[0]) && Known(out_channels) && b[0] != out_channels)) {
      return ctx.Invalid("bias has shape " + ShapeToString(b) + ", expected [" +
                         std::to_string(out_channels) + "]");
    }
  }
  return out_channels;
}

StatusOr<bool> ConvTransposeShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(2, 3));
  MIXQ_RETURN_IF_ERROR(ctx.ExpectOutputs(1, 1));
  // The kernels compute in float32 or float64, reading weights and bias as
  // the input's type.
  const DType type = ctx.InType(0);
  if (type != DType::kF32 && type != DType::kF64) {
    return ctx.Unsupported(std::string("input of type ") + DTypeName(type) +
                           " (float32 and float64 are supported)");
  }
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    if (ctx.HasInput(i) && ctx.InType(i) != type) {
      return ctx.Invalid(std::string(i == 1 ? "weight" : "bias") + " of type " +
                         DTypeName(ctx.InType(i)) + " for an input of type " + DTypeName(type));
    }
  }
  const Shape& x = ctx.InShape(0);
  const Shape& w = ctx.InShape(1);
  if (x.size() < 3 || x.size() > 5) {
    return ctx.Unsupported("input has rank " + std::to_string(x.size()) +
                           "; only 1-D, 2-D and 3-D transposed convolutions are supported");
  }
  if (w.size() != x.size()) {
    return ctx.Invalid("weight has rank " + std::to_string(w.size()) + ", expected " +
                       std::to_string(x.size()));
  }
  const size_t n = x.size() - 2;
  Attributes& attrs = ctx.attrs();
  const int64_t group = attrs.Int("group", 1);
  if (group <= 0) return ctx.Invalid("group must be positive");
  MIXQ_ASSIGN_OR_RETURN(int64_t out_channels, CheckChannels(ctx, group));

  std::vector<int64_t> kernel(w.begin() + 2, w.end());
  if (attrs.Has("kernel_shape")) {
    const std::vector<int64_t> declared = attrs.Ints("kernel_shape");
    const bool known = std::all_of(kernel.begin(), kernel.end(), Known);
    if (declared.size() != n || (known && declared != kernel)) {
      return ctx.Invalid("kernel_shape " + ShapeToString(declared) + " does not match weight " +
                         ShapeToString(w));
    }
    kernel = declared;
  }
  const std::vector<int64_t> strides = IntsOr(attrs, "strides", n, 1);
  const std::vector<int64_t> dilations = IntsOr(attrs, "dilations", n, 1);
  const std::vector<int64_t> output_padding = IntsOr(attrs, "output_padding", n, 0);
  std::vector<int64_t> pads = IntsOr(attrs, "pads", 2 * n, 0);
  std::vector<int64_t> output_shape = attrs.Ints("output_shape");
  if (output_shape.size() == n + 2)
    output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
  if (strides.size() != n || dilations.size() != n || output_padding.size() != n ||
      pads.size() != 2 * n || (!output_shape.empty() && output_shape.size() != n)) {
    return ctx.Invalid("strides, dilations, output_padding, pads or output_shape do not fit " +
                       std::to_string(n) + " spatial dims");
  }
  for (size_t i = 0; i < n; ++i) {
    if (kernel[i] <= 0 || strides[i] <= 0 || dilations[i] <= 0 || output_padding[i] < 0) {
      return ctx.Invalid("kernel_shape, strides and dilations must be positive, output_padding " +
                         std::string("non-negative"));
    }
  }
  const std::string auto_pad = attrs.String("auto_pad", "NOTSET");
  const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
  if (!same && auto_pad != "NOTSET" && auto_pad != "VALID" && !auto_pad.empty()) {
    return ctx.Invalid("unknown auto_pad '" + auto_pad + "'");
  }
  const bool derive_pads = same || !output_shape.empty();
  Shape out = {x[0], out_channels};
  bool resolved = true;
  for (size_t i = 0; i < n; ++i) {
    const int64_t in = x[i + 2];
    if (!Known(in)) {
      out.push_back(-1);
      resolved = false;
      continue;
    }
    const int64_t full =
        strides[i] * (in - 1) + output_padding[i] + (kernel[i] - 1) * dilations[i] + 1;
    if (auto_pad == "VALID") {
      pads[i] = pads[n + i] = 0;
    } else if (derive_pads) {
      const int64_t target = output_shape.empty() ? in * strides[i] : output_shape[i];
      const int64_t total = full - target;
      const int64_t half = FloorHalf(total);
      pads[i] = auto_pad == "SAME_UPPER" ? half : total - half;
      pads[n + i] = total - pads[i];
    }
    const int64_t dim = full - pads[i] - pads[n + i];
    if (dim <= 0) {
      return ctx.Invalid("spatial dim " + std::to_string(i) + " of the output would be " +
                         std::to_string(dim));
    }
    out.push_back(dim);
  }
  if (!resolved) return ctx.NotYet("the input's spatial dims are unknown");
  attrs.Set("group", group);
  attrs.Set("kernel_shape", kernel);
  attrs.Set("strides", strides);
  attrs.Set("dilations", dilations);
  attrs.Set("output_padding", output_padding);
  attrs.Set("pads", pads);
  attrs.Set("auto_pad", std::string("NOTSET"));
  attrs.Set("output_shape", std::vector<int64_t>{});
  ctx.SetOutput(0, ctx.InType(0), out);
  return true;
}

// Spatial dims padded to three (leading 1s), so one loop nest serves 1-D to
// 3-D.
struct Spatial3 {
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, kernel[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1}, dilation[3] = {1, 1, 1}, pad[3] = {0, 0, 0};
};

Spatial3 SpatialOf(const Node& node, const Shape& x, const Shape& w, const Shape& y) {
  const size_t n = x.size() - 2;
  const ConvTransposeGeometry g = ConvTransposeGeometryOf(node, n);
  Spatial3 s;
  for (size_t i = 0; i < n; ++i) {
    const size_t d = 3 - n + i;
    s.in[d] = x[i + 2];
    s.out[d] = y[i + 2];
    s.kernel[d] = w[i + 2];
    s.stride[d] = g.strides[i];
    s.dilation[d] = g.dilations[i];
    s.pad[d] = g.pads_begin[i];
  }
  return s;
}

// Output plane (n, oc) of a transposed convolution: starts from the bias,
// then scatters each input of the group times its kernel taps.
template <typename T>
void ConvTransposePlane(const Spatial3& s, const T* x, const T* w, int64_t x_channel_stride,
                        int64_t w_channel_stride, int64_t channels, T bias, T* y) {
  std::fill(y, y + s.out[0] * s.out[1] * s.out[2], bias);
  for (int64_t c = 0; c < channels; ++c) {
    const T* xc = x + c * x_channel_stride;
    const T* wc = w + c * w_channel_stride;
    for (int64_t id = 0; id < s.in[0]; ++id)
      for (int64_t kd = 0; kd < s.kernel[0]; ++kd) {
        const int64_t od = id * s.stride[0] + kd * s.dilation[0] - s.pad[0];
        if (od < 0 || od >= s.out[0]) continue;
        for (int64_t ih = 0; ih < s.in[1]; ++ih)
          for (int64_t kh = 0; kh < s.kernel[1]; ++kh) {
            const int64_t oh = ih * s.stride[1] + kh * s.dilation[1] - s.pad[1];
            if (oh < 0 || oh >= s.out[1]) continue;
            const T* xrow = xc + (id * s.in[1] + ih) * s.in[2];
            const T* wrow = wc + (kd * s.kernel[1] + kh) * s.kernel[2];
            T* yrow = y + (od * s.out[1] + oh) * s.out[2];
            for (int64_t iw = 0; iw < s.in[2]; ++iw)
              for (int64_t kw = 0; kw < s.kernel[2]; ++kw) {
                const int64_t ow = iw * s.stride[2] + kw * s.dilation[2] - s.pad[2];
                if (ow >= 0 && ow < s.out[2]) yrow[ow] += xrow[iw] * wrow[kw];
              }
          }
      }
  }
}

Status ConvTransposeHost(const Node& node, const std::vector<ConstView>& inputs,
                         const std::vector<MutView>& outputs, const Parallelism& par) {
  const ConstView& x = inputs[0];
  const ConstView& w = inputs[1];
  const MutView& y = outputs[0];
  if (x.dtype != DType::kF32 && x.dtype != DType::kF64) {
    return Unimplemented(std::string("ConvTranspose on ") + DTypeName(x.dtype));
  }
  const Spatial3 s = SpatialOf(node, x.shape, w.shape, y.shape);
  const int64_t group = node.attrs.Int("group", 1);
  const int64_t batch = x.shape[0], in_channels = x.shape[1], out_channels = y.shape[1];
  const int64_t in_per_group = in_channels / group, out_per_group = out_channels / group;
  const int64_t in_size = s.in[0] * s.in[1] * s.in[2];
  const int64_t out_size = s.out[0] * s.out[1] * s.out[2];
  const int64_t taps = s.kernel[0] * s.kernel[1] * s.kernel[2];
  const bool has_bias = inputs.size() > 2 && inputs[2].data != nullptr;
  auto run = [&](auto zero) {
    using T = decltype(zero);
    const T* xd = x.as<T>();
    const T* wd = w.as<T>();
    const T* bd = has_bias ? inputs[2].as<T>() : nullptr;
    T* yd = y.as<T>();
    ParallelFor(par, batch * out_channels, 1, [&](int64_t begin, int64_t end) {
      for (int64_t plane = begin; plane < end; ++plane) {
        const int64_t b = plane / out_channels, oc = plane % out_channels;
        const int64_t g = oc / out_per_group, j = oc % out_per_group;
        const int64_t first = g * in_per_group;
        ConvTransposePlane<T>(
            s, xd + (b * in_channels + first) * in_size, wd + (first * out_per_group + j) * taps,
            in_size, out_per_group * taps, in_per_group, bd ? bd[oc] : T(0), yd + plane * out_size);
      }
    });
  };
  if (x.dtype == DType::kF32) {
    run(float{});
  } else {
    run(double{});
  }
  return Status::Ok();
}

}  // namespace

ConvTransposeGeometry ConvTransposeGeometryOf(const Node& node, size_t spatial) {
  ConvTransposeGeometry g;
  g.group = node.attrs.Int("group", 1);
  g.strides = IntsOr(node.attrs, "strides", spatial, 1);
  g.dilations = IntsOr(node.attrs, "dilations", spatial, 1);
  const std::vector<int64_t> pads = IntsOr(node.attrs, "pads", 2 * spatial, 0);
  g.pads_begin.assign(pads.begin(), pads.begin() + static_cast<int64_t>(spatial));
  return g;
}

const OpDef* ConvTransposeOpDef(OpType op) {
  static constexpr OpDef kConvTranspose{ConvTransposeShape, ConvTransposeHost};
  return op == OpType::kConvTranspose ? &kConvTranspose : nullptr;
}

}  // namespace mixq
