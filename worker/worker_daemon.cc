#include "worker/worker_daemon.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <deque>
#include <filesystem>
#include <future>
#include <optional>
#include <thread>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/hardware_info.h"
#include "common/image_manifest.h"
#include "common/log.h"
#include "common/protocol_codec.h"
#include "common/resource_limits.h"
#include "engine/runtime/executor.h"
#include "engine/runtime/isa.h"
#include "worker/blob_cache.h"
#include "worker/task_runner.h"

namespace mixq {
namespace {

using Clock = std::chrono::steady_clock;

// Set by the signal handler; the only state a handler may touch.
volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

std::string CacheDir(const WorkerOptions& options) {
  return options.cache.empty() ? (std::filesystem::temp_directory_path() / "mixq-cache").string()
                               : options.cache;
}

}  // namespace

// The daemon's state and handlers; WorkerSession uses it without the socket
// (`send` set), RunWorker with it.
class WorkerDaemon {
 public:
  WorkerDaemon(const WorkerOptions& options, ClientSecurity security,
               WorkerSession::Sender send = nullptr)
      : options_(options),
        security_(std::move(security)),
        send_(std::move(send)),
        version_(options.protocol_version ? options.protocol_version : kProtocolVersion),
        threads_(options.threads > 0 ? options.threads : UsableCores()),
        cache_(CacheDir(options), options.use_local_paths),
        runner_(threads_, CacheDir(options)),
        heartbeat_(std::chrono::milliseconds(options.initial_heartbeat_ms)) {
    hardware_.set_cpu_brand(CpuBrand());
    hardware_.set_cores(threads_);
    hardware_.set_isa(EffectiveIsaName());
    hardware_.set_isa_cap(options_.max_isa);
  }

  Status Run() {
    Connect();
    while (!g_stop) {
      MIXQ_RETURN_IF_ERROR(PollOnce());
      if (refused_) return *refused_;
    }
    log().info("worker stopping");
    return Status::Ok();
  }

  void Connect() {
    if (task_ && !running_.valid()) {
      // Fetching blobs over the old connection: give the task up; the
      // coordinator requeues it when its lease or this worker's old
      // identity times out.
      task_.reset();
      missing_.clear();
      fetching_.reset();
    }
    if (!send_) {
      socket_.reset();
      socket_.emplace(context_, zmq::socket_type::dealer);
      socket_->set(zmq::sockopt::linger, 0);
      socket_->set(zmq::sockopt::maxmsgsize, kPeerMaxFrameBytes);
      ApplyClientSecurity(&*socket_, security_);
      socket_->connect(options_.connect);
    }
    last_heard_ = Clock::now();
    proto::Hello hello;
    hello.set_protocol_version(version_);
    hello.set_mixq_version(MIXQ_VERSION);
    hello.set_host(HostName());
    hello.set_pid(getpid());
    hello.set_threads(threads_);
    *hello.mutable_hardware() = hardware_;
    hello.set_running_task_id(running_id_);
    Send(MessageType::kHello, hello);
    log().info("worker {} connecting to {} ({} / {} threads / {})", getpid(), options_.connect,
               hardware_.cpu_brand(), threads_, hardware_.isa());
  }

  void Send(MessageType type, const google::protobuf::Message& body) {
    last_sent_ = Clock::now();
    if (send_) return send_(type, body);
    std::vector<std::string> frames = Encode(type, body, static_cast<uint8_t>(version_));
    std::vector<zmq::const_buffer> parts;
    for (const std::string& f : frames) parts.push_back(zmq::buffer(f));
    try {
      zmq::send_multipart(*socket_, parts, zmq::send_flags::dontwait);
    } catch (const zmq::error_t& e) {
      log().warn("send {}: {}", MessageTypeName(type), e.what());
    }
  }

  // WorkerSession's entry points: a message as the loop hands it over, and
  // the end of the running task.
  void Handle(const std::vector<std::string>& frames) { OnMessage(frames); }
  void Settle() {
    if (running_.valid()) running_.wait();
    CheckTaskDone();
  }
  const std::optional<Status>& refused() const { return refused_; }

