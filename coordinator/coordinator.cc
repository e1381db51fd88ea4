#include "coordinator/coordinator.h"

#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <vector>

#include "common/hardware_info.h"
#include "common/log.h"
#include "coordinator/file_roots.h"
#include "coordinator/job_planner.h"
#include "coordinator/job_spec.h"
#include "coordinator/lease_scheduler.h"
#include "coordinator/result_writer.h"
#include "coordinator/router_transport.h"
#include "coordinator/store.h"

namespace mixq {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// Calibrations made from calibrate tasks live next to the database.
std::string CalibrationDir(const std::string& db) {
  if (db.empty() || db == ":memory:") {
    return (std::filesystem::temp_directory_path() / "mixq-calibrations").string();
  }
  return (std::filesystem::absolute(db).parent_path() / "calibrations").string();
}

// The roots as configured, with their defaults: the working directory to
// read, the database's folder to write.
StatusOr<FileRoots> MakeFileRoots(const CoordinatorOptions& options) {
  std::vector<std::string> data_roots = options.data_roots;
  if (data_roots.empty()) data_roots.push_back(std::filesystem::current_path().string());
  std::string output_root = options.output_root;
  if (output_root.empty()) {
    output_root = options.db.empty() || options.db == ":memory:"
                      ? std::filesystem::current_path().string()
                      : std::filesystem::absolute(options.db).parent_path().string();
  }
  return FileRoots::Make(data_roots, output_root, CalibrationDir(options.db));
}

LeaseScheduler::Options LeaseOptions(const CoordinatorOptions& options) {
  LeaseScheduler::Options lease;
  lease.heartbeat_ms = options.heartbeat_ms;
  lease.liveness = options.liveness;
  lease.lease_ms = options.lease_ms;
  lease.max_attempts = options.max_attempts;
  lease.missing_class_grace_ms = options.missing_class_grace_ms;
  lease.exclusive_timing = options.exclusive_timing;
  return lease;
}

}  // namespace

// The protocol's request handling: each message from the transport goes to
// its handler, which asks the scheduler for lease decisions, the store and
// the job planner for jobs, and the writer for results; jobs end here
// (CheckJobs) once their last result is committed.
class Coordinator::Impl {
 public:
  Impl(const CoordinatorOptions& options, std::vector<JobDriverFactory> drivers,
       std::unique_ptr<Store> store, FileRoots roots)
      : options_(options),
        calibration_dir_(CalibrationDir(options.db)),
        roots_(std::move(roots)),
        store_(std::move(store)),
        scheduler_(
            LeaseOptions(options),
            [this](const std::string& identity, const proto::TaskAssign& assign) {
              transport_->Send(identity, MessageType::kTaskAssign, assign);
            },
            [this](const std::string& task_id, const std::string& error) {
              OnTaskFailedForGood(task_id, error);
            }),
        tick_(io_),
        flush_timer_(io_),
        signals_(io_, SIGINT, SIGTERM),
        driver_factories_(std::move(drivers)) {}

  Status Init() {
    auto on_message = [this](const std::string& identity, const std::vector<std::string>& frames) {
      OnMessage(identity, frames);
    };
    MIXQ_ASSIGN_OR_RETURN(
        transport_,
        RouterTransport::Bind(&io_, options_.bind, options_.max_message_bytes, on_message));
    MIXQ_ASSIGN_OR_RETURN(writer_, ResultWriter::Open(options_.db));
    MIXQ_ASSIGN_OR_RETURN(std::vector<PendingTask> pending, store_->LoadPendingTasks());
    for (PendingTask& t : pending) scheduler_.AddTask(std::move(t));
    MIXQ_ASSIGN_OR_RETURN(std::vector<int64_t> running, store_->RunningJobs());
    running_jobs_.insert(running.begin(), running.end());
    // Driven jobs left running are driven again; their measurements are memoized.
    const JobDriverContext context{options_.db, options_.bind, roots_};
    for (const JobDriverFactory& make : driver_factories_) {
      drivers_.push_back(make(context));
      MIXQ_RETURN_IF_ERROR(drivers_.back()->Resume(store_.get()));
    }
    log().info("coordinator on {} with {}: {} running job(s), {} task(s) to run", options_.bind,
               options_.db, running_jobs_.size(), scheduler_.open_count());
    std::string data_roots;
    for (const std::string& root : roots_.data_roots()) {
      data_roots += (data_roots.empty() ? "" : ", ") + root;
    }
    log().info("jobs read files under {} (--data-root) and write under {} (--output-root)",
               data_roots, roots_.output_root());
    return Status::Ok();
  }

