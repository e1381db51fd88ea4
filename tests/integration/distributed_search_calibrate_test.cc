// A search job's calibration with real processes: `mixq run` starts a
// coordinator and two workers; the search driver calibrates through a
// `kind: calibrate` sub-job whose calibrate tasks the workers run, and the
// file it caches has the scales `mixq calibrate` computes in one process.
// A second run reuses the cached file without a sub-job; a damaged cache
// file is made again by a sub-job whose tasks are all memoized; a
// coordinator killed mid-calibration resumes the search to the same scales.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/quant/calibration_file.h"
#include "tests/integration/cluster.h"

namespace mixq::test {
namespace {

using std::chrono::seconds;

// Two calibrate shards (default shard size 100), the second a partial one.
constexpr int64_t kCalibrationBegin = 50;
constexpr int64_t kCalibrationSamples = 150;

std::vector<std::string> SearchCalibrations(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().rfind("search-", 0) == 0) {
      files.push_back(entry.path().string());
    }
  }
  return files;
}

// Percentile at a non-default value: the method's setting must reach the
// calibrate sub-job (pass 2 too). A loose budget and two full evaluations
// keep the search itself short.
std::string SearchYaml(const std::string& name, const std::string& output) {
  std::string y = "name: " + name + "\nkind: search\nmodel: " + kFmMobilenet + "\ndata:\n" +
                  "  calibration: {dataset: " + kFashionMnistTrain +
                  ", begin: " + std::to_string(kCalibrationBegin) +
                  ", samples: " + std::to_string(kCalibrationSamples) + "}\n" +
                  "  evaluation: {dataset: " + kFashionMnistTest +
                  ", count: 200, shard_size: 200}\n" + "  ranking: {samples: 100}\n" +
                  "calibration: {method: percentile, percentile: 99.9}\n" +
                  "budget: {max_drop: 50}\nobjective: {batch: 1}\nbenchmark: {seconds: 0.1}\n" +
                  "strategy: {name: accuracy_aware}\nlimits: {max_full_evaluations: 2}\n";
  if (!output.empty()) y += "output: " + output + "\n";
  return y;
}

// What `mixq calibrate` makes of the search's slice and method, in one process.
StatusOr<Calibration> MixqCalibrate(const std::string& dir) {
  const std::string local = dir + "/local.json";
  MixqResult r = RunMixq("calibrate --model " + kFmMobilenet + " --dataset " + kFashionMnistTrain +
                         " --begin " + std::to_string(kCalibrationBegin) + " --samples " +
                         std::to_string(kCalibrationSamples) +
                         " --method percentile --percentile 99.9 --threads 1 -o " + local);
  if (r.exit_code != 0) return Internal("mixq calibrate failed: " + r.out);
  return LoadCalibration(local);
}

bool SameQuantParams(const QuantParams& a, const QuantParams& b) {
  return std::memcmp(&a.dequant_scale, &b.dequant_scale, sizeof(float)) == 0 &&
         std::memcmp(&a.threshold, &b.threshold, sizeof(float)) == 0 &&
         a.is_unsigned == b.is_unsigned;
}

// Bit-for-bit the same scales and statistics as `expected`.
void ExpectSameScales(const std::string& path, const Calibration& expected) {
  StatusOr<Calibration> got = LoadCalibration(path);
  ASSERT_TRUE(got.ok()) << path << ": " << got.status().message();
  EXPECT_EQ(got->model_sha256, expected.model_sha256);
  EXPECT_EQ(got->scale.method, ScaleMethod::kPercentile);
  ASSERT_EQ(got->activations.size(), expected.activations.size()) << path;
  for (const auto& [name, params] : expected.activations) {
    ASSERT_EQ(got->activations.count(name), 1u) << name;
    EXPECT_TRUE(SameQuantParams(got->activations.at(name), params)) << path << ": " << name;
  }
  EXPECT_EQ(got->stats, expected.stats) << path;
}

