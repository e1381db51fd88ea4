// Issue 21's findings against a coordinator on TCP with CURVE, each as a
// regression test with real processes: a peer without an allowed key gets
// nothing; a worker key without a lease stores nothing and fetches nothing;
// a lease holder's empty result fails the attempt; a client sees and
// cancels only its own jobs, results included; HELLO fields, HELLO floods
// and messages of many frames are bounded.
#include <gtest/gtest.h>

#include <chrono>
#include <iterator>
#include <string>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/protocol_codec.h"
#include "security/endpoint_security.h"
#include "tests/integration/cluster.h"

namespace mixq::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kShard = 100;
constexpr int kSamples = 300;

std::string JobYaml(const std::string& name) {
  return "name: " + name + "\nmodel: " + kFmResnet +
         "\ndata: {evaluation: {dataset: " + kFashionMnistTest +
         ", shard_size: " + std::to_string(kShard) + ", count: " + std::to_string(kSamples) +
         "}}\nconfigs: [fp32]\nbenchmark: {batches: []}\n";
}

// A peer speaking MIXQ/1 by hand, as a rogue would: a DEALER with the keys
// given (none: plain TCP).
class RawPeer {
 public:
  RawPeer(const std::string& endpoint, const ClientSecurity& security)
      : socket_(context_, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    ApplyClientSecurity(&socket_, security);
    socket_.connect(endpoint);
  }
  void Send(MessageType type, const google::protobuf::Message& body) {
    SendFrames(Encode(type, body));
  }
  void SendFrames(const std::vector<std::string>& frames) {
    std::vector<zmq::const_buffer> parts;
    for (const std::string& f : frames) parts.push_back(zmq::buffer(f));
    zmq::send_multipart(socket_, parts, zmq::send_flags::dontwait);
  }
  // The next message of `type` within `timeout`, skipping others.
  std::optional<Decoded> Receive(MessageType type, milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      zmq::pollitem_t item{static_cast<void*>(socket_), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, milliseconds(100));
      if (!(item.revents & ZMQ_POLLIN)) continue;
      std::vector<zmq::message_t> parts;
      if (!zmq::recv_multipart(socket_, std::back_inserter(parts))) continue;
      std::vector<std::string> frames;
      for (auto& p : parts) frames.push_back(p.to_string());
      DecodeResult r = Decode(frames);
      if (r.ok() && r.message->type == type) return std::move(*r.message);
    }
    return std::nullopt;
  }

 private:
  zmq::context_t context_;
  zmq::socket_t socket_;
};

proto::Hello WorkerHello(int pid) {
  proto::Hello hello;
  hello.set_protocol_version(kProtocolVersion);
  hello.set_mixq_version("rogue");
  hello.set_host("rogue-host");
  hello.set_pid(pid);
  hello.set_threads(1);
  hello.mutable_hardware()->set_cpu_brand("Rogue CPU");
  hello.mutable_hardware()->set_cores(1);
  hello.mutable_hardware()->set_isa("avx2");
  return hello;
}

int64_t Malformed(Cluster& c, const std::string& kind) {
  const proto::StatusReply s = c.Status(0);
  auto it = s.malformed().find(kind);
  return it == s.malformed().end() ? 0 : static_cast<int64_t>(it->second);
}

// A stranger's key and a keyless peer reach nothing: no status, no job.
TEST(Trust, PeerWithoutAnAllowedKeyGetsNothing) {
  Cluster c;
  ASSERT_TRUE(c.StartCoordinator());
  CoordinatorClient stranger(c.endpoint(), c.Security("stranger"));
  StatusOr<proto::SubmitReply> submitted = stranger.Submit(JobYaml("stranger"), "", seconds(3));
  EXPECT_FALSE(submitted.ok());
  EXPECT_FALSE(stranger.GetStatus(0, seconds(2)).ok());
  CoordinatorClient keyless(c.endpoint());
  EXPECT_FALSE(keyless.GetStatus(0, seconds(2)).ok());
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM jobs"), 0);
  // The operator's own key still gets in.
  EXPECT_TRUE(c.client().GetStatus(0, seconds(5)).ok());
  EXPECT_NE(c.coordinator().Log().find("CURVE: refused a peer at 127.0.0.1"), std::string::npos)
      << c.coordinator().Log();
}

