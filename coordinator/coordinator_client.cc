#include "coordinator/coordinator_client.h"

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/hardware_info.h"
#include "common/resource_limits.h"

namespace mixq {

class CoordinatorClient::Socket {
 public:
  Socket(const std::string& endpoint, const ClientSecurity& security)
      : socket(context, zmq::socket_type::dealer) {
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::maxmsgsize, kPeerMaxFrameBytes);
    ApplyClientSecurity(&socket, security);
    socket.connect(endpoint);
  }
  zmq::context_t context;
  zmq::socket_t socket;
};

CoordinatorClient::CoordinatorClient(const std::string& endpoint, ClientSecurity security)
    : endpoint_(endpoint),
      security_(std::move(security)),
      socket_(std::make_unique<Socket>(endpoint, security_)) {}
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
  socket_ = std::make_unique<Socket>(endpoint_, security_);
  return Unavailable(endpoint_ + ": no " + MessageTypeName(reply_type) + " within " +
                     std::to_string(timeout.count()) + " ms (is the coordinator running" +
                     (IsNetworkEndpoint(endpoint_)
                          ? "? is this key on its allow-list, and --coordinator-key its key?)"
                          : "?)"));
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
  proto::StatusReply status = reply.As<proto::StatusReply>();
  // The following pages' rows only; their progress lines were in the first.
  int64_t next = status.rows_next();
  for (int pages = 1; next > 0; ++pages) {
    if (pages > 10000) return DataLoss(endpoint_ + ": STATUS_REPLY pages never end");
    request.set_rows_from(next);
    request.set_search_log_from(status.search_log_next());
    MIXQ_ASSIGN_OR_RETURN(Decoded more, Call(MessageType::kStatusRequest, request,
                                             MessageType::kStatusReply, timeout));
    const proto::StatusReply& page = more.As<proto::StatusReply>();
    if (page.rows_next() != 0 && page.rows_next() <= next) {
      return DataLoss(endpoint_ + ": STATUS_REPLY page does not advance");
    }
    for (const auto& row : page.evaluations()) *status.add_evaluations() = row;
    for (const auto& row : page.benchmarks()) *status.add_benchmarks() = row;
    next = page.rows_next();
  }
  status.set_rows_next(0);
  return status;
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
