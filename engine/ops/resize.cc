// Resize (opsets 10 to 18) and Upsample (7 to 9): nearest, linear and cubic
// interpolation along every dim, each output dim mapped on its own.
//
// The importer gives both ops one form (engine/onnx/onnx_node.cc): inputs
// X, roi, scales, sizes, with Resize-10's and Upsample-9's scales moved to
// input 2, Upsample-7's `scales` attribute kept, and opsets before 11 set
// to the asymmetric transformation with their own nearest rounding
// ("simple": floor when enlarging, ceil when shrinking, as ONNX Runtime).
// The shape rule moves constant scales or sizes into attributes (see
// engine/ops/geometry.h); scales or sizes that a shape sub-graph computes
// wait until specialisation folds them. roi only matters to
// tf_crop_and_resize, which is refused.
//
// Per output index x along a dim of input length L, scale s and output
// length O, the source coordinate is (ONNX's reference implementation):
//   half_pixel            (x + 0.5) / s - 0.5
//   pytorch_half_pixel    O > 1 ? (x + 0.5) / s - 0.5 : 0
//   align_corners         x * (L - 1) / (R - 1), 0 where R == 1
//   asymmetric            x / s
//   tf_half_pixel_for_nn  (x + 0.5) / s
// with R = s * L for given scales and R = O for given sizes. Nearest rounds
// it by `nearest_mode`; linear and cubic (coefficient A = cubic_coeff_a)
// weigh the 2 or 4 neighbours, read at the nearest edge beyond the input,
// or left out with the weights renormalised under exclude_outside.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/ops/geometry.h"
#include "engine/ops/movement.h"
#include "engine/ops/op_families.h"

namespace mixq {

Status ComputeResizeScales(const Node& node, const Shape& input, ResizeScales* scales) {
  const size_t rank = input.size();
  if (rank > kMaxGeometryRank) return Unimplemented("Resize of rank " + std::to_string(rank));
  scales->rank = rank;
  for (size_t d = 0; d < rank; ++d) {
    scales->scale[d] = 1.0;
    scales->out[d] = input[d];
  }
  std::array<int64_t, kMaxGeometryRank> axes{};
  size_t count = rank;
  for (size_t d = 0; d < rank; ++d) axes[d] = static_cast<int64_t>(d);
  if (const std::vector<int64_t>* listed = IntsAttr(node, "axes")) {
    if (listed->size() > rank) return InvalidArgument("more axes than input dims");
    count = listed->size();
    std::array<bool, kMaxGeometryRank> seen{};
    for (size_t i = 0; i < count; ++i) {
      int64_t a = (*listed)[i];
      if (a < -static_cast<int64_t>(rank) || a >= static_cast<int64_t>(rank)) {
        return InvalidArgument("axis " + std::to_string(a) + " is out of range");
      }
      if (a < 0) a += static_cast<int64_t>(rank);
      if (seen[a]) return InvalidArgument("axis " + std::to_string(a) + " is repeated");
      seen[a] = true;
      axes[i] = a;
    }
  }
  const std::vector<float>* given_scales = FloatsAttr(node, "scales");
  const std::vector<int64_t>* sizes = IntsAttr(node, "sizes");
  if ((given_scales == nullptr) == (sizes == nullptr)) {
    return InvalidArgument("exactly one of scales and sizes must be given");
  }
  if ((given_scales ? given_scales->size() : sizes->size()) != count) {
    return InvalidArgument(std::string(given_scales ? "scales" : "sizes") + " do not give one " +
                           "value for each of the " + std::to_string(count) + " axes");
  }
  if (given_scales != nullptr) {
    for (size_t i = 0; i < count; ++i) {
      const double s = (*given_scales)[i];
      if (!(s > 0) || !std::isfinite(s)) return InvalidArgument("scales must be positive");
      const int64_t d = axes[i];
      scales->scale[d] = s;
      scales->out[d] = input[d] < 0 ? -1 : static_cast<int64_t>(std::floor(s * input[d]));
    }
    return Status::Ok();
  }
  const std::string policy = node.attrs.String("keep_aspect_ratio_policy", "stretch");
  if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller") {
    return InvalidArgument("unknown keep_aspect_ratio_policy '" + policy + "'");
  }
  bool all_known = true;
  double common = policy == "not_larger" ? std::numeric_limits<double>::infinity() : 0.0;
  for (size_t i = 0; i < count; ++i) {
    const int64_t d = axes[i];
    const int64_t size = (*sizes)[i];
    if (size < 0) return InvalidArgument("sizes must not be negative");
    if (input[d] < 0) {
      all_known = false;
      scales->out[d] = -1;
      continue;
    }
    if (input[d] == 0 && size > 0) return InvalidArgument("cannot resize an empty dim");
    const double s = input[d] == 0 ? 1.0 : static_cast<double>(size) / input[d];
    scales->scale[d] = s;
    scales->out[d] = size;
    common = policy == "not_larger" ? std::min(common, s) : std::max(common, s);
  }
  if (policy != "stretch") {
    for (size_t i = 0; i < count; ++i) {
      const int64_t d = axes[i];
      scales->scale[d] = all_known ? common : 1.0;
      scales->out[d] =
          all_known ? static_cast<int64_t>(std::floor(common * input[d] + 0.5)) : int64_t{-1};
    }
  }
  return Status::Ok();
}