// Finding 3: a peer with a worker key that holds no lease sends forged
// results and retryable failures for the real task ids; none is stored or
// counts as an attempt, the job ends done with the true counts, and the
// forged messages are counted as not_leased.
TEST(Trust, ResultsFromAWorkerWithoutTheLeaseAreRefused) {
  Cluster c;
  ASSERT_TRUE(c.StartCoordinator());
  c.AddWorker({"--task-delay-ms", "1500"});
  ASSERT_TRUE(c.WaitForWorkers(1));
  // `all`: the class of the real worker only; the rogue, joining later as
  // another class, is never given a task of this job.
  StatusOr<proto::SubmitReply> reply =
      c.Submit(JobYaml("forged") + "hardware: all\n", "", seconds(60));
  ASSERT_TRUE(reply.ok() && reply->error().empty());
  RawPeer rogue(c.endpoint(), c.Security("worker"));
  // Without a HELLO: asked to reconnect, nothing stored.
  StatusOr<std::unique_ptr<SqliteDb>> db = c.OpenDb();
  ASSERT_TRUE(db.ok());
  StatusOr<std::unique_ptr<SqliteStatement>> ids = (*db)->Prepare("SELECT id FROM tasks");
  ASSERT_TRUE(ids.ok());
  std::vector<std::string> task_ids;
  for (StatusOr<bool> row = (*ids)->Step(); row.ok() && *row; row = (*ids)->Step()) {
    task_ids.push_back((*ids)->Text(0));
  }
  ASSERT_EQ(task_ids.size(), static_cast<size_t>(kSamples / kShard));
  auto forge = [&] {
    for (const std::string& id : task_ids) {
      proto::TaskResult forged;
      forged.set_task_id(id);
      forged.mutable_eval()->set_samples(kShard);
      forged.mutable_eval()->set_correct1(kShard);
      forged.mutable_eval()->set_correct5(kShard);
      rogue.Send(MessageType::kTaskResult, forged);
    }
  };
  forge();
  EXPECT_TRUE(rogue.Receive(MessageType::kReconnect, seconds(5)).has_value());
  // With a HELLO, as a registered worker that was never given these tasks.
  rogue.Send(MessageType::kHello, WorkerHello(4242));
  ASSERT_TRUE(rogue.Receive(MessageType::kWelcome, seconds(5)).has_value());
  forge();
  // Retryable failures for every task, which used to fail the job within a
  // second (max_attempts of them): not the rogue's tasks, so nothing moves.
  for (int round = 0; round < 5; ++round) {
    for (const std::string& id : task_ids) {
      proto::TaskFailed failed;
      failed.set_task_id(id);
      failed.set_error("forged failure");
      failed.set_retryable(true);
      rogue.Send(MessageType::kTaskFailed, failed);
    }
  }
  EXPECT_TRUE(WaitFor([&] { return Malformed(c, "not_leased") >= 1; }, seconds(10)));
  const proto::StatusReply done = c.WaitDone(reply->job_id());
  ASSERT_EQ(done.evaluations_size(), 1);
  EXPECT_EQ(done.evaluations(0).samples(), kSamples);
  EXPECT_LT(done.evaluations(0).correct1(), kSamples) << "a forged 100 % was stored";
  // Every stored result names the real worker's key.
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM shard_results WHERE worker_key = ''"), 0);
  EXPECT_EQ(c.Count("SELECT COUNT(DISTINCT worker_key) FROM shard_results"), 1);
}

