// The distributed system as real processes on loopback: build/bin's
// mixq-coordinator and mixq-worker started with posix_spawn, talked to with
// CoordinatorClient and raw ZeroMQ sockets. Waits poll for conditions with
// generous limits; nothing asserts on timing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/dataset.h"
#include "common/precision_config.h"
#include "common/protocol_codec.h"
#include "common/sha256.h"
#include "common/sqlite_db.h"
#include "coordinator/coordinator_client.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/quant/calibration_file.h"
#include "engine/quant/quant_spec.h"
#include "engine/runtime/calibrator.h"
#include "engine/runtime/evaluator.h"
#include "tests/integration/child_process.h"

extern char** environ;

namespace mixq {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

const std::string kSrc = MIXQ_SOURCE_DIR;
const std::string kBin = std::string(MIXQ_BINARY_DIR) + "/bin";
constexpr int64_t kSamples = 2000;
constexpr int64_t kShard = 200;
constexpr int64_t kEvalTasks = kSamples / kShard;

using mixq_test::Process;

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

bool PollUntil(const std::function<bool()>& condition, milliseconds timeout = milliseconds(60000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return condition();
}

// Counts of Evaluate() in this process on the same slice: the reference.
const EvalCounts& SingleMachineCounts() {
  static const EvalCounts counts = [] {
    StatusOr<Graph> graph = ImportOnnx(kSrc + "/models/fm_resnet.onnx");
    StatusOr<DatasetSpec> spec =
        LoadDatasetSpec(kSrc + "/configs/datasets/fashion_mnist_test.yaml");
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

// A coordinator on a fresh port and database, and helpers to add workers.
class Cluster {
 public:
  Cluster() {
    char tmpl[] = "/tmp/mixq-dist-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    port_ = FreePort();
    endpoint_ = "tcp://127.0.0.1:" + std::to_string(port_);
  }
  ~Cluster() {
    workers_.clear();
    coordinator_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void StartCoordinator(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {
        kBin + "/mixq-coordinator", "--bind", endpoint_,    "--db", db(),
        "--heartbeat-ms",           "200",    "--liveness", "3"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    coordinator_ = std::make_unique<Process>(argv, dir_ + "/coordinator.log");
    ASSERT_TRUE(coordinator_->started());
    // Up when it answers.
    ASSERT_TRUE(PollUntil([&] { return client().GetStatus(0, milliseconds(500)).ok(); }))
        << coordinator_->Log();
  }

  Process* AddWorker(std::vector<std::string> extra = {}) {
    const int n = static_cast<int>(workers_.size());
    std::vector<std::string> argv = {kBin + "/mixq-worker",
                                     "--connect",
                                     endpoint_,
                                     "--threads",
                                     "1",
                                     "--cache",
                                     dir_ + "/cache" + std::to_string(n)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    workers_.push_back(
        std::make_unique<Process>(argv, dir_ + "/worker" + std::to_string(n) + ".log"));
    return workers_.back().get();
  }

  static std::string JobYaml(const std::string& name) {
    return "name: " + name + "\nmodel: " + kSrc +
           "/models/fm_resnet.onnx\n"
           "data: {evaluation: {dataset: " +
           kSrc +
           "/configs/datasets/fashion_mnist_test.yaml, shard_size: " + std::to_string(kShard) +
           ", count: " + std::to_string(kSamples) +
           "}}\nbenchmark: {batches: [1], seconds: 0.05}\n";
  }

  // Submits the evaluate job; returns its id.
  int64_t Submit() {
    StatusOr<proto::SubmitReply> reply =
        client().Submit(JobYaml("dist-test"), "", milliseconds(60000));
    EXPECT_TRUE(reply.ok()) << reply.status().message();
    if (!reply.ok()) return 0;
    EXPECT_EQ(reply->error(), "");
    EXPECT_EQ(reply->tasks_total(), kEvalTasks + 1);
    return reply->job_id();
  }

  proto::StatusReply Status(int64_t job) {
    StatusOr<proto::StatusReply> s = client().GetStatus(job, milliseconds(2000));
    return s.ok() ? *s : proto::StatusReply();
  }

  // Waits for the job to end; a job that did not end "done" fails the test
  // with the coordinator's log.
  proto::StatusReply WaitDone(int64_t job) {
    proto::StatusReply last;
    EXPECT_TRUE(PollUntil(
        [&] {
          last = Status(job);
          return last.state() == "done" || last.state() == "failed";
        },
        milliseconds(90000)))
        << coordinator_->Log();
    EXPECT_EQ(last.state(), "done") << coordinator_->Log();
    return last;
  }

  int64_t Count(const std::string& sql) {
    auto db = SqliteDb::Open(this->db());
    EXPECT_TRUE(db.ok());
    auto stmt = (*db)->Prepare(sql);
    EXPECT_TRUE(stmt.ok()) << stmt.status().message();
    EXPECT_TRUE((*stmt)->Step().value());
    return (*stmt)->Int(0);
  }

  CoordinatorClient& client() {
    if (!client_) client_ = std::make_unique<CoordinatorClient>(endpoint_);
    return *client_;
  }
  void ResetClient() { client_.reset(); }
  Process& coordinator() { return *coordinator_; }
  const std::string& endpoint() const { return endpoint_; }
  const std::string& dir() const { return dir_; }
  std::string db() const { return dir_ + "/mixq.db"; }

 private:
  std::string dir_;
  int port_ = 0;
  std::string endpoint_;
  std::unique_ptr<Process> coordinator_;
  std::vector<std::unique_ptr<Process>> workers_;
  std::unique_ptr<CoordinatorClient> client_;
};

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
  Cluster c;
  c.StartCoordinator();
  c.AddWorker();
  c.AddWorker({"--no-local-paths"});
  c.AddWorker({"--no-local-paths"});
  const int64_t job = c.Submit();
  ExpectSingleMachineNumbers(c.WaitDone(job));
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM shard_results"), kEvalTasks);
  // Submitting the finished job again plans nothing: every task is memoized.
  StatusOr<proto::SubmitReply> again =
      c.client().Submit(Cluster::JobYaml("again"), "", milliseconds(30000));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->tasks_planned(), 0);
  ExpectSingleMachineNumbers(c.WaitDone(again->job_id()));
}

TEST(Distributed, WorkerFetchesBlobsIntoItsCacheByHash) {
  Cluster c;
  c.StartCoordinator();
  c.AddWorker({"--no-local-paths"});
  ExpectSingleMachineNumbers(c.WaitDone(c.Submit()));
  const std::string model_sha = Sha256File(kSrc + "/models/fm_resnet.onnx").value();
  const std::string cached = c.dir() + "/cache0/" + model_sha;
  ASSERT_TRUE(fs::exists(cached));
  EXPECT_EQ(Sha256File(cached).value(), model_sha);
}

TEST(Distributed, KilledWorkerTaskIsRequeuedAndResultsMatch) {
  Cluster c;
  c.StartCoordinator();
  Process* victim = c.AddWorker({"--task-delay-ms", "400"});
  c.AddWorker({"--task-delay-ms", "400"});
  c.AddWorker({"--task-delay-ms", "400"});
  ASSERT_TRUE(PollUntil([&] { return c.Status(0).workers() == 3; }));
  const int64_t job = c.Submit();
  // While more tasks wait than there are workers, every worker holds one.
  ASSERT_TRUE(PollUntil([&] {
    proto::StatusReply s = c.Status(job);
    return s.tasks_done() >= 1 && s.tasks_total() - s.tasks_done() > 4;
  }));
  victim->Kill(SIGKILL);
  ExpectSingleMachineNumbers(c.WaitDone(job));
  EXPECT_NE(c.coordinator().Log().find("worker lost"), std::string::npos);
  EXPECT_NE(c.coordinator().Log().find("requeued"), std::string::npos);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM shard_results"), kEvalTasks);
}

TEST(Distributed, CoordinatorKilledAndRestartedResumesWithoutDuplicates) {
  Cluster c;
  c.StartCoordinator();
  for (int i = 0; i < 3; ++i) c.AddWorker({"--task-delay-ms", "300"});
  const int64_t job = c.Submit();
  ASSERT_TRUE(PollUntil([&] {
    proto::StatusReply s = c.Status(job);
    return s.tasks_done() >= 2 && s.tasks_total() - s.tasks_done() > 3;
  }));
  c.coordinator().Kill(SIGKILL);
  c.coordinator().Wait(milliseconds(10000));
  const int64_t stored_before = c.Count("SELECT COUNT(*) FROM shard_results");
  EXPECT_LT(stored_before, kEvalTasks);
  c.ResetClient();
  c.StartCoordinator();
  ExpectSingleMachineNumbers(c.WaitDone(job));
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM shard_results"), kEvalTasks);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM benchmarks"), 1);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM tasks"), kEvalTasks + 1);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM evaluations WHERE job_id=" + std::to_string(job)), 1);
}

TEST(Distributed, WorkerOfAnotherProtocolVersionIsRefused) {
  Cluster c;
  c.StartCoordinator();
  Process* worker = c.AddWorker({"--protocol-version", "2"});
  EXPECT_EQ(worker->Wait(milliseconds(30000)), 3) << worker->Log();
  EXPECT_NE(worker->Log().find("refused by coordinator: protocol version 2 is not supported"),
            std::string::npos)
      << worker->Log();
  EXPECT_EQ(c.Status(0).workers(), 0);
}

TEST(Distributed, EveryMalformedMessageIsSurvivedAndCounted) {
  Cluster c;
  c.StartCoordinator({"--max-message-bytes", "65536"});
  zmq::context_t context;
  zmq::socket_t raw(context, zmq::socket_type::dealer);
  raw.set(zmq::sockopt::linger, 0);
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
  ASSERT_TRUE(PollUntil([&] {
    proto::StatusReply s = c.Status(0);
    counts.clear();
    for (const auto& [k, n] : s.malformed()) counts[k] = n;
    return counts.size() >= 6;
  })) << c.coordinator().Log();
  EXPECT_EQ(counts["frame_count"], 1u);
  EXPECT_EQ(counts["unknown_type"], 1u);
  EXPECT_EQ(counts["payload"], 1u);
  EXPECT_EQ(counts["version"], 1u);
  EXPECT_EQ(counts["oversize"], 1u);
  EXPECT_EQ(counts["unexpected_type"], 1u);
  EXPECT_TRUE(c.coordinator().running());
  // Still does its job afterwards.
  c.AddWorker();
  ExpectSingleMachineNumbers(c.WaitDone(c.Submit()));
}

TEST(Distributed, MixqRunPrintsResultAndRerunPlansNothing) {
  char tmpl[] = "/tmp/mixq-run-test-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string job = dir + "/job.yaml";
  std::ofstream(job) << Cluster::JobYaml("run-test");
  const std::string cmd = kBin + "/mixq run " + job + " --workers 2 --threads 1 --db " + dir +
                          "/run.db 2>" + dir + "/stderr.txt";
  auto run = [&](std::string* out) {
    FILE* pipe = popen(cmd.c_str(), "r");
    char buf[4096];
    size_t n;
    while (pipe && (n = fread(buf, 1, sizeof(buf), pipe)) > 0) out->append(buf, n);
    return pipe ? pclose(pipe) : -1;
  };
  std::string first, second;
  ASSERT_EQ(run(&first), 0) << first;
  const std::string counts = std::to_string(kSamples) + " " +
                             std::to_string(SingleMachineCounts().correct1) + " " +
                             std::to_string(SingleMachineCounts().correct5);
  std::string squeezed;
  for (char ch : first) {
    if (ch != ' ' || (!squeezed.empty() && squeezed.back() != ' ')) squeezed += ch;
  }
  EXPECT_NE(squeezed.find("fp32 any " + counts), std::string::npos) << first;
  EXPECT_NE(first.find("job 1: done, 11/11 tasks"), std::string::npos) << first;
  ASSERT_EQ(run(&second), 0) << second;
  std::ifstream err(dir + "/stderr.txt");
  std::stringstream err_text;
  err_text << err.rdbuf();
  EXPECT_NE(err_text.str().find("11 task(s), 0 to run"), std::string::npos) << err_text.str();
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST(Distributed, ExpiredLeaseIsRequeuedAndLateDuplicateStoredOnce) {
  Cluster c;
  c.StartCoordinator({"--lease-ms", "400", "--max-attempts", "10"});
  // The slow worker's every task outlives its lease; the fast one redoes
  // them, and the slow copies arrive late as duplicates.
  c.AddWorker({"--task-delay-ms", "1200"});
  c.AddWorker();
  const int64_t job = c.Submit();
  ExpectSingleMachineNumbers(c.WaitDone(job));
  EXPECT_NE(c.coordinator().Log().find("lease expired"), std::string::npos);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM shard_results"), kEvalTasks);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM tasks WHERE state != 'done'"), 0);
}