namespace {

enum class Coordinates { kHalfPixel, kPytorchHalfPixel, kAlignCorners, kAsymmetric, kTfHalfPixel };
enum class Rounding { kPreferFloor, kPreferCeil, kFloor, kCeil, kSimple };
enum class Interpolation { kNearest, kLinear, kCubic };

struct ResizeMode {
  Interpolation interpolation = Interpolation::kNearest;
  Coordinates coordinates = Coordinates::kHalfPixel;
  Rounding rounding = Rounding::kPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  bool from_sizes = false;
};

// The mode from the attributes; the error names what is wrong.
Status ParseMode(const Node& node, ResizeMode* mode) {
  const std::string interpolation = node.attrs.String("mode", "nearest");
  if (!ParseChoice(interpolation,
                   {{"nearest", Interpolation::kNearest},
                    {"linear", Interpolation::kLinear},
                    {"cubic", Interpolation::kCubic}},
                   &mode->interpolation)) {
    return InvalidArgument("unknown mode '" + interpolation + "'");
  }
  const std::string coordinates = node.attrs.String("coordinate_transformation_mode", "half_pixel");
  if (coordinates == "tf_crop_and_resize") {
    return Unimplemented(
        "coordinate_transformation_mode tf_crop_and_resize (crops to roi) is not supported");
  }
  if (!ParseChoice(coordinates,
                   {{"half_pixel", Coordinates::kHalfPixel},
                    {"pytorch_half_pixel", Coordinates::kPytorchHalfPixel},
                    {"align_corners", Coordinates::kAlignCorners},
                    {"asymmetric", Coordinates::kAsymmetric},
                    {"tf_half_pixel_for_nn", Coordinates::kTfHalfPixel}},
                   &mode->coordinates)) {
    return InvalidArgument("unknown coordinate_transformation_mode '" + coordinates + "'");
  }
  const std::string rounding = node.attrs.String("nearest_mode", "round_prefer_floor");
  if (!ParseChoice(rounding,
                   {{"round_prefer_floor", Rounding::kPreferFloor},
                    {"round_prefer_ceil", Rounding::kPreferCeil},
                    {"floor", Rounding::kFloor},
                    {"ceil", Rounding::kCeil},
                    {"simple", Rounding::kSimple}},
                   &mode->rounding)) {
    return InvalidArgument("unknown nearest_mode '" + rounding + "'");
  }
  if (node.attrs.Int("antialias", 0) != 0) return Unimplemented("antialias is not supported");
  mode->cubic_a = node.attrs.Float("cubic_coeff_a", -0.75f);
  mode->exclude_outside = node.attrs.Int("exclude_outside", 0) != 0;
  mode->from_sizes = node.attrs.Has("sizes");
  return Status::Ok();
}

double SourceCoordinate(const ResizeMode& mode, int64_t x, double scale, int64_t in, int64_t out) {
  switch (mode.coordinates) {
    case Coordinates::kHalfPixel:
      return (x + 0.5) / scale - 0.5;
    case Coordinates::kPytorchHalfPixel:
      return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case Coordinates::kAlignCorners: {
      const double resized = mode.from_sizes ? static_cast<double>(out) : scale * in;
      return resized == 1.0 ? 0.0 : x * (in - 1) / (resized - 1);
    }
    case Coordinates::kAsymmetric:
      return x / scale;
    case Coordinates::kTfHalfPixel:
      return (x + 0.5) / scale;
  }
  return 0.0;
}

int64_t NearestIndex(Rounding rounding, double c, double scale) {
  const double f = std::floor(c);
  switch (rounding) {
    case Rounding::kPreferFloor:
      return static_cast<int64_t>(c - f <= 0.5 ? f : f + 1);
    case Rounding::kPreferCeil:
      return static_cast<int64_t>(c - f < 0.5 ? f : f + 1);
    case Rounding::kFloor:
      return static_cast<int64_t>(f);
    case Rounding::kCeil:
      return static_cast<int64_t>(std::ceil(c));
    case Rounding::kSimple:
      return static_cast<int64_t>(scale < 1 ? std::ceil(c) : f);
  }
  return 0;
}

// The input index nearest mode reads for source coordinate c.
int64_t NearestSource(const ResizeMode& mode, double c, double scale, int64_t in) {
  return std::clamp<int64_t>(NearestIndex(mode.rounding, c, scale), 0, in - 1);
}

// One neighbour an output index reads along a dim.
struct Tap {
  int64_t index = 0;
  float weight = 0.f;
};

int TapsPerIndex(Interpolation interpolation) {
  return interpolation == Interpolation::kNearest  ? 1
         : interpolation == Interpolation::kLinear ? 2
                                                   : 4;
}

// Fills `taps` (out * TapsPerIndex) for one dim.
void DimTaps(const ResizeMode& mode, double scale, int64_t in, int64_t out, Tap* taps) {
  const int n = TapsPerIndex(mode.interpolation);
  for (int64_t x = 0; x < out; ++x) {
    Tap* t = taps + x * n;
    const double c = SourceCoordinate(mode, x, scale, in, out);
    if (mode.interpolation == Interpolation::kNearest) {
      t[0] = {NearestSource(mode, c, scale, in), 1.f};
      continue;
    }
    const double f = std::floor(c);
    const double r = c - f;
    double w[4];
    if (n == 2) {
      w[0] = 1 - r;
      w[1] = r;
    } else {
      const double a = mode.cubic_a;
      const double p = r + 1, q = 1 - r, u = 2 - r;
      w[0] = ((a * p - 5 * a) * p + 8 * a) * p - 4 * a;
      w[1] = ((a + 2) * r - (a + 3)) * r * r + 1;
      w[2] = ((a + 2) * q - (a + 3)) * q * q + 1;
      w[3] = ((a * u - 5 * a) * u + 8 * a) * u - 4 * a;
    }
    const int64_t first = static_cast<int64_t>(f) - (n == 2 ? 0 : 1);
    double total = 0;
    for (int k = 0; k < n; ++k) {
      const int64_t i = first + k;
      if (mode.exclude_outside && (i < 0 || i >= in)) w[k] = 0;
      total += w[k];
    }
    for (int k = 0; k < n; ++k) {
      const double weight = mode.exclude_outside && total != 0 ? w[k] / total : w[k];
      t[k] = {std::clamp<int64_t>(first + k, 0, in - 1), static_cast<float>(weight)};
    }
  }
}

// Most combinations of neighbours over the dims before the last that one
// output row reads (2^8 covers trilinear and 3-D cubic).
constexpr size_t kMaxCombinations = 256;

template <typename T>
T Saturate(double v) {
  if constexpr (std::is_integral_v<T>) {
    if (std::isnan(v)) return T(0);
    return static_cast<T>(std::clamp<double>(std::trunc(v), std::numeric_limits<T>::lowest(),
                                             std::numeric_limits<T>::max()));
  } else {
    return static_cast<T>(v);
  }
}

// The dims' taps, laid out one dim after another; `width[d]` taps per
// output index of dim d (1 for a dim every index of which reads one input
// index with weight 1).
struct TapTable {
  std::vector<Tap> taps;
  std::array<size_t, kMaxGeometryRank> first{};
  std::array<int, kMaxGeometryRank> width{};
};

void BuildTaps(const ResizeMode& mode, const ResizeScales& scales, const Shape& in,
               TapTable* table) {
  const int n = TapsPerIndex(mode.interpolation);
  size_t total = 0;
  for (size_t d = 0; d < scales.rank; ++d) total += scales.out[d] * n;
  if (table->taps.size() < total) table->taps.resize(total);
  size_t at = 0;
  for (size_t d = 0; d < scales.rank; ++d) {
    Tap* taps = table->taps.data() + at;
    DimTaps(mode, scales.scale[d], in[d], scales.out[d], taps);
    // Compact a dim whose every index reads one neighbour with weight 1.
    bool single = n > 1;
    for (int64_t x = 0; single && x < scales.out[d]; ++x) {
      int ones = 0, zeros = 0;
      for (int k = 0; k < n; ++k) {
        ones += taps[x * n + k].weight == 1.f;
        zeros += taps[x * n + k].weight == 0.f;
      }
      single = ones == 1 && zeros == n - 1;
    }
    if (single) {
      for (int64_t x = 0; x < scales.out[d]; ++x) {
        for (int k = 0; k < n; ++k) {
          if (taps[x * n + k].weight == 1.f) taps[x] = taps[x * n + k];
        }
      }
    }
    table->first[d] = at;
    table->width[d] = single ? 1 : n;
    at += scales.out[d] * table->width[d];
  }
}

template <typename T>
void ResizeTyped(const ConstView& in, const MutView& out, const TapTable& table,
                 const Parallelism& par) {
  using Acc = std::conditional_t<std::is_same_v<T, float>, float, double>;
  const size_t rank = in.shape.size();
  const auto strides = DenseStrides(in.shape);
  const int64_t width = rank == 0 ? 1 : out.shape[rank - 1];
  const int64_t rows = width == 0 ? 0 : out.size / width;
  const T* src = in.as<T>();
  T* dst = out.as<T>();
  const Tap* last = rank == 0 ? nullptr : table.taps.data() + table.first[rank - 1];
  const int last_width = rank == 0 ? 1 : table.width[rank - 1];
  const int64_t in_width = rank == 0 ? 1 : in.shape[rank - 1];
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 13) / std::max<int64_t>(width, 1));
  ParallelFor(par, rows, grain, [&](int64_t begin, int64_t end) {
    std::array<int64_t, kMaxCombinations> offsets;
    std::array<Acc, kMaxCombinations> weights;
    for (int64_t row = begin; row < end; ++row) {
      size_t combos = 1;
      offsets[0] = 0;
      weights[0] = 1;
      int64_t rest = row;
      for (size_t d = rank == 0 ? 0 : rank - 1; d-- > 0;) {
        const int64_t o = rest % out.shape[d];
        rest /= out.shape[d];
        const int w = table.width[d];
        const Tap* taps = table.taps.data() + table.first[d] + o * w;
        if (w == 1) {
          for (size_t c = 0; c < combos; ++c) offsets[c] += taps[0].index * strides[d];
          continue;
        }
        for (size_t c = combos; c-- > 0;) {
          for (int k = w; k-- > 0;) {
            offsets[c * w + k] = offsets[c] + taps[k].index * strides[d];
            weights[c * w + k] = weights[c] * taps[k].weight;
          }
        }
        combos *= w;
      }
      T* y = dst + row * width;
      if (combos == 1 && last_width == 1) {
        const T* x = src + offsets[0];
        for (int64_t o = 0; o < width; ++o) {
          y[o] = last == nullptr ? x[0] : x[last[o].index];
        }
        continue;
      }
      // Blend the input rows the other dims weigh into one line, then
      // interpolate along the last dim from it.
      thread_local std::vector<Acc> line;  // scratch kept per thread
      if (line.size() < static_cast<size_t>(in_width)) line.resize(in_width);
      std::fill(line.begin(), line.begin() + in_width, Acc(0));
      for (size_t c = 0; c < combos; ++c) {
        const T* x = src + offsets[c];
        const Acc w = weights[c];
        for (int64_t i = 0; i < in_width; ++i) line[i] += w * static_cast<Acc>(x[i]);
      }
      if (last_width == 2) {  // linear: the common case, unrolled
        for (int64_t o = 0; o < width; ++o) {
          const Tap* t = last + 2 * o;
          y[o] = Saturate<T>(t[0].weight * line[t[0].index] + t[1].weight * line[t[1].index]);
        }
        continue;
      }
      for (int64_t o = 0; o < width; ++o) {
        Acc sum = 0;
        for (int k = 0; k < last_width; ++k) {
          const Tap& t = last[o * last_width + k];
          sum += t.weight * line[t.index];
        }
        y[o] = Saturate<T>(sum);
      }
    }
  });
}

}  // namespace

