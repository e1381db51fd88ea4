#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/protocol_codec.h"
#include "common/sha256.h"
#include "worker/worker_daemon.h"

namespace mixq {
namespace {

namespace fs = std::filesystem;

class WorkerSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mixq-worker-session-XXXXXX";
    dir_ = mkdtemp(tmpl);
    options_.threads = 1;
    options_.cache = dir_ + "/cache";
    options_.use_local_paths = false;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  WorkerSession::Sender Recorder() {
    return [this](MessageType type, const google::protobuf::Message& body) {
      DecodeResult r = Decode(Encode(type, body));
      ASSERT_TRUE(r.ok());
      sent_.push_back(std::move(*r.message));
    };
  }
  // The frames of a benchmark lease "t1" whose model is the blob named
  // `sha256`, 5 bytes long.
  static std::vector<std::string> BenchmarkLease(const std::string& sha256) {
    proto::TaskAssign task;
    task.set_task_id("t1");
    task.set_kind(proto::TASK_KIND_BENCHMARK);
    task.mutable_model()->set_sha256(sha256);
    task.mutable_model()->set_size(5);
    return Encode(MessageType::kTaskAssign, task);
  }
  std::string dir_;
  WorkerOptions options_;
  std::vector<Decoded> sent_;
};

TEST_F(WorkerSessionTest, SaysHelloAndFetchesTheBlobsOfALease) {
  WorkerSession worker(options_, Recorder());
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].type, MessageType::kHello);
  worker.Handle(BenchmarkLease(Sha256Hex("model")));
  ASSERT_EQ(sent_.size(), 2u);
  ASSERT_EQ(sent_[1].type, MessageType::kBlobRequest);
  EXPECT_EQ(sent_[1].As<proto::BlobRequest>().sha256(), Sha256Hex("model"));
}

// Found while writing fuzz/worker_messages: a coordinator naming a blob "../x" made
// the worker write its chunks outside the cache folder. Now the lease
// fails at once, and nothing appears beside the cache.
TEST_F(WorkerSessionTest, ALeaseNamingABlobByPathFailsWithoutWriting) {
  WorkerSession worker(options_, Recorder());
  worker.Handle(BenchmarkLease("../escaped"));
  proto::BlobChunk chunk;
  chunk.set_sha256("../escaped");
  chunk.set_total_size(5);
  chunk.set_data("model");
  worker.Handle(Encode(MessageType::kBlobChunk, chunk));
  worker.Settle();
  ASSERT_EQ(sent_.size(), 2u);
  ASSERT_EQ(sent_[1].type, MessageType::kTaskFailed);
  EXPECT_EQ(sent_[1].As<proto::TaskFailed>().task_id(), "t1");
  EXPECT_NE(sent_[1].As<proto::TaskFailed>().error().find("hex"), std::string::npos);
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().filename(), "cache");
  }
  EXPECT_TRUE(fs::is_empty(dir_ + "/cache"));
}

// Found by fuzz/worker_messages: a BLOB_CHUNK's error text went into the
// TASK_FAILED reason as it came, newlines and all.
TEST_F(WorkerSessionTest, ACoordinatorsErrorTextFailsTheTaskInOneLine) {
  WorkerSession worker(options_, Recorder());
  worker.Handle(BenchmarkLease(Sha256Hex("model")));
  proto::BlobChunk chunk;
  chunk.set_sha256(Sha256Hex("model"));
  chunk.set_error("unknown blob\nsecond line");
  worker.Handle(Encode(MessageType::kBlobChunk, chunk));
  ASSERT_EQ(sent_.size(), 3u);
  ASSERT_EQ(sent_[2].type, MessageType::kTaskFailed);
  const std::string& error = sent_[2].As<proto::TaskFailed>().error();
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_NE(error.find("second line"), std::string::npos) << error;
}

}  // namespace
}  // namespace mixq
