// A client of a running coordinator (schemas/protocol.md, client side): a
// DEALER socket that sends one request and waits for its reply. Used by
// `mixq run`, `mixq submit`, `mixq status` and `mixq cancel`, and by tests.
#ifndef MIXQ_COORDINATOR_COORDINATOR_CLIENT_H_
#define MIXQ_COORDINATOR_COORDINATOR_CLIENT_H_

#include <chrono>
#include <memory>
#include <string>

#include "common/protocol_codec.h"
#include "common/status.h"
#include "security/endpoint_security.h"

namespace mixq {

class CoordinatorClient {
 public:
  // `security`: CURVE keys for a network endpoint (endpoint_security.h);
  // the default is keyless (ipc://, or a coordinator run --insecure).
  explicit CoordinatorClient(const std::string& endpoint, ClientSecurity security = {});
  ~CoordinatorClient();

  // Sends `request` and returns the first reply of `reply_type`; Unavailable
  // after `timeout` with no reply (the coordinator is down or busy).
  StatusOr<Decoded> Call(MessageType type, const google::protobuf::Message& request,
                         MessageType reply_type, std::chrono::milliseconds timeout);

  StatusOr<proto::SubmitReply> Submit(const std::string& job_yaml, const std::string& base_dir,
                                      std::chrono::milliseconds timeout);
  // A search job's reply carries its progress lines from `search_log_from`.
  // Its rows come in pages (StatusReply.rows_next), which this fetches and
  // joins, so the reply holds them all.
  StatusOr<proto::StatusReply> GetStatus(int64_t job_id, std::chrono::milliseconds timeout,
                                         int64_t search_log_from = 0);
  StatusOr<proto::CancelReply> Cancel(int64_t job_id, std::chrono::milliseconds timeout);

 private:
  class Socket;
  std::string endpoint_;
  ClientSecurity security_;
  std::unique_ptr<Socket> socket_;
};

}  // namespace mixq

#endif  // MIXQ_COORDINATOR_COORDINATOR_CLIENT_H_
