#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "common/protocol_codec.h"
#include "coordinator/coordinator.h"

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