TEST(Distributed, SearchJobCalibratesWithCalibrateTasksAsMixqCalibrateDoes) {
  Cluster c;  // the folder and database: `mixq run` starts its own processes
  const std::string job = c.dir() + "/search.yaml";
  std::ofstream(job) << SearchYaml("calib-search", c.dir() + "/out");
  const std::string run = "run " + job + " --workers 2 --threads 1 --db " + c.db();
  MixqResult first = RunMixq(run);
  ASSERT_EQ(first.exit_code, 0) << first.out;
  EXPECT_NE(first.out.find("calibrating (percentile, 150 samples)"), std::string::npos)
      << first.out;
  EXPECT_NE(first.out.find("calibrate: sub-job"), std::string::npos) << first.out;

  StatusOr<int64_t> search_id =
      c.QueryInt("SELECT id FROM jobs WHERE kind='search' AND state='done'");
  ASSERT_TRUE(search_id.ok()) << search_id.status().message();
  StatusOr<int64_t> n = c.QueryInt(
      "SELECT COUNT(*) FROM jobs WHERE kind='calibrate' AND "
      "state='done' AND parent_job_id=" +
      std::to_string(*search_id));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  // Both passes of both shards, each stored from a worker.
  n = c.QueryInt(
      "SELECT COUNT(*) FROM jobs j JOIN job_tasks jt ON jt.job_id = j.id JOIN tasks t ON "
      "t.id = jt.task_id JOIN calibration_stats s ON s.task_id = t.id WHERE "
      "j.kind='calibrate' AND t.kind='calibrate' AND t.state='done' AND s.worker_id IS "
      "NOT NULL AND j.parent_job_id=" +
      std::to_string(*search_id));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 4);
  n = c.QueryInt("SELECT COUNT(DISTINCT pass) FROM calibration_stats");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  // Registered once (the sub-job's file and the search's cache are one file).
  n = c.QueryInt("SELECT COUNT(*) FROM calibrations WHERE method='percentile' AND samples=" +
                 std::to_string(kCalibrationSamples));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);

  const std::vector<std::string> cached = SearchCalibrations(c.dir() + "/calibrations");
  ASSERT_EQ(cached.size(), 1u);
  StatusOr<Calibration> expected = MixqCalibrate(c.dir());
  ASSERT_TRUE(expected.ok()) << expected.status().message();
  ASSERT_FALSE(expected->activations.empty());
  ExpectSameScales(cached[0], *expected);
  ExpectSameScales(c.dir() + "/out/calibration.json", *expected);

  // Again: the cached file is used, no calibrate sub-job.
  MixqResult second = RunMixq(run);
  ASSERT_EQ(second.exit_code, 0) << second.out;
  EXPECT_EQ(TasksRunNow(second.out), 0) << second.out;
  EXPECT_EQ(second.out.find("calibrate: sub-job"), std::string::npos) << second.out;
  n = c.QueryInt("SELECT COUNT(*) FROM jobs WHERE kind='calibrate'");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);

  // A damaged cache file: a new sub-job, every calibrate task memoized.
  std::ofstream(cached[0], std::ios::trunc) << "{";
  MixqResult third = RunMixq(run);
  ASSERT_EQ(third.exit_code, 0) << third.out;
  EXPECT_NE(third.out.find("calibrate: sub-job"), std::string::npos) << third.out;
  EXPECT_EQ(TasksRunNow(third.out), 0) << third.out;
  n = c.QueryInt("SELECT COUNT(*) FROM jobs WHERE kind='calibrate'");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  n = c.QueryInt("SELECT COUNT(*) FROM calibration_stats");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 4);
  ExpectSameScales(cached[0], *expected);
}

// `mixq submit` to a coordinator that is SIGKILLed once the first calibrate
// task is stored, then started again: it resumes the search, whose
// calibration ends with the same scales, each calibrate task stored once.
TEST(Distributed, SearchJobCalibrationResumesAfterACoordinatorKill) {
  // Both workers on one machine: one cache folder.
  Cluster c(ClusterOptions{/*ipc=*/true, {}, /*shared_worker_cache=*/true});
  ASSERT_TRUE(c.StartCoordinator());
  // Slow tasks: the kill lands while calibrate tasks are still to run.
  for (int i = 0; i < 2; ++i) c.AddWorker({"--task-delay-ms", "1000"});
  StatusOr<proto::SubmitReply> submitted =
      c.Submit(SearchYaml("kill-calib-search", ""), c.dir(), seconds(30));
  ASSERT_TRUE(submitted.ok()) << submitted.status().message();
  ASSERT_TRUE(submitted->error().empty()) << submitted->error();
  const int64_t job_id = submitted->job_id();

  ASSERT_TRUE(WaitFor(
      [&] {
        StatusOr<int64_t> n = c.QueryInt("SELECT COUNT(*) FROM calibration_stats");
        return n.ok() && *n >= 1;
      },
      seconds(120)));
  c.KillCoordinator();
  StatusOr<int64_t> stored = c.QueryInt("SELECT COUNT(*) FROM calibration_stats");
  ASSERT_TRUE(stored.ok());
  ASSERT_LT(*stored, 4) << "the calibration ended before the kill; nothing to resume";
  EXPECT_TRUE(SearchCalibrations(c.dir() + "/calibrations").empty());

  ASSERT_TRUE(c.RestartCoordinator());
  proto::StatusReply s;
  ASSERT_TRUE(c.WaitEnded(job_id, seconds(240), &s)) << c.coordinator().Log();
  EXPECT_EQ(s.state(), "done") << c.coordinator().Log();
  // Every calibrate sub-job of the search ended done; no task ran twice
  // into a second row.
  StatusOr<int64_t> n = c.QueryInt(
      "SELECT COUNT(*) FROM jobs WHERE kind='calibrate' AND "
      "state='done' AND parent_job_id=" +
      std::to_string(job_id));
  ASSERT_TRUE(n.ok());
  EXPECT_GE(*n, 1);
  n = c.QueryInt("SELECT COUNT(*) FROM jobs WHERE kind='calibrate' AND state!='done'");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  n = c.QueryInt("SELECT COUNT(*) FROM calibration_stats");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 4);

  const std::vector<std::string> cached = SearchCalibrations(c.dir() + "/calibrations");
  ASSERT_EQ(cached.size(), 1u);
  StatusOr<Calibration> expected = MixqCalibrate(c.dir());
  ASSERT_TRUE(expected.ok()) << expected.status().message();
  ExpectSameScales(cached[0], *expected);
  ExpectSameScales(c.dir() + "/search-" + std::to_string(job_id) + "/calibration.json", *expected);
}

}  // namespace
}  // namespace mixq::test
