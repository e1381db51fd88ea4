// engine/ops/ data movement: Pad, Slice, Split, Expand, Tile, DepthToSpace,
// SpaceToDepth, Gather and Cast, each against a naive reference written from
// the ONNX operator text, at run time on float32 (through the executor) and
// folded on int64 constants. The opset forms (attributes before inputs)
// are checked through the importer.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tests/engine/onnx_test_util.h"
#include "tests/engine/op_case.h"

namespace mixq {
namespace {

using testing::Floats;
using testing::Ints;
using testing::Iota;
using testing::OpCase;
using testing::RandomFloats;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

std::vector<int64_t> Unravel(int64_t i, const Shape& shape) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = i % shape[d];
    i /= shape[d];
  }
  return index;
}

int64_t Ravel(const std::vector<int64_t>& index, const Shape& shape) {
  int64_t i = 0;
  for (size_t d = 0; d < shape.size(); ++d) i = i * shape[d] + index[d];
  return i;
}

// The reference of every op here that picks input elements: output index o
// along dim d reads input index picks[d][o], or `fill` where that is -1.
Tensor Select(const Tensor& x, const std::vector<std::vector<int64_t>>& picks, double fill = 0) {
  Shape shape;
  for (const auto& p : picks) shape.push_back(static_cast<int64_t>(p.size()));
  Tensor out(x.dtype(), shape);
  for (int64_t i = 0; i < out.size(); ++i) {
    std::vector<int64_t> index = Unravel(i, shape);
    bool filled = false;
    for (size_t d = 0; d < shape.size(); ++d) {
      index[d] = picks[d][index[d]];
      filled = filled || index[d] < 0;
    }
    out.SetFromDouble(i, filled ? fill : x.FloatAt(Ravel(index, x.shape())));
  }
  return out;
}

std::vector<int64_t> All(int64_t dim) {
  std::vector<int64_t> v(dim);
  for (int64_t i = 0; i < dim; ++i) v[i] = i;
  return v;
}

// Checks `c` on a runtime float input and on a folded int64 one against
// `reference` (a function of the input).
template <typename Ref>
void CheckBothWays(const OpCase& c, const Shape& shape, Ref reference, const std::string& what) {
  const Tensor x = RandomFloats(shape);
  const std::vector<Tensor> got = c.RunAtRuntime(x);
  const std::vector<Tensor> want = reference(x);
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) testing::ExpectSame(got[i], want[i], what + " (runtime)");
  const Tensor xi = Iota(DType::kI64, shape);
  const std::vector<Tensor> folded = c.Fold(xi);
  const std::vector<Tensor> want_i = reference(xi);
  ASSERT_EQ(folded.size(), want_i.size()) << what;
  for (size_t i = 0; i < folded.size(); ++i) {
    testing::ExpectSame(folded[i], want_i[i], what + " (folded int64)");
  }
}

// --- Slice -------------------------------------------------------------

// The ONNX text: negative start/end count from the end, then clamp to
// [0, dim] ([0, dim-1] and [-1, dim-1] for negative steps).
std::vector<int64_t> SliceIndices(int64_t dim, int64_t start, int64_t end, int64_t step) {
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = std::max<int64_t>(0, std::min(start, dim));
    end = std::max<int64_t>(0, std::min(end, dim));
  } else {
    start = std::max<int64_t>(0, std::min(start, dim - 1));
    end = std::max<int64_t>(-1, std::min(end, dim - 1));
  }
  std::vector<int64_t> v;
  for (int64_t i = start; step > 0 ? i < end : i > end; i += step) v.push_back(i);
  return v;
}

struct SliceSpec {
  Shape shape;
  std::vector<int64_t> starts, ends, axes, steps;  // axes/steps may be empty
};

