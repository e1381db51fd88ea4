// The wire codec of schemas/protocol.md: a ZeroMQ message is a list of frames
// [version][type][payload] (a ROUTER sees the peer's identity frame first);
// the payload is the protobuf message of schemas/mixq.proto that the type
// names. Decode() turns frames into a typed message or a typed error, so a
// receiver can count what it drops by kind and never trusts a peer's bytes.
#ifndef MIXQ_COMMON_PROTOCOL_CODEC_H_
#define MIXQ_COMMON_PROTOCOL_CODEC_H_

#include <google/protobuf/message.h>

#include <cassert>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "schemas/mixq.pb.h"

namespace mixq {

inline constexpr uint8_t kProtocolVersion = 1;
// Largest message (all frames) a peer accepts; blobs travel in 1 MiB chunks.
inline constexpr size_t kDefaultMaxMessageBytes = 16u << 20;
inline constexpr size_t kBlobChunkBytes = 1u << 20;

// One byte on the wire; values are fixed forever (never renumber).
enum class MessageType : uint8_t {
  kHello = 1,
  kWelcome = 2,
  kRefuse = 3,
  kHeartbeat = 4,
  kReconnect = 5,
  kTaskAssign = 6,
  kTaskResult = 7,
  kTaskFailed = 8,
  kBlobRequest = 9,
  kBlobChunk = 10,
  kSubmitRequest = 11,
  kSubmitReply = 12,
  kStatusRequest = 13,
  kStatusReply = 14,
  kCancelRequest = 15,
  kCancelReply = 16,
};

const char* MessageTypeName(MessageType type);

// Why a message was dropped; each kind is counted separately.
enum class DecodeError {
  kFrameCount,   // not exactly [version][type][payload]
  kVersion,      // version frame is not one byte equal to ours
  kUnknownType,  // type frame is not one byte naming a known type
  kPayload,      // the payload does not parse as the type's message
  kOversize,     // more bytes than the receiver accepts
};

const char* DecodeErrorName(DecodeError error);

struct Decoded {
  MessageType type;
  std::unique_ptr<google::protobuf::Message> body;
  uint8_t version = kProtocolVersion;

  // The body as its concrete type; `T` must match `type` (asserts).
  template <typename T>
  const T& As() const {
    const T* typed = dynamic_cast<const T*>(body.get());
    assert(typed != nullptr);
    return *typed;
  }
};

// A decode result: a message, or the kind of error with a one-line detail.
struct DecodeResult {
  std::optional<Decoded> message;
  DecodeError error = DecodeError::kFrameCount;
  std::string detail;
  // For kVersion only: the sender's version and the type frame if it named a
  // known type, so a receiver can answer a Hello of another version clearly.
  int peer_version = -1;
  std::optional<MessageType> peer_type;

  bool ok() const { return message.has_value(); }
};

// `frames` excludes any ROUTER identity frame.
DecodeResult Decode(const std::vector<std::string>& frames,
                    size_t max_bytes = kDefaultMaxMessageBytes);

// The frames for `body` of `type` (version frame = `version`, ours unless a
// test pretends to be another version).
std::vector<std::string> Encode(MessageType type, const google::protobuf::Message& body,
                                uint8_t version = kProtocolVersion);

}  // namespace mixq

#endif  // MIXQ_COMMON_PROTOCOL_CODEC_H_
