// input_shape in job and dataset files through a real coordinator and
// worker: an evaluate job of a model with symbolic height and width
// completes with the counts this process computes for the same fixed model,
// its benchmark runs at the task's batch; without the shape the workers
// cannot run it, a shape that does not fit is refused at submission, and a
// dataset file's input_shape gives the same tasks as the job's; a search
// job carries its input_shape to its sub-jobs and export (label:
// integration).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/engine/symbolic_models.h"
#include "tests/integration/cluster.h"

namespace mixq::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr int64_t kSamples = 300;

std::string EvalJob(const std::string& name, const std::string& model, const std::string& dataset,
                    const std::string& input_shape) {
  return "name: " + name + "\nmodel: " + model + "\ndata: {evaluation: {dataset: " + dataset +
         ", shard_size: 100, count: " + std::to_string(kSamples) +
         ", batch: 50}}\nbenchmark: {batches: [2], seconds: 0.05}\n" + input_shape;
}

TEST(Distributed, InputShapeOfAJobFileReachesTheWorkers) {
  Cluster c;
  const std::string model = c.dir() + "/symbolic.onnx";
  WriteText(model, mixq::testing::SymbolicClassifier());
  ASSERT_TRUE(c.StartCoordinator());
  c.AddWorker();
  ASSERT_TRUE(c.WaitForWorkers(1));

  // The reference: the fixed model evaluated in this process.
  StatusOr<EvalCounts> counts = mixq::testing::FixedClassifierCounts(model, kSamples, 50);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();

  StatusOr<proto::SubmitReply> fixed =
      c.Submit(EvalJob("fixed", model, kFashionMnistTest, "input_shape: [1, 1, 28, 28]\n"));
  ASSERT_TRUE(fixed.ok()) << fixed.status().ToString();
  ASSERT_EQ(fixed->error(), "");
  const proto::StatusReply done = c.WaitDone(fixed->job_id());
  ASSERT_EQ(done.evaluations_size(), 1);
  EXPECT_EQ(done.evaluations(0).samples(), kSamples);
  EXPECT_EQ(done.evaluations(0).correct1(), counts->correct1);
  EXPECT_EQ(done.evaluations(0).correct5(), counts->correct5);
  ASSERT_EQ(done.benchmarks_size(), 1);
  EXPECT_EQ(done.benchmarks(0).batch(), 2);  // the task's batch, not input_shape's 1
  EXPECT_GT(done.benchmarks(0).images_per_second(), 0.0);

  // The same job from a dataset file's input_shape, naming the input: the
  // same shapes, so the same tasks, all memoized.
  // (The shipped spec names its files by absolute paths.)
  const std::string with_shape = c.dir() + "/fashion_mnist_fixed.yaml";
  std::ifstream shipped(kFashionMnistTest);
  std::ofstream(with_shape) << shipped.rdbuf() << "\ninput_shape: {x: 1x1x28x28}\n";
  StatusOr<proto::SubmitReply> from_dataset =
      c.Submit(EvalJob("from-dataset", model, with_shape, ""));
  ASSERT_TRUE(from_dataset.ok());
  ASSERT_EQ(from_dataset->error(), "");
  EXPECT_EQ(from_dataset->tasks_planned(), 0);
  EXPECT_EQ(c.WaitDone(from_dataset->job_id()).evaluations(0).correct1(), counts->correct1);

  // Without a shape the worker has nothing to specialise for.
  StatusOr<proto::SubmitReply> unfixed = c.Submit(EvalJob("unfixed", model, kFashionMnistTest, ""));
  ASSERT_TRUE(unfixed.ok());
  ASSERT_EQ(unfixed->error(), "");
  proto::StatusReply failed;
  ASSERT_TRUE(c.WaitEnded(unfixed->job_id(), milliseconds(90000), &failed));
  EXPECT_EQ(failed.state(), "failed");
  ASSERT_GT(failed.task_errors_size(), 0);
  EXPECT_NE(failed.task_errors(0).find("unknown dims"), std::string::npos) << failed.task_errors(0);

  // A shape the model does not take is refused when the job is submitted.
  StatusOr<proto::SubmitReply> wrong =
      c.Submit(EvalJob("wrong", model, kFashionMnistTest, "input_shape: {x: [1, 3, 28, 28]}\n"));
  ASSERT_TRUE(wrong.ok());
  EXPECT_NE(wrong->error().find("'input_shape': input 'x' is declared [?,1,?,?]; the given "
                                "[1,3,28,28] does not fit (dim 1 is 1)"),
            std::string::npos)
      << wrong->error();
}

// A search job's input_shape reaches its calibrate and evaluate sub-jobs'
// tasks and its QDQ export: the job runs through `mixq run` to its end.
TEST(Distributed, SearchJobOnASymbolicModelCarriesItsInputShape) {
  Cluster c;  // the folder and database: `mixq run` starts its own processes
  const std::string model = c.dir() + "/symbolic.onnx";
  WriteText(model, mixq::testing::SymbolicClassifier());
  const std::string job = c.dir() + "/search.yaml";
  std::ofstream(job) << "name: symbolic\nkind: search\nmodel: " << model << "\ndata:\n"
                     << "  calibration: {dataset: " << kFashionMnistTrain << ", samples: 50}\n"
                     << "  evaluation: {dataset: " << kFashionMnistTest
                     << ", count: 200, shard_size: 100}\n"
                     << "  ranking: {samples: 100}\n"
                     << "calibration: {method: minmax}\nbudget: {max_drop: 100}\n"
                     << "objective: {measure: throughput, batch: 2}\nbenchmark: {seconds: 0.05}\n"
                     << "strategy: {name: accuracy_aware, confirm_rounds: 0}\n"
                     << "limits: {max_full_evaluations: 4}\ninput_shape: [1, 1, 28, 28]\n"
                     << "output: " << c.dir() << "/out\n";
  MixqResult run = RunMixq("run " + job + " --workers 1 --threads 1 --db " + c.db());
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_TRUE(fs::exists(c.dir() + "/out/model.qdq.onnx")) << run.out;
  // The scales came from calibrate tasks run at that shape.
  std::ifstream calibration(c.dir() + "/out/calibration.json");
  const nlohmann::json doc = nlohmann::json::parse(calibration, nullptr, false);
  EXPECT_EQ(doc["provenance"]["input_shape"], "x:1x1x28x28") << doc.dump();
}

}  // namespace
}  // namespace mixq::test
