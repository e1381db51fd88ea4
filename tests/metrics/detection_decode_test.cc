// Decoding detector heads: both layouts, both box formats, objectness,
// per-class NMS, the top-k cut and the map back to the original image, on
// tensors written out by hand.
#include "metrics/detection_decode.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace mixq {
namespace {

Tensor F32(Shape shape, const std::vector<float>& values) {
  Tensor t(DType::kF32, std::move(shape));
  EXPECT_EQ(t.size(), static_cast<int64_t>(values.size()));
  std::copy(values.begin(), values.end(), t.data<float>());
  return t;
}

// One image, three boxes (cx, cy, w, h, objectness, class 0, class 1):
//   box 0: [40,40]-[60,60], obj .9, classes .8 .1  -> scores .72 .09
//   box 1: [42,40]-[62,60], obj .9, classes .7 .6  -> scores .63 .54
//   box 2: far away,         obj .5, classes .2 .9  -> scores .10 .45
// Boxes 0 and 1 overlap by IoU 360/440 = 0.82.
Tensor YoloOutput() {
  return F32({1, 3, 7}, {50,  50,  20, 20, 0.9f, 0.8f, 0.1f,  //
                         52,  50,  20, 20, 0.9f, 0.7f, 0.6f,  //
                         150, 150, 10, 10, 0.5f, 0.2f, 0.9f});
}

DetectionHeadSpec YoloHead() {
  DetectionHeadSpec head;
  head.box_format = BoxFormat::kCxcywh;
  head.has_objectness = true;
  head.num_classes = 2;
  head.layout = HeadLayout::kCombined;
  head.category_ids = {1, 5};
  return head;
}

TEST(DetectionDecode, PerClassNmsOnTheCombinedLayoutWithObjectness) {
  StatusOr<std::vector<Detection>> dets =
      DecodeDetections(YoloHead(), {YoloOutput()}, {17}, {ImageTransform{}});
  ASSERT_TRUE(dets.ok()) << dets.status().ToString();
  // Class 0: box 1 (.63) falls to box 0 (.72). Class 1: box 0 (.09) falls to
  // box 1 (.54), which survives although it overlaps box 0 of class 0, as
  // per-class NMS keeps it. Highest first.
  ASSERT_EQ(dets->size(), 4u);
  const std::vector<std::pair<double, int64_t>> expected = {
      {0.9f * 0.8f, 1}, {0.9f * 0.6f, 5}, {0.5f * 0.9f, 5}, {0.5f * 0.2f, 1}};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_FLOAT_EQ((*dets)[i].score, expected[i].first) << i;
    EXPECT_EQ((*dets)[i].category_id, expected[i].second) << i;
    EXPECT_EQ((*dets)[i].image_index, 17);
  }
  EXPECT_EQ((*dets)[1].box.x, 42);  // box 1, as x, y, w, h
  EXPECT_EQ((*dets)[1].box.w, 20);
}

TEST(DetectionDecode, ThresholdTopKAndTheMapBackToTheImage) {
  DecodeOptions options;
  options.max_detections = 2;
  ImageTransform scale;
  scale.scale_x = 2;
  scale.scale_y = 0.5;
  StatusOr<std::vector<Detection>> top =
      DecodeDetections(YoloHead(), {YoloOutput()}, {0}, {scale}, options);
  ASSERT_TRUE(top.ok());
  ASSERT_EQ(top->size(), 2u);
  const BoxXywh& b = (*top)[0].box;  // box 0: [40,40]-[60,60] scaled by (2, 0.5)
  EXPECT_EQ(b.x, 80);
  EXPECT_EQ(b.y, 20);
  EXPECT_EQ(b.w, 40);
  EXPECT_EQ(b.h, 10);

  options = DecodeOptions();
  options.score_threshold = 0.5;  // .72 and .54 stay; .63 was suppressed anyway
  StatusOr<std::vector<Detection>> high =
      DecodeDetections(YoloHead(), {YoloOutput()}, {0}, {ImageTransform{}}, options);
  ASSERT_TRUE(high.ok());
  EXPECT_EQ(high->size(), 2u);

  options = DecodeOptions();
  options.nms_iou_threshold = 0.9;  // 0.82 overlaps no longer suppress
  StatusOr<std::vector<Detection>> loose =
      DecodeDetections(YoloHead(), {YoloOutput()}, {0}, {ImageTransform{}}, options);
  ASSERT_TRUE(loose.ok());
  EXPECT_EQ(loose->size(), 6u);
}

