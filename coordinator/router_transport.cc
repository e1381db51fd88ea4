#include "coordinator/router_transport.h"

#include <unistd.h>

#include <chrono>
#include <iterator>
#include <utility>
#include <zmq_addon.hpp>

#include "common/log.h"

namespace mixq {

namespace asio = boost::asio;

std::string PeerName(const std::string& identity) {
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : identity) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  return hex;
}

StatusOr<std::unique_ptr<RouterTransport>> RouterTransport::Bind(asio::io_context* io,
                                                                 const std::string& endpoint,
                                                                 size_t max_message_bytes,
                                                                 Handler handler) {
  auto transport = std::make_unique<RouterTransport>(io, std::move(handler));
  zmq::socket_t& router = transport->router_;
  try {
    router.set(zmq::sockopt::linger, 0);
    router.set(zmq::sockopt::sndhwm, 100000);
    router.set(zmq::sockopt::rcvhwm, 100000);
    // A hard cap far above the protocol's limit, so a huge message costs
    // no memory while moderately oversize ones still reach the codec and
    // are counted.
    router.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(4 * max_message_bytes));
    router.bind(endpoint);
    transport->fd_.assign(dup(router.get(zmq::sockopt::fd)));
  } catch (const zmq::error_t& e) {
    return Unavailable("cannot bind " + endpoint + ": " + e.what());
  }
  return transport;
}

RouterTransport::RouterTransport(asio::io_context* io, Handler handler)
    : handler_(std::move(handler)),
      router_(context_, zmq::socket_type::router),
      fd_(*io),
      fallback_timer_(*io) {}

RouterTransport::~RouterTransport() { fd_.release(); }

void RouterTransport::Start() {
  ArmFd();
  ScheduleFallback();
}

// ZMQ_FD is edge-triggered: it signals only when ZMQ_EVENTS changes, and
// any send or receive on the socket may consume that edge. So every wakeup
// (readable fd, timer, after our own sends) drains until ZMQ_EVENTS shows
// no input, and a slow fallback timer drains too, which bounds the cost of
// any missed edge to its period.
void RouterTransport::ArmFd() {
  fd_.async_wait(asio::posix::stream_descriptor::wait_read,
                 [this](const boost::system::error_code& ec) {
                   if (ec) return;
                   Drain();
                   ArmFd();
                   // Asio registers the fd edge-triggered too and forgets an
                   // edge that comes while no wait is armed: drain once more
                   // now that one is.
                   Drain();
                 });
}

void RouterTransport::ScheduleFallback() {
  fallback_timer_.expires_after(std::chrono::milliseconds(100));
  fallback_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    Drain();
    ScheduleFallback();
  });
}

void RouterTransport::Drain() {
  try {
    while (true) {
      if (!(router_.get(zmq::sockopt::events) & ZMQ_POLLIN)) break;
      std::vector<zmq::message_t> parts;
      auto got = zmq::recv_multipart(router_, std::back_inserter(parts), zmq::recv_flags::dontwait);
      if (!got || parts.empty()) break;
      std::string identity = parts[0].to_string();
      std::vector<std::string> frames;
      for (size_t i = 1; i < parts.size(); ++i) frames.push_back(parts[i].to_string());
      handler_(identity, frames);
    }
  } catch (const zmq::error_t& e) {
    log().error("zmq: {}", e.what());
  }
}

void RouterTransport::Send(const std::string& identity, MessageType type,
                           const google::protobuf::Message& body) {
  std::vector<std::string> frames = Encode(type, body);
  std::vector<zmq::const_buffer> parts;
  parts.push_back(zmq::buffer(identity));
  for (const std::string& f : frames) parts.push_back(zmq::buffer(f));
  try {
    if (!zmq::send_multipart(router_, parts, zmq::send_flags::dontwait)) {
      log().warn("peer {}: send queue full, {} dropped", PeerName(identity), MessageTypeName(type));
    }
  } catch (const zmq::error_t& e) {
    log().warn("peer {}: send failed: {}", PeerName(identity), e.what());
  }
}

}  // namespace mixq
