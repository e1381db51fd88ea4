// The distributed system as real processes on loopback: build/bin's
// mixq-coordinator and mixq-worker started by the Cluster harness, talked to
// with CoordinatorClient and raw ZeroMQ sockets. Waits poll for conditions
// with generous limits; nothing asserts on timing.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/dataset.h"
#include "common/precision_config.h"
#include "common/protocol_codec.h"
#include "common/sha256.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/quant/calibration_file.h"
#include "engine/quant/quant_spec.h"
#include "engine/runtime/calibrator.h"
#include "engine/runtime/evaluator.h"
#include "tests/integration/cluster.h"

namespace mixq::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int64_t kSamples = 2000;
constexpr int64_t kShard = 200;
constexpr int64_t kEvalTasks = kSamples / kShard;

// Heartbeats every 200 ms and a worker lost after 3 missed: a killed worker
// is noticed within a second, not the default's several.
const ClusterOptions kFastHeartbeat = {false, {"--heartbeat-ms", "200", "--liveness", "3"}, false};

// Counts of Evaluate() in this process on the same slice: the reference.
const EvalCounts& SingleMachineCounts() {
  static const EvalCounts counts = [] {
    StatusOr<Graph> graph = ImportOnnx(kFmResnet);
    StatusOr<DatasetSpec> spec = LoadDatasetSpec(kFashionMnistTest);
    EXPECT_TRUE(graph.ok() && spec.ok());
    StatusOr<std::unique_ptr<Dataset>> ds = Dataset::Open(*spec);
    EXPECT_TRUE(ds.ok());
    EvalOptions options;
    options.count = kSamples;
    StatusOr<EvalCounts> c = Evaluate(*graph, **ds, options);
    EXPECT_TRUE(c.ok());
    return *c;
  }();
  return counts;
}

// The FP32 evaluate job on fm_resnet: kEvalTasks shards and one benchmark.
std::string JobYaml(const std::string& name) {
  return "name: " + name + "\nmodel: " + kFmResnet +
         "\ndata: {evaluation: {dataset: " + kFashionMnistTest +
         ", shard_size: " + std::to_string(kShard) + ", count: " + std::to_string(kSamples) +
         "}}\nbenchmark: {batches: [1], seconds: 0.05}\n";
}

// Submits JobYaml()'s job; its id.
int64_t SubmitEvalJob(Cluster& c) {
  StatusOr<proto::SubmitReply> reply = c.Submit(JobYaml("dist-test"), "", milliseconds(60000));
  EXPECT_TRUE(reply.ok()) << reply.status().message();
  if (!reply.ok()) return 0;
  EXPECT_EQ(reply->error(), "");
  EXPECT_EQ(reply->tasks_total(), kEvalTasks + 1);
  return reply->job_id();
}

// `mixq run`'s result table with runs of spaces folded into one.
std::string Squeezed(const std::string& text) {
  std::string squeezed;
  for (char ch : text) {
    if (ch != ' ' || (!squeezed.empty() && squeezed.back() != ' ')) squeezed += ch;
  }
  return squeezed;
}

void ExpectSingleMachineNumbers(const proto::StatusReply& s) {
  ASSERT_EQ(s.state(), "done");
  ASSERT_EQ(s.evaluations_size(), 1);
  EXPECT_EQ(s.evaluations(0).samples(), kSamples);
  EXPECT_EQ(s.evaluations(0).correct1(), SingleMachineCounts().correct1);
  EXPECT_EQ(s.evaluations(0).correct5(), SingleMachineCounts().correct5);
  ASSERT_EQ(s.benchmarks_size(), 1);
  EXPECT_GT(s.benchmarks(0).images_per_second(), 0.0);
}

TEST(Distributed, ThreeWorkersGiveSingleMachineCounts) {
  ASSERT_EQ(SingleMachineCounts().samples, kSamples);
  Cluster c(kFastHeartbeat);
  ASSERT_TRUE(c.StartCoordinator());
  c.AddWorker();
  c.AddWorker({"--no-local-paths"});
  c.AddWorker({"--no-local-paths"});
  const int64_t job = SubmitEvalJob(c);
  ExpectSingleMachineNumbers(c.WaitDone(job));
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM shard_results"), kEvalTasks);
  // Submitting the finished job again plans nothing: every task is memoized.
  StatusOr<proto::SubmitReply> again = c.Submit(JobYaml("again"), "", milliseconds(30000));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->tasks_planned(), 0);
  ExpectSingleMachineNumbers(c.WaitDone(again->job_id()));
}

