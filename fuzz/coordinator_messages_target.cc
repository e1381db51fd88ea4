// Fuzz target: the coordinator's message handlers, as hostile workers,
// clients and unauthenticated peers reach them. Each input is a session of
// up to 16 messages (frames.h) handed to a real coordinator through
// Coordinator::Handle(), the dispatch its socket loop uses. Its SQLite file
// lives in a scratch folder made once per process; each input starts from a
// copy of a fresh database, so inputs do not see each other. That costs a
// coordinator's start per input (SQLite, a ZeroMQ context, the result
// writer's thread): tens of milliseconds, so this target runs at tens of
// inputs a second, not thousands; a TMPDIR on tmpfs (/dev/shm) spares
// SQLite's syncs. A crash leaves the scratch folder behind.
//
// A message's header byte says who sends it:
//   bits 0-1  the connection: worker-a, worker-b, client, stranger
//   bits 2-3  its CURVE role: none (keyless), worker, client, admin
//   bit 4     fill in what the peer's lease names (as a real worker knows
//             it): a TASK_RESULT's, TASK_FAILED's or HEARTBEAT's task id,
//             and a BLOB_REQUEST's hash (blob number `offset` modulo the
//             lease's blobs); needs a message that decodes
//   bit 5     the peer has no address (as over inproc)
//
// The scratch folder holds data/ (the only data root: a model, a tiny
// Fashion-MNIST-like IDX set and its dataset YAMLs, see wire_examples.h),
// out/ (the output root) and run/ (the database, the coordinator's
// calibrations and its ipc socket); TMPDIR points into it. A SUBMIT's
// relative base_dir is taken inside the scratch folder.
//
// Checked after each session: every answer encodes and decodes, says why in
// one line where it refuses; the coordinator answers a STATUS for the
// coordinator and for the first jobs; the database opens again afterwards;
// every blob it registered (which it may serve to workers) lies under the
// data roots; and data/ is as it was (nothing written there).
//
// Not covered: job drivers (search jobs need the search library and
// threads of their own; here they are refused as an unknown kind), timers
// (leases expiring, heartbeats) and the socket itself.
//
// MIXQ_FUZZ_TRACE=1 prints each answer. Seeds:
// MIXQ_FUZZ_WRITE_SEEDS=fuzz/corpus/coordinator_messages replay_coordinator_messages writes
// sessions of real messages.
#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/protocol_codec.h"
#include "common/sqlite_db.h"
#include "coordinator/coordinator.h"
#include "coordinator/file_roots.h"
#include "coordinator/store.h"
#include "fuzz/frames.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/wire_examples.h"

namespace {

namespace fs = std::filesystem;
using mixq::MessageType;

constexpr size_t kMaxMessages = 16;
constexpr int kJobsProbed = 3;
const char* const kIdentities[] = {"worker-a", "worker-b", "client", "stranger"};
constexpr uint8_t kFillLease = 1 << 4;
constexpr uint8_t kNoAddress = 1 << 5;

// Big-endian u32, as IDX headers are.
std::string U32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

void WriteFile(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  MIXQ_FUZZ_CHECK(out.good(), "cannot write " + path.string());
}

std::set<std::string> Listing(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    names.insert(entry.path().string() + " " +
                 std::to_string(entry.is_regular_file() ? entry.file_size() : 0));
  }
  return names;
}