TEST(Distributed, UnreadableJobIsRefusedWithItsReason) {
  Cluster c;
  c.StartCoordinator();
  StatusOr<proto::SubmitReply> reply = c.client().Submit(
      "name: bad\nmodel: /nonexistent/m.onnx\ndata: {evaluation: {dataset: d.yaml}}\n", "",
      milliseconds(30000));
  ASSERT_TRUE(reply.ok());
  EXPECT_NE(reply->error().find("/nonexistent/m.onnx"), std::string::npos) << reply->error();
  reply = c.client().Submit("name: bad\nmodle: x\n", "", milliseconds(30000));
  ASSERT_TRUE(reply.ok());
  EXPECT_NE(reply->error().find("unknown key 'modle'"), std::string::npos) << reply->error();
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM jobs"), 0);
}

TEST(Distributed, HardwareAllRunsEachTaskOncePerConnectedClass) {
  Cluster c;
  c.StartCoordinator();
  c.AddWorker();
  c.AddWorker({"--max-isa", "sse41"});  // stands in for an older CPU: a second class
  ASSERT_TRUE(PollUntil([&] { return c.Status(0).workers() == 2; }));
  const std::string job = Cluster::JobYaml("all-classes") + "hardware: all\n";
  StatusOr<proto::SubmitReply> reply = c.client().Submit(job, "", milliseconds(60000));
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

// Runs a shell command; its exit status, with stdout appended to `out`.
int RunShell(const std::string& cmd, std::string* out) {
  FILE* pipe = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while (pipe && (n = fread(buf, 1, sizeof(buf), pipe)) > 0) out->append(buf, n);
  return pipe ? pclose(pipe) : -1;
}

std::string Squeezed(const std::string& text) {
  std::string squeezed;
  for (char ch : text) {
    if (ch != ' ' || (!squeezed.empty() && squeezed.back() != ' ')) squeezed += ch;
  }
  return squeezed;
}

constexpr int64_t kInt8Samples = 1000;

// A calibration of fm_resnet on 200 training samples, saved to `path`.
StatusOr<Calibration> WriteCalibration(const Graph& graph, const std::string& path) {
  MIXQ_ASSIGN_OR_RETURN(std::string sha, Sha256File(kSrc + "/models/fm_resnet.onnx"));
  MIXQ_ASSIGN_OR_RETURN(DatasetSpec train,
                        LoadDatasetSpec(kSrc + "/configs/datasets/fashion_mnist_train.yaml"));
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
  const std::string model = kSrc + "/models/fm_resnet.onnx";
  StatusOr<Graph> graph = ImportOnnx(model);
  StatusOr<std::string> sha = Sha256File(model);
  StatusOr<DatasetSpec> test = LoadDatasetSpec(kSrc + "/configs/datasets/fashion_mnist_test.yaml");
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
  char tmpl[] = "/tmp/mixq-int8-test-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const EvalCounts local = CalibrateAndEvaluateInt8(dir + "/calibration.json");
  ASSERT_EQ(local.samples, kInt8Samples);
  // Relative calibration path: resolved against the job file's folder.
  std::ofstream(dir + "/job.yaml")
      << "name: int8\nmodel: " << kSrc << "/models/fm_resnet.onnx\n"
      << "data: {evaluation: {dataset: " << kSrc
      << "/configs/datasets/fashion_mnist_test.yaml, shard_size: 250, count: " << kInt8Samples
      << "}}\nconfigs: [fp32, int8]\ncalibration: calibration.json\n"
      << "benchmark: {batches: [1], seconds: 0.05}\n";
  std::string out;
  ASSERT_EQ(RunShell(kBin + "/mixq run " + dir + "/job.yaml --workers 2 --threads 1 --db " + dir +
                         "/run.db 2>" + dir + "/stderr.txt",
                     &out),
            0)
      << out;
  const std::string expected = "int8 any " + std::to_string(local.samples) + " " +
                               std::to_string(local.correct1) + " " +
                               std::to_string(local.correct5);
  EXPECT_NE(Squeezed(out).find(expected), std::string::npos) << out;
  // 4 shards + 1 benchmark per config.
  EXPECT_NE(out.find("job 1: done, 10/10 tasks"), std::string::npos) << out;
  // Memo keys carry the calibration hash: INT8 tasks of another calibration
  // are new work, FP32 tasks are not.
  std::ofstream(dir + "/calibration.json", std::ios::app) << "\n";
  std::string again;
  ASSERT_EQ(RunShell(kBin + "/mixq run " + dir + "/job.yaml --workers 1 --threads 1 --db " + dir +
                         "/run.db 2>" + dir + "/stderr2.txt",
                     &again),
            0)
      << again;
  std::ifstream err(dir + "/stderr2.txt");
  std::stringstream err_text;
  err_text << err.rdbuf();
  EXPECT_NE(err_text.str().find("10 task(s), 5 to run"), std::string::npos) << err_text.str();
  EXPECT_NE(Squeezed(again).find(expected), std::string::npos) << again;
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST(Distributed, Int8ConfigWithoutCalibrationIsRefusedAtSubmission) {
  Cluster c;
  c.StartCoordinator();
  const std::string job = Cluster::JobYaml("no-calibration") + "configs: [fp32, int8]\n";
  StatusOr<proto::SubmitReply> reply = c.client().Submit(job, "", milliseconds(60000));
  ASSERT_TRUE(reply.ok());
  EXPECT_NE(reply->error().find("config 'int8' has"), std::string::npos) << reply->error();
  EXPECT_NE(reply->error().find("names no calibration"), std::string::npos) << reply->error();
  // A calibration made for another model is refused too.
  StatusOr<Graph> graph = ImportOnnx(kSrc + "/models/fm_resnet.onnx");
  ASSERT_TRUE(graph.ok());
  const std::string path = c.dir() + "/other.json";
  StatusOr<Calibration> calibration = WriteCalibration(*graph, path);
  ASSERT_TRUE(calibration.ok());
  calibration->model_sha256 = std::string(64, '0');
  ASSERT_TRUE(SaveCalibration(*calibration, path).ok());
  reply = c.client().Submit(job + "calibration: " + path + "\n", "", milliseconds(60000));
  ASSERT_TRUE(reply.ok());
  EXPECT_NE(reply->error().find("was made for another model"), std::string::npos) << reply->error();
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM jobs"), 0);
}

TEST(Distributed, JobForAbsentHardwareClassFailsNamingTheClass) {
  Cluster c;
  c.StartCoordinator({"--missing-class-grace-ms", "1000"});
  c.AddWorker();
  ASSERT_TRUE(PollUntil([&] { return c.Status(0).workers() == 1; }));
  const std::string job = Cluster::JobYaml("absent-class") + "hardware: [no-such-cpu]\n";
  StatusOr<proto::SubmitReply> reply = c.client().Submit(job, "", milliseconds(60000));
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->error(), "");
  proto::StatusReply s;
  ASSERT_TRUE(PollUntil([&] {
    s = c.Status(reply->job_id());
    return s.state() != "running" && !s.state().empty();
  })) << c.coordinator().Log();
  EXPECT_EQ(s.state(), "failed");
  EXPECT_EQ(s.tasks_failed(), kEvalTasks + 1);
  ASSERT_EQ(s.task_errors_size(), 1);
  EXPECT_NE(s.task_errors(0).find("hardware class 'no-such-cpu'"), std::string::npos)
      << s.task_errors(0);
  std::string out;
  RunShell(kBin + "/mixq status " + std::to_string(reply->job_id()) + " --coordinator " +
               c.endpoint() + " 2>&1",
           &out);
  EXPECT_NE(out.find("failed: no connected worker of hardware class 'no-such-cpu'"),
            std::string::npos)
      << out;
}

TEST(Distributed, ProfileTaskListsEveryQuantizableLayerWithPositiveTimes) {
  Cluster c;
  c.StartCoordinator();
  c.AddWorker();
  StatusOr<Graph> graph = ImportOnnx(kSrc + "/models/fm_resnet.onnx");
  ASSERT_TRUE(graph.ok());
  const std::string calibration = c.dir() + "/calibration.json";
  ASSERT_TRUE(WriteCalibration(*graph, calibration).ok());
  const std::string job = "name: profile\nmodel: " + kSrc +
                          "/models/fm_resnet.onnx\ndata: {evaluation: {dataset: " + kSrc +
                          "/configs/datasets/fashion_mnist_test.yaml, count: 100}}\n"
                          "configs: [int8]\ncalibration: " +
                          calibration + "\nbenchmark: {batches: []}\nprofile: true\n";
  StatusOr<proto::SubmitReply> reply = c.client().Submit(job, "", milliseconds(60000));
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
  Cluster c;
  c.StartCoordinator();
  c.AddWorker();
  const std::string calibration = c.dir() + "/calibration.json";
  const EvalCounts local = CalibrateAndEvaluateInt8(calibration, SevenBitWeights::kAll);
  ASSERT_EQ(local.samples, kInt8Samples);
  const std::string job = "name: seven\nmodel: " + kSrc +
                          "/models/fm_resnet.onnx\ndata: {evaluation: {dataset: " + kSrc +
                          "/configs/datasets/fashion_mnist_test.yaml, shard_size: 500, count: " +
                          std::to_string(kInt8Samples) +
                          "}}\nconfigs: [int8]\ncalibration: " + calibration +
                          "\nseven_bit: all\nbenchmark: {batches: []}\n";
  StatusOr<proto::SubmitReply> reply = c.client().Submit(job, "", milliseconds(60000));
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
  Cluster c;
  c.StartCoordinator();
  c.AddWorker({"--no-local-paths"});  // the calibration travels as a blob
  const std::string model = kSrc + "/models/fm_resnet.onnx";
  StatusOr<Graph> graph = ImportOnnx(model);
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
  StatusOr<DatasetSpec> test = LoadDatasetSpec(kSrc + "/configs/datasets/fashion_mnist_test.yaml");
  ASSERT_TRUE(test.ok());
  StatusOr<std::unique_ptr<Dataset>> dataset = Dataset::Open(*test);
  ASSERT_TRUE(dataset.ok());
  EvalOptions options;
  options.count = kInt8Samples;
  options.executor.quant = *spec;
  StatusOr<EvalCounts> local = Evaluate(*graph, **dataset, options);
  ASSERT_TRUE(local.ok());

  const std::string job = "name: half\nmodel: " + model + "\ndata: {evaluation: {dataset: " + kSrc +
                          "/configs/datasets/fashion_mnist_test.yaml, shard_size: 500, count: " +
                          std::to_string(kInt8Samples) +
                          "}}\nconfigs: [half.json]\ncalibration: calibration.json\n"
                          "benchmark: {batches: []}\n";
  StatusOr<proto::SubmitReply> reply = c.client().Submit(job, c.dir(), milliseconds(60000));
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->error(), "");
  proto::StatusReply s = c.WaitDone(reply->job_id());
  ASSERT_EQ(s.evaluations_size(), 1);
  EXPECT_EQ(s.evaluations(0).config(), "half");
  EXPECT_EQ(s.evaluations(0).samples(), local->samples);
  EXPECT_EQ(s.evaluations(0).correct1(), local->correct1);
  EXPECT_EQ(s.evaluations(0).correct5(), local->correct5);
}

}  // namespace
}  // namespace mixq

