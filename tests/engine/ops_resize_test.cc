// engine/ops/resize.cc (and the oneDNN resampling lowering where it runs)
// against a reference written after ONNX's reference implementation: N-D
// interpolation one dim at a time, recursively, each 1-D step taking the n
// closest points of the edge-padded input (ties to the lower index) with the
// mode's coefficients. Every interpolation mode, coordinate transformation
// and nearest rounding, scales and sizes, ranks 2 to 5, at run time and
// (nearest) folded on int64; the opset forms through the importer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "tests/engine/onnx_test_util.h"
#include "tests/engine/op_case.h"

namespace mixq {
namespace {

using testing::Floats;
using testing::Ints;
using testing::OpCase;

struct Mode {
  std::string mode = "nearest";
  std::string coordinates = "half_pixel";
  std::string nearest = "round_prefer_floor";
  double cubic_a = -0.75;
  bool exclude_outside = false;
};

// ONNX's interpolate_1d_with_x for output index x of `data`.
double Interpolate1D(const std::vector<double>& data, int64_t x, double scale, int64_t out,
                     bool from_sizes, const Mode& m) {
  const int64_t in = static_cast<int64_t>(data.size());
  const double out_width = from_sizes ? static_cast<double>(out) : scale * in;
  double c = 0;
  if (m.coordinates == "half_pixel") {
    c = (x + 0.5) / scale - 0.5;
  } else if (m.coordinates == "pytorch_half_pixel") {
    c = out_width == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
  } else if (m.coordinates == "align_corners") {
    c = out_width == 1 ? 0 : x * (in - 1) / (out_width - 1);
  } else if (m.coordinates == "asymmetric") {
    c = x / scale;
  } else {  // tf_half_pixel_for_nn
    c = (x + 0.5) / scale;
  }
  const bool integer = c == std::floor(c);
  const double ratio = integer ? 1 : c - std::floor(c);
  std::vector<double> coeffs;
  if (m.mode == "nearest") {
    bool floor = false;
    if (!integer) {
      if (m.nearest == "round_prefer_floor") floor = ratio <= 0.5;
      if (m.nearest == "round_prefer_ceil") floor = ratio < 0.5;
      if (m.nearest == "floor") floor = true;
      if (m.nearest == "simple") floor = scale >= 1;  // opsets before 11
    }
    coeffs = {floor ? 1.0 : 0.0, floor ? 0.0 : 1.0};
  } else if (m.mode == "linear") {
    coeffs = {1 - ratio, ratio};
  } else {
    const double a = m.cubic_a, r = ratio;
    coeffs = {((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a,
              ((a + 2) * r - (a + 3)) * r * r + 1,
              ((a + 2) * (1 - r) - (a + 3)) * (1 - r) * (1 - r) + 1,
              ((a * (2 - r) - 5 * a) * (2 - r) + 8 * a) * (2 - r) - 4 * a};
  }
  const int64_t n = static_cast<int64_t>(coeffs.size());
  const int64_t pad = (n + 1) / 2;
  std::vector<double> padded;
  for (int64_t i = -pad; i < in + pad; ++i)
    padded.push_back(data[std::clamp<int64_t>(i, 0, in - 1)]);
  std::vector<int64_t> order(padded.size());
  std::iota(order.begin(), order.end(), 0);
  const double xp = c + pad;
  // Nearest first, ties by index (what a stable sort of the iota gives;
  // std::stable_sort's temporary buffer trips ASan against the counting
  // operator new that engine_tests links).
  std::sort(order.begin(), order.end(), [&](int64_t p, int64_t q) {
    const double dp = std::fabs(xp - p), dq = std::fabs(xp - q);
    return dp < dq || (dp == dq && p < q);
  });
  std::vector<int64_t> picked(order.begin(), order.begin() + n);
  std::sort(picked.begin(), picked.end());
  if (m.exclude_outside) {
    double total = 0;
    for (int64_t k = 0; k < n; ++k) {
      const int64_t i = picked[k] - pad;
      if (i < 0 || i >= in) coeffs[k] = 0;
      total += coeffs[k];
    }
    for (double& w : coeffs) w /= total;
  }
  double sum = 0;
  for (int64_t k = 0; k < n; ++k) sum += coeffs[k] * padded[picked[k]];
  return sum;
}

// ONNX's interpolate_nd_with_x: interpolate the sub-tensors along dim 0
// recursively, then along dim 0 itself.
double InterpolateND(const Tensor& x, int64_t offset, size_t dim, const std::vector<int64_t>& o,
                     const std::vector<double>& scales, const Shape& out, bool from_sizes,
                     const Mode& m) {
  const Shape& s = x.shape();
  if (dim == s.size()) return x.FloatAt(offset);
  int64_t stride = 1;
  for (size_t d = dim + 1; d < s.size(); ++d) stride *= s[d];
  std::vector<double> line;
  for (int64_t i = 0; i < s[dim]; ++i) {
    line.push_back(InterpolateND(x, offset + i * stride, dim + 1, o, scales, out, from_sizes, m));
  }
  return Interpolate1D(line, o[dim], scales[dim], out[dim], from_sizes, m);
}

Tensor ResizeReference(const Tensor& x, const std::vector<double>& scales, const Shape& out,
                       bool from_sizes, const Mode& m) {
  Tensor y(x.dtype(), out);
  for (int64_t i = 0; i < y.size(); ++i) {
    std::vector<int64_t> o(out.size());
    int64_t rest = i;
    for (size_t d = out.size(); d-- > 0;) {
      o[d] = rest % out[d];
      rest /= out[d];
    }
    const double v = InterpolateND(x, 0, 0, o, scales, out, from_sizes, m);
    y.SetFromDouble(i, IsFloatingPoint(x.dtype()) ? v : std::trunc(v));
  }
  return y;
}

OpCase ResizeCase(const Mode& m) {
  OpCase c;
  c.op = OpType::kResize;
  c.attrs.Set("mode", m.mode);
  c.attrs.Set("coordinate_transformation_mode", m.coordinates);
  c.attrs.Set("nearest_mode", m.nearest);
  c.attrs.Set("cubic_coeff_a", static_cast<float>(m.cubic_a));
  c.attrs.Set("exclude_outside", int64_t{m.exclude_outside});
  return c;
}

struct Geometry {
  Shape in;
  std::vector<float> scales;  // or
  std::vector<int64_t> sizes;
};

const std::vector<Geometry>& Geometries() {
  static const std::vector<Geometry> geometries = {
      {{1, 2, 4, 5}, {1, 1, 2, 2}, {}},        // the common 2x upsampling
      {{1, 2, 4, 5}, {1, 1, 1.5f, 0.6f}, {}},  // enlarge one dim, shrink the other
      {{2, 3, 7}, {}, {2, 3, 3}},
      {{1, 1, 3, 4, 2}, {}, {1, 1, 5, 3, 4}},  // trilinear / 3-D
      {{5, 3}, {0.8f, 2.5f}, {}},
      {{1, 1, 4, 4}, {}, {1, 1, 1, 3}},  // an output length of 1
  };
  return geometries;
}

// Runs every geometry of Geometries() through `m` at run time (and folded
// on int64 for nearest) against the reference.
void CheckMode(const Mode& m) {
  for (const Geometry& g : Geometries()) {
    OpCase c = ResizeCase(m);
    std::vector<double> scales;
    Shape out;
    for (size_t d = 0; d < g.in.size(); ++d) {
      if (!g.scales.empty()) {
        scales.push_back(g.scales[d]);
        out.push_back(static_cast<int64_t>(std::floor(g.scales[d] * static_cast<double>(g.in[d]))));
      } else {
        scales.push_back(static_cast<double>(g.sizes[d]) / g.in[d]);
        out.push_back(g.sizes[d]);
      }
    }
    c.params = {{"", Tensor()}};
    if (!g.scales.empty()) {
      c.params.push_back({"scales", Floats(g.scales)});
    } else {
      c.params.push_back({"", Tensor()});
      c.params.push_back({"sizes", Ints(g.sizes)});
    }
    const std::string what = m.mode + "/" + m.coordinates + "/" + m.nearest + " " +
                             ShapeToString(g.in) + " -> " + ShapeToString(out);
    const Tensor x = testing::RandomFloats(g.in);
    std::vector<Tensor> got = c.RunAtRuntime(x);
    ASSERT_EQ(got.size(), 1u) << what;
    SCOPED_TRACE(what);
    testing::ExpectClose(got[0], ResizeReference(x, scales, out, g.scales.empty(), m), 1e-5f);
    if (m.mode == "nearest") {
      const Tensor xi = testing::Iota(DType::kI64, g.in);
      testing::ExpectSame(c.Fold(xi)[0], ResizeReference(xi, scales, out, g.scales.empty(), m),
                          what + " (folded int64)");
    }
  }
}

const char* const kCoordinates[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                    "asymmetric", "tf_half_pixel_for_nn"};

TEST(ResizeOp, NearestEveryRoundingAndTransformation) {
  for (const char* rounding : {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"}) {
    for (const char* coordinates : kCoordinates) {
      Mode m;
      m.nearest = rounding;
      m.coordinates = coordinates;
      CheckMode(m);
    }
  }
}

TEST(ResizeOp, LinearEveryTransformation) {
  for (const char* coordinates : kCoordinates) {
    Mode m;
    m.mode = "linear";
    m.coordinates = coordinates;
    CheckMode(m);
  }
}

TEST(ResizeOp, CubicWithCoefficientAndExcludeOutside) {
  for (const char* coordinates : {"half_pixel", "align_corners", "asymmetric"}) {
    for (bool exclude : {false, true}) {
      Mode m;
      m.mode = "cubic";
      m.coordinates = coordinates;
      m.cubic_a = exclude ? -0.5 : -0.75;
      m.exclude_outside = exclude;
      CheckMode(m);
    }
  }
}

TEST(ResizeOp, AxesAndKeepAspectRatio) {
  // Opset 18: sizes for dims 3 and 2 only; not_larger keeps the aspect ratio
  // with the smaller of 6/4 and 12/5.
  Mode m;
  m.mode = "linear";
  OpCase c = ResizeCase(m);
  c.attrs.Set("axes", std::vector<int64_t>{-1, 2});
  c.attrs.Set("keep_aspect_ratio_policy", std::string("not_larger"));
  c.params = {{"", Tensor()}, {"", Tensor()}, {"sizes", Ints({12, 6})}};
  const Tensor x = testing::RandomFloats({1, 2, 4, 5});
  const double s = 1.5;
  const Shape out = {1, 2, 6, 8};  // round(1.5 * 5) = 8
  std::vector<Tensor> got = c.RunAtRuntime(x);
  ASSERT_EQ(got.size(), 1u);
  testing::ExpectClose(got[0], ResizeReference(x, {1, 1, s, s}, out, false, m), 1e-5f);
}

TEST(ResizeOp, CropAndResizeIsRefusedClearly) {
  Mode m;
  m.coordinates = "tf_crop_and_resize";
  OpCase c = ResizeCase(m);
  c.params = {{"", Tensor()}, {"scales", Floats({1, 2})}};
  auto g = Specialize(c.MakeGraph(nullptr, {2, 2}), {{"x", {2, 2}}});
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(g.status().message().find("tf_crop_and_resize"), std::string::npos);
}

// --- The oneDNN resampling lowering ------------------------------------------

// Whether the executor ran the node as oneDNN's resampling primitive.
bool RanOnOneDnn(const std::vector<std::string>& steps) {
  return std::any_of(steps.begin(), steps.end(),
                     [](const std::string& line) { return line.find("op  resampling") == 0; });
}

TEST(ResizeLowering, OneDnnRunsExactlyWhereItsConventionMatches) {
  struct Spec {
    Mode mode;
    Shape in;
    std::vector<float> scales;
    bool one_dnn;
  };
  auto mode = [](const char* interpolation, const char* coordinates, const char* rounding) {
    Mode m;
    m.mode = interpolation;
    m.coordinates = coordinates;
    m.nearest = rounding;
    return m;
  };
  const std::vector<Spec> specs = {
      // oneDNN's nearest is half_pixel rounding ties up.
      {mode("nearest", "half_pixel", "round_prefer_ceil"), {1, 3, 4, 5}, {1, 1, 1.5f, 0.6f}, true},
      // Ties (in 4 -> out 6) round the other way: host; none at 2x: oneDNN.
      {mode("nearest", "half_pixel", "round_prefer_floor"), {1, 3, 4, 5}, {1, 1, 1.5f, 1}, false},
      {mode("nearest", "half_pixel", "round_prefer_floor"), {2, 3, 4, 5}, {1, 1, 2, 2}, true},
      // torch's nearest upsampling (asymmetric, floor) at integer factors.
      {mode("nearest", "asymmetric", "floor"), {1, 2, 3, 3, 2}, {1, 1, 2, 3, 2}, true},
      {mode("nearest", "asymmetric", "floor"), {1, 3, 4, 5}, {1, 1, 1.5f, 1}, false},
      {mode("linear", "half_pixel", "round_prefer_floor"), {1, 3, 4, 5}, {1, 1, 1.5f, 0.6f}, true},
      {mode("linear", "pytorch_half_pixel", "round_prefer_floor"),
       {1, 3, 4, 5},
       {1, 1, 2, 2},
       true},
      {mode("linear", "align_corners", "round_prefer_floor"), {1, 3, 4, 5}, {1, 1, 2, 2}, false},
      {mode("linear", "asymmetric", "round_prefer_floor"), {1, 3, 4, 5}, {1, 1, 2, 2}, false},
      // Not 3-D to 5-D, or a resized channel dim: host.
      {mode("nearest", "half_pixel", "round_prefer_ceil"), {4, 6}, {2, 2}, false},
      {mode("nearest", "half_pixel", "round_prefer_ceil"), {1, 3, 4, 5}, {1, 2, 1, 1}, false},
  };
  for (const Spec& spec : specs) {
    OpCase c = ResizeCase(spec.mode);
    c.params = {{"", Tensor()}, {"scales", Floats(spec.scales)}};
    std::vector<double> scales(spec.scales.begin(), spec.scales.end());
    Shape out;
    for (size_t d = 0; d < spec.in.size(); ++d) {
      out.push_back(static_cast<int64_t>(std::floor(scales[d] * spec.in[d])));
    }
    const std::string what = spec.mode.mode + "/" + spec.mode.coordinates + "/" +
                             spec.mode.nearest + " " + ShapeToString(spec.in) + " -> " +
                             ShapeToString(out);
    SCOPED_TRACE(what);
    const Tensor x = testing::RandomFloats(spec.in);
    std::vector<std::string> steps;
    std::vector<Tensor> got = c.RunAtRuntime(x, &steps);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(RanOnOneDnn(steps), spec.one_dnn);
    testing::ExpectClose(got[0], ResizeReference(x, scales, out, false, spec.mode), 1e-5f);
  }
}

// --- Opset forms through the importer --------------------------------------

TEST(ResizeOpsets, OldFormsAreAsymmetricWithFloorWhenEnlarging) {
  const Tensor x = testing::RandomFloats({1, 1, 3, 4});
  Mode simple;
  simple.coordinates = "asymmetric";
  simple.nearest = "simple";
  const std::vector<float> scales = {1, 1, 2.5f, 0.75f};
  const Shape out = {1, 1, 7, 3};
  const Tensor want = ResizeReference(x, {1, 1, 2.5, 0.75}, out, false, simple);
  // Upsample-7: scales attribute.
  auto upsample7 = testing::NewModel(7);
  testing::AddInput(&upsample7, "x", {1, 1, 3, 4});
  auto* u7 = testing::AddNode(&upsample7, "Upsample", {"x"}, {"y"});
  auto* attr = u7->add_attribute();
  attr->set_name("scales");
  attr->set_type(onnx::AttributeProto::FLOATS);
  for (float s : scales) attr->add_floats(s);
  testing::AddOutput(&upsample7, "y", out);
  testing::ExpectClose(testing::RunModel(upsample7, x)[0], want);
  // Upsample-9 and Resize-10: scales input.
  for (const auto& [op, opset] :
       std::vector<std::pair<std::string, int64_t>>{{"Upsample", 9}, {"Resize", 10}}) {
    auto model = testing::NewModel(opset);
    testing::AddInput(&model, "x", {1, 1, 3, 4});
    testing::AddFloatInitializer(&model, "scales", {4}, scales);
    testing::AddNode(&model, op, {"x", "scales"}, {"y"});
    testing::AddOutput(&model, "y", out);
    SCOPED_TRACE(op + "-" + std::to_string(opset));
    testing::ExpectClose(testing::RunModel(model, x)[0], want);
  }
  // Resize-11: roi and scales given empty, sizes as the fourth input.
  auto resize11 = testing::NewModel(11);
  testing::AddInput(&resize11, "x", {1, 1, 3, 4});
  testing::AddFloatInitializer(&resize11, "roi", {0}, {});
  testing::AddFloatInitializer(&resize11, "scales", {0}, {});
  testing::AddInt64Initializer(&resize11, "sizes", {1, 1, 6, 2});
  auto* r11 = testing::AddNode(&resize11, "Resize", {"x", "roi", "scales", "sizes"}, {"y"});
  auto* mode = r11->add_attribute();
  mode->set_name("mode");
  mode->set_type(onnx::AttributeProto::STRING);
  mode->set_s("linear");
  testing::AddOutput(&resize11, "y", {1, 1, 6, 2});
  Mode linear;
  linear.mode = "linear";
  testing::ExpectClose(testing::RunModel(resize11, x)[0],
                       ResizeReference(x, {1, 1, 2, 0.5}, {1, 1, 6, 2}, true, linear));
}

}  // namespace
}  // namespace mixq