// The folders every session uses, made once per process and removed at exit.
class Scratch {
 public:
  Scratch() {
    std::string pattern = (fs::temp_directory_path() / "mixq-fuzz-coordinator-XXXXXX").string();
    MIXQ_FUZZ_CHECK(mkdtemp(pattern.data()) != nullptr, "cannot make a scratch folder");
    root_ = pattern;
    // The coordinator's private folder (its drivers' socket) goes here too.
    setenv("TMPDIR", root_.c_str(), 1);
    fs::create_directories(data());
    fs::create_directories(out());
    fs::copy_file(fs::path(MIXQ_SOURCE_DIR) / "models/fm_resnet.onnx",
                  data() / mixq::fuzz::kExampleModel);
    const uint32_t n = 8;
    std::string images = U32(0x803) + U32(n) + U32(28) + U32(28);
    for (uint32_t i = 0; i < n * 28 * 28; ++i) images += static_cast<char>((i * 7) % 251);
    std::string labels = U32(0x801) + U32(n);
    for (uint32_t i = 0; i < n; ++i) labels += static_cast<char>(i % 10);
    WriteFile(data() / "images.idx", images);
    WriteFile(data() / "labels.idx", labels);
    const std::string set =
        "format: idx\nimages: images.idx\nlabels: labels.idx\n"
        "preprocess: {scale: 0.0039215686, mean: [0.2860], std: [0.3530], layout: nchw}\n";
    WriteFile(data() / mixq::fuzz::kExampleTestSet, set);
    WriteFile(data() / mixq::fuzz::kExampleTrainSet, set);
    data_listing_ = Listing(data());
    // A database made once and copied for each session: cheaper than
    // creating the schema every time.
    fs::create_directories(root_ / "template");
    auto store = mixq::Store::Open(template_db().string());
    MIXQ_FUZZ_CHECK(store.ok(), "cannot make the template database");
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  const fs::path& root() const { return root_; }
  fs::path data() const { return root_ / "data"; }
  fs::path out() const { return root_ / "out"; }
  fs::path run() const { return root_ / "run"; }
  fs::path db() const { return run() / "mixq.db"; }
  fs::path template_db() const { return root_ / "template" / "mixq.db"; }
  const std::set<std::string>& data_listing() const { return data_listing_; }

 private:
  fs::path root_;
  std::set<std::string> data_listing_;
};

Scratch& TheScratch() {
  static Scratch scratch;
  return scratch;
}

// An answer's text that a person reads: one line, never empty when set.
void CheckLine(const std::string& text, const std::string& what) {
  MIXQ_FUZZ_CHECK(text.find('\n') == std::string::npos, what + " of more than one line: " + text);
}

// What the coordinator sent during one session, by peer.
class Recorder {
 public:
  void Record(const std::string& identity, MessageType type,
              const google::protobuf::Message& body) {
    const std::vector<std::string> frames = mixq::Encode(type, body);
    mixq::DecodeResult r = mixq::Decode(frames);
    MIXQ_FUZZ_CHECK(r.ok(), std::string("the coordinator sent a ") + mixq::MessageTypeName(type) +
                                " that does not decode: " + r.detail);
    if (trace_) {
      std::fprintf(stderr, "to %s: %s %s\n", identity.c_str(), mixq::MessageTypeName(type),
                   body.ShortDebugString().substr(0, 300).c_str());
    }
    switch (type) {
      case MessageType::kRefuse:
        CheckLine(r.message->As<mixq::proto::Refuse>().reason(), "REFUSE reason");
        break;
      case MessageType::kSubmitReply:
        CheckLine(r.message->As<mixq::proto::SubmitReply>().error(), "SUBMIT_REPLY error");
        break;
      case MessageType::kCancelReply:
        CheckLine(r.message->As<mixq::proto::CancelReply>().error(), "CANCEL_REPLY error");
        break;
      case MessageType::kStatusReply:
        CheckLine(r.message->As<mixq::proto::StatusReply>().error(), "STATUS_REPLY error");
        ++status_replies_[identity];
        break;
      case MessageType::kBlobChunk:
        CheckLine(r.message->As<mixq::proto::BlobChunk>().error(), "BLOB_CHUNK error");
        break;
      case MessageType::kTaskAssign:
        leases_[identity] = r.message->As<mixq::proto::TaskAssign>();
        break;
      default:
        break;
    }
  }

  const mixq::proto::TaskAssign* LeaseOf(const std::string& identity) const {
    auto it = leases_.find(identity);
    return it == leases_.end() ? nullptr : &it->second;
  }
  int StatusReplies(const std::string& identity) const {
    auto it = status_replies_.find(identity);
    return it == status_replies_.end() ? 0 : it->second;
  }

