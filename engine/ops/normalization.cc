// Normalisations with statistics computed from the data (BatchNormalization,
// with stored statistics, is core and folded where it can be):
// LayerNormalization (opset 17: X, Scale, [B]; the optional Mean and
// InvStdDev outputs), InstanceNormalization (X, scale, B) and LRN (local
// response normalisation across channels, opsets 1 and 13), on float32 and
// float64 data.
#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/ir/broadcast.h"
#include "engine/ops/op_families.h"

namespace mixq {
namespace {

// The data (input 0) must be float32 or float64: Unsupported in a shape
// rule, Unimplemented in a host kernel, naming the op.
Status CheckDataType(const ShapeContext& ctx) {
  const DType dtype = ctx.InType(0);
  if (dtype == DType::kF32 || dtype == DType::kF64) return Status::Ok();
  return ctx.Unsupported(std::string(OpTypeName(ctx.node().op)) + " of " + DTypeName(dtype) +
                         " data is not supported");
}
Status CheckDataType(const Node& node, DType dtype) {
  if (dtype == DType::kF32 || dtype == DType::kF64) return Status::Ok();
  return Unimplemented(std::string(OpTypeName(node.op)) + " of " + DTypeName(dtype) + " data");
}

// The mean and 1/sqrt(variance + epsilon) of n values, in two passes (the
// variance from the deviations, not from the mean of squares). Lanes of
// partial sums let the compiler vectorise.
template <typename T>
void RowMoments(const T* x, int64_t n, float epsilon, T* mean, T* inv_std) {
  constexpr int64_t kLanes = 8;
  T lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) lanes[l] += x[i + l];
  }
  T sum = 0;
  for (; i < n; ++i) sum += x[i];
  for (T lane : lanes) sum += lane;
  const T m = n > 0 ? sum / static_cast<T>(n) : T(0);
  T squares[kLanes] = {};
  for (i = 0; i + kLanes <= n; i += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) {
      const T d = x[i + l] - m;
      squares[l] += d * d;
    }
  }
  T var = 0;
  for (; i < n; ++i) var += (x[i] - m) * (x[i] - m);
  for (T lane : squares) var += lane;
  var = n > 0 ? var / static_cast<T>(n) : T(0);
  *mean = m;
  *inv_std = T(1) / std::sqrt(var + static_cast<T>(epsilon));
}

// Calls write(r, row, out, mean, inv_std) for each of `rows` rows of n
// elements of src (and dst), spread over threads.
template <typename T, typename F>
void NormalizeRows(const Parallelism& par, const T* src, T* dst, int64_t rows, int64_t n,
                   float epsilon, F&& write) {
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(n, 1));
  ParallelFor(par, rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      T mean, inv;
      RowMoments(src + r * n, n, epsilon, &mean, &inv);
      write(r, src + r * n, dst + r * n, mean, inv);
    }
  });
}

// Whether `param` broadcasts (numpy, one way) to `target`.
bool BroadcastsTo(const Shape& param, const Shape& target) {
  if (param.size() > target.size()) return false;
  const size_t lead = target.size() - param.size();
  for (size_t i = 0; i < param.size(); ++i) {
    const int64_t p = param[i], t = target[lead + i];
    if (p != 1 && p != t && p >= 0 && t >= 0) return false;
  }
  return true;
}

StatusOr<bool> LayerNormShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(2, 3));
  MIXQ_RETURN_IF_ERROR(ctx.ExpectOutputs(1, 3));
  const Shape& x = ctx.InShape(0);
  const int64_t rank = static_cast<int64_t>(x.size());
  MIXQ_ASSIGN_OR_RETURN(int64_t axis, ctx.NormalizeAxis(ctx.attrs().Int("axis", -1), rank, "axis"));
  ctx.attrs().Set("axis", axis);
  MIXQ_RETURN_IF_ERROR(CheckDataType(ctx));
  const Shape normalized(x.begin() + axis, x.end());
  for (size_t i = 1; i < 3; ++i) {
    if (!ctx.HasInput(i)) continue;
    if (ctx.InType(i) != ctx.InType(0)) return ctx.Invalid("Scale and B must have X's type");
    if (!BroadcastsTo(ctx.InShape(i), normalized)) {
      return ctx.Invalid(std::string(i == 1 ? "Scale " : "B ") + ShapeToString(ctx.InShape(i)) +
                         " does not broadcast to the normalised shape " +
                         ShapeToString(normalized));
    }
  }
  ctx.SetOutput(0, ctx.InType(0), x);
  Shape stats(x.begin(), x.begin() + axis);
  stats.resize(x.size(), 1);
  // stash_type 1 (the only one ONNX defines): the statistics are float32.
  ctx.SetOutput(1, DType::kF32, stats);
  ctx.SetOutput(2, DType::kF32, stats);
  return true;
}

