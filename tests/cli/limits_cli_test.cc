// Issue 20 as users met it: every refusal of a command line, a file or a
// limit is one line and the exit code mixq_main.cc promises (2: the command
// line is wrong, 1: the work failed), and reads the same in every command
// that shares the option. Each case runs the real binaries (mixq_runner.h).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/cli/mixq_runner.h"
#include "tests/common/data_files.h"

namespace mixq::test {
namespace {

const std::string kSrc = MIXQ_SOURCE_DIR;
const std::string kModel = " --model " + kSrc + "/models/fm_resnet.onnx";
const std::string kTestSet = kSrc + "/configs/datasets/fashion_mnist_test.yaml";
const std::string kEvalJob = kSrc + "/configs/jobs/fm_resnet_eval.yaml";

// `program <args>` from the build's bin folder, stderr merged.
MixqResult RunProgram(const std::string& program, const std::string& args) {
  MixqResult r;
  const std::string cmd = std::string(MIXQ_BINARY_DIR) + "/bin/" + program + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

void ExpectOneLine(const MixqResult& r, int exit_code, const std::string& line,
                   const std::string& args) {
  EXPECT_EQ(r.exit_code, exit_code) << args << "\n" << r.out;
  EXPECT_EQ(CountLines(r.out), 1) << args << "\n" << r.out;
  EXPECT_EQ(r.out, line + "\n") << args;
}

// The same mistake gives the same line, after "mixq <command>: ", and exit
// code 2 in every command that has the option (bench --batch 0 exited 2 and
// eval --batch 0 exited 1; --max-isa avx9000 was 2 for run, 1 for bench).
TEST(Limits, SameMistakeReadsTheSameInEveryCommand) {
  const std::vector<std::pair<std::string, std::string>> commands = {
      {"bench", "bench" + kModel},
      {"eval", "eval --quiet" + kModel + " --dataset " + kTestSet},
      {"profile", "profile" + kModel},
      {"calibrate", "calibrate --quiet" + kModel + " --dataset " + kTestSet + " -o /dev/null"},
      {"search", "search" + kModel + " --dataset " + kTestSet},
  };
  const std::vector<std::pair<std::string, std::string>> mistakes = {
      {" --batch 0", "--batch: '0' is not an integer in 1..1048576"},
      {" --batch 2000000", "--batch: '2000000' is not an integer in 1..1048576"},
      {" --batch 1.5", "--batch: '1.5' is not an integer in 1..1048576"},
      {" --threads 100000", "--threads: '100000' is not an integer in 0..1024"},
      {" --threads -1", "--threads: '-1' is not an integer in 0..1024"},
      {" --max-isa avx9000",
       "--max-isa: unknown ISA 'avx9000' (one of: sse41, avx, avx2, avx2_vnni, avx512_core, "
       "avx512_core_vnni, avx512_core_bf16, avx512_core_amx, all)"},
  };
  for (const auto& [name, command] : commands) {
    for (const auto& [option, message] : mistakes) {
      const std::string args = command + option;
      ExpectOneLine(RunMixq(args), 2, "mixq " + name + ": " + message, args);
    }
  }
  ExpectOneLine(RunMixq("export" + kModel +
                        " --config fp32 --calibration c.json -o x.onnx "
                        "--max-isa avx9000"),
                2,
                "mixq export: --max-isa: unknown ISA 'avx9000' (one of: sse41, avx, avx2, "
                "avx2_vnni, avx512_core, avx512_core_vnni, avx512_core_bf16, avx512_core_amx, all)",
                "export --max-isa");
  // run takes --threads and --max-isa too (per worker).
  ExpectOneLine(RunMixq("run " + kEvalJob + " --threads 100000"), 2,
                "mixq run: --threads: '100000' is not an integer in 0..1024", "run --threads");
}

// Options that bypassed the shared check: profile and calibrate checked
// theirs while running (exit 1, "--batch must be positive"), --begin -5 was
// a failed slice, the coordinator's unsigned options took -1 as 4294967295.
TEST(Limits, EveryNumericOptionIsCheckedAsItIsParsed) {
  const std::string calibrate =
      "calibrate --quiet" + kModel + " --dataset " + kTestSet + " -o /dev/null";
  const std::string search = "search" + kModel + " --dataset " + kTestSet;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"profile" + kModel + " --runs 0",
       "mixq profile: --runs: '0' is not an integer in 1..10000000"},
      {"profile" + kModel + " --warmup -1",
       "mixq profile: --warmup: '-1' is not an integer in 0..10000000"},
      {calibrate + " --samples -5",
       "mixq calibrate: --samples: '-5' is not an integer in 1..1099511627776"},
      {calibrate + " --begin -1",
       "mixq calibrate: --begin: '-1' is not an integer in 0..1099511627776"},
      {calibrate + " --method percentile --percentile nan",
       "mixq calibrate: --percentile: 'nan' is not a number in 0.001..100"},
      {calibrate + " --percentile 100.5",
       "mixq calibrate: --percentile: '100.5' is not a number in 0.001..100"},
      {"eval --quiet" + kModel + " --dataset " + kTestSet + " --begin -5",
       "mixq eval: --begin: '-5' is not an integer in 0..1099511627776"},
      {"eval --quiet" + kModel + " --dataset " + kTestSet + " --count 5x",
       "mixq eval: --count: '5x' is not an integer in 1..1099511627776 (or -1: all)"},
      {search + " --count 0",
       "mixq search: --count: '0' is not an integer in 1..1099511627776 (or -1: all)"},
      {search + " --ranking-samples -1",
       "mixq search: --ranking-samples: '-1' is not an integer in 0..1099511627776"},
      {search + " --calibration-samples 0",
       "mixq search: --calibration-samples: '0' is not an integer in 1..1099511627776"},
      {search + " --budget 0.5,nan", "mixq search: --budget: 'nan' is not a number in 0..100"},
      {search + " --budget -1", "mixq search: --budget: '-1' is not a number in 0..100"},
      {search + " --parallel 65", "mixq search: --parallel: '65' is not an integer in 1..64"},
      {search + " --max-full-evaluations 1",
       "mixq search: --max-full-evaluations: '1' is not an integer in 2..1048576"},
      {search + " --min-gain inf", "mixq search: --min-gain: 'inf' is not a number in 0..0.99"},
      {search + " --confirm-rounds 16",
       "mixq search: --confirm-rounds: '16' is not an integer in 0..15"},
      {"submit " + kEvalJob + " --timeout-ms 0",
       "mixq submit: --timeout-ms: '0' is not an integer in 1..86400000"},
      {"status --job-id -3",
       "mixq status: --job-id: '-3' is not an integer in 0..9223372036854775807"},
      {"query best --model m --max-drop nan",
       "mixq query: --max-drop: 'nan' is not a number in 0..100"},
      {"query best --model m --max-drop 1 --batch -1",
       "mixq query: --batch: '-1' is not an integer in 0..1048576"},
      {"query history --job 0",
       "mixq query: --job: '0' is not an integer in 1..9223372036854775807"},
      {"report --job -1 -o /dev/null",
       "mixq report: --job: '-1' is not an integer in 1..9223372036854775807"},
  };
  for (const auto& [args, line] : cases) ExpectOneLine(RunMixq(args), 2, line, args);
}

// mixq-coordinator and mixq-worker read their numbers with the same check.
TEST(Limits, DaemonsCheckTheirNumbersTheSameWay) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"mixq-coordinator --heartbeat-ms -1",
       "mixq-coordinator: --heartbeat-ms: '-1' is not an integer in 1..3600000"},
      {"mixq-coordinator --max-message-bytes 10",
       "mixq-coordinator: --max-message-bytes: '10' is not an integer in 1024..1073741824"},
      {"mixq-coordinator --liveness 0",
       "mixq-coordinator: --liveness: '0' is not an integer in 1..1000"},
      {"mixq-worker --threads 5000", "mixq-worker: --threads: '5000' is not an integer in 0..1024"},
      {"mixq-worker --task-delay-ms -1",
       "mixq-worker: --task-delay-ms: '-1' is not an integer in 0..3600000"},
      {"mixq-worker --max-isa avx9000",
       "mixq-worker: --max-isa: unknown ISA 'avx9000' (one of: "
       "sse41, avx, avx2, avx2_vnni, avx512_core, "
       "avx512_core_vnni, avx512_core_bf16, avx512_core_amx, "
       "all)"},
  };
  for (const auto& [command, line] : cases) {
    const size_t space = command.find(' ');
    const MixqResult r = RunProgram(command.substr(0, space), command.substr(space + 1));
    ExpectOneLine(r, 2, line, command);
  }
}

