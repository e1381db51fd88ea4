// COCO instances files: what is read, and each refusal naming the file and
// the entry.
#include "metrics/coco_annotations.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/common/data_files.h"

namespace mixq {
namespace {

const char kImages[] =
    R"("images": [{"id": 42, "file_name": "a.jpg", "width": 640, "height": 480},
                  {"id": 7, "file_name": "b.jpg", "width": 10, "height": 20}])";
const char kCategories[] =
    R"("categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}])";

std::string File(const std::string& annotations, const std::string& images = kImages) {
  return "{" + images + ", " + kCategories + ", \"annotations\": [" + annotations + "]}";
}

std::string Error(const std::string& text) {
  const StatusOr<CocoAnnotations> parsed = ParseCocoAnnotations(text, "val.json");
  if (parsed.ok()) return "parsed";
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  return parsed.status().message();
}

TEST(CocoAnnotations, ReadsImagesCategoriesAndBoxes) {
  test::TempDir dir;
  test::WriteText(dir.Path("val.json"),
                  File(R"({"id": 1, "image_id": 7, "category_id": 3, "bbox": [1, 2, 3.5, 4],
                           "area": 9.25, "iscrowd": 1},
                          {"id": 2, "image_id": 42, "category_id": 1, "bbox": [0, 0, 2, 5]})"));
  StatusOr<CocoAnnotations> coco = ReadCocoAnnotations(dir.Path("val.json"));
  ASSERT_TRUE(coco.ok()) << coco.status().ToString();
  ASSERT_EQ(coco->images.size(), 2u);
  EXPECT_EQ(coco->images[1].id, 7);
  EXPECT_EQ(coco->images[1].file_name, "b.jpg");
  EXPECT_EQ(coco->images[1].height, 20);
  ASSERT_EQ(coco->categories.size(), 2u);
  EXPECT_EQ(coco->categories[1].name, "car");
  ASSERT_EQ(coco->ground_truths.size(), 2u);
  const GroundTruth& crowd = coco->ground_truths[0];
  EXPECT_EQ(crowd.image_index, 7);
  EXPECT_EQ(crowd.category_id, 3);
  EXPECT_EQ(crowd.box.w, 3.5);
  EXPECT_EQ(crowd.area, 9.25);
  EXPECT_TRUE(crowd.iscrowd);
  // Without "area" and "iscrowd": the box's area, not a crowd.
  EXPECT_EQ(coco->ground_truths[1].area, 10.0);
  EXPECT_FALSE(coco->ground_truths[1].iscrowd);
}

TEST(CocoAnnotations, NamesTheFileAndTheOffendingEntry) {
  EXPECT_EQ(Error(File(R"({"id": 5, "image_id": 8, "category_id": 1, "bbox": [0, 0, 1, 1]})")),
            "val.json: annotations[0] (id 5): image_id 8 names no image in \"images\"");
  EXPECT_EQ(Error(File(R"({"image_id": 7, "category_id": 1, "bbox": [0, 0, 1, 1]},
                          {"id": 9, "image_id": 7, "category_id": 1, "bbox": [0, 0, -1, 1]})")),
            "val.json: annotations[1] (id 9): bbox [0,0,-1,1] is not [x, y, width, height] of "
            "finite numbers with width, height >= 0");
  EXPECT_NE(Error(File(R"({"image_id": 7, "category_id": 1, "bbox": [0, 0, 1]})"))
                .find("annotations[0]: bbox [0,0,1] is not"),
            std::string::npos);
  EXPECT_NE(Error(File(R"({"image_id": 7, "category_id": 1, "bbox": [0, "0", 1, 1]})"))
                .find("annotations[0]: bbox"),
            std::string::npos);
  EXPECT_EQ(Error(File(R"({"image_id": 7, "category_id": 2, "bbox": [0, 0, 1, 1]})")),
            "val.json: annotations[0]: category_id 2 names no category in \"categories\"");
  EXPECT_EQ(Error(File("", R"("images": [{"id": 3, "file_name": "a", "width": 1, "height": 1},
                                        {"id": 3, "file_name": "b", "width": 1, "height": 1}])")),
            "val.json: images[1]: duplicate image id 3 (also images[0])");
  EXPECT_EQ(Error(File("", R"("images": [{"id": 3, "file_name": "a", "width": 0, "height": 1}])")),
            "val.json: images[0]: width and height must be positive, not 0x1");
  EXPECT_EQ(Error(File(R"({"image_id": 7, "category_id": 1, "bbox": [0, 0, 1, 1], "iscrowd": 2})")),
            "val.json: annotations[0]: iscrowd 2 is not 0 or 1");
  EXPECT_EQ(Error(File(R"({"image_id": "7", "category_id": 1, "bbox": [0, 0, 1, 1]})")),
            "val.json: annotations[0]: \"image_id\" is not an int64 integer: \"7\"");
  EXPECT_EQ(Error(R"({"images": [], "categories": []})"), "val.json: has no \"annotations\" array");
  EXPECT_NE(Error("{\"images\": [").find("val.json: not valid JSON at byte"), std::string::npos);
  EXPECT_NE(Error("[1, 2]").find("val.json: is not a JSON object"), std::string::npos);
}

TEST(CocoAnnotations, RefusesAFileOverTheLimitUnreadAndAMissingOne) {
  test::TempDir dir;
  test::WriteText(dir.Path("big.json"), File(""));
  const StatusOr<CocoAnnotations> big = ReadCocoAnnotations(dir.Path("big.json"), 16);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(big.status().message().find("more than the annotation file limit of 16"),
            std::string::npos)
      << big.status().message();
  const StatusOr<CocoAnnotations> missing = ReadCocoAnnotations(dir.Path("none.json"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message().rfind(dir.Path("none.json"), 0), 0u);
}

}  // namespace
}  // namespace mixq