  Status Run() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      log().info("signal {}: shutting down", signal);
      io_.stop();
    });
    transport_->Start();
    ScheduleTick();
    // Jobs whose tasks all finished before a crash still need finishing.
    CheckJobs();
    io_.run();
    for (auto& driver : drivers_) driver->RequestStop();
    Flush();
    writer_.reset();   // commits what is queued before returning
    drivers_.clear();  // joins the drivers' threads (their jobs stay running)
    return fatal_;
  }

 private:
  void ScheduleTick() {
    tick_.expires_after(std::chrono::milliseconds(options_.heartbeat_ms));
    tick_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      OnTick();
      transport_->Drain();
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
      transport_->Drain();
    });
  }

  void Send(const std::string& identity, MessageType type, const google::protobuf::Message& body) {
    transport_->Send(identity, type, body);
  }

  void Dispatch() { scheduler_.Dispatch(Clock::now()); }

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
        Refuse(identity, r.peer_version);
      }
      return;
    }
    const Decoded& m = *r.message;
    const bool known_worker = scheduler_.Touch(identity, Clock::now());
    switch (m.type) {
      case MessageType::kHello:
        return OnHello(identity, m.As<proto::Hello>());
      case MessageType::kHeartbeat:
        if (!known_worker) return AskToReconnect(identity);
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

  // A HELLO of another protocol version, whether its payload parsed or not.
  void Refuse(const std::string& identity, int64_t peer_version) {
    proto::Refuse refuse;
    refuse.set_reason("protocol version " + std::to_string(peer_version) +
                      " is not supported: this coordinator speaks version " +
                      std::to_string(kProtocolVersion));
    refuse.set_coordinator_protocol_version(kProtocolVersion);
    Send(identity, MessageType::kRefuse, refuse);
  }

  void AskToReconnect(const std::string& identity) {
    proto::Reconnect reconnect;
    reconnect.set_reason("unknown worker; say HELLO");
    Send(identity, MessageType::kReconnect, reconnect);
  }

  void OnHello(const std::string& identity, const proto::Hello& hello) {
    if (hello.protocol_version() != kProtocolVersion) {
      return Refuse(identity, hello.protocol_version());
    }
    scheduler_.LoseWorker(identity, "said HELLO again");
    LeaseScheduler::Worker w;
    w.identity = identity;
    w.name = hello.host() + ":" + std::to_string(hello.pid());
    w.host = hello.host();
    w.hardware_class = HardwareClassName(hello.hardware().cpu_brand(), hello.hardware().cores(),
                                         hello.hardware().isa());
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
               scheduler_.worker_count() + 1);
    scheduler_.AddWorker(std::move(w), hello.running_task_id(), Clock::now());
    Dispatch();
  }

  void OnResult(const std::string& identity, const proto::TaskResult& result) {
    if (!scheduler_.Complete(result.task_id())) {
      // Finished already (a requeued copy won) or never ours: stored once.
      ++duplicates_;
    } else {
      TaskOutcome outcome;
      outcome.result = result;
      if (const LeaseScheduler::Worker* w = scheduler_.FindWorker(identity)) {
        outcome.worker_id = w->db_id;
        outcome.hardware_class_id = w->hardware_class_id;
      }
      buffer_.push_back(std::move(outcome));
      if (buffer_.size() >= 1000) {
        Flush();
        CheckJobs();
      } else {
        ScheduleFlush();
      }
    }
    if (!scheduler_.Release(identity, result.task_id())) AskToReconnect(identity);
    Dispatch();
  }

  void OnFailed(const std::string& identity, const proto::TaskFailed& failed) {
    if (failed.not_started()) {
      // The worker is busy with a task we do not know it holds (we lost
      // track, e.g. across a reconnect).
      scheduler_.NotStarted(identity, failed.task_id());
      return Dispatch();
    }
    scheduler_.TaskFailed(failed.task_id(), failed.error(), failed.retryable());
    if (!scheduler_.Release(identity, failed.task_id())) AskToReconnect(identity);
    Dispatch();
  }

  void OnTaskFailedForGood(const std::string& task_id, const std::string& error) {
    Status s = store_->MarkTaskFailed(task_id, error);
    if (!s.ok()) log().error("store: {}", s.message());
    CheckJobs();
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
    transport_->Drain();
  }

  // Finishes running jobs with no open task left and every result committed.
  void CheckJobs() {
    for (auto it = running_jobs_.begin(); it != running_jobs_.end();) {
      // Cheap test first: the store is asked only once nothing is open here.
      if (scheduler_.OpenTasksOf(*it) > 0 || !buffer_.empty() || writes_in_flight_ > 0) {
        ++it;
        continue;
      }
      StatusOr<JobProgress> p = store_->Progress(*it);
      const bool ended = p.ok() && p->state == "running" && p->done + p->failed >= p->total;
      if (ended && p->failed == 0) {
        StatusOr<bool> more = PlanNextPhase(*it);
        if (!more.ok()) {
          FailJob(*it, "planning its next phase: " + more.status().message());
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
        if (s.ok()) {
          log().info("job {} finished: {} task(s), {} failed", *it, p->total, p->failed);
        } else {
          // Its results are stored but its end is not: fail it with the
          // reason, so that status shows why rather than "running" forever.
          FailJob(*it, "storing its completion: " + s.message());
        }
        it = running_jobs_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // Ends a job as failed with `why`, which `mixq status` shows. If even
  // that cannot be stored the job stays running in the database; the log
  // says so, and a restarted coordinator tries to finish it again.
  void FailJob(int64_t job_id, const std::string& why) {
    log().error("job {} failed: {}", job_id, why);
    Status s = store_->FailJob(job_id, why);
    if (!s.ok()) log().error("store: cannot record job {} as failed: {}", job_id, s.message());
  }

  // A job whose tasks all ended may have a next phase (calibrate pass 2,
  // then its configs): true when new tasks were opened for it.
  StatusOr<bool> PlanNextPhase(int64_t job_id) {
    MIXQ_ASSIGN_OR_RETURN(PlanResult plan,
                          mixq::PlanNextPhase(store_.get(), job_id, PlanOptionsNow()));
    if (plan.to_run.empty()) return false;
    log().info("job {}: next phase, {} task(s) to run", job_id, plan.to_run.size());
    for (PendingTask& t : plan.to_run) scheduler_.AddTask(std::move(t));
    asio::post(io_, [this] { Dispatch(); });
    return true;
  }

  PlanOptions PlanOptionsNow() const {
    PlanOptions options;
    options.lease_ms = options_.lease_ms;
    options.known_classes = scheduler_.ConnectedClasses();
    options.calibration_dir = calibration_dir_;
    options.roots = roots_;
    return options;
  }

  // Heartbeats first, then the round that may lose the silent workers.
  void OnTick() {
    const Clock::time_point now = Clock::now();
    proto::Heartbeat beat;
    for (const std::string& identity : scheduler_.LiveWorkers(now)) {
      Send(identity, MessageType::kHeartbeat, beat);
    }
    scheduler_.Tick(now);
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
    // Checked again now: the roots may have changed since the blob was
    // registered, or its path may lead elsewhere by now. No path in the
    // answer, so a peer learns nothing about files it may not have.
    if (!roots_.MayRead(path)) {
      log().warn("peer {}: blob {} ({}) is outside the data roots: not served", PeerName(identity),
                 request.sha256(), path);
      chunk.set_error("blob " + request.sha256() + " is not served");
      return Send(identity, MessageType::kBlobChunk, chunk);
    }
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
    for (PendingTask& t : plan->to_run) scheduler_.AddTask(std::move(t));
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

  void OnStatus(const std::string& identity, const proto::StatusRequest& request) {
    proto::StatusReply reply;
    reply.set_job_id(request.job_id());
    reply.set_workers(static_cast<int32_t>(scheduler_.worker_count()));
    for (const std::string& c : scheduler_.ConnectedClasses()) reply.add_hardware_classes(c);
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
        reply.set_tasks_running(scheduler_.LeasedTasksOf(request.job_id()));
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
    scheduler_.DropJob(request.job_id());
    reply.set_cancelled(true);
    log().info("job {} cancelled", request.job_id());
    Send(identity, MessageType::kCancelReply, reply);
  }

  CoordinatorOptions options_;
  std::string calibration_dir_;
  FileRoots roots_;
  std::unique_ptr<Store> store_;
  asio::io_context io_;
  std::unique_ptr<RouterTransport> transport_;  // bound by Init
  LeaseScheduler scheduler_;
  asio::steady_timer tick_;
  asio::steady_timer flush_timer_;
  asio::signal_set signals_;
  bool flush_scheduled_ = false;
  Status fatal_;

  std::set<int64_t> running_jobs_;
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
  // The lock comes before the store, so that a second coordinator neither
  // migrates nor checks a database the first one is writing.
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<DbLock> lock, DbLock::Acquire(options.db));
  MIXQ_ASSIGN_OR_RETURN(FileRoots roots, MakeFileRoots(options));
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(options.db));
  auto impl =
      std::make_unique<Impl>(options, std::move(drivers), std::move(store), std::move(roots));
  MIXQ_RETURN_IF_ERROR(impl->Init());
  return std::make_unique<Coordinator>(std::move(lock), std::move(impl));
}

Coordinator::Coordinator(std::unique_ptr<DbLock> lock, std::unique_ptr<Impl> impl)
    : lock_(std::move(lock)), impl_(std::move(impl)) {}
Coordinator::~Coordinator() = default;
Status Coordinator::Run() { return impl_->Run(); }

}  // namespace mixq
