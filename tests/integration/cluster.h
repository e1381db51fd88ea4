// The distributed system as real processes, shared by every integration
// test: a temporary folder, a coordinator that a test can SIGKILL and start
// again on the same database and endpoint, workers, and a client; all of
// them stopped (SIGTERM, then SIGKILL) when the test ends, pass or fail.
#ifndef MIXQ_TESTS_INTEGRATION_CLUSTER_H_
#define MIXQ_TESTS_INTEGRATION_CLUSTER_H_

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/sqlite_db.h"
#include "common/status.h"
#include "coordinator/coordinator_client.h"
#include "tests/cli/mixq_runner.h"
#include "tests/common/data_files.h"
#include "tests/common/shipped_files.h"
#include "tests/integration/child_process.h"

namespace mixq::test {

// The built daemons (mixq-coordinator, mixq-worker).
inline const std::string kBinDir = std::string(MIXQ_BINARY_DIR) + "/bin";

struct ClusterOptions {
  // An ipc:// socket in the folder; otherwise TCP on a free loopback port,
  // with CURVE keys (schemas/keys.md) unless `insecure`.
  bool ipc = false;
  // Given to every coordinator start (restarts too), after --bind and --db.
  std::vector<std::string> coordinator_args;
  // All workers share the folder's cache/, as workers on one machine may;
  // otherwise worker N has cache<N>/ of its own.
  bool shared_worker_cache = false;
  // Every coordinator start also gets --data-root for the source tree, the
  // build tree, the folder and the folder of the shipped datasets' files,
  // so that jobs may name them; output goes under the folder (the default,
  // next to the database). False: only what the test gives.
  bool test_roots = true;
  // TCP without keys: the coordinator and workers run --insecure.
  bool insecure = false;
};

// Owns the folder (the database, the logs, the workers' caches) and the
// processes in it; submits jobs, waits for them to end and reads the
// database read-only, as an operator would. Tests of `mixq run`, which starts
// its own processes, use it for the folder and the database alone; `mixq`
// runs through tests/cli/mixq_runner.h.
class Cluster {
 public:
  explicit Cluster(ClusterOptions options = {});
  // Stops the workers, then the coordinator, then removes the folder. The
  // workers are signalled together, so their grace periods overlap.
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // The folder, and the database and endpoint the coordinator uses.
  const std::string& dir() const { return dir_.path(); }
  std::string db() const { return dir() + "/mixq.db"; }
  const std::string& endpoint() const { return endpoint_; }
  // Worker `n`'s cache folder (the shared one with shared_worker_cache).
  std::string cache(int n) const;

  // With CURVE, the keys made in the folder's keys/: "coordinator", and the
  // allow-list's "worker" (role worker), "admin" (role admin; the cluster's
  // own client), "alice" and "bob" (role client), "stranger" (not listed).
  // KeyFile(name) is NAME.key; the coordinator's public key is
  // CoordinatorKeyFile().
  bool curve() const { return !options_.ipc && !options_.insecure; }
  std::string KeyFile(const std::string& name) const;
  std::string CoordinatorKeyFile() const;
  // The mixq command-line options that connect as key `name` ("" without CURVE:
  // --insecure for TCP, nothing for ipc).
  std::string ClientFlags(const std::string& name = "admin") const;
  // The keys of `name` for a CoordinatorClient of the cluster's endpoint.
  ClientSecurity Security(const std::string& name) const;

  // Starts mixq-coordinator with the options' arguments, then `extra`, and
  // waits up to 60 s until it answers a status request; one still running
  // is stopped first. Each start logs to coordinator<K>.log; a failure
  // carries the log.
  [[nodiscard]] ::testing::AssertionResult StartCoordinator(std::vector<std::string> extra = {});
  // SIGKILLs the coordinator (a crash: nothing is flushed or said to the
  // workers) and reaps it. The client goes with it, so that no reply to a
  // request the dead one had will answer a request to the next one.
  void KillCoordinator();
  // Starts a coordinator with the last start's arguments on the same
  // database and endpoint (SIGKILLing one still running); the workers
  // reconnect by themselves.
  [[nodiscard]] ::testing::AssertionResult RestartCoordinator();
  // The latest coordinator started.
  Process& coordinator() { return *coordinator_; }

  // Starts mixq-worker, connected to the coordinator with --threads 1 and
  // its cache, then `extra` (--max-isa sse41, --task-delay-ms 400, ...).
  // It is not waited for: WaitForWorkers() does that.
  Process* AddWorker(std::vector<std::string> extra = {});
  // Until the coordinator counts `n` connected workers, up to `timeout`.
  bool WaitForWorkers(int n, std::chrono::milliseconds timeout = std::chrono::seconds(60));

  // Made at first use, after every KillCoordinator(); connects with the admin key.
  CoordinatorClient& client();
  StatusOr<proto::SubmitReply> Submit(const std::string& job_yaml, const std::string& base_dir = "",
                                      std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // The job's status (0: the coordinator's own, such as its workers); an
  // empty reply when the coordinator does not answer within 5 s.
  proto::StatusReply Status(int64_t job);
  // Polls the job's status until it has ended (any state but "running"),
  // up to `timeout`; `last` gets the last status seen, ended or not.
  bool WaitEnded(int64_t job, std::chrono::milliseconds timeout, proto::StatusReply* last);
  // WaitEnded() for up to 90 s, expecting "done": a job that did not end
  // done fails the test with the coordinator's log. Its last status.
  proto::StatusReply WaitDone(int64_t job);

  // The database, read-only: a reader in WAL mode never blocks the
  // coordinator's writes, and a test cannot change what it checks.
  StatusOr<std::unique_ptr<SqliteDb>> OpenDb() const;
  // The first column of the first row of `sql` (`?` bound to `arg`).
  StatusOr<int64_t> QueryInt(const std::string& sql,
                             std::optional<int64_t> arg = std::nullopt) const;
  // QueryInt() where a failing query is itself a test failure (and -1).
  int64_t Count(const std::string& sql) const;

 private:
  TempDir dir_;  // declared first: it goes away last
  ClusterOptions options_;
  void MakeKeys();
  std::string endpoint_;
  std::vector<std::string> coordinator_extra_;
  int coordinator_starts_ = 0;
  std::unique_ptr<Process> coordinator_;
  std::vector<std::unique_ptr<Process>> workers_;
  std::unique_ptr<CoordinatorClient> client_;
};

}  // namespace mixq::test

#endif  // MIXQ_TESTS_INTEGRATION_CLUSTER_H_
