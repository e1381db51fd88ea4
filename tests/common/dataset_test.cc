#include "common/dataset.h"

#include <gtest/gtest.h>

#include <array>

#include "tests/common/data_files.h"

namespace mixq {
namespace {

using test::IdxBytes;
using test::LittleEndianBytes;
using test::NpyBytes;
using test::TempDir;

const std::string kFashionMnistDir = "/usr/share/datasets/fashion-mnist/";

std::unique_ptr<Dataset> OpenOrDie(const DatasetSpec& spec) {
  StatusOr<std::unique_ptr<Dataset>> ds = Dataset::Open(spec);
  EXPECT_TRUE(ds.ok()) << ds.status().ToString();
  return ds.ok() ? std::move(ds).value() : nullptr;
}

std::unique_ptr<Dataset> OpenYaml(const std::string& yaml_path) {
  StatusOr<DatasetSpec> spec = LoadDatasetSpec(yaml_path);
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  return spec.ok() ? OpenOrDie(*spec) : nullptr;
}

// --- The real Fashion-MNIST files --------------------------------------------

TEST(Dataset, FashionMnistTestSetShapeAndLabels) {
  std::unique_ptr<Dataset> ds =
      OpenYaml(std::string(MIXQ_SOURCE_DIR) + "/configs/datasets/fashion_mnist_test.yaml");
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->size(), 10000);
  EXPECT_EQ(ds->sample_shape(), (Shape{1, 28, 28}));
  std::array<int, 10> histogram{};
  for (int64_t label : ds->labels()) {
    ASSERT_GE(label, 0);
    ASSERT_LT(label, 10);
    ++histogram[label];
  }
  for (int c = 0; c < 10; ++c) EXPECT_EQ(histogram[c], 1000) << "class " << c;
  // Against the label file read independently (8-byte header).
  const std::vector<uint8_t> raw_labels =
      test::Gunzip(kFashionMnistDir + "t10k-labels-idx1-ubyte.gz");
  ASSERT_EQ(raw_labels.size(), 8u + 10000u);
  for (int64_t i = 0; i < 10000; ++i) ASSERT_EQ(ds->labels()[i], raw_labels[8 + i]) << i;
  EXPECT_EQ(ds->labels()[0], 9);  // the first test image is an ankle boot
}

TEST(Dataset, FashionMnistPixelsArePreprocessedExactly) {
  std::unique_ptr<Dataset> ds =
      OpenYaml(std::string(MIXQ_SOURCE_DIR) + "/configs/datasets/fashion_mnist_test.yaml");
  ASSERT_NE(ds, nullptr);
  const std::vector<uint8_t> raw = test::Gunzip(kFashionMnistDir + "t10k-images-idx3-ubyte.gz");
  ASSERT_EQ(raw.size(), 16u + 10000u * 784u);

  Tensor batch;
  std::vector<int64_t> labels;
  ASSERT_TRUE(ds->Fill(0, ds->size(), &batch, &labels).ok());
  ASSERT_EQ(batch.shape(), (Shape{10000, 1, 28, 28}));
  EXPECT_EQ(labels, ds->labels());

  const float scale = static_cast<float>(0.0039215686);
  const float mean = static_cast<float>(0.2860);
  const float std_dev = static_cast<float>(0.3530);
  auto expected = [&](int64_t sample, int64_t y, int64_t x) {
    const uint8_t v = raw[16 + sample * 784 + y * 28 + x];
    return (static_cast<float>(v) * scale - mean) / std_dev;
  };
  // A known pixel: image 0, row 14, column 14 is 110 in the file.
  ASSERT_EQ(raw[16 + 14 * 28 + 14], 110);
  EXPECT_EQ(batch.data<float>()[14 * 28 + 14], (110.0f * scale - mean) / std_dev);
  EXPECT_NEAR(batch.data<float>()[14 * 28 + 14], (110.0 / 255 - 0.2860) / 0.3530, 1e-5);
  // A background pixel maps to -mean/std.
  ASSERT_EQ(raw[16], 0);
  EXPECT_EQ(batch.data<float>()[0], -mean / std_dev);
  // Every pixel of a few whole images, including the last.
  for (int64_t sample : {0, 1, 4321, 9999}) {
    for (int64_t y = 0; y < 28; ++y) {
      for (int64_t x = 0; x < 28; ++x) {
        ASSERT_EQ(batch.data<float>()[sample * 784 + y * 28 + x], expected(sample, y, x))
            << "sample " << sample << " y " << y << " x " << x;
      }
    }
  }
}

TEST(Dataset, FashionMnistTrainSet) {
  std::unique_ptr<Dataset> ds =
      OpenYaml(std::string(MIXQ_SOURCE_DIR) + "/configs/datasets/fashion_mnist_train.yaml");
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->size(), 60000);
  std::array<int, 10> histogram{};
  for (int64_t label : ds->labels()) ++histogram.at(label);
  for (int c = 0; c < 10; ++c) EXPECT_EQ(histogram[c], 6000) << "class " << c;
}

