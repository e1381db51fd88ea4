// Models the fuzz targets onnx_model and qdq_model (fuzz/) once crashed on,
// or answered with an internal error, built here by hand: each must now be
// refused with one line naming the node or tensor, or run. The fuzzers'
// own inputs are replayed by fuzz_replay.* (fuzz/regressions/).
#include <gtest/gtest.h>

#include <string>

#include "engine/ir/graph.h"
#include "engine/onnx/onnx_importer.h"
#include "tests/engine/onnx_test_util.h"

namespace mixq {
namespace {

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

}  // namespace
}  // namespace mixq
