#include "common/protocol_codec.h"

#include <gtest/gtest.h>

namespace mixq {
namespace {

TEST(ProtocolCodec, RoundTripsEveryField) {
  proto::TaskAssign task;
  task.set_task_id("abc");
  task.set_kind(proto::TASK_KIND_EVALUATE);
  task.mutable_model()->set_sha256("ff00");
  task.set_begin(250);
  task.set_count(125);
  std::vector<std::string> frames = Encode(MessageType::kTaskAssign, task);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0], std::string(1, static_cast<char>(kProtocolVersion)));
  DecodeResult r = Decode(frames);
  ASSERT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(r.message->type, MessageType::kTaskAssign);
  const auto& got = r.message->As<proto::TaskAssign>();
  EXPECT_EQ(got.task_id(), "abc");
  EXPECT_EQ(got.model().sha256(), "ff00");
  EXPECT_EQ(got.begin(), 250);
  EXPECT_EQ(got.count(), 125);
}

TEST(ProtocolCodec, RefusesWrongFrameCount) {
  DecodeResult r = Decode({std::string(1, 1), std::string(1, 4)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error, DecodeError::kFrameCount);
  r = Decode({});
  EXPECT_EQ(r.error, DecodeError::kFrameCount);
}

TEST(ProtocolCodec, RefusesUnknownType) {
  DecodeResult r = Decode({std::string(1, 1), std::string(1, static_cast<char>(200)), ""});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error, DecodeError::kUnknownType);
  r = Decode({std::string(1, 1), "HELLO", ""});
  EXPECT_EQ(r.error, DecodeError::kUnknownType);
}

TEST(ProtocolCodec, RefusesUndecodablePayload) {
  DecodeResult r = Decode({std::string(1, 1), std::string(1, 1), "\xff\xff\xff\xff"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error, DecodeError::kPayload);
  EXPECT_NE(r.detail.find("HELLO"), std::string::npos);
}

TEST(ProtocolCodec, RefusesOtherVersionAndReportsIt) {
  proto::Hello hello;
  hello.set_protocol_version(7);
  DecodeResult r = Decode(Encode(MessageType::kHello, hello, 7));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error, DecodeError::kVersion);
  EXPECT_EQ(r.peer_version, 7);
  ASSERT_TRUE(r.peer_type.has_value());
  EXPECT_EQ(*r.peer_type, MessageType::kHello);
}

TEST(ProtocolCodec, RefusesOversizeBeforeParsing) {
  proto::BlobChunk chunk;
  chunk.set_data(std::string(2048, 'x'));
  std::vector<std::string> frames = Encode(MessageType::kBlobChunk, chunk);
  EXPECT_TRUE(Decode(frames, 4096).ok());
  DecodeResult r = Decode(frames, 1024);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error, DecodeError::kOversize);
}

}  // namespace
}  // namespace mixq