 private:
  // MIXQ_FUZZ_TRACE=1 prints every answer, to see what a seed reaches.
  const bool trace_ = std::getenv("MIXQ_FUZZ_TRACE") != nullptr;
  std::map<std::string, mixq::proto::TaskAssign> leases_;
  std::map<std::string, int> status_replies_;
};

std::vector<std::string> LeaseBlobs(const mixq::proto::TaskAssign& a) {
  std::vector<std::string> blobs = {a.model().sha256(), a.dataset().images().sha256(),
                                    a.dataset().labels().sha256()};
  for (const auto& input : a.dataset().inputs()) blobs.push_back(input.samples().sha256());
  if (!a.calibration_sha256().empty()) blobs.push_back(a.calibration().sha256());
  return blobs;
}

// `frames` with the task id or blob hash of `lease` filled in, when they
// decode as a message that names one.
std::vector<std::string> FillLease(const std::vector<std::string>& frames,
                                   const mixq::proto::TaskAssign& lease) {
  mixq::DecodeResult r = mixq::Decode(frames);
  if (!r.ok()) return frames;
  switch (r.message->type) {
    case MessageType::kTaskResult: {
      mixq::proto::TaskResult m = r.message->As<mixq::proto::TaskResult>();
      m.set_task_id(lease.task_id());
      return mixq::Encode(r.message->type, m);
    }
    case MessageType::kTaskFailed: {
      mixq::proto::TaskFailed m = r.message->As<mixq::proto::TaskFailed>();
      m.set_task_id(lease.task_id());
      return mixq::Encode(r.message->type, m);
    }
    case MessageType::kHeartbeat: {
      mixq::proto::Heartbeat m = r.message->As<mixq::proto::Heartbeat>();
      m.set_task_id(lease.task_id());
      return mixq::Encode(r.message->type, m);
    }
    case MessageType::kBlobRequest: {
      mixq::proto::BlobRequest m = r.message->As<mixq::proto::BlobRequest>();
      const std::vector<std::string> blobs = LeaseBlobs(lease);
      m.set_sha256(blobs[m.offset() % blobs.size()]);
      return mixq::Encode(r.message->type, m);
    }
    case MessageType::kSubmitRequest:
    default:
      return frames;
  }
}

// A SUBMIT's relative base_dir, taken inside the scratch folder: the
// client's folder as far as this coordinator knows.
std::vector<std::string> PlaceBaseDir(const std::vector<std::string>& frames) {
  mixq::DecodeResult r = mixq::Decode(frames);
  if (!r.ok() || r.message->type != MessageType::kSubmitRequest) return frames;
  mixq::proto::SubmitRequest m = r.message->As<mixq::proto::SubmitRequest>();
  if (fs::path(m.base_dir()).is_absolute()) return frames;
  m.set_base_dir((TheScratch().root() / m.base_dir()).string());
  return mixq::Encode(MessageType::kSubmitRequest, m);
}

mixq::PeerMessage MakePeerMessage(const mixq::fuzz::SessionMessage& in, const Recorder& recorder) {
  mixq::PeerMessage m;
  const int peer = in.header & 3;
  m.identity = kIdentities[peer];
  const int role = (in.header >> 2) & 3;
  if (role > 0) {
    mixq::PeerCredentials credentials;
    credentials.role = role == 1   ? mixq::Role::kWorker
                       : role == 2 ? mixq::Role::kClient
                                   : mixq::Role::kAdmin;
    credentials.name = std::string("key-") + kIdentities[peer];
    credentials.public_key = std::string(40, static_cast<char>('a' + peer));
    m.credentials = credentials;
  }
  if (!(in.header & kNoAddress)) m.address = "10.0.0." + std::to_string(peer + 1);
  m.frames = PlaceBaseDir(in.frames);
  const mixq::proto::TaskAssign* lease = recorder.LeaseOf(m.identity);
  if ((in.header & kFillLease) && lease != nullptr) m.frames = FillLease(m.frames, *lease);
  for (const std::string& f : m.frames) m.bytes += f.size();
  return m;
}

// The coordinator answers a STATUS (of itself and of `job_id`) from an admin.
void CheckAnswersStatus(mixq::Coordinator* coordinator, Recorder* recorder, int64_t job_id) {
  const std::string probe = "probe-" + std::to_string(job_id);
  mixq::proto::StatusRequest request;
  request.set_job_id(job_id);
  mixq::PeerMessage m;
  m.identity = probe;
  m.frames = mixq::Encode(MessageType::kStatusRequest, request);
  const int before = recorder->StatusReplies(probe);
  coordinator->Handle(
      m, [&](const std::string& identity, MessageType type, const google::protobuf::Message& body) {
        recorder->Record(identity, type, body);
      });
  MIXQ_FUZZ_CHECK(recorder->StatusReplies(probe) == before + 1,
                  "no STATUS_REPLY for job " + std::to_string(job_id) + " after the session");
}

// Every blob the store registered lies under the data roots: the
// coordinator serves blobs to workers and hashes them, so a path outside
// would be a file read on a client's word.
void CheckBlobsUnderRoots(const mixq::FileRoots& roots) {
  auto store = mixq::Store::Open(TheScratch().db().string());
  MIXQ_FUZZ_CHECK(store.ok(),
                  "the database does not open after the session: " + store.status().message());
  auto rows = (*store)->db().Prepare("SELECT path FROM blobs");
  MIXQ_FUZZ_CHECK(rows.ok(), "cannot read the blobs table: " + rows.status().message());
  while (true) {
    auto more = (*rows)->Step();
    MIXQ_FUZZ_CHECK(more.ok(), "cannot read the blobs table: " + more.status().message());
    if (!*more) break;
    const std::string path = (*rows)->Text(0);
    MIXQ_FUZZ_CHECK(roots.MayRead(path), "a blob outside the data roots was registered: " + path);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const mixq::fuzz::ExampleBook ex(MIXQ_SOURCE_DIR, "data");
  auto msg = [&](const std::string& name, uint8_t header) { return ex.Message(name, header); };
  const uint8_t a = 0, b = 1, client = 2, stranger = 3;
  const uint8_t worker_key = 1 << 2, client_key = 2 << 2, admin_key = 3 << 2;
  std::vector<mixq::fuzz::NamedSession> sessions = {
      {"hello_heartbeat", {msg("hello", a), msg("heartbeat", a), msg("status", client)}},
      {"heartbeat_unknown", {msg("heartbeat", stranger)}},
      {"eval_result",
       {msg("submit_fm_resnet_eval", client), msg("hello", a), msg("result_eval", a | kFillLease),
        msg("status_job", client)}},
      {"eval_bench_results",
       {msg("submit_fm_resnet_eval", client), msg("hello", a), msg("result_eval", a | kFillLease),
        msg("result_bench", a | kFillLease), msg("result_bench", a | kFillLease),
        msg("status_job", client)}},
      {"eval_blobs_failed",
       {msg("submit_fm_resnet_eval", client), msg("hello", a), msg("blob_request", a | kFillLease),
        msg("heartbeat_busy", a | kFillLease), msg("failed", a | kFillLease),
        msg("status_job", client)}},
      {"eval_busy_two_workers",
       {msg("hello", a), msg("hello_capped_running", b), msg("submit_fm_resnet_eval", client),
        msg("failed_busy", a | kFillLease), msg("result_eval", b | kFillLease),
        msg("cancel", client), msg("status_job", client)}},
      {"calibrate_result",
       {msg("submit_calibrate", client), msg("hello", a), msg("blob_request", a | kFillLease),
        msg("result_calibrate", a | kFillLease), msg("status_job", client)}},
      {"search_submit", {msg("submit_fm_resnet_exhaustive", client), msg("status_job", client)}},
      {"search_submit_bert", {msg("submit_text_bert_search", client)}},
      {"search_submit_mobilenet", {msg("submit_fm_mobilenet_search", client)}},
      {"compare_submit", {msg("submit_compare_reference", client)}},
      {"result_not_leased",
       {msg("submit_fm_resnet_eval", client), msg("hello", a), msg("hello", b),
        msg("result_eval", b), msg("result_profile", a), msg("status_job", client)}},
      {"blob_unleased", {msg("hello", a), msg("blob_request", a), msg("blob_request", stranger)}},
      {"roles",
       {msg("submit_fm_resnet_eval", a | worker_key), msg("hello", client | client_key),
        msg("submit_fm_resnet_eval", client | client_key), msg("hello", a | worker_key),
        msg("blob_request", a | worker_key | kFillLease),
        msg("result_eval", a | worker_key | kFillLease), msg("status_job", stranger | client_key),
        msg("cancel", stranger | client_key), msg("status_job", b | admin_key)}},
      {"not_for_coordinator",
       {msg("welcome", a), msg("assign_evaluate", a), msg("blob_chunk", a),
        msg("status_reply", client), msg("reconnect", a), msg("refuse", a)}},
      {"cancel_unknown", {msg("cancel", client), msg("status_job", client)}},
  };
  // A HELLO of another protocol version, and a job naming files outside the roots.
  mixq::fuzz::SessionMessage old_hello = msg("hello", a);
  old_hello.frames[0] = "\x02";
  sessions.push_back({"hello_version_2", {old_hello}});
  for (const char* model : {"/etc/passwd", "../../../../etc/passwd"}) {
    mixq::proto::SubmitRequest submit;
    submit.CopyFrom(*ex.Get("submit_fm_resnet_eval").body);
    std::string yaml = submit.job_yaml();
    yaml.replace(yaml.find(mixq::fuzz::kExampleModel), strlen(mixq::fuzz::kExampleModel), model);
    submit.set_job_yaml(yaml);
    sessions.push_back({std::string("submit_outside_") + (model[0] == '/' ? "abs" : "rel"),
                        {{client, mixq::Encode(MessageType::kSubmitRequest, submit)}}});
  }
  mixq::fuzz::StartSessionTarget(sessions);
  TheScratch();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Scratch& scratch = TheScratch();
  mixq::fuzz::CatchEscapes([&] {
    std::error_code ec;
    fs::remove_all(scratch.run(), ec);
    fs::create_directories(scratch.run());
    fs::copy_file(scratch.template_db(), scratch.db());
    mixq::CoordinatorOptions options;
    options.bind = "ipc://" + (scratch.run() / "c.sock").string();
    options.db = scratch.db().string();
    options.data_roots = {scratch.data().string()};
    options.output_root = scratch.out().string();
    Recorder recorder;
    {
      auto coordinator = mixq::Coordinator::Create(options);
      MIXQ_FUZZ_CHECK(coordinator.ok(),
                      "cannot start a coordinator: " + coordinator.status().message());
      for (const auto& in : mixq::fuzz::SplitSession(data, size, kMaxMessages)) {
        (*coordinator)
            ->Handle(MakePeerMessage(in, recorder),
                     [&](const std::string& identity, MessageType type,
                         const google::protobuf::Message& body) {
                       recorder.Record(identity, type, body);
                     });
      }
      for (int64_t job = 0; job <= kJobsProbed; ++job) {
        CheckAnswersStatus(coordinator->get(), &recorder, job);
      }
    }
    auto roots = mixq::FileRoots::Make({scratch.data().string()}, scratch.out().string(),
                                       (scratch.run() / "calibrations").string());
    MIXQ_FUZZ_CHECK(roots.ok(), "cannot make the roots: " + roots.status().message());
    CheckBlobsUnderRoots(*roots);
    MIXQ_FUZZ_CHECK(Listing(scratch.data()) == scratch.data_listing(),
                    "the session wrote into the data root");
  });
  return 0;
}
