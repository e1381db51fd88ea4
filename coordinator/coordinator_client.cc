#include "coordinator/coordinator_client.h"

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/hardware_info.h"

namespace mixq {

class CoordinatorClient::Socket {
 public:
  explicit Socket(const std::string& endpoint) : socket(context, zmq::socket_type::dealer) {
    socket.set(zmq::sockopt::linger, 0);
    socket.connect(endpoint);
  }
  zmq::context_t context;
  zmq::socket_t socket;
};

CoordinatorClient::CoordinatorClient(const std::string& endpoint)
    : endpoint_(endpoint), socket_(std::make_unique<Socket>(endpoint)) {}
CoordinatorClient::~CoordinatorClient() = default;

StatusOr<Decoded> CoordinatorClient::Call(MessageType type,
                                          const google::protobuf::Message& request,
                                          MessageType reply_type,
                                          std::chrono::milliseconds timeout) {
  try {
    std::vector<std::string> frames = Encode(type, request);
    std::vector<zmq::const_buffer> parts;
    for (const std::string& f : frames) parts.push_back(zmq::buffer(f));
    zmq::send_multipart(socket_->socket, parts);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      zmq::pollitem_t item{static_cast<void*>(socket_->socket), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, left);
      if (!(item.revents & ZMQ_POLLIN)) continue;
      std::vector<zmq::message_t> msg;
      if (!zmq::recv_multipart(socket_->socket, std::back_inserter(msg))) continue;
      std::vector<std::string> got;
      for (auto& m : msg) got.push_back(m.to_string());
      DecodeResult r = Decode(got);
      // Replies to earlier, timed-out requests are skipped.
      if (r.ok() && r.message->type == reply_type) return std::move(*r.message);
    }
  } catch (const zmq::error_t& e) {
    return Unavailable(endpoint_ + ": " + e.what());
  }
  // The socket may hold a half-sent request; start clean next time.
  socket_ = std::make_unique<Socket>(endpoint_);
  return Unavailable(endpoint_ + ": no " + MessageTypeName(reply_type) + " within " +
                     std::to_string(timeout.count()) + " ms (is the coordinator running?)");
}

StatusOr<proto::SubmitReply> CoordinatorClient::Submit(const std::string& job_yaml,
                                                       const std::string& base_dir,
                                                       std::chrono::milliseconds timeout) {
  proto::SubmitRequest request;
  request.set_job_yaml(job_yaml);
  request.set_base_dir(base_dir);
  request.set_client_host(HostName());
  MIXQ_ASSIGN_OR_RETURN(Decoded reply, Call(MessageType::kSubmitRequest, request,
                                            MessageType::kSubmitReply, timeout));
  return reply.As<proto::SubmitReply>();
}

StatusOr<proto::StatusReply> CoordinatorClient::GetStatus(int64_t job_id,
                                                          std::chrono::milliseconds timeout,
                                                          int64_t search_log_from) {
  proto::StatusRequest request;
  request.set_job_id(job_id);
  request.set_search_log_from(search_log_from);
  MIXQ_ASSIGN_OR_RETURN(Decoded reply, Call(MessageType::kStatusRequest, request,
                                            MessageType::kStatusReply, timeout));
  return reply.As<proto::StatusReply>();
}

StatusOr<proto::CancelReply> CoordinatorClient::Cancel(int64_t job_id,
                                                       std::chrono::milliseconds timeout) {
  proto::CancelRequest request;
  request.set_job_id(job_id);
  MIXQ_ASSIGN_OR_RETURN(Decoded reply, Call(MessageType::kCancelRequest, request,
                                            MessageType::kCancelReply, timeout));
  return reply.As<proto::CancelReply>();
}

}  // namespace mixq