namespace mixq {
namespace {

TEST(Distributed, JobAgreementWithFp32EqualsMixqEvalAgreement) {
  Cluster c;
  c.StartCoordinator();
  for (int i = 0; i < 3; ++i) c.AddWorker();
  const std::string calibration = c.dir() + "/calibration.json";
  StatusOr<Graph> graph = ImportOnnx(kSrc + "/models/fm_resnet.onnx");
  ASSERT_TRUE(graph.ok());
  ASSERT_TRUE(WriteCalibration(*graph, calibration).ok());
  const std::string dataset = kSrc + "/configs/datasets/fashion_mnist_test.yaml";
  const std::string job = "name: agree\nmodel: " + kSrc +
                          "/models/fm_resnet.onnx\ndata: {evaluation: {dataset: " + dataset +
                          ", shard_size: 250, begin: 500, count: 1000}}\n"
                          "configs: [fp32, int8]\ncalibration: " +
                          calibration + "\nbenchmark: {batches: []}\n";
  StatusOr<proto::SubmitReply> reply = c.client().Submit(job, "", milliseconds(60000));
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

  std::string out;
  ASSERT_EQ(RunShell(kBin + "/mixq eval --model " + kSrc + "/models/fm_resnet.onnx --dataset " +
                         dataset + " --begin 500 --count 1000 --threads 1 --config int8 " +
                         "--calibration " + calibration + " --json -q",
                     &out),
            0)
      << out;
  const nlohmann::json local = nlohmann::json::parse(out, nullptr, false);
  ASSERT_TRUE(local.is_object()) << out;
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
    for (const auto& entry : fs::directory_iterator(c.dir() + "/cache" + std::to_string(i), ec)) {
      cached += entry.path().filename().string().rfind("fp32-top1-", 0) == 0;
    }
  }
  EXPECT_GE(cached, 4);
}

}  // namespace
}  // namespace mixq

