// The trained task models (models/shapes_detector.onnx, shapes_segmenter.onnx)
// scored by `mixq eval` on a small seeded shapes set written by
// scripts/make_shapes_dataset: COCO mAP for the detector, mIoU for the
// segmenter, in FP32 and all-INT8, with each output's fidelity beside INT8.
// The full validation numbers are in README "Image folders, fidelity and
// task metrics"; here the checks are that the models score as trained
// models do (far above chance) and that INT8 stays close.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/cli/mixq_runner.h"

namespace mixq {
namespace {

using test::MixqResult;
using test::RunMixq;
using test::StderrTo;

class TaskModelsCli : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::TempDir() + "task_models_" + std::to_string(getpid()));
    const std::string cmd = "/usr/bin/python3 " + std::string(MIXQ_SOURCE_DIR) +
                            "/scripts/make_shapes_dataset --out " + *dir_ +
                            " --train 40 --val 60 > /dev/null 2>&1";
    made_ = std::system(cmd.c_str()) == 0;
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  void SetUp() override {
    if (!made_) {
      // The set is drawn with PIL (python3-pil, which scripts/setup installs).
      GTEST_SKIP() << "scripts/make_shapes_dataset failed: is python3-pil installed? "
                      "(scripts/setup installs it)";
    }
  }

  static std::string Yaml(const std::string& split, const std::string& task,
                          const std::string& tag) {
    const std::string path = *dir_ + "/" + split + "_" + tag + ".yaml";
    std::ofstream(path) << "format: images\nimages: " << split
                        << "/images\npreprocess: {scale: 0.0039215686, mean: [0.485, 0.456, "
                           "0.406], std: [0.229, 0.224, 0.225]}\n"
                        << task << "\n";
    return path;
  }

  // FP32 and all-INT8 (minmax on the train split) evaluations of `model`.
  static std::pair<nlohmann::json, nlohmann::json> Evaluate(const std::string& model,
                                                            const std::string& task_of_split) {
    const std::string train =
        Yaml("train", task_of_split.substr(0, task_of_split.find('|')), model);
    const std::string val = Yaml("val", task_of_split.substr(task_of_split.find('|') + 1), model);
    const std::string path = std::string(MIXQ_SOURCE_DIR) + "/models/" + model;
    const std::string calibration = *dir_ + "/" + model + ".cal.json";
    EXPECT_EQ(RunMixq("calibrate --quiet --threads 2 --samples 40 --model " + path +
                      " --dataset " + train + " -o " + calibration)
                  .exit_code,
              0);
    const std::string eval = "eval --json --quiet --threads 2 --model " + path + " --dataset " + val;
    MixqResult fp32 = RunMixq(eval, StderrTo::kNull);
    MixqResult int8 = RunMixq(eval + " --config int8 --calibration " + calibration, StderrTo::kNull);
    EXPECT_EQ(fp32.exit_code, 0) << fp32.out;
    EXPECT_EQ(int8.exit_code, 0) << int8.out;
    if (fp32.exit_code != 0 || int8.exit_code != 0) return {};
    return {nlohmann::json::parse(fp32.out), nlohmann::json::parse(int8.out)};
  }

  static std::string* dir_;
  static bool made_;
};

std::string* TaskModelsCli::dir_ = nullptr;
bool TaskModelsCli::made_ = false;

TEST_F(TaskModelsCli, DetectorScoresCocoMapInFp32AndInt8) {
  const std::string task = "task: {kind: detection, annotations: SPLIT/annotations.json, "
                           "classes: 6, objectness: true, nms_iou: 0.6}";
  auto with = [&](const std::string& split) {
    std::string t = task;
    t.replace(t.find("SPLIT"), 5, split);
    return t;
  };
  const auto [fp32, int8] = Evaluate("shapes_detector.onnx", with("train") + "|" + with("val"));
  ASSERT_TRUE(fp32.contains("map50")) << fp32.dump();
  EXPECT_EQ(fp32["task"], "detection");
  EXPECT_FALSE(fp32.contains("correct1"));
  EXPECT_FALSE(int8.contains("agree1")) << int8.dump();  // no class scores to agree on
  // 87.5 % on the 500-image validation set; a detector that finds nothing scores 0.
  EXPECT_GT(fp32["map50"].get<double>(), 0.6);
  EXPECT_GE(fp32["map50"].get<double>(), fp32["map50_95"].get<double>());
  EXPECT_NEAR(int8["map50"].get<double>(), fp32["map50"].get<double>(), 0.08);
  ASSERT_EQ(int8["fidelity"].size(), 1u);
  EXPECT_EQ(int8["fidelity"][0]["output"], "detections");
}

TEST_F(TaskModelsCli, SegmenterScoresMeanIouInFp32AndInt8) {
  const std::string task = "task: {kind: segmentation, masks: SPLIT/masks, classes: 7}";
  auto with = [&](const std::string& split) {
    std::string t = task;
    t.replace(t.find("SPLIT"), 5, split);
    return t;
  };
  const auto [fp32, int8] = Evaluate("shapes_segmenter.onnx", with("train") + "|" + with("val"));
  ASSERT_TRUE(fp32.contains("miou")) << fp32.dump();
  EXPECT_EQ(fp32["task"], "segmentation");
  // 79.2 % on the validation set; all background would be about 1/7.
  EXPECT_GT(fp32["miou"].get<double>(), 0.5);
  EXPECT_NEAR(int8["miou"].get<double>(), fp32["miou"].get<double>(), 0.05);
  ASSERT_EQ(int8["fidelity"].size(), 1u);
  EXPECT_GT(int8["fidelity"][0]["sqnr_db"].get<double>(), 10.0);
}

}  // namespace
}  // namespace mixq
