#include "worker/blob_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

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

}  // namespace
}  // namespace mixq
