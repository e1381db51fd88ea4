// Detection and segmentation datasets scored by engine/runtime/task_scorer.h:
// PNG images and masks and a COCO file written by the test, outputs built
// by hand, and the mAP / mIoU they must give; and the bad inputs the
// scorer names (an image without an annotation entry, a mask of the wrong
// size, a label outside the classes).
#include "engine/runtime/task_scorer.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "engine/runtime/evaluator.h"
#include "tests/common/data_files.h"

namespace mixq {
namespace {

using test::PngBytes;
using test::TempDir;
using test::WriteBytes;
using test::WriteText;

void WriteImage(const std::string& path, int width, int height) {
  WriteBytes(path, PngBytes(width, height, 3, std::vector<uint8_t>(width * height * 3, 128)));
}

std::unique_ptr<Dataset> OpenYaml(const std::string& path) {
  StatusOr<DatasetSpec> spec = LoadDatasetSpec(path);
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  if (!spec.ok()) return nullptr;
  StatusOr<std::unique_ptr<Dataset>> ds = Dataset::Open(*spec);
  EXPECT_TRUE(ds.ok()) << ds.status().ToString();
  return ds.ok() ? std::move(*ds) : nullptr;
}

// Two 200x100 images, one object each (category 7: class 0 of the model);
// the model sees 100x50, so boxes scale by 2 back to the image.
class DetectionSet : public testing::Test {
 protected:
  void SetUp() override {
    WriteImage(dir_.Path("set/images/a.png"), 200, 100);
    WriteImage(dir_.Path("set/images/b.png"), 200, 100);
    WriteText(dir_.Path("set/ann.json"), R"({
      "images": [{"id": 5, "file_name": "b.png", "width": 200, "height": 100},
                 {"id": 3, "file_name": "a.png", "width": 200, "height": 100}],
      "categories": [{"id": 7, "name": "square"}],
      "annotations": [
        {"id": 1, "image_id": 3, "category_id": 7, "bbox": [20, 20, 40, 20], "area": 800, "iscrowd": 0},
        {"id": 2, "image_id": 5, "category_id": 7, "bbox": [100, 40, 60, 40], "area": 2400, "iscrowd": 0}]})");
    WriteText(dir_.Path("set/d.yaml"),
              "format: images\nimages: images\npreprocess: {resize: [50, 100]}\n"
              "task: {kind: detection, annotations: ann.json, classes: 1, boxes: xyxy, "
              "objectness: true}\n");
  }
  TempDir dir_;
};

// One batch of two images, rows [x1, y1, x2, y2, objectness, class 0].
Tensor Rows(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  const int64_t boxes = static_cast<int64_t>(a.size());
  Tensor t(DType::kF32, {2, boxes, 6});
  float* p = t.data<float>();
  for (const auto* image : {&a, &b}) {
    for (const std::vector<float>& row : *image) p = std::copy(row.begin(), row.end(), p);
  }
  return t;
}

TEST_F(DetectionSet, BoxesMapBackToEachImageAndScoreCocoAp) {
  std::unique_ptr<Dataset> ds = OpenYaml(dir_.Path("set/d.yaml"));
  ASSERT_NE(ds, nullptr);
  ASSERT_EQ(ds->size(), 2);  // a.png, b.png by name
  StatusOr<std::unique_ptr<TaskScorer>> scorer = TaskScorer::Make(*ds, 50, 100);
  ASSERT_TRUE(scorer.ok()) << scorer.status().ToString();
  // Image a: the exact box at half scale (10,10)-(30,20), and a false one.
  // Image b: its box, found, but scored below a's false positive.
  ASSERT_TRUE((*scorer)
                  ->Add(0, {Rows({{10, 10, 30, 20, 1.0f, 0.9f}, {70, 30, 90, 45, 1.0f, 0.8f}},
                                 {{50, 20, 80, 40, 1.0f, 0.7f}, {0, 0, 1, 1, 0.0f, 0.0f}})})
                  .ok());
  ASSERT_TRUE((*scorer)->detection().has_value());
  // Ranked: TP (0.9), FP (0.8), TP (0.7): precision 1, 1/2, 2/3; recall
  // 1/2 at the first, 1 at the third. Interpolated: recall points up to
  // 0.5 take 1, the rest 2/3: (51 * 1 + 50 * 2/3) / 101.
  EXPECT_NEAR((*scorer)->detection()->Map50(), (51.0 + 50.0 * 2.0 / 3.0) / 101.0, 1e-12);
}

TEST_F(DetectionSet, AnImageWithoutAnAnnotationEntryIsNamed) {
  WriteImage(dir_.Path("set/images/c.png"), 200, 100);
  std::unique_ptr<Dataset> ds = OpenYaml(dir_.Path("set/d.yaml"));
  ASSERT_NE(ds, nullptr);
  StatusOr<std::unique_ptr<TaskScorer>> scorer = TaskScorer::Make(*ds, 50, 100);
  ASSERT_FALSE(scorer.ok());
  EXPECT_NE(scorer.status().message().find("no image entry for 'c.png'"), std::string::npos)
      << scorer.status().message();
}

TEST_F(DetectionSet, AnAnnotatedImageMissingFromTheFolderIsNamed) {
  std::filesystem::remove(dir_.Path("set/images/b.png"));
  std::unique_ptr<Dataset> ds = OpenYaml(dir_.Path("set/d.yaml"));
  ASSERT_NE(ds, nullptr);
  StatusOr<std::unique_ptr<TaskScorer>> scorer = TaskScorer::Make(*ds, 50, 100);
  ASSERT_FALSE(scorer.ok());
  EXPECT_NE(scorer.status().message().find("image 'b.png' (id 5) is not in"), std::string::npos)
      << scorer.status().message();
}

class SegmentationSet : public testing::Test {
 protected:
  void SetUp() override {
    WriteImage(dir_.Path("set/images/a.png"), 2, 2);
    // Mask 2x2: classes 0, 1 / 1, 255 (ignored).
    WriteBytes(dir_.Path("set/masks/a.png"), PngBytes(2, 2, 1, {0, 1, 1, 255}));
    WriteText(dir_.Path("set/s.yaml"),
              "format: images\nimages: images\n"
              "task: {kind: segmentation, masks: masks, classes: 2, ignore_index: 255}\n");
  }
  // Logits [1, 2, 2, 2] whose argmax is `classes` (row-major pixels).
  static Tensor Logits(const std::vector<int>& classes) {
    Tensor t(DType::kF32, {1, 2, 2, 2});
    for (int k = 0; k < 4; ++k) {
      t.data<float>()[k] = classes[k] == 0 ? 1.0f : 0.0f;
      t.data<float>()[4 + k] = classes[k] == 1 ? 1.0f : 0.0f;
    }
    return t;
  }
  TempDir dir_;
};

TEST_F(SegmentationSet, ArgmaxAgainstTheMaskSkipsTheIgnoreIndex) {
  std::unique_ptr<Dataset> ds = OpenYaml(dir_.Path("set/s.yaml"));
  ASSERT_NE(ds, nullptr);
  StatusOr<std::unique_ptr<TaskScorer>> scorer = TaskScorer::Make(*ds, 2, 2);
  ASSERT_TRUE(scorer.ok()) << scorer.status().ToString();
  // Predicted 0, 0 / 1, 0: pixel (0,1) wrong, (1,1) ignored.
  ASSERT_TRUE((*scorer)->Add(0, {Logits({0, 0, 1, 0})}).ok());
  ASSERT_TRUE((*scorer)->segmentation().has_value());
  // Class 0: TP 1, FP 1 -> 1/2. Class 1: TP 1, FN 1 -> 1/2.
  EXPECT_DOUBLE_EQ((*scorer)->segmentation()->MeanIoU(), 0.5);
  EXPECT_DOUBLE_EQ((*scorer)->segmentation()->PixelAccuracy(), 2.0 / 3.0);
}

TEST_F(SegmentationSet, AMaskOfTheWrongSizeOrAnUnknownLabelIsNamed) {
  std::unique_ptr<Dataset> ds = OpenYaml(dir_.Path("set/s.yaml"));
  ASSERT_NE(ds, nullptr);
  StatusOr<std::unique_ptr<TaskScorer>> scorer = TaskScorer::Make(*ds, 2, 2);
  ASSERT_TRUE(scorer.ok());
  WriteBytes(dir_.Path("set/masks/a.png"), PngBytes(3, 2, 1, std::vector<uint8_t>(6, 0)));
  Status wrong = (*scorer)->Add(0, {Logits({0, 0, 0, 0})});
  EXPECT_NE(wrong.message().find("masks/a.png: a mask of 2x3 pixels for an output of 2x2"),
            std::string::npos)
      << wrong.message();
  WriteBytes(dir_.Path("set/masks/a.png"), PngBytes(2, 2, 1, {0, 1, 9, 0}));
  Status label = (*scorer)->Add(0, {Logits({0, 0, 0, 0})});
  EXPECT_FALSE(label.ok());
  EXPECT_NE(label.message().find("masks/a.png"), std::string::npos) << label.message();
}

TEST(EvalMetric, PointsComeFromTheStatisticsTheRunMeasured) {
  for (const char* name : {"top1", "top5", "map50", "map50_95", "miou"}) {
    StatusOr<EvalMetric> m = ParseEvalMetric(name);
    ASSERT_TRUE(m.ok()) << name;
    EXPECT_STREQ(EvalMetricName(*m), name);
  }
  EXPECT_FALSE(ParseEvalMetric("accuracy").ok());
  EXPECT_EQ(EvalMetricTask(EvalMetric::kMap50), TaskSpec::Kind::kDetection);
  EXPECT_EQ(DefaultEvalMetric(TaskSpec::Kind::kSegmentation), EvalMetric::kMiou);

  EvalCounts counts;
  counts.samples = 8;
  counts.correct1 = 6;
  counts.correct5 = 8;
  EXPECT_DOUBLE_EQ(MetricPoints(counts, EvalMetric::kTop1).value(), 75.0);
  EXPECT_DOUBLE_EQ(MetricPoints(counts, EvalMetric::kTop5).value(), 100.0);
  EXPECT_FALSE(MetricPoints(counts, EvalMetric::kMap50).ok());  // not measured
  counts.classified = false;
  EXPECT_FALSE(MetricPoints(counts, EvalMetric::kTop1).ok());
  DetectionStats detection;
  GroundTruth gt;
  gt.category_id = 1;
  gt.box = {0, 0, 10, 10};
  gt.area = 100;
  Detection hit;
  hit.category_id = 1;
  hit.score = 0.9;
  hit.box = {0, 0, 10, 10};
  ASSERT_TRUE(detection.AddImage(0, {gt}, {hit}).ok());
  counts.detection = detection;
  EXPECT_DOUBLE_EQ(MetricPoints(counts, EvalMetric::kMap50).value(), 100.0);
  EXPECT_DOUBLE_EQ(MetricPoints(counts, EvalMetric::kMap50_95).value(), 100.0);
  counts.detection = DetectionStats();  // no ground truth: COCO's -1, not a number
  EXPECT_FALSE(MetricPoints(counts, EvalMetric::kMap50).ok());
}

}  // namespace
}  // namespace mixq
