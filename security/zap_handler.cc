#include "security/zap_handler.h"

#include <chrono>
#include <future>
#include <sstream>
#include <zmq_addon.hpp>

#include "common/log.h"
#include "common/log_limiter.h"

namespace mixq {
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";

std::string Z85(const std::string& binary_key) {
  char text[41] = {};
  if (binary_key.size() != 32 ||
      zmq_z85_encode(text, reinterpret_cast<const uint8_t*>(binary_key.data()), 32) == nullptr) {
    return "";
  }
  return text;
}

}  // namespace

std::string ZapUserId(const AllowedKey& key) {
  return std::string(RoleName(key.role)) + " " + key.public_key + " " + key.name;
}

std::optional<PeerCredentials> ParseZapUserId(const std::string& user_id) {
  std::istringstream fields(user_id);
  std::string role, key, name;
  if (!(fields >> role >> key >> name)) return std::nullopt;
  const std::optional<Role> r = RoleFromName(role);
  if (!r) return std::nullopt;
  return PeerCredentials{*r, key, name};
}

ZapHandler::ZapHandler(AllowList allow) : allow_(std::move(allow)) {}

StatusOr<std::unique_ptr<ZapHandler>> ZapHandler::Start(zmq::context_t* context, AllowList allow) {
  auto handler = std::make_unique<ZapHandler>(std::move(allow));
  std::promise<Status> bound;
  std::future<Status> result = bound.get_future();
  ZapHandler* self = handler.get();
  // The socket lives and dies on the thread that uses it.
  handler->thread_ = std::thread([self, context, &bound] {
    std::optional<zmq::socket_t> socket;
    try {
      socket.emplace(*context, zmq::socket_type::rep);
      socket->set(zmq::sockopt::linger, 0);
      socket->bind(kZapEndpoint);
    } catch (const zmq::error_t& e) {
      bound.set_value(
          Unavailable(std::string("ZAP handler: cannot bind ") + kZapEndpoint + ": " + e.what()));
      return;
    }
    bound.set_value(Status::Ok());
    self->Serve(&*socket);
  });
  Status s = result.get();
  if (!s.ok()) {
    handler->thread_.join();
    return s;
  }
  return handler;
}

ZapHandler::~ZapHandler() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ZapHandler::Serve(zmq::socket_t* socket) {
  LogLimiter refusals;
  while (!stop_) {
    zmq::pollitem_t item{static_cast<void*>(*socket), 0, ZMQ_POLLIN, 0};
    try {
      zmq::poll(&item, 1, std::chrono::milliseconds(100));
      if (!(item.revents & ZMQ_POLLIN)) continue;
      std::vector<zmq::message_t> parts;
      if (!zmq::recv_multipart(*socket, std::back_inserter(parts))) continue;
      std::vector<std::string> request;
      for (auto& p : parts) request.push_back(p.to_string());
      auto [code, user_id] = Decide(request);
      if (code != "200") {
        const std::string address = request.size() > 3 ? request[3] : "";
        uint64_t held_back = 0;
        if (refusals.Allow(address, LogLimiter::Clock::now(), &held_back)) {
          log().warn("CURVE: refused a peer at {} (key not on the allow-list){}",
                     address.empty() ? "?" : address,
                     held_back ? ", and " + std::to_string(held_back) + " more since" : "");
        }
      }
      // RFC 27's reply: version, request id, status code and text, user id, metadata.
      const std::string request_id = request.size() > 1 ? request[1] : "";
      std::vector<zmq::const_buffer> reply{zmq::str_buffer("1.0"), zmq::buffer(request_id),
                                           zmq::buffer(code),      zmq::str_buffer(""),
                                           zmq::buffer(user_id),   zmq::str_buffer("")};
      zmq::send_multipart(*socket, reply);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      log().error("ZAP handler: {}", e.what());
    }
  }
}

std::pair<std::string, std::string> ZapHandler::Decide(const std::vector<std::string>& request) {
  // version, request id, domain, address, routing id, mechanism, credentials
  if (request.size() != 7 || request[0] != "1.0" || request[2] != kZapDomain ||
      request[5] != "CURVE") {
    return {"400", ""};
  }
  const AllowedKey* key = allow_.Find(Z85(request[6]));
  if (key == nullptr) return {"400", ""};
  return {"200", ZapUserId(*key)};
}

}  // namespace mixq
