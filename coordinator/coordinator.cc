#include "coordinator/coordinator.h"

#include <stdlib.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <vector>

#include "common/hardware_info.h"
#include "common/image_manifest.h"
#include "common/log.h"
#include "common/log_limiter.h"
#include "common/sha256.h"
#include "coordinator/file_roots.h"
#include "coordinator/job_planner.h"
#include "coordinator/job_spec.h"
#include "coordinator/lease_scheduler.h"
#include "coordinator/result_writer.h"
#include "coordinator/router_transport.h"
#include "coordinator/store.h"
#include "metrics/detection.h"
#include "metrics/fidelity.h"
#include "metrics/segmentation.h"

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

// A folder only this user can enter, for the keyless ipc:// endpoint of the
// coordinator's own job drivers; removed with its socket when the
// coordinator ends.
class PrivateDir {
 public:
  static StatusOr<std::unique_ptr<PrivateDir>> Make() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "mixq-coordinator-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return Unavailable("cannot make a private folder under " +
                         std::filesystem::temp_directory_path().string());
    }
    return std::make_unique<PrivateDir>(pattern);
  }
  explicit PrivateDir(std::string path) : path_(std::move(path)) {}
  ~PrivateDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Longest HELLO fields, in bytes: a class name is made of them and goes
// into every STATUS_REPLY.
constexpr size_t kMaxHostBytes = 255;
constexpr size_t kMaxBrandBytes = 256;
constexpr size_t kMaxIsaBytes = 64;
constexpr size_t kMaxVersionBytes = 64;
constexpr size_t kMaxTaskIdBytes = 128;
// Distinct task errors in a STATUS_REPLY, and the length each is cut to.
constexpr size_t kMaxTaskErrors = 50;
constexpr size_t kMaxTaskErrorBytes = 2000;

// Why a HELLO's fields are refused, "" when they are not.
std::string HelloProblem(const proto::Hello& hello) {
  auto too_long = [](const char* field, const std::string& value, size_t limit) {
    return value.size() > limit
               ? std::string("HELLO field '") + field + "' is " + std::to_string(value.size()) +
                     " bytes (limit " + std::to_string(limit) + ")"
               : std::string();
  };
  for (const std::string& problem :
       {too_long("host", hello.host(), kMaxHostBytes),
        too_long("mixq_version", hello.mixq_version(), kMaxVersionBytes),
        too_long("running_task_id", hello.running_task_id(), kMaxTaskIdBytes),
        too_long("hardware.cpu_brand", hello.hardware().cpu_brand(), kMaxBrandBytes),
        too_long("hardware.isa", hello.hardware().isa(), kMaxIsaBytes),
        too_long("hardware.isa_cap", hello.hardware().isa_cap(), kMaxIsaBytes)}) {
    if (!problem.empty()) return problem;
  }
  if (hello.threads() < 1 || hello.threads() > kMaxThreads || hello.hardware().cores() < 1 ||
      hello.hardware().cores() > kMaxThreads) {
    return "HELLO: threads and cores must be 1.." + std::to_string(kMaxThreads);
  }
  if (hello.host().empty() || hello.hardware().isa().empty()) {
    return "HELLO: host and hardware.isa are required";
  }
  return "";
}

bool Finite(double x) { return std::isfinite(x); }

