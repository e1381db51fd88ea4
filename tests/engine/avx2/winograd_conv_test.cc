// mixq's Winograd F(m x m, 3x3) convolution against the reference
// convolution, on its own (every layout it reads, partial edge tiles, pads,
// activations) and inside compiled models (where the lowering picks it, and
// where it must leave the convolution to oneDNN).
#include "engine/runtime/lower/winograd_conv.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/passes/fusion.h"
#include "engine/runtime/isa.h"
#include "tests/engine/graph_builder.h"
#include "tests/engine/int8_test_util.h"
#include "tests/engine/reference_ops.h"

namespace mixq {
namespace {

using testing::ExpectClose;
using testing::GraphBuilder;
using testing::MinMaxParams;
using testing::RelativeError;
using testing::RunGraph;
using tag = dnnl::memory::format_tag;

// Element (n, c, h, w) of a plain NCHW tensor, at its place in `layout`.
int64_t Offset(const ChannelBlockedLayout& l, int64_t n, int64_t c, int64_t h, int64_t w) {
  return n * l.n_stride + (c / l.block) * l.block_stride + h * l.h_stride + w * l.w_stride +
         c % l.block;
}

ChannelBlockedLayout LayoutOf(const Shape& s, tag t) {
  dnnl::memory::desc desc({s[0], s[1], s[2], s[3]}, dnnl::memory::data_type::f32, t);
  StatusOr<ChannelBlockedLayout> layout = ChannelBlockedLayoutOf(desc);
  EXPECT_TRUE(layout.ok()) << layout.status().ToString();
  return layout.ok() ? *layout : ChannelBlockedLayout{};
}

std::vector<float> ToLayout(const Tensor& t, const ChannelBlockedLayout& l) {
  const Shape& s = t.shape();
  std::vector<float> out(static_cast<size_t>(t.size()));
  for (int64_t i = 0; i < t.size(); ++i) {
    const int64_t w = i % s[3], h = i / s[3] % s[2], c = i / (s[3] * s[2]) % s[1];
    const int64_t n = i / (s[3] * s[2] * s[1]);
    out[static_cast<size_t>(Offset(l, n, c, h, w))] = t.data<float>()[i];
  }
  return out;
}

Tensor FromLayout(const std::vector<float>& data, const Shape& s, const ChannelBlockedLayout& l) {
  Tensor t(DType::kF32, s);
  for (int64_t i = 0; i < t.size(); ++i) {
    const int64_t w = i % s[3], h = i / s[3] % s[2], c = i / (s[3] * s[2]) % s[1];
    const int64_t n = i / (s[3] * s[2] * s[1]);
    t.data<float>()[i] = data[static_cast<size_t>(Offset(l, n, c, h, w))];
  }
  return t;
}

struct Case {
  std::string label;
  Shape x;
  int64_t oc;
  int64_t pad_begin, pad_end;
  tag layout;
};

TEST(WinogradConv, MatchesTheReferenceConvolution) {
  // Output sizes that are and are not multiples of the tile, pads 0 to 2 and
  // asymmetric ones, and every layout the lowering may hand over.
  const std::vector<Case> cases = {
      {"7x5 pad 1, nChw8c", {2, 16, 7, 5}, 24, 1, 1, tag::nChw8c},
      {"8x8 pad 1, nChw16c", {1, 32, 8, 8}, 16, 1, 1, tag::nChw16c},
      {"6x6 no pad, nhwc", {1, 8, 6, 6}, 8, 0, 0, tag::nhwc},
      {"5x9 pad 2, nChw8c", {1, 8, 5, 9}, 16, 2, 2, tag::nChw8c},
      {"pads 1 then 0, nhwc", {2, 16, 10, 11}, 8, 1, 0, tag::nhwc},
  };
  struct Act {
    std::string label;
    Epilogue act;
    float (*f)(float);
  };
  Epilogue relu, leaky, clip;
  relu.negative_slope = 0.f;
  leaky.negative_slope = 0.1f;
  clip.negative_slope = 0.f;
  clip.low = 0.f;
  clip.high = 0.5f;
  const std::vector<Act> acts = {
      {"none", Epilogue{}, [](float v) { return v; }},
      {"relu", relu, [](float v) { return std::max(v, 0.f); }},
      {"leaky", leaky, [](float v) { return v < 0 ? 0.1f * v : v; }},
      {"clip", clip, [](float v) { return std::min(std::max(v, 0.f), 0.5f); }},
  };
  for (const Case& c : cases) {
    for (const Act& act : acts) {
      for (bool residual : {false, true}) {
        for (int tile : {2, 4}) {
          SCOPED_TRACE(c.label + ", " + act.label + (residual ? " after a residual sum" : "") +
                       ", F(" + std::to_string(tile) + ")");
          Act a = act;
          a.act.add_destination = residual;
          GraphBuilder b;
          Tensor x = b.Random(c.x);
          Tensor w = b.Random({c.oc, c.x[1], 3, 3}, -0.5f, 0.5f);
          Tensor bias = b.Random({c.oc});
          const Shape y_shape = {c.x[0], c.oc, c.x[2] + c.pad_begin + c.pad_end - 2,
                                 c.x[3] + c.pad_begin + c.pad_end - 2};
          Tensor sum = ref::Conv(x, w, &bias, y_shape, {1, 1}, {1, 1},
                                 {c.pad_begin, c.pad_begin, c.pad_end, c.pad_end}, 1);
          // The destination starts as the residual (added) or as garbage.
          Tensor initial = b.Random(y_shape);
          if (residual)
            sum = ref::Binary(sum, initial, y_shape, [](float p, float q) { return p + q; });
          Tensor want = ref::Unary(sum, a.f);
          const ChannelBlockedLayout src = LayoutOf(c.x, c.layout);
          const ChannelBlockedLayout dst = LayoutOf(y_shape, c.layout);
          WinogradConvShape shape{c.x[0],     c.x[1],     c.x[2],      c.x[3],     c.oc,
                                  y_shape[2], y_shape[3], c.pad_begin, c.pad_begin};
          auto conv = WinogradConv::Create(shape, tile, w.data<float>(), bias.data<float>(), a.act,
                                           src, dst, 2);
          ASSERT_TRUE(conv.ok()) << conv.status().ToString();
          std::vector<float> x_data = ToLayout(x, src);
          std::vector<float> y_data = ToLayout(initial, dst);
          std::vector<float> scratch((*conv)->scratch_floats());
          ASSERT_TRUE((*conv)->Run(x_data.data(), y_data.data(), scratch.data()).ok());
          ExpectClose(FromLayout(y_data, y_shape, dst), want);
        }
      }
    }
  }
}

TEST(WinogradConv, ReadsOnlyLayoutsWithChannelsInBlocksOfEight) {
  EXPECT_EQ(LayoutOf({2, 16, 5, 5}, tag::nChw8c).block, 8);
  EXPECT_EQ(LayoutOf({2, 32, 5, 5}, tag::nChw16c).block, 16);
  const ChannelBlockedLayout nhwc = LayoutOf({2, 24, 5, 7}, tag::nhwc);
  EXPECT_EQ(nhwc.block, 24);
  EXPECT_EQ(nhwc.w_stride, 24);
  EXPECT_EQ(nhwc.h_stride, 24 * 7);
  auto of = [](const dnnl::memory::dims& d, tag t) {
    return ChannelBlockedLayoutOf(dnnl::memory::desc(d, dnnl::memory::data_type::f32, t)).ok();
  };
  EXPECT_FALSE(of({2, 16, 5, 5}, tag::nchw));    // channels not innermost
  EXPECT_FALSE(of({2, 12, 5, 5}, tag::nChw8c));  // 12 channels padded to 16
  EXPECT_FALSE(of({2, 16, 5}, tag::nCw8c));      // not 2-D

  GraphBuilder b;
  Tensor w = b.Random({12, 12, 3, 3});
  WinogradConvShape shape{1, 12, 6, 6, 12, 6, 6, 1, 1};
  const ChannelBlockedLayout l = LayoutOf({1, 16, 6, 6}, tag::nhwc);
  EXPECT_FALSE(WinogradConv::Create(shape, 4, w.data<float>(), nullptr, {}, l, l, 1).ok());
  shape = {1, 16, 6, 6, 16, 6, 6, 1, 1};
  Tensor w16 = b.Random({16, 16, 3, 3});
  EXPECT_FALSE(WinogradConv::Create(shape, 3, w16.data<float>(), nullptr, {}, l, l, 1).ok());
  EXPECT_TRUE(WinogradConv::Create(shape, 4, w16.data<float>(), nullptr, {}, l, l, 1).ok());
}

// The implementation the compiled model runs for node `name`.
std::string ImplOf(const std::vector<std::string>& lines, const std::string& name) {
  const std::string prefix = name + "  convolution  ";
  for (const std::string& line : lines) {
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
  }
  return "(none)";
}

void AddConv(GraphBuilder* b, const std::string& name, const std::string& input,
             const Shape& x_shape, int64_t oc, int64_t stride, int64_t group, const Shape& y) {
  b->Const(name + "_w", b->Random({oc, x_shape[1] / group, 3, 3}, -0.5f, 0.5f));
  b->Const(name + "_b", b->Random({oc}));
  Node& node = b->Op(OpType::kConv, name, {input, name + "_w", name + "_b"}, y);
  node.attrs.Set("kernel_shape", std::vector<int64_t>{3, 3});
  node.attrs.Set("strides", std::vector<int64_t>{stride, stride});
  node.attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  node.attrs.Set("group", group);
}

// A graph's outputs and steps compiled with and without the Winograd kernel
// (otherwise with `options`).
struct OnOff {
  std::vector<Tensor> with, without;
  std::vector<std::string> with_lines, without_lines;
};
OnOff RunOnAndOff(const Graph& graph, const Tensor& x, ExecutorOptions options) {
  OnOff r;
  options.winograd = true;
  r.with = RunGraph(graph, {&x}, options, &r.with_lines);
  options.winograd = false;
  r.without = RunGraph(graph, {&x}, options, &r.without_lines);
  return r;
}

TEST(WinogradConv, CompiledModelsUseItWhereItAppliesAndMatchDirect) {
  // wino: 3x3 stride 1 + ReLU, 4 x 7 x 7 = 196 tiles, 58 MFLOP: Winograd.
  // residual: + relu, then ReLU (sum and ReLU post-ops, a ResNet basic
  // block's second convolution): Winograd. strided, grouped: oneDNN.
  GraphBuilder b;
  const Shape s = {4, 32, 28, 28};
  Tensor x = b.Input("x", s);
  AddConv(&b, "wino", "x", s, 32, 1, 1, s);
  b.Op(OpType::kRelu, "relu", {"wino"}, s);
  AddConv(&b, "strided", "relu", s, 32, 2, 1, {4, 32, 14, 14});
  AddConv(&b, "grouped", "relu", s, 32, 1, 2, s);
  AddConv(&b, "residual", "grouped", s, 32, 1, 1, s);
  b.Op(OpType::kAdd, "sum", {"residual", "relu"}, s);
  b.Op(OpType::kRelu, "out", {"sum"}, s);
  b.Output("strided");
  b.Output("out");
  ExecutorOptions options;
  options.threads = 2;
  const OnOff r = RunOnAndOff(b.graph(), x, options);
  ASSERT_EQ(r.with.size(), 2u);
  ASSERT_EQ(r.without.size(), 2u);
  EXPECT_EQ(ImplOf(r.with_lines, "wino"), "mixq:winograd_f4x4_3x3");
  EXPECT_EQ(ImplOf(r.with_lines, "residual"), "mixq:winograd_f4x4_3x3");
  for (const char* name : {"strided", "grouped"}) {
    EXPECT_EQ(ImplOf(r.with_lines, name).find("winograd"), std::string::npos) << name;
  }
  for (const char* name : {"wino", "strided", "grouped", "residual"}) {
    EXPECT_EQ(ImplOf(r.without_lines, name).find("winograd"), std::string::npos) << name;
  }
  // Three convolutions of fan-in 288 downstream of the Winograd one grow its
  // rounding differences (1e-5 relative) past 1e-4: compare at the 1e-3 of
  // ONNX's conformance tests.
  ExpectClose(r.with[0], r.without[0], 1e-3f);
  ExpectClose(r.with[1], r.without[1], 1e-3f);
}

TEST(WinogradConv, LeavesLayersWithTooLittleWorkToOneDnn) {
  // On 2 threads: 512 channels at 7x7, batch 1: 231 MFLOP but 4 tiles, 2
  // per thread.
  // 16 channels at 28x28, batch 8: GEMMs too thin. 32 channels at 14x14,
  // batch 2: 7 MFLOP. 32 channels at 28x28, batch 4: 58 MFLOP, the only one
  // with enough work.
  struct Case {
    std::string name;
    Shape x;
    bool winograd;
  };
  const std::vector<Case> cases = {{"few_tiles", {1, 512, 7, 7}, false},
                                   {"thin", {8, 16, 28, 28}, false},
                                   {"small", {2, 32, 14, 14}, false},
                                   {"enough", {4, 32, 28, 28}, true}};
  GraphBuilder b;
  for (const Case& c : cases) {
    b.Input(c.name + "_x", c.x);
    AddConv(&b, c.name, c.name + "_x", c.x, c.x[1], 1, 1, c.x);
    b.Output(c.name);
  }
  ExecutorOptions options;
  options.threads = 2;
  auto model = CompiledModel::Compile(b.graph(), options);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const std::vector<std::string> lines = (*model)->Describe();
  for (const Case& c : cases) {
    EXPECT_EQ(ImplOf(lines, c.name) == "mixq:winograd_f4x4_3x3", c.winograd)
        << c.name << ": " << ImplOf(lines, c.name);
  }
}

TEST(WinogradConv, ReadsAndFeedsInt8Neighbours) {
  // int8_in (INT8) -> wino (FP32, Winograd) -> int8_out (INT8): the FP32
  // layer reads a dequantised tensor and its output is quantised again.
  GraphBuilder b;
  const Shape s = {4, 32, 28, 28};
  Tensor x = b.Input("x", s);
  AddConv(&b, "int8_in", "x", s, 32, 1, 1, s);
  b.Op(OpType::kRelu, "relu_in", {"int8_in"}, s);
  AddConv(&b, "wino", "relu_in", s, 32, 1, 1, s);
  b.Op(OpType::kRelu, "relu", {"wino"}, s);
  AddConv(&b, "int8_out", "relu", s, 32, 1, 1, s);
  b.Output("int8_out");
  ExecutorOptions options;
  options.threads = 2;
  options.quant.activations = MinMaxParams(b.graph(), {&x});
  options.quant.layers = {{"int8_in", Precision::kInt8}, {"int8_out", Precision::kInt8}};
  if (!testing::HasVnni(EffectiveIsaName())) options.quant.seven_bit = SevenBitWeights::kAll;
  const OnOff r = RunOnAndOff(b.graph(), x, options);
  ASSERT_EQ(r.with.size(), 1u);
  ASSERT_EQ(r.without.size(), 1u);
  EXPECT_EQ(ImplOf(r.with_lines, "wino"), "mixq:winograd_f4x4_3x3");
  EXPECT_EQ(ImplOf(r.without_lines, "wino").find("winograd"), std::string::npos);
  for (const char* name : {"int8_in", "int8_out"}) {
    EXPECT_NE(ImplOf(r.with_lines, name).find("int8"), std::string::npos)
        << ImplOf(r.with_lines, name);
  }
  // Rounding differences may move a value across one INT8 step in int8_out.
  EXPECT_LT(RelativeError(r.with[0], r.without[0]), 1e-3);
}

}  // namespace
}  // namespace mixq
