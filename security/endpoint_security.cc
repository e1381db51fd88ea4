#include "security/endpoint_security.h"

#include <cstdlib>

namespace mixq {

bool IsNetworkEndpoint(const std::string& endpoint) {
  return endpoint.rfind("ipc://", 0) != 0 && endpoint.rfind("inproc://", 0) != 0;
}

void KeyFilesFromEnvironment(PeerKeyFiles* files) {
  if (files->insecure) return;
  auto fill = [](std::string* field, const char* variable) {
    const char* value = std::getenv(variable);
    if (field->empty() && value != nullptr) *field = value;
  };
  fill(&files->key, "MIXQ_KEY");
  fill(&files->coordinator_key, "MIXQ_COORDINATOR_KEY");
}

StatusOr<ClientSecurity> LoadClientSecurity(const std::string& endpoint,
                                            const PeerKeyFiles& files) {
  ClientSecurity security;
  const bool any_key = !files.key.empty() || !files.coordinator_key.empty();
  if (files.insecure && any_key) {
    return InvalidArgument("--insecure and --key/--coordinator-key exclude each other");
  }
  if (!any_key) {
    if (IsNetworkEndpoint(endpoint) && !files.insecure) {
      return InvalidArgument(
          endpoint +
          " is a network endpoint: give --key (this side's key pair) and --coordinator-key (the "
          "coordinator's .pub file), made with mixq keygen; or --insecure if the coordinator "
          "runs --insecure");
    }
    return security;
  }
  if (files.key.empty() || files.coordinator_key.empty()) {
    return InvalidArgument("give both --key and --coordinator-key");
  }
  MIXQ_ASSIGN_OR_RETURN(CurveKeyPair own, LoadCurveKeyPair(files.key));
  security.own = own;
  MIXQ_ASSIGN_OR_RETURN(security.coordinator_public_key, LoadCurvePublicKey(files.coordinator_key));
  return security;
}

void ApplyClientSecurity(zmq::socket_t* socket, const ClientSecurity& security) {
  if (!security.own) return;
  socket->set(zmq::sockopt::curve_serverkey, security.coordinator_public_key);
  socket->set(zmq::sockopt::curve_publickey, security.own->public_key);
  socket->set(zmq::sockopt::curve_secretkey, security.own->secret_key);
}

StatusOr<ServerSecurity> LoadServerSecurity(const std::string& bind, const std::string& key_file,
                                            const std::string& allow_file, bool insecure) {
  ServerSecurity security;
  security.insecure = insecure;
  const bool any = !key_file.empty() || !allow_file.empty();
  if (insecure && any) return InvalidArgument("--insecure and --key/--allow exclude each other");
  if (!any) {
    if (IsNetworkEndpoint(bind) && !insecure) {
      return InvalidArgument(
          bind +
          " is a network endpoint: give --key (the coordinator's key pair) and --allow (the "
          "allow-list of worker, client and admin keys), made with mixq keygen; or --insecure "
          "to let anyone who reaches the port submit jobs, read results and run tasks");
    }
    return security;
  }
  if (key_file.empty() || allow_file.empty()) return InvalidArgument("give both --key and --allow");
  MIXQ_ASSIGN_OR_RETURN(CurveKeyPair own, LoadCurveKeyPair(key_file));
  security.own = own;
  MIXQ_ASSIGN_OR_RETURN(AllowList allow, AllowList::Load(allow_file));
  security.allow = std::move(allow);
  return security;
}

}  // namespace mixq