TEST(Distributed, WorkerFetchesBlobsIntoItsCacheByHash) {
  Cluster c(kFastHeartbeat);
  ASSERT_TRUE(c.StartCoordinator());
  c.AddWorker({"--no-local-paths"});
  ExpectSingleMachineNumbers(c.WaitDone(SubmitEvalJob(c)));
  const std::string model_sha = Sha256File(kFmResnet).value();
  const std::string cached = c.cache(0) + "/" + model_sha;
  ASSERT_TRUE(fs::exists(cached));
  EXPECT_EQ(Sha256File(cached).value(), model_sha);
}

TEST(Distributed, KilledWorkerTaskIsRequeuedAndResultsMatch) {
  Cluster c(kFastHeartbeat);
  ASSERT_TRUE(c.StartCoordinator());
  Process* victim = c.AddWorker({"--task-delay-ms", "400"});
  c.AddWorker({"--task-delay-ms", "400"});
  c.AddWorker({"--task-delay-ms", "400"});
  ASSERT_TRUE(c.WaitForWorkers(3));
  const int64_t job = SubmitEvalJob(c);
  // While more tasks wait than there are workers, every worker holds one.
  ASSERT_TRUE(WaitFor(
      [&] {
        proto::StatusReply s = c.Status(job);
        return s.tasks_done() >= 1 && s.tasks_total() - s.tasks_done() > 4;
      },
      seconds(60)));
  victim->Kill(SIGKILL);
  ExpectSingleMachineNumbers(c.WaitDone(job));
  EXPECT_NE(c.coordinator().Log().find("worker lost"), std::string::npos);
  EXPECT_NE(c.coordinator().Log().find("requeued"), std::string::npos);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM shard_results"), kEvalTasks);
}

TEST(Distributed, CoordinatorKilledAndRestartedResumesWithoutDuplicates) {
  Cluster c(kFastHeartbeat);
  ASSERT_TRUE(c.StartCoordinator());
  for (int i = 0; i < 3; ++i) c.AddWorker({"--task-delay-ms", "300"});
  const int64_t job = SubmitEvalJob(c);
  ASSERT_TRUE(WaitFor(
      [&] {
        proto::StatusReply s = c.Status(job);
        return s.tasks_done() >= 2 && s.tasks_total() - s.tasks_done() > 3;
      },
      seconds(60)));
  c.KillCoordinator();
  const int64_t stored_before = c.Count("SELECT COUNT(*) FROM shard_results");
  EXPECT_LT(stored_before, kEvalTasks);
  ASSERT_TRUE(c.RestartCoordinator());
  ExpectSingleMachineNumbers(c.WaitDone(job));
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM shard_results"), kEvalTasks);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM benchmarks"), 1);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM tasks"), kEvalTasks + 1);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM evaluations WHERE job_id=" + std::to_string(job)), 1);
}

TEST(Distributed, WorkerOfAnotherProtocolVersionIsRefused) {
  Cluster c(kFastHeartbeat);
  ASSERT_TRUE(c.StartCoordinator());
  Process* worker = c.AddWorker({"--protocol-version", "2"});
  EXPECT_EQ(worker->Wait(milliseconds(30000)), 3) << worker->Log();
  EXPECT_NE(worker->Log().find("refused by coordinator: protocol version 2 is not supported"),
            std::string::npos)
      << worker->Log();
  EXPECT_EQ(c.Status(0).workers(), 0);
}

TEST(Distributed, EveryMalformedMessageIsSurvivedAndCounted) {
  Cluster c(kFastHeartbeat);
  ASSERT_TRUE(c.StartCoordinator({"--max-message-bytes", "65536"}));
  zmq::context_t context;
  zmq::socket_t raw(context, zmq::socket_type::dealer);
  raw.set(zmq::sockopt::linger, 0);
  // With a worker's key: past CURVE, so the bytes reach the decoder.
  ApplyClientSecurity(&raw, c.Security("worker"));
  raw.connect(c.endpoint());
  auto send = [&](const std::vector<std::string>& frames) {
    std::vector<zmq::const_buffer> parts;
    for (const std::string& f : frames) parts.push_back(zmq::buffer(f));
    zmq::send_multipart(raw, parts);
  };
  const std::string v1(1, static_cast<char>(kProtocolVersion));
  const std::string hello(1, static_cast<char>(MessageType::kHello));
  send({v1});                                             // frame count
  send({v1, std::string(1, static_cast<char>(99)), ""});  // unknown type
  send({v1, hello, "\xff\xff\xff\xff"});                  // undecodable payload
  send({std::string(1, 9), std::string(1, static_cast<char>(MessageType::kHeartbeat)), ""});
  send({v1, std::string(1, static_cast<char>(MessageType::kHeartbeat)), std::string(100000, 'x')});
  // Well-formed but never sent to a coordinator.
  send(Encode(MessageType::kWelcome, proto::Welcome()));
  std::map<std::string, uint64_t> counts;
  ASSERT_TRUE(WaitFor(
      [&] {
        proto::StatusReply s = c.Status(0);
        counts.clear();
        for (const auto& [k, n] : s.malformed()) counts[k] = n;
        return counts.size() >= 6;
      },
      seconds(60)))
      << c.coordinator().Log();
  EXPECT_EQ(counts["frame_count"], 1u);
  EXPECT_EQ(counts["unknown_type"], 1u);
  EXPECT_EQ(counts["payload"], 1u);
  EXPECT_EQ(counts["version"], 1u);
  EXPECT_EQ(counts["oversize"], 1u);
  EXPECT_EQ(counts["unexpected_type"], 1u);
  EXPECT_TRUE(c.coordinator().running());
  // Still does its job afterwards.
  c.AddWorker();
  ExpectSingleMachineNumbers(c.WaitDone(SubmitEvalJob(c)));
}

