// QDQ export and import: a config exported as a QDQ model and imported again
// gives back the same layer precisions, the same activation parameters (bit
// for bit) and weights equal to the dequantised int8 weights, which mixq
// requantises to the same int8 values.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <set>

#include "common/sha256.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/onnx/qdq_export.h"
#include "engine/onnx/qdq_import.h"
#include "engine/passes/fusion.h"
#include "engine/passes/input_shapes.h"
#include "engine/passes/specialize.h"
#include "engine/quant/weight_scales.h"
#include "engine/runtime/executor.h"
#include "tests/engine/int8_test_util.h"
#include "tests/engine/minmax_calibration.h"
#include "tests/engine/onnx_test_util.h"
#include "tests/engine/symbolic_models.h"

namespace mixq {
namespace {

const std::string kSrc = MIXQ_SOURCE_DIR;
const std::string kModel = kSrc + "/models/fm_resnet.onnx";

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// One calibration for every test here (200 test images, FP32 min/max).
const Calibration& ResnetCalibration() {
  static const Calibration calibration = [] {
    auto graph = ImportOnnx(kModel);
    EXPECT_TRUE(graph.ok()) << graph.status().ToString();
    auto spec = LoadDatasetSpec(kSrc + "/configs/datasets/fashion_mnist_test.yaml");
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    auto dataset = Dataset::Open(*spec);
    EXPECT_TRUE(dataset.ok()) << dataset.status().ToString();
    return test::MinMaxCalibration(*graph, **dataset, 0, 200);
  }();
  return calibration;
}

const Node* FindNode(const Graph& graph, const std::string& name) {
  for (const Node& node : graph.nodes) {
    if (node.name == name) return &node;
  }
  return nullptr;
}

int ChannelAxis(const Node& node) {
  if (node.op == OpType::kConv) return 0;
  if (node.op == OpType::kGemm) return node.attrs.Int("transB", 0) ? 0 : 1;
  return 1;
}

// Every other layer INT8, starting with the first.
PrecisionConfig AlternatingConfig(const Graph& graph) {
  PrecisionConfig config;
  int i = 0;
  for (const std::string& name : graph.QuantizableLayers()) {
    config.layers[name] = (i++ % 2 == 0) ? Precision::kInt8 : Precision::kFp32;
  }
  return config;
}

StatusOr<QdqModel> RoundTrip(const PrecisionConfig& config, const QdqExportOptions& options) {
  MIXQ_ASSIGN_OR_RETURN(std::string bytes,
                        ExportQdq(ReadBytes(kModel), kModel, config, ResnetCalibration(), options));
  MIXQ_ASSIGN_OR_RETURN(Graph graph, ImportOnnxFromBytes(bytes, "export"));
  return QdqToQuantSpec(std::move(graph));
}

TEST(QdqExport, RoundTripKeepsPrecisionsActivationsAndRequantisedWeights) {
  auto original = ImportOnnx(kModel);
  ASSERT_TRUE(original.ok()) << original.status().ToString();
  const PrecisionConfig config = AlternatingConfig(*original);
  ASSERT_GE(config.Count(Precision::kInt8), 2);
  ASSERT_GE(config.Count(Precision::kFp32), 2);
  auto imported = RoundTrip(config, {});
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_TRUE(imported->has_qdq);
  EXPECT_EQ(imported->spec.layers, config.layers);
  EXPECT_EQ(imported->spec.seven_bit, SevenBitWeights::kNone);

  // The same float graph: same nodes, ops and outputs.
  const Graph& graph = imported->graph;
  ASSERT_EQ(graph.nodes.size(), original->nodes.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    EXPECT_EQ(graph.nodes[i].name, original->nodes[i].name);
    EXPECT_EQ(graph.nodes[i].op, original->nodes[i].op);
    EXPECT_EQ(graph.nodes[i].inputs[0], original->nodes[i].inputs[0]) << graph.nodes[i].name;
    EXPECT_EQ(graph.nodes[i].outputs, original->nodes[i].outputs);
  }
  EXPECT_EQ(graph.outputs, original->outputs);

  // Activation parameters: exactly the calibration's, for the tensors INT8
  // layers read and write.
  ASSERT_FALSE(imported->spec.activations.empty());
  for (const auto& [tensor, params] : imported->spec.activations) {
    auto it = ResnetCalibration().activations.find(tensor);
    ASSERT_NE(it, ResnetCalibration().activations.end()) << tensor;
    EXPECT_EQ(std::memcmp(&params.dequant_scale, &it->second.dequant_scale, sizeof(float)), 0)
        << tensor;
    EXPECT_EQ(params.is_unsigned, it->second.is_unsigned) << tensor;
  }
  EXPECT_TRUE(imported->spec.activations.count("input"));  // the first layer's input

  for (const auto& [name, precision] : config.layers) {
    const Node* before = FindNode(*original, name);
    const Node* after = FindNode(graph, name);
    ASSERT_TRUE(before && after) << name;
    const Tensor& w = original->constants.at(before->inputs[1]);
    const Tensor& w2 = graph.constants.at(after->inputs[1]);
    ASSERT_EQ(w2.shape(), w.shape());
    if (precision == Precision::kFp32) {
      EXPECT_EQ(std::memcmp(w.raw(), w2.raw(), w.bytes()), 0) << name;
      continue;
    }
    const int axis = ChannelAxis(*before);
    auto scales = PerChannelWeightScales(w, {axis, false});
    ASSERT_TRUE(scales.ok());
    auto q = QuantizeWeights(w, *scales, axis);
    ASSERT_TRUE(q.ok());
    // Imported weights are the dequantised int8 weights ...
    int64_t inner = w.size() / w.shape()[static_cast<size_t>(axis)];
    if (axis == 1) inner = 1;
    const int64_t channels = w.shape()[static_cast<size_t>(axis)];
    int64_t differing = 0;
    for (int64_t i = 0; i < w.size(); ++i) {
      const float s = scales->dequant_scales[static_cast<size_t>((i / inner) % channels)];
      ASSERT_EQ(w2.data<float>()[i], static_cast<float>(q->data<int8_t>()[i]) * s) << name << i;
      differing += w2.data<float>()[i] != w.data<float>()[i];
    }
    EXPECT_GT(differing, 0) << name << ": weights were not quantised";
    // ... which requantise to the same int8 values.
    auto scales2 = PerChannelWeightScales(w2, {axis, false});
    ASSERT_TRUE(scales2.ok());
    auto q2 = QuantizeWeights(w2, *scales2, axis);
    ASSERT_TRUE(q2.ok());
    EXPECT_EQ(std::memcmp(q->raw(), q2->raw(), q->bytes()), 0) << name;
  }
}

TEST(QdqExport, AllInt8LeavesTheGraphOutputInFloat) {
  auto original = ImportOnnx(kModel);
  ASSERT_TRUE(original.ok());
  PrecisionConfig config =
      UniformPrecisionConfig(Precision::kInt8, original->QuantizableLayers(), "");
  auto imported = RoundTrip(config, {});
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_EQ(imported->graph.outputs, original->outputs);
  // The last Gemm writes the graph output, which mixq writes in float: no
  // Q/DQ there, so no parameters come back for it.
  ASSERT_TRUE(ResnetCalibration().activations.count(original->outputs[0]));
  EXPECT_FALSE(imported->spec.activations.count(original->outputs[0]));
  EXPECT_EQ(imported->graph.Producer(original->outputs[0])->op, OpType::kGemm);
  EXPECT_EQ(imported->spec.layers, config.layers);
}

TEST(QdqExport, SevenBitWeightsSurviveTheRoundTrip) {
  auto original = ImportOnnx(kModel);
  ASSERT_TRUE(original.ok());
  PrecisionConfig config =
      UniformPrecisionConfig(Precision::kInt8, original->QuantizableLayers(), "");
  for (SevenBitWeights mode : {SevenBitWeights::kFirstLayer, SevenBitWeights::kAll}) {
    auto imported = RoundTrip(config, {mode, {}});
    ASSERT_TRUE(imported.ok()) << imported.status().ToString();
    EXPECT_EQ(imported->spec.seven_bit, mode) << SevenBitWeightsName(mode);
  }
}

TEST(QdqExport, RefusesMissingCalibrationAndUnknownLayers) {
  auto original = ImportOnnx(kModel);
  ASSERT_TRUE(original.ok());
  PrecisionConfig config =
      UniformPrecisionConfig(Precision::kInt8, original->QuantizableLayers(), "");
  Calibration calibration = ResnetCalibration();
  calibration.activations.erase("input");
  auto out = ExportQdq(ReadBytes(kModel), kModel, config, calibration, {});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("'input'"), std::string::npos) << out.status().message();