TEST(Dataset, FashionMnistNhwcLayout) {
  StatusOr<DatasetSpec> spec =
      LoadDatasetSpec(std::string(MIXQ_SOURCE_DIR) + "/configs/datasets/fashion_mnist_test.yaml");
  ASSERT_TRUE(spec.ok());
  spec->preprocess.layout = Preprocess::Layout::kNhwc;
  std::unique_ptr<Dataset> ds = OpenOrDie(*spec);
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->sample_shape(), (Shape{28, 28, 1}));
  EXPECT_TRUE(ds->CheckFits({-1, 28, 28, 1}, "m.onnx").ok());
  EXPECT_FALSE(ds->CheckFits({-1, 1, 28, 28}, "m.onnx").ok());
}

// --- Small files written by the tests ------------------------------------------

// A dataset spec over files in `dir`.
DatasetSpec SpecFor(const TempDir& dir, const std::string& format, const std::string& images,
                    const std::string& labels) {
  DatasetSpec spec;
  spec.source = dir.Path("d.yaml");
  spec.format = format;
  spec.images = dir.Path(images);
  spec.labels = dir.Path(labels);
  return spec;
}

TEST(Dataset, LabelCountMismatchIsInvalidArgument) {
  TempDir dir;
  test::WriteBytes(dir.Path("x.idx"), IdxBytes(0x08, {3, 2, 2}, std::vector<uint8_t>(12, 1)));
  test::WriteBytes(dir.Path("y.idx"), IdxBytes(0x08, {2}, {0, 1}));
  StatusOr<std::unique_ptr<Dataset>> ds = Dataset::Open(SpecFor(dir, "idx", "x.idx", "y.idx"));
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().code(), StatusCode::kInvalidArgument);
  const std::string& m = ds.status().message();
  EXPECT_NE(m.find("2 labels in " + dir.Path("y.idx")), std::string::npos) << m;
  EXPECT_NE(m.find("3 samples in " + dir.Path("x.idx")), std::string::npos) << m;
}

TEST(Dataset, MissingImagesFileIsNotFound) {
  TempDir dir;
  test::WriteBytes(dir.Path("y.idx"), IdxBytes(0x08, {2}, {0, 1}));
  StatusOr<std::unique_ptr<Dataset>> ds = Dataset::Open(SpecFor(dir, "idx", "x.idx", "y.idx"));
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().code(), StatusCode::kNotFound);
  EXPECT_NE(ds.status().message().find(dir.Path("x.idx")), std::string::npos);
}

TEST(Dataset, TruncatedImagesAreDataLoss) {
  TempDir dir;
  std::vector<uint8_t> images = IdxBytes(0x08, {3, 2, 2}, std::vector<uint8_t>(12, 1));
  images.pop_back();
  test::WriteGzip(dir.Path("x.idx.gz"), images);
  test::WriteBytes(dir.Path("y.idx"), IdxBytes(0x08, {3}, {0, 1, 2}));
  StatusOr<std::unique_ptr<Dataset>> ds = Dataset::Open(SpecFor(dir, "idx", "x.idx.gz", "y.idx"));
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(ds.status().message().find("expected 28 bytes"), std::string::npos)
      << ds.status().message();
}

TEST(Dataset, RelativePathsFromYamlOpen) {
  TempDir dir;
  test::WriteBytes(dir.Path("data/x.idx"), IdxBytes(0x08, {2, 1, 2}, {10, 20, 30, 40}));
  test::WriteBytes(dir.Path("data/y.idx"), IdxBytes(0x08, {2}, {4, 2}));
  test::WriteText(dir.Path("configs/d.yaml"),
                  "format: idx\nimages: ../data/x.idx\nlabels: ../data/y.idx\n"
                  "preprocess: {scale: 0.5}\n");
  std::unique_ptr<Dataset> ds = OpenYaml(dir.Path("configs/d.yaml"));
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->labels(), (std::vector<int64_t>{4, 2}));
  Tensor batch;
  ASSERT_TRUE(ds->Fill(1, 1, &batch, nullptr).ok());
  EXPECT_EQ(batch.shape(), (Shape{1, 1, 1, 2}));
  EXPECT_EQ(batch.data<float>()[0], 15.0f);
  EXPECT_EQ(batch.data<float>()[1], 20.0f);
}