TEST(Distributed, MixqRunPrintsResultAndRerunPlansNothing) {
  Cluster c;  // the folder and database: `mixq run` starts its own processes
  const std::string job = c.dir() + "/job.yaml";
  std::ofstream(job) << JobYaml("run-test");
  const std::string run = "run " + job + " --workers 2 --threads 1 --db " + c.db();
  MixqResult first = RunMixq(run, StderrTo::kErr);
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  const std::string counts = std::to_string(kSamples) + " " +
                             std::to_string(SingleMachineCounts().correct1) + " " +
                             std::to_string(SingleMachineCounts().correct5);
  EXPECT_NE(Squeezed(first.out).find("fp32 any " + counts), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("job 1: done, 11/11 tasks"), std::string::npos) << first.out;
  MixqResult second = RunMixq(run, StderrTo::kErr);
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_NE(second.err.find("11 task(s), 0 to run"), std::string::npos) << second.err;
}

TEST(Distributed, ExpiredLeaseIsRequeuedAndLateDuplicateStoredOnce) {
  Cluster c(kFastHeartbeat);
  ASSERT_TRUE(c.StartCoordinator({"--lease-ms", "400", "--max-attempts", "10"}));
  // The slow worker's every task outlives its lease; the fast one redoes
  // them, and the slow copies arrive late as duplicates.
  c.AddWorker({"--task-delay-ms", "1200"});
  c.AddWorker();
  const int64_t job = SubmitEvalJob(c);
  ExpectSingleMachineNumbers(c.WaitDone(job));
  EXPECT_NE(c.coordinator().Log().find("lease expired"), std::string::npos);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM shard_results"), kEvalTasks);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM tasks WHERE state != 'done'"), 0);
}

TEST(Distributed, UnreadableJobIsRefusedWithItsReason) {
  Cluster c(kFastHeartbeat);
  ASSERT_TRUE(c.StartCoordinator());
  // Under the data roots (the folder), so the reason is the missing file.
  const std::string model = c.dir() + "/nonexistent/m.onnx";
  StatusOr<proto::SubmitReply> reply =
      c.Submit("name: bad\nmodel: " + model + "\ndata: {evaluation: {dataset: d.yaml}}\n", "",
               milliseconds(30000));
  ASSERT_TRUE(reply.ok());
  EXPECT_NE(reply->error().find(model), std::string::npos) << reply->error();
  EXPECT_EQ(reply->error().find("outside"), std::string::npos) << reply->error();
  reply = c.Submit("name: bad\nmodle: x\n", "", milliseconds(30000));
  ASSERT_TRUE(reply.ok());
  EXPECT_NE(reply->error().find("unknown key 'modle'"), std::string::npos) << reply->error();
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM jobs"), 0);
}

TEST(Distributed, HardwareAllRunsEachTaskOncePerConnectedClass) {
  Cluster c(kFastHeartbeat);
  ASSERT_TRUE(c.StartCoordinator());
  c.AddWorker();
  c.AddWorker({"--max-isa", "sse41"});  // stands in for an older CPU: a second class
  ASSERT_TRUE(c.WaitForWorkers(2));
  const std::string job = JobYaml("all-classes") + "hardware: all\n";
  StatusOr<proto::SubmitReply> reply = c.Submit(job, "", milliseconds(60000));
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->error(), "");
  EXPECT_EQ(reply->tasks_total(), 2 * (kEvalTasks + 1));
  proto::StatusReply s = c.WaitDone(reply->job_id());
  ASSERT_EQ(s.evaluations_size(), 2);
  for (const proto::EvalRow& row : s.evaluations()) EXPECT_EQ(row.samples(), kSamples);
  EXPECT_NE(s.evaluations(0).hardware_class(), s.evaluations(1).hardware_class());
  // Every result came from a worker of the class its task asked for.
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM shard_results r JOIN tasks t ON t.id = r.task_id "
                    "JOIN hardware_classes h ON h.id = r.hardware_class_id "
                    "WHERE h.name != t.hardware"),
            0);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM hardware_classes WHERE isa = 'sse41'"), 1);
}

