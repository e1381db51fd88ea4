// Lease scheduling for the coordinator (schemas/protocol.md §5 and §7): the
// connected workers, the open tasks (queued or leased to a worker), the queue,
// and every decision about them: which ready worker gets which queued task
// (queue order, hardware class, the HostGate for timed tasks), requeueing
// after a lost worker, an expired lease or a retryable failure, failing a
// task for good after max_attempts or once its hardware class has been absent
// for the grace period, and dropping a cancelled job's tasks. It knows no
// socket and reads no clock: callers pass "now", and it hands each
// TASK_ASSIGN and each task failed for good to the functions it was given, so
// tests drive it without a network and without sleeping. One thread uses it
// (the coordinator's io_context thread).
#ifndef MIXQ_COORDINATOR_LEASE_SCHEDULER_H_
#define MIXQ_COORDINATOR_LEASE_SCHEDULER_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "coordinator/store.h"
#include "schemas/mixq.pb.h"

namespace mixq {

class LeaseScheduler {
 public:
  using Clock = std::chrono::steady_clock;

  // The CoordinatorOptions (coordinator.h) of the same names, which say what
  // each one means; the defaults are theirs.
  struct Options {
    uint32_t heartbeat_ms = 1000;
    uint32_t liveness = 3;
    uint32_t lease_ms = 10 * 60 * 1000;
    int max_attempts = 3;
    uint32_t missing_class_grace_ms = 10 * 1000;
    bool exclusive_timing = true;
  };

  struct Worker {
    std::string identity;  // the peer's ROUTER identity
    std::string name;      // host:pid, for logs
    std::string host;      // timed tasks run alone on a host (host_gate.h)
    std::string hardware_class;
    // The CURVE public key it was admitted with ("" on a keyless endpoint):
    // a later message on the same connection must carry the same one.
    std::string key;
    // The store's ids, carried for the results this worker sends.
    int64_t db_id = 0;
    int64_t hardware_class_id = 0;
    std::string task_id;  // "" = ready
    Clock::time_point last_seen;
  };

  // Sends `assign` to the worker `identity` as a TASK_ASSIGN.
  using AssignFn =
      std::function<void(const std::string& identity, const proto::TaskAssign& assign)>;
  // Called once task `task_id` has failed for good and left the open tasks,
  // so that its owner records the failure and ends the jobs it ended. It may
  // add tasks (AddTask).
  using FailedFn = std::function<void(const std::string& task_id, const std::string& error)>;

  LeaseScheduler(const Options& options, AssignFn assign, FailedFn failed);

  // Opens `task` for its job; a task already open (shared by jobs) only
  // counts for one more job. New tasks join the back of the queue.
  void AddTask(PendingTask task);

  // `worker` said HELLO. A worker still running `running_task_id` from before
  // a reconnect is busy with it, and holds its lease if nobody else does.
  void AddWorker(Worker worker, const std::string& running_task_id, Clock::time_point now);

  // Any message from a worker counts as its heartbeat. False for a peer that
  // is no known worker.
  bool Touch(const std::string& identity, Clock::time_point now);

  // The worker `identity`, or nullptr.
  const Worker* FindWorker(const std::string& identity) const;

  // Forgets the worker and requeues the task it holds the lease of (an
  // attempt). Nothing for an unknown worker.
  void LoseWorker(const std::string& identity, const std::string& why);

  // The open task `task_id` when worker `identity` holds its lease now;
  // nullptr when it is not open, queued, or leased to another worker. Only
  // the lease holder's result or failure counts (schemas/protocol.md §7).
  const PendingTask* LeasedTo(const std::string& identity, const std::string& task_id) const;

  // Task `task_id` has its result: it leaves the open tasks. False when it was
  // not open (a requeued copy won, or it was never ours).
  bool Complete(const std::string& task_id);

  // A worker reports that `task_id` failed: a retryable failure requeues it
  // (an attempt), any other fails it for good. Nothing for a task not open.
  void TaskFailed(const std::string& task_id, const std::string& error, bool retryable);

  // The worker refused `task_id` because it is busy with a task we did not
  // know it holds: the task goes back to the front of the queue without
  // counting an attempt, and the worker gets nothing until it reports that
  // other task.
  void NotStarted(const std::string& identity, const std::string& task_id);

  // The worker is ready again after reporting `task_id` (a result or a
  // failure), unless it holds another lease. False for an unknown worker.
  bool Release(const std::string& identity, const std::string& task_id);

  // Gives each ready worker the first queued task its class may run, unless
  // the worker's host is kept for a timed task (host_gate.h): then the worker
  // waits, and the task stays queued.
  void Dispatch(Clock::time_point now);

  // The workers heard from within `liveness` heartbeat intervals of `now`:
  // the ones to send a heartbeat to before Tick(now).
  std::vector<std::string> LiveWorkers(Clock::time_point now) const;

  // The heartbeat round: loses the workers silent for `liveness` intervals,
  // requeues the tasks whose lease expired, fails the tasks of classes missing
  // for the grace period, then dispatches.
  void Tick(Clock::time_point now);

  // Drops the open tasks that only job `job_id` needs (it was cancelled); a
  // running copy's result is still accepted if it arrives.
  void DropJob(int64_t job_id);

  // Job `job_id`'s open tasks, and those of them leased to a worker now.
  int64_t OpenTasksOf(int64_t job_id) const;
  int64_t LeasedTasksOf(int64_t job_id) const;

  // Hardware classes of the connected workers, sorted, each once.
  std::vector<std::string> ConnectedClasses() const;

  size_t worker_count() const { return workers_.size(); }
  size_t open_count() const { return open_.size(); }

 private:
  struct OpenTask {
    PendingTask task;
    std::set<int64_t> jobs;
    std::string leased_to;  // worker identity; "" = queued
    Clock::time_point deadline;
    int attempts = 0;
  };
  using OpenMap = std::unordered_map<std::string, OpenTask>;

  bool IsTimed(const std::string& task_id) const;
  void Requeue(const std::string& task_id, const std::string& why);
  void FailForGood(const std::string& task_id, const std::string& error);
  void FailTasksOfMissingClasses(Clock::time_point now);
  void EraseOpen(OpenMap::iterator it);

  const Options options_;
  const AssignFn assign_;
  const FailedFn failed_;

  std::unordered_map<std::string, Worker> workers_;
  std::deque<std::string> ready_;
  OpenMap open_;
  std::deque<std::string> queue_;  // may hold stale ids: Dispatch skips them
  std::vector<std::string> expired_;
  std::map<std::string, Clock::time_point> missing_since_;  // class -> first seen missing
  std::map<int64_t, int64_t> open_per_job_;                 // job -> its tasks in open_
};

}  // namespace mixq

#endif  // MIXQ_COORDINATOR_LEASE_SCHEDULER_H_
