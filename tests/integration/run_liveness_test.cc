// `mixq run` ends as soon as its job cannot make progress: the embedded
// coordinator cannot open its database, or every local worker has exited
// (label: integration). Before, both waited: 60 s for a SUBMIT reply, or
// for ever for tasks no worker would run.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/integration/cluster.h"

namespace mixq::test {
namespace {

namespace fs = std::filesystem;

const std::string kEvalJob = kSourceDir + "/configs/jobs/fm_resnet_eval.yaml";

// A path `mixq run` cannot see is wrong (a file that is not a database:
// paths it can check are refused before anything starts, Limits.* in
// tests/cli) still ends the run when its coordinator exits.
TEST(RunLiveness, CoordinatorThatCannotOpenItsDatabaseEndsTheRun) {
  Cluster c;  // only its folder: `mixq run` starts its own processes
  const std::string db = c.dir() + "/not_a_database.db";
  std::ofstream(db) << std::string(8192, 'x');
  MixqResult r = RunMixq("run " + kEvalJob + " --quiet --db " + db);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("the coordinator exited (exit status 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not_a_database.db"), std::string::npos) << r.out;
}

// The run's workers are `mixq-worker` next to the `mixq` binary: a copy of
// the binaries with a worker that exits at once stands for workers that
// cannot start on this machine.
TEST(RunLiveness, EveryWorkerExitingEndsTheRun) {
  Cluster c;
  const fs::path bin = fs::path(c.dir()) / "bin";
  fs::create_directories(bin);
  const fs::path built = fs::path(MIXQ_BINARY_DIR) / "bin";
  fs::copy_file(built / "mixq", bin / "mixq");
  fs::copy_file(built / "mixq-coordinator", bin / "mixq-coordinator");
  {
    std::ofstream worker(bin / "mixq-worker");
    worker << "#!/bin/sh\necho 'test worker: cannot start' >&2\nexit 3\n";
  }
  fs::permissions(bin / "mixq-worker", fs::perms::owner_all);
  const std::string cmd = (bin / "mixq").string() + " run " + kEvalJob +
                          " --quiet --workers 2 --db " + c.db() + " 2>&1";
  std::string out;
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status)) << out;
  EXPECT_EQ(WEXITSTATUS(status), 1) << out;
  EXPECT_NE(out.find("every local worker exited (the first with exit status 3"), std::string::npos)
      << out;
  EXPECT_NE(out.find("test worker: cannot start"), std::string::npos) << out;
}

// Key variables meant for a cluster do not reach the run's own workers,
// which talk to their coordinator over a private socket without CURVE.
TEST(RunLiveness, ClusterKeyVariablesDoNotStopALocalRun) {
  Cluster c;
  const std::string job = c.dir() + "/eval.yaml";
  {
    std::ofstream out(job);
    out << "name: keys\nkind: evaluate\nmodel: " << kFmResnet << "\n"
        << "data: {evaluation: {dataset: " << kFashionMnistTest
        << ", count: 100, shard_size: 100}}\nconfigs: [fp32]\n";
  }
  // ctest runs each test in a process of its own: the variables end with it.
  setenv("MIXQ_KEY", "/nonexistent/k.key", 1);
  setenv("MIXQ_COORDINATOR_KEY", "/nonexistent/c.pub", 1);
  MixqResult r = RunMixq("run " + job + " --quiet --workers 1 --threads 1 --db " + c.db());
  unsetenv("MIXQ_KEY");
  unsetenv("MIXQ_COORDINATOR_KEY");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("fp32"), std::string::npos) << r.out;
}

// A search that fails after its answer (its output folder cannot be made)
// ends `mixq run` with the reason, which reaches it through the job's row
// (jobs.error, the first of STATUS's errors): before, the run said "its
// error is in the log above" and the row had no error.
TEST(RunLiveness, FailedSearchSaysWhy) {
  Cluster c;
  const std::string blocker = c.dir() + "/afile";
  { std::ofstream(blocker) << "not a folder\n"; }
  const std::string job = c.dir() + "/search.yaml";
  {
    std::ofstream out(job);
    out << "name: sf\nkind: search\nmodel: " << kFmResnet << "\ndata:\n"
        << "  calibration: {dataset: " << kFashionMnistTrain << ", samples: 50}\n"
        << "  evaluation: {dataset: " << kFashionMnistTest << ", count: 200, shard_size: 100}\n"
        << "  ranking: {samples: 100}\n"
        << "budget: {max_drop: 5}\nobjective: {measure: throughput, batch: 4}\n"
        << "benchmark: {seconds: 0.1}\nstrategy: {name: speed_aware, confirm_rounds: 0}\n"
        << "output: " << blocker << "/out\n";
  }
  MixqResult r = RunMixq("run " + job + " --quiet --workers 1 --threads 1 --db " + c.db());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("mixq run: search job 1 ended failed: " + blocker +
                       "/out: cannot create output folder"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace mixq::test
