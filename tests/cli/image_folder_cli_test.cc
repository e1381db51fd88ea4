// `mixq eval` and `mixq calibrate` on an image folder (`format: images`),
// through the real binary: Fashion-MNIST written as PNG class folders
// (scripts/fashion_mnist_png) scores exactly the IDX file's top-1 and top-5
// counts, in FP32 and in INT8 from a calibration made on the folder; a
// corrupt image is one line naming the file, exit 1.
#include <gtest/gtest.h>
#include <unistd.h>

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

// A folder of its own per test process (ctest runs tests in parallel).
class ImageFolderCli : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir() + "image_folder_cli_" + std::to_string(getpid());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The first `count` Fashion-MNIST test images as PNG class folders, and a
  // dataset YAML with the IDX file's preprocessing.
  std::string WriteFolder(int count) {
    const std::string cmd = std::string(MIXQ_SOURCE_DIR) + "/scripts/fashion_mnist_png --out " +
                            dir_ + "/fm --count " + std::to_string(count) + " > /dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    const std::string yaml = dir_ + "/fm.yaml";
    std::ofstream(yaml) << "format: images\nimages: fm\n"
                           "preprocess: {color: gray, scale: 0.0039215686, mean: [0.2860], "
                           "std: [0.3530], layout: nchw}\n";
    return yaml;
  }

  static nlohmann::json Eval(const std::string& args) {
    MixqResult r = RunMixq(
        "eval --json --quiet --threads 2 --batch 50 --model " + test::kFmResnet + " " + args,
        StderrTo::kNull);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json::object();
  }

  std::string dir_;
};

TEST_F(ImageFolderCli, FashionMnistPngFolderScoresExactlyAsIdxInFp32AndInt8) {
  const int count = 1000;
  const std::string folder = WriteFolder(count);
  const nlohmann::json png = Eval("--dataset " + folder);
  const nlohmann::json idx =
      Eval("--dataset " + test::kFashionMnistTest + " --count " + std::to_string(count));
  ASSERT_EQ(png["samples"], count);
  EXPECT_EQ(png["correct1"], idx["correct1"]);
  EXPECT_EQ(png["correct5"], idx["correct5"]);
  EXPECT_GT(png["correct1"].get<int>(), count * 8 / 10);  // a trained model, not chance

  // minmax ranges do not depend on sample order: a calibration made on the
  // folder equals one made on the same images in the IDX file's order, so
  // INT8 scores the same too.
  const std::string png_cal = dir_ + "/png_cal.json", idx_cal = dir_ + "/idx_cal.json";
  ASSERT_EQ(RunMixq("calibrate --quiet --threads 2 --samples " + std::to_string(count) +
                    " --model " + test::kFmResnet + " --dataset " + folder + " -o " + png_cal)
                .exit_code,
            0);
  ASSERT_EQ(
      RunMixq("calibrate --quiet --threads 2 --samples " + std::to_string(count) + " --model " +
              test::kFmResnet + " --dataset " + test::kFashionMnistTest + " -o " + idx_cal)
          .exit_code,
      0);
  const nlohmann::json png8 =
      Eval("--dataset " + folder + " --config int8 --calibration " + png_cal);
  const nlohmann::json idx8 =
      Eval("--dataset " + test::kFashionMnistTest + " --count " + std::to_string(count) +
           " --config int8 --calibration " + idx_cal);
  EXPECT_EQ(png8["correct1"], idx8["correct1"]);
  EXPECT_EQ(png8["agree1"], idx8["agree1"]);
}

TEST_F(ImageFolderCli, ACorruptImageIsOneLineNamingTheFile) {
  const std::string folder = WriteFolder(300);
  std::string victim;  // the first dress
  for (const auto& entry : std::filesystem::directory_iterator(dir_ + "/fm/3_dress")) {
    if (victim.empty() || entry.path().string() < victim) victim = entry.path().string();
  }
  ASSERT_FALSE(victim.empty());
  std::filesystem::resize_file(victim, 40);  // cut inside the image data
  MixqResult r =
      RunMixq("eval --quiet --threads 2 --model " + test::kFmResnet + " --dataset " + folder);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(test::CountLines(r.out), 1) << r.out;
  EXPECT_NE(r.out.find(victim), std::string::npos) << r.out;
}

TEST_F(ImageFolderCli, AnEmptyClassFolderIsOneLineNamingIt) {
  const std::string folder = WriteFolder(300);
  std::filesystem::create_directories(dir_ + "/fm/99_none");
  MixqResult r =
      RunMixq("eval --quiet --threads 2 --model " + test::kFmResnet + " --dataset " + folder);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(test::CountLines(r.out), 1) << r.out;
  EXPECT_NE(r.out.find("99_none: class folder with no JPEG or PNG file"), std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace mixq