constexpr int64_t kInt8Samples = 1000;

// A calibration of fm_resnet on 200 training samples, saved to `path`.
StatusOr<Calibration> WriteCalibration(const Graph& graph, const std::string& path) {
  MIXQ_ASSIGN_OR_RETURN(std::string sha, Sha256File(kFmResnet));
  MIXQ_ASSIGN_OR_RETURN(DatasetSpec train, LoadDatasetSpec(kFashionMnistTrain));
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> dataset, Dataset::Open(train));
  MIXQ_ASSIGN_OR_RETURN(Calibration calibration,
                        Calibrate(graph, *dataset, 0, 200, ScaleOptions(),
                                  CalibrationSource{sha, train.source}, CalibratorOptions()));
  MIXQ_RETURN_IF_ERROR(SaveCalibration(calibration, path));
  return calibration;
}

// WriteCalibration(), and the all-INT8 counts of Evaluate() in this process
// on the first kInt8Samples test samples with it: the reference for workers.
EvalCounts CalibrateAndEvaluateInt8(const std::string& path,
                                    SevenBitWeights seven_bit = SevenBitWeights::kNone) {
  StatusOr<Graph> graph = ImportOnnx(kFmResnet);
  StatusOr<std::string> sha = Sha256File(kFmResnet);
  StatusOr<DatasetSpec> test = LoadDatasetSpec(kFashionMnistTest);
  EXPECT_TRUE(graph.ok() && sha.ok() && test.ok());
  if (!graph.ok() || !sha.ok() || !test.ok()) return {};
  StatusOr<std::unique_ptr<Dataset>> test_ds = Dataset::Open(*test);
  EXPECT_TRUE(test_ds.ok());
  if (!test_ds.ok()) return {};
  StatusOr<Calibration> calibration = WriteCalibration(*graph, path);
  EXPECT_TRUE(calibration.ok()) << calibration.status().message();
  if (!calibration.ok()) return {};
  StatusOr<QuantSpec> spec =
      MakeQuantSpec(UniformPrecisionConfig(Precision::kInt8, graph->QuantizableLayers(), *sha),
                    *calibration, seven_bit);
  EXPECT_TRUE(spec.ok());
  if (!spec.ok()) return {};
  EvalOptions options;
  options.count = kInt8Samples;
  options.executor.quant = *spec;
  StatusOr<EvalCounts> counts = Evaluate(*graph, **test_ds, options);
  EXPECT_TRUE(counts.ok());
  return counts.ok() ? *counts : EvalCounts();
}

TEST(Distributed, MixqRunOfInt8JobGivesLocalInt8Counts) {
  Cluster c;  // the folder and database: `mixq run` starts its own processes
  const EvalCounts local = CalibrateAndEvaluateInt8(c.dir() + "/calibration.json");
  ASSERT_EQ(local.samples, kInt8Samples);
  // Relative calibration path: resolved against the job file's folder.
  std::ofstream(c.dir() + "/job.yaml")
      << "name: int8\nmodel: " << kFmResnet << "\n"
      << "data: {evaluation: {dataset: " << kFashionMnistTest
      << ", shard_size: 250, count: " << kInt8Samples
      << "}}\nconfigs: [fp32, int8]\ncalibration: calibration.json\n"
      << "benchmark: {batches: [1], seconds: 0.05}\n";
  MixqResult first = RunMixq("run " + c.dir() + "/job.yaml --workers 2 --threads 1 --db " + c.db(),
                             StderrTo::kErr);
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  const std::string expected = "int8 any " + std::to_string(local.samples) + " " +
                               std::to_string(local.correct1) + " " +
                               std::to_string(local.correct5);
  EXPECT_NE(Squeezed(first.out).find(expected), std::string::npos) << first.out;
  // 4 shards + 1 benchmark per config.
  EXPECT_NE(first.out.find("job 1: done, 10/10 tasks"), std::string::npos) << first.out;
  // Memo keys carry the calibration hash: INT8 tasks of another calibration
  // are new work, FP32 tasks are not.
  std::ofstream(c.dir() + "/calibration.json", std::ios::app) << "\n";
  MixqResult again = RunMixq("run " + c.dir() + "/job.yaml --workers 1 --threads 1 --db " + c.db(),
                             StderrTo::kErr);
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.err.find("10 task(s), 5 to run"), std::string::npos) << again.err;
  EXPECT_NE(Squeezed(again.out).find(expected), std::string::npos) << again.out;
}

