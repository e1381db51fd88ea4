#include <gtest/gtest.h>

#include "common/dataset.h"
#include "tests/common/data_files.h"

namespace mixq {
namespace {

using test::TempDir;

// A YAML number as the parser stores it (decimal -> double -> float).
float F(double v) { return static_cast<float>(v); }

// Writes `yaml` to <dir>/<name> and parses it.
StatusOr<DatasetSpec> Load(const TempDir& dir, const std::string& yaml,
                           const std::string& name = "d.yaml") {
  test::WriteText(dir.Path(name), yaml);
  return LoadDatasetSpec(dir.Path(name));
}

// The error message, which must start with the YAML's path.
std::string ErrorOf(const StatusOr<DatasetSpec>& spec, const std::string& path) {
  EXPECT_FALSE(spec.ok());
  if (spec.ok()) return "";
  EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument) << spec.status().ToString();
  EXPECT_EQ(spec.status().message().rfind(path + ": ", 0), 0u) << spec.status().message();
  return spec.status().message();
}

TEST(DatasetSpec, ParsesEveryKey) {
  TempDir dir;
  StatusOr<DatasetSpec> spec = Load(dir, R"(
format: npy
images: /data/x.npy
labels: /data/y.npy
stored_layout: nhwc
preprocess:
  scale: 0.5
  mean: [0.1, 0.2, 0.3]
  std: [1, 2, 4]
  layout: nhwc
)");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->source, dir.Path("d.yaml"));
  EXPECT_EQ(spec->format, "npy");
  EXPECT_EQ(spec->images, "/data/x.npy");
  EXPECT_EQ(spec->labels, "/data/y.npy");
  EXPECT_EQ(spec->stored_layout, Preprocess::Layout::kNhwc);
  EXPECT_EQ(spec->preprocess.scale, 0.5f);
  EXPECT_EQ(spec->preprocess.mean, (std::vector<float>{F(0.1), F(0.2), F(0.3)}));
  EXPECT_EQ(spec->preprocess.std, (std::vector<float>{1.0f, 2.0f, 4.0f}));
  EXPECT_EQ(spec->preprocess.layout, Preprocess::Layout::kNhwc);
}

TEST(DatasetSpec, InputShapeByNameOrForTheFirstInput) {
  TempDir dir;
  StatusOr<DatasetSpec> named =
      Load(dir, "format: npy\nimages: x.npy\nlabels: y.npy\ninput_shape: {images: 1x3x640x640}\n");
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_EQ(named->input_shapes, (InputShapes{{"images", {1, 3, 640, 640}}}));
  StatusOr<DatasetSpec> first =
      Load(dir, "format: npy\nimages: x.npy\nlabels: y.npy\ninput_shape: [1, 3, 32, 32]\n");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->input_shapes, (InputShapes{{"", {1, 3, 32, 32}}}));
  EXPECT_EQ(ErrorOf(Load(dir,
                         "format: npy\nimages: x.npy\nlabels: y.npy\n"
                         "input_shape: {images: [1, -3]}\n"),
                    dir.Path("d.yaml")),
            dir.Path("d.yaml") + ": 'input_shape.images[1]' must be >= 1");
}

TEST(DatasetSpec, DefaultsWithoutPreprocess) {
  TempDir dir;
  StatusOr<DatasetSpec> spec = Load(dir, "format: idx\nimages: /a\nlabels: /b\n");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->preprocess.scale, 1.0f);
  EXPECT_TRUE(spec->preprocess.mean.empty());
  EXPECT_TRUE(spec->preprocess.std.empty());
  EXPECT_EQ(spec->preprocess.layout, Preprocess::Layout::kNchw);
  EXPECT_EQ(spec->stored_layout, Preprocess::Layout::kNchw);
}

TEST(DatasetSpec, ScalarMeanAndStdAreListsOfOne) {
  TempDir dir;
  StatusOr<DatasetSpec> spec =
      Load(dir, "format: idx\nimages: /a\nlabels: /b\npreprocess: {mean: 0.25, std: 0.5}\n");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->preprocess.mean, std::vector<float>{0.25f});
  EXPECT_EQ(spec->preprocess.std, std::vector<float>{0.5f});
}