// `mixq run` starts workers x threads: both are bounded before any process
// starts (--threads 20000 hung one process; 256 workers of 1024 threads
// would start 262,144).
TEST(Limits, RunBoundsItsWorkersAndTheirThreads) {
  ExpectOneLine(RunMixq("run " + kEvalJob + " --workers 200 --max-isa avx2,avx"), 2,
                "mixq run: --workers 200 per ISA for 2 ISAs: 400 workers, more than the limit "
                "of 256",
                "workers");
  ExpectOneLine(RunMixq("run " + kEvalJob + " --workers 8 --threads 200"), 2,
                "mixq run: --threads 200 x 8 workers: 1600 threads, more than the limit of 1024",
                "threads");
}

// Defaults read as written: --percentile showed (=99.989999999999995).
TEST(Limits, HelpShowsDefaultsAsWritten) {
  const MixqResult r = RunMixq("calibrate --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--percentile arg (=99.99)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("99.98999"), std::string::npos) << r.out;
}

// A --db its coordinator cannot create is refused before anything starts,
// in one line (before: the coordinator's error, then a 60 s wait; then
// three lines).
TEST(Limits, RunRefusesADatabaseItCannotCreateInOneLine) {
  TempDir dir;
  const std::string file = dir.Path("file");
  std::ofstream(file) << "x";
  ExpectOneLine(RunMixq("run --quiet " + kEvalJob + " --db " + dir.path() + "/missing/x.db"), 1,
                "mixq run: --db " + dir.path() + "/missing/x.db: its folder '" + dir.path() +
                    "/missing' does not exist",
                "missing");
  ExpectOneLine(RunMixq("run --quiet " + kEvalJob + " --db " + file + "/x.db"), 1,
                "mixq run: --db " + file + "/x.db: its folder '" + file + "' is not a folder",
                "file as folder");
  ExpectOneLine(RunMixq("run --quiet " + kEvalJob + " --db " + dir.path()), 1,
                "mixq run: --db " + dir.path() + ": is not a file", "folder as db");
}

// A batch whose input passes the limit of one tensor is refused by the
// shape rules before any buffer exists (exit 1: the model decides).
TEST(Limits, BatchAboveTheTensorLimitIsRefusedNotAttempted) {
  const MixqResult r = RunMixq("bench --json" + kModel + " --batch 1048576");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(CountLines(r.out), 1) << r.out;
  EXPECT_NE(r.out.find("would have more than 4294967296 elements [1048576,"), std::string::npos)
      << r.out;
}

// The files users write, each kind refused in one line naming the file and
// the place (exit 1): job files, dataset files, precision configs, models.
class LimitsFiles : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_.Path(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  // The shipped evaluate job with `extra` appended, paths made absolute.
  std::string EvalJob(const std::string& name, const std::string& extra) {
    return Write(name, "name: t\nkind: evaluate\nmodel: " + kSrc +
                           "/models/fm_resnet.onnx\ndata:\n  evaluation: {dataset: " + kTestSet +
                           ", shard_size: 1000}\nconfigs: [fp32]\n" + extra);
  }
  TempDir dir_;
};

TEST_F(LimitsFiles, JobFilesRefuseUnknownRepeatedAndMissingKeys) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {EvalJob("strategy.yaml", "strategy: {name: nonsense}\n"),
       ": 'strategy' is a search setting, not for an evaluate job (kind: search only)"},
      {EvalJob("colour.yaml", "calibration: {colour: red}\n"),
       ": unknown key 'calibration.colour' (expected one of: dataset, begin, samples, "
       "shard_size, batch, method, percentile)"},
      {EvalJob("twice.yaml", "configs: [int8]\n"), ": duplicate key 'configs' (line"},
      {Write("empty.yaml", ""), ": the file is empty (expected a mapping of keys)"},
  };
  for (const auto& [path, tail] : cases) {
    const MixqResult r = RunMixq("run --quiet " + path + " --db " + dir_.Path("x.db"));
    EXPECT_EQ(r.exit_code, 1) << path << "\n" << r.out;
    EXPECT_EQ(CountLines(r.out), 1) << r.out;
    EXPECT_EQ(r.out.rfind("mixq run: " + path + tail, 0), 0u) << r.out;
  }
}