 private:
  Status PollOnce() {
    zmq::pollitem_t item{static_cast<void*>(*socket_), 0, ZMQ_POLLIN, 0};
    try {
      zmq::poll(&item, 1, std::chrono::milliseconds(50));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) return Unavailable(std::string("zmq poll: ") + e.what());
    }
    if (item.revents & ZMQ_POLLIN) {
      std::vector<zmq::message_t> parts;
      while (zmq::recv_multipart(*socket_, std::back_inserter(parts), zmq::recv_flags::dontwait)) {
        std::vector<std::string> frames;
        for (auto& p : parts) frames.push_back(p.to_string());
        parts.clear();
        last_heard_ = Clock::now();
        backoff_ = std::chrono::seconds(1);
        OnMessage(frames);
        if (refused_) return Status::Ok();
      }
    }
    CheckTaskDone();
    const Clock::time_point now = Clock::now();
    if (now - last_sent_ >= heartbeat_) {
      proto::Heartbeat beat;
      beat.set_task_id(running_id_);
      Send(MessageType::kHeartbeat, beat);
    }
    if (now - last_heard_ > heartbeat_ * liveness_) {
      log().warn("coordinator silent for {} ms; reconnecting in {} s",
                 std::chrono::duration_cast<std::chrono::milliseconds>(now - last_heard_).count(),
                 backoff_.count());
      // Close the socket before sleeping: kept open, ZeroMQ would reconnect
      // it by itself and deliver its queued HELLO and heartbeats when the
      // link returns, and the coordinator would lease a task to that
      // identity, which nobody reads any more. A task that ends meanwhile
      // is reported on the fresh socket (its HELLO names the running task).
      socket_.reset();
      // Sleep in small steps so a signal still stops the worker promptly.
      const Clock::time_point until = Clock::now() + backoff_;
      while (!g_stop && Clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      backoff_ = std::min(backoff_ * 2, std::chrono::seconds(32));
      Connect();
    }
    return Status::Ok();
  }

  void OnMessage(const std::vector<std::string>& frames) {
    DecodeResult r = Decode(frames);
    if (!r.ok()) {
      log().warn("coordinator: dropped malformed message ({}): {}", DecodeErrorName(r.error),
                 r.detail);
      return;
    }
    switch (r.message->type) {
      case MessageType::kWelcome: {
        const auto& w = r.message->As<proto::Welcome>();
        if (w.heartbeat_ms() > 0) heartbeat_ = std::chrono::milliseconds(w.heartbeat_ms());
        if (w.liveness() > 0) liveness_ = w.liveness();
        log().info("welcomed as worker {} of class '{}'", w.worker_id(), w.hardware_class());
        return;
      }
      case MessageType::kRefuse:
        refused_ = FailedPrecondition("refused by coordinator: " +
                                      r.message->As<proto::Refuse>().reason());
        return;
      case MessageType::kReconnect:
        log().info("coordinator asks for HELLO: {}", r.message->As<proto::Reconnect>().reason());
        Connect();
        return;
      case MessageType::kHeartbeat:
        return;
      case MessageType::kTaskAssign:
        return OnTask(r.message->As<proto::TaskAssign>());
      case MessageType::kBlobChunk:
        return OnChunk(r.message->As<proto::BlobChunk>());
      default:
        log().warn("coordinator: unexpected {} dropped", MessageTypeName(r.message->type));
    }
  }

  void OnTask(const proto::TaskAssign& task) {
    if (task_ || running_.valid()) {
      // One task at a time: the coordinator thinks we are free, so it lost
      // track (e.g. a restart); refuse so it requeues.
      proto::TaskFailed failed;
      failed.set_task_id(task.task_id());
      failed.set_error("worker busy");
      failed.set_retryable(true);
      failed.set_not_started(true);
      return Send(MessageType::kTaskFailed, failed);
    }
    task_ = task;
    files_ = TaskFiles{};
    missing_.clear();
    auto need = [&](const proto::BlobRef& blob, std::string* path) {
      std::optional<std::string> local = cache_.Find(blob);
      if (local) {
        *path = *local;
      } else {
        missing_.push_back({blob, path});
      }
    };
    need(task.model(), &files_.model);
    if (task.kind() == proto::TASK_KIND_EVALUATE || task.kind() == proto::TASK_KIND_CALIBRATE) {
      if (task.dataset().inputs_size() == 0) need(task.dataset().images(), &files_.images);
      // Sized first: `need` keeps pointers into it.
      files_.inputs.resize(task.dataset().inputs_size());
      for (int i = 0; i < task.dataset().inputs_size(); ++i) {
        files_.inputs[i].name = task.dataset().inputs(i).name();
        need(task.dataset().inputs(i).samples(), &files_.inputs[i].path);
      }
      // An image folder has no labels file: its manifest holds the labels.
      if (task.dataset().format() != "images") need(task.dataset().labels(), &files_.labels);
    }
    // A detection or segmentation dataset's scoring: the annotation file, or
    // the masks' manifest (then the slice's masks, QueueSlice).
    if (task.kind() == proto::TASK_KIND_EVALUATE && task.dataset().format() == "images") {
      if (!task.dataset().annotations().sha256().empty()) {
        need(task.dataset().annotations(), &files_.annotations);
      }
      if (!task.dataset().masks().sha256().empty()) need(task.dataset().masks(), &files_.masks);
    }
    if (!task.calibration_sha256().empty()) need(task.calibration(), &files_.calibration);
    images_listed_ = false;
    NextBlobOrStart();
  }