// Why an eval result's detection or segmentation statistics cannot be the
// answer to `assign`, "" when they can: present exactly where the dataset
// has that task, parsing, and of the shard's images only, so that the
// store's blobs merge later.
std::string TaskStatsProblem(const proto::TaskAssign& assign, const proto::EvalResult& e) {
  const proto::TaskParams& task = assign.dataset().task();
  const bool detection = task.kind() == "detection", segmentation = task.kind() == "segmentation";
  if (e.detection().empty() == detection) {
    return detection ? "eval result without the detection statistics of a detection dataset"
                     : "eval result with detection statistics of a dataset without that task";
  }
  if (e.segmentation().empty() == segmentation) {
    return segmentation
               ? "eval result without the segmentation statistics of a segmentation dataset"
               : "eval result with segmentation statistics of a dataset without that task";
  }
  const int64_t begin = assign.begin(), end = assign.begin() + assign.count();
  if (detection) {
    StatusOr<DetectionStats> stats = DetectionStats::Parse(e.detection(), "eval result");
    if (!stats.ok()) return "eval result detection statistics: " + stats.status().message();
    if (stats->num_images() != assign.count() ||
        (!stats->images().empty() &&
         (*stats->images().begin() < begin || *stats->images().rbegin() >= end))) {
      return "eval result detection statistics of other images than the shard's";
    }
  }
  if (segmentation) {
    StatusOr<SegmentationStats> stats = SegmentationStats::Parse(e.segmentation(), "eval result");
    if (!stats.ok()) return "eval result segmentation statistics: " + stats.status().message();
    const int64_t ignore = stats->ignore_index().value_or(-1);
    if (stats->num_classes() != task.classes() ||
        ignore != std::max<int64_t>(task.ignore_index(), -1)) {
      return "eval result segmentation statistics of other classes than the dataset's";
    }
    // At most every pixel of the shard's masks (each no larger than the
    // image decoder's sides).
    constexpr int64_t kMaxMaskPixels = int64_t{65535} * 65535;
    if (stats->total() > assign.count() * kMaxMaskPixels) {
      return "eval result segmentation statistics of more pixels than the shard's masks";
    }
  }
  return "";
}

// Why a TASK_RESULT cannot be the answer to `assign`, "" when it can: the
// result kind the task asks for, counts within the task's samples, finite
// positive timings. A worker that sends anything else has a bug or lies.
std::string ResultProblem(const proto::TaskAssign& assign, const proto::TaskResult& result) {
  switch (assign.kind()) {
    case proto::TASK_KIND_EVALUATE: {
      if (!result.has_eval()) return "an evaluate task needs an eval result";
      const proto::EvalResult& e = result.eval();
      if (e.samples() != assign.count()) {
        return "eval result of " + std::to_string(e.samples()) + " samples for a shard of " +
               std::to_string(assign.count());
      }
      if (e.correct1() < 0 || e.correct1() > e.correct5() || e.correct5() > e.samples() ||
          (e.has_agree1() && (e.agree1() < 0 || e.agree1() > e.samples()))) {
        return "eval result counts out of range";
      }
      if (!Finite(e.seconds()) || e.seconds() < 0) return "eval result time out of range";
      // Fidelity only where the task asked for it, parsing, and of the
      // shard's samples: a blob the store keeps must merge later.
      if (e.fidelity().empty() != !assign.fidelity()) {
        return assign.fidelity() ? "eval result without the fidelity the task asked for"
                                 : "eval result with fidelity the task did not ask for";
      }
      if (!e.fidelity().empty()) {
        StatusOr<FidelityStats> stats = FidelityStats::Parse(e.fidelity(), "eval result");
        if (!stats.ok()) return "eval result fidelity: " + stats.status().message();
        for (const OutputFidelity& f : stats->outputs()) {
          if (f.samples != assign.count()) return "eval result fidelity of another shard size";
        }
      }
      return TaskStatsProblem(assign, e);
    }
    case proto::TASK_KIND_BENCHMARK: {
      if (!result.has_bench()) return "a benchmark task needs a bench result";
      const proto::BenchResult& b = result.bench();
      if (b.batch() != assign.batch()) return "bench result for another batch size";
      if (b.iterations() < 1 || !Finite(b.images_per_second()) || b.images_per_second() <= 0 ||
          !Finite(b.latency_ms_median()) || b.latency_ms_median() <= 0 ||
          !Finite(b.latency_ms_p90()) || b.latency_ms_p90() < 0) {
        return "bench result timings out of range";
      }
      return "";
    }
    case proto::TASK_KIND_PROFILE:
      if (!result.has_profile() || result.profile().json().empty()) {
        return "a profile task needs a profile result";
      }
      return "";
    case proto::TASK_KIND_CALIBRATE:
      if (!result.has_calibrate() || result.calibrate().stats_json().empty()) {
        return "a calibrate task needs a calibrate result";
      }
      if (result.calibrate().pass() != assign.calibrate().pass() ||
          result.calibrate().samples() != assign.count()) {
        return "calibrate result for another pass or shard";
      }
      return "";
    default:
      return "task of unknown kind";
  }
}

// Which role a message type needs: workers run tasks, clients submit and ask.
bool IsWorkerMessage(MessageType type) {
  return type == MessageType::kHello || type == MessageType::kHeartbeat ||
         type == MessageType::kTaskResult || type == MessageType::kTaskFailed ||
         type == MessageType::kBlobRequest;
}