  config.layers["no_such_conv"] = Precision::kInt8;
  out = ExportQdq(ReadBytes(kModel), kModel, config, ResnetCalibration(), {});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("no_such_conv"), std::string::npos);
}

// Edits the exported model and expects the import to refuse it, naming `node`.
void ExpectImportRefuses(const std::function<void(onnx::ModelProto*)>& edit,
                         const std::string& node, const std::string& reason) {
  auto original = ImportOnnx(kModel);
  ASSERT_TRUE(original.ok());
  PrecisionConfig config =
      UniformPrecisionConfig(Precision::kInt8, original->QuantizableLayers(), "");
  auto bytes = ExportQdq(ReadBytes(kModel), kModel, config, ResnetCalibration(), {});
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  onnx::ModelProto model;
  ASSERT_TRUE(model.ParseFromString(*bytes));
  edit(&model);
  auto graph = ImportOnnxFromBytes(model.SerializeAsString(), "edited");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  auto imported = QdqToQuantSpec(std::move(graph).value());
  ASSERT_FALSE(imported.ok());
  EXPECT_EQ(imported.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(imported.status().message().find(node), std::string::npos)
      << imported.status().message();
  EXPECT_NE(imported.status().message().find(reason), std::string::npos)
      << imported.status().message();
}

onnx::TensorProto* Initializer(onnx::ModelProto* model, const std::string& name) {
  for (auto& t : *model->mutable_graph()->mutable_initializer()) {
    if (t.name() == name) return &t;
  }
  ADD_FAILURE() << "no initializer " << name;
  return nullptr;
}

TEST(QdqImport, RefusesNonZeroZeroPoint) {
  ExpectImportRefuses(
      [](onnx::ModelProto* model) {
        onnx::TensorProto* zp = Initializer(model, "input_zero_point");
        if (zp) zp->set_raw_data(std::string(1, '\x05'));
      },
      "input_QuantizeLinear", "non-zero zero point 5");
}

TEST(QdqImport, RefusesPerAxisActivationScales) {
  ExpectImportRefuses(
      [](onnx::ModelProto* model) {
        // The stem's output gets one scale per channel (a legal per-axis
        // QuantizeLinear); the channel count is that of the stem's weight
        // scales, which the first node (the stem weights' DQ) reads.
        const onnx::GraphProto& graph = model->graph();
        onnx::TensorProto* weight_scale = Initializer(model, graph.node(0).input(1));
        ASSERT_TRUE(weight_scale != nullptr);
        const int64_t channels = weight_scale->dims(0);
        for (const onnx::NodeProto& node : graph.node()) {
          if (node.op_type() != "QuantizeLinear" || node.input(0) == "input") continue;
          onnx::TensorProto* scale = Initializer(model, node.input(1));
          ASSERT_TRUE(scale != nullptr);
          std::string values;
          for (int64_t c = 0; c < channels; ++c) values += scale->raw_data();
          scale->set_raw_data(values);
          scale->add_dims(channels);
          break;
        }
      },
      "_QuantizeLinear", "per-axis activation scales");
}

TEST(QdqImport, RefusesDequantizeWithoutQuantize) {
  ExpectImportRefuses(
      [](onnx::ModelProto* model) {
        // DQ reads the float input directly: the Q before it is gone.
        auto* nodes = model->mutable_graph()->mutable_node();
        for (int i = 0; i < nodes->size(); ++i) {
          if (nodes->Get(i).name() == "input_DequantizeLinear") {
            nodes->Mutable(i)->set_input(0, "input_QuantizeLinear_Output");
          }
          if (nodes->Get(i).name() == "input_QuantizeLinear") {
            nodes->Mutable(i)->set_op_type("Identity");
            nodes->Mutable(i)->mutable_input()->DeleteSubrange(1, 2);
          }
        }
      },
      "input_DequantizeLinear", "without a QuantizeLinear");
}

// fm_mobilenet: depthwise convolutions, Clip (ReLU6) fused into them with
// bounds from Constant nodes, residual Adds that are not fused.
TEST(QdqExport, MobilenetRoundTrip) {
  const std::string path = kSrc + "/models/fm_mobilenet.onnx";
  auto original = ImportOnnx(path);
  ASSERT_TRUE(original.ok()) << original.status().ToString();
  auto spec = LoadDatasetSpec(kSrc + "/configs/datasets/fashion_mnist_test.yaml");
  ASSERT_TRUE(spec.ok());
  auto dataset = Dataset::Open(*spec);
  ASSERT_TRUE(dataset.ok());
  Calibration calibration = test::MinMaxCalibration(*original, **dataset, 5000, 200);
  // Kept in the build folder for scripts/bench_peers --qdq, as the
  // coordinator tests keep fm_resnet's.
  auto sha = Sha256File(path);
  ASSERT_TRUE(sha.ok());
  calibration.model_sha256 = *sha;
  std::filesystem::create_directories(std::string(MIXQ_BINARY_DIR) + "/qdq");
  ASSERT_TRUE(
      SaveCalibration(calibration, std::string(MIXQ_BINARY_DIR) + "/qdq/fm_mobilenet.minmax.json")
          .ok());
  const PrecisionConfig config = AlternatingConfig(*original);
  auto bytes = ExportQdq(ReadBytes(path), path, config, calibration, {});
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto graph = ImportOnnxFromBytes(*bytes, "export");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  auto imported = QdqToQuantSpec(std::move(graph).value());
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_EQ(imported->spec.layers, config.layers);
  ASSERT_EQ(imported->graph.nodes.size(), original->nodes.size());
  for (const auto& [tensor, params] : imported->spec.activations) {
    ASSERT_TRUE(calibration.activations.count(tensor)) << tensor;
    EXPECT_EQ(params.dequant_scale, calibration.activations.at(tensor).dequant_scale) << tensor;
    EXPECT_EQ(params.is_unsigned, calibration.activations.at(tensor).is_unsigned) << tensor;
  }
  // Each INT8 layer's input and fused output carry parameters.
  for (const auto& [name, precision] : config.layers) {
    if (precision != Precision::kInt8) continue;
    const Node* node = FindNode(imported->graph, name);
    ASSERT_TRUE(node != nullptr);
    EXPECT_TRUE(imported->spec.activations.count(node->inputs[0])) << name;
  }
}

// Where INT8 execution needs parameters besides layer inputs and outputs:
// residuals of fused sums, and non-fused Adds of INT8 values; pools keep
// their input's parameters and get none of their own.
TEST(QdqExport, QuantisesResidualsAndAddsButNotPools) {
  for (const std::string model : {"fm_resnet", "fm_mobilenet"}) {
    const std::string path = kSrc + "/models/" + model + ".onnx";
    auto original = ImportOnnx(path);
    ASSERT_TRUE(original.ok());
    auto spec = LoadDatasetSpec(kSrc + "/configs/datasets/fashion_mnist_test.yaml");
    ASSERT_TRUE(spec.ok());
    auto dataset = Dataset::Open(*spec);
    ASSERT_TRUE(dataset.ok());
    const Calibration calibration = test::MinMaxCalibration(*original, **dataset, 0, 50);
    const PrecisionConfig config =
        UniformPrecisionConfig(Precision::kInt8, original->QuantizableLayers(), "");
    auto bytes = ExportQdq(ReadBytes(path), path, config, calibration, {});
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    auto graph = ImportOnnxFromBytes(*bytes, "export");
    ASSERT_TRUE(graph.ok());
    auto imported = QdqToQuantSpec(std::move(graph).value());
    ASSERT_TRUE(imported.ok()) << imported.status().ToString();
    const auto& activations = imported->spec.activations;

    auto specialised = SpecializeForBatch(*original, 1);
    ASSERT_TRUE(specialised.ok());
    const Graph fused = FusePostOps(*specialised);
    int sums = 0, adds = 0, pools = 0;
    for (const Node& node : fused.nodes) {
      for (const PostOp& op : node.post_ops) {
        if (op.kind != PostOp::Kind::kSum) continue;
        ++sums;
        EXPECT_TRUE(activations.count(op.sum_input)) << model << ": residual " << op.sum_input;
      }
      if (node.op == OpType::kAdd) {
        ++adds;
        EXPECT_TRUE(activations.count(node.outputs[0])) << model << ": add " << node.outputs[0];
      }
      if (node.op == OpType::kGlobalAveragePool) {
        ++pools;
        EXPECT_FALSE(activations.count(node.outputs[0])) << model << ": pool " << node.name;
      }
    }
    EXPECT_GT(sums + adds, 0) << model;
    EXPECT_EQ(pools, 1) << model;
  }
}

// ONNX Runtime's tool quantises graph outputs too: Gemm -> Q -> DQ -> logits.
TEST(QdqImport, QuantisedGraphOutputKeepsItsName) {
  auto original = ImportOnnx(kModel);
  ASSERT_TRUE(original.ok());
  PrecisionConfig config =
      UniformPrecisionConfig(Precision::kInt8, original->QuantizableLayers(), "");
  auto bytes = ExportQdq(ReadBytes(kModel), kModel, config, ResnetCalibration(), {});
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  onnx::ModelProto model;
  ASSERT_TRUE(model.ParseFromString(*bytes));
  const std::string out = original->outputs[0];
  onnx::GraphProto* graph = model.mutable_graph();
  for (auto& node : *graph->mutable_node()) {
    for (auto& name : *node.mutable_output()) {
      if (name == out) name = out + "_float";
    }
  }
  const float scale = 0.25f;
  onnx::TensorProto* s = graph->add_initializer();
  s->set_name("out_scale");
  s->set_data_type(onnx::TensorProto::FLOAT);
  s->set_raw_data(&scale, sizeof(scale));
  onnx::TensorProto* zp = graph->add_initializer();
  zp->set_name("out_zero_point");
  zp->set_data_type(onnx::TensorProto::INT8);
  zp->set_raw_data(std::string(1, '\0'));
  onnx::NodeProto* q = graph->add_node();
  q->set_op_type("QuantizeLinear");
  q->set_name("out_q");
  *q->add_input() = out + "_float";
  *q->add_input() = "out_scale";
  *q->add_input() = "out_zero_point";
  *q->add_output() = "out_quantised";
  onnx::NodeProto* dq = graph->add_node();
  dq->set_op_type("DequantizeLinear");
  dq->set_name("out_dq");
  *dq->add_input() = "out_quantised";
  *dq->add_input() = "out_scale";
  *dq->add_input() = "out_zero_point";
  *dq->add_output() = out;

  auto imported_graph = ImportOnnxFromBytes(model.SerializeAsString(), "edited");
  ASSERT_TRUE(imported_graph.ok()) << imported_graph.status().ToString();
  auto imported = QdqToQuantSpec(std::move(imported_graph).value());
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_EQ(imported->graph.outputs, original->outputs);
  ASSERT_TRUE(imported->spec.activations.count(out));
  EXPECT_EQ(imported->spec.activations.at(out).dequant_scale, scale);
  EXPECT_FALSE(imported->spec.activations.at(out).is_unsigned);
  ASSERT_TRUE(imported->graph.Producer(out) != nullptr);
  EXPECT_EQ(imported->graph.Producer(out)->op, OpType::kGemm);
  EXPECT_EQ(imported->graph.nodes.size(), original->nodes.size());
  EXPECT_FALSE(imported->graph.values.count(out + "_float"));
}

// x -> conv + SiLU (Sigmoid, Mul) = a; GlobalAveragePool(a) -> conv ->
// Sigmoid = s; Mul(s, a) -> conv -> y, exported all INT8: SiLU's output is
// quantised once, after the post-op it becomes (not the Sigmoid's output),
// and so is the squeeze-excitation multiply, which INT8 execution runs as
// an INT8 follower; the re-imported model runs exactly as the original.
TEST(QdqExport, SqueezeExcitationWithSiluRoundTrip) {
  onnx::ModelProto model = testing::NewModel(13);
  testing::AddInput(&model, "x", {1, 4, 6, 6});
  testing::AddOutput(&model, "y", {1, 8, 6, 6});
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-0.5f, 0.5f);
  auto weights = [&](const std::string& name, const std::vector<int64_t>& dims) {
    std::vector<float> v(static_cast<size_t>(dims[0] * dims[1] * dims[2] * dims[3]));
    for (float& f : v) f = dist(rng);
    testing::AddFloatInitializer(&model, name, dims, v);
  };
  weights("w0", {8, 4, 3, 3});
  weights("w1", {8, 8, 1, 1});
  weights("w2", {8, 8, 1, 1});
  testing::AddIntsAttr(testing::AddNode(&model, "Conv", {"x", "w0"}, {"c0"}, "conv0"), "pads",
                       {1, 1, 1, 1});
  testing::AddNode(&model, "Sigmoid", {"c0"}, {"sig0"}, "sig0");
  testing::AddNode(&model, "Mul", {"c0", "sig0"}, {"a"}, "silu");
  testing::AddNode(&model, "GlobalAveragePool", {"a"}, {"pooled"}, "pool");
  testing::AddNode(&model, "Conv", {"pooled", "w1"}, {"c1"}, "fc");
  testing::AddNode(&model, "Sigmoid", {"c1"}, {"s"}, "gate");
  testing::AddNode(&model, "Mul", {"s", "a"}, {"scaled"}, "scale");
  testing::AddNode(&model, "Conv", {"scaled", "w2"}, {"y"}, "project");
  const std::string bytes = testing::Serialize(model);

  auto original = ImportOnnxFromBytes(bytes, "se");
  ASSERT_TRUE(original.ok()) << original.status().ToString();
  auto specialised = SpecializeForBatch(*original, 1);
  ASSERT_TRUE(specialised.ok()) << specialised.status().ToString();
  Tensor x(DType::kF32, {1, 4, 6, 6});
  for (int64_t i = 0; i < x.size(); ++i) x.data<float>()[i] = 2.f * dist(rng);
  Calibration calibration;
  calibration.activations = testing::MinMaxParams(*specialised, {&x});
  const PrecisionConfig config =
      UniformPrecisionConfig(Precision::kInt8, original->QuantizableLayers(), "");
  auto exported = ExportQdq(bytes, "se", config, calibration, {});
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  auto graph = ImportOnnxFromBytes(*exported, "export");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  auto imported = QdqToQuantSpec(std::move(graph).value());
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  const auto& activations = imported->spec.activations;
  EXPECT_TRUE(activations.count("a"));
  EXPECT_FALSE(activations.count("sig0"));
  EXPECT_TRUE(activations.count("scaled"));
  EXPECT_TRUE(activations.count("s"));

  // The same INT8 execution from the config and from the QDQ model.
  std::vector<std::vector<float>> outputs;
  for (const auto& [g, spec] :
       {std::pair<const Graph*, QuantSpec>{&*original,
                                           testing::AllInt8(*specialised, calibration.activations)},
        std::pair<const Graph*, QuantSpec>{&imported->graph, imported->spec}}) {
    auto s = SpecializeForBatch(*g, 1);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ExecutorOptions options;
    options.quant = spec;
    options.quant.seven_bit = SevenBitWeights::kNone;
    auto compiled = CompiledModel::Compile(*s, options);
    ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
    std::vector<Tensor> out = (*compiled)->MakeOutputs();
    ASSERT_TRUE((*compiled)->Run({&x}, &out).ok());
    outputs.emplace_back(out[0].data<float>(), out[0].data<float>() + out[0].size());
  }
  EXPECT_EQ(outputs[0], outputs[1]);
}