// `param` (Scale or B) as a vector of the normalised shape's n elements: its
// own data when it has them all, else broadcast into `expanded`.
template <typename T>
const T* ExpandedParam(const ConstView& param, const Shape& normalized, int64_t n,
                       std::vector<T>* expanded) {
  if (param.size == n) return param.as<T>();
  expanded->resize(n);
  const std::vector<int64_t> strides = BroadcastStrides(param.shape, normalized.size());
  std::vector<int64_t> index(normalized.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t offset = 0;
    for (size_t d = 0; d < index.size(); ++d) offset += index[d] * strides[d];
    (*expanded)[i] = param.as<T>()[offset];
    for (size_t d = index.size(); d-- > 0;) {
      if (++index[d] < normalized[d]) break;
      index[d] = 0;
    }
  }
  return expanded->data();
}

Status LayerNormHost(const Node& node, const std::vector<ConstView>& inputs,
                     const std::vector<MutView>& outputs, const Parallelism& par) {
  const ConstView& x = inputs[0];
  MIXQ_RETURN_IF_ERROR(CheckDataType(node, x.dtype));
  const int64_t axis = node.attrs.Int("axis", -1);
  const Shape normalized(x.shape.begin() + axis, x.shape.end());
  const int64_t n = NumElements(normalized);
  const int64_t rows = n > 0 ? x.size / n : 0;
  const float epsilon = node.attrs.Float("epsilon", 1e-5f);
  float* mean_out = outputs.size() > 1 ? outputs[1].as<float>() : nullptr;
  float* inv_out = outputs.size() > 2 ? outputs[2].as<float>() : nullptr;
  VisitDType(x.dtype, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (std::is_floating_point_v<T>) {
      std::vector<T> scale_buffer, bias_buffer;
      const T* scale = ExpandedParam<T>(inputs[1], normalized, n, &scale_buffer);
      const T* bias = inputs.size() > 2 && inputs[2].data != nullptr
                          ? ExpandedParam<T>(inputs[2], normalized, n, &bias_buffer)
                          : nullptr;
      NormalizeRows(par, x.as<T>(), outputs[0].as<T>(), rows, n, epsilon,
                    [&](int64_t r, const T* row, T* out, T mean, T inv) {
                      if (bias != nullptr) {
                        for (int64_t i = 0; i < n; ++i)
                          out[i] = (row[i] - mean) * inv * scale[i] + bias[i];
                      } else {
                        for (int64_t i = 0; i < n; ++i) out[i] = (row[i] - mean) * inv * scale[i];
                      }
                      if (mean_out != nullptr) mean_out[r] = static_cast<float>(mean);
                      if (inv_out != nullptr) inv_out[r] = static_cast<float>(inv);
                    });
    }
  });
  return Status::Ok();
}

StatusOr<bool> InstanceNormShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  MIXQ_RETURN_IF_ERROR(ctx.ExpectOutputs(1, 1));
  const Shape& x = ctx.InShape(0);
  if (x.size() < 2) return ctx.Invalid("input must have rank 2 or more (N, C, ...)");
  MIXQ_RETURN_IF_ERROR(CheckDataType(ctx));
  for (size_t i = 1; i < 3; ++i) {
    const Shape& p = ctx.InShape(i);
    if (ctx.InType(i) != ctx.InType(0)) return ctx.Invalid("scale and B must have input's type");
    if (p.size() != 1 || (p[0] >= 0 && x[1] >= 0 && p[0] != x[1])) {
      return ctx.Invalid(std::string(i == 1 ? "scale " : "B ") + ShapeToString(p) +
                         " must be [C] for input " + ShapeToString(x));
    }
  }
  ctx.SetOutput(0, ctx.InType(0), x);
  return true;
}