TEST(SliceOp, MatchesTheReferenceAtRunTimeAndFolded) {
  const std::vector<SliceSpec> specs = {
      {{10}, {2}, {8}, {}, {}},
      {{10}, {-3}, {kMax}, {}, {}},
      {{10}, {kMax}, {kMin}, {}, {-1}},  // the whole axis reversed
      {{10}, {-1}, {-11}, {0}, {-3}},
      {{10}, {20}, {30}, {}, {}},  // start past the end: empty
      {{4, 6}, {1, -5}, {3, 100}, {0, 1}, {1, 2}},
      {{4, 6}, {-2}, {-100}, {-2}, {-1}},
      {{2, 3, 5, 4}, {0, 4, 1}, {2, -6, kMax}, {0, 2, -1}, {1, -2, 2}},
      {{2, 3, 5, 4}, {1}, {3}, {1}, {}},
  };
  for (const SliceSpec& s : specs) {
    OpCase c;
    c.op = OpType::kSlice;
    c.params = {{"starts", Ints(s.starts)}, {"ends", Ints(s.ends)}};
    c.params.push_back({s.axes.empty() ? "" : "axes", Ints(s.axes)});
    if (!s.steps.empty()) c.params.push_back({"steps", Ints(s.steps)});
    auto reference = [&](const Tensor& x) {
      std::vector<std::vector<int64_t>> picks;
      for (int64_t dim : x.shape()) picks.push_back(All(dim));
      for (size_t i = 0; i < s.starts.size(); ++i) {
        int64_t axis = s.axes.empty() ? static_cast<int64_t>(i) : s.axes[i];
        if (axis < 0) axis += x.rank();
        picks[axis] =
            SliceIndices(x.shape()[axis], s.starts[i], s.ends[i], s.steps.empty() ? 1 : s.steps[i]);
      }
      return std::vector<Tensor>{Select(x, picks)};
    };
    CheckBothWays(c, s.shape, reference,
                  "slice of " + ShapeToString(s.shape) + " from " + ShapeToString(s.starts));
  }
}

TEST(SliceOp, RefusesAZeroStepNamingTheNode) {
  OpCase c;
  c.op = OpType::kSlice;
  c.params = {
      {"starts", Ints({0})}, {"ends", Ints({2})}, {"axes", Ints({0})}, {"steps", Ints({0})}};
  auto g = Specialize(c.MakeGraph(nullptr, {4}), {{"x", {4}}});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("node 'op' (Slice): a step is 0"), std::string::npos)
      << g.status().message();
}

// --- Split -------------------------------------------------------------

TEST(SplitOp, EqualExplicitAndNumOutputsPieces) {
  struct Spec {
    Shape shape;
    int64_t axis;
    std::vector<int64_t> split;  // empty: equal or num_outputs
    int outputs;
    bool num_outputs;
    std::vector<int64_t> want_sizes;
  };
  const std::vector<Spec> specs = {
      {{6}, 0, {}, 3, false, {2, 2, 2}},       {{2, 7, 3}, 1, {1, 4, 2}, 3, false, {1, 4, 2}},
      {{2, 7, 3}, -2, {}, 3, true, {3, 3, 1}}, {{4, 5}, -1, {0, 5}, 2, false, {0, 5}},
      {{3, 2, 4}, 2, {}, 2, false, {2, 2}},
  };
  for (const Spec& s : specs) {
    OpCase c;
    c.op = OpType::kSplit;
    c.attrs.Set("axis", s.axis);
    c.outputs = s.outputs;
    if (!s.split.empty()) c.params = {{"split", Ints(s.split)}};
    if (s.num_outputs) c.attrs.Set("num_outputs", int64_t{s.outputs});
    auto reference = [&](const Tensor& x) {
      const int64_t axis = s.axis < 0 ? s.axis + x.rank() : s.axis;
      std::vector<Tensor> out;
      int64_t offset = 0;
      for (int64_t size : s.want_sizes) {
        std::vector<std::vector<int64_t>> picks;
        for (int64_t dim : x.shape()) picks.push_back(All(dim));
        picks[axis] = SliceIndices(x.shape()[axis], offset, offset + size, 1);
        out.push_back(Select(x, picks));
        offset += size;
      }
      return out;
    };
    CheckBothWays(c, s.shape, reference, "split of " + ShapeToString(s.shape));
  }
}

// --- Pad ---------------------------------------------------------------

