#include "coordinator/coordinator.h"

#include <unistd.h>

#include <boost/asio.hpp>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/log.h"
#include "coordinator/host_gate.h"
#include "coordinator/job_planner.h"
#include "coordinator/job_spec.h"
#include "coordinator/result_writer.h"
#include "coordinator/store.h"

namespace mixq {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// A worker's task_id while it runs something it no longer holds a lease for.
constexpr char kUnknownTask[] = "?";

std::string PeerName(const std::string& identity) {
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : identity) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  return hex;
}

// The class name results are filed under: same CPU, core count and effective
// ISA give the same numbers.
std::string HardwareClassName(const proto::HardwareClass& hw) {
  return hw.cpu_brand() + " / " + std::to_string(hw.cores()) + " cores / " + hw.isa();
}

// Calibrations made from calibrate tasks live next to the database.
std::string CalibrationDir(const std::string& db) {
  if (db.empty() || db == ":memory:") {
    return (std::filesystem::temp_directory_path() / "mixq-calibrations").string();
  }
  return (std::filesystem::absolute(db).parent_path() / "calibrations").string();
}

}  // namespace

class Coordinator::Impl {
 public:
  struct Worker {
    std::string identity;
    std::string name;  // host:pid, for logs
    std::string host;  // timed tasks run alone on a host (host_gate.h)
    int64_t db_id = 0;
    int64_t hardware_class_id = 0;
    std::string hardware_class;
    std::string task_id;  // "" = ready
    Clock::time_point last_seen;
  };

  struct OpenTask {
    PendingTask task;
    std::set<int64_t> jobs;
    std::string leased_to;  // worker identity; "" = queued
    Clock::time_point deadline;
    int attempts = 0;
  };

  Impl(const CoordinatorOptions& options, std::vector<JobDriverFactory> drivers,
       std::unique_ptr<Store> store)
      : options_(options),
        calibration_dir_(CalibrationDir(options.db)),
        store_(std::move(store)),
        router_(zmq_context_, zmq::socket_type::router),
        zmq_fd_(io_),
        tick_(io_),
        flush_timer_(io_),
        fallback_timer_(io_),
        signals_(io_, SIGINT, SIGTERM),
        driver_factories_(std::move(drivers)) {}

