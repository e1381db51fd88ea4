#include "worker/blob_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/sha256.h"

namespace mixq {
namespace {

namespace fs = std::filesystem;

class BlobCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mixq-blob-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  static proto::BlobRef Ref(const std::string& content, const std::string& path) {
    proto::BlobRef ref;
    ref.set_sha256(Sha256Hex(content));
    ref.set_size(content.size());
    ref.set_path(path);
    return ref;
  }
  std::string dir_;
};

TEST_F(BlobCacheTest, UsesLocalPathOnlyWhenHashMatches) {
  const std::string path = Write("model.onnx", "weights");
  BlobCache cache(dir_ + "/cache", true);
  EXPECT_EQ(cache.Find(Ref("weights", path)).value_or(""), path);
  // Same path, other content: not usable.
  EXPECT_FALSE(cache.Find(Ref("other weights", path)).has_value());
  // Local paths ignored on request.
  BlobCache no_local(dir_ + "/cache", false);
  EXPECT_FALSE(no_local.Find(Ref("weights", path)).has_value());
}

TEST_F(BlobCacheTest, ReceivedBlobIsVerifiedAndCachedByHash) {
  BlobCache cache(dir_ + "/cache", false);
  const proto::BlobRef ref = Ref("hello world", "/nonexistent");
  ASSERT_TRUE(cache.Begin(ref).ok());
  ASSERT_TRUE(cache.Append(0, "hello ").ok());
  ASSERT_TRUE(cache.Append(6, "world").ok());
  StatusOr<std::string> path = cache.Finish();
  ASSERT_TRUE(path.ok()) << path.status().message();
  EXPECT_EQ(*path, dir_ + "/cache/" + ref.sha256());
  EXPECT_EQ(Sha256File(*path).value(), ref.sha256());
  EXPECT_EQ(cache.Find(ref).value_or(""), *path);
}

TEST_F(BlobCacheTest, CorruptOrOutOfOrderBytesAreRefused) {
  BlobCache cache(dir_ + "/cache", false);
  const proto::BlobRef ref = Ref("hello world", "");
  ASSERT_TRUE(cache.Begin(ref).ok());
  ASSERT_TRUE(cache.Append(0, "hello w0rld").ok());
  StatusOr<std::string> path = cache.Finish();
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), StatusCode::kDataLoss);
  EXPECT_FALSE(fs::exists(dir_ + "/cache/" + ref.sha256()));
  EXPECT_FALSE(cache.Find(ref).has_value());

  ASSERT_TRUE(cache.Begin(ref).ok());
  EXPECT_EQ(cache.Append(5, "world").code(), StatusCode::kDataLoss);
}

// Found while writing fuzz/worker_messages: a coordinator's blob "hash" was joined to
// the cache folder as it came, so "../name" wrote (and renamed) a file
// outside the cache, and "/abs/path" was hashed in place.
TEST_F(BlobCacheTest, HashThatIsAPathNamesNoFile) {
  const std::string outside = Write("outside", "secret");
  BlobCache cache(dir_ + "/cache", false);
  proto::BlobRef ref = Ref("secret", "");
  for (const std::string& hash : {std::string("../escaped"), outside, ref.sha256().substr(1) + "/",
                                  std::string(64, 'A'), std::string("")}) {
    ref.set_sha256(hash);
    Status begun = cache.Begin(ref);
    EXPECT_EQ(begun.code(), StatusCode::kInvalidArgument) << hash;
    EXPECT_EQ(begun.message().find('\n'), std::string::npos);
    EXPECT_FALSE(cache.Find(ref).has_value()) << hash;
  }
  // Nothing was written beside the cache folder: only the two files this
  // test made are there.
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"cache", "outside"}));
}

// Found while writing fuzz/worker_messages: chunks were appended whatever the blob's
// declared size, so a coordinator could fill the worker's disk.
TEST_F(BlobCacheTest, BytesBeyondTheDeclaredSizeAreRefusedBeforeWriting) {
  BlobCache cache(dir_ + "/cache", false);
  const proto::BlobRef ref = Ref("hello", "");
  ASSERT_TRUE(cache.Begin(ref).ok());
  ASSERT_TRUE(cache.Append(0, "hel").ok());
  EXPECT_EQ(cache.Append(3, "lo world").code(), StatusCode::kDataLoss);
  EXPECT_EQ(cache.received(), 3u);
  // Nothing of the refused chunk was written: the right rest completes it.
  ASSERT_TRUE(cache.Append(3, "lo").ok());
  StatusOr<std::string> path = cache.Finish();
  ASSERT_TRUE(path.ok()) << path.status().message();
  EXPECT_EQ(Sha256File(*path).value(), ref.sha256());
  // A new Begin abandons an unfinished blob: its partial file goes.
  const proto::BlobRef other = Ref("other", "");
  ASSERT_TRUE(cache.Begin(other).ok());
  ASSERT_TRUE(cache.Begin(ref).ok());
  EXPECT_FALSE(fs::exists(dir_ + "/cache/" + other.sha256() + ".part." + std::to_string(getpid())));
}

// A worker refuses, before fetching a byte, a blob larger than its cache's
// limit and a blob whose name could be a path; and it stops a coordinator
// that sends more bytes than it announced.
TEST_F(BlobCacheTest, RefusesOversizeBadlyNamedAndOverlongBlobs) {
  BlobCache cache(dir_ + "/cache", false, /*max_bytes=*/8);
  proto::BlobRef big = Ref("0123456789", "");
  Status s = cache.Begin(big);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "blob " + big.sha256().substr(0, 12) +
                             " () is 10 bytes, more than this worker's limit of 8");
  EXPECT_TRUE(fs::is_empty(dir_ + "/cache")) << "nothing written for a refused blob";

  proto::BlobRef escape = Ref("abc", "");
  escape.set_sha256("../../escape");
  EXPECT_FALSE(cache.Find(escape).has_value());
  s = cache.Begin(escape);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "a blob hash of 12 bytes that is not 64 lower-case hex digits");
  EXPECT_FALSE(fs::exists(dir_ + "/escape.part." + std::to_string(getpid())));

  proto::BlobRef small = Ref("abc", "");
  ASSERT_TRUE(cache.Begin(small).ok());
  ASSERT_TRUE(cache.Append(0, "ab").ok());
  s = cache.Append(2, "cd");
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.message(), "blob " + small.sha256() + ": more than its 3 bytes sent");
}

}  // namespace
}  // namespace mixq