  // Once an image folder's manifest is here, the files of the task's slice
  // join the blobs to fetch (only those: common/image_manifest.h), and so
  // do the slice's masks of a segmentation dataset.
  Status QueueSliceImages() {
    images_listed_ = true;
    MIXQ_ASSIGN_OR_RETURN(size_t images, QueueSlice(files_.images, &files_.image_paths));
    if (!files_.masks.empty()) {
      MIXQ_ASSIGN_OR_RETURN(size_t masks, QueueSlice(files_.masks, &files_.mask_paths));
      if (masks != images) {
        return InvalidArgument("the masks' manifest lists " + std::to_string(masks) +
                               " masks for " + std::to_string(images) + " images");
      }
    }
    if (!missing_.empty()) {
      log().info("fetching {} of the slice's {} files", missing_.size(), task_->count());
    }
    return Status::Ok();
  }

  // The files of the task's slice in `manifest` into `paths` (those in the
  // cache) or `missing_`; the manifest's length.
  StatusOr<size_t> QueueSlice(const std::string& manifest, std::vector<std::string>* paths) {
    MIXQ_ASSIGN_OR_RETURN(std::vector<ImageManifestEntry> entries, ReadImageManifest(manifest));
    const int64_t begin = task_->begin(), count = task_->count();
    if (begin < 0 || count < 0 || begin > static_cast<int64_t>(entries.size()) ||
        count > static_cast<int64_t>(entries.size()) - begin) {
      return InvalidArgument("task slice [" + std::to_string(begin) + ", +" +
                             std::to_string(count) + ") is outside the image manifest's " +
                             std::to_string(entries.size()) + " images");
    }
    // Sized first: `missing_` keeps pointers into it.
    paths->assign(static_cast<size_t>(count), std::string());
    for (int64_t i = 0; i < count; ++i) {
      const ImageManifestEntry& e = entries[static_cast<size_t>(begin + i)];
      proto::BlobRef blob;
      blob.set_sha256(e.sha256);
      blob.set_size(e.size);
      std::string* path = &(*paths)[static_cast<size_t>(i)];
      if (std::optional<std::string> local = cache_.Find(blob)) {
        *path = *local;
      } else {
        missing_.push_back({blob, path});
      }
    }
    return entries.size();
  }

  void NextBlobOrStart() {
    if (missing_.empty() && task_ && task_->dataset().format() == "images" && !images_listed_ &&
        (task_->kind() == proto::TASK_KIND_EVALUATE ||
         task_->kind() == proto::TASK_KIND_CALIBRATE)) {
      Status s = QueueSliceImages();
      if (!s.ok()) return Fail(s, false);
    }
    if (!missing_.empty()) {
      fetching_ = missing_.front();
      Status s = cache_.Begin(fetching_->blob);
      if (!s.ok()) return Fail(s, true);
      // One line per image would drown the log: a slice's images are
      // announced together (QueueSliceImages).
      if (!images_listed_ || task_->dataset().format() != "images") {
        log().info("fetching blob {} ({} bytes)", fetching_->blob.sha256().substr(0, 12),
                   fetching_->blob.size());
      }
      RequestChunk(0);
      return;
    }
    StartTask();
  }

  void RequestChunk(uint64_t offset) {
    proto::BlobRequest request;
    request.set_sha256(fetching_->blob.sha256());
    request.set_offset(offset);
    Send(MessageType::kBlobRequest, request);
  }

