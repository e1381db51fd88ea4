#include "common/protocol_codec.h"

namespace mixq {
namespace {

std::unique_ptr<google::protobuf::Message> NewBody(MessageType type) {
  switch (type) {
    case MessageType::kHello:
      return std::make_unique<proto::Hello>();
    case MessageType::kWelcome:
      return std::make_unique<proto::Welcome>();
    case MessageType::kRefuse:
      return std::make_unique<proto::Refuse>();
    case MessageType::kHeartbeat:
      return std::make_unique<proto::Heartbeat>();
    case MessageType::kReconnect:
      return std::make_unique<proto::Reconnect>();
    case MessageType::kTaskAssign:
      return std::make_unique<proto::TaskAssign>();
    case MessageType::kTaskResult:
      return std::make_unique<proto::TaskResult>();
    case MessageType::kTaskFailed:
      return std::make_unique<proto::TaskFailed>();
    case MessageType::kBlobRequest:
      return std::make_unique<proto::BlobRequest>();
    case MessageType::kBlobChunk:
      return std::make_unique<proto::BlobChunk>();
    case MessageType::kSubmitRequest:
      return std::make_unique<proto::SubmitRequest>();
    case MessageType::kSubmitReply:
      return std::make_unique<proto::SubmitReply>();
    case MessageType::kStatusRequest:
      return std::make_unique<proto::StatusRequest>();
    case MessageType::kStatusReply:
      return std::make_unique<proto::StatusReply>();
    case MessageType::kCancelRequest:
      return std::make_unique<proto::CancelRequest>();
    case MessageType::kCancelReply:
      return std::make_unique<proto::CancelReply>();
  }
  return nullptr;
}

DecodeResult Error(DecodeError error, std::string detail) {
  DecodeResult r;
  r.error = error;
  r.detail = std::move(detail);
  return r;
}

}  // namespace

const char* MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kHello:
      return "HELLO";
    case MessageType::kWelcome:
      return "WELCOME";
    case MessageType::kRefuse:
      return "REFUSE";
    case MessageType::kHeartbeat:
      return "HEARTBEAT";
    case MessageType::kReconnect:
      return "RECONNECT";
    case MessageType::kTaskAssign:
      return "TASK_ASSIGN";
    case MessageType::kTaskResult:
      return "TASK_RESULT";
    case MessageType::kTaskFailed:
      return "TASK_FAILED";
    case MessageType::kBlobRequest:
      return "BLOB_REQUEST";
    case MessageType::kBlobChunk:
      return "BLOB_CHUNK";
    case MessageType::kSubmitRequest:
      return "SUBMIT_REQUEST";
    case MessageType::kSubmitReply:
      return "SUBMIT_REPLY";
    case MessageType::kStatusRequest:
      return "STATUS_REQUEST";
    case MessageType::kStatusReply:
      return "STATUS_REPLY";
    case MessageType::kCancelRequest:
      return "CANCEL_REQUEST";
    case MessageType::kCancelReply:
      return "CANCEL_REPLY";
  }
  return "UNKNOWN";
}

const char* DecodeErrorName(DecodeError error) {
  switch (error) {
    case DecodeError::kFrameCount:
      return "frame_count";
    case DecodeError::kVersion:
      return "version";
    case DecodeError::kUnknownType:
      return "unknown_type";
    case DecodeError::kPayload:
      return "payload";
    case DecodeError::kOversize:
      return "oversize";
  }
  return "unknown";
}

DecodeResult Decode(const std::vector<std::string>& frames, size_t max_bytes) {
  // Size first: a receiver must not parse a message it would refuse anyway.
  size_t total = 0;
  for (const std::string& f : frames) total += f.size();
  if (total > max_bytes) {
    return Error(DecodeError::kOversize,
                 std::to_string(total) + " bytes > limit " + std::to_string(max_bytes));
  }
  if (frames.size() != 3) {
    return Error(DecodeError::kFrameCount,
                 std::to_string(frames.size()) + " frames, want 3 (version, type, payload)");
  }
  const std::string& version = frames[0];
  const std::string& type_frame = frames[1];
  std::optional<MessageType> type;
  if (type_frame.size() == 1) {
    auto candidate = static_cast<MessageType>(static_cast<uint8_t>(type_frame[0]));
    if (NewBody(candidate) != nullptr) type = candidate;
  }
  if (version.size() != 1 || static_cast<uint8_t>(version[0]) != kProtocolVersion) {
    DecodeResult r =
        Error(DecodeError::kVersion,
              version.size() == 1
                  ? "protocol version " + std::to_string(static_cast<uint8_t>(version[0])) +
                        ", this side speaks " + std::to_string(kProtocolVersion)
                  : "version frame of " + std::to_string(version.size()) + " bytes");
    if (version.size() == 1) r.peer_version = static_cast<uint8_t>(version[0]);
    r.peer_type = type;
    return r;
  }
  if (!type) {
    return Error(DecodeError::kUnknownType,
                 type_frame.size() == 1
                     ? "unknown message type " + std::to_string(static_cast<uint8_t>(type_frame[0]))
                     : "type frame of " + std::to_string(type_frame.size()) + " bytes");
  }
  std::unique_ptr<google::protobuf::Message> body = NewBody(*type);
  if (!body->ParseFromString(frames[2])) {
    return Error(DecodeError::kPayload,
                 std::string("payload is not a valid ") + MessageTypeName(*type));
  }
  DecodeResult r;
  r.message = Decoded{*type, std::move(body), kProtocolVersion};
  return r;
}

std::vector<std::string> Encode(MessageType type, const google::protobuf::Message& body,
                                uint8_t version) {
  std::vector<std::string> frames(3);
  frames[0] = std::string(1, static_cast<char>(version));
  frames[1] = std::string(1, static_cast<char>(type));
  body.SerializeToString(&frames[2]);
  return frames;
}

}  // namespace mixq
