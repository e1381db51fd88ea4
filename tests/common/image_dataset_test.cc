// Image-folder datasets (`format: images`): the listing's order and errors,
// the manifest workers read, and the samples Fill() gives: pixels decoded
// from PNG files the test writes itself, scaled, normalised, cropped and
// laid out as the spec says, compared value by value.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "common/dataset.h"
#include "common/image_listing.h"
#include "common/image_manifest.h"
#include "tests/common/data_files.h"

namespace mixq {
namespace {

using test::PngBytes;
using test::TempDir;
using test::WriteBytes;
using test::WriteText;

// A w x h image whose pixel (y, x) channel c is base + 10*y + 3*x + c.
std::vector<uint8_t> Ramp(int width, int height, int channels, int base) {
  std::vector<uint8_t> pixels;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c)
        pixels.push_back(static_cast<uint8_t>(base + 10 * y + 3 * x + c));
    }
  }
  return pixels;
}

void WritePng(const std::string& path, int width, int height, int channels, int base) {
  WriteBytes(path, PngBytes(width, height, channels, Ramp(width, height, channels, base)));
}

std::vector<std::string> Names(const ImageListing& listing, const std::string& root) {
  std::vector<std::string> names;
  for (const ImageFile& f : listing.files) {
    names.push_back(std::filesystem::path(f.path).lexically_relative(root).string() + "=" +
                    std::to_string(f.label));
  }
  return names;
}

TEST(ImageListing, ClassFoldersAreNumberedAsTorchvisionImageFolder) {
  TempDir dir;
  WritePng(dir.Path("b_cat/1.png"), 2, 2, 3, 0);
  WritePng(dir.Path("a_dog/x.png"), 2, 2, 3, 0);
  WritePng(dir.Path("a_dog/Z.JPG"), 2, 2, 3, 0);  // any case; byte order puts 'Z' first
  WritePng(dir.Path("a_dog/sub/0.jpeg"), 2, 2, 3, 0);
  WriteText(dir.Path("a_dog/notes.txt"), "ignored as torchvision ignores it");
  WriteText(dir.Path("README"), "a file beside the class folders is no class");
  StatusOr<ImageListing> listing = ListImages(dir.path());
  ASSERT_TRUE(listing.ok()) << listing.status().ToString();
  EXPECT_EQ(listing->classes, (std::vector<std::string>{"a_dog", "b_cat"}));
  EXPECT_EQ(Names(*listing, dir.path()),
            (std::vector<std::string>{"a_dog/Z.JPG=0", "a_dog/x.png=0", "a_dog/sub/0.jpeg=0",
                                      "b_cat/1.png=1"}));
}

TEST(ImageListing, ListFileResolvesPathsAgainstItsFolderAndKeepsItsOrder) {
  TempDir dir;
  WriteText(dir.Path("lists/val.txt"),
            "# path label\n\nimgs/b c.png 7\n  imgs/a.png\t0  \n/abs/z.jpg 3\n");
  StatusOr<ImageListing> listing = ListImages(dir.Path("lists/val.txt"));
  ASSERT_TRUE(listing.ok()) << listing.status().ToString();
  ASSERT_EQ(listing->files.size(), 3u);
  EXPECT_EQ(listing->files[0].path, dir.path() + "/lists/imgs/b c.png");
  EXPECT_EQ(listing->files[0].label, 7);
  EXPECT_EQ(listing->files[1].path, dir.path() + "/lists/imgs/a.png");
  EXPECT_EQ(listing->files[1].label, 0);
  EXPECT_EQ(listing->files[2].path, "/abs/z.jpg");
  EXPECT_TRUE(listing->classes.empty());
}

