#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/protocol_codec.h"
#include "coordinator/coordinator.h"
#include "metrics/detection.h"
#include "metrics/segmentation.h"
#include "tests/common/data_files.h"

namespace mixq {
namespace {

namespace fs = std::filesystem;

std::string U32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// A coordinator driven through Handle() over a folder holding a model, an
// 8-image IDX set and its dataset YAML (data/, the only data root).
class CoordinatorHandleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mixq-coordinator-handle-XXXXXX";
    dir_ = mkdtemp(tmpl);
    fs::create_directories(dir_ + "/data");
    fs::copy_file(std::string(MIXQ_SOURCE_DIR) + "/models/fm_resnet.onnx",
                  dir_ + "/data/model.onnx");
    std::string images = U32(0x803) + U32(8) + U32(28) + U32(28) + std::string(8 * 28 * 28, '\1');
    std::string labels = U32(0x801) + U32(8) + std::string(8, '\2');
    std::ofstream(dir_ + "/data/images.idx", std::ios::binary) << images;
    std::ofstream(dir_ + "/data/labels.idx", std::ios::binary) << labels;
    std::ofstream(dir_ + "/data/test.yaml")
        << "format: idx\nimages: images.idx\nlabels: labels.idx\n"
           "preprocess: {scale: 0.0039215686, layout: nchw}\n";
    auto coordinator = Coordinator::Create(Options());
    ASSERT_TRUE(coordinator.ok()) << coordinator.status().message();
    coordinator_ = std::move(*coordinator);
  }
  // A coordinator over the fixture's folder: its database and data root.
  CoordinatorOptions Options() const {
    CoordinatorOptions options;
    options.bind = "ipc://" + dir_ + "/c.sock";
    options.db = dir_ + "/mixq.db";
    options.data_roots = {dir_ + "/data"};
    options.output_root = dir_ + "/out";
    return options;
  }
  void TearDown() override {
    coordinator_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Handles `body` from `identity`; returns what the coordinator sent back, to anyone.
  std::vector<std::pair<std::string, Decoded>> Send(const std::string& identity, MessageType type,
                                                    const google::protobuf::Message& body) {
    PeerMessage m;
    m.identity = identity;
    m.frames = Encode(type, body);
    std::vector<std::pair<std::string, Decoded>> answers;
    coordinator_->Handle(
        m, [&](const std::string& to, MessageType t, const google::protobuf::Message& b) {
          DecodeResult r = Decode(Encode(t, b));
          ASSERT_TRUE(r.ok());
          answers.emplace_back(to, std::move(*r.message));
        });
    return answers;
  }

  proto::Hello Hello(const std::string& host) {
    proto::Hello hello;
    hello.set_protocol_version(kProtocolVersion);
    hello.set_host(host);
    hello.set_pid(1);
    hello.set_threads(1);
    hello.mutable_hardware()->set_cpu_brand("cpu");
    hello.mutable_hardware()->set_cores(1);
    hello.mutable_hardware()->set_isa("avx2");
    return hello;
  }

  proto::StatusReply Status(int64_t job_id) {
    proto::StatusRequest request;
    request.set_job_id(job_id);
    auto answers = Send("client", MessageType::kStatusRequest, request);
    EXPECT_EQ(answers.size(), 1u);
    return answers.at(0).second.As<proto::StatusReply>();
  }

  std::string dir_;
  std::unique_ptr<Coordinator> coordinator_;
};

TEST_F(CoordinatorHandleTest, AnswersAHelloAndAStatusAsTheSocketLoopWould) {
  auto answers = Send("w1", MessageType::kHello, Hello("host-1"));
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].first, "w1");
  EXPECT_EQ(answers[0].second.type, MessageType::kWelcome);
  EXPECT_EQ(Status(0).workers(), 1);
  // A heartbeat from a connection that never said HELLO: asked to.
  answers = Send("w2", MessageType::kHeartbeat, proto::Heartbeat());
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].second.type, MessageType::kReconnect);
}