// Crop by the negative amounts, then pad by the positive ones; out-of-range
// positions bounce (reflect), repeat the end (edge), cycle (wrap) or fill.
std::vector<int64_t> PadIndices(int64_t dim, int64_t begin, int64_t end, const std::string& mode) {
  std::vector<int64_t> kept;
  for (int64_t i = std::max<int64_t>(-begin, 0); i < dim - std::max<int64_t>(-end, 0); ++i) {
    kept.push_back(i);
  }
  const int64_t m = static_cast<int64_t>(kept.size());
  const int64_t before = std::max<int64_t>(begin, 0);
  std::vector<int64_t> v;
  for (int64_t o = 0; o < m + before + std::max<int64_t>(end, 0); ++o) {
    int64_t p = o - before;
    if (p >= 0 && p < m) {
      v.push_back(kept[p]);
    } else if (mode == "constant") {
      v.push_back(-1);
    } else if (mode == "edge") {
      v.push_back(kept[p < 0 ? 0 : m - 1]);
    } else if (mode == "wrap") {
      while (p < 0) p += m;
      while (p >= m) p -= m;
      v.push_back(kept[p]);
    } else {  // reflect
      while (m > 1 && (p < 0 || p >= m)) p = p < 0 ? -p : 2 * (m - 1) - p;
      v.push_back(kept[m > 1 ? p : 0]);
    }
  }
  return v;
}

TEST(PadOp, EveryModeWithCropsAndAxes) {
  struct Spec {
    Shape shape;
    std::string mode;
    std::vector<int64_t> pads;
    std::vector<int64_t> axes;  // empty: all
  };
  const std::vector<Spec> specs = {
      {{5}, "constant", {2, 3}, {}},
      {{5}, "reflect", {4, 7}, {}},  // beyond the dim: bounces twice
      {{5}, "edge", {3, -2}, {}},
      {{5}, "wrap", {6, 2}, {}},
      {{3, 4}, "constant", {1, -1, 0, 2}, {}},
      {{3, 4}, "reflect", {2, 1, 2, 3}, {}},
      {{2, 3, 4, 5}, "edge", {0, 0, 1, 2, 0, 0, 3, -1}, {}},
      {{2, 3, 4, 5}, "reflect", {1, 2, 2, 1}, {-1, 2}},
      {{2, 3, 4, 5}, "wrap", {-1, 3, 0, 4}, {1, -1}},
      {{1, 1, 4}, "reflect", {1, 0, 0, 2, 0, 0}, {}},  // a length-1 dim reflects onto itself
  };
  for (const Spec& s : specs) {
    OpCase c;
    c.op = OpType::kPad;
    c.attrs.Set("mode", s.mode);
    c.params = {{"pads", Ints(s.pads)}};
    const float fill = 3.f;
    if (s.mode == "constant") {
      c.params.push_back({"value", Floats({fill})});
    }
    if (!s.axes.empty()) {
      if (c.params.size() == 1) c.params.push_back({"", Tensor()});
      c.params.push_back({"axes", Ints(s.axes)});
    }
    auto reference = [&](const Tensor& x) {
      const int64_t rank = x.rank();
      std::vector<int64_t> axes = s.axes;
      if (axes.empty()) axes = All(rank);
      std::vector<int64_t> begin(rank, 0), end(rank, 0);
      for (size_t i = 0; i < axes.size(); ++i) {
        const int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
        begin[a] = s.pads[i];
        end[a] = s.pads[axes.size() + i];
      }
      std::vector<std::vector<int64_t>> picks;
      for (int64_t d = 0; d < rank; ++d) {
        picks.push_back(PadIndices(x.shape()[d], begin[d], end[d], s.mode));
      }
      return std::vector<Tensor>{Select(x, picks, fill)};
    };
    const std::string what =
        s.mode + " pad of " + ShapeToString(s.shape) + " by " + ShapeToString(s.pads);
    if (s.mode == "constant") {
      // The fill's type follows the data: float32 at run time, int64 folded.
      const Tensor x = RandomFloats(s.shape);
      testing::ExpectSame(c.RunAtRuntime(x)[0], reference(x)[0], what);
      OpCase folded = c;
      folded.params[1].second = Ints({3});
      const Tensor xi = Iota(DType::kI64, s.shape);
      testing::ExpectSame(folded.Fold(xi)[0], reference(xi)[0], what + " (folded)");
    } else {
      CheckBothWays(c, s.shape, reference, what);
    }
  }
}