Status ResizeSourceCoordinates(const Node& node, const Shape& input, size_t dim,
                               std::vector<double>* coordinates, std::vector<int64_t>* nearest) {
  ResizeMode mode;
  MIXQ_RETURN_IF_ERROR(ParseMode(node, &mode));
  if (mode.interpolation == Interpolation::kCubic) return Unimplemented("cubic Resize");
  ResizeScales scales;
  MIXQ_RETURN_IF_ERROR(ComputeResizeScales(node, input, &scales));
  if (dim >= scales.rank || input[dim] <= 0) return InvalidArgument("no such dim");
  coordinates->clear();
  nearest->clear();
  for (int64_t x = 0; x < scales.out[dim]; ++x) {
    const double c = SourceCoordinate(mode, x, scales.scale[dim], input[dim], scales.out[dim]);
    coordinates->push_back(c);
    if (mode.interpolation == Interpolation::kNearest) {
      nearest->push_back(NearestSource(mode, c, scales.scale[dim], input[dim]));
    }
  }
  return Status::Ok();
}

namespace {

StatusOr<bool> ResizeShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(1, 4));
  ResizeMode mode;
  Status parsed = ParseMode(ctx.node(), &mode);
  if (!parsed.ok()) {
    return parsed.code() == StatusCode::kUnimplemented ? ctx.Unsupported(parsed.message())
                                                       : ctx.Invalid(parsed.message());
  }
  // Empty scales or sizes (a 0-element tensor) count as absent.
  auto given = [&](size_t i) { return ctx.HasInput(i) && NumElements(ctx.InShape(i)) != 0; };
  if (given(2) && given(3)) return ctx.Invalid("both scales and sizes are given");
  if (given(2)) {
    const Tensor* t = ctx.Constant(2);
    if (t == nullptr) return ctx.NotYet("scales are computed at run time; they must be constant");
    if (!IsFloatingPoint(t->dtype())) return ctx.Invalid("scales must be floating point");
    std::vector<float> scales;
    for (int64_t i = 0; i < t->size(); ++i) scales.push_back(static_cast<float>(t->FloatAt(i)));
    ctx.attrs().Set("scales", scales);
  } else if (given(3)) {
    std::vector<int64_t> sizes;
    MIXQ_ASSIGN_OR_RETURN(bool known, ctx.IntsOfInput(3, &sizes));
    if (!known) return false;
    ctx.attrs().Set("sizes", sizes);
  }
  // roi only serves tf_crop_and_resize; the rest now lives in attributes.
  ctx.node().inputs.resize(1);
  ResizeScales scales;
  Status status = ComputeResizeScales(ctx.node(), ctx.InShape(0), &scales);
  if (!status.ok()) {
    return status.code() == StatusCode::kUnimplemented ? ctx.Unsupported(status.message())
                                                       : ctx.Invalid(status.message());
  }
  const Shape& x = ctx.InShape(0);
  for (size_t d = 0; d < x.size(); ++d) {
    if (x[d] == 0 && scales.out[d] > 0) return ctx.Invalid("cannot resize an empty dim");
  }
  ctx.SetOutput(0, ctx.InType(0), Shape(scales.out.begin(), scales.out.begin() + scales.rank));
  return true;
}