// Only the worker holding a task's lease stores its result: another
// worker that learnt the task id cannot forge it.
TEST_F(CoordinatorHandleTest, OnlyTheLeaseHolderStoresAResult) {
  proto::SubmitRequest submit;
  submit.set_job_yaml(
      "name: t\nkind: evaluate\nmodel: model.onnx\n"
      "data: {evaluation: {dataset: test.yaml, shard_size: 1000}}\n"
      "configs: [fp32]\nhardware: any\n");
  submit.set_base_dir(dir_ + "/data");
  auto answers = Send("client", MessageType::kSubmitRequest, submit);
  ASSERT_EQ(answers.size(), 1u);
  const proto::SubmitReply& reply = answers[0].second.As<proto::SubmitReply>();
  ASSERT_EQ(reply.error(), "");
  const int64_t job = reply.job_id();

  answers = Send("holder", MessageType::kHello, Hello("host-1"));
  ASSERT_EQ(answers.size(), 2u);
  ASSERT_EQ(answers[1].first, "holder");
  ASSERT_EQ(answers[1].second.type, MessageType::kTaskAssign);
  const proto::TaskAssign assign = answers[1].second.As<proto::TaskAssign>();
  ASSERT_EQ(assign.kind(), proto::TASK_KIND_EVALUATE);
  ASSERT_EQ(assign.count(), 8);
  Send("forger", MessageType::kHello, Hello("host-2"));

  proto::TaskResult result;
  result.set_task_id(assign.task_id());
  result.mutable_eval()->set_samples(8);
  result.mutable_eval()->set_correct1(8);
  result.mutable_eval()->set_correct5(8);
  result.mutable_eval()->set_seconds(0.1);
  Send("forger", MessageType::kTaskResult, result);
  proto::StatusReply status = Status(job);
  EXPECT_EQ(status.tasks_done(), 0);
  EXPECT_EQ(status.malformed().at("not_leased"), 1u);

  result.mutable_eval()->set_correct1(3);
  Send("holder", MessageType::kTaskResult, result);
  status = Status(job);
  EXPECT_EQ(status.tasks_done(), 1);
  ASSERT_EQ(status.evaluations_size(), 1);
  EXPECT_EQ(status.evaluations(0).correct1(), 3);
}

// Fidelity statistics are stored only where the task asked for them: a
// result that brings some unasked (here, to an FP32 task), or garbage in
// their place, is refused and the task stays to run.
TEST_F(CoordinatorHandleTest, FidelityTheTaskDidNotAskForIsRefused) {
  proto::SubmitRequest submit;
  submit.set_job_yaml(
      "name: t\nkind: evaluate\nmodel: model.onnx\n"
      "data: {evaluation: {dataset: test.yaml, shard_size: 1000, fidelity: true}}\n"
      "configs: [fp32]\nhardware: any\n");
  submit.set_base_dir(dir_ + "/data");
  auto answers = Send("client", MessageType::kSubmitRequest, submit);
  ASSERT_EQ(answers.size(), 1u);
  const int64_t job = answers[0].second.As<proto::SubmitReply>().job_id();
  answers = Send("w1", MessageType::kHello, Hello("host-1"));
  ASSERT_EQ(answers.size(), 2u);
  const proto::TaskAssign assign = answers[1].second.As<proto::TaskAssign>();
  EXPECT_FALSE(assign.fidelity());  // FP32 against FP32 measures nothing
  proto::TaskResult result;
  result.set_task_id(assign.task_id());
  result.mutable_eval()->set_samples(8);
  result.mutable_eval()->set_correct1(3);
  result.mutable_eval()->set_correct5(8);
  result.mutable_eval()->set_seconds(0.1);
  result.mutable_eval()->set_fidelity("MQFS\x01\x00");
  Send("w1", MessageType::kTaskResult, result);
  proto::StatusReply status = Status(job);
  EXPECT_EQ(status.tasks_done(), 0);
  EXPECT_EQ(status.malformed().at("bad_result"), 1u);
}

