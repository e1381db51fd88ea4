// Models the fuzz targets onnx_model and qdq_model (fuzz/) once crashed on,
// or answered with an internal error, built here by hand: each must now be
// refused with one line naming the node or tensor, or run. The fuzzers'
// own inputs are replayed by fuzz_replay.* (fuzz/regressions/).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common/precision_config.h"
#include "engine/ir/graph.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/onnx/qdq_export.h"
#include "engine/onnx/qdq_import.h"
#include "engine/passes/specialize.h"
#include "engine/quant/calibration_file.h"
#include "engine/runtime/executor.h"
#include "tests/engine/onnx_test_util.h"

namespace mixq {
namespace {

using testing::AddFloatInitializer;
using testing::AddInput;
using testing::AddNode;
using testing::AddOutput;
using testing::NewModel;
using testing::Serialize;

// fuzz/regressions/onnx_model/gather-bool-indices.onnx: shape inference took
// Gather's bool indices; the host kernel refused them only at run time,
// with an internal error.
TEST(FuzzFindings, GatherWithBoolIndicesIsRefusedAtImport) {
  onnx::ModelProto model = NewModel(13);
  AddInput(&model, "data", {5, 4});
  AddInput(&model, "indices", {3});
  model.mutable_graph()->mutable_input(1)->mutable_type()->mutable_tensor_type()->set_elem_type(
      onnx::TensorProto::BOOL);
  AddNode(&model, "Gather", {"data", "indices"}, {"y"}, "gather");
  AddOutput(&model, "y", {3, 4});
  StatusOr<Graph> graph = ImportOnnxFromBytes(Serialize(model), "m.onnx");
  ASSERT_FALSE(graph.ok());
  EXPECT_EQ(graph.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(graph.status().message(),
            "m.onnx: node 'gather' (Gather): indices must be int32 or int64, not bool");
}

// fuzz/regressions/onnx_model/convtranspose-int32.onnx: ConvTranspose of an
// int32 input compiled to the host kernel, which refused it at run time with
// an internal error.
TEST(FuzzFindings, ConvTransposeOfIntegersIsRefusedAtImport) {
  onnx::ModelProto model = NewModel(13);
  AddInput(&model, "x", {1, 1, 3, 3});
  model.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(
      onnx::TensorProto::INT32);
  AddFloatInitializer(&model, "w", {1, 1, 2, 2}, {1, 2, 3, 4});
  AddNode(&model, "ConvTranspose", {"x", "w"}, {"y"}, "deconv");
  AddOutput(&model, "y", {1, 1, 4, 4});
  StatusOr<Graph> graph = ImportOnnxFromBytes(Serialize(model), "m.onnx");
  ASSERT_FALSE(graph.ok());
  EXPECT_EQ(graph.status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(graph.status().message(),
            "m.onnx: node 'deconv' (ConvTranspose): input of type int32 (float32 and float64 are "
            "supported)");
}

// fuzz/regressions/qdq_model/clip-nan-bound.onnx: a Clip with a NaN bound
// after a Conv reached oneDNN as a post-op, which refused it: an internal
// error at compile.
TEST(FuzzFindings, ClipWithANanOrCrossedBoundIsRefusedAtImport) {
  for (float lo : {std::numeric_limits<float>::quiet_NaN(), 7.0f}) {
    onnx::ModelProto model = NewModel(13);
    AddInput(&model, "x", {1, 4});
    AddFloatInitializer(&model, "lo", {}, {lo});
    AddFloatInitializer(&model, "hi", {}, {6.0f});
    AddNode(&model, "Clip", {"x", "lo", "hi"}, {"y"}, "clip");
    AddOutput(&model, "y", {1, 4});
    StatusOr<Graph> graph = ImportOnnxFromBytes(Serialize(model), "m.onnx");
    ASSERT_FALSE(graph.ok()) << lo;
    EXPECT_EQ(graph.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(graph.status().message(),
              std::isnan(lo) ? "m.onnx: node 'clip' (Clip): a bound is NaN"
                             : "m.onnx: node 'clip' (Clip): min 7.000000 is above max 6.000000");
  }
}

// fuzz/regressions/qdq_model/unnamed-layer-renamed-by-export.onnx: an
// unnamed layer is known as "<op>_<index>", and the Q/DQ nodes the export
// inserted before it shifted its index: the QDQ model read back with another
// layer name than the config's.
TEST(FuzzFindings, ExportKeepsTheNamesOfUnnamedLayers) {
  onnx::ModelProto model = NewModel(13);
  AddInput(&model, "a", {-1, 3});
  AddInput(&model, "b", {3, 4});
  AddNode(&model, "MatMul", {"a", "b"}, {"c"});
  AddOutput(&model, "c", {-1, 4});
  const std::string bytes = Serialize(model);
  StatusOr<Graph> graph = ImportOnnxFromBytes(bytes, "m.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().message();
  ASSERT_EQ(graph->QuantizableLayers(), std::vector<std::string>{"MatMul_0"});
  const PrecisionConfig config = UniformPrecisionConfig(Precision::kInt8, {"MatMul_0"}, "");
  Calibration calibration;
  calibration.activations["a"] = {0.5f, false, 63.5f};
  calibration.activations["b"] = {0.25f, false, 31.75f};
  calibration.activations["c"] = {0.125f, false, 15.875f};
  StatusOr<std::string> exported = ExportQdq(bytes, "m.onnx", config, calibration, {});
  ASSERT_TRUE(exported.ok()) << exported.status().message();
  StatusOr<Graph> again = ImportOnnxFromBytes(*exported, "qdq.onnx");
  ASSERT_TRUE(again.ok()) << again.status().message();
  StatusOr<QdqModel> qdq = QdqToQuantSpec(std::move(*again));
  ASSERT_TRUE(qdq.ok()) << qdq.status().message();
  EXPECT_EQ(qdq->spec.layers, config.layers);
  EXPECT_EQ(qdq->graph.QuantizableLayers(), std::vector<std::string>{"MatMul_0"});
}

// fuzz/regressions/onnx_model/float-attribute-read-as-int.onnx: a float
// attribute far outside int64's range, read where an integer was expected,
// was converted with undefined behaviour.
TEST(FuzzFindings, AFloatAttributeReadAsAnIntegerSaturates) {
  Attributes attrs;
  attrs.Set("big", -4.1e37f);
  attrs.Set("huge", 1e30f);
  attrs.Set("nan", std::numeric_limits<float>::quiet_NaN());
  attrs.Set("two", 2.9f);
  EXPECT_EQ(attrs.Int("big", 5), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(attrs.Int("huge", 5), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(attrs.Int("nan", 5), 5);
  EXPECT_EQ(attrs.Int("two", 5), 2);
}

// A host kernel's refusal at run time keeps its code: an index out of range
// in the caller's input is the caller's error, not an internal one (the
// fuzz check for internal errors relies on it).
TEST(FuzzFindings, AHostKernelRefusingItsInputAtRunTimeIsNotAnInternalError) {
  onnx::ModelProto model = NewModel(13);
  AddFloatInitializer(&model, "table", {5, 4}, std::vector<float>(20, 1.0f));
  AddInput(&model, "ids", {3});
  model.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(
      onnx::TensorProto::INT64);
  AddNode(&model, "Gather", {"table", "ids"}, {"y"}, "lookup");
  AddOutput(&model, "y", {3, 4});
  StatusOr<Graph> graph = ImportOnnxFromBytes(Serialize(model), "m.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().message();
  StatusOr<Graph> specialised = Specialize(*graph, {});
  ASSERT_TRUE(specialised.ok()) << specialised.status().message();
  auto compiled = CompiledModel::Compile(*specialised, ExecutorOptions());
  ASSERT_TRUE(compiled.ok()) << compiled.status().message();
  Tensor ids(DType::kI64, {3});
  ids.data<int64_t>()[0] = 0;
  ids.data<int64_t>()[1] = 7;
  ids.data<int64_t>()[2] = 1;
  std::vector<Tensor> outputs = (*compiled)->MakeOutputs();
  Status ran = (*compiled)->Run({&ids}, &outputs);
  ASSERT_FALSE(ran.ok());
  EXPECT_EQ(ran.code(), StatusCode::kInvalidArgument) << ran.message();
  EXPECT_EQ(ran.message().rfind("Run: host of 'lookup': Gather: index 7", 0), 0u) << ran.message();
}

}  // namespace
}  // namespace mixq
