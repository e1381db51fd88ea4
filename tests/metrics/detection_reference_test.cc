// DetectionStats against scripts/coco_map_reference.py, an independent numpy
// implementation of COCO's definition: first the script on a case computed
// by hand (so the oracle is checked too), then seeded random worlds with
// crowds, out-of-range areas, score ties and a >100-detection image, where
// the two must agree within 1e-4. The world's ground truth goes through
// ReadCocoAnnotations, as a real annotation file would.
//
// Needs /usr/bin/python3 with numpy (scripts/setup installs python3-numpy);
// without it the tests are skipped, saying why.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "metrics/coco_annotations.h"
#include "metrics/detection.h"
#include "tests/common/data_files.h"
#include "tests/metrics/coco_world.h"

namespace mixq {
namespace {

constexpr char kPython[] = "/usr/bin/python3";

bool PythonHasNumpy() {
  const std::string command = std::string(kPython) + " -c 'import numpy' >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

#define SKIP_WITHOUT_NUMPY()                                                                  \
  if (!PythonHasNumpy()) {                                                                    \
    GTEST_SKIP() << kPython << " cannot import numpy (install python3-numpy: scripts/setup)"; \
  }

void WriteJson(const std::string& path, const nlohmann::json& doc) {
  std::ofstream out(path);
  out << doc.dump();
  ASSERT_TRUE(out.good()) << path;
}

// Runs the reference on the two files; its stdout parsed.
nlohmann::json RunReference(const std::string& gt_path, const std::string& dets_path) {
  const std::string command = std::string(kPython) + " " + MIXQ_SOURCE_DIR +
                              "/scripts/coco_map_reference.py '" + gt_path + "' '" + dets_path +
                              "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen failed: " << command;
    return {};
  }
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  if (status != 0) {
    ADD_FAILURE() << command << " failed: " << output;
    return {};
  }
  return nlohmann::json::parse(output, nullptr, /*allow_exceptions=*/false);
}

TEST(CocoMapReference, ComputesTheHandCase) {
  SKIP_WITHOUT_NUMPY();
  // detection_test.cc's case: ground truths A and B, detections TP (IoU 1),
  // FP, TP (IoU 0.62), plus a crowd region that absorbs a detection ranked
  // first. AP50 = 253/303, mAP@[.5:.95] = (3 * 253/303 + 7 * 51/101) / 10.
  test::TempDir dir;
  const nlohmann::json gt = {
      {"images", {{{"id", 1}, {"file_name", "a.jpg"}, {"width", 100}, {"height", 100}}}},
      {"categories", {{{"id", 1}, {"name", "a"}}}},
      {"annotations",
       {{{"id", 1}, {"image_id", 1}, {"category_id", 1}, {"bbox", {0, 0, 10, 10}}},
        {{"id", 2}, {"image_id", 1}, {"category_id", 1}, {"bbox", {50, 50, 10, 10}}},
        {{"id", 3},
         {"image_id", 1},
         {"category_id", 1},
         {"bbox", {20, 20, 30, 30}},
         {"iscrowd", 1}}}}};
  const auto det = [](double score, std::vector<double> box) {
    return nlohmann::json{{"image_id", 1}, {"category_id", 1}, {"bbox", box}, {"score", score}};
  };
  const nlohmann::json dets = {det(0.9, {0, 0, 10, 10}), det(0.8, {80, 80, 10, 10}),
                               det(0.7, {50, 50, 10, 6.2}), det(0.95, {22, 22, 5, 5})};
  WriteJson(dir.Path("gt.json"), gt);
  WriteJson(dir.Path("dets.json"), dets);
  const nlohmann::json result = RunReference(dir.Path("gt.json"), dir.Path("dets.json"));
  ASSERT_TRUE(result.is_object()) << result.dump();
  EXPECT_NEAR(result["map50"].get<double>(), 253.0 / 303, 1e-12);
  EXPECT_NEAR(result["map50_95"].get<double>(), 61.0 / 101, 1e-12);
}

TEST(CocoMapReference, RandomWorldsAgreeWithTheCpp) {
  SKIP_WITHOUT_NUMPY();
  double largest = 0;
  for (uint32_t seed = 100; seed < 108; ++seed) {
    const test::CocoWorld world = test::MakeCocoWorld(seed);
    test::TempDir dir;
    WriteJson(dir.Path("gt.json"), test::CocoGroundTruthJson(world));
    WriteJson(dir.Path("dets.json"), test::CocoDetectionsJson(world.dets));

    StatusOr<CocoAnnotations> gt = ReadCocoAnnotations(dir.Path("gt.json"));
    ASSERT_TRUE(gt.ok()) << gt.status().ToString();
    DetectionStats stats;
    for (const CocoImage& image : gt->images) {
      ASSERT_TRUE(stats
                      .AddImage(image.id, test::GtsOfImage(gt->ground_truths, image.id),
                                test::DetsOfImage(world.dets, image.id))
                      .ok());
    }

    const nlohmann::json reference = RunReference(dir.Path("gt.json"), dir.Path("dets.json"));
    ASSERT_TRUE(reference.is_object()) << "seed " << seed;
    const double map50 = stats.Map50();
    const double map50_95 = stats.Map50_95();
    // Worlds where the metric is neither trivial nor saturated.
    EXPECT_GT(map50, 0.1) << "seed " << seed;
    EXPECT_LT(map50_95, 0.9) << "seed " << seed;
    EXPECT_NEAR(map50, reference["map50"].get<double>(), 1e-4) << "seed " << seed;
    EXPECT_NEAR(map50_95, reference["map50_95"].get<double>(), 1e-4) << "seed " << seed;
    largest = std::max({largest, std::abs(map50 - reference["map50"].get<double>()),
                        std::abs(map50_95 - reference["map50_95"].get<double>())});
    const std::vector<CategoryAp> per = stats.PerCategory();
    ASSERT_EQ(per.size(), reference["per_category"].size()) << "seed " << seed;
    for (const CategoryAp& c : per) {
      const nlohmann::json& ref = reference["per_category"][std::to_string(c.category_id)];
      EXPECT_NEAR(c.ap50, ref[0].get<double>(), 1e-4) << "seed " << seed;
      EXPECT_NEAR(c.ap50_95, ref[1].get<double>(), 1e-4) << "seed " << seed;
      largest = std::max({largest, std::abs(c.ap50 - ref[0].get<double>()),
                          std::abs(c.ap50_95 - ref[1].get<double>())});
    }
  }
  std::cout << "largest |C++ - reference| over 8 worlds: " << largest << "\n";
  RecordProperty("largest_difference", std::to_string(largest));
}

}  // namespace
}  // namespace mixq