TEST(ImageListing, RefusesWhatWouldRenumberOrHideSamples) {
  TempDir dir;
  auto error_of = [](const std::string& path) {
    StatusOr<ImageListing> listing = ListImages(path);
    return listing.ok() ? std::string("ok") : listing.status().message();
  };
  EXPECT_NE(error_of(dir.Path("none")).find("no such image folder"), std::string::npos);
  std::filesystem::create_directories(dir.Path("empty"));
  EXPECT_NE(error_of(dir.Path("empty")).find("no class folders"), std::string::npos);
  WritePng(dir.Path("set/a/1.png"), 2, 2, 1, 0);
  std::filesystem::create_directories(dir.Path("set/b"));
  EXPECT_EQ(error_of(dir.Path("set")),
            dir.Path("set/b") + ": class folder with no JPEG or PNG file");
  WritePng(dir.Path("set/b/1.png"), 2, 2, 1, 0);
  WriteText(dir.Path("set/b/2.bmp"), "BM");
  EXPECT_NE(error_of(dir.Path("set")).find("set/b/2.bmp: unsupported image format"),
            std::string::npos);
  WriteText(dir.Path("l1.txt"), "a.png 1\nb.png x\n");
  EXPECT_EQ(error_of(dir.Path("l1.txt")),
            dir.Path("l1.txt") + ":2: label 'x' is not a non-negative integer");
  WriteText(dir.Path("l2.txt"), "a.png\n");
  EXPECT_NE(error_of(dir.Path("l2.txt")).find(":1: expected 'path label'"), std::string::npos);
  WriteText(dir.Path("l3.txt"), "a.gif 1\n");
  EXPECT_NE(error_of(dir.Path("l3.txt")).find("is not a JPEG or PNG file name"), std::string::npos);
  WriteText(dir.Path("l4.txt"), "# nothing\n");
  EXPECT_NE(error_of(dir.Path("l4.txt")).find("lists no image"), std::string::npos);
}

TEST(ImageManifest, RoundTripsAndRefusesMalformedLines) {
  TempDir dir;
  const std::string sha(64, 'a');
  const std::vector<ImageManifestEntry> entries = {{sha, 123, 4, "cat/a b.png"},
                                                   {std::string(64, '0'), 0, 0, "x\ny.png"}};
  WriteText(dir.Path("m"), FormatImageManifest(entries));
  StatusOr<std::vector<ImageManifestEntry>> read = ReadImageManifest(dir.Path("m"));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0].sha256, sha);
  EXPECT_EQ((*read)[0].size, 123u);
  EXPECT_EQ((*read)[0].label, 4);
  EXPECT_EQ((*read)[0].name, "cat/a b.png");
  EXPECT_EQ((*read)[1].name, "x?y.png");  // a control character cannot end the line early
  const std::string header = "mixq-image-manifest 1\n";
  for (const std::string& body :
       {std::string("no header\n"), header, header + sha + " 1 2\n", header + "ABC 1 2 n\n",
        header + sha.substr(1) + "g 1 2 n\n", header + sha + " -1 2 n\n",
        header + sha + " 1 -2 n\n", header + sha + " 99999999999999999999 2 n\n"}) {
    WriteText(dir.Path("bad"), body);
    EXPECT_FALSE(ReadImageManifest(dir.Path("bad")).ok()) << body;
  }
}

DatasetSpec ImageSpec(const std::string& images) {
  DatasetSpec spec;
  spec.source = "test.yaml";
  spec.format = "images";
  spec.images = images;
  return spec;
}

std::unique_ptr<Dataset> Open(const DatasetSpec& spec) {
  StatusOr<std::unique_ptr<Dataset>> ds = Dataset::Open(spec);
  EXPECT_TRUE(ds.ok()) << ds.status().ToString();
  return ds.ok() ? std::move(*ds) : nullptr;
}