TEST(PadOp, CroppingMoreThanTheDimIsRefused) {
  OpCase c;
  c.op = OpType::kPad;
  c.params = {{"pads", Ints({-3, -3})}};
  auto g = Specialize(c.MakeGraph(nullptr, {5}), {{"x", {5}}});
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument);
}

// --- Expand and Tile -----------------------------------------------------

TEST(ExpandOp, BroadcastsBothWays) {
  struct Spec {
    Shape shape;
    std::vector<int64_t> target;
  };
  const std::vector<Spec> specs = {
      {{3, 1}, {2, 3, 4}},
      {{1, 4}, {3, 1}},  // the 1 in the target keeps the input's 4
      {{2, 1, 3}, {2, 5, 3}},
      {{1}, {2, 2}},
  };
  for (const Spec& s : specs) {
    OpCase c;
    c.op = OpType::kExpand;
    c.params = {{"shape", Ints(s.target)}};
    auto reference = [&](const Tensor& x) {
      const size_t rank = std::max(x.shape().size(), s.target.size());
      Shape in(rank - x.shape().size(), 1);
      in.insert(in.end(), x.shape().begin(), x.shape().end());
      Shape target(rank - s.target.size(), 1);
      target.insert(target.end(), s.target.begin(), s.target.end());
      std::vector<std::vector<int64_t>> picks(rank);
      for (size_t d = 0; d < rank; ++d) {
        const int64_t out = std::max(in[d], target[d]);
        for (int64_t o = 0; o < out; ++o) picks[d].push_back(in[d] == 1 ? 0 : o);
      }
      Tensor x_ranked = x;
      x_ranked.Reshape(in);
      return std::vector<Tensor>{Select(x_ranked, picks)};
    };
    CheckBothWays(c, s.shape, reference, "expand of " + ShapeToString(s.shape));
  }
}

TEST(TileOp, RepeatsEachDim) {
  for (const auto& [shape, repeats] : std::vector<std::pair<Shape, std::vector<int64_t>>>{
           {{3}, {4}}, {{2, 3}, {2, 1}}, {{2, 1, 3}, {1, 3, 2}}, {{1, 2, 2, 2}, {2, 2, 1, 3}}}) {
    OpCase c;
    c.op = OpType::kTile;
    c.params = {{"repeats", Ints(repeats)}};
    auto reference = [&, &shape = shape, &repeats = repeats](const Tensor& x) {
      std::vector<std::vector<int64_t>> picks(shape.size());
      for (size_t d = 0; d < shape.size(); ++d) {
        for (int64_t r = 0; r < repeats[d]; ++r) {
          for (int64_t i = 0; i < shape[d]; ++i) picks[d].push_back(i);
        }
      }
      return std::vector<Tensor>{Select(x, picks)};
    };
    CheckBothWays(c, shape, reference, "tile of " + ShapeToString(shape));
  }
}

TEST(TileOp, TileOneTakesTilesAndAxis) {
  OpCase c;
  c.op = OpType::kTile;
  Tensor tiles(DType::kI64, {});
  tiles.SetFromInt(0, 3);
  Tensor axis(DType::kI64, {});
  axis.SetFromInt(0, -1);
  c.params = {{"tiles", tiles}, {"axis", axis}};
  const Tensor x = Iota(DType::kI64, {2, 2});
  testing::ExpectSame(c.Fold(x)[0], Select(x, {{0, 1}, {0, 1, 0, 1, 0, 1}}), "Tile-1");
}

// --- DepthToSpace and SpaceToDepth ---------------------------------------

