// QDQ export and import of attention's INT8 products (MatMuls of two
// run-time tensors): the export puts a Q -> DQ pair on both inputs (B with
// its calibrated parameters, no int8 weight), the import makes such a MatMul
// INT8 again, and the re-imported model runs exactly as the INT8 run it came
// from.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <random>

#include "engine/onnx/onnx_importer.h"
#include "engine/onnx/qdq_export.h"
#include "engine/onnx/qdq_import.h"
#include "engine/runtime/executor.h"
#include "tests/engine/graph_builder.h"
#include "tests/engine/int8_test_util.h"
#include "tests/engine/onnx_test_util.h"

namespace mixq {
namespace {

// x [1, 16, 8] -> Q, K, V projections -> softmax(Q.K^T).V, opset 13. With
// `constant_nodes` the projection weights are Constant nodes, as torch
// writes some weights, rather than initializers.
std::string AttentionModel(bool constant_nodes = false) {
  onnx::ModelProto model = testing::NewModel(13);
  testing::AddInput(&model, "x", {1, 16, 8});
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (const char* w : {"wq", "wk", "wv"}) {
    std::vector<float> values(64);
    for (float& v : values) v = dist(rng);
    testing::AddFloatInitializer(&model, w, {8, 8}, values);
    if (constant_nodes) {
      onnx::TensorProto tensor = model.graph().initializer(model.graph().initializer_size() - 1);
      model.mutable_graph()->mutable_initializer()->RemoveLast();
      onnx::AttributeProto* value =
          testing::AddNode(&model, "Constant", {}, {w}, std::string(w) + "_const")->add_attribute();
      value->set_name("value");
      value->set_type(onnx::AttributeProto::TENSOR);
      *value->mutable_t() = tensor;
    }
  }
  testing::AddNode(&model, "MatMul", {"x", "wq"}, {"q"}, "q_proj");
  testing::AddNode(&model, "MatMul", {"x", "wk"}, {"k"}, "k_proj");
  testing::AddNode(&model, "MatMul", {"x", "wv"}, {"v"}, "v_proj");
  testing::AddIntsAttr(testing::AddNode(&model, "Transpose", {"k"}, {"kt"}, "kt"), "perm",
                       {0, 2, 1});
  testing::AddNode(&model, "MatMul", {"q", "kt"}, {"scores"}, "scores");
  testing::AddIntAttr(testing::AddNode(&model, "Softmax", {"scores"}, {"p"}, "softmax"), "axis",
                      -1);
  testing::AddNode(&model, "MatMul", {"p", "v"}, {"y"}, "context");
  testing::AddOutput(&model, "y", {1, 16, 8});
  return testing::Serialize(model);
}

std::vector<Tensor> RunInt8(const Graph& graph, const QuantSpec& spec, const Tensor& x) {
  ExecutorOptions options;
  options.quant = spec;
  return testing::RunGraph(graph, {&x}, options);
}

// Exports the attention model all-INT8, imports the export and checks that
// the products come back INT8 with their parameters and run the same.
void ExpectInt8RoundTrip(bool constant_nodes) {
  const std::string bytes = AttentionModel(constant_nodes);
  auto original = ImportOnnxFromBytes(bytes, "attention");
  ASSERT_TRUE(original.ok()) << original.status().ToString();
  testing::GraphBuilder inputs;
  const Tensor x = inputs.Random({1, 16, 8});
  Calibration calibration;
  calibration.activations = testing::MinMaxParams(*original, {&x});
  PrecisionConfig config;
  for (const std::string& name : original->QuantizableLayers()) {
    config.layers[name] = Precision::kInt8;
  }
  ASSERT_EQ(config.layers.size(), 5u);

  auto exported = ExportQdq(bytes, "attention", config, calibration, {});
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  onnx::ModelProto qdq;
  ASSERT_TRUE(qdq.ParseFromString(*exported));
  int dq_of_kt = 0, dq_of_v = 0;
  for (const auto& node : qdq.graph().node()) {
    if (node.op_type() != "DequantizeLinear") continue;
    dq_of_kt += node.input(0).rfind("kt_", 0) == 0;
    dq_of_v += node.input(0).rfind("v_", 0) == 0;
  }
  EXPECT_EQ(dq_of_kt, 1);
  EXPECT_EQ(dq_of_v, 1);

  auto graph = ImportOnnxFromBytes(*exported, "export");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  auto imported = QdqToQuantSpec(std::move(graph).value());
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_EQ(imported->spec.layers, config.layers);
  for (const char* tensor : {"q", "kt", "p", "v"}) {
    ASSERT_EQ(imported->spec.activations.count(tensor), 1u) << tensor;
    const QuantParams& a = imported->spec.activations.at(tensor);
    const QuantParams& b = calibration.activations.at(tensor);
    EXPECT_EQ(std::memcmp(&a.dequant_scale, &b.dequant_scale, sizeof(float)), 0) << tensor;
    EXPECT_EQ(a.is_unsigned, b.is_unsigned) << tensor;
  }

  QuantSpec spec;
  spec.layers = config.layers;
  spec.activations = calibration.activations;
  const std::vector<Tensor> before = RunInt8(*original, spec, x);
  const std::vector<Tensor> after = RunInt8(imported->graph, imported->spec, x);
  ASSERT_EQ(before.size(), 1u);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(std::memcmp(before[0].raw(), after[0].raw(), before[0].bytes()), 0);
}

TEST(QdqAttention, ProductsRoundTripAsInt8AndRunTheSame) { ExpectInt8RoundTrip(false); }

// torch writes some weights as Constant nodes; the export failed on them
// ("weight ... is not an initializer") and so did a search's last step.
TEST(QdqAttention, WeightsGivenAsConstantNodesAreQuantizedToo) { ExpectInt8RoundTrip(true); }

}  // namespace
}  // namespace mixq
