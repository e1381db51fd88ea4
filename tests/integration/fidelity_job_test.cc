// A job with data.evaluation.fidelity: each quantised evaluate task runs FP32
// beside its config and sends its shard's fidelity statistics
// (metrics/fidelity.h); the coordinator merges them exactly, so the job's
// SQNR and cosine over three shards on two workers are the very doubles a
// local `mixq eval` prints for the same samples in one pass.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/cli/mixq_runner.h"
#include "tests/common/shipped_files.h"
#include "tests/integration/cluster.h"

namespace mixq::test {
namespace {

using std::chrono::milliseconds;

TEST(Distributed, FidelityMergedFromShardsEqualsOneLocalPassBitForBit) {
  Cluster c;
  ASSERT_TRUE(c.StartCoordinator());
  c.AddWorker();
  c.AddWorker();
  ASSERT_TRUE(c.WaitForWorkers(2));
  const std::string calibration = c.dir() + "/cal.json";
  ASSERT_EQ(RunMixq("calibrate --quiet --threads 1 --samples 200 --model " + kFmResnet +
                    " --dataset " + kFashionMnistTrain + " -o " + calibration)
                .exit_code,
            0);
  const std::string job = "name: fidelity\nmodel: " + kFmResnet +
                          "\ndata: {evaluation: {dataset: " + kFashionMnistTest +
                          ", count: 600, shard_size: 200, batch: 100, fidelity: true}}\n"
                          "configs: [fp32, int8]\ncalibration: " +
                          calibration + "\nbenchmark: {batches: []}\n";
  StatusOr<proto::SubmitReply> reply = c.Submit(job, "", milliseconds(60000));
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  ASSERT_EQ(reply->error(), "");
  const proto::StatusReply s = c.WaitDone(reply->job_id());
  ASSERT_EQ(s.state(), "done") << c.coordinator().Log();
  const proto::EvalRow* int8 = nullptr;
  for (const proto::EvalRow& row : s.evaluations()) {
    if (row.config() == "fp32") {
      EXPECT_EQ(row.fidelity_size(), 0);  // nothing to compare
    }
    if (row.config() == "int8") int8 = &row;
  }
  ASSERT_NE(int8, nullptr);
  ASSERT_EQ(int8->fidelity_size(), 1);
  EXPECT_EQ(int8->fidelity(0).samples(), 600);

  MixqResult local =
      RunMixq("eval --json --quiet --threads 1 --batch 100 --count 600 --model " + kFmResnet +
                  " --dataset " + kFashionMnistTest + " --config int8 --calibration " + calibration,
              StderrTo::kNull);
  ASSERT_EQ(local.exit_code, 0) << local.out;
  const nlohmann::json j = nlohmann::json::parse(local.out);
  ASSERT_EQ(j["fidelity"].size(), 1u);
  EXPECT_EQ(j["fidelity"][0]["output"], int8->fidelity(0).output());
  EXPECT_EQ(j["fidelity"][0]["sqnr_db"].get<double>(), int8->fidelity(0).sqnr_db());
  EXPECT_EQ(j["fidelity"][0]["cosine"].get<double>(), int8->fidelity(0).cosine());
  EXPECT_EQ(j["agree1"].get<int64_t>(), int8->agree1());
  EXPECT_EQ(j["correct1"].get<int64_t>(), int8->correct1());
}

}  // namespace
}  // namespace mixq::test