Status ResizeHost(const Node& node, const std::vector<ConstView>& inputs,
                  const std::vector<MutView>& outputs, const Parallelism& par) {
  const ConstView& in = inputs[0];
  const MutView& out = outputs[0];
  if (in.dtype == DType::kF16) return Unimplemented("Resize: float16 data is not supported");
  if (out.size == 0) return Status::Ok();
  ResizeMode mode;
  MIXQ_RETURN_IF_ERROR(ParseMode(node, &mode));
  ResizeScales scales;
  MIXQ_RETURN_IF_ERROR(ComputeResizeScales(node, in.shape, &scales));
  for (size_t d = 0; d < scales.rank; ++d) {
    if (scales.out[d] != out.shape[d]) return InvalidArgument("Resize: output shape mismatch");
  }
  // Scratch kept per thread: the executor calls this on a hot path.
  thread_local TapTable table;
  BuildTaps(mode, scales, in.shape, &table);
  size_t combos = 1;
  for (size_t d = 0; d + 1 < scales.rank; ++d) combos *= table.width[d];
  if (combos > kMaxCombinations) {
    return Unimplemented("Resize: interpolating along more than 4 dims at once");
  }
  VisitDType(in.dtype, [&](auto zero) {
    using T = decltype(zero);
    ResizeTyped<T>(in, out, table, par);
  });
  return Status::Ok();
}

}  // namespace

const OpDef* ResizeOpDef(OpType op) {
  static constexpr OpDef kResize{ResizeShape, ResizeHost};
  return op == OpType::kResize || op == OpType::kUpsample ? &kResize : nullptr;
}

}  // namespace mixq