TEST(Distributed, Int8ConfigWithoutCalibrationIsRefusedAtSubmission) {
  Cluster c(kFastHeartbeat);
  ASSERT_TRUE(c.StartCoordinator());
  const std::string job = JobYaml("no-calibration") + "configs: [fp32, int8]\n";
  StatusOr<proto::SubmitReply> reply = c.Submit(job, "", milliseconds(60000));
  ASSERT_TRUE(reply.ok());
  EXPECT_NE(reply->error().find("config 'int8' has"), std::string::npos) << reply->error();
  EXPECT_NE(reply->error().find("names no calibration"), std::string::npos) << reply->error();
  // A calibration made for another model is refused too.
  StatusOr<Graph> graph = ImportOnnx(kFmResnet);
  ASSERT_TRUE(graph.ok());
  const std::string path = c.dir() + "/other.json";
  StatusOr<Calibration> calibration = WriteCalibration(*graph, path);
  ASSERT_TRUE(calibration.ok());
  calibration->model_sha256 = std::string(64, '0');
  ASSERT_TRUE(SaveCalibration(*calibration, path).ok());
  reply = c.Submit(job + "calibration: " + path + "\n", "", milliseconds(60000));
  ASSERT_TRUE(reply.ok());
  EXPECT_NE(reply->error().find("was made for another model"), std::string::npos) << reply->error();
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM jobs"), 0);
}

TEST(Distributed, JobForAbsentHardwareClassFailsNamingTheClass) {
  Cluster c(kFastHeartbeat);
  ASSERT_TRUE(c.StartCoordinator({"--missing-class-grace-ms", "1000"}));
  c.AddWorker();
  ASSERT_TRUE(c.WaitForWorkers(1));
  const std::string job = JobYaml("absent-class") + "hardware: [no-such-cpu]\n";
  StatusOr<proto::SubmitReply> reply = c.Submit(job, "", milliseconds(60000));
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->error(), "");
  proto::StatusReply s;
  ASSERT_TRUE(c.WaitEnded(reply->job_id(), seconds(60), &s)) << c.coordinator().Log();
  EXPECT_EQ(s.state(), "failed");
  EXPECT_EQ(s.tasks_failed(), kEvalTasks + 1);
  ASSERT_EQ(s.task_errors_size(), 1);
  EXPECT_NE(s.task_errors(0).find("hardware class 'no-such-cpu'"), std::string::npos)
      << s.task_errors(0);
  MixqResult status = RunMixq("status " + std::to_string(reply->job_id()) + " --coordinator " +
                              c.endpoint() + c.ClientFlags());
  EXPECT_NE(status.out.find("failed: no connected worker of hardware class 'no-such-cpu'"),
            std::string::npos)
      << status.out;

  // `submit --wait` of a job that fails exits 1, naming how it ended.
  const std::string file = c.dir() + "/absent-class.yaml";
  std::ofstream(file) << JobYaml("absent-class-cli") << "hardware: [no-such-cpu]\n";
  MixqResult wait =
      RunMixq("submit " + file + " --wait --coordinator " + c.endpoint() + c.ClientFlags());
  EXPECT_EQ(wait.exit_code, 1) << wait.out;
  EXPECT_NE(wait.out.find("ended failed"), std::string::npos) << wait.out;
}

// An evaluate job of fm_resnet in `configs` with `calibration`'s scales and
// no benchmark; `evaluation` follows the test set's name in the slice.
std::string CalibratedJobYaml(const std::string& name, const std::string& evaluation,
                              const std::string& configs, const std::string& calibration) {
  return "name: " + name + "\nmodel: " + kFmResnet +
         "\ndata: {evaluation: {dataset: " + kFashionMnistTest + evaluation + "}}\nconfigs: [" +
         configs + "]\ncalibration: " + calibration + "\nbenchmark: {batches: []}\n";
}