Tensor DepthToSpaceReference(const Tensor& x, int64_t b, bool crd) {
  const Shape& s = x.shape();
  const int64_t c = s[1] / (b * b);
  Tensor out(x.dtype(), {s[0], c, s[2] * b, s[3] * b});
  for (int64_t i = 0; i < out.size(); ++i) {
    const auto o = Unravel(i, out.shape());
    const int64_t bi = o[2] % b, bj = o[3] % b;
    const int64_t channel = crd ? o[1] * b * b + bi * b + bj : (bi * b + bj) * c + o[1];
    out.SetFromDouble(i, x.FloatAt(Ravel({o[0], channel, o[2] / b, o[3] / b}, s)));
  }
  return out;
}

Tensor SpaceToDepthReference(const Tensor& x, int64_t b) {
  const Shape& s = x.shape();
  Tensor out(x.dtype(), {s[0], s[1] * b * b, s[2] / b, s[3] / b});
  for (int64_t i = 0; i < out.size(); ++i) {
    const auto o = Unravel(i, out.shape());
    const int64_t block = o[1] / s[1], channel = o[1] % s[1];
    const int64_t h = o[2] * b + block / b, w = o[3] * b + block % b;
    out.SetFromDouble(i, x.FloatAt(Ravel({o[0], channel, h, w}, s)));
  }
  return out;
}

TEST(DepthToSpaceOp, DcrAndCrdModes) {
  for (const std::string mode : {"DCR", "CRD"}) {
    for (int64_t b : {2, 3}) {
      OpCase c;
      c.op = OpType::kDepthToSpace;
      c.attrs.Set("blocksize", b);
      c.attrs.Set("mode", mode);
      const Shape shape = {2, 2 * b * b, 3, 2};
      CheckBothWays(
          c, shape,
          [&](const Tensor& x) {
            return std::vector<Tensor>{DepthToSpaceReference(x, b, mode == "CRD")};
          },
          mode + " block " + std::to_string(b));
    }
  }
}

TEST(SpaceToDepthOp, MovesBlocksToChannels) {
  for (int64_t b : {2, 3}) {
    OpCase c;
    c.op = OpType::kSpaceToDepth;
    c.attrs.Set("blocksize", b);
    CheckBothWays(
        c, {2, 3, 2 * b, 3 * b},
        [&](const Tensor& x) { return std::vector<Tensor>{SpaceToDepthReference(x, b)}; },
        "block " + std::to_string(b));
  }
}

// --- Gather and Cast -----------------------------------------------------

TEST(GatherOp, RunsOnRuntimeDataWithScalarNegativeAndMatrixIndices) {
  struct Spec {
    Shape shape;
    int64_t axis;
    Tensor indices;
  };
  Tensor scalar(DType::kI64, {});
  scalar.SetFromInt(0, 0);  // ViT's class token: x[:, 0]
  Tensor matrix(DType::kI32, {2, 2});
  for (int i = 0; i < 4; ++i) matrix.SetFromInt(i, std::vector<int>{2, -1, 0, -3}[i]);
  const std::vector<Spec> specs = {
      {{2, 5, 4}, 1, scalar},
      {{6, 3}, 0, Ints({-1, 0, 4, 4})},
      {{2, 3, 4}, -1, matrix},
  };
  for (const Spec& s : specs) {
    OpCase c;
    c.op = OpType::kGather;
    c.attrs.Set("axis", s.axis);
    c.params = {{"indices", s.indices}};
    auto reference = [&](const Tensor& x) {
      const int64_t axis = s.axis < 0 ? s.axis + x.rank() : s.axis;
      Shape out(x.shape().begin(), x.shape().begin() + axis);
      out.insert(out.end(), s.indices.shape().begin(), s.indices.shape().end());
      out.insert(out.end(), x.shape().begin() + axis + 1, x.shape().end());
      Tensor y(x.dtype(), out);
      for (int64_t i = 0; i < y.size(); ++i) {
        const auto o = Unravel(i, out);
        std::vector<int64_t> in(o.begin(), o.begin() + axis);
        std::vector<int64_t> j(o.begin() + axis, o.begin() + axis + s.indices.rank());
        int64_t k = s.indices.IntAt(Ravel(j, s.indices.shape()));
        in.push_back(k < 0 ? k + x.shape()[axis] : k);
        in.insert(in.end(), o.begin() + axis + s.indices.rank(), o.end());
        y.SetFromDouble(i, x.FloatAt(Ravel(in, x.shape())));
      }
      return std::vector<Tensor>{y};
    };
    CheckBothWays(c, s.shape, reference, "gather of " + ShapeToString(s.shape));
  }
}

