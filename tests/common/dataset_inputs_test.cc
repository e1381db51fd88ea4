// The `inputs` form of a dataset: a sample file per model input, by name,
// integer samples passed to integer inputs, and the errors that name what
// does not fit.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "common/dataset.h"
#include "tests/common/data_files.h"

namespace mixq {
namespace {

using test::TempDir;

// Three samples of a text model: ids int32 [3,4], mask int64 [3,4], labels.
void WriteTextSet(const TempDir& dir) {
  test::WriteNpy<int32_t>(dir.Path("ids.npy"), "<i4", "(3, 4)",
                          {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
  test::WriteNpy<int64_t>(dir.Path("mask.npy"), "<i8", "(3, 4)",
                          {1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1});
  test::WriteNpy<int64_t>(dir.Path("labels.npy"), "<i8", "(3,)", {2, 0, 1});
}

StatusOr<std::unique_ptr<Dataset>> OpenYaml(const TempDir& dir, const std::string& yaml) {
  test::WriteText(dir.Path("d.yaml"), yaml);
  MIXQ_ASSIGN_OR_RETURN(DatasetSpec spec, LoadDatasetSpec(dir.Path("d.yaml")));
  return Dataset::Open(spec);
}

const char* kTextYaml = R"(
format: npy
inputs:
  input_ids: ids.npy
  attention_mask: mask.npy
labels: labels.npy
)";

const std::vector<ModelInput> kTextModel = {{"attention_mask", DType::kI64, {-1, 4}},
                                            {"input_ids", DType::kI64, {-1, 4}}};

TEST(DatasetInputs, ParsesInputsInOrderWithPathsBesideTheYaml) {
  TempDir dir;
  test::WriteText(dir.Path("sets/d.yaml"), kTextYaml);
  StatusOr<DatasetSpec> spec = LoadDatasetSpec(dir.Path("sets/d.yaml"));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_TRUE(spec->images.empty());
  ASSERT_EQ(spec->inputs.size(), 2u);
  EXPECT_EQ(spec->inputs[0].name, "input_ids");
  EXPECT_EQ(spec->inputs[0].path, dir.Path("sets/ids.npy"));
  EXPECT_EQ(spec->inputs[1].name, "attention_mask");
  EXPECT_EQ(spec->inputs[1].path, dir.Path("sets/mask.npy"));
}

TEST(DatasetInputs, ImagesAndInputsTogetherOrNeitherAreRefused) {
  TempDir dir;
  test::WriteText(dir.Path("both.yaml"),
                  "format: npy\nimages: x.npy\ninputs: {a: a.npy}\nlabels: y.npy\n");
  StatusOr<DatasetSpec> both = LoadDatasetSpec(dir.Path("both.yaml"));
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.status().message().find("not both"), std::string::npos) << both.status().message();
  test::WriteText(dir.Path("none.yaml"), "format: npy\nlabels: y.npy\n");
  StatusOr<DatasetSpec> none = LoadDatasetSpec(dir.Path("none.yaml"));
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("'images' (or 'inputs'"), std::string::npos)
      << none.status().message();
  test::WriteText(dir.Path("list.yaml"), "format: npy\ninputs: [a.npy]\nlabels: y.npy\n");
  EXPECT_FALSE(LoadDatasetSpec(dir.Path("list.yaml")).ok());
}

TEST(DatasetInputs, FillsEachModelInputInTheModelsOrderAndType) {
  TempDir dir;
  WriteTextSet(dir);
  StatusOr<std::unique_ptr<Dataset>> ds = OpenYaml(dir, kTextYaml);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ((*ds)->size(), 3);
  ASSERT_TRUE((*ds)->CheckFits(kTextModel, "m.onnx").ok());

  std::vector<Tensor> batch;
  std::vector<int64_t> labels;
  ASSERT_TRUE((*ds)->Fill(1, 2, kTextModel, &batch, &labels).ok());
  ASSERT_EQ(batch.size(), 2u);
  // The int32 ids file feeds the int64 input unchanged, with no preprocessing.
  ASSERT_EQ(batch[1].dtype(), DType::kI64);
  ASSERT_EQ(batch[1].shape(), (Shape{2, 4}));
  EXPECT_EQ(std::vector<int64_t>(batch[1].data<int64_t>(), batch[1].data<int64_t>() + 8),
            (std::vector<int64_t>{9, 10, 11, 12, 13, 14, 15, 16}));
  ASSERT_EQ(batch[0].dtype(), DType::kI64);
  EXPECT_EQ(std::vector<int64_t>(batch[0].data<int64_t>(), batch[0].data<int64_t>() + 8),
            (std::vector<int64_t>{1, 1, 0, 0, 1, 1, 1, 1}));
  EXPECT_EQ(labels, (std::vector<int64_t>{0, 1}));

  // An int32 model input takes the int64 mask file.
  const std::vector<ModelInput> int32_model = {{"input_ids", DType::kI32, {-1, 4}},
                                               {"attention_mask", DType::kI32, {-1, 4}}};
  ASSERT_TRUE((*ds)->Fill(0, 1, int32_model, &batch, nullptr).ok());
  ASSERT_EQ(batch[1].dtype(), DType::kI32);
  EXPECT_EQ(std::vector<int32_t>(batch[1].data<int32_t>(), batch[1].data<int32_t>() + 4),
            (std::vector<int32_t>{1, 1, 1, 0}));
}

TEST(DatasetInputs, AValueOutsideTheInputTypeNamesTheFileAndSample) {
  TempDir dir;
  test::WriteNpy<int64_t>(dir.Path("ids.npy"), "<i8", "(2, 2)",
                          {1, 2, 3, int64_t{std::numeric_limits<int32_t>::max()} + 1});
  test::WriteNpy<int64_t>(dir.Path("labels.npy"), "<i8", "(2,)", {0, 1});
  StatusOr<std::unique_ptr<Dataset>> ds =
      OpenYaml(dir, "format: npy\ninputs: {ids: ids.npy}\nlabels: labels.npy\n");
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  const std::vector<ModelInput> model = {{"ids", DType::kI32, {-1, 2}}};
  std::vector<Tensor> batch;
  EXPECT_TRUE((*ds)->Fill(0, 1, model, &batch, nullptr).ok());
  Status s = (*ds)->Fill(0, 2, model, &batch, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(dir.Path("ids.npy") + ": sample 1 holds 2147483648"),
            std::string::npos)
      << s.message();
  // An int64 input takes it.
  EXPECT_TRUE((*ds)->Fill(0, 2, {{"ids", DType::kI64, {-1, 2}}}, &batch, nullptr).ok());
}

TEST(DatasetInputs, MissingAndUnknownInputsAreOneLineNamingBoth) {
  TempDir dir;
  WriteTextSet(dir);
  StatusOr<std::unique_ptr<Dataset>> ds = OpenYaml(dir, kTextYaml);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  const std::vector<ModelInput> model = {{"input_ids", DType::kI64, {-1, 4}},
                                         {"token_type_ids", DType::kI64, {-1, 4}}};
  Status s = (*ds)->CheckFits(model, "m.onnx");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().find('\n'), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("model input 'token_type_ids' has no file"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("dataset input 'attention_mask' is not a model input"),
            std::string::npos)
      << s.message();
  std::vector<Tensor> batch;
  EXPECT_FALSE((*ds)->Fill(0, 1, model, &batch, nullptr).ok());
}

TEST(DatasetInputs, FloatSamplesForAnIntegerInputAreRefused) {
  TempDir dir;
  test::WriteNpy<float>(dir.Path("ids.npy"), "<f4", "(1, 2)", {1.0f, 2.0f});
  test::WriteNpy<int64_t>(dir.Path("labels.npy"), "<i8", "(1,)", {0});
  StatusOr<std::unique_ptr<Dataset>> ds =
      OpenYaml(dir, "format: npy\ninputs: {ids: ids.npy}\nlabels: labels.npy\n");
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  Status s = (*ds)->CheckFits({{"ids", DType::kI64, {-1, 2}}}, "m.onnx");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("gives float32 samples in " + dir.Path("ids.npy") +
                             ", model 'm.onnx' input 'ids' takes int64"),
            std::string::npos)
      << s.message();
  // The same file feeds a float input.
  EXPECT_TRUE((*ds)->CheckFits({{"ids", DType::kF32, {-1, 2}}}, "m.onnx").ok());
}

