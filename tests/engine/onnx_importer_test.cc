#include "engine/onnx/onnx_importer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/passes/specialize.h"
#include "tests/engine/onnx_test_util.h"

namespace mixq {
namespace {

using testing::AddFloatInitializer;
using testing::AddInput;
using testing::AddNode;
using testing::AddOutput;
using testing::NewModel;
using testing::Serialize;

// Imports a backend node test with its non-float inputs frozen into
// initializers (see FreezeParameterInputs), then specialises it to the shapes
// of its float reference inputs.
Graph ImportNodeTest(const std::string& test, const std::string& root = testing::kOnnxNodeDir) {
  const std::filesystem::path dir = root + test;
  const auto data = dir / "test_data_set_0";
  std::vector<std::string> inputs;
  for (int i = 0; std::filesystem::exists(data / ("input_" + std::to_string(i) + ".pb")); ++i) {
    inputs.push_back((data / ("input_" + std::to_string(i) + ".pb")).string());
  }
  std::vector<std::string> runtime_inputs;
  auto bytes =
      testing::FreezeParameterInputs((dir / "model.onnx").string(), inputs, &runtime_inputs);
  EXPECT_TRUE(bytes.ok()) << test;
  if (!bytes.ok()) return Graph();
  auto graph = ImportOnnxFromBytes(*bytes, test);
  EXPECT_TRUE(graph.ok()) << graph.status().ToString();
  if (!graph.ok()) return Graph();
  std::map<std::string, Shape> shapes;
  size_t next = 0;
  for (const std::string& file : runtime_inputs) {
    auto tensor = ReadTensorProtoFile(file);
    if (tensor.ok() && next < graph->inputs.size()) {
      shapes[graph->inputs[next++]] = tensor->shape();
    }
  }
  auto specialised = Specialize(*graph, shapes);
  EXPECT_TRUE(specialised.ok()) << specialised.status().ToString();
  return specialised.ok() ? std::move(specialised).value() : Graph();
}

const Node* FindOp(const Graph& graph, OpType op) {
  for (const Node& node : graph.nodes) {
    if (node.op == op) return &node;
  }
  return nullptr;
}

Shape OutputShape(const Graph& graph, size_t i = 0) {
  const ValueInfo* info = graph.FindValue(graph.outputs.at(i));
  return info ? info->shape : Shape{-99};
}

TEST(OnnxImporter, ConvAutoPadSameBecomesExplicitPads) {
  Graph g = ImportNodeTest("test_conv_with_autopad_same");
  const Node* conv = FindOp(g, OpType::kConv);
  ASSERT_NE(conv, nullptr);
  // 5x5 input, 3x3 kernel, stride 2, SAME_LOWER: total pad 2 per dim.
  EXPECT_EQ(conv->attrs.Ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(conv->attrs.Ints("strides"), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(conv->attrs.Ints("dilations"), (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(conv->attrs.Ints("kernel_shape"), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(conv->attrs.String("auto_pad", ""), "NOTSET");
  EXPECT_EQ(conv->attrs.Int("group", 0), 1);
  EXPECT_EQ(OutputShape(g), (Shape{1, 1, 3, 3}));
}

TEST(OnnxImporter, ConvWithStridesPaddingKeepsOnnxPadOrder) {
  Graph g = ImportNodeTest("test_conv_with_strides_and_asymmetric_padding");
  const Node* conv = FindOp(g, OpType::kConv);
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->attrs.Ints("pads"), (std::vector<int64_t>{1, 0, 1, 0}));
  EXPECT_EQ(OutputShape(g), (Shape{1, 1, 4, 2}));
}

// Issue 20: a node name that is not UTF-8 got as far as a JSON writer
// ("internal error: [json.exception.type_error.316]"); it is refused at
// import, by position, for every kind of name.
TEST(OnnxImporter, NamesThatAreNotUtf8AreRefusedByPosition) {
  const std::string latin1 = "caf\xE9";
  for (int where = 0; where < 3; ++where) {
    onnx::ModelProto model = NewModel(13);
    AddInput(&model, where == 0 ? latin1 : "x", {1, 4});
    AddNode(&model, "Relu", {where == 0 ? latin1 : "x"}, {where == 2 ? latin1 : "y"},
            where == 1 ? latin1 : "relu");
    AddOutput(&model, where == 2 ? latin1 : "y", {1, 4});
    StatusOr<Graph> graph = ImportOnnxFromBytes(Serialize(model), "m.onnx");
    ASSERT_FALSE(graph.ok()) << where;
    EXPECT_EQ(graph.status().code(), StatusCode::kInvalidArgument);
    const std::string expected[] = {"m.onnx: the name of graph input 0 is not valid UTF-8",
                                    "m.onnx: the name of node 0 is not valid UTF-8",
                                    "m.onnx: the name of graph output 0 is not valid UTF-8"};
    EXPECT_EQ(graph.status().message().rfind(expected[where], 0), 0u) << graph.status().message();
    EXPECT_EQ(graph.status().message().find(latin1), std::string::npos);
  }
  onnx::ModelProto fine = NewModel(13);
  AddInput(&fine, "K\xC3\xA4se", {1, 4});
  AddNode(&fine, "Relu", {"K\xC3\xA4se"}, {"y"}, "\xE2\x82\xAC");
  AddOutput(&fine, "y", {1, 4});
  EXPECT_TRUE(ImportOnnxFromBytes(Serialize(fine), "m.onnx").ok());
}

// Issue 20: a model declaring a 10^12-element tensor reached the arena
// allocation (std::bad_alloc); it is refused by the shape rules, before any
// buffer exists, whether the size is declared or computed by a folded op.
TEST(OnnxImporter, TensorsAboveTheElementLimitAreRefusedBeforeAllocation) {
  onnx::ModelProto declared = NewModel(13);
  AddInput(&declared, "x", {1, 1000000, 1000000});
  AddNode(&declared, "Relu", {"x"}, {"y"}, "relu");
  AddOutput(&declared, "y", {1, 1000000, 1000000});
  StatusOr<Graph> graph = ImportOnnxFromBytes(Serialize(declared), "m.onnx");
  ASSERT_FALSE(graph.ok());
  EXPECT_EQ(graph.status().message(),
            "m.onnx: node 'relu' (Relu): output 'y' would have more than 4294967296 elements "
            "[1,1000000,1000000] (the limit of one tensor)");

  onnx::ModelProto folded = NewModel(13);
  AddInput(&folded, "x", {1, 4});
  testing::AddInt64Initializer(&folded, "s", {1000000, 1000000});
  AddNode(&folded, "ConstantOfShape", {"s"}, {"c"}, "fill");
  AddNode(&folded, "Add", {"x", "c"}, {"y"}, "add");
  AddOutput(&folded, "y", {1, 4});
  graph = ImportOnnxFromBytes(Serialize(folded), "m.onnx");
  ASSERT_FALSE(graph.ok());
  EXPECT_NE(graph.status().message().find("node 'fill' (ConstantOfShape): output 'c' would have"),
            std::string::npos)
      << graph.status().message();

  // A symbolic batch fixed to a size that crosses the limit is refused when
  // the model is specialised, naming the input.
  onnx::ModelProto batch = NewModel(13);
  AddInput(&batch, "x", {-1, 65536, 65536});
  AddNode(&batch, "Relu", {"x"}, {"y"}, "relu");
  AddOutput(&batch, "y", {-1, 65536, 65536});
  graph = ImportOnnxFromBytes(Serialize(batch), "m.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().message();
  StatusOr<Graph> fixed = SpecializeForBatch(*graph, 2);
  ASSERT_FALSE(fixed.ok());
  EXPECT_EQ(fixed.status().message().rfind("m.onnx: input 'x' would have more than", 0), 0u)
      << fixed.status().message();
}

TEST(OnnxImporter, GemmAttributesAreExplicit) {
  Graph all = ImportNodeTest("test_gemm_all_attributes");
  const Node* gemm = FindOp(all, OpType::kGemm);
  ASSERT_NE(gemm, nullptr);
  EXPECT_FLOAT_EQ(gemm->attrs.Float("alpha", 0), 0.25f);
  EXPECT_FLOAT_EQ(gemm->attrs.Float("beta", 0), 0.35f);
  EXPECT_EQ(gemm->attrs.Int("transA", 0), 1);
  EXPECT_EQ(gemm->attrs.Int("transB", 0), 1);
  EXPECT_EQ(OutputShape(all), (Shape{3, 5}));

  Graph plain = ImportNodeTest("test_gemm_default_no_bias");
  gemm = FindOp(plain, OpType::kGemm);
  ASSERT_NE(gemm, nullptr);
  EXPECT_FLOAT_EQ(gemm->attrs.Float("alpha", 0), 1.f);
  EXPECT_FLOAT_EQ(gemm->attrs.Float("beta", 0), 1.f);
  EXPECT_EQ(gemm->attrs.Int("transA", 9), 0);
  EXPECT_EQ(gemm->attrs.Int("transB", 9), 0);
  EXPECT_EQ(gemm->inputs.size(), 2u);
}

TEST(OnnxImporter, SoftmaxAxisIsNonNegative) {
  Graph neg = ImportNodeTest("test_softmax_negative_axis");
  const Node* softmax = FindOp(neg, OpType::kSoftmax);
  ASSERT_NE(softmax, nullptr);
  EXPECT_EQ(softmax->attrs.Int("axis", -7), 2);
  EXPECT_EQ(softmax->attrs.Int("coerce_2d", -7), 0);  // opset 13 model

  Graph zero = ImportNodeTest("test_softmax_axis_0");
  softmax = FindOp(zero, OpType::kSoftmax);
  ASSERT_NE(softmax, nullptr);
  EXPECT_EQ(softmax->attrs.Int("axis", -7), 0);
}

TEST(OnnxImporter, SoftmaxBeforeOpset13CoercesTo2d) {
  Graph g = ImportNodeTest("test_Softmax", testing::kOnnxPytorchDir);
  const Node* softmax = FindOp(g, OpType::kSoftmax);
  ASSERT_NE(softmax, nullptr);
  EXPECT_LT(g.opset, 13);
  EXPECT_EQ(softmax->attrs.Int("coerce_2d", 0), 1);
}

TEST(OnnxImporter, SqueezeUnsqueezeFlattenReshapeLowerToReshape) {
  struct Case {
    const char* test;
    Shape shape;
  };
  const Case cases[] = {
      {"test_squeeze", {3, 4, 5}},
      {"test_squeeze_negative_axes", {1, 3, 5}},
      {"test_unsqueeze_axis_0", {1, 3, 4, 5}},
      {"test_unsqueeze_negative_axes", {1, 3, 1, 1, 5}},
      {"test_unsqueeze_two_axes", {3, 1, 4, 5, 1}},
      {"test_flatten_axis0", {1, 120}},
      {"test_flatten_negative_axis1", {24, 5}},
      {"test_reshape_zero_and_negative_dim", {2, 3, 1, 4}},
      {"test_reshape_negative_extended_dims", {1, 2, 3, 4}},
      {"test_reshape_allowzero_reordered", {3, 4, 0}},
  };
  for (const Case& c : cases) {
    Graph g = ImportNodeTest(c.test);
    ASSERT_EQ(g.nodes.size(), 1u) << c.test;
    const Node& node = g.nodes[0];
    EXPECT_EQ(node.op, OpType::kReshape) << c.test;
    EXPECT_EQ(node.inputs.size(), 1u) << c.test;
    EXPECT_EQ(node.attrs.Ints("shape"), c.shape) << c.test;
    EXPECT_EQ(OutputShape(g), c.shape) << c.test;
  }
}

TEST(OnnxImporter, StandaloneBatchNormKeepsEpsilon) {
  // Scale, bias, mean and var are graph inputs here, so nothing folds.
  Graph g = ImportNodeTest("test_batchnorm_epsilon");
  const Node* bn = FindOp(g, OpType::kBatchNorm);
  ASSERT_NE(bn, nullptr);
  EXPECT_NEAR(bn->attrs.Float("epsilon", 0), 1e-2f, 1e-7);
  EXPECT_EQ(OutputShape(g), (Shape{2, 3, 4, 5}));
}

TEST(OnnxImporter, PoolingAttributesAreExplicit) {
  Graph g = ImportNodeTest("test_maxpool_2d_ceil");
  const Node* pool = FindOp(g, OpType::kMaxPool);
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->attrs.Int("ceil_mode", 0), 1);
  EXPECT_EQ(pool->attrs.Ints("pads"), (std::vector<int64_t>{0, 0, 0, 0}));
  EXPECT_EQ(OutputShape(g), (Shape{1, 1, 2, 2}));

  Graph avg = ImportNodeTest("test_averagepool_2d_pads_count_include_pad");
  pool = FindOp(avg, OpType::kAveragePool);
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->attrs.Int("count_include_pad", 0), 1);
  EXPECT_EQ(pool->attrs.Ints("pads"), (std::vector<int64_t>{2, 2, 2, 2}));
}

TEST(OnnxImporter, PytorchDepthwiseConvKeepsGroups) {
  Graph g = ImportNodeTest("test_Conv2d_depthwise_padded", testing::kOnnxPytorchDir);
  const Node* conv = FindOp(g, OpType::kConv);
  ASSERT_NE(conv, nullptr);
  const Shape& w = g.values.at(conv->inputs[1]).shape;
  const Shape& x = g.values.at(conv->inputs[0]).shape;
  EXPECT_EQ(conv->attrs.Int("group", 0), x[1]);
  EXPECT_EQ(w[1], 1);
  EXPECT_TRUE(g.IsConstant(conv->inputs[1]));
}

TEST(OnnxImporter, PytorchConv3dAndConv1d) {
  Graph conv3d = ImportNodeTest("test_Conv3d_dilated_strided", testing::kOnnxPytorchDir);
  const Node* conv = FindOp(conv3d, OpType::kConv);
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->attrs.Ints("kernel_shape").size(), 3u);
  EXPECT_EQ(conv->attrs.Ints("pads").size(), 6u);
  Graph conv1d = ImportNodeTest("test_Conv1d_dilated", testing::kOnnxPytorchDir);
  conv = FindOp(conv1d, OpType::kConv);
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->attrs.Ints("dilations"), (std::vector<int64_t>{2}));
}

TEST(OnnxImporter, ReadsTensorProtoFiles) {
  auto tensor = ReadTensorProtoFile(testing::kOnnxNodeDir +
                                    "test_conv_with_autopad_same/test_data_set_0/input_0.pb");
  ASSERT_TRUE(tensor.ok()) << tensor.status().ToString();
  EXPECT_EQ(tensor->dtype(), DType::kF32);
  ASSERT_EQ(tensor->shape(), (Shape{1, 1, 5, 5}));
  // The test's input is np.arange(25).
  EXPECT_EQ(tensor->data<float>()[0], 0.f);
  EXPECT_EQ(tensor->data<float>()[24], 24.f);

  auto missing = ReadTensorProtoFile("/nonexistent/input_0.pb");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

// --- malformed models (tests/data/onnx, written by scripts/make_malformed_models.py)

struct BadModel {
  const char* file;
  StatusCode code;
  const char* node;    // "" when the failure is about the whole file
  const char* reason;  // a fragment of the reason
};

TEST(OnnxImporter, MalformedModelsFailWithOneLineNamingFileAndNode) {
  const BadModel cases[] = {
      {"truncated.onnx", StatusCode::kDataLoss, "", "truncated or corrupt"},
      {"random_bytes.onnx", StatusCode::kDataLoss, "", "not"},
      {"unsupported_op.onnx", StatusCode::kUnimplemented, "node 'n1' (NonMaxSuppression)",
       "unsupported op"},
      {"missing_initializer.onnx", StatusCode::kInvalidArgument, "node 'conv1' (Conv)",
       "input 'w_missing' is not produced"},
      {"conv_channel_mismatch.onnx", StatusCode::kInvalidArgument, "node 'conv_bad' (Conv)",
       "has 3 channels"},
      {"conv_weight_rank.onnx", StatusCode::kInvalidArgument, "node 'conv3' (Conv)",
       "weight 'w3' has 3 dims, expected 4"},
      {"add_broadcast_mismatch.onnx", StatusCode::kInvalidArgument, "node 'add_bad' (Add)",
       "do not broadcast"},
      {"gemm_inner_dims.onnx", StatusCode::kInvalidArgument, "node 'gemm_bad' (Gemm)",
       "inner dimensions do not match"},
  };
  for (const BadModel& c : cases) {
    const std::string path = testing::kMalformedDir + c.file;
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    auto graph = ImportOnnx(path);
    ASSERT_FALSE(graph.ok()) << c.file;
    const std::string& message = graph.status().message();
    EXPECT_EQ(graph.status().code(), c.code) << message;
    EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;  // starts with the file
    EXPECT_NE(message.find(c.node), std::string::npos) << message;
    EXPECT_NE(message.find(c.reason), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(OnnxImporter, ExactMessageForWrongWeightRank) {
  const std::string path = testing::kMalformedDir + "conv_weight_rank.onnx";
  auto graph = ImportOnnx(path);
  EXPECT_EQ(graph.status().message(),
            path + ": node 'conv3' (Conv): weight 'w3' has 3 dims, expected 4");
}

TEST(OnnxImporter, ValidModelFromTheSameGeneratorImports) {
  // Guards the malformed cases: the hand-written protobuf encoder does make
  // valid models, so each bad file fails for its own reason.
  auto graph = ImportOnnx(testing::kMalformedDir + "valid_conv.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  EXPECT_EQ(graph->QuantizableLayers(), (std::vector<std::string>{"conv1"}));
  EXPECT_EQ(graph->values.at("y").shape, (Shape{1, 4, 1, 1}));
}

TEST(OnnxImporter, MissingFileIsNotFound) {
  auto graph = ImportOnnx("/nonexistent/model.onnx");
  EXPECT_EQ(graph.status().code(), StatusCode::kNotFound);
  EXPECT_NE(graph.status().message().find("/nonexistent/model.onnx"), std::string::npos);
}

// --- in-memory models

TEST(OnnxImporter, UnnamedNodesGetOpTypeAndIndex) {
  auto model = NewModel(13);
  AddInput(&model, "x", {1, 4});
  AddFloatInitializer(&model, "w", {4, 2}, std::vector<float>(8, 1.f));
  AddNode(&model, "Relu", {"x"}, {"r"});
  AddNode(&model, "MatMul", {"r", "w"}, {"y"});
  AddOutput(&model, "y", {1, 2});
  auto graph = ImportOnnxFromBytes(Serialize(model), "mem.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  ASSERT_EQ(graph->nodes.size(), 2u);
  EXPECT_EQ(graph->nodes[0].name, "Relu_0");
  EXPECT_EQ(graph->nodes[1].name, "MatMul_1");
}

TEST(OnnxImporter, DynamicBatchIsMinusOne) {
  auto model = NewModel(13);
  AddInput(&model, "x", {-1, 3, 8, 8});
  AddFloatInitializer(&model, "w", {2, 3, 3, 3}, std::vector<float>(54, 0.5f));
  AddNode(&model, "Conv", {"x", "w"}, {"y"}, "conv");
  AddOutput(&model, "y", {-1, 2, 6, 6});
  auto graph = ImportOnnxFromBytes(Serialize(model), "dyn.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  EXPECT_EQ(graph->values.at("x").shape, (Shape{-1, 3, 8, 8}));
  EXPECT_EQ(graph->values.at("y").shape, (Shape{-1, 2, 6, 6}));
  EXPECT_EQ(graph->nodes[0].attrs.Ints("kernel_shape"), (std::vector<int64_t>{3, 3}));
}

TEST(OnnxImporter, ClipBoundsFromInputsBecomeAttributes) {
  auto model = NewModel(13);
  AddInput(&model, "x", {2, 3});
  AddFloatInitializer(&model, "lo", {}, {0.f});
  AddNode(&model, "Clip", {"x", "lo"}, {"y"}, "clip");
  AddOutput(&model, "y", {2, 3});
  auto graph = ImportOnnxFromBytes(Serialize(model), "clip.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  const Node& clip = graph->nodes[0];
  EXPECT_EQ(clip.inputs, (std::vector<std::string>{"x"}));
  EXPECT_EQ(clip.attrs.Float("min", -1), 0.f);
  EXPECT_EQ(clip.attrs.Float("max", 0), std::numeric_limits<float>::infinity());
}

TEST(OnnxImporter, ClipWithRuntimeBoundIsUnimplemented) {
  auto model = NewModel(13);
  AddInput(&model, "x", {2, 3});
  AddInput(&model, "lo", {});
  AddNode(&model, "Clip", {"x", "lo"}, {"y"}, "clip");
  AddOutput(&model, "y", {2, 3});
  auto graph = ImportOnnxFromBytes(Serialize(model), "clip.onnx");
  EXPECT_EQ(graph.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(graph.status().message().find("clip.onnx: node 'clip' (Clip)"), std::string::npos);
}

TEST(OnnxImporter, Float16InitializerIsWidened) {
  auto model = NewModel(13);
  AddInput(&model, "x", {3});
  auto* t = model.mutable_graph()->add_initializer();
  t->set_name("h");
  t->set_data_type(onnx::TensorProto::FLOAT16);
  t->add_dims(3);
  const uint16_t halves[3] = {0x3C00, 0xC000, 0x3555};  // 1, -2, ~0.33325
  t->set_raw_data(std::string(reinterpret_cast<const char*>(halves), sizeof(halves)));
  AddNode(&model, "Add", {"x", "h"}, {"y"}, "add");
  AddOutput(&model, "y", {3});
  auto graph = ImportOnnxFromBytes(Serialize(model), "half.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  const Tensor& h = graph->constants.at("h");
  ASSERT_EQ(h.dtype(), DType::kF32);
  EXPECT_EQ(h.data<float>()[0], 1.f);
  EXPECT_EQ(h.data<float>()[1], -2.f);
  EXPECT_NEAR(h.data<float>()[2], 0.33325f, 1e-5);
}

TEST(OnnxImporter, ExternalDataIsUnimplemented) {
  auto model = NewModel(13);
  AddInput(&model, "x", {3});
  auto* t = model.mutable_graph()->add_initializer();
  t->set_name("ext");
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(3);
  t->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* entry = t->add_external_data();
  entry->set_key("location");
  entry->set_value("weights.bin");
  AddNode(&model, "Add", {"x", "ext"}, {"y"}, "add");
  AddOutput(&model, "y", {3});
  auto graph = ImportOnnxFromBytes(Serialize(model), "ext.onnx");
  EXPECT_EQ(graph.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(graph.status().message().find("ext.onnx: initializer 'ext'"), std::string::npos);
  EXPECT_NE(graph.status().message().find("external"), std::string::npos);
}

TEST(OnnxImporter, BatchNormTrainingModeIsUnimplemented) {
  auto model = NewModel(15);
  AddInput(&model, "x", {1, 2, 2, 2});
  for (const char* p : {"s", "b", "m", "v"}) AddFloatInitializer(&model, p, {2}, {1.f, 1.f});
  auto* bn = AddNode(&model, "BatchNormalization", {"x", "s", "b", "m", "v"}, {"y"}, "bn");
  testing::AddIntAttr(bn, "training_mode", 1);
  AddOutput(&model, "y", {1, 2, 2, 2});
  auto graph = ImportOnnxFromBytes(Serialize(model), "bn.onnx");
  EXPECT_EQ(graph.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(graph.status().message().find("node 'bn' (BatchNormalization)"), std::string::npos);
}

}  // namespace
}  // namespace mixq

namespace mixq {
namespace {

// Flips bytes of real models at seeded random positions: whatever the
// importer answers, it must not crash, and an error must stay one line.
TEST(OnnxImporter, CorruptedModelsNeverCrash) {
  const std::string models[] = {
      testing::kMalformedDir + "valid_conv.onnx",
      testing::kOnnxNodeDir + "test_gemm_all_attributes/model.onnx",
      testing::kOnnxPytorchDir + "test_Conv2d_depthwise_padded/model.onnx",
  };
  std::mt19937 rng(42);
  int failures = 0;
  for (const std::string& path : models) {
    std::ifstream in(path, std::ios::binary);
    const std::string original((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    ASSERT_FALSE(original.empty()) << path;
    for (int trial = 0; trial < 400; ++trial) {
      std::string bytes = original;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
      auto graph = ImportOnnxFromBytes(bytes, "fuzz.onnx");
      if (graph.ok()) continue;
      ++failures;
      EXPECT_EQ(graph.status().message().find('\n'), std::string::npos);
      EXPECT_EQ(graph.status().message().rfind("fuzz.onnx: ", 0), 0u) << graph.status().message();
    }
  }
  EXPECT_GT(failures, 0);
}

}  // namespace
}  // namespace mixq