// Writes an NPY float32 sample file of `shape` whose element at flat index i
// is Value(i), and N int64 labels 0..N-1.
void WriteNpyFloatDataset(const TempDir& dir, const std::string& shape_tuple,
                          const std::vector<float>& values, int64_t n) {
  test::WriteBytes(
      dir.Path("x.npy"),
      NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_tuple + ", }",
               LittleEndianBytes(values)));
  std::vector<int64_t> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[i] = i;
  test::WriteBytes(
      dir.Path("y.npy"),
      NpyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (" + std::to_string(n) + ",), }",
               LittleEndianBytes(labels)));
}

// A value that encodes its coordinates, so a misplaced element shows.
float Code(int64_t n, int64_t c, int64_t h, int64_t w) {
  return static_cast<float>(n * 1000 + c * 100 + h * 10 + w);
}

constexpr int64_t kN = 2, kC = 3, kH = 4, kW = 5;

TEST(Dataset, NhwcStoredToNchwElementByElement) {
  TempDir dir;
  std::vector<float> values;  // stored [N,H,W,C]
  for (int64_t n = 0; n < kN; ++n)
    for (int64_t h = 0; h < kH; ++h)
      for (int64_t w = 0; w < kW; ++w)
        for (int64_t c = 0; c < kC; ++c) values.push_back(Code(n, c, h, w));
  WriteNpyFloatDataset(dir, "(2, 4, 5, 3)", values, kN);

  DatasetSpec spec = SpecFor(dir, "npy", "x.npy", "y.npy");
  spec.stored_layout = Preprocess::Layout::kNhwc;
  spec.preprocess.layout = Preprocess::Layout::kNchw;
  std::unique_ptr<Dataset> ds = OpenOrDie(spec);
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->sample_shape(), (Shape{kC, kH, kW}));
  Tensor batch;
  std::vector<int64_t> labels;
  ASSERT_TRUE(ds->Fill(0, kN, &batch, &labels).ok());
  ASSERT_EQ(batch.shape(), (Shape{kN, kC, kH, kW}));
  EXPECT_EQ(labels, (std::vector<int64_t>{0, 1}));
  const float* out = batch.data<float>();
  for (int64_t n = 0; n < kN; ++n)
    for (int64_t c = 0; c < kC; ++c)
      for (int64_t h = 0; h < kH; ++h)
        for (int64_t w = 0; w < kW; ++w)
          ASSERT_EQ(out[((n * kC + c) * kH + h) * kW + w], Code(n, c, h, w))
              << n << "," << c << "," << h << "," << w;
}

TEST(Dataset, NchwStoredToNhwcElementByElement) {
  TempDir dir;
  std::vector<float> values;  // stored [N,C,H,W]
  for (int64_t n = 0; n < kN; ++n)
    for (int64_t c = 0; c < kC; ++c)
      for (int64_t h = 0; h < kH; ++h)
        for (int64_t w = 0; w < kW; ++w) values.push_back(Code(n, c, h, w));
  WriteNpyFloatDataset(dir, "(2, 3, 4, 5)", values, kN);

  DatasetSpec spec = SpecFor(dir, "npy", "x.npy", "y.npy");
  spec.preprocess.layout = Preprocess::Layout::kNhwc;  // stored_layout defaults to nchw
  std::unique_ptr<Dataset> ds = OpenOrDie(spec);
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->sample_shape(), (Shape{kH, kW, kC}));
  Tensor batch;
  ASSERT_TRUE(ds->Fill(1, 1, &batch, nullptr).ok());  // only the second sample
  ASSERT_EQ(batch.shape(), (Shape{1, kH, kW, kC}));
  const float* out = batch.data<float>();
  for (int64_t h = 0; h < kH; ++h)
    for (int64_t w = 0; w < kW; ++w)
      for (int64_t c = 0; c < kC; ++c)
        ASSERT_EQ(out[(h * kW + w) * kC + c], Code(1, c, h, w)) << c << "," << h << "," << w;
}