namespace mixq {
namespace {

bool SameQuantParams(const QuantParams& a, const QuantParams& b) {
  return std::memcmp(&a.dequant_scale, &b.dequant_scale, sizeof(float)) == 0 &&
         std::memcmp(&a.threshold, &b.threshold, sizeof(float)) == 0 &&
         a.is_unsigned == b.is_unsigned;
}

const std::string kTrainDataset = kSrc + "/configs/datasets/fashion_mnist_train.yaml";

TEST(Distributed, CalibrateJobOnThreeWorkersGivesMixqCalibrateScalesBitForBit) {
  Cluster c;
  c.StartCoordinator();
  for (int i = 0; i < 3; ++i) c.AddWorker({"--no-local-paths"});
  const std::string output = c.dir() + "/distributed.json";
  const std::string job = "name: calib\nkind: calibrate\nmodel: " + kSrc +
                          "/models/fm_resnet.onnx\ndata: {calibration: {dataset: " + kTrainDataset +
                          "}}\ncalibration: {method: kl, samples: 300, shard_size: 100}\n"
                          "output: " +
                          output + "\n";
  StatusOr<proto::SubmitReply> reply = c.client().Submit(job, "", milliseconds(60000));
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
  std::string out;
  ASSERT_EQ(RunShell(kBin + "/mixq calibrate --model " + kSrc + "/models/fm_resnet.onnx " +
                         "--dataset " + kTrainDataset + " --method kl --samples 300 " +
                         "--threads 1 -o " + local + " 2>/dev/null",
                     &out),
            0)
      << out;
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
  StatusOr<proto::SubmitReply> again = c.client().Submit(job, "", milliseconds(60000));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->tasks_planned(), 0);
  c.WaitDone(again->job_id());
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM calibration_stats"), 6);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM calibrations"), 1);
}