TEST(GatherOp, AnIndexOutOfRangeFailsTheRun) {
  OpCase c;
  c.op = OpType::kGather;
  c.attrs.Set("axis", int64_t{0});
  c.params = {{"indices", Ints({3})}};
  const Tensor x = Iota(DType::kI64, {3});
  auto g = Specialize(c.MakeGraph(&x, {3}), {});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("out of range"), std::string::npos) << g.status().message();
}

TEST(CastOp, RuntimeCastsTruncateAndSaturate) {
  // float -> int64 -> Slice on the int64 values (a host step between host
  // steps) -> float graph output; float -> bool -> float.
  testing::GraphBuilder b;
  Tensor x(DType::kF32, {6});
  const std::vector<float> values = {-2.7f, -0.5f, 0.f, 0.5f, 3.9f, 1e30f};
  for (int i = 0; i < 6; ++i) x.data<float>()[i] = values[i];
  b.graph().inputs.push_back("x");
  b.graph().values["x"] = {DType::kF32, {6}};
  b.Op(OpType::kCast, "i", {"x"}, {6}).attrs.Set("to", int64_t{7});  // INT64
  b.graph().values["i"].dtype = DType::kI64;
  b.graph().constants["starts"] = Ints({1});
  b.graph().constants["ends"] = Ints({kMax});
  for (const char* name : {"starts", "ends"}) b.graph().values[name] = {DType::kI64, {1}};
  b.Op(OpType::kSlice, "tail", {"i", "starts", "ends"}, {5});
  b.graph().values["tail"].dtype = DType::kI64;
  b.Op(OpType::kCast, "flag", {"x"}, {6}).attrs.Set("to", int64_t{9});  // BOOL
  b.graph().values["flag"].dtype = DType::kBool;
  b.Output("tail");
  b.Output("flag");
  auto g = Specialize(b.graph(), {{"x", {6}}});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  std::vector<Tensor> out = testing::RunGraph(*g, {&x});
  ASSERT_EQ(out.size(), 2u);
  const std::vector<float> tail = {0, 0, 0, 3, static_cast<float>(kMax)};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(out[0].data<float>()[i], tail[i]) << i;
  const std::vector<float> flag = {1, 1, 0, 1, 1, 1};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[1].data<float>()[i], flag[i]) << i;
}

// --- Slice and Split as oneDNN reorders --------------------------------------

// The kinds of the executor's steps for node `name`.
std::vector<std::string> StepKinds(const std::vector<std::string>& steps, const std::string& name) {
  std::vector<std::string> kinds;
  for (const std::string& line : steps) {
    if (line.rfind(name + "  ", 0) != 0) continue;
    const size_t begin = name.size() + 2;
    kinds.push_back(line.substr(begin, line.find("  ", begin) - begin));
  }
  return kinds;
}

