// Turning a --config argument and a calibration into a QuantSpec: shorthands,
// files, and the refusals that keep a typo or a mix-up from silently changing
// what is measured.
#include "engine/quant/quant_spec.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/sha256.h"
#include "engine/onnx/onnx_importer.h"
#include "tests/common/data_files.h"

namespace mixq {
namespace {

const std::string kSrc = MIXQ_SOURCE_DIR;

class QuantSpecTest : public testing::Test {
 protected:
  void SetUp() override {
    StatusOr<Graph> graph = ImportOnnx(kSrc + "/models/fm_resnet.onnx");
    ASSERT_TRUE(graph.ok()) << graph.status().ToString();
    graph_ = std::move(*graph);
    StatusOr<std::string> sha = Sha256File(kSrc + "/models/fm_resnet.onnx");
    ASSERT_TRUE(sha.ok());
    sha_ = *sha;
    layers_ = graph_.QuantizableLayers();
    ASSERT_GE(layers_.size(), 2u);
  }
  // A folder of its own: ctest runs these tests as parallel processes, and a
  // shared file name let one test read another's config.
  std::string Write(const std::string& text) {
    const std::string path = dir_.Path("config_" + std::to_string(written_++) + ".json");
    std::ofstream(path) << text;
    return path;
  }
  // A config file with every layer INT8 except the first.
  nlohmann::json MixedConfig() const {
    nlohmann::json layers = nlohmann::json::object();
    for (const std::string& name : layers_) layers[name] = "int8";
    layers[layers_[0]] = "fp32";
    return {{"model_sha256", sha_}, {"layers", layers}};
  }

  Graph graph_;
  std::string sha_;
  std::vector<std::string> layers_;
  test::TempDir dir_;
  int written_ = 0;
};

TEST_F(QuantSpecTest, ShorthandsCoverEveryLayer) {
  StatusOr<PrecisionConfig> int8 = LoadPrecisionConfig("int8", graph_, sha_);
  ASSERT_TRUE(int8.ok()) << int8.status().ToString();
  EXPECT_EQ(int8->Count(Precision::kInt8), static_cast<int>(layers_.size()));
  EXPECT_EQ(int8->model_sha256, sha_);
  StatusOr<PrecisionConfig> fp32 = LoadPrecisionConfig("fp32", graph_, sha_);
  ASSERT_TRUE(fp32.ok());
  EXPECT_EQ(fp32->Count(Precision::kInt8), 0);
  EXPECT_NE(int8->Hash(), fp32->Hash());
}

TEST_F(QuantSpecTest, ConfigFileIsRead) {
  StatusOr<PrecisionConfig> config = LoadPrecisionConfig(Write(MixedConfig().dump()), graph_, sha_);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->layers.at(layers_[0]), Precision::kFp32);
  EXPECT_EQ(config->Count(Precision::kInt8), static_cast<int>(layers_.size()) - 1);
}

TEST_F(QuantSpecTest, UnknownLayerIsRefusedByName) {
  nlohmann::json doc = MixedConfig();
  doc["layers"]["conv_typo"] = "int8";
  const std::string path = Write(doc.dump());
  StatusOr<PrecisionConfig> config = LoadPrecisionConfig(path, graph_, sha_);
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("conv_typo"), std::string::npos);
  EXPECT_NE(config.status().message().find(path), std::string::npos);
}

TEST_F(QuantSpecTest, MissingLayerIsRefusedByName) {
  nlohmann::json doc = MixedConfig();
  doc["layers"].erase(layers_[1]);
  StatusOr<PrecisionConfig> config = LoadPrecisionConfig(Write(doc.dump()), graph_, sha_);
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find(layers_[1]), std::string::npos);
}

TEST_F(QuantSpecTest, ConfigOfAnotherModelIsRefused) {
  nlohmann::json doc = MixedConfig();
  doc["model_sha256"] = std::string(64, 'f');
  StatusOr<PrecisionConfig> config = LoadPrecisionConfig(Write(doc.dump()), graph_, sha_);
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("model_sha256"), std::string::npos);
}

TEST_F(QuantSpecTest, NeitherFileNorShorthandIsNotFound) {
  StatusOr<PrecisionConfig> config = LoadPrecisionConfig("int9", graph_, sha_);
  EXPECT_EQ(config.status().code(), StatusCode::kNotFound);
  EXPECT_NE(config.status().message().find("int9"), std::string::npos);
}

TEST_F(QuantSpecTest, SpecCarriesLayersScalesAndSevenBitMode) {
  StatusOr<PrecisionConfig> config = LoadPrecisionConfig(Write(MixedConfig().dump()), graph_, sha_);
  ASSERT_TRUE(config.ok());
  Calibration calibration;
  calibration.model_sha256 = sha_;
  calibration.activations["x"] = {0.5f, false, 63.5f};
  StatusOr<QuantSpec> spec = MakeQuantSpec(*config, calibration, SevenBitWeights::kFirstLayer);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->layers, config->layers);
  EXPECT_EQ(spec->activations.at("x").dequant_scale, 0.5f);
  EXPECT_EQ(spec->seven_bit, SevenBitWeights::kFirstLayer);
  EXPECT_TRUE(spec->AnyInt8());
}

TEST_F(QuantSpecTest, CalibrationOfAnotherModelIsRefused) {
  StatusOr<PrecisionConfig> config = LoadPrecisionConfig("int8", graph_, sha_);
  ASSERT_TRUE(config.ok());
  Calibration calibration;
  calibration.model_sha256 = std::string(64, 'e');
  calibration.activations["x"] = {0.5f, false, 63.5f};
  StatusOr<QuantSpec> spec = MakeQuantSpec(*config, calibration, SevenBitWeights::kNone);
  EXPECT_EQ(spec.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(spec.status().message().find("another model"), std::string::npos);
}

// No kernel runs BF16: a config with BF16 layers must not run (and be
// filed) as FP32, on a worker or on the command line.
TEST_F(QuantSpecTest, Bf16LayersAreRefusedNotRunAsFp32) {
  StatusOr<PrecisionConfig> bf16 = LoadPrecisionConfig("bf16", graph_, sha_);
  ASSERT_TRUE(bf16.ok()) << bf16.status().ToString();
  Calibration empty;
  empty.model_sha256 = sha_;
  StatusOr<QuantSpec> spec = MakeQuantSpec(*bf16, empty, SevenBitWeights::kNone);
  EXPECT_EQ(spec.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(spec.status().message().find(std::to_string(layers_.size()) + " BF16 layer(s)"),
            std::string::npos)
      << spec.status().message();
}

TEST_F(QuantSpecTest, Int8WithoutScalesIsRefusedButFp32NeedsNone) {
  Calibration empty;
  empty.model_sha256 = sha_;
  StatusOr<PrecisionConfig> int8 = LoadPrecisionConfig("int8", graph_, sha_);
  StatusOr<PrecisionConfig> fp32 = LoadPrecisionConfig("fp32", graph_, sha_);
  ASSERT_TRUE(int8.ok() && fp32.ok());
  EXPECT_FALSE(MakeQuantSpec(*int8, empty, SevenBitWeights::kNone).ok());
  StatusOr<QuantSpec> spec = MakeQuantSpec(*fp32, empty, SevenBitWeights::kNone);
  ASSERT_TRUE(spec.ok());
  EXPECT_FALSE(spec->AnyInt8());
}

}  // namespace
}  // namespace mixq