TEST(Distributed, EvaluateJobWithCalibrationMappingCalibratesThenEvaluatesAcrossARestart) {
  Cluster c;
  c.StartCoordinator();
  for (int i = 0; i < 3; ++i) c.AddWorker({"--task-delay-ms", "300"});
  const std::string job = "name: calib-eval\nmodel: " + kSrc +
                          "/models/fm_resnet.onnx\ndata: {evaluation: {dataset: " + kSrc +
                          "/configs/datasets/fashion_mnist_test.yaml, shard_size: 250, count: "
                          "500}, calibration: {dataset: " +
                          kTrainDataset +
                          ", samples: 200}}\nconfigs: [fp32, int8]\n"
                          "calibration: {method: mse, shard_size: 100}\n"
                          "benchmark: {batches: []}\n";
  StatusOr<proto::SubmitReply> reply = c.client().Submit(job, "", milliseconds(60000));
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->error(), "");
  const int64_t id = reply->job_id();
  // Kill the coordinator once pass 1 is stored: the restarted one derives
  // the phase from the store and goes on.
  ASSERT_TRUE(PollUntil(
      [&] { return c.Count("SELECT COUNT(*) FROM calibration_stats WHERE pass = 1") == 2; }));
  c.coordinator().Kill(SIGKILL);
  c.coordinator().Wait(milliseconds(10000));
  c.ResetClient();
  c.StartCoordinator();
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

}  // namespace
}  // namespace mixq

namespace mixq {
namespace {

TEST(Distributed, CalibrationMappingJobWithConfigOfAnotherModelIsRefusedAtSubmission) {
  Cluster c;
  c.StartCoordinator();
  const std::string config = c.dir() + "/other.json";
  std::ofstream(config) << "{\"model_sha256\": \"" << std::string(64, '0') << "\", \"layers\": {}}";
  const std::string job = Cluster::JobYaml("other-model") + "configs: [fp32, " + config +
                          "]\ncalibration: {method: kl}\n";
  StatusOr<proto::SubmitReply> reply = c.client().Submit(job, "", milliseconds(60000));
  ASSERT_TRUE(reply.ok());
  EXPECT_NE(reply->error().find("model_sha256"), std::string::npos) << reply->error();
  EXPECT_EQ(reply->job_id(), 0);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM jobs"), 0);
}

}  // namespace
}  // namespace mixq