TEST(SliceSplitLowering, ReorderWindowsOfABlockedConvOutput) {
  // A Conv's output comes in oneDNN's blocked layout; windows at
  // block-aligned channel offsets read it as it is, others its plain form,
  // and a strided slice runs on the host kernel.
  testing::GraphBuilder b;
  Tensor x = b.Input("x", {2, 4, 6, 6});
  b.Const("w", b.Random({16, 4, 3, 3}));
  Node& conv = b.Op(OpType::kConv, "c", {"x", "w"}, {2, 16, 6, 6});
  conv.attrs.Set("kernel_shape", std::vector<int64_t>{3, 3});
  conv.attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  auto ints = [&](const std::string& name, const std::vector<int64_t>& v) {
    b.graph().constants[name] = Ints(v);
    b.graph().values[name] = {DType::kI64, {static_cast<int64_t>(v.size())}};
  };
  ints("starts", {3, 1});
  ints("ends", {11, kMax});
  ints("axes", {1, -1});
  b.Op(OpType::kSlice, "s", {"c", "starts", "ends", "axes"}, {2, 8, 6, 5});
  ints("starts2", {0});
  ints("ends2", {kMax});
  ints("axes2", {2});
  ints("steps2", {2});
  b.Op(OpType::kSlice, "strided", {"c", "starts2", "ends2", "axes2", "steps2"}, {2, 16, 3, 6});
  ints("split", {8, 8});
  Node& split = b.Op(OpType::kSplit, "a", {"c", "split"}, {2, 8, 6, 6});
  split.outputs.push_back("b");
  split.attrs.Set("axis", int64_t{1});
  b.graph().values["b"] = {DType::kF32, {2, 8, 6, 6}};
  for (const char* out : {"c", "s", "strided", "a", "b"}) b.Output(out);
  auto g = Specialize(b.graph(), {{"x", x.shape()}});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  std::vector<std::string> steps;
  std::vector<Tensor> out = testing::RunGraph(*g, {&x}, {}, &steps);
  ASSERT_EQ(out.size(), 5u);
  const Tensor& c = out[0];
  testing::ExpectSame(
      out[1], Select(c, {All(2), SliceIndices(16, 3, 11, 1), All(6), SliceIndices(6, 1, kMax, 1)}),
      "slice");
  testing::ExpectSame(out[2], Select(c, {All(2), All(16), {0, 2, 4}, All(6)}), "strided slice");
  testing::ExpectSame(out[3], Select(c, {All(2), SliceIndices(16, 0, 8, 1), All(6), All(6)}),
                      "split a");
  testing::ExpectSame(out[4], Select(c, {All(2), SliceIndices(16, 8, 16, 1), All(6), All(6)}),
                      "split b");
  for (const char* name : {"s", "a"}) {
    const std::vector<std::string> kinds = StepKinds(steps, name);
    EXPECT_TRUE(std::count(kinds.begin(), kinds.end(), "host") == 0 && !kinds.empty()) << name;
  }
  const std::vector<std::string> strided = StepKinds(steps, "strided");
  EXPECT_TRUE(!strided.empty() && strided.back() == "host");
}

// --- Opset forms through the importer --------------------------------------

