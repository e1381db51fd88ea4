// The serialized forms' primitives: round trips at the edges of each
// encoding, and refusals of what no writer produces.
#include "metrics/byte_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace mixq {
namespace {

TEST(ByteCodec, RoundTripsEdgeValues) {
  const uint64_t unsigned_values[] = {
      0, 1, 127, 128, 16383, 16384, std::numeric_limits<uint64_t>::max()};
  const int64_t signed_values[] = {
      0, -1, 1, -64, 64, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
  const double doubles[] = {0.0, -0.0, 0.1, 1e-308, -std::numeric_limits<double>::infinity()};
  ByteWriter w;
  for (uint64_t v : unsigned_values) w.PutVarint(v);
  for (int64_t v : signed_values) w.PutSignedVarint(v);
  for (double v : doubles) w.PutDouble(v);
  const std::string bytes = w.Release();
  ByteReader r(bytes, "b");
  for (uint64_t v : unsigned_values) {
    uint64_t got = 0;
    ASSERT_TRUE(r.ReadVarint(&got, "u").ok());
    EXPECT_EQ(got, v);
  }
  for (int64_t v : signed_values) {
    int64_t got = 0;
    ASSERT_TRUE(r.ReadSignedVarint(&got, "s").ok());
    EXPECT_EQ(got, v);
  }
  for (double v : doubles) {
    double got = 1;
    ASSERT_TRUE(r.ReadDouble(&got, "d").ok());
    EXPECT_EQ(std::signbit(got), std::signbit(v));
    EXPECT_EQ(got, v);
  }
  EXPECT_TRUE(r.ExpectEnd().ok());
  // Small magnitudes stay one byte: -1 is zigzag 1, 0.5's bits little-endian.
  ByteWriter small;
  small.PutSignedVarint(-1);
  small.PutDouble(0.5);
  EXPECT_EQ(small.bytes(), std::string("\x01\x00\x00\x00\x00\x00\x00\xe0\x3f", 9));
}

TEST(ByteCodec, RefusesOverlongAndTruncatedVarints) {
  uint64_t v = 0;
  const std::string eleven = std::string(10, '\x80') + '\x01';
  ByteReader overlong(eleven, "x");
  EXPECT_EQ(overlong.ReadVarint(&v, "count").message(), "x: count overflows 64 bits at byte 10");
  const std::string high = std::string(9, '\xff') + '\x02';
  ByteReader past64(high, "x");
  EXPECT_EQ(past64.ReadVarint(&v, "count").code(), StatusCode::kDataLoss);
  const std::string cut = "\x80";
  ByteReader truncated(cut, "x");
  EXPECT_EQ(truncated.ReadVarint(&v, "count").message(), "x: truncated: no count at byte 1");
  const std::string big = "\x05";
  ByteReader bounded(big, "x");
  EXPECT_EQ(bounded.ReadBoundedVarint(4, &v, "rank").message(),
            "x: rank 5 is more than 4 at byte 1");
}

}  // namespace
}  // namespace mixq
