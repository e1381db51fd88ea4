// The frames of wire messages in fuzz inputs (protocol_decode,
// coordinator_messages, worker_messages), in an encoding that libFuzzer's
// byte mutations mostly keep intact:
//
//   frame    = length (2 bytes, little-endian) + that many bytes; a length
//              beyond the end of the input takes what is left
//   message  = header (1 byte: its meaning is the target's) +
//              frame count (1 byte, taken modulo 8) + that many frames
//
// A single message's frames (protocol_decode) are frames back to back; a
// session (the handler targets) is messages back to back. Also the seed
// generators' inverse of both, and a message's bytes in a form two equal
// messages always share.
#ifndef MIXQ_FUZZ_FRAMES_H_
#define MIXQ_FUZZ_FRAMES_H_

#include <google/protobuf/message.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mixq::fuzz {

// Every frame of `data`, in order (none for empty input).
std::vector<std::string> SplitFrames(const uint8_t* data, size_t size);

// The bytes SplitFrames() turns back into `frames`; a frame longer than
// 65535 bytes is cut to that.
std::string JoinFrames(const std::vector<std::string>& frames);

struct SessionMessage {
  uint8_t header = 0;
  std::vector<std::string> frames;
};

// The first `max_messages` messages of `data`; a message cut short by the
// end of the input keeps the frames it has.
std::vector<SessionMessage> SplitSession(const uint8_t* data, size_t size, size_t max_messages);

// The bytes SplitSession() turns back into `messages` (at most 7 frames each).
std::string JoinSession(const std::vector<SessionMessage>& messages);

// `message` serialised deterministically (map entries in key order), so
// that equal messages give equal bytes.
std::string DeterministicBytes(const google::protobuf::Message& message);

}  // namespace mixq::fuzz

#endif  // MIXQ_FUZZ_FRAMES_H_
