#include "engine/quant/calibration_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "tests/common/data_files.h"

namespace mixq {
namespace {

Calibration Sample() {
  Calibration c;
  c.model_sha256 = std::string(64, 'a');
  c.scale.method = ScaleMethod::kPercentile;
  c.scale.percentile = 99.9;
  c.provenance = {{"samples", 300}};
  c.activations["relu1"] = {0.0123456789f, true, 3.1415926f};
  c.activations["x"] = {1.0f / 127.0f, false, 1.0f};
  TensorStats s;
  ObserveRange(std::vector<float>{-1.f, 2.5f}.data(), 2, &s);
  c.stats["x"] = s;
  return c;
}

TEST(CalibrationFile, RoundTripIsExact) {
  Calibration c = Sample();
  StatusOr<Calibration> back = CalibrationFromJson(CalibrationToJson(c));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->model_sha256, c.model_sha256);
  EXPECT_EQ(back->scale.method, ScaleMethod::kPercentile);
  EXPECT_EQ(back->scale.percentile, 99.9);
  ASSERT_EQ(back->activations.size(), 2u);
  EXPECT_EQ(back->activations["relu1"].dequant_scale, 0.0123456789f);
  EXPECT_TRUE(back->activations["relu1"].is_unsigned);
  EXPECT_EQ(back->activations["relu1"].threshold, 3.1415926f);
  EXPECT_FALSE(back->activations["x"].is_unsigned);
  EXPECT_TRUE(back->stats["x"] == c.stats["x"]);
  EXPECT_EQ(back->provenance["samples"], 300);
}

TEST(CalibrationFile, MalformedInputNamesTheKey) {
  nlohmann::json doc = CalibrationToJson(Sample());
  doc["tensors"]["x"]["scale"] = "zero";
  StatusOr<Calibration> bad = CalibrationFromJson(doc);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("calibration.tensors.x.scale"), std::string::npos);

  doc = CalibrationToJson(Sample());
  doc["tensors"]["x"]["scale"] = "-0x1p-7";
  EXPECT_FALSE(CalibrationFromJson(doc).ok());

  doc = CalibrationToJson(Sample());
  doc["extra"] = 1;
  bad = CalibrationFromJson(doc);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("calibration.extra"), std::string::npos);

  doc = CalibrationToJson(Sample());
  doc["method"] = "magic";
  EXPECT_FALSE(CalibrationFromJson(doc).ok());
}

TEST(CalibrationFile, SaveLoadAndFileErrors) {
  const test::TempDir dir;
  const std::string path = dir.Path("calibration.json");
  ASSERT_TRUE(SaveCalibration(Sample(), path).ok());
  StatusOr<Calibration> loaded = LoadCalibration(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->activations.size(), 2u);
  {
    std::ofstream out(path);
    out << "{not json";
  }
  StatusOr<Calibration> bad = LoadCalibration(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(path + ": not valid JSON at byte"), std::string::npos)
      << bad.status().message();
  {
    // A tensor named twice: one of its ranges would have been dropped silently.
    nlohmann::json doc = CalibrationToJson(Sample());
    std::string text = doc.dump();
    const size_t at = text.rfind("\"tensors\":{") + std::string("\"tensors\":{").size();
    const std::string first = text.substr(at, text.find('}', at) + 1 - at);
    text.insert(at, first + ",");
    std::ofstream out(path);
    out << text;
  }
  bad = LoadCalibration(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(path + ": duplicate key 'tensors."), std::string::npos)
      << bad.status().message();
  std::remove(path.c_str());
  EXPECT_FALSE(LoadCalibration(path).ok());
}

}  // namespace
}  // namespace mixq