// Finding 3: an empty TASK_RESULT from the lease holder fails the attempt
// with a reason instead of hanging the job.
TEST(Trust, EmptyResultFromTheLeaseHolderFailsTheAttempt) {
  Cluster c;
  ASSERT_TRUE(c.StartCoordinator({"--max-attempts", "1"}));
  RawPeer fake(c.endpoint(), c.Security("worker"));
  proto::Hello hello = WorkerHello(7);
  // The fake worker must be of the class the job asks for: any.
  fake.Send(MessageType::kHello, hello);
  ASSERT_TRUE(fake.Receive(MessageType::kWelcome, seconds(5)).has_value());
  StatusOr<proto::SubmitReply> reply = c.Submit(
      "name: one\nmodel: " + kFmResnet + "\ndata: {evaluation: {dataset: " + kFashionMnistTest +
          ", shard_size: 100, count: 100}}\nconfigs: [fp32]\nbenchmark: {batches: []}\n",
      "", seconds(60));
  ASSERT_TRUE(reply.ok() && reply->error().empty()) << reply.status().message();
  std::optional<Decoded> assign = fake.Receive(MessageType::kTaskAssign, seconds(10));
  ASSERT_TRUE(assign.has_value());
  // Not its blob: a lease names the blobs a worker may fetch.
  proto::BlobRequest other;
  other.set_sha256(std::string(64, 'a'));
  fake.Send(MessageType::kBlobRequest, other);
  std::optional<Decoded> chunk = fake.Receive(MessageType::kBlobChunk, seconds(5));
  ASSERT_TRUE(chunk.has_value());
  EXPECT_NE(chunk->As<proto::BlobChunk>().error(), "");
  EXPECT_TRUE(chunk->As<proto::BlobChunk>().data().empty());

  proto::TaskResult empty;
  empty.set_task_id(assign->As<proto::TaskAssign>().task_id());
  fake.Send(MessageType::kTaskResult, empty);
  proto::StatusReply last;
  ASSERT_TRUE(c.WaitEnded(reply->job_id(), seconds(30), &last));
  EXPECT_EQ(last.state(), "failed");
  ASSERT_GE(last.task_errors_size(), 1);
  EXPECT_NE(last.task_errors(0).find("an evaluate task needs an eval result"), std::string::npos)
      << last.task_errors(0);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM shard_results"), 0);
}

// Finding 4: a client sees and cancels only its own jobs; an admin sees
// all; a worker key cannot submit.
TEST(Trust, AClientSeesAndCancelsOnlyItsOwnJobs) {
  Cluster c;
  ASSERT_TRUE(c.StartCoordinator());
  CoordinatorClient alice(c.endpoint(), c.Security("alice"));
  CoordinatorClient bob(c.endpoint(), c.Security("bob"));
  StatusOr<proto::SubmitReply> job = alice.Submit(JobYaml("alices"), "", seconds(60));
  ASSERT_TRUE(job.ok() && job->error().empty());  // no worker: it stays running
  const int64_t id = job->job_id();

  StatusOr<proto::StatusReply> hers = alice.GetStatus(id, seconds(5));
  ASSERT_TRUE(hers.ok());
  EXPECT_EQ(hers->state(), "running");
  EXPECT_EQ(hers->tasks_total(), kSamples / kShard);
  // To bob it is exactly a job that does not exist.
  StatusOr<proto::StatusReply> his = bob.GetStatus(id, seconds(5));
  StatusOr<proto::StatusReply> none = bob.GetStatus(id + 1000, seconds(5));
  ASSERT_TRUE(his.ok() && none.ok());
  EXPECT_EQ(his->state(), none->state());
  EXPECT_EQ(his->tasks_total(), 0);
  StatusOr<proto::CancelReply> cancel = bob.Cancel(id, seconds(5));
  ASSERT_TRUE(cancel.ok());
  EXPECT_FALSE(cancel->cancelled());
  EXPECT_EQ(c.Status(id).state(), "running");
  // The admin key sees it; its owner is alice's key.
  EXPECT_EQ(c.Status(id).tasks_total(), kSamples / kShard);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM jobs WHERE owner != ''"), 1);
  // A worker key may not submit: the request is dropped as forbidden.
  CoordinatorClient worker(c.endpoint(), c.Security("worker"));
  EXPECT_FALSE(worker.Submit(JobYaml("by-worker"), "", seconds(2)).ok());
  EXPECT_GE(Malformed(c, "forbidden"), 1);
  // The owner cancels it.
  StatusOr<proto::CancelReply> own = alice.Cancel(id, seconds(5));
  ASSERT_TRUE(own.ok());
  EXPECT_TRUE(own->cancelled()) << own->error();
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM jobs"), 1);
}

