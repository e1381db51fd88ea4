// Fuzz target: a worker's handling of what a (hostile) coordinator sends:
// welcomes, refusals, task leases with any payload, blob chunks of any size
// and hash, heartbeats, unknown types. Each input is a session of up to 16
// messages (frames.h) handed to a WorkerSession (worker_daemon.h), the
// daemon's own dispatch without its socket; the session waits for any task
// it started after each message, so a session runs the same way each time.
// Its blob cache is a scratch folder emptied before each session.
//
// A message's header byte:
//   bit 0  fill in what the worker asked for last, as a real coordinator
//          answers: a BLOB_CHUNK's hash and offset from its last
//          BLOB_REQUEST; needs a message that decodes
//
// Checked: every answer the worker sends decodes, and a TASK_FAILED says
// why in one line; after the session (unless it was refused, when the
// daemon would have stopped) the worker still handles a heartbeat and
// answers a new lease (with a BLOB_REQUEST, or a TASK_FAILED naming it);
// every file in the cache named as a blob holds bytes of that hash (a
// chunk that does not match never becomes a cached blob); and nothing
// outside the cache folder was written in the scratch folder (TMPDIR
// points there).
//
// Seeds: MIXQ_FUZZ_WRITE_SEEDS=fuzz/corpus/worker_messages
// replay_worker_messages writes sessions of real messages.
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/protocol_codec.h"
#include "common/sha256.h"
#include "fuzz/frames.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/wire_examples.h"
#include "worker/worker_daemon.h"

namespace {

namespace fs = std::filesystem;
using mixq::MessageType;

constexpr size_t kMaxMessages = 16;
constexpr uint8_t kFillRequest = 1 << 0;
const char kProbeTask[] = "probe-task";

class Scratch {
 public:
  Scratch() {
    std::string pattern = (fs::temp_directory_path() / "mixq-fuzz-worker-XXXXXX").string();
    MIXQ_FUZZ_CHECK(mkdtemp(pattern.data()) != nullptr, "cannot make a scratch folder");
    root_ = pattern;
    setenv("TMPDIR", root_.c_str(), 1);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  const fs::path& root() const { return root_; }
  fs::path cache() const { return root_ / "cache"; }

 private:
  fs::path root_;
};

Scratch& TheScratch() {
  static Scratch scratch;
  return scratch;
}

// What the worker sent during one session.
class Recorder {
 public:
  void Record(MessageType type, const google::protobuf::Message& body) {
    mixq::DecodeResult r = mixq::Decode(mixq::Encode(type, body));
    MIXQ_FUZZ_CHECK(r.ok(), std::string("the worker sent a ") + mixq::MessageTypeName(type) +
                                " that does not decode: " + r.detail);
    sent_.push_back(type);
    if (type == MessageType::kBlobRequest) {
      last_request_ = r.message->As<mixq::proto::BlobRequest>();
    } else if (type == MessageType::kTaskFailed) {
      const auto& failed = r.message->As<mixq::proto::TaskFailed>();
      MIXQ_FUZZ_CHECK(!failed.error().empty(), "a TASK_FAILED without its reason");
      MIXQ_FUZZ_CHECK(failed.error().find('\n') == std::string::npos,
                      "a TASK_FAILED reason of more than one line: " + failed.error());
      failed_ids_.insert(failed.task_id());
    }
  }
  const std::optional<mixq::proto::BlobRequest>& last_request() const { return last_request_; }
  size_t sent() const { return sent_.size(); }
  MessageType sent_type(size_t i) const { return sent_[i]; }
  bool failed(const std::string& task_id) const { return failed_ids_.count(task_id) > 0; }

