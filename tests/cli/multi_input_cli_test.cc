// `mixq eval` and `mixq calibrate` on a model with two int64 inputs (token
// ids and an attention mask) and a dataset in the `inputs` form written here.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/cli/mixq_runner.h"
#include "tests/engine/text_model_onnx.h"

namespace mixq {
namespace {

using test::CountLines;
using test::MixqResult;
using test::RunMixq;
using test::StderrTo;

class MultiInputCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.Path("text.onnx"), std::ios::binary) << testing::TextModelOnnx(3);
    model_ = dir_.Path("text.onnx");
    dataset_ = testing::WriteTextSet(dir_.path());
  }

  test::TempDir dir_;
  std::string model_, dataset_;
};

TEST_F(MultiInputCli, EvalFeedsEveryInputByName) {
  MixqResult r =
      RunMixq("eval --json --quiet --batch 3 --model " + model_ + " --dataset " + dataset_,
              StderrTo::kNull);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["samples"], 4);
  EXPECT_EQ(j["correct1"], 3);
}

// Issue 20: eval's speed line said "images/s" for token sequences.
TEST_F(MultiInputCli, EvalCountsSamplesNotImages) {
  MixqResult r = RunMixq("eval --quiet --batch 3 --model " + model_ + " --dataset " + dataset_);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find(" samples/s at batch 3)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("images/s"), std::string::npos) << r.out;
}

TEST_F(MultiInputCli, CalibrateFromTheDatasetThenEvalInt8) {
  const std::string calibration = dir_.Path("cal.json");
  MixqResult cal = RunMixq("calibrate --quiet --method minmax --samples 4 --batch 2 --model " +
                           model_ + " --dataset " + dataset_ + " -o " + calibration);
  ASSERT_EQ(cal.exit_code, 0) << cal.out;
  std::ifstream in(calibration);
  const nlohmann::json file = nlohmann::json::parse(in);
  EXPECT_EQ(file["provenance"]["dataset"], dataset_);
  MixqResult r = RunMixq("eval --json --quiet --config int8 --calibration " + calibration +
                             " --model " + model_ + " --dataset " + dataset_,
                         StderrTo::kNull);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  // The pooled counts are small integers, which INT8 keeps exactly.
  EXPECT_EQ(j["correct1"], 3);
  EXPECT_EQ(j["agree1"], 4);
}

TEST_F(MultiInputCli, SyntheticCalibrationFeedsValidTokenIds) {
  MixqResult r = RunMixq("calibrate --quiet --synthetic --samples 8 --model " + model_ + " -o " +
                         dir_.Path("syn.json"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::ifstream in(dir_.Path("syn.json"));
  const nlohmann::json file = nlohmann::json::parse(in);
  EXPECT_NE(file["provenance"]["dataset"].get<std::string>().find("integer inputs"),
            std::string::npos);
}

TEST_F(MultiInputCli, ADatasetNamingOtherInputsIsOneLine) {
  test::WriteText(dir_.Path("wrong.yaml"),
                  "format: npy\ninputs: {input_ids: ids.npy, mask: mask.npy}\n"
                  "labels: labels.npy\n");
  MixqResult r =
      RunMixq("eval --quiet --model " + model_ + " --dataset " + dir_.Path("wrong.yaml"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(CountLines(r.out), 1) << r.out;
  EXPECT_NE(r.out.find("model input 'attention_mask' has no file; dataset input 'mask' is not a "
                       "model input"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace mixq