// Once alice's job has results, bob still sees a job that does not exist:
// no state, no counts, no result rows (before the fix, the rows came back).
TEST(Trust, AnotherClientsFinishedJobShowsNoResults) {
  Cluster c;
  ASSERT_TRUE(c.StartCoordinator());
  c.AddWorker();
  CoordinatorClient alice(c.endpoint(), c.Security("alice"));
  CoordinatorClient bob(c.endpoint(), c.Security("bob"));
  StatusOr<proto::SubmitReply> job = alice.Submit(JobYaml("alices"), "", seconds(60));
  ASSERT_TRUE(job.ok() && job->error().empty());
  const int64_t id = job->job_id();
  c.WaitDone(id);
  StatusOr<proto::StatusReply> hers = alice.GetStatus(id, seconds(5));
  ASSERT_TRUE(hers.ok());
  ASSERT_EQ(hers->evaluations_size(), 1);
  EXPECT_EQ(hers->evaluations(0).samples(), kSamples);

  StatusOr<proto::StatusReply> his = bob.GetStatus(id, seconds(5));
  StatusOr<proto::StatusReply> none = bob.GetStatus(id + 1000, seconds(5));
  ASSERT_TRUE(his.ok() && none.ok());
  EXPECT_EQ(his->state(), none->state());
  EXPECT_EQ(his->tasks_done(), 0);
  EXPECT_EQ(his->evaluations_size(), 0);
  EXPECT_EQ(his->benchmarks_size(), 0);
}

// Finding 5: multi-MB HELLO fields are refused (class names stay short and
// STATUS keeps working), a HELLO flood adds at most the rate's worth of
// worker rows, and a message of many frames over the limit is dropped.
TEST(Trust, HelloFieldsHelloFloodsAndManyFrameMessagesAreBounded) {
  Cluster c;
  ASSERT_TRUE(c.StartCoordinator({"--hellos-per-minute", "5"}));
  RawPeer rogue(c.endpoint(), c.Security("worker"));
  proto::Hello huge = WorkerHello(1);
  huge.mutable_hardware()->set_cpu_brand(std::string(3 << 20, 'x'));
  rogue.Send(MessageType::kHello, huge);
  std::optional<Decoded> refused = rogue.Receive(MessageType::kRefuse, seconds(5));
  ASSERT_TRUE(refused.has_value());
  EXPECT_NE(refused->As<proto::Refuse>().reason().find("hardware.cpu_brand"), std::string::npos);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM hardware_classes"), 0);

  // 40 HELLOs of 40 "processes" from one address: 4 more get in (the
  // refused one above spent a token), the rest are dropped.
  for (int pid = 100; pid < 140; ++pid) rogue.Send(MessageType::kHello, WorkerHello(pid));
  EXPECT_TRUE(WaitFor([&] { return Malformed(c, "hello_rate") >= 30; }, seconds(10)));
  EXPECT_LE(c.Count("SELECT COUNT(*) FROM workers"), 5);

  // Twelve frames of 2 MiB: each under the 16 MiB limit, together over it.
  const int64_t before = Malformed(c, "oversize");
  rogue.SendFrames(std::vector<std::string>(12, std::string(2 << 20, 'f')));
  EXPECT_TRUE(WaitFor([&] { return Malformed(c, "oversize") == before + 1; }, seconds(10)));
  EXPECT_TRUE(c.client().GetStatus(0, seconds(5)).ok());
}