 private:
  std::vector<MessageType> sent_;
  std::optional<mixq::proto::BlobRequest> last_request_;
  std::set<std::string> failed_ids_;
};

std::vector<std::string> FillRequest(const std::vector<std::string>& frames,
                                     const mixq::proto::BlobRequest& request) {
  mixq::DecodeResult r = mixq::Decode(frames);
  if (!r.ok() || r.message->type != MessageType::kBlobChunk) return frames;
  mixq::proto::BlobChunk chunk = r.message->As<mixq::proto::BlobChunk>();
  chunk.set_sha256(request.sha256());
  chunk.set_offset(request.offset());
  return mixq::Encode(MessageType::kBlobChunk, chunk);
}

// The worker answers a fresh lease: it starts fetching its blobs, or says
// it cannot take it.
void CheckAnswersLease(mixq::WorkerSession* worker, Recorder* recorder) {
  mixq::proto::Heartbeat beat;
  worker->Handle(mixq::Encode(MessageType::kHeartbeat, beat));
  mixq::proto::TaskAssign probe;
  probe.set_task_id(kProbeTask);
  probe.set_kind(mixq::proto::TASK_KIND_BENCHMARK);
  probe.mutable_model()->set_sha256(mixq::Sha256Hex("probe model"));
  probe.mutable_model()->set_size(11);
  probe.set_batch(1);
  const size_t before = recorder->sent();
  worker->Handle(mixq::Encode(MessageType::kTaskAssign, probe));
  worker->Settle();
  bool answered = recorder->failed(kProbeTask);
  for (size_t i = before; i < recorder->sent(); ++i) {
    answered |= recorder->sent_type(i) == MessageType::kBlobRequest;
  }
  MIXQ_FUZZ_CHECK(answered, "the worker does not answer a lease after the session");
}

// Every file named as a blob holds that blob; anything else is a partial
// blob or cached FP32 predictions.
void CheckCache() {
  const Scratch& scratch = TheScratch();
  for (const auto& entry : fs::directory_iterator(scratch.root())) {
    MIXQ_FUZZ_CHECK(entry.path() == scratch.cache(),
                    "the worker wrote outside its cache: " + entry.path().string());
  }
  if (!fs::exists(scratch.cache())) return;
  for (const auto& entry : fs::directory_iterator(scratch.cache())) {
    const std::string name = entry.path().filename().string();
    if (!mixq::IsSha256Hex(name)) {
      MIXQ_FUZZ_CHECK(name.find(".part.") != std::string::npos || name.rfind("fp32-top1-", 0) == 0,
                      "an unexpected file in the cache: " + name);
      continue;
    }
    auto sha = mixq::Sha256File(entry.path().string());
    MIXQ_FUZZ_CHECK(sha.ok() && *sha == name, "cached blob " + name + " holds other bytes");
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const mixq::fuzz::ExampleBook ex(MIXQ_SOURCE_DIR, "data");
  auto msg = [&](const std::string& name, uint8_t header) { return ex.Message(name, header); };
  // Chunks with the contents the example leases name (wire_examples.cc).
  auto chunk = [](const std::string& content, uint64_t offset, uint64_t total) {
    mixq::proto::BlobChunk c;
    c.set_offset(offset);
    c.set_total_size(total);
    c.set_data(content);
    return mixq::fuzz::SessionMessage{kFillRequest, mixq::Encode(MessageType::kBlobChunk, c)};
  };
  std::vector<mixq::fuzz::NamedSession> sessions = {
      {"welcome_heartbeat", {msg("welcome", 0), msg("heartbeat", 0)}},
      {"refuse", {msg("refuse", 0)}},
      {"reconnect", {msg("reconnect", 0), msg("welcome", 0)}},
      {"not_for_worker",
       {msg("hello", 0), msg("result_eval", 0), msg("submit_fm_resnet_eval", 0), msg("status", 0),
        msg("status_reply", 0), msg("cancel_reply", 0)}},
      {"evaluate_fetched_then_run",
       {msg("welcome", 0), msg("assign_evaluate", 0), chunk("model", 0, 5), chunk("images", 0, 6),
        chunk("labels", 0, 6)}},
      {"benchmark_chunked", {msg("assign_benchmark", 0), chunk("mo", 0, 5), chunk("del", 2, 5)}},
      {"calibrate_wrong_bytes",
       {msg("assign_calibrate", 0), chunk("lebom", 0, 5), msg("heartbeat", 0)}},
      {"profile_chunk_error", {msg("assign_profile", 0), msg("blob_chunk_error", kFillRequest)}},
      {"busy", {msg("assign_evaluate", 0), msg("assign_benchmark", 0)}},
      {"stale_chunk", {msg("assign_evaluate", 0), msg("blob_chunk", 0)}},
      {"chunk_too_long", {msg("assign_profile", 0), chunk("model and more", 0, 14)}},
  };
  // A lease naming a blob by a path rather than a hash, whose fetch stops
  // half way (a partial file would lie beside the cache, in the scratch
  // folder, where the check sees it).
  mixq::proto::TaskAssign outside;
  outside.CopyFrom(*ex.Get("assign_evaluate").body);
  outside.mutable_model()->set_sha256("../outside");
  sessions.push_back({"hash_is_a_path",
                      {{0, mixq::Encode(MessageType::kTaskAssign, outside)}, chunk("mo", 0, 5)}});
  mixq::fuzz::StartSessionTarget(sessions);
  TheScratch();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mixq::WorkerOptions options;
  options.threads = 1;
  options.cache = TheScratch().cache().string();
  options.use_local_paths = false;
  mixq::fuzz::CatchEscapes([&] {
    std::error_code ec;
    fs::remove_all(options.cache, ec);
    Recorder recorder;
    {
      mixq::WorkerSession worker(options,
                                 [&](MessageType type, const google::protobuf::Message& body) {
                                   recorder.Record(type, body);
                                 });
      for (const auto& in : mixq::fuzz::SplitSession(data, size, kMaxMessages)) {
        std::vector<std::string> frames = in.frames;
        if ((in.header & kFillRequest) && recorder.last_request()) {
          frames = FillRequest(frames, *recorder.last_request());
        }
        worker.Handle(frames);
        worker.Settle();
        if (worker.refused()) break;
      }
      if (!worker.refused()) CheckAnswersLease(&worker, &recorder);
    }
    CheckCache();
  });
  return 0;
}