  void OnChunk(const proto::BlobChunk& chunk) {
    if (!fetching_ || chunk.sha256() != fetching_->blob.sha256()) return;  // stale
    if (!chunk.error().empty()) return Fail(Unavailable("blob: " + chunk.error()), false);
    Status s = cache_.Append(chunk.offset(), chunk.data());
    if (!s.ok()) return Fail(s, true);
    if (cache_.received() < chunk.total_size() && !chunk.data().empty()) {
      return RequestChunk(cache_.received());
    }
    StatusOr<std::string> path = cache_.Finish();
    if (!path.ok()) return Fail(path.status(), true);
    *fetching_->path = *path;
    fetching_.reset();
    missing_.pop_front();
    NextBlobOrStart();
  }

  void StartTask() {
    running_id_ = task_->task_id();
    const proto::TaskAssign task = *task_;
    const TaskFiles files = files_;
    const uint32_t delay = options_.task_delay_ms;
    running_ = std::async(std::launch::async, [this, task, files, delay] {
      if (delay > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay));
      return runner_.Run(task, files);
    });
  }

  void CheckTaskDone() {
    if (!running_.valid() ||
        running_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      return;
    }
    StatusOr<proto::TaskResult> result = running_.get();
    if (result.ok()) {
      Send(MessageType::kTaskResult, *result);
      task_.reset();
      running_id_.clear();
    } else {
      const StatusCode code = result.status().code();
      const bool retryable = code == StatusCode::kUnavailable || code == StatusCode::kInternal ||
                             code == StatusCode::kDataLoss;
      Fail(result.status(), retryable);
    }
  }

  void Fail(const Status& status, bool retryable) {
    log().warn("task {} failed: {}", task_ ? task_->task_id().substr(0, 12) : "?",
               status.message());
    proto::TaskFailed failed;
    failed.set_task_id(task_ ? task_->task_id() : "");
    // One line whatever the reason quotes (a BLOB_CHUNK's error is the
    // coordinator's text): every Status message is (status.h).
    failed.set_error(status.message());
    failed.set_retryable(retryable);
    Send(MessageType::kTaskFailed, failed);
    task_.reset();
    running_id_.clear();
    fetching_.reset();
    missing_.clear();
  }

  struct Missing {
    proto::BlobRef blob;
    std::string* path;
  };

  WorkerOptions options_;
  ClientSecurity security_;
  WorkerSession::Sender send_;  // set: no socket (WorkerSession)
  uint32_t version_;
  int threads_;
  BlobCache cache_;
  TaskRunner runner_;
  proto::HardwareClass hardware_;
  zmq::context_t context_;
  std::optional<zmq::socket_t> socket_;
  std::optional<Status> refused_;
  std::chrono::milliseconds heartbeat_;
  uint32_t liveness_ = 3;
  std::chrono::seconds backoff_{1};
  Clock::time_point last_heard_, last_sent_;
  std::optional<proto::TaskAssign> task_;
  TaskFiles files_;
  std::deque<Missing> missing_;
  std::optional<Missing> fetching_;
  bool images_listed_ = false;  // the slice's images are queued (QueueSliceImages)
  std::future<StatusOr<proto::TaskResult>> running_;
  std::string running_id_;
};

WorkerSession::WorkerSession(const WorkerOptions& options, Sender send)
    : daemon_(std::make_unique<WorkerDaemon>(options, ClientSecurity{}, std::move(send))) {
  daemon_->Connect();
}
WorkerSession::~WorkerSession() = default;
void WorkerSession::Handle(const std::vector<std::string>& frames) { daemon_->Handle(frames); }
void WorkerSession::Settle() { daemon_->Settle(); }
std::optional<Status> WorkerSession::refused() const { return daemon_->refused(); }

Status RunWorker(const WorkerOptions& options) {
  // The cap must come before anything asks oneDNN for its ISA (isa.h).
  if (!options.max_isa.empty()) MIXQ_RETURN_IF_ERROR(SetMaxIsa(options.max_isa));
  if (options.threads < 0 || options.threads > kMaxThreads) {
    return InvalidArgument("--threads must be 0.." + std::to_string(kMaxThreads) + ", not " +
                           std::to_string(options.threads));
  }
  MIXQ_ASSIGN_OR_RETURN(ClientSecurity security, LoadClientSecurity(options.connect, options.keys));
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  try {
    WorkerDaemon daemon(options, std::move(security));
    return daemon.Run();
  } catch (const zmq::error_t& e) {
    return Unavailable(std::string("zmq: ") + e.what());
  }
}

}  // namespace mixq
