// The worker daemon (schemas/protocol.md, worker side): a DEALER socket that
// says HELLO with this machine's hardware class, heartbeats, fetches the
// blobs a task needs, runs one task at a time on a separate thread (so a
// long task never silences the heartbeat) and reconnects with back-off
// (1 s doubling to 32 s) when the coordinator goes quiet. Only the daemon's
// own thread touches the socket.
#ifndef MIXQ_WORKER_WORKER_DAEMON_H_
#define MIXQ_WORKER_WORKER_DAEMON_H_

#include <google/protobuf/message.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/protocol_codec.h"
#include "common/status.h"
#include "security/endpoint_security.h"

namespace mixq {

struct WorkerOptions {
  std::string connect = "tcp://localhost:5555";  // coordinator endpoint
  PeerKeyFiles keys;    // CURVE keys for a tcp:// endpoint (--key, --coordinator-key, --insecure)
  int threads = 0;      // oneDNN threads; 0 = all usable cores
  std::string max_isa;  // oneDNN ISA cap; "" = the CPU's own
  std::string cache = "";                // blob cache folder; "" = $TMPDIR/mixq-cache
  bool use_local_paths = true;           // use a blob's own path when the hash matches
  uint32_t protocol_version = 0;         // 0 = ours; tests pretend to be another version
  uint32_t task_delay_ms = 0;            // tests: sleep before each task, to kill mid-task
  uint32_t initial_heartbeat_ms = 1000;  // until WELCOME says otherwise
};

// Runs until SIGINT/SIGTERM (OK) or a REFUSE (FailedPrecondition carrying the
// coordinator's reason). Applies the ISA cap before oneDNN is touched;
// InvalidArgument before connecting when the keys a tcp:// endpoint needs
// are missing or unreadable.
Status RunWorker(const WorkerOptions& options);

class WorkerDaemon;

// A worker without its socket: RunWorker's own dispatch of what the
// coordinator sends, every answer going to `send`. It says HELLO when made
// (as after connecting) and runs a task on a thread of its own as the daemon
// does; Settle() waits for that task and sends its answer. There are no
// timers: no heartbeats of its own, no reconnecting when the coordinator is
// silent. For tests and fuzz targets; the caller applies any ISA cap first.
class WorkerSession {
 public:
  using Sender = std::function<void(MessageType type, const google::protobuf::Message& body)>;

  WorkerSession(const WorkerOptions& options, Sender send);
  ~WorkerSession();

  // One message from the coordinator, its frames after any envelope.
  void Handle(const std::vector<std::string>& frames);
  // Waits for the running task, if any, and sends its result or failure.
  void Settle();
  // Set once a REFUSE came: what RunWorker would return.
  std::optional<Status> refused() const;

 private:
  std::unique_ptr<WorkerDaemon> daemon_;
};

}  // namespace mixq

#endif  // MIXQ_WORKER_WORKER_DAEMON_H_