TEST(Dataset, PerChannelMeanAndStd) {
  TempDir dir;
  std::vector<float> values;  // [1,3,1,2] nchw
  for (float v : {10.0f, 20.0f, 30.0f, 40.0f, 50.0f, 60.0f}) values.push_back(v);
  WriteNpyFloatDataset(dir, "(1, 3, 1, 2)", values, 1);
  DatasetSpec spec = SpecFor(dir, "npy", "x.npy", "y.npy");
  spec.preprocess.scale = 0.5f;
  spec.preprocess.mean = {1.0f, 2.0f, 3.0f};
  spec.preprocess.std = {2.0f, 4.0f, 8.0f};
  std::unique_ptr<Dataset> ds = OpenOrDie(spec);
  ASSERT_NE(ds, nullptr);
  Tensor batch;
  ASSERT_TRUE(ds->Fill(0, 1, &batch, nullptr).ok());
  const std::vector<float> expected = {(5 - 1) / 2.0f,  (10 - 1) / 2.0f, (15 - 2) / 4.0f,
                                       (20 - 2) / 4.0f, (25 - 3) / 8.0f, (30 - 3) / 8.0f};
  EXPECT_EQ(std::vector<float>(batch.data<float>(), batch.data<float>() + 6), expected);
}

TEST(Dataset, MeanLengthMustMatchChannels) {
  TempDir dir;
  WriteNpyFloatDataset(dir, "(1, 3, 1, 2)", std::vector<float>(6), 1);
  DatasetSpec spec = SpecFor(dir, "npy", "x.npy", "y.npy");
  spec.preprocess.mean = {1.0f, 2.0f};
  StatusOr<std::unique_ptr<Dataset>> ds = Dataset::Open(spec);
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ds.status().message().find("'preprocess.mean' has 2 values, but the samples have 3"),
            std::string::npos)
      << ds.status().message();
}

TEST(Dataset, Uint8NpyWithScale) {
  TempDir dir;
  test::WriteBytes(dir.Path("x.npy"),
                   NpyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (3, 2, 2), }",
                            {0, 51, 102, 255, 1, 2, 3, 4, 5, 6, 7, 8}));
  test::WriteBytes(
      dir.Path("y.npy"),
      NpyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", {2, 0, 1}));
  DatasetSpec spec = SpecFor(dir, "npy", "x.npy", "y.npy");
  spec.preprocess.scale = 1.0f / 255;
  std::unique_ptr<Dataset> ds = OpenOrDie(spec);
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->sample_shape(), (Shape{1, 2, 2}));
  EXPECT_EQ(ds->labels(), (std::vector<int64_t>{2, 0, 1}));
  Tensor batch;
  ASSERT_TRUE(ds->Fill(0, 1, &batch, nullptr).ok());
  EXPECT_EQ(batch.data<float>()[0], 0.0f);
  EXPECT_EQ(batch.data<float>()[1], 51.0f * (1.0f / 255));
  EXPECT_EQ(batch.data<float>()[3], 255.0f * (1.0f / 255));
}

TEST(Dataset, FlatFeatures) {
  TempDir dir;
  WriteNpyFloatDataset(dir, "(2, 3)", {1, 2, 3, 4, 5, 6}, 2);
  std::unique_ptr<Dataset> ds = OpenOrDie(SpecFor(dir, "npy", "x.npy", "y.npy"));
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->sample_shape(), Shape{3});
  Tensor batch;
  ASSERT_TRUE(ds->Fill(1, 1, &batch, nullptr).ok());
  EXPECT_EQ(batch.shape(), (Shape{1, 3}));
  EXPECT_EQ(batch.data<float>()[2], 6.0f);
  EXPECT_TRUE(ds->CheckFits({-1, 3}, "mlp.onnx").ok());
}

// --- Fill bounds, CheckFits, shards ---------------------------------------------