// Task statistics are kept only where the dataset has that task, parse, and
// cover the shard: a classification result with detection statistics, and
// on a segmentation set (2 images, 2 classes, ignore 255) a result without
// its statistics, with garbage, with another class count, or with another
// task's statistics, are refused (the task stays to run); the right ones are
// stored and merged into the status row's mIoU.
TEST_F(CoordinatorHandleTest, TaskStatisticsMustFitTheDatasetsTask) {
  std::optional<proto::TaskAssign> leased;  // the last task sent to w1
  auto take_assign = [&](const std::vector<std::pair<std::string, Decoded>>& answers) {
    for (const auto& [to, message] : answers) {
      if (message.type == MessageType::kTaskAssign) leased = message.As<proto::TaskAssign>();
    }
  };
  auto submit_job = [&](const std::string& dataset, int shard_size) {
    proto::SubmitRequest submit;
    submit.set_job_yaml(
        "name: t\nkind: evaluate\nmodel: model.onnx\n"
        "data: {evaluation: {dataset: " +
        dataset + ", shard_size: " + std::to_string(shard_size) +
        "}}\nconfigs: [fp32]\nbenchmark: {batches: []}\nhardware: any\n");
    submit.set_base_dir(dir_ + "/data");
    auto answers = Send("client", MessageType::kSubmitRequest, submit);
    take_assign(answers);
    for (const auto& [to, message] : answers) {
      if (message.type != MessageType::kSubmitReply) continue;
      EXPECT_EQ(message.As<proto::SubmitReply>().error(), "");
      return message.As<proto::SubmitReply>().job_id();
    }
    ADD_FAILURE() << "no submit reply";
    return int64_t{0};
  };
  auto result_of = [](const proto::TaskAssign& assign) {
    proto::TaskResult result;
    result.set_task_id(assign.task_id());
    result.mutable_eval()->set_samples(assign.count());
    result.mutable_eval()->set_seconds(0.1);
    return result;
  };
  DetectionStats detection;
  ASSERT_TRUE(detection.AddImage(0, {}, {}).ok());

  // Classification: detection statistics have no place.
  const int64_t classification = submit_job("test.yaml", 1000);
  take_assign(Send("w1", MessageType::kHello, Hello("host-1")));
  ASSERT_TRUE(leased.has_value());
  proto::TaskAssign assign = *leased;
  leased.reset();
  proto::TaskResult result = result_of(assign);
  result.mutable_eval()->set_detection(detection.Serialize());
  Send("w1", MessageType::kTaskResult, result);
  EXPECT_EQ(Status(classification).tasks_done(), 0);
  EXPECT_EQ(Status(classification).malformed().at("bad_result"), 1u);
  take_assign(Send("w1", MessageType::kTaskResult, result_of(assign)));  // the right one
  ASSERT_EQ(Status(classification).tasks_done(), 1);

  // A segmentation set of two gray 28x28 images and their masks; every
  // shard's statistics below are the same, so the merged mIoU is theirs.
  fs::create_directories(dir_ + "/data/seg/images");
  fs::create_directories(dir_ + "/data/seg/masks");
  for (const char* name : {"a", "b"}) {
    test::WriteBytes(dir_ + "/data/seg/images/" + name + ".png",
                     test::PngBytes(28, 28, 1, std::vector<uint8_t>(28 * 28, 100)));
    test::WriteBytes(dir_ + "/data/seg/masks/" + name + ".png",
                     test::PngBytes(28, 28, 1, std::vector<uint8_t>(28 * 28, 1)));
  }
  std::ofstream(dir_ + "/data/seg.yaml")
      << "format: images\nimages: seg/images\npreprocess: {color: gray}\n"
         "task: {kind: segmentation, masks: seg/masks, classes: 2, ignore_index: 255}\n";
  const int64_t job = submit_job("seg.yaml", 1);  // a task per image
  if (!leased) take_assign(Send("w1", MessageType::kHeartbeat, proto::Heartbeat()));
  ASSERT_TRUE(leased.has_value());
  assign = *leased;
  EXPECT_EQ(assign.dataset().task().kind(), "segmentation");
  EXPECT_EQ(assign.dataset().task().ignore_index(), 255);
  EXPECT_FALSE(assign.dataset().masks().sha256().empty());
  StatusOr<SegmentationStats> other_classes = SegmentationStats::Create(3, 255);
  StatusOr<SegmentationStats> seg = SegmentationStats::Create(2, 255);
  ASSERT_TRUE(other_classes.ok() && seg.ok());
  const std::vector<int64_t> predicted = {1, 1, 0}, labels = {1, 0, 0};
  ASSERT_TRUE(seg->Add(predicted.data(), labels.data(), 3).ok());
  // A task fails for good after 3 refused attempts: two refusals each on
  // the two tasks, then their right answers.
  size_t refused = 1;
  int64_t done = 0;
  auto refuse = [&](const std::string& bytes, bool with_detection) {
    result = result_of(assign);
    result.mutable_eval()->set_segmentation(bytes);
    if (with_detection) result.mutable_eval()->set_detection(detection.Serialize());
    leased.reset();
    take_assign(Send("w1", MessageType::kTaskResult, result));
    EXPECT_EQ(Status(job).malformed().at("bad_result"), ++refused);
    EXPECT_EQ(Status(job).tasks_done(), done);
    if (!leased) take_assign(Send("w1", MessageType::kHeartbeat, proto::Heartbeat()));
    ASSERT_TRUE(leased.has_value());
    EXPECT_EQ(leased->task_id(), assign.task_id());  // the same task again
  };
  auto accept = [&] {
    result = result_of(assign);
    result.mutable_eval()->set_segmentation(seg->Serialize());
    leased.reset();
    take_assign(Send("w1", MessageType::kTaskResult, result));
    EXPECT_EQ(Status(job).tasks_done(), ++done);
  };
  refuse("", false);                 // missing
  refuse("MQSS\x01garbage", false);  // not parsing
  accept();
  if (!leased) take_assign(Send("w1", MessageType::kHeartbeat, proto::Heartbeat()));
  ASSERT_TRUE(leased.has_value());
  assign = *leased;
  refuse(other_classes->Serialize(), false);  // another class count
  refuse(seg->Serialize(), true);             // and another task's statistics
  accept();

  proto::StatusReply status = Status(job);
  ASSERT_EQ(status.tasks_done(), 2);
  ASSERT_EQ(status.evaluations_size(), 1);
  ASSERT_TRUE(status.evaluations(0).has_miou());
  EXPECT_DOUBLE_EQ(status.evaluations(0).miou(), 100.0 * seg->MeanIoU());
  EXPECT_FALSE(status.evaluations(0).has_map50());
}

