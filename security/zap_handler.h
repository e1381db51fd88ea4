// The ZAP handler (ZeroMQ RFC 27) of a coordinator's CURVE endpoint: libzmq
// asks it about every CURVE handshake, and it admits only the public keys of
// the allow-list, answering with a user id that names the key's role. Every
// message from an admitted peer then carries that user id (PeerCredentials),
// so the coordinator checks what a message may do against who sent it,
// never against what the message says. Refusals are logged with
// the peer's address, at most once per address every ten seconds.
#ifndef MIXQ_SECURITY_ZAP_HANDLER_H_
#define MIXQ_SECURITY_ZAP_HANDLER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <zmq.hpp>

#include "common/status.h"
#include "security/allow_list.h"

namespace mixq {

// The ZAP domain mixq's CURVE sockets use.
inline constexpr const char* kZapDomain = "mixq";

// Who sent a message, from its "User-Id" property.
struct PeerCredentials {
  Role role = Role::kClient;
  std::string public_key;  // Z85
  std::string name;        // the allow-list's name for the key
};

// The user id the handler gives an admitted key, and its inverse.
std::string ZapUserId(const AllowedKey& key);
std::optional<PeerCredentials> ParseZapUserId(const std::string& user_id);

class ZapHandler {
 public:
  // Binds inproc://zeromq.zap.01 in `context`, which must happen before any
  // CURVE socket of the context binds, and answers on a thread of its own
  // until destroyed. Unavailable if the address is taken.
  static StatusOr<std::unique_ptr<ZapHandler>> Start(zmq::context_t* context, AllowList allow);
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  explicit ZapHandler(AllowList allow);

 private:
  void Serve(zmq::socket_t* socket);
  // The reply's status code and user id for one request's frames.
  std::pair<std::string, std::string> Decide(const std::vector<std::string>& request);

  const AllowList allow_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace mixq

#endif  // MIXQ_SECURITY_ZAP_HANDLER_H_