TEST(ImageDataset, FillsDecodedPixelsScaledNormalisedAndLaidOutAsTheSpecSays) {
  TempDir dir;
  WritePng(dir.Path("set/a/0.png"), 3, 2, 3, 0);
  WritePng(dir.Path("set/b/0.png"), 3, 2, 3, 100);
  DatasetSpec spec = ImageSpec(dir.Path("set"));
  spec.preprocess.scale = 0.5f;
  spec.preprocess.mean = {1, 2, 3};
  spec.preprocess.std = {2, 4, 8};
  for (const bool nhwc : {false, true}) {
    for (const bool bgr : {false, true}) {
      spec.preprocess.layout = nhwc ? Preprocess::Layout::kNhwc : Preprocess::Layout::kNchw;
      spec.preprocess.bgr = bgr;
      std::unique_ptr<Dataset> ds = Open(spec);
      ASSERT_NE(ds, nullptr);
      EXPECT_EQ(ds->size(), 2);
      EXPECT_EQ(ds->labels(), (std::vector<int64_t>{0, 1}));
      const Shape model = nhwc ? Shape{-1, 2, 3, 3} : Shape{-1, 3, 2, 3};
      std::vector<Tensor> batch;
      std::vector<int64_t> labels;
      ASSERT_TRUE(ds->Fill(0, 2, {{"x", DType::kF32, model}}, &batch, &labels).ok());
      ASSERT_EQ(batch[0].shape(), nhwc ? (Shape{2, 2, 3, 3}) : (Shape{2, 3, 2, 3}));
      const float* v = batch[0].data<float>();
      for (int n = 0; n < 2; ++n) {
        for (int c = 0; c < 3; ++c) {
          for (int y = 0; y < 2; ++y) {
            for (int x = 0; x < 3; ++x) {
              const int from = bgr ? 2 - c : c;
              const float pixel = static_cast<float>(100 * n + 10 * y + 3 * x + from);
              const float want = (pixel * 0.5f - spec.preprocess.mean[c]) / spec.preprocess.std[c];
              const int64_t at =
                  nhwc ? ((n * 2 + y) * 3 + x) * 3 + c : ((n * 3 + c) * 2 + y) * 3 + x;
              EXPECT_EQ(v[at], want) << "n " << n << " c " << c << " y " << y << " x " << x;
            }
          }
        }
      }
    }
  }
}

TEST(ImageDataset, GreyImagesAreCenterCroppedAsTorchvisionCropsThem) {
  TempDir dir;
  WritePng(dir.Path("set/a/0.png"), 5, 4, 1, 0);  // 4 rows, 5 columns
  DatasetSpec spec = ImageSpec(dir.Path("set"));
  spec.preprocess.image.color = ColorMode::kGray;
  spec.preprocess.image.crop_height = 2;
  spec.preprocess.image.crop_width = 2;
  std::unique_ptr<Dataset> ds = Open(spec);
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->sample_shape(), (Shape{1, 2, 2}));
  std::vector<Tensor> batch;
  ASSERT_TRUE(ds->Fill(0, 1, {{"x", DType::kF32, {-1, 1, 2, 2}}}, &batch, nullptr).ok());
  // top = round((4 - 2) / 2) = 1, left = round((5 - 2) / 2) = round(1.5) = 2 (half to even).
  const float* v = batch[0].data<float>();
  EXPECT_EQ(v[0], 10 * 1 + 3 * 2);
  EXPECT_EQ(v[1], 10 * 1 + 3 * 3);
  EXPECT_EQ(v[2], 10 * 2 + 3 * 2);
  EXPECT_EQ(v[3], 10 * 2 + 3 * 3);
}

TEST(ImageDataset, WithoutACropOrResizeTheModelsInputSizeDecides) {
  TempDir dir;
  WritePng(dir.Path("set/a/0.png"), 8, 6, 3, 0);
  std::unique_ptr<Dataset> ds = Open(ImageSpec(dir.Path("set")));
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->sample_shape(), (Shape{3, -1, -1}));
  const Status open = ds->CheckFits({{"images", DType::kF32, {-1, 3, -1, -1}}}, "m.onnx");
  EXPECT_EQ(open.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(open.message().find("--input-shape"), std::string::npos) << open.message();
  EXPECT_TRUE(ds->CheckFits({{"images", DType::kF32, {-1, 3, 4, 4}}}, "m.onnx").ok());
  EXPECT_FALSE(ds->CheckFits({{"images", DType::kF32, {-1, 1, 4, 4}}}, "m.onnx").ok());
  std::vector<Tensor> batch;
  ASSERT_TRUE(ds->Fill(0, 1, {{"images", DType::kF32, {-1, 3, 3, 4}}}, &batch, nullptr).ok());
  EXPECT_EQ(batch[0].shape(), (Shape{1, 3, 3, 4}));
  // Halving 6x8 to 3x4 with PIL's antialiased bilinear filter: output 0's
  // centre is input 1.0, the triangle stretched to radius 2 weighs inputs
  // 0, 1, 2 as 0.75, 0.75, 0.25, so channel 0 of pixel (0,0) is
  // (0*.75 + 3*.75 + 6*.25)/1.75 + (0*.75 + 10*.75 + 20*.25)/1.75 = 9.29 -> 9.
  EXPECT_EQ(batch[0].data<float>()[0], 9.0f);
}

