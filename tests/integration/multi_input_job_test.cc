// A job on a model with two int64 inputs and a dataset in the `inputs` form:
// each input's file travels to the workers as a blob of its own (fetched
// under the lease, with keys), and calibrate, evaluate, benchmark and
// profile tasks all feed the model by input name.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/engine/text_model_onnx.h"
#include "tests/integration/cluster.h"

namespace mixq::test {
namespace {

using std::chrono::milliseconds;

TEST(Distributed, TwoInputModelIsCalibratedEvaluatedAndProfiledOnWorkers) {
  Cluster c;
  ASSERT_TRUE(c.StartCoordinator());
  c.AddWorker();
  const std::string folder = c.dir() + "/text";
  std::filesystem::create_directories(folder);
  const std::string model = folder + "/text.onnx";
  std::ofstream(model, std::ios::binary) << testing::TextModelOnnx(3);
  const std::string dataset = testing::WriteTextSet(folder);
  const std::string job = "name: text\nmodel: " + model +
                          "\ndata: {evaluation: {dataset: " + dataset +
                          ", shard_size: 2}}\nconfigs: [fp32, int8]\n"
                          "calibration: {method: minmax, samples: 4, shard_size: 2}\n"
                          "profile: true\nbenchmark: {batches: [2], seconds: 0.05}\n";
  StatusOr<proto::SubmitReply> reply = c.Submit(job, "", milliseconds(60000));
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  ASSERT_EQ(reply->error(), "");
  const proto::StatusReply s = c.WaitDone(reply->job_id());
  ASSERT_EQ(s.state(), "done");
  ASSERT_EQ(s.evaluations_size(), 2);
  for (const proto::EvalRow& row : s.evaluations()) {
    EXPECT_EQ(row.samples(), 4) << row.config();
    // testing::WriteTextSet(): 3 of 4 right; the pooled counts are small
    // integers that minmax INT8 keeps exactly.
    EXPECT_EQ(row.correct1(), 3) << row.config();
  }
  EXPECT_EQ(s.benchmarks_size(), 2);
  EXPECT_GT(c.Count("SELECT COUNT(*) FROM layer_profiles"), 0);
  // Both input files were served as blobs.
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM blobs WHERE path LIKE '%/text/ids.npy' OR path LIKE "
                    "'%/text/mask.npy'"),
            2);
}

}  // namespace
}  // namespace mixq::test