// Finding 5: a STATUS_REPLY's rows come in pages (here of one row each), so
// no reply grows past the message limit, and the client joins them.
TEST(Trust, StatusRowsComeInPagesThatTheClientJoins) {
  Cluster c;
  ASSERT_TRUE(c.StartCoordinator({"--status-page-bytes", "1"}));
  c.AddWorker();
  StatusOr<proto::SubmitReply> job = c.Submit(
      "name: pages\nmodel: " + kFmResnet + "\ndata: {evaluation: {dataset: " + kFashionMnistTest +
          ", shard_size: 100, count: 100}}\nconfigs: [fp32]\n"
          "benchmark: {batches: [1, 2, 3], seconds: 0.05}\n",
      "", seconds(60));
  ASSERT_TRUE(job.ok() && job->error().empty());
  const proto::StatusReply joined = c.WaitDone(job->job_id());
  EXPECT_EQ(joined.evaluations_size(), 1);
  ASSERT_EQ(joined.benchmarks_size(), 3);
  EXPECT_EQ(joined.rows_next(), 0);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(joined.benchmarks(i).batch(), i + 1);
  // One page by hand: the first row only, and where the next one starts.
  RawPeer admin(c.endpoint(), c.Security("admin"));
  proto::StatusRequest request;
  request.set_job_id(job->job_id());
  request.set_rows_from(2);
  admin.Send(MessageType::kStatusRequest, request);
  std::optional<Decoded> page = admin.Receive(MessageType::kStatusReply, seconds(5));
  ASSERT_TRUE(page.has_value());
  const auto& reply = page->As<proto::StatusReply>();
  EXPECT_EQ(reply.evaluations_size(), 0);
  ASSERT_EQ(reply.benchmarks_size(), 1);
  EXPECT_EQ(reply.benchmarks(0).batch(), 2);
  EXPECT_EQ(reply.rows_next(), 3);
}

// A worker found bad: `mixq forget-worker` forgets every result its key
// produced (not beside a running coordinator), so that the next job runs
// those tasks again instead of being served them from memo.
TEST(Trust, ForgetWorkerForgetsItsResultsAndTheNextJobRunsThemAgain) {
  Cluster c;
  ASSERT_TRUE(c.StartCoordinator());
  c.AddWorker();
  StatusOr<proto::SubmitReply> first = c.Submit(JobYaml("first"), "", seconds(60));
  ASSERT_TRUE(first.ok() && first->error().empty());
  c.WaitDone(first->job_id());
  const std::string forget = "forget-worker " + c.dir() + "/keys/worker.pub --db " + c.db();
  MixqResult busy = RunMixq(forget);
  EXPECT_EQ(busy.exit_code, 1) << busy.out;
  EXPECT_NE(busy.out.find("stop the coordinator first"), std::string::npos) << busy.out;
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM shard_results"), kSamples / kShard);

  c.coordinator().Stop(milliseconds(10000));
  MixqResult forgot = RunMixq(forget);
  ASSERT_EQ(forgot.exit_code, 0) << forgot.out;
  EXPECT_NE(forgot.out.find("forgot 3 result row(s)"), std::string::npos) << forgot.out;
  EXPECT_NE(forgot.out.find("resubmit to recount): " + std::to_string(first->job_id())),
            std::string::npos)
      << forgot.out;
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM shard_results"), 0);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM tasks WHERE state = 'pending'"), kSamples / kShard);

  ASSERT_TRUE(c.RestartCoordinator());
  StatusOr<proto::SubmitReply> again = c.Submit(JobYaml("again"), "", seconds(60));
  ASSERT_TRUE(again.ok() && again->error().empty());
  EXPECT_EQ(again->tasks_planned(), kSamples / kShard);  // none served from memo
  c.WaitDone(again->job_id());
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM shard_results"), kSamples / kShard);
}

}  // namespace
}  // namespace mixq::test
