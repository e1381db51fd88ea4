// `mixq eval` of a quantised config compares every output with FP32's on the
// same samples (metrics/fidelity.h): SQNR and cosine similarity beside the
// top-1 agreement, in the text report and in --json; an FP32 run has none.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/cli/mixq_runner.h"
#include "tests/common/shipped_files.h"

namespace mixq {
namespace {

using test::MixqResult;
using test::RunMixq;
using test::StderrTo;

TEST(EvalFidelityCli, Int8ReportsEachOutputsSqnrAndCosineAgainstFp32) {
  const std::string calibration =
      testing::TempDir() + "eval_fidelity_" + std::to_string(getpid()) + ".json";
  ASSERT_EQ(RunMixq("calibrate --quiet --threads 2 --samples 200 --model " + test::kFmResnet +
                    " --dataset " + test::kFashionMnistTrain + " -o " + calibration)
                .exit_code,
            0);
  const std::string common = "eval --quiet --threads 2 --count 500 --model " + test::kFmResnet +
                             " --dataset " + test::kFashionMnistTest;
  MixqResult int8 =
      RunMixq(common + " --json --config int8 --calibration " + calibration, StderrTo::kNull);
  ASSERT_EQ(int8.exit_code, 0) << int8.out;
  const nlohmann::json j = nlohmann::json::parse(int8.out);
  ASSERT_TRUE(j.contains("fidelity")) << int8.out;
  ASSERT_EQ(j["fidelity"].size(), 1u);  // fm_resnet has one output
  const double sqnr = j["fidelity"][0]["sqnr_db"].get<double>();
  const double cosine = j["fidelity"][0]["cosine"].get<double>();
  // INT8 logits close to FP32's, but not equal: a finite SQNR, cosine below 1.
  EXPECT_GT(sqnr, 15.0);
  EXPECT_LT(sqnr, 80.0);
  EXPECT_GT(cosine, 0.99);
  EXPECT_LT(cosine, 1.0);
  EXPECT_GT(j["agree1"].get<int>(), 450);
  EXPECT_LE(j["agree1"].get<int>(), 500);
  EXPECT_EQ(j["task"], "classification");

  MixqResult text = RunMixq(common + " --config int8 --calibration " + calibration);
  ASSERT_EQ(text.exit_code, 0) << text.out;
  EXPECT_NE(
      text.out.find("vs fp32    " + j["fidelity"][0]["output"].get<std::string>() + ": SQNR "),
      std::string::npos)
      << text.out;

  MixqResult fp32 = RunMixq(common + " --json", StderrTo::kNull);
  ASSERT_EQ(fp32.exit_code, 0) << fp32.out;
  EXPECT_FALSE(nlohmann::json::parse(fp32.out).contains("fidelity")) << fp32.out;
  std::remove(calibration.c_str());
}

// A folder of images without labels (`task: {kind: unlabelled}`) is scored
// against FP32 only: agreement, SQNR and cosine, no top-1; an FP32 run has
// nothing to measure and says so.
TEST(EvalFidelityCli, AnUnlabelledFolderIsMeasuredAgainstFp32Only) {
  const std::string dir = testing::TempDir() + "eval_unlabelled_" + std::to_string(getpid());
  ASSERT_EQ(std::system((std::string(MIXQ_SOURCE_DIR) + "/scripts/fashion_mnist_png --out " + dir +
                         " --count 400 > /dev/null")
                            .c_str()),
            0);
  const std::string yaml = dir + "/unlabelled.yaml";
  // One class folder's files, as a flat folder of images of unknown classes.
  std::ofstream(yaml) << "format: images\nimages: 0_tshirt\ntask: {kind: unlabelled}\n"
                         "preprocess: {color: gray, scale: 0.0039215686, mean: [0.2860], "
                         "std: [0.3530]}\n";
  const std::string calibration = dir + "/cal.json";
  ASSERT_EQ(RunMixq("calibrate --quiet --threads 2 --samples 30 --model " + test::kFmResnet +
                    " --dataset " + yaml + " -o " + calibration)
                .exit_code,
            0);
  const std::string common =
      "eval --quiet --threads 2 --model " + test::kFmResnet + " --dataset " + yaml;
  MixqResult int8 =
      RunMixq(common + " --json --config int8 --calibration " + calibration, StderrTo::kNull);
  ASSERT_EQ(int8.exit_code, 0) << int8.out;
  const nlohmann::json j = nlohmann::json::parse(int8.out);
  EXPECT_EQ(j["task"], "unlabelled");
  EXPECT_FALSE(j.contains("correct1")) << int8.out;
  ASSERT_TRUE(j.contains("agree1")) << int8.out;
  EXPECT_GT(j["agree1"].get<int>(), j["samples"].get<int>() * 9 / 10);
  ASSERT_EQ(j["fidelity"].size(), 1u);
  EXPECT_GT(j["fidelity"][0]["sqnr_db"].get<double>(), 15.0);

  MixqResult fp32 = RunMixq(common);
  EXPECT_EQ(fp32.exit_code, 1) << fp32.out;
  EXPECT_EQ(test::CountLines(fp32.out), 1) << fp32.out;
  EXPECT_NE(fp32.out.find("an unlabelled dataset measures a quantised config against FP32"),
            std::string::npos)
      << fp32.out;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mixq