std::unique_ptr<Dataset> TenSamples(const TempDir& dir) {
  std::vector<uint8_t> pixels(10 * 4);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i);
  test::WriteBytes(dir.Path("x.idx"), IdxBytes(0x08, {10, 2, 2}, pixels));
  test::WriteBytes(dir.Path("y.idx"), IdxBytes(0x08, {10}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  return OpenOrDie(SpecFor(dir, "idx", "x.idx", "y.idx"));
}

TEST(Dataset, FillIsBoundsChecked) {
  TempDir dir;
  std::unique_ptr<Dataset> ds = TenSamples(dir);
  ASSERT_NE(ds, nullptr);
  Tensor batch;
  std::vector<int64_t> labels;
  for (auto [begin, count] : std::vector<std::pair<int64_t, int64_t>>{
           {-1, 2}, {9, 2}, {0, 11}, {11, 0}, {3, -1}, {5, INT64_MAX}}) {
    Status s = ds->Fill(begin, count, &batch, &labels);
    EXPECT_EQ(s.code(), StatusCode::kOutOfRange) << begin << "+" << count << ": " << s.ToString();
  }
  ASSERT_TRUE(ds->Fill(10, 0, &batch, &labels).ok());
  EXPECT_EQ(batch.shape(), (Shape{0, 1, 2, 2}));
  EXPECT_TRUE(labels.empty());
  ASSERT_TRUE(ds->Fill(7, 3, &batch, &labels).ok());
  EXPECT_EQ(labels, (std::vector<int64_t>{7, 8, 9}));
  EXPECT_EQ(batch.data<float>()[0], 28.0f);  // first pixel of sample 7
  EXPECT_EQ(batch.data<float>()[11], 39.0f);
  EXPECT_EQ(ds->Fill(0, 1, nullptr, nullptr).code(), StatusCode::kInvalidArgument);
}

TEST(Dataset, FillReusesAMatchingBatch) {
  TempDir dir;
  std::unique_ptr<Dataset> ds = TenSamples(dir);
  ASSERT_NE(ds, nullptr);
  Tensor batch;
  ASSERT_TRUE(ds->Fill(0, 2, &batch, nullptr).ok());
  const void* storage = batch.raw();
  ASSERT_TRUE(ds->Fill(2, 2, &batch, nullptr).ok());
  EXPECT_EQ(batch.raw(), storage);
  EXPECT_EQ(batch.data<float>()[0], 8.0f);
}

TEST(Dataset, CheckFitsNamesDatasetModelAndInput) {
  TempDir dir;
  std::unique_ptr<Dataset> ds = TenSamples(dir);
  ASSERT_NE(ds, nullptr);
  EXPECT_TRUE(ds->CheckFits({-1, 1, 2, 2}, "m.onnx", "input").ok());
  EXPECT_TRUE(ds->CheckFits({8, 1, 2, 2}, "m.onnx").ok());
  EXPECT_TRUE(ds->CheckFits({-1, 1, -1, -1}, "m.onnx").ok());

  Status s = ds->CheckFits({-1, 3, 32, 32}, "m.onnx", "input");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "dataset '" + dir.Path("d.yaml") +
                             "' gives samples [1,2,2], model 'm.onnx' input 'input' wants "
                             "[?,3,32,32]");
  EXPECT_FALSE(ds->CheckFits({-1, 4}, "m.onnx").ok());
  EXPECT_FALSE(ds->CheckFits({-1, 1, 2, 2, 1}, "m.onnx").ok());
  Status layout = ds->CheckFits({-1, 2, 2, 1}, "m.onnx", "x");
  EXPECT_FALSE(layout.ok());
  EXPECT_NE(layout.message().find("preprocess.layout: nhwc"), std::string::npos)
      << layout.message();
}

TEST(MakeShards, CoverTheRangeExactlyOnce) {
  for (auto [begin, count, size] : std::vector<std::array<int64_t, 3>>{
           {0, 10000, 1000}, {0, 10, 3}, {5, 7, 10}, {100, 1, 1}, {3, 17, 4}}) {
    const std::vector<Shard> shards = MakeShards(begin, count, size);
    ASSERT_EQ(static_cast<int64_t>(shards.size()), (count + size - 1) / size);
    std::vector<int> hits(count, 0);
    int64_t next = begin;
    for (size_t i = 0; i < shards.size(); ++i) {
      EXPECT_EQ(shards[i].index, static_cast<int64_t>(i));
      EXPECT_EQ(shards[i].begin, next);  // contiguous, in order
      EXPECT_GT(shards[i].count, 0);
      EXPECT_LE(shards[i].count, size);
      for (int64_t k = shards[i].begin; k < shards[i].begin + shards[i].count; ++k) {
        ASSERT_GE(k - begin, 0);
        ASSERT_LT(k - begin, count);
        ++hits[k - begin];
      }
      next = shards[i].begin + shards[i].count;
    }
    for (int64_t k = 0; k < count; ++k) ASSERT_EQ(hits[k], 1) << "sample " << begin + k;
    // Deterministic: the same call gives the same shards.
    const std::vector<Shard> again = MakeShards(begin, count, size);
    ASSERT_EQ(again.size(), shards.size());
    for (size_t i = 0; i < shards.size(); ++i) {
      EXPECT_EQ(again[i].begin, shards[i].begin);
      EXPECT_EQ(again[i].count, shards[i].count);
    }
  }
}

TEST(MakeShards, EdgeCases) {
  EXPECT_TRUE(MakeShards(0, 0, 10).empty());
  EXPECT_TRUE(MakeShards(0, -5, 10).empty());
  const std::vector<Shard> one = MakeShards(4, 9, 0);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].begin, 4);
  EXPECT_EQ(one[0].count, 9);
  const std::vector<Shard> last = MakeShards(0, 10, 4);
  ASSERT_EQ(last.size(), 3u);
  EXPECT_EQ(last[2].begin, 8);
  EXPECT_EQ(last[2].count, 2);
}

}  // namespace
}  // namespace mixq