TEST(DatasetInputs, SampleCountsMustAgreeAcrossFiles) {
  TempDir dir;
  WriteTextSet(dir);
  test::WriteNpy<int64_t>(dir.Path("mask.npy"), "<i8", "(2, 4)", {1, 1, 1, 1, 1, 1, 1, 1});
  StatusOr<std::unique_ptr<Dataset>> ds = OpenYaml(dir, kTextYaml);
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ds.status().message().find("3 labels in " + dir.Path("labels.npy") +
                                       " but 2 samples in " + dir.Path("mask.npy")),
            std::string::npos)
      << ds.status().message();
}

TEST(DatasetInputs, ShapesAreCheckedPerInput) {
  TempDir dir;
  WriteTextSet(dir);
  StatusOr<std::unique_ptr<Dataset>> ds = OpenYaml(dir, kTextYaml);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  Status s = (*ds)->CheckFits(
      {{"input_ids", DType::kI64, {-1, 4}}, {"attention_mask", DType::kI64, {-1, 8}}}, "m.onnx");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("gives samples [4], model 'm.onnx' input 'attention_mask' wants "
                             "[?,8]"),
            std::string::npos)
      << s.message();
}

TEST(DatasetInputs, FloatInputsArePreprocessedIntegerInputsAreNot) {
  TempDir dir;
  WriteTextSet(dir);
  test::WriteNpy<uint8_t>(dir.Path("pixels.npy"), "|u1", "(3, 2)", {0, 255, 10, 20, 30, 40});
  // Three mean values: wrong for the one-channel files, an error only when
  // one of them feeds a float input.
  StatusOr<std::unique_ptr<Dataset>> bad = OpenYaml(dir, R"(
format: npy
inputs: {input_ids: ids.npy, pixels: pixels.npy}
labels: labels.npy
preprocess: {mean: [1, 2, 3]}
)");
  ASSERT_TRUE(bad.ok()) << bad.status().ToString();
  EXPECT_TRUE(
      (*bad)
          ->CheckFits({{"input_ids", DType::kI64, {-1, 4}}, {"pixels", DType::kI64, {-1, 2}}},
                      "m.onnx")
          .ok());
  Status s = (*bad)->CheckFits(
      {{"input_ids", DType::kI64, {-1, 4}}, {"pixels", DType::kF32, {-1, 2}}}, "m.onnx");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'preprocess.mean' has 3 values"), std::string::npos) << s.message();

  StatusOr<std::unique_ptr<Dataset>> ds = OpenYaml(dir, R"(
format: npy
inputs: {input_ids: ids.npy, pixels: pixels.npy}
labels: labels.npy
preprocess: {scale: 0.5, mean: 1}
)");
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  const std::vector<ModelInput> model = {{"pixels", DType::kF32, {-1, 2}},
                                         {"input_ids", DType::kI64, {-1, 4}}};
  std::vector<Tensor> batch;
  ASSERT_TRUE((*ds)->Fill(0, 1, model, &batch, nullptr).ok());
  ASSERT_EQ(batch[0].dtype(), DType::kF32);
  EXPECT_EQ(batch[0].data<float>()[0], -1.0f);   // 0 * 0.5 - 1
  EXPECT_EQ(batch[0].data<float>()[1], 126.5f);  // 255 * 0.5 - 1
  EXPECT_EQ(batch[1].data<int64_t>()[0], 5);     // as stored
}

TEST(DatasetInputs, TheImagesFormFeedsAOneInputModelOnly) {
  TempDir dir;
  test::WriteNpy<float>(dir.Path("x.npy"), "<f4", "(1, 2)", {1.0f, 2.0f});
  test::WriteNpy<int64_t>(dir.Path("labels.npy"), "<i8", "(1,)", {0});
  StatusOr<std::unique_ptr<Dataset>> ds =
      OpenYaml(dir, "format: npy\nimages: x.npy\nlabels: labels.npy\n");
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  // Whatever the one input is called.
  EXPECT_TRUE((*ds)->CheckFits({{"pixel_values", DType::kF32, {-1, 2}}}, "m.onnx").ok());
  Status s = (*ds)->CheckFits({{"a", DType::kF32, {-1, 2}}, {"b", DType::kF32, {-1, 2}}}, "m.onnx");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("model 'm.onnx' has 2 inputs ('a', 'b')"), std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace mixq
