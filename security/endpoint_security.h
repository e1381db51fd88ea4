// How each mixq socket is secured (schemas/keys.md). Every TCP endpoint
// speaks CURVE unless its operator says --insecure: the coordinator with its
// key pair and an allow-list (zap_handler.h), workers and clients with their
// own key pair and the coordinator's public key, so both ends know whom they
// talk to and nobody else can read or forge the traffic. ipc:// and inproc://
// endpoints are local files and stay keyless (mixq run).
#ifndef MIXQ_SECURITY_ENDPOINT_SECURITY_H_
#define MIXQ_SECURITY_ENDPOINT_SECURITY_H_

#include <optional>
#include <string>
#include <zmq.hpp>

#include "common/status.h"
#include "security/allow_list.h"
#include "security/curve_keys.h"

namespace mixq {

// True for tcp:// (and other network transports); false for ipc:// and inproc://.
bool IsNetworkEndpoint(const std::string& endpoint);

// The key options of a worker or client command line.
struct PeerKeyFiles {
  std::string key;              // --key: this peer's .key file
  std::string coordinator_key;  // --coordinator-key: the coordinator's .pub (or .key) file
  bool insecure = false;        // --insecure: plain TCP, no keys
};

// A worker's or client's side of a connection, keys loaded.
struct ClientSecurity {
  std::optional<CurveKeyPair> own;  // unset: keyless (ipc, or --insecure)
  std::string coordinator_public_key;
};

// Fills the key files not given from $MIXQ_KEY and $MIXQ_COORDINATOR_KEY,
// unless `files` is insecure: a host's service environment names its keys
// once for every mixq command.
void KeyFilesFromEnvironment(PeerKeyFiles* files);

// Loads what `files` name for a connection to `endpoint`. A network
// endpoint without both keys is refused unless `files.insecure`; keys given
// for an ipc endpoint are loaded and used anyway (harmless).
StatusOr<ClientSecurity> LoadClientSecurity(const std::string& endpoint, const PeerKeyFiles& files);

// Sets `socket`'s CURVE client options (before it connects); nothing when keyless.
void ApplyClientSecurity(zmq::socket_t* socket, const ClientSecurity& security);

// The coordinator's side.
struct ServerSecurity {
  std::optional<CurveKeyPair> own;  // unset: keyless
  std::optional<AllowList> allow;
  bool insecure = false;
};

// Loads the coordinator's --key and --allow for `bind`: a network endpoint
// needs both, or --insecure (and then neither).
StatusOr<ServerSecurity> LoadServerSecurity(const std::string& bind, const std::string& key_file,
                                            const std::string& allow_file, bool insecure);

}  // namespace mixq

#endif  // MIXQ_SECURITY_ENDPOINT_SECURITY_H_
