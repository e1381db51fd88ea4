// Models with several inputs and integer inputs, end to end in the engine:
// a dataset in the `inputs` form evaluated and calibrated by name, and the
// synthetic inputs that calibration, bench and profile feed a token model.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "common/dataset.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/passes/specialize.h"
#include "engine/runtime/calibrator.h"
#include "engine/runtime/evaluator.h"
#include "engine/runtime/input_feed.h"
#include "tests/engine/text_model_onnx.h"

namespace mixq {
namespace {

using testing::kTextVocab;
using testing::TextModelOnnx;

constexpr int64_t kSeq = 3;

Graph TextModel(int64_t seq = kSeq) {
  StatusOr<Graph> graph = ImportOnnxFromBytes(TextModelOnnx(seq), "text.onnx");
  EXPECT_TRUE(graph.ok()) << graph.status().ToString();
  return graph.ok() ? std::move(*graph) : Graph();
}

// testing::WriteTextSet()'s four samples, opened.
std::unique_ptr<Dataset> TextSet(const test::TempDir& dir) {
  StatusOr<DatasetSpec> spec = LoadDatasetSpec(testing::WriteTextSet(dir.path()));
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  if (!spec.ok()) return nullptr;
  StatusOr<std::unique_ptr<Dataset>> ds = Dataset::Open(*spec);
  EXPECT_TRUE(ds.ok()) << ds.status().ToString();
  return ds.ok() ? std::move(*ds) : nullptr;
}

TEST(MultiInput, EvaluatesATwoInputTokenModelByInputName) {
  test::TempDir dir;
  const Graph graph = TextModel();
  std::unique_ptr<Dataset> ds = TextSet(dir);
  ASSERT_NE(ds, nullptr);
  for (int64_t batch : {1, 3, 4}) {
    std::vector<int32_t> top1;
    EvalOptions options;
    options.batch = batch;
    options.top1 = &top1;
    StatusOr<EvalCounts> counts = Evaluate(graph, *ds, options);
    ASSERT_TRUE(counts.ok()) << counts.status().ToString();
    EXPECT_EQ(counts->samples, 4);
    EXPECT_EQ(counts->correct1, 3) << "batch " << batch;
    // The mask matters: sample 1 would be class 2 unmasked.
    EXPECT_EQ(top1, (std::vector<int32_t>{0, 3, 3, 1})) << "batch " << batch;
  }
}

TEST(MultiInput, CalibratesFromADatasetObservingFloatTensorsOnly) {
  test::TempDir dir;
  const Graph graph = TextModel();
  std::unique_ptr<Dataset> ds = TextSet(dir);
  ASSERT_NE(ds, nullptr);
  CalibratorOptions options;
  options.batch = 3;
  StatusOr<Calibration> calibration =
      Calibrate(graph, *ds, 0, 4, ScaleOptions(), {std::string(64, 'a'), "text.yaml"}, options);
  ASSERT_TRUE(calibration.ok()) << calibration.status().ToString();
  EXPECT_EQ(calibration->stats.count("input_ids"), 0u);
  EXPECT_EQ(calibration->stats.count("attention_mask"), 0u);
  // The pooled counts: at most 3 of one class (sample 0 has two 1s).
  ASSERT_EQ(calibration->stats.count("pooled"), 1u);
  EXPECT_EQ(calibration->stats.at("pooled").min, 0.0f);
  EXPECT_EQ(calibration->stats.at("pooled").max, 2.0f);
}

TEST(MultiInput, GatherIndexBoundsFollowCastsAndTakeTheSmallestTable) {
  const Graph graph = TextModel();
  EXPECT_EQ(GatherIndexBounds(graph), (std::map<std::string, int64_t>{{"input_ids", kTextVocab}}));

  // ids also index a 3-row table through Cast and Unsqueeze.
  onnx::ModelProto model = testing::NewModel(13);
  testing::AddInput(&model, "ids", {-1, 2});
  model.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(
      onnx::TensorProto::INT64);
  testing::AddOutput(&model, "out", {-1, 2, 1, 2});
  testing::AddFloatInitializer(&model, "big", {7, 2}, std::vector<float>(14, 1.0f));
  testing::AddFloatInitializer(&model, "small", {3, 2}, std::vector<float>(6, 2.0f));
  testing::AddInt64Initializer(&model, "axis2", {2});
  testing::AddIntAttr(testing::AddNode(&model, "Cast", {"ids"}, {"ids32"}), "to",
                      onnx::TensorProto::INT32);
  testing::AddNode(&model, "Unsqueeze", {"ids32", "axis2"}, {"ids3"});
  testing::AddNode(&model, "Gather", {"small", "ids3"}, {"a"});
  testing::AddNode(&model, "Gather", {"big", "ids"}, {"b"});
  testing::AddNode(&model, "Unsqueeze", {"b", "axis2"}, {"b3"});
  testing::AddNode(&model, "Add", {"a", "b3"}, {"out"});
  StatusOr<Graph> two = ImportOnnxFromBytes(testing::Serialize(model), "two.onnx");
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  EXPECT_EQ(GatherIndexBounds(*two), (std::map<std::string, int64_t>{{"ids", 3}}));
}

TEST(MultiInput, SyntheticTokenIdsAreValidIndicesAndMasksAreOne) {
  const Graph graph = TextModel(16);
  std::vector<Tensor> batch = {Tensor(DType::kI64, {8, 16}), Tensor(DType::kI64, {8, 16})};
  ASSERT_TRUE(SyntheticInputs(graph).Fill(3, 0, &batch).ok());
  std::set<int64_t> ids(batch[0].data<int64_t>(), batch[0].data<int64_t>() + batch[0].size());
  EXPECT_EQ(ids, (std::set<int64_t>{0, 1, 2, 3, 4}));  // every row, none outside
  const int64_t* mask = batch[1].data<int64_t>();
  EXPECT_TRUE(std::all_of(mask, mask + batch[1].size(), [](int64_t v) { return v == 1; }));

  // Sample 5 is the same whatever slice it comes in.
  std::vector<Tensor> one = {Tensor(DType::kI64, {1, 16}), Tensor(DType::kI64, {1, 16})};
  ASSERT_TRUE(SyntheticInputs(graph).Fill(3, 5, &one).ok());
  EXPECT_TRUE(std::equal(one[0].data<int64_t>(), one[0].data<int64_t>() + 16,
                         batch[0].data<int64_t>() + 5 * 16));
}

TEST(MultiInput, SyntheticCalibrationRunsATokenModel) {
  const Graph graph = TextModel(16);
  CalibratorOptions options;
  options.batch = 4;
  StatusOr<Calibration> calibration =
      CalibrateSynthetic(graph, 8, 1, ScaleOptions(), std::string(64, 'b'), options);
  ASSERT_TRUE(calibration.ok()) << calibration.status().ToString();
  // All positions attended: the pooled one-hots sum to 16 minus the
  // padding ids, and some position is a non-padding id.
  ASSERT_EQ(calibration->stats.count("mask_f"), 1u);
  EXPECT_EQ(calibration->stats.at("mask_f").min, 1.0f);
  EXPECT_EQ(calibration->stats.at("mask_f").max, 1.0f);
  EXPECT_GT(calibration->stats.at("pooled").max, 0.0f);
  EXPECT_NE(calibration->provenance["dataset"].get<std::string>().find("integer inputs"),
            std::string::npos);
}

}  // namespace
}  // namespace mixq
