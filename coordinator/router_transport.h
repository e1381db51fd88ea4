// The coordinator's end of the wire (schemas/protocol.md §2): one ZeroMQ
// ROUTER socket, bound to the coordinator's endpoint and read from a
// Boost.Asio io_context, so that messages, timers and the result writer's
// answers are all handled on the io_context's one thread. It hands every
// message to its handler as the peer's identity and the frames after it, and
// sends a typed message to a peer; what the messages mean is the handler's
// business. Use it only from the io_context's thread.
#ifndef MIXQ_COORDINATOR_ROUTER_TRANSPORT_H_
#define MIXQ_COORDINATOR_ROUTER_TRANSPORT_H_

#include <google/protobuf/message.h>

#include <boost/asio.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/protocol_codec.h"
#include "common/status.h"

namespace mixq {

// A peer's ROUTER identity in hex, for logs.
std::string PeerName(const std::string& identity);

class RouterTransport {
 public:
  // Called for each message: the sender's identity and the frames after it.
  using Handler =
      std::function<void(const std::string& identity, const std::vector<std::string>& frames)>;

  // Binds a ROUTER socket to `endpoint` (Unavailable if it cannot) whose
  // messages will reach `handler` from `io`'s run() once Start() was called.
  // `max_message_bytes` is the protocol's limit: the socket itself refuses
  // only far larger messages, so that moderately oversize ones reach the
  // handler and can be counted. `io` must outlive the transport.
  static StatusOr<std::unique_ptr<RouterTransport>> Bind(boost::asio::io_context* io,
                                                         const std::string& endpoint,
                                                         size_t max_message_bytes, Handler handler);

  RouterTransport(boost::asio::io_context* io, Handler handler);
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
  zmq::context_t context_;
  zmq::socket_t router_;
  boost::asio::posix::stream_descriptor fd_;
  boost::asio::steady_timer fallback_timer_;
};

}  // namespace mixq

#endif  // MIXQ_COORDINATOR_ROUTER_TRANSPORT_H_
