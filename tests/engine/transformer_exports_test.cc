// Transformer encoders exported by torch (tests/data/transformer, written by
// scripts/transformer_exports.py testdata): each imports with int64 token-id
// and mask inputs, its written-out LayerNorm and GELU become one op each (so
// oneDNN runs layer normalization and one eltwise), and it runs through
// Specialize() and the executor, as `mixq infer` does, to torch's own
// outputs within 1e-3 of their largest magnitude.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "common/npy_reader.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/passes/input_shapes.h"
#include "engine/passes/specialize.h"
#include "engine/runtime/executor.h"

namespace mixq {
namespace {

const std::string kDir = std::string(MIXQ_SOURCE_DIR) + "/tests/data/transformer/";

struct ExportCase {
  std::string name;
  std::vector<std::string> inputs;  // graph inputs, in order
  int layer_norms;                  // LayerNormalization nodes after Specialize()
  int gelus;                        // Gelu nodes after Specialize()
};

// What scripts/transformer_exports.py's TESTDATA holds: torch's
// nn.TransformerEncoder (pre-norm, padding mask, exact GELU, 2 layers and a
// final norm) at opset 13, where torch decomposes LayerNorm; a hand-written
// BERT with LayerNorm written as mean/var/sqrt and tanh GELU written out, at
// opset 13; the same BERT with nn.LayerNorm and F.gelu at opset 17, where
// LayerNormalization is an op.
const std::vector<ExportCase> kCases = {
    {"encoder_pad_o13", {"input_ids", "attention_mask"}, 5, 2},
    {"bert_decomposed_o13", {"input_ids", "attention_mask", "token_type_ids"}, 3, 1},
    {"bert_layernorm_o17", {"input_ids", "attention_mask"}, 5, 2},
};

// Names a case in test listings (gtest would print its bytes).
void PrintTo(const ExportCase& c, std::ostream* os) { *os << c.name; }

Tensor ReadTensor(const std::string& path) {
  StatusOr<RawArray> array = ReadNpy(path);
  EXPECT_TRUE(array.ok()) << array.status().ToString();
  if (!array.ok()) return Tensor();
  Tensor t(array->dtype, array->shape);
  if (t.bytes() > 0) std::memcpy(t.raw(), array->data.data(), t.bytes());
  return t;
}

// max |got - want| / max |want|.
double RelativeError(const Tensor& got, const Tensor& want) {
  double diff = 0.0;
  double scale = 0.0;
  for (int64_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::abs(got.FloatAt(i) - want.FloatAt(i)));
    scale = std::max(scale, std::abs(want.FloatAt(i)));
  }
  return diff / scale;
}

std::map<std::string, int> OpCounts(const Graph& graph) {
  std::map<std::string, int> counts;
  for (const Node& node : graph.nodes) ++counts[OpTypeName(node.op)];
  return counts;
}

class TransformerExportTest : public ::testing::TestWithParam<ExportCase> {};

TEST_P(TransformerExportTest, ImportsFusesAndMatchesTorch) {
  const ExportCase& c = GetParam();
  StatusOr<Graph> graph = ImportOnnx(kDir + c.name + ".onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  ASSERT_EQ(graph->inputs, c.inputs);

  InputShapes shapes;
  std::vector<Tensor> inputs;
  for (const std::string& name : c.inputs) {
    const ValueInfo* info = graph->FindValue(name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_EQ(info->dtype, DType::kI64) << name;
    // Dynamic batch and sequence, as torch.onnx.export's dynamic_axes wrote them.
    EXPECT_EQ(info->shape, (Shape{-1, -1})) << name;
    inputs.push_back(ReadTensor(kDir + c.name + "." + name + ".npy"));
    ASSERT_EQ(inputs.back().dtype(), DType::kI64) << name;
    shapes[name] = inputs.back().shape();
  }
  ASSERT_TRUE(FixInputShapes(shapes, &*graph).ok());
  StatusOr<Graph> specialised = Specialize(*graph, shapes);
  ASSERT_TRUE(specialised.ok()) << specialised.status().ToString();

  const std::map<std::string, int> ops = OpCounts(*specialised);
  auto count = [&](const std::string& op) { return ops.count(op) ? ops.at(op) : 0; };
  EXPECT_EQ(count("LayerNormalization"), c.layer_norms);
  EXPECT_EQ(count("Gelu"), c.gelus);
  // Nothing of the written-out forms is left over.
  for (const char* op : {"Erf", "Pow", "Sqrt"}) EXPECT_EQ(count(op), 0) << op;

  StatusOr<std::unique_ptr<CompiledModel>> compiled =
      CompiledModel::Compile(*specialised, ExecutorOptions{});
  ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
  int layer_norm_steps = 0;
  for (const StepInfo& step : (*compiled)->steps()) {
    layer_norm_steps += step.kind == "layer_normalization";
  }
  EXPECT_EQ(layer_norm_steps, c.layer_norms);

  std::vector<const Tensor*> input_ptrs;
  for (const Tensor& t : inputs) input_ptrs.push_back(&t);
  std::vector<Tensor> outputs = (*compiled)->MakeOutputs();
  ASSERT_TRUE((*compiled)->Run(input_ptrs, &outputs).ok());
  ASSERT_EQ((*compiled)->output_names(), (std::vector<std::string>{"logits", "hidden"}));
  for (size_t k = 0; k < outputs.size(); ++k) {
    const std::string& name = (*compiled)->output_names()[k];
    const Tensor want = ReadTensor(kDir + c.name + "." + name + ".npy");
    ASSERT_EQ(outputs[k].shape(), want.shape()) << name;
    EXPECT_LE(RelativeError(outputs[k], want), 1e-3) << name;
  }
  // Not vacuous: padding changes the masked rows, so rows of the batch differ.
  const Tensor& logits = outputs[0];
  ASSERT_EQ(logits.shape()[0], 2);
  EXPECT_NE(logits.FloatAt(0), logits.FloatAt(logits.shape()[1]));
}

INSTANTIATE_TEST_SUITE_P(Exports, TransformerExportTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<ExportCase>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace mixq