Status InstanceNormHost(const Node& node, const std::vector<ConstView>& inputs,
                        const std::vector<MutView>& outputs, const Parallelism& par) {
  const ConstView& x = inputs[0];
  MIXQ_RETURN_IF_ERROR(CheckDataType(node, x.dtype));
  const int64_t channels = x.shape[1];
  int64_t n = 1;
  for (size_t d = 2; d < x.shape.size(); ++d) n *= x.shape[d];
  const int64_t rows = x.shape[0] * channels;
  const float epsilon = node.attrs.Float("epsilon", 1e-5f);
  VisitDType(x.dtype, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (std::is_floating_point_v<T>) {
      const T* scale = inputs[1].as<T>();
      const T* bias = inputs[2].as<T>();
      NormalizeRows(par, x.as<T>(), outputs[0].as<T>(), rows, n, epsilon,
                    [&](int64_t r, const T* row, T* out, T mean, T inv) {
                      // y = x * a + b with the affine folded in.
                      const T a = inv * scale[r % channels];
                      const T b = bias[r % channels] - mean * a;
                      for (int64_t i = 0; i < n; ++i) out[i] = row[i] * a + b;
                    });
    }
  });
  return Status::Ok();
}

StatusOr<bool> LrnShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  MIXQ_RETURN_IF_ERROR(ctx.ExpectOutputs(1, 1));
  const Shape& x = ctx.InShape(0);
  // ONNX: N x C x D1 x ... x Dn.
  if (x.size() < 3) return ctx.Invalid("input must have rank 3 or more (N, C, D1, ...)");
  MIXQ_RETURN_IF_ERROR(CheckDataType(ctx));
  if (!ctx.attrs().Has("size")) return ctx.Invalid("the size attribute is required");
  if (ctx.attrs().Int("size", 0) < 1) return ctx.Invalid("size must be positive");
  ctx.SetOutput(0, ctx.InType(0), x);
  return true;
}

// y[n, c, d...] = x[n, c, d...] / (bias + alpha / size * s)^beta, where s is
// the sum of x[n, c', d...]^2 over the channels c' from
// c - floor((size - 1) / 2) to c + ceil((size - 1) / 2) that exist. Each
// (n, c) plane sums its window into the output first, then divides.
Status LrnHost(const Node& node, const std::vector<ConstView>& inputs,
               const std::vector<MutView>& outputs, const Parallelism& par) {
  const ConstView& x = inputs[0];
  MIXQ_RETURN_IF_ERROR(CheckDataType(node, x.dtype));
  const int64_t size = node.attrs.Int("size", 1);
  const int64_t before = (size - 1) / 2, after = size - 1 - before;
  const int64_t channels = x.shape[1];
  const int64_t rows = x.shape[0] * channels;
  const int64_t plane = rows > 0 ? x.size / rows : 0;
  VisitDType(x.dtype, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (std::is_floating_point_v<T>) {
      const T scale = static_cast<T>(node.attrs.Float("alpha", 1e-4f)) / static_cast<T>(size);
      const T beta = static_cast<T>(node.attrs.Float("beta", 0.75f));
      const T bias = static_cast<T>(node.attrs.Float("bias", 1.f));
      const T* src = x.as<T>();
      T* dst = outputs[0].as<T>();
      const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(plane, 1));
      ParallelFor(par, rows, grain, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const int64_t c = r % channels, first = r - c;
          T* out = dst + r * plane;
          std::fill(out, out + plane, T(0));
          for (int64_t k = std::max<int64_t>(0, c - before);
               k <= std::min<int64_t>(channels - 1, c + after); ++k) {
            const T* in = src + (first + k) * plane;
            for (int64_t i = 0; i < plane; ++i) out[i] += in[i] * in[i];
          }
          const T* row = src + r * plane;
          for (int64_t i = 0; i < plane; ++i) {
            out[i] = row[i] / std::pow(bias + scale * out[i], beta);
          }
        }
      });
    }
  });
  return Status::Ok();
}

}  // namespace

const OpDef* NormalizationOpDef(OpType op) {
  static constexpr OpDef kLayerNorm{LayerNormShape, LayerNormHost};
  static constexpr OpDef kInstanceNorm{InstanceNormShape, InstanceNormHost};
  static constexpr OpDef kLrn{LrnShape, LrnHost};
  switch (op) {
    case OpType::kLayerNormalization:
      return &kLayerNorm;
    case OpType::kInstanceNormalization:
      return &kInstanceNorm;
    case OpType::kLRN:
      return &kLrn;
    default:
      return nullptr;
  }
}

}  // namespace mixq