TEST(MovementOpsets, AttributeFormsMatchInputForms) {
  const Tensor x = RandomFloats({3, 4});
  // Slice-1 (attributes) and Slice-13 (inputs) of the same window.
  auto slice1 = testing::NewModel(9);
  testing::AddInput(&slice1, "x", {3, 4});
  auto* s1 = testing::AddNode(&slice1, "Slice", {"x"}, {"y"});
  testing::AddIntsAttr(s1, "starts", {1, -3});
  testing::AddIntsAttr(s1, "ends", {kMax, 3});
  testing::AddIntsAttr(s1, "axes", {0, 1});
  testing::AddOutput(&slice1, "y", {2, 2});
  auto slice13 = testing::NewModel(13);
  testing::AddInput(&slice13, "x", {3, 4});
  testing::AddInt64Initializer(&slice13, "starts", {1, -3});
  testing::AddInt64Initializer(&slice13, "ends", {kMax, 3});
  testing::AddNode(&slice13, "Slice", {"x", "starts", "ends"}, {"y"});
  testing::AddOutput(&slice13, "y", {2, 2});
  const Tensor want_slice = Select(x, {{1, 2}, {1, 2}});
  testing::ExpectSame(testing::RunModel(slice1, x)[0], want_slice, "Slice-1");
  testing::ExpectSame(testing::RunModel(slice13, x)[0], want_slice, "Slice-13");

  // Pad-2 (attributes pads, value), Pad-11 (inputs), Pad-18 (axes input).
  const Tensor want_pad = Select(x, {{-1, 0, 1, 2}, {0, 1, 2, 3, -1, -1}}, 1.5);
  auto pad2 = testing::NewModel(2);
  testing::AddInput(&pad2, "x", {3, 4});
  auto* p2 = testing::AddNode(&pad2, "Pad", {"x"}, {"y"});
  testing::AddIntsAttr(p2, "pads", {1, 0, 0, 2});
  testing::AddFloatAttr(p2, "value", 1.5f);
  testing::AddOutput(&pad2, "y", {4, 6});
  testing::ExpectSame(testing::RunModel(pad2, x)[0], want_pad, "Pad-2");
  auto pad1 = testing::NewModel(1);
  testing::AddInput(&pad1, "x", {3, 4});
  auto* p1 = testing::AddNode(&pad1, "Pad", {"x"}, {"y"});
  testing::AddIntsAttr(p1, "paddings", {1, 0, 0, 2});
  testing::AddFloatAttr(p1, "value", 1.5f);
  testing::AddOutput(&pad1, "y", {4, 6});
  testing::ExpectSame(testing::RunModel(pad1, x)[0], want_pad, "Pad-1 (paddings)");
  auto pad18 = testing::NewModel(18);
  testing::AddInput(&pad18, "x", {3, 4});
  testing::AddInt64Initializer(&pad18, "pads", {0, 1, 2, 0});
  testing::AddInt64Initializer(&pad18, "axes", {-1, 0});
  testing::AddFloatInitializer(&pad18, "value", {}, {1.5f});
  testing::AddNode(&pad18, "Pad", {"x", "pads", "value", "axes"}, {"y"});
  testing::AddOutput(&pad18, "y", {4, 6});
  testing::ExpectSame(testing::RunModel(pad18, x)[0], want_pad, "Pad-18 with axes");

  // Split-11 (split attribute), Split-13 (input), Split-18 (num_outputs).
  auto split11 = testing::NewModel(11);
  testing::AddInput(&split11, "x", {3, 4});
  auto* sp11 = testing::AddNode(&split11, "Split", {"x"}, {"a", "b"});
  testing::AddIntAttr(sp11, "axis", 1);
  testing::AddIntsAttr(sp11, "split", {3, 1});
  testing::AddOutput(&split11, "a", {3, 3});
  testing::AddOutput(&split11, "b", {3, 1});
  auto split18 = testing::NewModel(18);
  testing::AddInput(&split18, "x", {3, 4});
  auto* sp18 = testing::AddNode(&split18, "Split", {"x"}, {"a", "b"});
  testing::AddIntAttr(sp18, "axis", -1);
  testing::AddIntAttr(sp18, "num_outputs", 2);
  testing::AddOutput(&split18, "a", {3, 2});
  testing::AddOutput(&split18, "b", {3, 2});
  std::vector<Tensor> parts = testing::RunModel(split11, x);
  ASSERT_EQ(parts.size(), 2u);
  testing::ExpectSame(parts[0], Select(x, {{0, 1, 2}, {0, 1, 2}}), "Split-11 a");
  testing::ExpectSame(parts[1], Select(x, {{0, 1, 2}, {3}}), "Split-11 b");
  parts = testing::RunModel(split18, x);
  ASSERT_EQ(parts.size(), 2u);
  testing::ExpectSame(parts[1], Select(x, {{0, 1, 2}, {2, 3}}), "Split-18 b");

  // Cast-1 names the type; Cast-6 on gives its number.
  auto cast1 = testing::NewModel(1);
  testing::AddInput(&cast1, "x", {3, 4});
  for (const auto& [from, to, type] :
       std::vector<std::array<std::string, 3>>{{"x", "i", "INT32"}, {"i", "y", "FLOAT"}}) {
    auto* attr = testing::AddNode(&cast1, "Cast", {from}, {to})->add_attribute();
    attr->set_name("to");
    attr->set_type(onnx::AttributeProto::STRING);
    attr->set_s(type);
  }
  testing::AddOutput(&cast1, "y", {3, 4});
  Tensor truncated = x;
  for (int64_t i = 0; i < x.size(); ++i)
    truncated.data<float>()[i] = std::trunc(x.data<float>()[i]);
  testing::ExpectSame(testing::RunModel(cast1, x)[0], truncated, "Cast-1 through int32");
}

}  // namespace
}  // namespace mixq
