// Key files, the allow-list and the endpoint rules (security/): what is
// refused and what each message says, on files the tests write.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "security/allow_list.h"
#include "security/curve_keys.h"
#include "security/endpoint_security.h"
#include "security/zap_handler.h"
#include "tests/common/data_files.h"

namespace mixq {
namespace {

TEST(CurveKeys, SavedPairLoadsBackAndIsPrivate) {
  const test::TempDir dir;
  StatusOr<CurveKeyPair> pair = GenerateCurveKeyPair();
  ASSERT_TRUE(pair.ok());
  EXPECT_TRUE(IsCurveKey(pair->public_key));
  EXPECT_NE(pair->public_key, pair->secret_key);
  ASSERT_TRUE(SaveCurveKeyPair(*pair, dir.Path("w")).ok());
  struct stat st {};
  ASSERT_EQ(stat(dir.Path("w.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  StatusOr<CurveKeyPair> loaded = LoadCurveKeyPair(dir.Path("w.key"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->public_key, pair->public_key);
  EXPECT_EQ(loaded->secret_key, pair->secret_key);
  EXPECT_EQ(LoadCurvePublicKey(dir.Path("w.pub")).value(), pair->public_key);
  EXPECT_EQ(LoadCurvePublicKey(dir.Path("w.key")).value(), pair->public_key);
  // Never overwritten.
  Status again = SaveCurveKeyPair(*GenerateCurveKeyPair(), dir.Path("w"));
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.message().find("never overwritten"), std::string::npos);
  EXPECT_EQ(LoadCurveKeyPair(dir.Path("w.key"))->secret_key, pair->secret_key);
}

TEST(CurveKeys, APublicKeyThatIsNotTheSecretsIsRefused) {
  const test::TempDir dir;
  CurveKeyPair a = *GenerateCurveKeyPair(), b = *GenerateCurveKeyPair();
  test::WriteText(dir.Path("mixed.key"),
                  "public = " + a.public_key + "\nsecret = " + b.secret_key + "\n");
  StatusOr<CurveKeyPair> loaded = LoadCurveKeyPair(dir.Path("mixed.key"));
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("not the secret key's"), std::string::npos);
  test::WriteText(dir.Path("short.key"), "public = abc\nsecret = " + b.secret_key + "\n");
  EXPECT_NE(LoadCurveKeyPair(dir.Path("short.key")).status().message().find("Z85"),
            std::string::npos);
  EXPECT_EQ(LoadCurveKeyPair(dir.Path("absent.key")).status().code(), StatusCode::kNotFound);
}

TEST(AllowList, ParsesRolesNamesCommentsAndKeysHoldingAHash) {
  // Z85 has '#' in its alphabet (about one key in three holds one).
  std::string hashed;
  for (int i = 0; i < 1000 && hashed.find('#') == std::string::npos; ++i) {
    hashed = GenerateCurveKeyPair()->public_key;
  }
  ASSERT_NE(hashed.find('#'), std::string::npos);
  const std::string w = GenerateCurveKeyPair()->public_key;
  StatusOr<AllowList> list = AllowList::Parse(
      "# workers\nworker " + w + " node1  # rack 3\n" + "admin " + hashed + "\n\n", "allow");
  ASSERT_TRUE(list.ok()) << list.status().message();
  EXPECT_EQ(list->size(), 2u);
  ASSERT_NE(list->Find(w), nullptr);
  EXPECT_EQ(list->Find(w)->role, Role::kWorker);
  EXPECT_EQ(list->Find(w)->name, "node1");
  ASSERT_NE(list->Find(hashed), nullptr);
  EXPECT_EQ(list->Find(hashed)->role, Role::kAdmin);
  EXPECT_EQ(list->Find(hashed)->name, hashed.substr(0, 8));
  EXPECT_EQ(list->Find(GenerateCurveKeyPair()->public_key), nullptr);
}

TEST(AllowList, RefusalsNameTheLine) {
  const std::string k = GenerateCurveKeyPair()->public_key;
  EXPECT_NE(AllowList::Parse("boss " + k, "a").status().message().find("a:1: unknown role 'boss'"),
            std::string::npos);
  EXPECT_NE(AllowList::Parse("\nworker nokey", "a").status().message().find("a:2: not a Z85"),
            std::string::npos);
  EXPECT_NE(AllowList::Parse("worker " + k + "\nclient " + k, "a")
                .status()
                .message()
                .find("a:2: key listed twice"),
            std::string::npos);
  EXPECT_NE(AllowList::Parse("worker", "a").status().message().find("ROLE PUBLIC_KEY"),
            std::string::npos);
}

TEST(EndpointSecurity, NetworkEndpointsNeedKeysOrInsecure) {
  EXPECT_TRUE(IsNetworkEndpoint("tcp://127.0.0.1:5555"));
  EXPECT_FALSE(IsNetworkEndpoint("ipc:///tmp/c"));
  StatusOr<ServerSecurity> server = LoadServerSecurity("tcp://*:5555", "", "", false);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("--insecure"), std::string::npos);
  EXPECT_TRUE(LoadServerSecurity("tcp://*:5555", "", "", true).ok());
  EXPECT_TRUE(LoadServerSecurity("ipc:///tmp/c", "", "", false).ok());
  EXPECT_FALSE(LoadServerSecurity("tcp://*:5555", "k.key", "", false).ok());
  StatusOr<ClientSecurity> client = LoadClientSecurity("tcp://h:5555", PeerKeyFiles{});
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.status().message().find("--coordinator-key"), std::string::npos);
  EXPECT_FALSE(LoadClientSecurity("ipc:///tmp/c", PeerKeyFiles{}).value().own.has_value());
  EXPECT_FALSE(LoadClientSecurity("tcp://h:5555", PeerKeyFiles{"a.key", "", false}).ok());
  EXPECT_FALSE(LoadClientSecurity("tcp://h:5555", PeerKeyFiles{"a.key", "c.pub", true}).ok());
}

TEST(ZapUserId, RoundTripsRoleKeyAndName) {
  const AllowedKey key{Role::kClient, GenerateCurveKeyPair()->public_key, "alice"};
  std::optional<PeerCredentials> back = ParseZapUserId(ZapUserId(key));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->role, Role::kClient);
  EXPECT_EQ(back->public_key, key.public_key);
  EXPECT_EQ(back->name, "alice");
  EXPECT_FALSE(ParseZapUserId("").has_value());
  EXPECT_FALSE(ParseZapUserId("root " + key.public_key + " x").has_value());
}

}  // namespace
}  // namespace mixq