TEST(ImageDataset, ACorruptFileFailsTheFillThatReachesItNamingTheFile) {
  TempDir dir;
  WritePng(dir.Path("set/a/0.png"), 4, 4, 3, 0);
  std::vector<uint8_t> bytes = PngBytes(4, 4, 3, Ramp(4, 4, 3, 0));
  bytes.resize(bytes.size() / 2);
  WriteBytes(dir.Path("set/a/1.png"), bytes);
  DatasetSpec spec = ImageSpec(dir.Path("set"));
  spec.preprocess.image.crop_height = spec.preprocess.image.crop_width = 4;
  std::unique_ptr<Dataset> ds = Open(spec);  // lazy: opening lists, never decodes
  ASSERT_NE(ds, nullptr);
  std::vector<Tensor> batch;
  ASSERT_TRUE(ds->Fill(0, 1, {{"x", DType::kF32, {-1, 3, 4, 4}}}, &batch, nullptr).ok());
  const Status bad = ds->Fill(0, 2, {{"x", DType::kF32, {-1, 3, 4, 4}}}, &batch, nullptr);
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find(dir.Path("set/a/1.png")), std::string::npos) << bad.message();
  EXPECT_NE(bad.message().find("(sample 1)"), std::string::npos) << bad.message();
}

TEST(ImageDataset, AWorkerHoldsOnlyItsSlicesFiles) {
  TempDir dir;
  WritePng(dir.Path("0.png"), 2, 2, 3, 0);
  WritePng(dir.Path("1.png"), 2, 2, 3, 50);
  DatasetSpec spec = ImageSpec("manifest");
  spec.preprocess.image.crop_height = spec.preprocess.image.crop_width = 2;
  StatusOr<std::unique_ptr<Dataset>> ds =
      Dataset::OpenImages(spec, {{"", 3, "cat/0.png", "", ""}, {"", 5, "cat/1.png", "", ""}});
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ((*ds)->labels(), (std::vector<int64_t>{3, 5}));
  const std::vector<ModelInput> model = {{"x", DType::kF32, {-1, 3, 2, 2}}};
  std::vector<Tensor> batch;
  EXPECT_EQ((*ds)->Fill(1, 1, model, &batch, nullptr).code(), StatusCode::kFailedPrecondition);
  (*ds)->SetImagePath(1, dir.Path("1.png"));
  ASSERT_TRUE((*ds)->Fill(1, 1, model, &batch, nullptr).ok());
  EXPECT_EQ(batch[0].data<float>()[0], 50.0f);
  // A bad copy is named as the dataset names the file, not by its cache path.
  WriteText(dir.Path("cache/ab12"), "not an image");
  (*ds)->SetImagePath(0, dir.Path("cache/ab12"));
  const Status bad = (*ds)->Fill(0, 1, model, &batch, nullptr);
  EXPECT_NE(bad.message().find("cat/0.png"), std::string::npos) << bad.message();
  EXPECT_EQ(bad.message().find("ab12"), std::string::npos) << bad.message();
}

