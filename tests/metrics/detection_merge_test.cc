// Sharded evaluation equals one process, bit for bit, and the serialized
// form that carries shards round-trips and refuses what is not one.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "metrics/byte_codec.h"
#include "metrics/detection.h"
#include "tests/metrics/coco_world.h"

namespace mixq {
namespace {

using test::CocoWorld;

Status AddWorldImage(const CocoWorld& world, int64_t image, DetectionStats* stats) {
  return stats->AddImage(image, test::GtsOfImage(world.gts, image),
                         test::DetsOfImage(world.dets, image));
}

DetectionStats Whole(const CocoWorld& world) {
  DetectionStats stats;
  for (int64_t image : world.image_ids) EXPECT_TRUE(AddWorldImage(world, image, &stats).ok());
  return stats;
}

// The world's images dealt to `k` shards at random, each shard adding its
// images in a random order.
std::vector<DetectionStats> Shards(const CocoWorld& world, int k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int64_t> images = world.image_ids;
  std::shuffle(images.begin(), images.end(), rng);
  std::vector<DetectionStats> shards(k);
  for (size_t i = 0; i < images.size(); ++i) {
    const int shard = std::uniform_int_distribution<int>(0, k - 1)(rng);
    EXPECT_TRUE(AddWorldImage(world, images[i], &shards[shard]).ok());
  }
  return shards;
}

TEST(DetectionShards, AnySplitAndMergeOrderGivesTheSameBits) {
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    const CocoWorld world = test::MakeCocoWorld(seed);
    const DetectionStats whole = Whole(world);
    ASSERT_GT(whole.Map50(), 0) << "seed " << seed;
    ASSERT_LT(whole.Map50_95(), whole.Map50()) << "seed " << seed;
    for (int k = 1; k <= 3; ++k) {
      const std::vector<DetectionStats> shards = Shards(world, k, seed * 10 + k);
      std::vector<int> order(k);
      for (int i = 0; i < k; ++i) order[i] = i;
      do {
        DetectionStats merged;
        for (int i : order) ASSERT_TRUE(merged.Merge(shards[i]).ok());
        // Exact equality, not a tolerance: the entries are read in one order.
        EXPECT_EQ(merged.Map50(), whole.Map50()) << "seed " << seed << ", " << k << " shards";
        EXPECT_EQ(merged.Map50_95(), whole.Map50_95()) << "seed " << seed << ", " << k;
        EXPECT_EQ(merged.Serialize(), whole.Serialize()) << "seed " << seed << ", " << k;
      } while (std::next_permutation(order.begin(), order.end()));
    }
  }
}

TEST(DetectionShards, ShardsMergeThroughTheirSerializedForm) {
  const CocoWorld world = test::MakeCocoWorld(11);
  const DetectionStats whole = Whole(world);
  const std::vector<DetectionStats> shards = Shards(world, 3, 5);
  // As the coordinator would: parse what each worker sent, then merge into
  // the first shard rather than an empty accumulator.
  StatusOr<DetectionStats> merged = DetectionStats::Parse(shards[2].Serialize(), "worker 2");
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  for (int i : {0, 1}) {
    StatusOr<DetectionStats> shard =
        DetectionStats::Parse(shards[i].Serialize(), "worker " + std::to_string(i));
    ASSERT_TRUE(shard.ok()) << shard.status().ToString();
    ASSERT_TRUE(merged->Merge(*shard).ok());
  }
  EXPECT_EQ(merged->Map50(), whole.Map50());
  EXPECT_EQ(merged->Map50_95(), whole.Map50_95());
  EXPECT_EQ(merged->num_images(), static_cast<int64_t>(world.image_ids.size()));
}

TEST(DetectionShards, MergeRefusesAShardThatRepeatsAnImage) {
  const CocoWorld world = test::MakeCocoWorld(3);
  DetectionStats a;
  DetectionStats b;
  ASSERT_TRUE(AddWorldImage(world, world.image_ids[0], &a).ok());
  ASSERT_TRUE(AddWorldImage(world, world.image_ids[1], &a).ok());
  ASSERT_TRUE(AddWorldImage(world, world.image_ids[1], &b).ok());
  const std::string before = a.Serialize();
  const Status s = a.Merge(b);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("image " + std::to_string(world.image_ids[1]) + " is in both"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(a.Serialize(), before);
  EXPECT_EQ(a.Merge(a).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(a.Serialize(), before);
}

TEST(DetectionSerialization, RoundTripsToEqualStatistics) {
  for (uint32_t seed : {2u, 7u}) {
    const DetectionStats whole = Whole(test::MakeCocoWorld(seed));
    const std::string bytes = whole.Serialize();
    StatusOr<DetectionStats> parsed = DetectionStats::Parse(bytes, "shard");
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(parsed->Serialize(), bytes);
    EXPECT_EQ(parsed->Map50(), whole.Map50());
    EXPECT_EQ(parsed->Map50_95(), whole.Map50_95());
  }
  StatusOr<DetectionStats> empty = DetectionStats::Parse(DetectionStats().Serialize(), "empty");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->Map50(), -1.0);
}

TEST(DetectionSerialization, EveryTruncationAndTrailingByteIsDataLoss) {
  const std::string bytes = Whole(test::MakeCocoWorld(4)).Serialize();
  for (size_t n = 0; n < bytes.size(); ++n) {
    const StatusOr<DetectionStats> parsed = DetectionStats::Parse(bytes.substr(0, n), "cut");
    ASSERT_FALSE(parsed.ok()) << "prefix of " << n << " of " << bytes.size() << " bytes parsed";
    ASSERT_EQ(parsed.status().code(), StatusCode::kDataLoss);
    ASSERT_EQ(parsed.status().message().rfind("cut: ", 0), 0u) << parsed.status().message();
  }
  const StatusOr<DetectionStats> trailing = DetectionStats::Parse(bytes + "x", "t");
  ASSERT_FALSE(trailing.ok());
  EXPECT_NE(trailing.status().message().find("1 trailing bytes"), std::string::npos);
}

// A serialized form written field by field, to say exactly what is wrong.
struct Entry {
  double score;
  int64_t image;
  uint64_t rank;
  uint64_t tp;
  uint64_t ignored;
};

std::string Stats(const std::vector<int64_t>& images, const std::vector<Entry>& entries,
                  uint8_t version = 1) {
  ByteWriter out;
  out.PutBytes("MQDS");
  out.PutByte(version);
  out.PutVarint(100);
  out.PutVarint(images.size());
  for (int64_t image : images) out.PutSignedVarint(image);
  out.PutVarint(1);        // one category
  out.PutSignedVarint(1);  // id 1
  out.PutVarint(2);        // two ground truths
  out.PutVarint(entries.size());
  for (const Entry& e : entries) {
    out.PutDouble(e.score);
    out.PutSignedVarint(e.image);
    out.PutVarint(e.rank);
    out.PutVarint(e.tp);
    out.PutVarint(e.ignored);
  }
  return out.Release();
}

std::string ParseError(const std::string& bytes) {
  const StatusOr<DetectionStats> parsed = DetectionStats::Parse(bytes, "s");
  if (parsed.ok()) return "parsed";
  EXPECT_EQ(parsed.status().code(), StatusCode::kDataLoss);
  return parsed.status().message();
}

TEST(DetectionSerialization, RefusesMalformedStatistics) {
  const Entry a{0.9, 5, 0, 1, 0};
  const Entry b{0.8, 5, 1, 0, 2};
  ASSERT_EQ(ParseError(Stats({5}, {a, b})), "parsed");  // the well-formed base

  EXPECT_NE(ParseError("").find("not detection statistics"), std::string::npos);
  EXPECT_NE(ParseError("{\"map50\": 1}").find("no MQDS magic"), std::string::npos);
  EXPECT_NE(ParseError(Stats({5}, {a, b}, 2)).find("version 2"), std::string::npos);
  EXPECT_NE(ParseError(Stats({5}, {b, a})).find("not in canonical order"), std::string::npos);
  EXPECT_NE(ParseError(Stats({5}, {a, {0.8, 6, 1, 0, 0}})).find("not listed"), std::string::npos);
  EXPECT_NE(ParseError(Stats({5}, {a, {0.8, 5, 100, 0, 0}})).find("rank 100 is more than 99"),
            std::string::npos);
  EXPECT_NE(ParseError(Stats({5}, {a, {0.8, 5, 1, 1, 1}})).find("both TP and ignored"),
            std::string::npos);
  EXPECT_NE(ParseError(Stats({5}, {a, {0.8, 5, 1, 1024, 0}})).find("tp mask 1024"),
            std::string::npos);
  EXPECT_NE(ParseError(Stats({5}, {a, {std::nan(""), 5, 1, 0, 0}})).find("not finite"),
            std::string::npos);
  EXPECT_NE(ParseError(Stats({5}, {a, {0.8, 5, 0, 0, 0}})).find("repeats a detection"),
            std::string::npos);
  EXPECT_NE(ParseError(Stats({5, 5}, {a})).find("not ascending"), std::string::npos);
  // A count larger than the input could hold is refused before allocating.
  ByteWriter huge;
  huge.PutBytes("MQDS");
  huge.PutByte(1);
  huge.PutVarint(100);
  huge.PutVarint(uint64_t{1} << 25);
  EXPECT_NE(ParseError(huge.Release()).find("image count 33554432 is more than the 0 bytes left"),
            std::string::npos);
}

}  // namespace
}  // namespace mixq