  Status Init() {
    try {
      router_.set(zmq::sockopt::linger, 0);
      router_.set(zmq::sockopt::sndhwm, 100000);
      router_.set(zmq::sockopt::rcvhwm, 100000);
      // A hard cap far above the protocol's limit, so a huge message costs
      // no memory while moderately oversize ones still reach the codec and
      // are counted.
      router_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(4 * options_.max_message_bytes));
      router_.bind(options_.bind);
      zmq_fd_.assign(dup(router_.get(zmq::sockopt::fd)));
    } catch (const zmq::error_t& e) {
      return Unavailable("cannot bind " + options_.bind + ": " + e.what());
    }
    MIXQ_ASSIGN_OR_RETURN(writer_, ResultWriter::Open(options_.db));
    MIXQ_ASSIGN_OR_RETURN(std::vector<PendingTask> pending, store_->LoadPendingTasks());
    for (PendingTask& t : pending) AddOpen(std::move(t));
    MIXQ_ASSIGN_OR_RETURN(std::vector<int64_t> running, store_->RunningJobs());
    running_jobs_.insert(running.begin(), running.end());
    // Driven jobs left running are driven again; their measurements are memoized.
    const JobDriverContext context{options_.db, options_.bind};
    for (const JobDriverFactory& make : driver_factories_) {
      drivers_.push_back(make(context));
      MIXQ_RETURN_IF_ERROR(drivers_.back()->Resume(store_.get()));
    }
    log().info("coordinator on {} with {}: {} running job(s), {} task(s) to run", options_.bind,
               options_.db, running_jobs_.size(), open_.size());
    return Status::Ok();
  }

  Status Run() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      log().info("signal {}: shutting down", signal);
      io_.stop();
    });
    ArmFd();
    ScheduleTick();
    ScheduleFallback();
    // Jobs whose tasks all finished before a crash still need finishing.
    CheckJobs();
    io_.run();
    for (auto& driver : drivers_) driver->RequestStop();
    Flush();
    writer_.reset();   // commits what is queued before returning
    drivers_.clear();  // joins the drivers' threads (their jobs stay running)
    return fatal_;
  }

  ~Impl() { zmq_fd_.release(); }

 private:
  // ZMQ_FD is edge-triggered: it signals only when ZMQ_EVENTS changes, and
  // any send or receive on the socket may consume that edge. So every wakeup
  // (readable fd, timer, after our own sends) drains until ZMQ_EVENTS shows
  // no input, and a slow fallback timer drains too, which bounds the cost of
  // any missed edge to its period.
  void ArmFd() {
    zmq_fd_.async_wait(asio::posix::stream_descriptor::wait_read,
                       [this](const boost::system::error_code& ec) {
                         if (ec) return;
                         Drain();
                         ArmFd();
                         // Asio registers the fd edge-triggered too and
                         // forgets an edge that comes while no wait is
                         // armed: drain once more now that one is.
                         Drain();
                       });
  }

  void ScheduleFallback() {
    fallback_timer_.expires_after(std::chrono::milliseconds(100));
    fallback_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      Drain();
      ScheduleFallback();
    });
  }

  void ScheduleTick() {
    tick_.expires_after(std::chrono::milliseconds(options_.heartbeat_ms));
    tick_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      OnTick();
      Drain();
      ScheduleTick();
    });
  }

  void ScheduleFlush() {
    if (flush_scheduled_) return;
    flush_scheduled_ = true;
    flush_timer_.expires_after(std::chrono::milliseconds(options_.flush_ms));
    flush_timer_.async_wait([this](const boost::system::error_code& ec) {
      flush_scheduled_ = false;
      if (ec) return;
      Flush();
      CheckJobs();
      Drain();
    });
  }

  void Drain() {
    try {
      while (true) {
        if (!(router_.get(zmq::sockopt::events) & ZMQ_POLLIN)) break;
        std::vector<zmq::message_t> parts;
        auto got =
            zmq::recv_multipart(router_, std::back_inserter(parts), zmq::recv_flags::dontwait);
        if (!got || parts.empty()) break;
        std::string identity = parts[0].to_string();
        std::vector<std::string> frames;
        for (size_t i = 1; i < parts.size(); ++i) frames.push_back(parts[i].to_string());
        OnMessage(identity, frames);
      }
    } catch (const zmq::error_t& e) {
      log().error("zmq: {}", e.what());
    }
  }

  void Send(const std::string& identity, MessageType type, const google::protobuf::Message& body) {
    std::vector<std::string> frames = Encode(type, body);
    std::vector<zmq::const_buffer> parts;
    parts.push_back(zmq::buffer(identity));
    for (const std::string& f : frames) parts.push_back(zmq::buffer(f));
    try {
      if (!zmq::send_multipart(router_, parts, zmq::send_flags::dontwait)) {
        log().warn("peer {}: send queue full, {} dropped", PeerName(identity),
                   MessageTypeName(type));
      }
    } catch (const zmq::error_t& e) {
      log().warn("peer {}: send failed: {}", PeerName(identity), e.what());
    }
  }

  void CountMalformed(const std::string& identity, const DecodeResult& r) {
    ++malformed_[DecodeErrorName(r.error)];
    log().warn("peer {}: dropped malformed message ({}): {}", PeerName(identity),
               DecodeErrorName(r.error), r.detail);
  }

  void OnMessage(const std::string& identity, const std::vector<std::string>& frames) {
    DecodeResult r = Decode(frames, options_.max_message_bytes);
    if (!r.ok()) {
      CountMalformed(identity, r);
      if (r.error == DecodeError::kVersion && r.peer_type == MessageType::kHello) {
        proto::Refuse refuse;
        refuse.set_reason("protocol version " + std::to_string(r.peer_version) +
                          " is not supported: this coordinator speaks version " +
                          std::to_string(kProtocolVersion));
        refuse.set_coordinator_protocol_version(kProtocolVersion);
        Send(identity, MessageType::kRefuse, refuse);
      }
      return;
    }
    const Decoded& m = *r.message;
    auto worker = workers_.find(identity);
    if (worker != workers_.end()) worker->second.last_seen = Clock::now();
    switch (m.type) {
      case MessageType::kHello:
        return OnHello(identity, m.As<proto::Hello>());
      case MessageType::kHeartbeat:
        if (worker == workers_.end()) return AskToReconnect(identity);
        return;
      case MessageType::kTaskResult:
        return OnResult(identity, m.As<proto::TaskResult>());
      case MessageType::kTaskFailed:
        return OnFailed(identity, m.As<proto::TaskFailed>());
      case MessageType::kBlobRequest:
        return OnBlobRequest(identity, m.As<proto::BlobRequest>());
      case MessageType::kSubmitRequest:
        return OnSubmit(identity, m.As<proto::SubmitRequest>());
      case MessageType::kStatusRequest:
        return OnStatus(identity, m.As<proto::StatusRequest>());
      case MessageType::kCancelRequest:
        return OnCancel(identity, m.As<proto::CancelRequest>());
      default:
        // Valid but not for a coordinator (e.g. a WELCOME): counted like any
        // other message this side cannot use.
        ++malformed_["unexpected_type"];
        log().warn("peer {}: unexpected {} dropped", PeerName(identity), MessageTypeName(m.type));
        return;
    }
  }

  void AskToReconnect(const std::string& identity) {
    proto::Reconnect reconnect;
    reconnect.set_reason("unknown worker; say HELLO");
    Send(identity, MessageType::kReconnect, reconnect);
  }

  void OnHello(const std::string& identity, const proto::Hello& hello) {
    if (hello.protocol_version() != kProtocolVersion) {
      proto::Refuse refuse;
      refuse.set_reason("protocol version " + std::to_string(hello.protocol_version()) +
                        " is not supported: this coordinator speaks version " +
                        std::to_string(kProtocolVersion));
      refuse.set_coordinator_protocol_version(kProtocolVersion);
      return Send(identity, MessageType::kRefuse, refuse);
    }
    auto existing = workers_.find(identity);
    if (existing != workers_.end()) LoseWorker(identity, "said HELLO again");
    Worker w;
    w.identity = identity;
    w.name = hello.host() + ":" + std::to_string(hello.pid());
    w.host = hello.host();
    w.hardware_class = HardwareClassName(hello.hardware());
    w.last_seen = Clock::now();
    StatusOr<int64_t> hw = store_->UpsertHardwareClass(hello.hardware(), w.hardware_class);
    if (hw.ok()) {
      w.hardware_class_id = *hw;
      StatusOr<int64_t> id =
          store_->UpsertWorker(hello.host(), hello.pid(), *hw, hello.mixq_version());
      if (id.ok()) w.db_id = *id;
    }
    if (!hw.ok() || w.db_id == 0) log().error("store: cannot record worker {}", w.name);
    proto::Welcome welcome;
    welcome.set_worker_id(std::to_string(w.db_id));
    welcome.set_hardware_class(w.hardware_class);
    welcome.set_heartbeat_ms(options_.heartbeat_ms);
    welcome.set_liveness(options_.liveness);
    Send(identity, MessageType::kWelcome, welcome);
    log().info("worker {} joined ({}), {} worker(s)", w.name, w.hardware_class,
               workers_.size() + 1);
    if (!hello.running_task_id().empty()) {
      // Back after a reconnect with a task still running: busy with it, and
      // its holder if nobody else is.
      w.task_id = hello.running_task_id();
      auto t = open_.find(w.task_id);
      if (t != open_.end() && t->second.leased_to.empty()) {
        t->second.leased_to = identity;
        t->second.deadline = Clock::now() + std::chrono::milliseconds(options_.lease_ms);
      }
    }
    const bool ready = w.task_id.empty();
    workers_[identity] = std::move(w);
    if (ready) ready_.push_back(identity);
    Dispatch();
  }

  void AddOpen(PendingTask task) {
    auto it = open_.find(task.id);
    if (it != open_.end()) {
      if (it->second.jobs.insert(task.job_id).second) ++open_per_job_[task.job_id];
      return;
    }
    ++open_per_job_[task.job_id];
    OpenTask open;
    open.attempts = task.attempts;
    open.jobs.insert(task.job_id);
    const std::string id = task.id;
    open.task = std::move(task);
    open_[id] = std::move(open);
    queue_.push_back(id);
  }

  // Gives each ready worker the first queued task its class may run, unless
  // the worker's host is kept for a timed task (host_gate.h): then the
  // worker waits, and the task stays queued.
  void Dispatch() {
    HostGate gate(options_.exclusive_timing);
    for (const auto& [identity, w] : workers_) {
      if (!w.task_id.empty()) gate.Running(w.host, IsTimed(w.task_id));
    }
    std::deque<std::string> still_ready;
    while (!ready_.empty()) {
      const std::string identity = ready_.front();
      ready_.pop_front();
      auto w = workers_.find(identity);
      if (w == workers_.end() || !w->second.task_id.empty()) continue;
      // Erasing stale entries invalidates every iterator of the deque, end()
      // included: `chosen` is meaningful only when `found`.
      bool found = false;
      auto chosen = queue_.begin();
      for (auto q = queue_.begin(); q != queue_.end();) {
        auto t = open_.find(*q);
        if (t == open_.end() || !t->second.leased_to.empty()) {
          q = queue_.erase(q);  // stale entry: finished or leased meanwhile
          continue;
        }
        const std::string& hw = t->second.task.hardware;
        if (hw == "any" || hw == w->second.hardware_class) {
          chosen = q;
          found = true;
          break;
        }
        ++q;
      }
      if (!found || !gate.TryStart(w->second.host, IsTimed(*chosen))) {
        still_ready.push_back(identity);
        continue;
      }
      const std::string task_id = *chosen;
      queue_.erase(chosen);
      OpenTask& task = open_[task_id];
      task.leased_to = identity;
      task.deadline = Clock::now() + std::chrono::milliseconds(options_.lease_ms);
      w->second.task_id = task_id;
      Send(identity, MessageType::kTaskAssign, task.task.assign);
    }
    ready_ = std::move(still_ready);
  }

  // Benchmarks and profiles: tasks whose result is a time.
  bool IsTimed(const std::string& task_id) const {
    auto t = open_.find(task_id);
    if (t == open_.end()) return false;
    const proto::TaskKind kind = t->second.task.assign.kind();
    return kind == proto::TASK_KIND_BENCHMARK || kind == proto::TASK_KIND_PROFILE;
  }

  void Requeue(const std::string& task_id, const std::string& why) {
    auto t = open_.find(task_id);
    if (t == open_.end()) return;
    t->second.leased_to.clear();
    if (++t->second.attempts >= options_.max_attempts) {
      FailForGood(task_id, why + " (" + std::to_string(t->second.attempts) + " attempts)");
      return;
    }
    log().info("task {} requeued: {}", task_id.substr(0, 12), why);
    queue_.push_front(task_id);
  }

  void FailForGood(const std::string& task_id, const std::string& error) {
    log().error("task {} failed: {}", task_id.substr(0, 12), error);
    Status s = store_->MarkTaskFailed(task_id, error);
    if (!s.ok()) log().error("store: {}", s.message());
    EraseOpen(open_.find(task_id));
    CheckJobs();
  }

  void LoseWorker(const std::string& identity, const std::string& why) {
    auto w = workers_.find(identity);
    if (w == workers_.end()) return;
    log().warn("worker {} lost: {}", w->second.name, why);
    const std::string task = w->second.task_id;
    workers_.erase(w);
    if (!task.empty()) {
      auto t = open_.find(task);
      if (t != open_.end() && t->second.leased_to == identity) Requeue(task, "worker lost");
    }
  }

  // The worker is ready again after a result or failure.
  void Release(const std::string& identity, const std::string& task_id) {
    auto w = workers_.find(identity);
    if (w == workers_.end()) return AskToReconnect(identity);
    if (w->second.task_id == task_id || w->second.task_id == kUnknownTask) {
      w->second.task_id.clear();
    }
    if (w->second.task_id.empty()) ready_.push_back(identity);
  }

  void OnResult(const std::string& identity, const proto::TaskResult& result) {
    auto t = open_.find(result.task_id());
    if (t == open_.end()) {
      // Finished already (a requeued copy won) or never ours: stored once.
      ++duplicates_;
    } else {
      TaskOutcome outcome;
      outcome.result = result;
      auto w = workers_.find(identity);
      if (w != workers_.end()) {
        outcome.worker_id = w->second.db_id;
        outcome.hardware_class_id = w->second.hardware_class_id;
      }
      buffer_.push_back(std::move(outcome));
      EraseOpen(t);
      if (buffer_.size() >= 1000) {
        Flush();
        CheckJobs();
      } else {
        ScheduleFlush();
      }
    }
    Release(identity, result.task_id());
    Dispatch();
  }

  void OnFailed(const std::string& identity, const proto::TaskFailed& failed) {
    auto t = open_.find(failed.task_id());
    if (failed.not_started()) {
      // The worker is busy with a task we do not know it holds (we lost
      // track, e.g. across a reconnect): requeue without counting an
      // attempt, and leave the worker alone until it reports that task.
      if (t != open_.end() && t->second.leased_to == identity) {
        t->second.leased_to.clear();
        queue_.push_front(failed.task_id());
      }
      auto w = workers_.find(identity);
      if (w != workers_.end()) w->second.task_id = kUnknownTask;
      return Dispatch();
    }
    if (t != open_.end()) {
      if (failed.retryable()) {
        Requeue(failed.task_id(), "worker error: " + failed.error());
      } else {
        FailForGood(failed.task_id(), failed.error());
      }
    }
    Release(identity, failed.task_id());
    Dispatch();
  }

  // Hands the buffered results to the writer thread; its answer comes back
  // to this thread as a posted handler.
  void Flush() {
    if (buffer_.empty() || !writer_) return;
    std::vector<TaskOutcome> batch;
    batch.swap(buffer_);
    const size_t size = batch.size();
    ++writes_in_flight_;
    writer_->Write(std::move(batch), [this, size](StatusOr<int> added) {
      asio::post(io_, [this, size, added = std::move(added)] { OnWritten(added, size); });
    });
  }

  void OnWritten(const StatusOr<int>& added, size_t size) {
    --writes_in_flight_;
    if (!added.ok()) {
      // Not stored: stop rather than run on with a store that fails; the
      // tasks are still pending in the database, so a restart runs them again.
      log().error("store: {}; stopping with {} result(s) unstored", added.status().message(), size);
      fatal_ = added.status();
      io_.stop();
      return;
    }
    results_committed_ += *added;
    CheckJobs();
    Drain();
  }

  void EraseOpen(std::unordered_map<std::string, OpenTask>::iterator it) {
    if (it == open_.end()) return;
    for (int64_t job : it->second.jobs) --open_per_job_[job];
    open_.erase(it);
  }

  // Finishes running jobs with no open task left and every result committed.
  void CheckJobs() {
    for (auto it = running_jobs_.begin(); it != running_jobs_.end();) {
      // Cheap test first: the store is asked only once nothing is open here.
      auto open = open_per_job_.find(*it);
      if ((open != open_per_job_.end() && open->second > 0) || !buffer_.empty() ||
          writes_in_flight_ > 0) {
        ++it;
        continue;
      }
      StatusOr<JobProgress> p = store_->Progress(*it);
      const bool ended = p.ok() && p->state == "running" && p->done + p->failed >= p->total;
      if (ended && p->failed == 0) {
        StatusOr<bool> more = PlanNextPhase(*it);
        if (!more.ok()) {
          log().error("job {} failed: planning its next phase: {}", *it, more.status().message());
          Status s = store_->SetJobState(*it, "failed");
          if (!s.ok()) log().error("store: {}", s.message());
          it = running_jobs_.erase(it);
          continue;
        }
        if (*more) {
          ++it;
          continue;
        }
      }
      if (ended) {
        Status s = store_->FinishJob(*it);
        if (!s.ok()) log().error("store: finishing job {}: {}", *it, s.message());
        log().info("job {} finished: {} task(s), {} failed", *it, p->total, p->failed);
        it = running_jobs_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // A job whose tasks all ended may have a next phase (calibrate pass 2,
  // then its configs): true when new tasks were opened for it.
  StatusOr<bool> PlanNextPhase(int64_t job_id) {
    MIXQ_ASSIGN_OR_RETURN(PlanResult plan,
                          mixq::PlanNextPhase(store_.get(), job_id, PlanOptionsNow()));
    if (plan.to_run.empty()) return false;
    log().info("job {}: next phase, {} task(s) to run", job_id, plan.to_run.size());
    for (PendingTask& t : plan.to_run) AddOpen(std::move(t));
    asio::post(io_, [this] { Dispatch(); });
    return true;
  }

  PlanOptions PlanOptionsNow() const {
    PlanOptions options;
    options.lease_ms = options_.lease_ms;
    options.known_classes = ConnectedClasses();
    options.calibration_dir = calibration_dir_;
    return options;
  }

  void OnTick() {
    const Clock::time_point now = Clock::now();
    const auto dead_after = std::chrono::milliseconds(options_.heartbeat_ms * options_.liveness);
    std::vector<std::string> lost;
    proto::Heartbeat beat;
    for (auto& [identity, w] : workers_) {
      if (now - w.last_seen > dead_after) {
        lost.push_back(identity);
      } else {
        Send(identity, MessageType::kHeartbeat, beat);
      }
    }
    for (const std::string& identity : lost) LoseWorker(identity, "missed heartbeats");
    for (auto& [id, t] : open_) {
      if (!t.leased_to.empty() && now > t.deadline) {
        auto w = workers_.find(t.leased_to);
        if (w != workers_.end() && w->second.task_id == id) {
          // The worker keeps running it; whichever copy ends first counts.
          w->second.task_id = kUnknownTask;
        }
        expired_.push_back(id);
      }
    }
    for (const std::string& id : expired_) Requeue(id, "lease expired");
    expired_.clear();
    FailTasksOfMissingClasses(now);
    Dispatch();
  }

  // Queued tasks for a class with no connected worker wait at most
  // missing_class_grace_ms (counted from when the class was first seen
  // missing), then fail naming the class, so their job ends.
  void FailTasksOfMissingClasses(Clock::time_point now) {
    const std::vector<std::string> connected = ConnectedClasses();
    const std::set<std::string> present(connected.begin(), connected.end());
    std::set<std::string> missing;
    for (const auto& [id, t] : open_) {
      const std::string& hw = t.task.hardware;
      if (t.leased_to.empty() && hw != "any" && present.count(hw) == 0) missing.insert(hw);
    }
    for (auto it = missing_since_.begin(); it != missing_since_.end();) {
      it = missing.count(it->first) ? std::next(it) : missing_since_.erase(it);
    }
    const auto grace = std::chrono::milliseconds(options_.missing_class_grace_ms);
    std::vector<std::string> to_fail;
    for (const std::string& hw : missing) {
      auto since = missing_since_.emplace(hw, now).first->second;
      if (now - since < grace) continue;
      for (const auto& [id, t] : open_) {
        if (t.leased_to.empty() && t.task.hardware == hw) to_fail.push_back(id);
      }
    }
    for (const std::string& id : to_fail) {
      const std::string hw = open_[id].task.hardware;
      FailForGood(id, "no connected worker of hardware class '" + hw + "' for " +
                          std::to_string(options_.missing_class_grace_ms) + " ms");
    }
  }

  void OnBlobRequest(const std::string& identity, const proto::BlobRequest& request) {
    proto::BlobChunk chunk;
    chunk.set_sha256(request.sha256());
    chunk.set_offset(request.offset());
    StatusOr<std::optional<std::pair<std::string, int64_t>>> blob =
        store_->FindBlob(request.sha256());
    if (!blob.ok() || !blob->has_value()) {
      chunk.set_error("unknown blob " + request.sha256());
      return Send(identity, MessageType::kBlobChunk, chunk);
    }
    const auto& [path, size] = **blob;
    chunk.set_total_size(size);
    std::ifstream in(path, std::ios::binary);
    if (!in || request.offset() > static_cast<uint64_t>(size)) {
      chunk.set_error(path + ": cannot read");
      return Send(identity, MessageType::kBlobChunk, chunk);
    }
    in.seekg(static_cast<std::streamoff>(request.offset()));
    std::string data(std::min<uint64_t>(kBlobChunkBytes, size - request.offset()), '\0');
    in.read(data.data(), static_cast<std::streamsize>(data.size()));
    if (static_cast<size_t>(in.gcount()) != data.size()) {
      chunk.set_error(path + ": short read (file changed?)");
    } else {
      chunk.set_data(std::move(data));
    }
    Send(identity, MessageType::kBlobChunk, chunk);
  }

  void OnSubmit(const std::string& identity, const proto::SubmitRequest& request) {
    proto::SubmitReply reply;
    StatusOr<JobSpec> job = ParseJobSpec(request.job_yaml(), request.base_dir(), "<submitted job>");
    if (job.ok()) {
      if (JobDriver* driver = DriverFor(job->kind)) {
        return OnSubmitDriven(identity, request, *job, driver);
      }
    }
    PlanOptions plan_options = PlanOptionsNow();
    plan_options.base_dir = request.base_dir();
    StatusOr<PlanResult> plan = job.ok()
                                    ? PlanJob(store_.get(), *job, request.job_yaml(), plan_options)
                                    : StatusOr<PlanResult>(job.status());
    if (!plan.ok()) {
      reply.set_error(plan.status().message());
      return Send(identity, MessageType::kSubmitReply, reply);
    }
    reply.set_job_id(plan->job_id);
    reply.set_tasks_total(plan->total);
    reply.set_tasks_planned(static_cast<int64_t>(plan->to_run.size()));
    running_jobs_.insert(plan->job_id);
    for (PendingTask& t : plan->to_run) AddOpen(std::move(t));
    log().info("job {} '{}': {} task(s), {} to run", plan->job_id, job->name, plan->total,
               plan->to_run.size());
    Send(identity, MessageType::kSubmitReply, reply);
    CheckJobs();
    Dispatch();
  }

  // A driven job (a search) has no tasks of its own: its driver files it
  // and submits its measurements as sub-jobs from a thread of its own.
  void OnSubmitDriven(const std::string& identity, const proto::SubmitRequest& request,
                      const JobSpec& job, JobDriver* driver) {
    proto::SubmitReply reply;
    StatusOr<int64_t> id = driver->Submit(store_.get(), job, request.job_yaml());
    if (!id.ok()) {
      reply.set_error(id.status().message());
      return Send(identity, MessageType::kSubmitReply, reply);
    }
    reply.set_job_id(*id);
    log().info("{} job {} '{}': driven on its own thread", job.kind, *id, job.name);
    Send(identity, MessageType::kSubmitReply, reply);
  }

  JobDriver* DriverFor(const std::string& kind) const {
    for (const auto& driver : drivers_) {
      if (driver->kind() == kind) return driver.get();
    }
    return nullptr;
  }

  // Hardware classes of the connected workers, sorted, each once.
  std::vector<std::string> ConnectedClasses() const {
    std::set<std::string> classes;
    for (const auto& [identity, w] : workers_) classes.insert(w.hardware_class);
    return {classes.begin(), classes.end()};
  }

  void OnStatus(const std::string& identity, const proto::StatusRequest& request) {
    proto::StatusReply reply;
    reply.set_job_id(request.job_id());
    reply.set_workers(static_cast<int32_t>(workers_.size()));
    for (const std::string& c : ConnectedClasses()) reply.add_hardware_classes(c);
    for (const auto& [kind, n] : malformed_) (*reply.mutable_malformed())[kind] = n;
    if (request.job_id() > 0) {
      CheckJobs();
      StatusOr<JobProgress> p = store_->Progress(request.job_id());
      if (!p.ok()) {
        reply.set_error(p.status().message());
      } else {
        reply.set_state(p->state);
        reply.set_tasks_total(p->total);
        reply.set_tasks_done(p->done);
        reply.set_tasks_failed(p->failed);
        for (const std::string& e : p->errors) reply.add_task_errors(e);
        int64_t running = 0;
        for (const auto& [id, t] : open_) {
          if (!t.leased_to.empty() && t.jobs.count(request.job_id())) ++running;
        }
        reply.set_tasks_running(running);
        StatusOr<std::vector<proto::EvalRow>> evals = store_->EvalRows(request.job_id());
        if (evals.ok()) {
          for (const auto& row : *evals) *reply.add_evaluations() = row;
        }
        StatusOr<std::vector<proto::BenchRow>> benches = store_->BenchRows(request.job_id());
        if (benches.ok()) {
          for (const auto& row : *benches) *reply.add_benchmarks() = row;
        }
        for (const auto& driver : drivers_) {
          int64_t next = 0;
          std::vector<std::string> lines =
              driver->Log(request.job_id(), request.search_log_from(), &next);
          if (next == 0) continue;  // not a job this driver drove
          for (std::string& line : lines) reply.add_search_log(std::move(line));
          reply.set_search_log_next(next);
        }
      }
    }
    Send(identity, MessageType::kStatusReply, reply);
  }

  void OnCancel(const std::string& identity, const proto::CancelRequest& request) {
    proto::CancelReply reply;
    StatusOr<JobProgress> p = store_->Progress(request.job_id());
    if (!p.ok() || p->state != "running") {
      reply.set_error("job " + std::to_string(request.job_id()) + " is not running");
      return Send(identity, MessageType::kCancelReply, reply);
    }
    Status s = store_->SetJobState(request.job_id(), "cancelled");
    if (!s.ok()) {
      reply.set_error(s.message());
      return Send(identity, MessageType::kCancelReply, reply);
    }
    running_jobs_.erase(request.job_id());
    for (auto it = open_.begin(); it != open_.end();) {
      it->second.jobs.erase(request.job_id());
      // Tasks of this job only are dropped; a running copy's result is
      // still stored if it arrives (it is a valid, reusable result).
      it = it->second.jobs.empty() ? open_.erase(it) : std::next(it);
    }
    open_per_job_.erase(request.job_id());
    reply.set_cancelled(true);
    log().info("job {} cancelled", request.job_id());
    Send(identity, MessageType::kCancelReply, reply);
  }

  CoordinatorOptions options_;
  std::string calibration_dir_;
  std::unique_ptr<Store> store_;
  asio::io_context io_;
  zmq::context_t zmq_context_;
  zmq::socket_t router_;
  asio::posix::stream_descriptor zmq_fd_;
  asio::steady_timer tick_;
  asio::steady_timer flush_timer_;
  asio::steady_timer fallback_timer_;
  asio::signal_set signals_;
  bool flush_scheduled_ = false;
  Status fatal_;

  std::unordered_map<std::string, Worker> workers_;
  std::deque<std::string> ready_;
  std::unordered_map<std::string, OpenTask> open_;
  std::deque<std::string> queue_;
  std::vector<std::string> expired_;
  std::map<std::string, Clock::time_point> missing_since_;  // class -> first seen missing
  std::set<int64_t> running_jobs_;
  std::map<int64_t, int64_t> open_per_job_;  // job -> its tasks in open_
  std::vector<TaskOutcome> buffer_;
  std::unique_ptr<ResultWriter> writer_;
  std::vector<JobDriverFactory> driver_factories_;
  std::vector<std::unique_ptr<JobDriver>> drivers_;
  int writes_in_flight_ = 0;
  std::map<std::string, uint64_t> malformed_;
  uint64_t duplicates_ = 0;
  uint64_t results_committed_ = 0;
};

StatusOr<std::unique_ptr<Coordinator>> Coordinator::Create(const CoordinatorOptions& options,
                                                           std::vector<JobDriverFactory> drivers) {
  if (options.heartbeat_ms == 0 || options.liveness == 0 || options.lease_ms == 0) {
    return InvalidArgument("heartbeat, liveness and lease must be > 0");
  }
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(options.db));
  auto impl = std::make_unique<Impl>(options, std::move(drivers), std::move(store));
  MIXQ_RETURN_IF_ERROR(impl->Init());
  return std::make_unique<Coordinator>(std::move(impl));
}

Coordinator::Coordinator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Coordinator::~Coordinator() = default;
Status Coordinator::Run() { return impl_->Run(); }

}  // namespace mixq