// The exactness check at the sample level: Fashion-MNIST written as
// PNG class folders (scripts/fashion_mnist_png) gives every image the
// IDX file's pixels after preprocessing, bit for bit, and its label.
TEST(ImageDataset, FashionMnistPngFolderGivesTheIdxSamplesBitForBit) {
  TempDir dir;
  const std::string cmd = std::string(MIXQ_SOURCE_DIR) + "/scripts/fashion_mnist_png --out " +
                          dir.Path("fm") + " --count 600 > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  StatusOr<DatasetSpec> idx_spec =
      LoadDatasetSpec(std::string(MIXQ_SOURCE_DIR) + "/configs/datasets/fashion_mnist_test.yaml");
  ASSERT_TRUE(idx_spec.ok()) << idx_spec.status().ToString();
  std::unique_ptr<Dataset> idx = Open(*idx_spec);
  DatasetSpec png_spec = ImageSpec(dir.Path("fm"));
  png_spec.preprocess = idx_spec->preprocess;
  png_spec.preprocess.image.color = ColorMode::kGray;
  std::unique_ptr<Dataset> png = Open(png_spec);
  ASSERT_NE(idx, nullptr);
  ASSERT_NE(png, nullptr);
  ASSERT_EQ(png->size(), 600);
  const std::vector<ModelInput> model = {{"input", DType::kF32, {-1, 1, 28, 28}}};
  for (int64_t i = 0; i < png->size(); ++i) {
    const std::string stem = std::filesystem::path(png->images()->files()[i].path).stem();
    const int64_t at = std::stoll(stem);
    std::vector<Tensor> a, b;
    std::vector<int64_t> la, lb;
    ASSERT_TRUE(png->Fill(i, 1, model, &a, &la).ok());
    ASSERT_TRUE(idx->Fill(at, 1, model, &b, &lb).ok());
    ASSERT_EQ(la, lb) << stem;
    ASSERT_EQ(0, std::memcmp(a[0].data<float>(), b[0].data<float>(), 28 * 28 * sizeof(float)))
        << stem;
  }
}

TEST(ImageDatasetSpec, ReadsTheImageStepsAndRefusesThemElsewhere) {
  TempDir dir;
  WriteText(dir.Path("d/ok.yaml"),
            "format: images\nimages: val\npreprocess: {color: bgr, resize: 256, "
            "interpolation: bicubic, center_crop: [224, 200], scale: 0.0039215686, "
            "mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}\n");
  StatusOr<DatasetSpec> spec = LoadDatasetSpec(dir.Path("d/ok.yaml"));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->images, dir.Path("d/val"));
  EXPECT_TRUE(spec->labels.empty());
  EXPECT_TRUE(spec->preprocess.bgr);
  EXPECT_EQ(spec->preprocess.image.color, ColorMode::kRgb);
  EXPECT_EQ(spec->preprocess.image.resize_shorter, 256);
  EXPECT_EQ(spec->preprocess.image.interpolation, Interpolation::kBicubic);
  EXPECT_EQ(spec->preprocess.image.crop_height, 224);
  EXPECT_EQ(spec->preprocess.image.crop_width, 200);
  WriteText(dir.Path("d/exact.yaml"),
            "format: images\nimages: val\npreprocess: {resize: [32, 48], color: gray}\n");
  spec = LoadDatasetSpec(dir.Path("d/exact.yaml"));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->preprocess.image.resize_shorter, 0);
  EXPECT_EQ(spec->preprocess.image.resize_height, 32);
  EXPECT_EQ(spec->preprocess.image.resize_width, 48);
  EXPECT_EQ(spec->preprocess.image.color, ColorMode::kGray);

  auto error_of = [&](const std::string& yaml) {
    WriteText(dir.Path("d/bad.yaml"), yaml);
    StatusOr<DatasetSpec> bad = LoadDatasetSpec(dir.Path("d/bad.yaml"));
    return bad.ok() ? std::string("ok") : bad.status().message();
  };
  EXPECT_NE(error_of("format: images\nimages: v\nlabels: l.npy\n").find("'labels' is not used"),
            std::string::npos);
  EXPECT_NE(error_of("format: npy\nimages: x.npy\nlabels: l.npy\npreprocess: {resize: 8}\n")
                .find("'preprocess.resize' applies to format images only"),
            std::string::npos);
  EXPECT_NE(error_of("format: images\nimages: v\npreprocess: {interpolation: lanczos}\n")
                .find("must be bilinear, bicubic or nearest"),
            std::string::npos);
  EXPECT_NE(error_of("format: images\nimages: v\npreprocess: {color: cmyk}\n")
                .find("must be rgb, bgr or gray"),
            std::string::npos);
  EXPECT_NE(error_of("format: images\nimages: v\npreprocess: {center_crop: [1, 2, 3]}\n")
                .find("must be a number or [height, width]"),
            std::string::npos);
  EXPECT_NE(error_of("format: images\nimages: v\npreprocess: {resize: 0}\n").find("resize"),
            std::string::npos);
  EXPECT_NE(error_of("format: images\nimages: v\npreprocess: {resize: 70000}\n").find("resize"),
            std::string::npos);
  EXPECT_NE(error_of("format: jpeg\nimages: v\n").find("must be idx, npy or images"),
            std::string::npos);
}