TEST(Distributed, ProfileTaskListsEveryQuantizableLayerWithPositiveTimes) {
  Cluster c(kFastHeartbeat);
  ASSERT_TRUE(c.StartCoordinator());
  c.AddWorker();
  StatusOr<Graph> graph = ImportOnnx(kFmResnet);
  ASSERT_TRUE(graph.ok());
  const std::string calibration = c.dir() + "/calibration.json";
  ASSERT_TRUE(WriteCalibration(*graph, calibration).ok());
  const std::string job =
      CalibratedJobYaml("profile", ", count: 100", "int8", calibration) + "profile: true\n";
  StatusOr<proto::SubmitReply> reply = c.Submit(job, "", milliseconds(60000));
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->error(), "");
  EXPECT_EQ(reply->tasks_total(), 2);  // one evaluate shard, one profile
  c.WaitDone(reply->job_id());
  const std::vector<std::string> layers = graph->QuantizableLayers();
  ASSERT_FALSE(layers.empty());
  for (const std::string& layer : layers) {
    EXPECT_EQ(c.Count("SELECT COUNT(*) FROM layer_profiles WHERE layer='" + layer +
                      "' AND precision IN ('fp32', 'int8') AND ms > 0"),
              2)
        << layer;
  }
  EXPECT_EQ(c.Count("SELECT COUNT(DISTINCT layer) FROM layer_profiles WHERE precision='int8'"),
            static_cast<int64_t>(layers.size()));
}

TEST(Distributed, SevenBitJobGivesLocalSevenBitCounts) {
  Cluster c(kFastHeartbeat);
  ASSERT_TRUE(c.StartCoordinator());
  c.AddWorker();
  const std::string calibration = c.dir() + "/calibration.json";
  const EvalCounts local = CalibrateAndEvaluateInt8(calibration, SevenBitWeights::kAll);
  ASSERT_EQ(local.samples, kInt8Samples);
  const std::string job =
      CalibratedJobYaml("seven", ", shard_size: 500, count: " + std::to_string(kInt8Samples),
                        "int8", calibration) +
      "seven_bit: all\n";
  StatusOr<proto::SubmitReply> reply = c.Submit(job, "", milliseconds(60000));
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->error(), "");
  proto::StatusReply s = c.WaitDone(reply->job_id());
  ASSERT_EQ(s.evaluations_size(), 1);
  EXPECT_EQ(s.evaluations(0).config(), "int8");
  EXPECT_EQ(s.evaluations(0).samples(), local.samples);
  EXPECT_EQ(s.evaluations(0).correct1(), local.correct1);
  EXPECT_EQ(s.evaluations(0).correct5(), local.correct5);
}

TEST(Distributed, MixedConfigFileGivesLocalCounts) {
  Cluster c(kFastHeartbeat);
  ASSERT_TRUE(c.StartCoordinator());
  c.AddWorker({"--no-local-paths"});  // the calibration travels as a blob
  StatusOr<Graph> graph = ImportOnnx(kFmResnet);
  ASSERT_TRUE(graph.ok());
  const std::string calibration_path = c.dir() + "/calibration.json";
  StatusOr<Calibration> calibration = WriteCalibration(*graph, calibration_path);
  ASSERT_TRUE(calibration.ok());
  // The first half of the layers INT8, the rest FP32.
  const std::vector<std::string> layers = graph->QuantizableLayers();
  std::string text = "{\"layers\": {";
  for (size_t i = 0; i < layers.size(); ++i) {
    text += (i ? ", \"" : "\"") + layers[i] + "\": \"" + (i < layers.size() / 2 ? "int8" : "fp32") +
            "\"";
  }
  text += "}}";
  std::ofstream(c.dir() + "/half.json") << text;
  StatusOr<PrecisionConfig> config = ParsePrecisionConfig(text, layers, calibration->model_sha256);
  ASSERT_TRUE(config.ok()) << config.status().message();
  ASSERT_GT(config->Count(Precision::kInt8), 0);
  StatusOr<QuantSpec> spec = MakeQuantSpec(*config, *calibration, SevenBitWeights::kNone);
  ASSERT_TRUE(spec.ok());
  StatusOr<DatasetSpec> test = LoadDatasetSpec(kFashionMnistTest);
  ASSERT_TRUE(test.ok());
  StatusOr<std::unique_ptr<Dataset>> dataset = Dataset::Open(*test);
  ASSERT_TRUE(dataset.ok());
  EvalOptions options;
  options.count = kInt8Samples;
  options.executor.quant = *spec;
  StatusOr<EvalCounts> local = Evaluate(*graph, **dataset, options);
  ASSERT_TRUE(local.ok());

  const std::string job =
      CalibratedJobYaml("half", ", shard_size: 500, count: " + std::to_string(kInt8Samples),
                        "half.json", "calibration.json");
  StatusOr<proto::SubmitReply> reply = c.Submit(job, c.dir(), milliseconds(60000));
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->error(), "");
  proto::StatusReply s = c.WaitDone(reply->job_id());
  ASSERT_EQ(s.evaluations_size(), 1);
  EXPECT_EQ(s.evaluations(0).config(), "half");
  EXPECT_EQ(s.evaluations(0).samples(), local->samples);
  EXPECT_EQ(s.evaluations(0).correct1(), local->correct1);
  EXPECT_EQ(s.evaluations(0).correct5(), local->correct5);
}

