#include "common/json_text.h"

#include <gtest/gtest.h>

#include <string>

namespace mixq {
namespace {

TEST(JsonText, ParsesJsonAndKeepsEveryValue) {
  StatusOr<nlohmann::json> doc = ParseJsonStrict(R"({"a": {"b": 1, "c": [1, {"b": 2}]}})", "f");
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  EXPECT_EQ((*doc)["a"]["b"], 1);
  EXPECT_EQ((*doc)["a"]["c"][1]["b"], 2);  // the same key in another object is no repeat
}

TEST(JsonText, RepeatedKeyIsRefusedWithItsPath) {
  StatusOr<nlohmann::json> top = ParseJsonStrict(R"({"a": 1, "a": 2})", "f.json");
  ASSERT_FALSE(top.ok());
  EXPECT_EQ(top.status().message(), "f.json: duplicate key 'a'");
  StatusOr<nlohmann::json> nested = ParseJsonStrict(
      R"({"x": 0, "layers": {"conv": "int8", "fc": "fp32", "conv": "fp32"}})", "f.json");
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.status().message(), "f.json: duplicate key 'layers.conv'");
}

TEST(JsonText, SyntaxErrorNamesTheByte) {
  StatusOr<nlohmann::json> doc = ParseJsonStrict("{\"a\": 1,, }", "f.json");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(doc.status().message().rfind("f.json: not valid JSON at byte 9: syntax error", 0), 0u)
      << doc.status().message();
}

TEST(JsonText, DeepNestingIsRefused) {
  const std::string deep = std::string(300, '[') + std::string(300, ']');
  StatusOr<nlohmann::json> doc = ParseJsonStrict(deep, "f.json");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().message(), "f.json: nested deeper than 256 levels");
}

}  // namespace
}  // namespace mixq