TEST(ImageDatasetSpec, ReadsTheTaskAndRefusesAnotherKindsKeys) {
  TempDir dir;
  WriteText(dir.Path("d/det.yaml"),
            "format: images\nimages: val\ntask: {kind: detection, annotations: ann.json, "
            "classes: 5, boxes: xyxy, objectness: true, outputs: boxes_and_scores, "
            "score_threshold: 0.05, nms_iou: 0.5, max_detections: 50}\n");
  StatusOr<DatasetSpec> spec = LoadDatasetSpec(dir.Path("d/det.yaml"));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  const TaskSpec& t = spec->task;
  EXPECT_EQ(t.kind, TaskSpec::Kind::kDetection);
  EXPECT_EQ(t.annotations, dir.Path("d/ann.json"));
  EXPECT_EQ(t.classes, 5);
  EXPECT_FALSE(t.boxes_cxcywh);
  EXPECT_TRUE(t.objectness);
  EXPECT_TRUE(t.two_outputs);
  EXPECT_DOUBLE_EQ(t.score_threshold, 0.05);
  EXPECT_DOUBLE_EQ(t.nms_iou, 0.5);
  EXPECT_EQ(t.max_detections, 50);
  WriteText(dir.Path("d/seg.yaml"),
            "format: images\nimages: val\ntask: {kind: segmentation, masks: m, classes: 6, "
            "ignore_index: 255}\n");
  spec = LoadDatasetSpec(dir.Path("d/seg.yaml"));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->task.kind, TaskSpec::Kind::kSegmentation);
  EXPECT_EQ(spec->task.masks, dir.Path("d/m"));
  EXPECT_EQ(spec->task.ignore_index, 255);

  auto error_of = [&](const std::string& yaml) {
    WriteText(dir.Path("d/bad.yaml"), yaml);
    StatusOr<DatasetSpec> bad = LoadDatasetSpec(dir.Path("d/bad.yaml"));
    return bad.ok() ? std::string("ok") : bad.status().message();
  };
  const std::string head = "format: images\nimages: v\n";
  EXPECT_NE(error_of(head + "task: {kind: detection, classes: 2}\n")
                .find("missing required key 'task.annotations'"),
            std::string::npos);
  EXPECT_NE(error_of(head + "task: {kind: segmentation, masks: m, classes: 2, boxes: xyxy}\n")
                .find("'task.boxes' applies to kind detection only"),
            std::string::npos);
  EXPECT_NE(error_of(head + "task: {kind: detection, annotations: a, classes: 2, masks: m}\n")
                .find("'task.masks' applies to kind segmentation only"),
            std::string::npos);
  EXPECT_NE(error_of(head + "task: {kind: detection, annotations: a, classes: 2, nms_iou: 2}\n")
                .find("'task.nms_iou' must be in [0, 1]"),
            std::string::npos);
  EXPECT_NE(error_of(head + "task: {kind: keypoints}\n")
                .find("must be classification, detection, segmentation or unlabelled"),
            std::string::npos);
  EXPECT_NE(error_of("format: npy\nimages: x.npy\nlabels: l.npy\n"
                     "task: {kind: segmentation, masks: m, classes: 2}\n")
                .find("needs format images"),
            std::string::npos);
}

TEST(ImageDataset, ATaskDatasetIsTheFolderItselfUnlabelled) {
  TempDir dir;
  WritePng(dir.Path("val/b.png"), 2, 2, 3, 0);
  WritePng(dir.Path("val/a.png"), 2, 2, 3, 0);
  WritePng(dir.Path("val/sub/c.png"), 2, 2, 3, 0);  // not a class folder: ignored
  DatasetSpec spec = ImageSpec(dir.Path("val"));
  spec.task.kind = TaskSpec::Kind::kSegmentation;
  std::unique_ptr<Dataset> ds = Open(spec);
  ASSERT_NE(ds, nullptr);
  ASSERT_EQ(ds->size(), 2);
  EXPECT_EQ(ds->images()->files()[0].path, dir.Path("val/a.png"));
  EXPECT_EQ(ds->labels(), (std::vector<int64_t>{-1, -1}));
}

}  // namespace
}  // namespace mixq