TEST(Distributed, JobAgreementWithFp32EqualsMixqEvalAgreement) {
  Cluster c(kFastHeartbeat);
  ASSERT_TRUE(c.StartCoordinator());
  for (int i = 0; i < 3; ++i) c.AddWorker();
  const std::string calibration = c.dir() + "/calibration.json";
  StatusOr<Graph> graph = ImportOnnx(kFmResnet);
  ASSERT_TRUE(graph.ok());
  ASSERT_TRUE(WriteCalibration(*graph, calibration).ok());
  const std::string job = CalibratedJobYaml("agree", ", shard_size: 250, begin: 500, count: 1000",
                                            "fp32, int8", calibration);
  StatusOr<proto::SubmitReply> reply = c.Submit(job, "", milliseconds(60000));
  ASSERT_TRUE(reply.ok() && reply->error().empty());
  const proto::StatusReply s = c.WaitDone(reply->job_id());
  ASSERT_EQ(s.evaluations_size(), 2);
  const proto::EvalRow& fp32 =
      s.evaluations(0).config() == "fp32" ? s.evaluations(0) : s.evaluations(1);
  const proto::EvalRow& int8 =
      s.evaluations(0).config() == "int8" ? s.evaluations(0) : s.evaluations(1);
  ASSERT_EQ(int8.config(), "int8");
  ASSERT_TRUE(fp32.has_agree1() && int8.has_agree1());
  EXPECT_EQ(fp32.agree1(), 1000);

  MixqResult eval = RunMixq("eval --model " + kFmResnet + " --dataset " + kFashionMnistTest +
                                " --begin 500 --count 1000 --threads 1 --config int8 " +
                                "--calibration " + calibration + " --json -q",
                            StderrTo::kErr);
  ASSERT_EQ(eval.exit_code, 0) << eval.out << eval.err;
  const nlohmann::json local = nlohmann::json::parse(eval.out, nullptr, false);
  ASSERT_TRUE(local.is_object()) << eval.out;
  EXPECT_EQ(local["correct1"].get<int64_t>(), int8.correct1());
  EXPECT_EQ(local["agree1"].get<int64_t>(), int8.agree1());
  // INT8 moves some predictions but keeps most: a count that is neither
  // "nothing measured" nor "copied the samples".
  EXPECT_GT(int8.agree1(), 900);
  EXPECT_EQ(c.Count("SELECT agree1 FROM evaluations e JOIN configs k ON k.id = e.config_id "
                    "WHERE k.name = 'int8' AND e.job_id = " +
                    std::to_string(reply->job_id())),
            int8.agree1());
  // The workers kept the FP32 predictions of their shards in their caches.
  int64_t cached = 0;
  for (int i = 0; i < 3; ++i) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(c.cache(i), ec)) {
      cached += entry.path().filename().string().rfind("fp32-top1-", 0) == 0;
    }
  }
  EXPECT_GE(cached, 4);
}

bool SameQuantParams(const QuantParams& a, const QuantParams& b) {
  return std::memcmp(&a.dequant_scale, &b.dequant_scale, sizeof(float)) == 0 &&
         std::memcmp(&a.threshold, &b.threshold, sizeof(float)) == 0 &&
         a.is_unsigned == b.is_unsigned;
}