bool IsClientMessage(MessageType type) {
  return type == MessageType::kSubmitRequest || type == MessageType::kStatusRequest ||
         type == MessageType::kCancelRequest;
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
  Impl(const CoordinatorOptions& options, ServerSecurity security,
       std::vector<JobDriverFactory> drivers, std::unique_ptr<Store> store, FileRoots roots)
      : options_(options),
        security_(std::move(security)),
        calibration_dir_(CalibrationDir(options.db)),
        roots_(std::move(roots)),
        store_(std::move(store)),
        scheduler_(
            LeaseOptions(options),
            [this](const std::string& identity, const proto::TaskAssign& assign) {
              Send(identity, MessageType::kTaskAssign, assign);
            },
            [this](const std::string& task_id, const std::string& error) {
              OnTaskFailedForGood(task_id, error);
            }),
        tick_(io_),
        flush_timer_(io_),
        signals_(io_, SIGINT, SIGTERM),
        driver_factories_(std::move(drivers)) {}

  Status Init() {
    auto on_message = [this](const PeerMessage& message) { OnMessage(message); };
    MIXQ_ASSIGN_OR_RETURN(driver_dir_, PrivateDir::Make());
    const std::string driver_endpoint = "ipc://" + driver_dir_->path() + "/drivers";
    RouterTransport::Endpoints endpoints;
    endpoints.endpoint = options_.bind;
    endpoints.local = {driver_endpoint};
    endpoints.security = &security_;
    MIXQ_ASSIGN_OR_RETURN(
        transport_, RouterTransport::Bind(&io_, endpoints, options_.max_message_bytes, on_message));
    if (security_.own) {
      log().info("CURVE on {}: {} allowed key(s)", options_.bind, security_.allow->size());
    } else if (IsNetworkEndpoint(options_.bind)) {
      log().warn(
          "{} is plain TCP (--insecure): anyone who reaches it can submit jobs, read "
          "every result, run tasks and store results",
          options_.bind);
    }
    StatusOr<int64_t> expired = store_->ExpireWorkers(kWorkerRowSeconds);
    if (!expired.ok()) log().warn("store: expiring worker rows: {}", expired.status().message());
    MIXQ_ASSIGN_OR_RETURN(writer_, ResultWriter::Open(options_.db));
    MIXQ_ASSIGN_OR_RETURN(std::vector<PendingTask> pending, store_->LoadPendingTasks());
    for (PendingTask& t : pending) scheduler_.AddTask(std::move(t));
    MIXQ_ASSIGN_OR_RETURN(std::vector<int64_t> running, store_->RunningJobs());
    running_jobs_.insert(running.begin(), running.end());
    // Driven jobs left running are driven again; their measurements are memoized.
    // Drivers submit their sub-jobs over the private keyless endpoint.
    const JobDriverContext context{options_.db, driver_endpoint, roots_};
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
    if (handle_sender_ != nullptr) return (*handle_sender_)(identity, type, body);
    transport_->Send(identity, type, body);
  }

 public:
  void Handle(const PeerMessage& message, const Coordinator::Sender& send) {
    handle_sender_ = &send;
    OnMessage(message);
    Settle();
    handle_sender_ = nullptr;
  }

 private:
  // Runs what handlers posted, then commits the buffered results and waits
  // for the writer's answer (which finishes jobs), instead of the timers.
  void Settle() {
    io_.restart();
    io_.poll();
    Flush();
    auto keep_running = asio::make_work_guard(io_);
    while (writes_in_flight_ > 0) {
      io_.restart();
      io_.run_one();
    }
    keep_running.reset();
    io_.restart();
    io_.poll();
  }

  void Dispatch() { scheduler_.Dispatch(Clock::now()); }

  // A dropped message, counted under `kind` and logged with the peer's
  // address and key, rate-limited per address (per connection where there
  // is none) and kind: a flood opens a new connection per message.
  void Drop(const PeerMessage& from, const std::string& kind, const std::string& detail) {
    ++malformed_[kind];
    const std::string peer = PeerLabel(from);
    const std::string source = from.address.empty() ? PeerName(from.identity) : from.address;
    uint64_t held_back = 0;
    if (!peer_log_.Allow(source + "/" + kind, LogLimiter::Clock::now(), &held_back)) return;
    log().warn("{}: dropped message ({}): {}{}", peer, kind, detail,
               held_back ? " (and " + std::to_string(held_back) + " more since)" : "");
  }

  static std::string PeerLabel(const PeerMessage& m) {
    std::string label = "peer " + PeerName(m.identity);
    if (!m.address.empty()) label += " at " + m.address;
    if (m.credentials) {
      label +=
          " (" + std::string(RoleName(m.credentials->role)) + " key " + m.credentials->name + ")";
    }
    return label;
  }

  // A keyless peer (ipc://, or --insecure) may do anything; a CURVE peer
  // what its key's role allows.
  static bool Allowed(const PeerMessage& m, MessageType type) {
    if (!m.credentials) return true;
    const Role role = m.credentials->role;
    if (IsWorkerMessage(type)) return role == Role::kWorker;
    if (IsClientMessage(type)) return role != Role::kWorker;
    return true;  // a type no coordinator takes: dropped as unexpected_type
  }
  static std::string KeyOf(const PeerMessage& m) {
    return m.credentials ? m.credentials->public_key : "";
  }
  static bool IsAdmin(const PeerMessage& m) {
    return !m.credentials || m.credentials->role == Role::kAdmin;
  }

  void OnMessage(const PeerMessage& from) {
    if (from.oversize) {
      return Drop(from, "oversize",
                  std::to_string(from.bytes) + " bytes over the limit of " +
                      std::to_string(options_.max_message_bytes));
    }
    const std::string& identity = from.identity;
    DecodeResult r = Decode(from.frames, options_.max_message_bytes);
    if (!r.ok()) {
      Drop(from, DecodeErrorName(r.error), r.detail);
      if (r.error == DecodeError::kVersion && r.peer_type == MessageType::kHello &&
          Allowed(from, MessageType::kHello)) {
        Refuse(identity, r.peer_version);
      }
      return;
    }
    const Decoded& m = *r.message;
    if (!Allowed(from, m.type)) {
      return Drop(from, "forbidden", std::string(MessageTypeName(m.type)) + " needs another role");
    }
    // A worker is the connection and the key it said HELLO with.
    const LeaseScheduler::Worker* worker = scheduler_.FindWorker(identity);
    if (worker != nullptr && worker->key != KeyOf(from)) {
      return Drop(from, "forbidden", "another key on a worker's connection");
    }
    const bool known_worker = scheduler_.Touch(identity, Clock::now());
    switch (m.type) {
      case MessageType::kHello:
        return OnHello(from, m.As<proto::Hello>());
      case MessageType::kHeartbeat:
        if (!known_worker) return AskToReconnect(identity);
        return;
      case MessageType::kTaskResult:
        return OnResult(from, m.As<proto::TaskResult>());
      case MessageType::kTaskFailed:
        return OnFailed(from, m.As<proto::TaskFailed>());
      case MessageType::kBlobRequest:
        return OnBlobRequest(from, m.As<proto::BlobRequest>());
      case MessageType::kSubmitRequest:
        return OnSubmit(from, m.As<proto::SubmitRequest>());
      case MessageType::kStatusRequest:
        return OnStatus(from, m.As<proto::StatusRequest>());
      case MessageType::kCancelRequest:
        return OnCancel(from, m.As<proto::CancelRequest>());
      default:
        // Valid but not for a coordinator (e.g. a WELCOME): counted like any
        // other message this side cannot use.
        return Drop(from, "unexpected_type", MessageTypeName(m.type));
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

  // True when `address` may say HELLO now: a bucket of hellos_per_minute
  // per address, refilled continuously, so a reconnecting worker always
  // gets in and a flood does not.
  bool HelloRateAllows(const std::string& address) {
    if (address.empty()) return true;  // no address known (inproc)
    const Clock::time_point now = Clock::now();
    if (hello_buckets_.size() > 10000 && hello_buckets_.count(address) == 0) hello_buckets_.clear();
    const double capacity = options_.hellos_per_minute;
    auto [it, fresh] = hello_buckets_.try_emplace(address, HelloBucket{capacity, now});
    HelloBucket& b = it->second;
    const double minutes = std::chrono::duration<double>(now - b.at).count() / 60.0;
    b.tokens = std::min(capacity, b.tokens + minutes * capacity);
    b.at = now;
    if (b.tokens < 1.0) return false;
    b.tokens -= 1.0;
    return true;
  }

  void RefuseWorker(const std::string& identity, const std::string& reason) {
    proto::Refuse refuse;
    refuse.set_reason(reason);
    refuse.set_coordinator_protocol_version(kProtocolVersion);
    Send(identity, MessageType::kRefuse, refuse);
  }

  void OnHello(const PeerMessage& from, const proto::Hello& hello) {
    const std::string& identity = from.identity;
    if (hello.protocol_version() != kProtocolVersion) {
      return Refuse(identity, hello.protocol_version());
    }
    if (!HelloRateAllows(from.address)) {
      return Drop(from, "hello_rate",
                  "more than " + std::to_string(options_.hellos_per_minute) +
                      " HELLOs a minute from one address");
    }
    if (const std::string problem = HelloProblem(hello); !problem.empty()) {
      Drop(from, "hello_fields", problem);
      return RefuseWorker(identity, problem);
    }
    if (scheduler_.FindWorker(identity) == nullptr &&
        scheduler_.worker_count() >= options_.max_workers) {
      Drop(from, "max_workers", "the coordinator has its maximum of workers");
      return RefuseWorker(identity, "the coordinator has " + std::to_string(options_.max_workers) +
                                        " workers already (its --max-workers)");
    }
    scheduler_.LoseWorker(identity, "said HELLO again");
    LeaseScheduler::Worker w;
    w.identity = identity;
    w.key = KeyOf(from);
    w.name = hello.host() + ":" + std::to_string(hello.pid());
    w.host = hello.host();
    w.hardware_class = HardwareClassName(hello.hardware().cpu_brand(), hello.hardware().cores(),
                                         hello.hardware().isa());
    StatusOr<int64_t> hw = store_->UpsertHardwareClass(hello.hardware(), w.hardware_class);
    if (hw.ok()) {
      w.hardware_class_id = *hw;
      StatusOr<int64_t> id =
          store_->UpsertWorker(hello.host(), hello.pid(), *hw, hello.mixq_version(), w.key);
      if (id.ok()) w.db_id = *id;
    }
    if (!hw.ok() || w.db_id == 0) log().error("store: cannot record worker {}", w.name);
    proto::Welcome welcome;
    welcome.set_worker_id(std::to_string(w.db_id));
    welcome.set_hardware_class(w.hardware_class);
    welcome.set_heartbeat_ms(options_.heartbeat_ms);
    welcome.set_liveness(options_.liveness);
    Send(identity, MessageType::kWelcome, welcome);
    log().info("worker {} joined ({}{}), {} worker(s)", w.name, w.hardware_class,
               from.credentials ? ", key " + from.credentials->name : "",
               scheduler_.worker_count() + 1);
    scheduler_.AddWorker(std::move(w), hello.running_task_id(), Clock::now());
    Dispatch();
  }

  // Only the worker that holds a task's lease may answer it (a peer that
  // learnt or guessed a task id cannot), and only with a result of the
  // task's kind and shape; anything else from the holder fails the attempt.
  void OnResult(const PeerMessage& from, const proto::TaskResult& result) {
    const std::string& identity = from.identity;
    const PendingTask* leased = scheduler_.LeasedTo(identity, result.task_id());
    const LeaseScheduler::Worker* w = scheduler_.FindWorker(identity);
    if (leased == nullptr) {
      // Finished already (a requeued copy won), leased to another worker, or
      // never ours: not stored.
      ++duplicates_;
      if (w == nullptr) return AskToReconnect(identity);
      Drop(from, "not_leased",
           "TASK_RESULT for task " + result.task_id().substr(0, 12) + " it holds no lease of");
    } else if (const std::string problem = ResultProblem(leased->assign, result);
               !problem.empty()) {
      Drop(from, "bad_result", problem);
      scheduler_.TaskFailed(result.task_id(), "bad result from worker " + w->name + ": " + problem,
                            true);
    } else {
      scheduler_.Complete(result.task_id());
      TaskOutcome outcome;
      outcome.result = result;
      outcome.worker_id = w->db_id;
      outcome.hardware_class_id = w->hardware_class_id;
      outcome.worker_key = w->key;
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

  void OnFailed(const PeerMessage& from, const proto::TaskFailed& failed) {
    const std::string& identity = from.identity;
    if (scheduler_.FindWorker(identity) == nullptr) return AskToReconnect(identity);
    if (scheduler_.LeasedTo(identity, failed.task_id()) == nullptr) {
      // Only the lease holder's word moves a task; the worker is free again
      // all the same if this was the task it was busy with.
      Drop(from, "not_leased",
           "TASK_FAILED for task " + failed.task_id().substr(0, 12) + " it holds no lease of");
      scheduler_.Release(identity, failed.task_id());
      return Dispatch();
    }
    if (failed.not_started()) {
      // The worker is busy with a task we do not know it holds (we lost
      // track, e.g. across a reconnect).
      scheduler_.NotStarted(identity, failed.task_id());
      return Dispatch();
    }
    scheduler_.TaskFailed(failed.task_id(), failed.error().substr(0, kMaxTaskErrorBytes),
                          failed.retryable());
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

  // True when the task `identity` holds the lease of names blob `sha256`.
  bool LeaseNeedsBlob(const std::string& identity, const std::string& sha256) const {
    const LeaseScheduler::Worker* w = scheduler_.FindWorker(identity);
    const PendingTask* task = w ? scheduler_.LeasedTo(identity, w->task_id) : nullptr;
    if (task == nullptr) return false;
    const proto::TaskAssign& a = task->assign;
    for (const proto::DatasetInputRef& input : a.dataset().inputs()) {
      if (sha256 == input.samples().sha256()) return true;
    }
    if (sha256.empty()) return false;  // an unset blob (no `images` with named inputs)
    if (sha256 == a.model().sha256() || sha256 == a.dataset().images().sha256() ||
        sha256 == a.dataset().labels().sha256() || sha256 == a.dataset().annotations().sha256() ||
        sha256 == a.dataset().masks().sha256() ||
        (!a.calibration_sha256().empty() && sha256 == a.calibration().sha256())) {
      return true;
    }
    return a.dataset().format() == "images" &&
           (SliceNames(a, a.dataset().images().sha256(), sha256) ||
            (!a.dataset().masks().sha256().empty() &&
             SliceNames(a, a.dataset().masks().sha256(), sha256)));
  }

  // True when the manifest `manifest_sha` (an image folder's, or its
  // masks') lists `sha256` inside task `a`'s slice: a worker fetches its own
  // shard's images and masks, no others.
  bool SliceNames(const proto::TaskAssign& a, const std::string& manifest_sha,
                  const std::string& sha256) const {
    auto it = manifests_.find(manifest_sha);
    if (it == manifests_.end()) {
      StatusOr<std::optional<std::pair<std::string, int64_t>>> blob =
          store_->FindBlob(manifest_sha);
      if (!blob.ok() || !blob->has_value()) return false;
      StatusOr<std::vector<ImageManifestEntry>> entries = ReadImageManifest((*blob)->first);
      if (!entries.ok()) {
        log().warn("image manifest {}: {}", manifest_sha.substr(0, 12), entries.status().message());
        return false;
      }
      // Two kept (a dataset's images and masks), as a worker asks for a
      // shard's files one after another.
      if (manifests_.size() >= 2) manifests_.clear();
      it = manifests_.emplace(manifest_sha, std::move(*entries)).first;
    }
    const std::vector<ImageManifestEntry>& manifest = it->second;
    const int64_t size = static_cast<int64_t>(manifest.size());
    const int64_t begin = std::clamp<int64_t>(a.begin(), 0, size);
    const int64_t end = std::clamp<int64_t>(a.begin() + std::max<int64_t>(a.count(), 0), 0, size);
    for (int64_t i = begin; i < end; ++i) {
      if (manifest[static_cast<size_t>(i)].sha256 == sha256) return true;
    }
    return false;
  }

  // A worker admitted by key gets the blobs of the task it holds the lease
  // of, and nothing else; every blob comes from under the roots.
  void OnBlobRequest(const PeerMessage& from, const proto::BlobRequest& request) {
    const std::string& identity = from.identity;
    proto::BlobChunk chunk;
    chunk.set_sha256(request.sha256());
    chunk.set_offset(request.offset());
    // Checked first, as the messages below name the hash: a peer's bytes
    // would otherwise come back (and go to the log) as they were sent.
    if (!IsSha256Hex(request.sha256())) {
      Drop(from, "bad_request", "BLOB_REQUEST for a hash that is not 64 lower-case hex digits");
      chunk.set_error("a blob hash of " + std::to_string(request.sha256().size()) +
                      " bytes that is not 64 lower-case hex digits");
      return Send(identity, MessageType::kBlobChunk, chunk);
    }
    if (from.credentials && !LeaseNeedsBlob(identity, request.sha256())) {
      Drop(from, "not_leased", "BLOB_REQUEST for a blob its lease does not name");
      chunk.set_error("blob " + request.sha256() + " is not served");
      return Send(identity, MessageType::kBlobChunk, chunk);
    }
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

  void OnSubmit(const PeerMessage& from, const proto::SubmitRequest& request) {
    const std::string& identity = from.identity;
    proto::SubmitReply reply;
    StatusOr<JobSpec> job = ParseJobSpec(request.job_yaml(), request.base_dir(), "<submitted job>");
    if (job.ok()) {
      if (JobDriver* driver = DriverFor(job->kind)) {
        return OnSubmitDriven(from, request, *job, driver);
      }
    }
    PlanOptions plan_options = PlanOptionsNow();
    plan_options.base_dir = request.base_dir();
    plan_options.owner = KeyOf(from);
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
  void OnSubmitDriven(const PeerMessage& from, const proto::SubmitRequest& request,
                      const JobSpec& job, JobDriver* driver) {
    const std::string& identity = from.identity;
    proto::SubmitReply reply;
    StatusOr<int64_t> id = driver->Submit(store_.get(), job, request.job_yaml(), KeyOf(from));
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

  // A client sees its own jobs; an admin (or a keyless peer) every job. A
  // job the peer may not see looks exactly like one that does not exist.
  bool MaySee(const PeerMessage& from, int64_t job_id) {
    if (IsAdmin(from)) return true;
    StatusOr<std::string> owner = store_->JobOwner(job_id);
    return owner.ok() && *owner == KeyOf(from);
  }

  void OnStatus(const PeerMessage& from, const proto::StatusRequest& request) {
    const std::string& identity = from.identity;
    proto::StatusReply reply;
    reply.set_job_id(request.job_id());
    reply.set_workers(static_cast<int32_t>(scheduler_.worker_count()));
    for (const std::string& c : scheduler_.ConnectedClasses()) reply.add_hardware_classes(c);
    for (const auto& [kind, n] : malformed_) (*reply.mutable_malformed())[kind] = n;
    if (request.job_id() > 0) {
      CheckJobs();
      const bool visible = MaySee(from, request.job_id());
      StatusOr<JobProgress> p =
          visible ? store_->Progress(request.job_id()) : StatusOr<JobProgress>(JobProgress{});
      if (!p.ok()) {
        reply.set_error(p.status().message());
      } else {
        reply.set_state(p->state);
        reply.set_tasks_total(p->total);
        reply.set_tasks_done(p->done);
        reply.set_tasks_failed(p->failed);
        for (const std::string& e : p->errors) {
          if (static_cast<size_t>(reply.task_errors_size()) >= kMaxTaskErrors) break;
          reply.add_task_errors(e.substr(0, kMaxTaskErrorBytes));
        }
        // Nor its leases, results or search log: they are the job too.
        if (visible) AddJobDetails(request, &reply);
      }
    }
    Send(identity, MessageType::kStatusReply, reply);
  }

  // What a job's owner (or an admin) sees beyond its progress: its leases,
  // a page of its result rows and its search log.
  void AddJobDetails(const proto::StatusRequest& request, proto::StatusReply* reply) {
    reply->set_tasks_running(scheduler_.LeasedTasksOf(request.job_id()));
    AddRowPage(request, reply);
    for (const auto& driver : drivers_) {
      int64_t next = 0;
      std::vector<std::string> lines =
          driver->Log(request.job_id(), request.search_log_from(), &next);
      if (next == 0) continue;  // not a job this driver drove
      for (std::string& line : lines) reply->add_search_log(std::move(line));
      reply->set_search_log_next(next);
    }
  }

  // Evaluations, then benchmarks, from request.rows_from(), until the page
  // holds options_.status_page_bytes; rows_next says where the next page starts.
  void AddRowPage(const proto::StatusRequest& request, proto::StatusReply* reply) {
    StatusOr<std::vector<proto::EvalRow>> evals = store_->EvalRows(request.job_id());
    StatusOr<std::vector<proto::BenchRow>> benches = store_->BenchRows(request.job_id());
    const size_t n_evals = evals.ok() ? evals->size() : 0;
    const size_t n_rows = n_evals + (benches.ok() ? benches->size() : 0);
    size_t bytes = 0;
    for (size_t i = static_cast<size_t>(std::max<int64_t>(0, request.rows_from())); i < n_rows;
         ++i) {
      const google::protobuf::Message& row =
          i < n_evals ? static_cast<const google::protobuf::Message&>((*evals)[i])
                      : static_cast<const google::protobuf::Message&>((*benches)[i - n_evals]);
      const size_t size = row.ByteSizeLong();
      // Half the message limit at most: the rest of the reply has room.
      const size_t page = std::min(options_.status_page_bytes, options_.max_message_bytes / 2);
      if (bytes > 0 && bytes + size > page) {
        reply->set_rows_next(static_cast<int64_t>(i));
        return;
      }
      bytes += size;
      if (i < n_evals) {
        *reply->add_evaluations() = (*evals)[i];
      } else {
        *reply->add_benchmarks() = (*benches)[i - n_evals];
      }
    }
  }

  void OnCancel(const PeerMessage& from, const proto::CancelRequest& request) {
    const std::string& identity = from.identity;
    proto::CancelReply reply;
    StatusOr<JobProgress> p = MaySee(from, request.job_id()) ? store_->Progress(request.job_id())
                                                             : StatusOr<JobProgress>(JobProgress{});
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

  // Worker rows not seen for this long, with no result of theirs, are deleted at start.
  static constexpr int64_t kWorkerRowSeconds = 24 * 3600;

  struct HelloBucket {
    double tokens;
    Clock::time_point at;
  };

  CoordinatorOptions options_;
  ServerSecurity security_;
  std::unique_ptr<PrivateDir> driver_dir_;  // the drivers' ipc endpoint
  LogLimiter peer_log_;
  std::map<std::string, HelloBucket> hello_buckets_;  // by peer address
  std::string calibration_dir_;
  FileRoots roots_;
  std::unique_ptr<Store> store_;
  // The image manifests the last blob checks read (SliceNames), by hash.
  mutable std::map<std::string, std::vector<ImageManifestEntry>> manifests_;
  asio::io_context io_;
  std::unique_ptr<RouterTransport> transport_;  // bound by Init
  LeaseScheduler scheduler_;
  asio::steady_timer tick_;
  asio::steady_timer flush_timer_;
  asio::signal_set signals_;
  bool flush_scheduled_ = false;
  Status fatal_;
  const Coordinator::Sender* handle_sender_ = nullptr;  // set inside Handle() only

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
  if (options.max_workers == 0 || options.hellos_per_minute == 0 ||
      options.status_page_bytes == 0) {
    return InvalidArgument(
        "--max-workers, --hellos-per-minute and --status-page-bytes must be > 0");
  }
  MIXQ_ASSIGN_OR_RETURN(
      ServerSecurity security,
      LoadServerSecurity(options.bind, options.key_file, options.allow_file, options.insecure));
  // The lock comes before the store, so that a second coordinator neither
  // migrates nor checks a database the first one is writing.
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<DbLock> lock, DbLock::Acquire(options.db));
  MIXQ_ASSIGN_OR_RETURN(FileRoots roots, MakeFileRoots(options));
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(options.db));
  auto impl = std::make_unique<Impl>(options, std::move(security), std::move(drivers),
                                     std::move(store), std::move(roots));
  MIXQ_RETURN_IF_ERROR(impl->Init());
  return std::make_unique<Coordinator>(std::move(lock), std::move(impl));
}

Coordinator::Coordinator(std::unique_ptr<DbLock> lock, std::unique_ptr<Impl> impl)
    : lock_(std::move(lock)), impl_(std::move(impl)) {}
Coordinator::~Coordinator() = default;
Status Coordinator::Run() { return impl_->Run(); }
void Coordinator::Handle(const PeerMessage& message, const Sender& send) {
  impl_->Handle(message, send);
}

}  // namespace mixq