TEST(DetectionDecode, TwoOutputXyxyLayoutWithLetterboxAndClipping) {
  DetectionHeadSpec head;
  head.box_format = BoxFormat::kXyxy;
  head.num_classes = 3;
  head.layout = HeadLayout::kBoxesAndScores;
  // Two images of one box each.
  const Tensor boxes = F32({2, 1, 4}, {-10, 5, 30, 25,  //
                                       10, 10, 20, 30});
  const Tensor scores = F32({2, 1, 3}, {0.1f, 0.7f, 0.0f,  //
                                        0.0f, 0.0f, 0.3f});
  ImageTransform letterbox;  // 2x, padded by 5 on the left, image 100 wide
  letterbox.scale_x = 2;
  letterbox.scale_y = 2;
  letterbox.pad_x = 5;
  letterbox.width = 100;
  letterbox.height = 100;
  StatusOr<std::vector<Detection>> dets =
      DecodeDetections(head, {boxes, scores}, {3, 4}, {letterbox, ImageTransform{}});
  ASSERT_TRUE(dets.ok()) << dets.status().ToString();
  ASSERT_EQ(dets->size(), 3u);  // image 3: classes 1 and 0; image 4: class 2
  EXPECT_EQ((*dets)[0].category_id, 1);
  EXPECT_EQ((*dets)[0].image_index, 3);
  // x: (-10 - 5) * 2 = -30 clipped to 0, (30 - 5) * 2 = 50; y: 10 to 50.
  EXPECT_EQ((*dets)[0].box.x, 0);
  EXPECT_EQ((*dets)[0].box.w, 50);
  EXPECT_EQ((*dets)[0].box.y, 10);
  EXPECT_EQ((*dets)[0].box.h, 40);
  EXPECT_EQ((*dets)[2].image_index, 4);
  EXPECT_EQ((*dets)[2].category_id, 2);  // no category_ids: the class index
  EXPECT_EQ((*dets)[2].box.h, 20);
}

TEST(DetectionDecode, DropsNonFiniteScoresAndBoxes) {
  DetectionHeadSpec head;
  head.box_format = BoxFormat::kXyxy;
  head.num_classes = 1;
  const float nan = std::nanf("");
  const Tensor out = F32({1, 3, 5}, {0, 0, 10, 10, nan,     //
                                     nan, 0, 10, 10, 0.9f,  //
                                     0, 0, 10, 10, 0.8f});
  StatusOr<std::vector<Detection>> dets = DecodeDetections(head, {out}, {0}, {ImageTransform{}});
  ASSERT_TRUE(dets.ok());
  ASSERT_EQ(dets->size(), 1u);
  EXPECT_FLOAT_EQ((*dets)[0].score, 0.8f);
}

std::string DecodeError(const DetectionHeadSpec& head, const std::vector<Tensor>& outputs,
                        size_t images = 1) {
  const StatusOr<std::vector<Detection>> dets = DecodeDetections(
      head, outputs, std::vector<int64_t>(images, 0), std::vector<ImageTransform>(images));
  if (dets.ok()) return "decoded";
  EXPECT_EQ(dets.status().code(), StatusCode::kInvalidArgument);
  return dets.status().message();
}

TEST(DetectionDecode, RefusesShapesThatDoNotFitTheDeclaredHead) {
  DetectionHeadSpec head = YoloHead();
  EXPECT_EQ(DecodeError(head, {YoloOutput()}), "decoded");
  EXPECT_EQ(DecodeError(head, {F32({1, 3, 6}, std::vector<float>(18))}),
            "detection head: the output must be float32 [N, boxes, 7] (4 box + 1 objectness + 2 "
            "classes), not float32 [1,3,6]");
  EXPECT_NE(DecodeError(head, {YoloOutput()}, 2).find("outputs hold 1 images, but 2 image"),
            std::string::npos);
  EXPECT_NE(DecodeError(head, {YoloOutput(), YoloOutput()}).find("has one output, not 2"),
            std::string::npos);
  Tensor doubles(DType::kF64, {1, 3, 7});
  EXPECT_NE(DecodeError(head, {doubles}).find("not float64 [1,3,7]"), std::string::npos);

  head.category_ids = {1};
  EXPECT_NE(DecodeError(head, {YoloOutput()}).find("1 category ids for 2 classes"),
            std::string::npos);

  head = YoloHead();
  head.layout = HeadLayout::kBoxesAndScores;
  EXPECT_NE(DecodeError(head, {}).find("objectness needs the combined layout"), std::string::npos);
  head.has_objectness = false;
  const Tensor boxes = F32({1, 3, 4}, std::vector<float>(12));
  EXPECT_NE(DecodeError(head, {boxes, F32({1, 2, 2}, std::vector<float>(4))})
                .find("differ in images or boxes"),
            std::string::npos);
  EXPECT_NE(DecodeError(head, {boxes, F32({1, 3, 5}, std::vector<float>(15))})
                .find("scores must be float32 [N, boxes, 2]"),
            std::string::npos);

  head.num_classes = 0;
  EXPECT_NE(DecodeError(head, {}).find("class count 0"), std::string::npos);
}

TEST(DetectionDecode, XyxyIou) {
  const double a[] = {0, 0, 10, 10};
  const double b[] = {5, 0, 15, 10};
  const double far[] = {20, 20, 30, 30};
  const double empty[] = {3, 3, 3, 3};
  EXPECT_DOUBLE_EQ(XyxyIou(a, a), 1.0);
  EXPECT_DOUBLE_EQ(XyxyIou(a, b), 50.0 / 150);
  EXPECT_EQ(XyxyIou(a, far), 0.0);
  EXPECT_EQ(XyxyIou(empty, empty), 0.0);
}

}  // namespace
}  // namespace mixq
