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

namespace {

// ZMQ_ZAP_ENFORCE_DOMAIN is a draft option in libzmq 4.3's header, so
// cppzmq has no name for it; Debian's libzmq accepts it.
constexpr int kZapEnforceDomain = 93;

// A message property ("User-Id", "Peer-Address"), "" when the message has none.
std::string Property(zmq::message_t* message, const char* name) {
  const char* value = zmq_msg_gets(message->handle(), name);
  return value == nullptr ? "" : value;
}

}  // namespace

StatusOr<std::unique_ptr<RouterTransport>> RouterTransport::Bind(asio::io_context* io,
                                                                 const Endpoints& endpoints,
                                                                 size_t max_message_bytes,
                                                                 Handler handler) {
  auto transport = std::make_unique<RouterTransport>(io, max_message_bytes, std::move(handler));
  zmq::socket_t& router = transport->router_;
  std::string binding;
  try {
    router.set(zmq::sockopt::linger, 0);
    router.set(zmq::sockopt::sndhwm, 100000);
    router.set(zmq::sockopt::rcvhwm, 100000);
    // A hard cap on one frame above the protocol's limit on a message, so a
    // huge frame costs no memory while moderately oversize ones still reach
    // the handler and are counted.
    router.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(4 * max_message_bytes));
    // Listeners copy the socket's options when they bind: the keyless local
    // endpoints first, then CURVE for the network one.
    for (const std::string& local : endpoints.local) {
      binding = local;
      router.bind(local);
    }
    const ServerSecurity* security = endpoints.security;
    if (security != nullptr && security->own) {
      MIXQ_ASSIGN_OR_RETURN(transport->zap_,
                            ZapHandler::Start(&transport->context_, *security->allow));
      router.set(zmq::sockopt::curve_server, true);
      router.set(zmq::sockopt::curve_secretkey, security->own->secret_key);
      router.set(zmq::sockopt::zap_domain, kZapDomain);
      const int enforce = 1;
      zmq_setsockopt(router.handle(), kZapEnforceDomain, &enforce, sizeof(enforce));
    }
    binding = endpoints.endpoint;
    router.bind(endpoints.endpoint);
    transport->fd_.assign(dup(router.get(zmq::sockopt::fd)));
  } catch (const zmq::error_t& e) {
    return Unavailable("cannot bind " + binding + ": " + e.what());
  }
  return transport;
}

RouterTransport::RouterTransport(asio::io_context* io, size_t max_message_bytes, Handler handler)
    : handler_(std::move(handler)),
      max_message_bytes_(max_message_bytes),
      router_(context_, zmq::socket_type::router),
      fd_(*io),
      fallback_timer_(*io) {}

// fd_ holds a dup() of the socket's ZMQ_FD (so that asio never closes the
// socket's own descriptor): it is ours to close. release() here leaked one
// eventfd per transport (found by fuzz_coordinator_messages, which starts a
// coordinator per input and ran out of descriptors after 19,975).
RouterTransport::~RouterTransport() {
  boost::system::error_code ignored;
  fd_.close(ignored);
}

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

// Frame by frame, so that a message of many large frames is dropped as it
// is read instead of being held whole.
void RouterTransport::Drain() {
  try {
    while (true) {
      if (!(router_.get(zmq::sockopt::events) & ZMQ_POLLIN)) break;
      zmq::message_t part;
      if (!router_.recv(part, zmq::recv_flags::dontwait)) break;
      PeerMessage message;
      message.identity = part.to_string();
      // A whole message has arrived once its first frame has: the rest never blocks.
      for (bool first = true; part.more(); first = false) {
        if (!router_.recv(part)) break;
        // Every frame from the peer carries its connection's properties (the
        // identity frame, made by the ROUTER, none): read them once.
        if (first) {
          message.credentials = ParseZapUserId(Property(&part, "User-Id"));
          message.address = Property(&part, "Peer-Address");
        }
        message.bytes += part.size();
        if (message.bytes > max_message_bytes_) {
          message.oversize = true;
          message.frames.clear();
        } else {
          message.frames.push_back(part.to_string());
        }
      }
      handler_(message);
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
