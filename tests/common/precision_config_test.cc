#include "common/precision_config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/sha256.h"

namespace mixq {
namespace {

const std::vector<std::string> kLayers = {"conv1", "conv2", "fc"};
const std::string kSha(64, 'a');

bool Mentions(const Status& status, const std::string& text) {
  return status.message().find(text) != std::string::npos;
}

TEST(PrecisionConfig, ParsesFullLayerMap) {
  StatusOr<PrecisionConfig> config =
      ParsePrecisionConfig(R"({"model_sha256": ")" + kSha +
                               R"(", "layers": {"conv1": "int8", "conv2": "fp32", "fc": "bf16"}})",
                           kLayers, kSha);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->model_sha256, kSha);
  EXPECT_EQ(config->layers.at("conv1"), Precision::kInt8);
  EXPECT_EQ(config->layers.at("conv2"), Precision::kFp32);
  EXPECT_EQ(config->layers.at("fc"), Precision::kBf16);
  EXPECT_EQ(config->Count(Precision::kInt8), 1);
}

TEST(PrecisionConfig, ShorthandsSetEveryLayer) {
  for (const std::string text : {"int8", " int8\n", "\"int8\"", R"({"layers": "int8"})"}) {
    StatusOr<PrecisionConfig> config = ParsePrecisionConfig(text, kLayers, kSha);
    ASSERT_TRUE(config.ok()) << text << ": " << config.status().ToString();
    EXPECT_EQ(*config, UniformPrecisionConfig(Precision::kInt8, kLayers, kSha)) << text;
    EXPECT_EQ(config->Count(Precision::kInt8), 3);
  }
  StatusOr<PrecisionConfig> fp32 = ParsePrecisionConfig("fp32", kLayers, kSha);
  ASSERT_TRUE(fp32.ok());
  EXPECT_EQ(fp32->Count(Precision::kFp32), 3);
}

TEST(PrecisionConfig, ModelShaIsOptionalButFilledIn) {
  StatusOr<PrecisionConfig> config = ParsePrecisionConfig(
      R"({"layers": {"conv1": "int8", "conv2": "int8", "fc": "fp32"}})", kLayers, kSha);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->model_sha256, kSha);
}

TEST(PrecisionConfig, RefusesUnknownLayersNamingThem) {
  StatusOr<PrecisionConfig> config = ParsePrecisionConfig(
      R"({"layers": {"conv1": "int8", "conv2": "int8", "fc": "fp32", "conv9": "int8"}})", kLayers,
      kSha);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Mentions(config.status(), "'conv9'")) << config.status().ToString();
}

TEST(PrecisionConfig, RefusesMissingLayersNamingThem) {
  StatusOr<PrecisionConfig> config =
      ParsePrecisionConfig(R"({"layers": {"conv1": "int8"}})", kLayers, kSha);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Mentions(config.status(), "'conv2', 'fc'")) << config.status().ToString();
}

TEST(PrecisionConfig, RefusesAnotherModelsSha) {
  StatusOr<PrecisionConfig> config = ParsePrecisionConfig(
      R"({"model_sha256": ")" + std::string(64, 'b') + R"(", "layers": "int8"})", kLayers, kSha);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Mentions(config.status(), "model_sha256")) << config.status().ToString();
}

TEST(PrecisionConfig, RefusesUnknownPrecision) {
  for (const std::string text :
       {"int4", R"({"layers": {"conv1": "int4", "conv2": "int8", "fc": "fp32"}})",
        R"({"layers": "fp16"})"}) {
    StatusOr<PrecisionConfig> config = ParsePrecisionConfig(text, kLayers, kSha);
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Mentions(config.status(), "unknown precision")) << config.status().ToString();
  }
}

TEST(PrecisionConfig, RefusesMalformedInput) {
  for (const std::string text :
       {"{", "[\"int8\"]", R"({"layers": {"conv1": 8}})", R"({"layer": "int8"})", "{}", ""}) {
    StatusOr<PrecisionConfig> config = ParsePrecisionConfig(text, kLayers, kSha);
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument) << text;
  }
  StatusOr<PrecisionConfig> typo = ParsePrecisionConfig(R"({"layer": "int8"})", kLayers, kSha);
  EXPECT_TRUE(Mentions(typo.status(), "'layer'")) << typo.status().ToString();
}

TEST(PrecisionConfig, CanonicalFormIsSortedCompactAndIndependentOfInputOrder) {
  StatusOr<PrecisionConfig> a = ParsePrecisionConfig(
      R"({"layers": {"fc": "fp32", "conv2": "int8", "conv1": "int8"}, "model_sha256": ")" + kSha +
          "\"}",
      kLayers, kSha);
  StatusOr<PrecisionConfig> b = ParsePrecisionConfig(
      "{\n  \"layers\": {\"conv1\": \"int8\",\n \"conv2\": \"int8\", \"fc\": \"fp32\"}\n}", kLayers,
      kSha);
  ASSERT_TRUE(a.ok() && b.ok());
  const std::string expected = R"({"layers":{"conv1":"int8","conv2":"int8","fc":"fp32"},)"
                               R"("model_sha256":")" +
                               kSha + "\"}";
  EXPECT_EQ(a->Canonical(), expected);
  EXPECT_EQ(b->Canonical(), expected);
  EXPECT_EQ(a->Hash(), Sha256Hex(expected));
  EXPECT_EQ(a->Hash(), b->Hash());
}

TEST(PrecisionConfig, HashChangesWithAnyLayerOrModel) {
  const PrecisionConfig base = UniformPrecisionConfig(Precision::kInt8, kLayers, kSha);
  PrecisionConfig one_fp32 = base;
  one_fp32.layers["fc"] = Precision::kFp32;
  PrecisionConfig other_model = base;
  other_model.model_sha256 = std::string(64, 'c');
  EXPECT_NE(base.Hash(), one_fp32.Hash());
  EXPECT_NE(base.Hash(), other_model.Hash());
  EXPECT_EQ(base.Hash().size(), 64u);
}

TEST(PrecisionConfig, CanonicalFormParsesBackToTheSameConfig) {
  PrecisionConfig config = UniformPrecisionConfig(Precision::kFp32, kLayers, kSha);
  config.layers["conv2"] = Precision::kInt8;
  StatusOr<PrecisionConfig> again = ParsePrecisionConfig(config.Canonical(), kLayers, kSha);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, config);
}

// Issue 20: a file holding "not json" was read as the precision 'not json',
// and a repeated layer kept one of its values silently.
TEST(PrecisionConfig, TextThatIsNeitherAWordNorJsonAndRepeatedKeysAreRefused) {
  StatusOr<PrecisionConfig> prose = ParsePrecisionConfig("not json", kLayers, kSha);
  ASSERT_FALSE(prose.ok());
  EXPECT_TRUE(Mentions(prose.status(), "precision config: not valid JSON at byte 2: syntax error"))
      << prose.status().ToString();
  StatusOr<PrecisionConfig> repeated = ParsePrecisionConfig(
      R"({"layers": {"conv1": "int8", "conv2": "fp32", "fc": "fp32", "conv1": "fp32"}})", kLayers,
      kSha);
  ASSERT_FALSE(repeated.ok());
  EXPECT_EQ(repeated.status().message(), "precision config: duplicate key 'layers.conv1'");
  StatusOr<PrecisionConfig> word = ParsePrecisionConfig(" int8\n", kLayers, kSha);
  ASSERT_TRUE(word.ok()) << word.status().ToString();
  EXPECT_EQ(word->Count(Precision::kInt8), 3);
}

}  // namespace
}  // namespace mixq
