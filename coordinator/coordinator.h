// The coordinator daemon (schemas/protocol.md): a ROUTER socket inside a
// Boost.Asio event loop. It accepts workers (refusing other protocol
// versions), leases them tasks one at a time, requeues a task whose lease
// runs out or whose worker stops heartbeating, fails the tasks of a hardware
// class no connected worker has after a grace period, serves blobs by hash,
// answers clients (submit, status, cancel) and batches results into SQLite
// (on a ResultWriter thread). Files a job names must lie under the
// configured roots (file_roots.h), and blobs are served only from there.
// Every decision it needs after a restart is in the
// store. All scheduling state is touched only from the io_context's thread.
#ifndef MIXQ_COORDINATOR_COORDINATOR_H_
#define MIXQ_COORDINATOR_COORDINATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/protocol_codec.h"
#include "common/status.h"
#include "coordinator/db_lock.h"
#include "coordinator/job_driver.h"
#include "coordinator/router_transport.h"
#include "security/endpoint_security.h"

namespace mixq {

struct CoordinatorOptions {
  std::string bind = "tcp://*:5555";  // ZeroMQ endpoint to listen on
  // CURVE on a network endpoint (schemas/keys.md): the coordinator's key
  // pair and the allow-list of worker, client and admin keys; or insecure.
  std::string key_file;
  std::string allow_file;
  bool insecure = false;
  std::string db = "mixq.db";          // SQLite file (created if missing)
  uint32_t heartbeat_ms = 1000;        // heartbeat interval, both directions
  uint32_t liveness = 3;               // missed heartbeats before a worker is lost
  uint32_t lease_ms = 10 * 60 * 1000;  // time a worker has for one task
  int max_attempts = 3;                // lost or failed runs before a task fails for good
  // A task for a hardware class that no connected worker has fails after
  // this long without one, so a job naming an absent class ends.
  uint32_t missing_class_grace_ms = 10 * 1000;
  uint32_t flush_ms = 20;  // results wait at most this long for their commit
  size_t max_message_bytes = kDefaultMaxMessageBytes;
  // Connected workers beyond this are refused at HELLO.
  uint32_t max_workers = 1024;
  // HELLOs one address may send per minute; more are dropped unanswered.
  uint32_t hellos_per_minute = 60;
  // A STATUS_REPLY's rows beyond this many bytes (or half of
  // max_message_bytes, if less) go to the next page.
  size_t status_page_bytes = 4 << 20;
  // Benchmark and profile tasks run alone on their host (host_gate.h), so
  // that workers sharing a machine do not skew each other's timings.
  bool exclusive_timing = true;
  // Files a client's job may read (file_roots.h); empty: the working
  // directory at start.
  std::vector<std::string> data_roots;
  // Where a client's job may write (a calibrate job's `output:`, a search's
  // output folder); empty: the folder of `db`.
  std::string output_root;
};

class Coordinator {
 public:
  // Locks the database (db_lock.h: FailedPrecondition if another
  // coordinator has it), opens the store (DataLoss if the file is damaged),
  // binds the socket, loads pending tasks of running jobs
  // and has each driver (one per job kind it hosts beyond evaluate and
  // calibrate, job_driver.h) resume its running jobs.
  static StatusOr<std::unique_ptr<Coordinator>> Create(const CoordinatorOptions& options,
                                                       std::vector<JobDriverFactory> drivers = {});
  ~Coordinator();

  // Serves until SIGINT or SIGTERM; commits buffered results before returning.
  Status Run();

  // Where Handle() sends the coordinator's answers.
  using Sender = std::function<void(const std::string& identity, MessageType type,
                                    const google::protobuf::Message& body)>;

  // Handles one message as Run()'s socket loop does (the same dispatch),
  // every answer (task leases too) going to `send` instead of the socket;
  // then does at once what its timers would do next (hand out leases, commit
  // buffered results, finish jobs), so the message's whole effect is there on
  // return. For tests and fuzz targets; never while Run() serves.
  void Handle(const PeerMessage& message, const Sender& send);

  class Impl;
  Coordinator(std::unique_ptr<DbLock> lock, std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<DbLock> lock_;  // declared first: released after the store closes
  std::unique_ptr<Impl> impl_;
};

}  // namespace mixq

#endif  // MIXQ_COORDINATOR_COORDINATOR_H_