TEST(DatasetSpec, RelativePathsResolveAgainstTheYamlFolder) {
  TempDir dir;
  StatusOr<DatasetSpec> spec =
      Load(dir, "format: idx\nimages: ../data/x.idx.gz\nlabels: y.idx\n", "configs/d.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->images, dir.path() + "/data/x.idx.gz");
  EXPECT_EQ(spec->labels, dir.path() + "/configs/y.idx");
}

TEST(DatasetSpec, ShippedFashionMnistConfigsParse) {
  for (const char* name : {"fashion_mnist_test.yaml", "fashion_mnist_train.yaml"}) {
    StatusOr<DatasetSpec> spec =
        LoadDatasetSpec(std::string(MIXQ_SOURCE_DIR) + "/configs/datasets/" + name);
    ASSERT_TRUE(spec.ok()) << spec.status().ToString();
    EXPECT_EQ(spec->format, "idx");
    EXPECT_EQ(spec->images.rfind("/usr/share/datasets/fashion-mnist/", 0), 0u);
    EXPECT_EQ(spec->preprocess.scale, F(0.0039215686));
    EXPECT_EQ(spec->preprocess.mean, std::vector<float>{F(0.2860)});
    EXPECT_EQ(spec->preprocess.std, std::vector<float>{F(0.3530)});
  }
}

TEST(DatasetSpec, UnknownNestedKeyIsRefusedWithItsPath) {
  TempDir dir;
  const std::string m =
      ErrorOf(Load(dir, "format: idx\nimages: /a\nlabels: /b\npreprocess: {scal: 0.5}\n"),
              dir.Path("d.yaml"));
  EXPECT_NE(m.find(dir.Path("d.yaml") + ": unknown key 'preprocess.scal'"), std::string::npos) << m;
}

TEST(DatasetSpec, UnknownTopLevelKeyIsRefused) {
  TempDir dir;
  const std::string m = ErrorOf(Load(dir, "format: idx\nimages: /a\nlabels: /b\nshuffle: true\n"),
                                dir.Path("d.yaml"));
  EXPECT_NE(m.find("unknown key 'shuffle'"), std::string::npos) << m;
}

TEST(DatasetSpec, MissingImagesIsRefused) {
  TempDir dir;
  const std::string m = ErrorOf(Load(dir, "format: idx\nlabels: /b\n"), dir.Path("d.yaml"));
  EXPECT_NE(m.find("missing required key 'images'"), std::string::npos) << m;
}

TEST(DatasetSpec, BadValuesAreRefusedWithTheKey) {
  TempDir dir;
  const std::string head = "format: idx\nimages: /a\nlabels: /b\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {head + "preprocess: {layout: nchwc}", "'preprocess.layout' must be nchw or nhwc"},
      {head + "stored_layout: chw", "'stored_layout' must be nchw or nhwc"},
      {head + "preprocess: {std: [0]}", "'preprocess.std[0]' must be in (0, 1e6], got 0"},
      {head + "preprocess: {std: [0.5, -1]}", "'preprocess.std[1]' must be in (0, 1e6], got -1"},
      {head + "preprocess: {scale: 1/255}", "'preprocess.scale' must be a number, got '1/255'"},
      {head + "preprocess: {scale: 0}", "'preprocess.scale' must be in (0, 1e6], got 0"},
      {head + "preprocess: {mean: []}", "'preprocess.mean' must be a number or a non-empty list"},
      {head + "preprocess: {mean: [1, x]}", "'preprocess.mean[1]' must be a number"},
      {head + "preprocess: {mean: [1, 2], std: [1, 2, 3]}",
       "has 2 values but 'preprocess.std' has 3"},
      {head + "preprocess: [1, 2]", "'preprocess' must be a mapping"},
      {"format: png\nimages: /a\nlabels: /b\n", "'format' must be idx, npy or images, got 'png'"},
      {"format: idx\nimages: [a, b]\nlabels: /b\n", "'images' must be a non-empty string"},
      {"- just\n- a list\n", "expected a mapping"},
  };
  for (const auto& [yaml, expected] : cases) {
    const std::string m = ErrorOf(Load(dir, yaml), dir.Path("d.yaml"));
    EXPECT_NE(m.find(expected), std::string::npos) << "yaml:\n" << yaml << "\nmessage: " << m;
  }
}

TEST(DatasetSpec, YamlSyntaxErrorNamesFileAndLine) {
  TempDir dir;
  StatusOr<DatasetSpec> spec = Load(dir, "format: idx\nimages: [unclosed\nlabels: /b\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument);
  // "<path>:<line>:<column>: <what>"; yaml-cpp notices the open list on line 3.
  EXPECT_EQ(spec.status().message().rfind(dir.Path("d.yaml") + ":3:", 0), 0u)
      << spec.status().message();
}

TEST(DatasetSpec, MissingYamlIsNotFound) {
  TempDir dir;
  StatusOr<DatasetSpec> spec = LoadDatasetSpec(dir.Path("none.yaml"));
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), StatusCode::kNotFound);
}

// Issue 20: a repeated key kept its first value silently.
TEST(DatasetSpec, DuplicateKeyIsRefusedWithPathAndLine) {
  TempDir dir;
  const std::string m = ErrorOf(
      Load(dir, "format: idx\nimages: /a\nlabels: /b\npreprocess:\n  scale: 1\n  scale: 2\n"),
      dir.Path("d.yaml"));
  EXPECT_NE(m.find("duplicate key 'preprocess.scale' (line 6)"), std::string::npos) << m;
}

// Issue 20: `scale: -1e30` was accepted and ran.
TEST(DatasetSpec, PreprocessValuesOutOfRangeAreRefused) {
  TempDir dir;
  const std::string head = "format: idx\nimages: /a\nlabels: /b\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"preprocess: {scale: -1e30}", "'preprocess.scale' must be in (0, 1e6], got -1e+30"},
      {"preprocess: {scale: .nan}", "'preprocess.scale' must be finite"},
      {"preprocess: {mean: [0.5, 1e30]}", "'preprocess.mean[1]' must be in [-1e6, 1e6], got 1e+30"},
      {"preprocess: {std: 2e7}", "'preprocess.std[0]' must be in (0, 1e6], got 2e+07"},
  };
  for (const auto& [extra, message] : cases) {
    const std::string m = ErrorOf(Load(dir, head + extra + "\n"), dir.Path("d.yaml"));
    EXPECT_NE(m.find(message), std::string::npos) << extra << ": " << m;
  }
  EXPECT_TRUE(Load(dir, head + "preprocess: {scale: 255, mean: [-0.5], std: [0.25]}\n").ok());
}

}  // namespace
}  // namespace mixq
