// The `mixq` binary as a user runs it: exit codes and one-line errors on bad
// input, and the eval/bench reports on a shipped reference model.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tests/cli/mixq_runner.h"
#include "tests/common/data_files.h"

namespace {

using mixq::test::CountLines;
using mixq::test::MixqResult;
using mixq::test::RunMixq;

const std::string kSrc = MIXQ_SOURCE_DIR;
const std::string kTestSet = kSrc + "/configs/datasets/fashion_mnist_test.yaml";

TEST(MixqCli, UnknownCommandIsUsageError) {
  MixqResult r = RunMixq("frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("unknown command 'frobnicate'"), std::string::npos) << r.out;
}

// Every command is listed once, whichever way the usage is reached, so the
// unknown-command usage names `run`, `query` and the others too.
TEST(MixqCli, UsageListsEachCommandOnce) {
  for (const std::string args : {"help", "frobnicate"}) {
    MixqResult r = RunMixq(args);
    for (const std::string command : {"eval", "bench", "search", "run", "submit", "status",
                                      "cancel", "query", "report", "version"}) {
      const std::string line = "\n  " + command + " ";
      const size_t first = r.out.find(line);
      ASSERT_NE(first, std::string::npos) << args << ": " << command << " missing\n" << r.out;
      EXPECT_EQ(r.out.find(line, first + 1), std::string::npos)
          << args << ": " << command << " listed twice\n"
          << r.out;
    }
  }
}

TEST(MixqCli, MissingModelFailsWithOneLineNamingTheFile) {
  MixqResult r = RunMixq("bench --model /nonexistent/m.onnx --batch 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(CountLines(r.out), 1) << r.out;
  EXPECT_NE(r.out.find("/nonexistent/m.onnx"), std::string::npos) << r.out;
}

TEST(MixqCli, CorruptModelFailsWithOneLine) {
  MixqResult r = RunMixq("eval --quiet --model " + kSrc +
                         "/tests/data/onnx/truncated.onnx --dataset " + kTestSet);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(CountLines(r.out), 1) << r.out;
  EXPECT_NE(r.out.find("truncated.onnx"), std::string::npos) << r.out;
}

TEST(MixqCli, BadBatchListIsUsageError) {
  MixqResult r = RunMixq("bench --model " + kSrc + "/models/fm_resnet.onnx --batch 1,x");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("--batch: 'x' is not an integer in 1..1048576"), std::string::npos) << r.out;
}

// Issue 20: a number out of its range is one line and exit 2 (a usage
// error), the same for every command, before anything runs: --threads
// 100000 crashed in libgomp and 20000 hung; --count -5 meant "all",
// --min-seconds nan ran 10,000 iterations.
TEST(MixqCli, OutOfRangeNumbersAreUsageErrorsBeforeAnythingRuns) {
  const std::string model = " --model " + kSrc + "/models/fm_resnet.onnx";
  const std::string eval = "eval --quiet" + model + " --dataset " + kTestSet;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"bench" + model + " --batch 1 --threads 100000",
       "--threads: '100000' is not an integer in 0..1024"},
      {"bench" + model + " --batch 1 --threads -1", "--threads: '-1' is not an integer in 0..1024"},
      {"bench" + model + " --batch 1 --warmup -1",
       "--warmup: '-1' is not an integer in 0..10000000"},
      {"bench" + model + " --batch 1 --min-iterations 0",
       "--min-iterations: '0' is not an integer in 1..10000000"},
      {"bench" + model + " --batch 1 --min-seconds -5",
       "--min-seconds: '-5' is not a number in 0..86400"},
      {"bench" + model + " --batch 1 --min-seconds nan",
       "--min-seconds: 'nan' is not a number in 0..86400"},
      {"bench" + model + " --batch 0", "--batch: '0' is not an integer in 1..1048576"},
      {eval + " --batch 0", "--batch: '0' is not an integer in 1..1048576"},
      {eval + " --count -5", "--count: '-5' is not an integer in 1..1099511627776 (or -1: all)"},
      {eval + " --count 0", "--count: '0' is not an integer in 1..1099511627776 (or -1: all)"},
      {"run " + kSrc + "/configs/jobs/fm_resnet_eval.yaml --workers -1",
       "--workers: '-1' is not an integer in 0..256"},
      {"run " + kSrc + "/configs/jobs/fm_resnet_eval.yaml --threads 5000",
       "--threads: '5000' is not an integer in 0..1024"},
      {"run " + kSrc + "/configs/jobs/fm_resnet_eval.yaml --max-isa avx2,avx9000",
       "--max-isa: unknown ISA 'avx9000' (one of: sse41,"},
  };
  for (const auto& [args, message] : cases) {
    MixqResult r = RunMixq(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.out;
    EXPECT_EQ(CountLines(r.out), 1) << args << "\n" << r.out;
    EXPECT_NE(r.out.find(message), std::string::npos) << args << "\n" << r.out;
  }
}

// Issue 20: `--config bf16` ran FP32 and filed it under a new config hash;
// no kernel runs BF16 layers, so the shorthand is a usage error in every
// command that takes --config, and a config file with BF16 layers is
// refused when it is read.
TEST(MixqCli, Bf16ConfigIsRefusedNotRunAsFp32) {
  const std::string model = " --model " + kSrc + "/models/fm_resnet.onnx";
  for (const auto& [name, args] : std::vector<std::pair<std::string, std::string>>{
           {"bench", "bench" + model + " --batch 1 --min-seconds 0.01 --config bf16"},
           {"eval",
            "eval --quiet" + model + " --dataset " + kTestSet + " --count 100 --config bf16"},
           {"profile", "profile" + model + " --runs 1 --warmup 0 --config bf16"},
           {"infer", "infer" + model + " --input x.npy -o /tmp --config bf16"},
           {"export", "export" + model + " --calibration c.json -o x.onnx --config bf16"}}) {
    MixqResult r = RunMixq(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.out;
    EXPECT_EQ(r.out, "mixq " + name +
                         ": --config bf16: mixq runs FP32 and INT8 layers only (give fp32, int8 "
                         "or a config file)\n");
  }
  mixq::test::TempDir dir;
  const std::string file = dir.Path("bf16.json");
  std::ofstream(file) << "\"bf16\"";
  MixqResult r = RunMixq("bench" + model + " --batch 1 --config " + file);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(CountLines(r.out), 1) << r.out;
  EXPECT_NE(r.out.find("the config has 10 BF16 layer(s): mixq runs FP32 and INT8 layers only"),
            std::string::npos)
      << r.out;
}

TEST(MixqCli, WinogradTakesOnOrOff) {
  MixqResult r = RunMixq("bench --model " + kSrc + "/models/fm_resnet.onnx --winograd maybe");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("--winograd: 'maybe' is not on or off"), std::string::npos) << r.out;
  r = RunMixq("bench --model " + kSrc +
              "/models/fm_resnet.onnx --batch 1 --warmup 0 --min-iterations 1 --min-seconds 0 "
              "--winograd off --json");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("\"winograd\":false"), std::string::npos) << r.out;
}

