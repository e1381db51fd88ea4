#include "coordinator/lease_scheduler.h"

#include <utility>

#include "common/log.h"
#include "coordinator/host_gate.h"

namespace mixq {

namespace {

// A worker's task_id while it runs something it no longer holds a lease for.
constexpr char kUnknownTask[] = "?";

}  // namespace

LeaseScheduler::LeaseScheduler(const Options& options, AssignFn assign, FailedFn failed)
    : options_(options), assign_(std::move(assign)), failed_(std::move(failed)) {}

void LeaseScheduler::AddTask(PendingTask task) {
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

void LeaseScheduler::AddWorker(Worker worker, const std::string& running_task_id,
                               Clock::time_point now) {
  worker.last_seen = now;
  if (!running_task_id.empty()) {
    worker.task_id = running_task_id;
    auto t = open_.find(running_task_id);
    if (t != open_.end() && t->second.leased_to.empty()) {
      t->second.leased_to = worker.identity;
      t->second.deadline = now + std::chrono::milliseconds(options_.lease_ms);
    }
  }
  const std::string identity = worker.identity;
  const bool ready = worker.task_id.empty();
  workers_[identity] = std::move(worker);
  if (ready) ready_.push_back(identity);
}

bool LeaseScheduler::Touch(const std::string& identity, Clock::time_point now) {
  auto w = workers_.find(identity);
  if (w == workers_.end()) return false;
  w->second.last_seen = now;
  return true;
}

const LeaseScheduler::Worker* LeaseScheduler::FindWorker(const std::string& identity) const {
  auto w = workers_.find(identity);
  return w == workers_.end() ? nullptr : &w->second;
}

void LeaseScheduler::LoseWorker(const std::string& identity, const std::string& why) {
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

const PendingTask* LeaseScheduler::LeasedTo(const std::string& identity,
                                            const std::string& task_id) const {
  auto t = open_.find(task_id);
  if (t == open_.end() || t->second.leased_to.empty() || t->second.leased_to != identity) {
    return nullptr;
  }
  return &t->second.task;
}

bool LeaseScheduler::Complete(const std::string& task_id) {
  auto t = open_.find(task_id);
  if (t == open_.end()) return false;
  EraseOpen(t);
  return true;
}

void LeaseScheduler::TaskFailed(const std::string& task_id, const std::string& error,
                                bool retryable) {
  if (open_.count(task_id) == 0) return;
  if (retryable) {
    Requeue(task_id, "worker error: " + error);
  } else {
    FailForGood(task_id, error);
  }
}

void LeaseScheduler::NotStarted(const std::string& identity, const std::string& task_id) {
  auto t = open_.find(task_id);
  if (t != open_.end() && t->second.leased_to == identity) {
    t->second.leased_to.clear();
    queue_.push_front(task_id);
  }
  auto w = workers_.find(identity);
  if (w != workers_.end()) w->second.task_id = kUnknownTask;
}

bool LeaseScheduler::Release(const std::string& identity, const std::string& task_id) {
  auto w = workers_.find(identity);
  if (w == workers_.end()) return false;
  if (w->second.task_id == task_id || w->second.task_id == kUnknownTask) {
    w->second.task_id.clear();
  }
  if (w->second.task_id.empty()) ready_.push_back(identity);
  return true;
}

void LeaseScheduler::Dispatch(Clock::time_point now) {
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
    task.deadline = now + std::chrono::milliseconds(options_.lease_ms);
    w->second.task_id = task_id;
    assign_(identity, task.task.assign);
  }
  ready_ = std::move(still_ready);
}

std::vector<std::string> LeaseScheduler::LiveWorkers(Clock::time_point now) const {
  const auto dead_after = std::chrono::milliseconds(options_.heartbeat_ms * options_.liveness);
  std::vector<std::string> live;
  for (const auto& [identity, w] : workers_) {
    if (now - w.last_seen <= dead_after) live.push_back(identity);
  }
  return live;
}

void LeaseScheduler::Tick(Clock::time_point now) {
  const auto dead_after = std::chrono::milliseconds(options_.heartbeat_ms * options_.liveness);
  std::vector<std::string> lost;
  for (const auto& [identity, w] : workers_) {
    if (now - w.last_seen > dead_after) lost.push_back(identity);
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
  Dispatch(now);
}

void LeaseScheduler::DropJob(int64_t job_id) {
  for (auto it = open_.begin(); it != open_.end();) {
    it->second.jobs.erase(job_id);
    it = it->second.jobs.empty() ? open_.erase(it) : std::next(it);
  }
  open_per_job_.erase(job_id);
}

int64_t LeaseScheduler::OpenTasksOf(int64_t job_id) const {
  auto open = open_per_job_.find(job_id);
  return open == open_per_job_.end() ? 0 : open->second;
}

int64_t LeaseScheduler::LeasedTasksOf(int64_t job_id) const {
  int64_t leased = 0;
  for (const auto& [id, t] : open_) {
    if (!t.leased_to.empty() && t.jobs.count(job_id)) ++leased;
  }
  return leased;
}

std::vector<std::string> LeaseScheduler::ConnectedClasses() const {
  std::set<std::string> classes;
  for (const auto& [identity, w] : workers_) classes.insert(w.hardware_class);
  return {classes.begin(), classes.end()};
}

// Benchmarks and profiles: tasks whose result is a time.
bool LeaseScheduler::IsTimed(const std::string& task_id) const {
  auto t = open_.find(task_id);
  if (t == open_.end()) return false;
  const proto::TaskKind kind = t->second.task.assign.kind();
  return kind == proto::TASK_KIND_BENCHMARK || kind == proto::TASK_KIND_PROFILE;
}

void LeaseScheduler::Requeue(const std::string& task_id, const std::string& why) {
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

void LeaseScheduler::FailForGood(const std::string& task_id, const std::string& error) {
  log().error("task {} failed: {}", task_id.substr(0, 12), error);
  EraseOpen(open_.find(task_id));
  failed_(task_id, error);
}

// Queued tasks for a class with no connected worker wait at most
// missing_class_grace_ms (counted from when the class was first seen
// missing), then fail naming the class, so their job ends.
void LeaseScheduler::FailTasksOfMissingClasses(Clock::time_point now) {
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

void LeaseScheduler::EraseOpen(OpenMap::iterator it) {
  if (it == open_.end()) return;
  for (int64_t job : it->second.jobs) --open_per_job_[job];
  open_.erase(it);
}

}  // namespace mixq
