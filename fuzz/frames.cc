#include "fuzz/frames.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>

namespace mixq::fuzz {
namespace {

constexpr size_t kMaxSessionFrames = 7;

// The frame at `*at`, moving `*at` past it.
std::string NextFrame(const uint8_t* data, size_t size, size_t* at) {
  size_t length = data[*at];
  if (*at + 1 < size) length |= static_cast<size_t>(data[*at + 1]) << 8;
  *at = std::min(size, *at + 2);
  length = std::min(length, size - *at);
  std::string frame(reinterpret_cast<const char*>(data) + *at, length);
  *at += length;
  return frame;
}

void AppendFrame(const std::string& frame, std::string* out) {
  const size_t length = std::min<size_t>(frame.size(), 0xffff);
  *out += static_cast<char>(length & 0xff);
  *out += static_cast<char>(length >> 8);
  out->append(frame, 0, length);
}

}  // namespace

std::vector<std::string> SplitFrames(const uint8_t* data, size_t size) {
  std::vector<std::string> frames;
  size_t at = 0;
  while (at < size) frames.push_back(NextFrame(data, size, &at));
  return frames;
}

std::string JoinFrames(const std::vector<std::string>& frames) {
  std::string out;
  for (const std::string& frame : frames) AppendFrame(frame, &out);
  return out;
}

std::vector<SessionMessage> SplitSession(const uint8_t* data, size_t size, size_t max_messages) {
  std::vector<SessionMessage> messages;
  size_t at = 0;
  while (at < size && messages.size() < max_messages) {
    SessionMessage message;
    message.header = data[at++];
    const size_t count = at < size ? data[at++] % (kMaxSessionFrames + 1) : 0;
    for (size_t i = 0; i < count && at < size; ++i) {
      message.frames.push_back(NextFrame(data, size, &at));
    }
    messages.push_back(std::move(message));
  }
  return messages;
}

std::string JoinSession(const std::vector<SessionMessage>& messages) {
  std::string out;
  for (const SessionMessage& message : messages) {
    const size_t count = std::min(message.frames.size(), kMaxSessionFrames);
    out += static_cast<char>(message.header);
    out += static_cast<char>(count);
    for (size_t i = 0; i < count; ++i) AppendFrame(message.frames[i], &out);
  }
  return out;
}

std::string DeterministicBytes(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return bytes;
}

}  // namespace mixq::fuzz