// A usage error (exit 2) as in `mixq run`, before the model is read.
TEST(MixqCli, UnknownIsaIsRefused) {
  MixqResult r = RunMixq("bench --model " + kSrc + "/models/fm_resnet.onnx --max-isa avx9000");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("--max-isa: unknown ISA 'avx9000'"), std::string::npos) << r.out;
}

TEST(MixqCli, DatasetThatDoesNotFitTheModelIsRefused) {
  // A 1x28x28 dataset against a 3x224x224 model from ONNX's own test data.
  MixqResult r = RunMixq(
      "eval --quiet --model /usr/share/libonnx-testdata/data/pytorch-converted/"
      "test_Conv2d/model.onnx --dataset " +
      kTestSet);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(CountLines(r.out), 1) << r.out;
}

// The reference models reproduce PyTorch's FP32 top-1 on all 10,000 test
// images to within 0.02 % (two images), as models/README.md records it.
void ExpectReproducesPyTorch(const std::string& name) {
  std::ifstream expected_file(kSrc + "/models/" + name + ".expected.json");
  ASSERT_TRUE(expected_file) << name;
  nlohmann::json expected = nlohmann::json::parse(expected_file);
  MixqResult r = RunMixq("eval --quiet --json --threads 2 --model " + kSrc + "/models/" + name +
                         ".onnx --dataset " + kTestSet);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  nlohmann::json got = nlohmann::json::parse(r.out);
  EXPECT_EQ(got["samples"].get<int64_t>(), 10000);
  EXPECT_NEAR(got["correct1"].get<double>(), expected["correct1"].get<double>(), 2.0) << r.out;
  EXPECT_GT(got["images_per_second"].get<double>(), 0.0);
  EXPECT_FALSE(got["isa"].get<std::string>().empty());
}

TEST(MixqCli, EvalReproducesPyTorchTop1OnFmResnet) { ExpectReproducesPyTorch("fm_resnet"); }
TEST(MixqCli, EvalReproducesPyTorchTop1OnFmMobilenet) { ExpectReproducesPyTorch("fm_mobilenet"); }

TEST(MixqCli, BenchJsonHasOneRowPerBatch) {
  MixqResult r = RunMixq(
      "bench --json --threads 1 --min-seconds 0 --min-iterations 2 --warmup 1 "
      "--batch 1,4 --model " +
      kSrc + "/models/fm_resnet.onnx");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  nlohmann::json rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["batch"], 1);
  EXPECT_EQ(rows[1]["batch"], 4);
  for (const auto& row : rows) {
    EXPECT_GT(row["images_per_second"].get<double>(), 0.0);
    EXPECT_GE(row["latency_ms_p90"].get<double>(), row["latency_ms_median"].get<double>());
    EXPECT_EQ(row["threads"], 1);
  }
}

}  // namespace