TEST(QdqImport, PlainModelHasNoSpec) {
  auto model = ImportOnnxWithQdq(kModel);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_FALSE(model->has_qdq);
  EXPECT_FALSE(model->spec.AnyInt8());
  EXPECT_TRUE(model->spec.activations.empty());
}

// A model with symbolic height and width exports once the shapes to work
// with are given, and the QDQ model keeps the input's declared shape.
TEST(QdqExport, SymbolicHeightAndWidthExportWithInputShapesAndStaySymbolic) {
  const std::string bytes = testing::SymbolicClassifier();
  auto graph = ImportOnnxFromBytes(bytes, "sym.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  ASSERT_TRUE(FixInputShapes({{"", {1, 1, 28, 28}}}, &*graph).ok());
  auto spec = LoadDatasetSpec(kSrc + "/configs/datasets/fashion_mnist_test.yaml");
  ASSERT_TRUE(spec.ok());
  auto dataset = Dataset::Open(*spec);
  ASSERT_TRUE(dataset.ok());
  const Calibration calibration = test::MinMaxCalibration(*graph, **dataset, 0, 50);
  const PrecisionConfig config =
      UniformPrecisionConfig(Precision::kInt8, graph->QuantizableLayers(), "");
  QdqExportOptions options;
  EXPECT_FALSE(ExportQdq(bytes, "sym.onnx", config, calibration, options).ok());
  options.input_shapes = {{"x", {1, 1, 28, 28}}};
  auto exported = ExportQdq(bytes, "sym.onnx", config, calibration, options);
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  auto imported = ImportOnnxFromBytes(*exported, "export");
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_EQ(imported->FindValue("x")->shape, (Shape{-1, 1, -1, -1}));
  auto qdq = QdqToQuantSpec(std::move(*imported));
  ASSERT_TRUE(qdq.ok()) << qdq.status().ToString();
  EXPECT_TRUE(qdq->has_qdq);
  EXPECT_EQ(qdq->spec.layers, config.layers);
}

}  // namespace
}  // namespace mixq