TEST_F(LimitsFiles, DatasetFilesRefuseBadValuesAndRepeatedKeys) {
  const std::string head =
      "format: idx\nimages: /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz\n"
      "labels: /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {Write("scale.yaml", head + "preprocess: {scale: -1e30}\n"),
       ": 'preprocess.scale' must be in (0, 1e6], got -1e+30"},
      {Write("means.yaml", head + "preprocess: {mean: [0.1, 0.2, 0.3]}\n"), "give 1 value"},
      {Write("twice.yaml", head + "format: npy\n"), ": duplicate key 'format' (line"},
      {Write("colour.yaml", head + "colour: red\n"), ": unknown key 'colour'"},
  };
  for (const auto& [path, part] : cases) {
    const std::string args = "eval --quiet" + kModel + " --count 10 --dataset " + path;
    const MixqResult r = RunMixq(args);
    EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.out;
    EXPECT_EQ(CountLines(r.out), 1) << r.out;
    EXPECT_NE(r.out.find(part), std::string::npos) << r.out;
  }
}

TEST_F(LimitsFiles, ConfigFileHoldingProseIsNotAPrecisionName) {
  const std::string path = Write("c.json", "not json\n");
  const MixqResult r =
      RunMixq("eval --quiet" + kModel + " --count 10 --dataset " + kTestSet + " --config " + path);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(CountLines(r.out), 1) << r.out;
  EXPECT_NE(r.out.find("not valid JSON at byte"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("unknown precision"), std::string::npos) << r.out;
}

// fm_resnet.onnx with its first Conv's name made Latin-1 (same length, so
// the protobuf stays well-formed): one line naming the position, not
// "internal error: [json.exception.type_error.316]".
TEST_F(LimitsFiles, NodeNameThatIsNotUtf8IsRefusedByPosition) {
  std::ifstream in(kSrc + "/models/fm_resnet.onnx", std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  std::string model = bytes.str();
  const std::string name = "/stem/stem.0/Conv";
  size_t at = 0;
  int replaced = 0;
  while ((at = model.find(name, at)) != std::string::npos) {
    model[at + name.size() - 1] = '\xE9';
    at += name.size();
    ++replaced;
  }
  ASSERT_GT(replaced, 0);
  const std::string path = Write("latin1.onnx", model);
  const MixqResult r = RunMixq("bench --batch 1 --model " + path);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(CountLines(r.out), 1) << r.out;
  EXPECT_NE(r.out.find(path + ": the name of "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("is not valid UTF-8"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("internal error"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace mixq::test