TEST(Distributed, CalibrateJobOnThreeWorkersGivesMixqCalibrateScalesBitForBit) {
  Cluster c(kFastHeartbeat);
  ASSERT_TRUE(c.StartCoordinator());
  for (int i = 0; i < 3; ++i) c.AddWorker({"--no-local-paths"});
  const std::string output = c.dir() + "/distributed.json";
  const std::string job = "name: calib\nkind: calibrate\nmodel: " + kFmResnet +
                          "\ndata: {calibration: {dataset: " + kFashionMnistTrain +
                          "}}\ncalibration: {method: kl, samples: 300, shard_size: 100}\n"
                          "output: " +
                          output + "\n";
  StatusOr<proto::SubmitReply> reply = c.Submit(job, "", milliseconds(60000));
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->error(), "");
  EXPECT_EQ(reply->tasks_total(), 3);  // pass 1; pass 2 is planned once it is merged
  const proto::StatusReply s = c.WaitDone(reply->job_id());
  EXPECT_EQ(s.tasks_total(), 6);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM calibration_stats WHERE pass = 1"), 3);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM calibration_stats WHERE pass = 2"), 3);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM calibrations WHERE method = 'kl' AND samples = 300"), 1);
  // Stored next to the database and registered as a blob, named by hash.
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM blobs b JOIN calibrations k ON k.sha256 = b.sha256 "
                    "WHERE b.path LIKE '" +
                    c.dir() + "/calibrations/%'"),
            1);

  const std::string local = c.dir() + "/local.json";
  MixqResult calibrate =
      RunMixq("calibrate --model " + kFmResnet + " --dataset " + kFashionMnistTrain +
                  " --method kl --samples 300 " + "--threads 1 -o " + local,
              StderrTo::kNull);
  ASSERT_EQ(calibrate.exit_code, 0) << calibrate.out;
  StatusOr<Calibration> a = LoadCalibration(output);
  StatusOr<Calibration> b = LoadCalibration(local);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  ASSERT_EQ(a->activations.size(), b->activations.size());
  ASSERT_FALSE(b->activations.empty());
  for (const auto& [name, params] : b->activations) {
    ASSERT_EQ(a->activations.count(name), 1u) << name;
    EXPECT_TRUE(SameQuantParams(a->activations.at(name), params)) << name;
  }
  EXPECT_EQ(a->stats, b->stats);
  EXPECT_EQ(a->scale.method, ScaleMethod::kKl);
  EXPECT_EQ(a->model_sha256, b->model_sha256);

  // Rerun: every pass is memoized, the calibration is the same file.
  StatusOr<proto::SubmitReply> again = c.Submit(job, "", milliseconds(60000));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->tasks_planned(), 0);
  c.WaitDone(again->job_id());
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM calibration_stats"), 6);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM calibrations"), 1);
}

TEST(Distributed, EvaluateJobWithCalibrationMappingCalibratesThenEvaluatesAcrossARestart) {
  Cluster c(kFastHeartbeat);
  ASSERT_TRUE(c.StartCoordinator());
  for (int i = 0; i < 3; ++i) c.AddWorker({"--task-delay-ms", "300"});
  const std::string job =
      "name: calib-eval\nmodel: " + kFmResnet +
      "\ndata: {evaluation: {dataset: " + kFashionMnistTest +
      ", shard_size: 250, count: 500}, calibration: {dataset: " + kFashionMnistTrain +
      ", samples: 200}}\nconfigs: [fp32, int8]\n"
      "calibration: {method: mse, shard_size: 100}\n"
      "benchmark: {batches: []}\n";
  StatusOr<proto::SubmitReply> reply = c.Submit(job, "", milliseconds(60000));
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->error(), "");
  const int64_t id = reply->job_id();
  // Kill the coordinator once pass 1 is stored: the restarted one derives
  // the phase from the store and goes on.
  ASSERT_TRUE(
      WaitFor([&] { return c.Count("SELECT COUNT(*) FROM calibration_stats WHERE pass = 1") == 2; },
              seconds(60)));
  c.KillCoordinator();
  ASSERT_TRUE(c.RestartCoordinator());
  const proto::StatusReply s = c.WaitDone(id);
  // 2 + 2 calibrate tasks, 2 shards x 2 configs.
  EXPECT_EQ(s.tasks_total(), 8);
  ASSERT_EQ(s.evaluations_size(), 2);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM calibration_stats"), 4);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM calibrations WHERE method = 'mse'"), 1);
  for (const proto::EvalRow& row : s.evaluations()) {
    EXPECT_EQ(row.samples(), 500) << row.config();
    EXPECT_GT(row.correct1(), 400) << row.config();
  }
  // The INT8 tasks name the calibration the coordinator made.
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM tasks t JOIN configs k ON k.id = t.config_id "
                    "WHERE k.name = 'int8' AND t.state = 'done'"),
            2);
}

TEST(Distributed, CalibrationMappingJobWithConfigOfAnotherModelIsRefusedAtSubmission) {
  Cluster c(kFastHeartbeat);
  ASSERT_TRUE(c.StartCoordinator());
  const std::string config = c.dir() + "/other.json";
  std::ofstream(config) << "{\"model_sha256\": \"" << std::string(64, '0') << "\", \"layers\": {}}";
  const std::string job =
      JobYaml("other-model") + "configs: [fp32, " + config + "]\ncalibration: {method: kl}\n";
  StatusOr<proto::SubmitReply> reply = c.Submit(job, "", milliseconds(60000));
  ASSERT_TRUE(reply.ok());
  EXPECT_NE(reply->error().find("model_sha256"), std::string::npos) << reply->error();
  EXPECT_EQ(reply->job_id(), 0);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM jobs"), 0);
}

}  // namespace
}  // namespace mixq::test
