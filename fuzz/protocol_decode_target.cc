// Fuzz target: the wire codec (common/protocol_codec.h), on the frames of one
// ZeroMQ message as any peer may send them.
//
// Input encoding (frames.h): a list of frames, each a 2-byte little-endian
// length followed by that many bytes; a length beyond the end of the input
// takes what is left. So "\x01\x00\x01" "\x01\x00\x04" "\x00\x00" is the
// three frames [version 1][HEARTBEAT][empty payload].
//
// Checked beyond not crashing: a refusal names a decode error kind and says
// why in one line; an accepted message encodes to frames that decode to the
// same type and the same body (byte for byte, serialised deterministically);
// and the same frames are refused as oversize under a limit one byte short
// of their size.
//
// Seeds: MIXQ_FUZZ_WRITE_SEEDS=fuzz/corpus/protocol_decode replay_protocol_decode
// writes one per example message of wire_examples.h, and a few broken ones.
#include <cstdint>
#include <string>
#include <vector>

#include "common/protocol_codec.h"
#include "fuzz/frames.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/wire_examples.h"

namespace {

void CheckDecodeError(const mixq::DecodeResult& r) {
  const std::string kind = mixq::DecodeErrorName(r.error);
  MIXQ_FUZZ_CHECK(kind != "unknown", "a refusal without a decode error kind");
  MIXQ_FUZZ_CHECK(!r.detail.empty(), "a " + kind + " refusal says nothing");
  MIXQ_FUZZ_CHECK(r.detail.find('\n') == std::string::npos,
                  "a " + kind + " refusal of more than one line: " + r.detail);
}

void CheckRoundTrip(const mixq::Decoded& m) {
  const std::vector<std::string> frames = mixq::Encode(m.type, *m.body);
  mixq::DecodeResult again = mixq::Decode(frames);
  MIXQ_FUZZ_CHECK(again.ok(), std::string("an encoded ") + mixq::MessageTypeName(m.type) +
                                  " is refused: " + again.detail);
  MIXQ_FUZZ_CHECK(again.message->type == m.type, "an encoded message decodes to another type");
  MIXQ_FUZZ_CHECK(mixq::fuzz::DeterministicBytes(*again.message->body) ==
                      mixq::fuzz::DeterministicBytes(*m.body),
                  std::string("a ") + mixq::MessageTypeName(m.type) +
                      " changes on its round trip through Encode and Decode");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::vector<std::pair<std::string, std::string>> seeds;
  const auto examples = mixq::fuzz::WireExamples(MIXQ_SOURCE_DIR, "data");
  for (const mixq::fuzz::WireExample& e : examples) {
    seeds.emplace_back(e.name, mixq::fuzz::JoinFrames(e.Frames()));
  }
  std::vector<std::string> frames = examples.front().Frames();  // a HELLO
  frames[0] = "\x02";
  seeds.emplace_back("hello_version_2", mixq::fuzz::JoinFrames(frames));
  frames[0] = "\x01";
  frames[1] = "\x63";
  seeds.emplace_back("unknown_type", mixq::fuzz::JoinFrames(frames));
  frames.pop_back();
  seeds.emplace_back("two_frames", mixq::fuzz::JoinFrames(frames));
  mixq::fuzz::WriteSeedsIfAsked(seeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> frames = mixq::fuzz::SplitFrames(data, size);
  mixq::fuzz::CatchEscapes([&] {
    mixq::DecodeResult r = mixq::Decode(frames);
    if (!r.ok()) {
      CheckDecodeError(r);
    } else {
      CheckRoundTrip(*r.message);
    }
    size_t total = 0;
    for (const std::string& f : frames) total += f.size();
    if (total > 0) {
      mixq::DecodeResult small = mixq::Decode(frames, total - 1);
      MIXQ_FUZZ_CHECK(!small.ok() && small.error == mixq::DecodeError::kOversize,
                      "frames one byte over the limit are not refused as oversize");
      CheckDecodeError(small);
    }
  });
  return 0;
}
