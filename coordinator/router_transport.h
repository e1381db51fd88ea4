// The coordinator's end of the wire (schemas/protocol.md §2): one ZeroMQ
// ROUTER socket, bound to the coordinator's endpoint (CURVE with a ZAP
// handler on a network endpoint, schemas/keys.md) and to keyless local ones,
// read from a Boost.Asio io_context, so that messages, timers and the result
// writer's answers are all handled on the io_context's one thread. It hands
// every message to its handler with who sent it (identity, CURVE
// credentials, address), reading a message's frames only up to the size
// limit, and sends a typed message to a peer; what the messages mean is the
// handler's business. Use it only from the io_context's thread.
#ifndef MIXQ_COORDINATOR_ROUTER_TRANSPORT_H_
#define MIXQ_COORDINATOR_ROUTER_TRANSPORT_H_

#include <google/protobuf/message.h>

#include <boost/asio.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/protocol_codec.h"
#include "common/status.h"
#include "security/endpoint_security.h"
#include "security/zap_handler.h"

namespace mixq {

// A peer's ROUTER identity in hex, for logs.
std::string PeerName(const std::string& identity);

// One message as it arrived.
struct PeerMessage {
  std::string identity;  // the ROUTER identity of the connection
  // Set for a peer admitted by CURVE: its key and role. Unset for a peer of a
  // keyless endpoint (ipc://, or a network endpoint run --insecure).
  std::optional<PeerCredentials> credentials;
  // The peer's address, for logs and HELLO rates: the IP for TCP,
  // "localhost:UID:GID:PID" (its process) for ipc.
  std::string address;
  std::vector<std::string> frames;  // after the identity; empty when oversize
  size_t bytes = 0;                 // all frames together
  bool oversize = false;            // over the limit: its frames were not kept
};

class RouterTransport {
 public:
  using Handler = std::function<void(const PeerMessage& message)>;

  struct Endpoints {
    std::string endpoint;  // the coordinator's endpoint (--bind)
    // Keyless endpoints bound too (ipc:// files), for the coordinator's own
    // job drivers.
    std::vector<std::string> local;
    const ServerSecurity* security = nullptr;  // keys for `endpoint`; null = keyless
  };

  // Binds a ROUTER socket (Unavailable if it cannot) whose messages will
  // reach `handler` from `io`'s run() once Start() was called. A message
  // whose frames together exceed `max_message_bytes` reaches the handler as
  // `oversize`, its frames read and dropped one at a time, so that no peer
  // makes the coordinator hold more than one frame beyond the limit. `io`
  // must outlive the transport.
  static StatusOr<std::unique_ptr<RouterTransport>> Bind(boost::asio::io_context* io,
                                                         const Endpoints& endpoints,
                                                         size_t max_message_bytes, Handler handler);

  RouterTransport(boost::asio::io_context* io, size_t max_message_bytes, Handler handler);
  ~RouterTransport();

  // Starts watching the socket.
  void Start();

  // Hands every message waiting now to the handler. Call it after sending
  // from outside the handler (a timer's callback): a send may consume the
  // wakeup that announced waiting input.
  void Drain();

  // Queues `body` of `type` for the peer without blocking; a full queue or a
  // send error drops it with a warning.
  void Send(const std::string& identity, MessageType type, const google::protobuf::Message& body);

 private:
  void ArmFd();
  void ScheduleFallback();

  Handler handler_;
  size_t max_message_bytes_;
  zmq::context_t context_;  // declared before the sockets: it goes last
  zmq::socket_t router_;
  std::unique_ptr<ZapHandler> zap_;
  boost::asio::posix::stream_descriptor fd_;
  boost::asio::steady_timer fallback_timer_;
};

}  // namespace mixq

#endif  // MIXQ_COORDINATOR_ROUTER_TRANSPORT_H_