// Found by fuzz/coordinator_messages: a BLOB_REQUEST's hash came back
// verbatim in the answer's error (and the log), newlines and all.
TEST_F(CoordinatorHandleTest, AMalformedBlobHashIsRefusedWithoutBeingRepeated) {
  Send("w1", MessageType::kHello, Hello("host-1"));
  proto::BlobRequest request;
  request.set_sha256("9372c470\nsecond line of a hostile peer's choosing");
  auto answers = Send("w1", MessageType::kBlobRequest, request);
  ASSERT_EQ(answers.size(), 1u);
  ASSERT_EQ(answers[0].second.type, MessageType::kBlobChunk);
  const proto::BlobChunk& chunk = answers[0].second.As<proto::BlobChunk>();
  EXPECT_EQ(chunk.data(), "");
  EXPECT_EQ(chunk.error().find('\n'), std::string::npos) << chunk.error();
  EXPECT_EQ(chunk.error().find("hostile"), std::string::npos) << chunk.error();
  EXPECT_NE(chunk.error().find("hex"), std::string::npos) << chunk.error();
  EXPECT_EQ(Status(0).malformed().at("bad_request"), 1u);
}

// Found by fuzz_coordinator_messages, which starts a coordinator per input:
// each one left a dup() of its socket's ZMQ_FD open, so a process creating
// coordinators ran out of descriptors (after 19,975 at ulimit -n 20000).
TEST_F(CoordinatorHandleTest, AStoppedCoordinatorLeavesNoDescriptorOpen) {
  auto open_descriptors = [] {
    return std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator());
  };
  coordinator_.reset();
  const auto before = open_descriptors();
  for (int i = 0; i < 5; ++i) {
    auto coordinator = Coordinator::Create(Options());
    ASSERT_TRUE(coordinator.ok()) << coordinator.status().message();
  }
  EXPECT_EQ(open_descriptors(), before);
}

}  // namespace
}  // namespace mixq
