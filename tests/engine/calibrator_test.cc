// The calibration runner on a real model and real data: three shards of 100
// samples, merged as the coordinator merges them, give the statistics and the
// scales of one pass over 300, bit for bit, for every scale method.
#include "engine/runtime/calibrator.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/dataset.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/passes/specialize.h"

namespace mixq {
namespace {

const std::string kSrc = MIXQ_SOURCE_DIR;

struct Fixture {
  Graph graph;
  std::unique_ptr<Dataset> dataset;
};

Fixture Load() {
  Fixture f;
  StatusOr<Graph> graph = ImportOnnx(kSrc + "/models/fm_resnet.onnx");
  EXPECT_TRUE(graph.ok()) << graph.status().ToString();
  if (graph.ok()) f.graph = std::move(*graph);
  StatusOr<DatasetSpec> spec = LoadDatasetSpec(kSrc + "/configs/datasets/fashion_mnist_train.yaml");
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  if (!spec.ok()) return f;
  StatusOr<std::unique_ptr<Dataset>> dataset = Dataset::Open(*spec);
  EXPECT_TRUE(dataset.ok()) << dataset.status().ToString();
  if (dataset.ok()) f.dataset = std::move(*dataset);
  return f;
}

CalibratorOptions Options() {
  CalibratorOptions options;
  options.batch = 100;
  options.executor.threads = 2;
  return options;
}

bool SameBits(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

TEST(Calibrator, ThreeMergedShardsEqualOnePassBitForBitForEveryMethod) {
  Fixture f = Load();
  ASSERT_TRUE(f.dataset);
  const CalibratorOptions options = Options();

  StatusOr<Calibration> whole = Calibrate(f.graph, *f.dataset, 0, 300, ScaleOptions(),
                                          {std::string(64, 'a'), "train"}, options);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();

  // Pass 1 per shard, merged out of order; pass 2 per shard from the merged
  // range, merged out of order again.
  CalibrationStats ranges;
  for (int k : {2, 0, 1}) {
    StatusOr<CalibrationStats> shard = CollectRanges(f.graph, *f.dataset, 100 * k, 100, options);
    ASSERT_TRUE(shard.ok()) << shard.status().ToString();
    ASSERT_TRUE(Merge(*shard, &ranges).ok());
  }
  ASSERT_TRUE(InitHistograms(kDefaultHistogramBins, &ranges).ok());
  CalibrationStats merged;
  for (int k : {1, 2, 0}) {
    StatusOr<CalibrationStats> shard =
        CollectHistograms(f.graph, *f.dataset, 100 * k, 100, ranges, options);
    ASSERT_TRUE(shard.ok()) << shard.status().ToString();
    ASSERT_TRUE(Merge(*shard, &merged).ok());
  }

  ASSERT_EQ(merged.size(), whole->stats.size());
  for (const auto& [name, stats] : whole->stats) {
    ASSERT_EQ(merged.count(name), 1u) << name;
    EXPECT_TRUE(merged[name] == stats) << name;
    // Every value of all 300 samples was counted once.
    EXPECT_GT(stats.HistogramTotal(), 0) << name;
    EXPECT_EQ(stats.HistogramTotal() % 300, 0) << name;
    EXPECT_LT(stats.min, stats.max) << name;
  }
  for (ScaleMethod method :
       {ScaleMethod::kMinMax, ScaleMethod::kPercentile, ScaleMethod::kKl, ScaleMethod::kMse}) {
    ScaleOptions scale;
    scale.method = method;
    auto a = ActivationQuantParams(whole->stats, scale);
    auto b = ActivationQuantParams(merged, scale);
    ASSERT_TRUE(a.ok() && b.ok()) << ScaleMethodName(method);
    ASSERT_EQ(a->size(), b->size());
    for (const auto& [name, params] : *a) {
      const QuantParams& other = b->at(name);
      EXPECT_TRUE(SameBits(params.dequant_scale, other.dequant_scale))
          << ScaleMethodName(method) << " " << name;
      EXPECT_TRUE(SameBits(params.threshold, other.threshold))
          << ScaleMethodName(method) << " " << name;
      EXPECT_EQ(params.is_unsigned, other.is_unsigned) << name;
    }
  }
}

TEST(Calibrator, CoversEveryCalibrationPointAndRecordsProvenance) {
  Fixture f = Load();
  ASSERT_TRUE(f.dataset);
  ScaleOptions scale;
  scale.method = ScaleMethod::kKl;
  StatusOr<Calibration> c = Calibrate(f.graph, *f.dataset, 500, 50, scale,
                                      {std::string(64, 'b'), "train.yaml"}, Options());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  StatusOr<Graph> specialised = SpecializeForBatch(f.graph, 1);
  ASSERT_TRUE(specialised.ok());
  const std::vector<std::string> points = CalibrationPoints(*specialised, ExecutorOptions());
  ASSERT_FALSE(points.empty());
  EXPECT_EQ(c->activations.size(), points.size());
  for (const std::string& name : points) EXPECT_EQ(c->activations.count(name), 1u) << name;
  // The graph input is normalised data (signed); ReLU outputs are unsigned.
  EXPECT_FALSE(c->activations.at(f.graph.inputs[0]).is_unsigned);
  int unsigned_count = 0;
  for (const auto& [name, params] : c->activations) unsigned_count += params.is_unsigned;
  EXPECT_GT(unsigned_count, 0);
  EXPECT_EQ(c->model_sha256, std::string(64, 'b'));
  EXPECT_EQ(c->scale.method, ScaleMethod::kKl);
  EXPECT_EQ(c->provenance["dataset"], "train.yaml");
  EXPECT_EQ(c->provenance["begin"], 500);
  EXPECT_EQ(c->provenance["samples"], 50);
  EXPECT_EQ(c->provenance["method"], "kl");
  EXPECT_EQ(c->provenance["synthetic"], false);
}

TEST(Calibrator, HistogramPassNeedsInitialisedStats) {
  Fixture f = Load();
  ASSERT_TRUE(f.dataset);
  StatusOr<CalibrationStats> ranges = CollectRanges(f.graph, *f.dataset, 0, 10, Options());
  ASSERT_TRUE(ranges.ok());
  StatusOr<CalibrationStats> hist =
      CollectHistograms(f.graph, *f.dataset, 0, 10, *ranges, Options());
  EXPECT_EQ(hist.status().code(), StatusCode::kFailedPrecondition);
}

TEST(Calibrator, SliceOutsideTheDatasetIsRefused) {
  Fixture f = Load();
  ASSERT_TRUE(f.dataset);
  StatusOr<CalibrationStats> ranges =
      CollectRanges(f.graph, *f.dataset, f.dataset->size() - 5, 10, Options());
  EXPECT_EQ(ranges.status().code(), StatusCode::kOutOfRange);
}

TEST(Calibrator, SyntheticCalibrationIsDeterministicAndSaysSo) {
  Fixture f = Load();
  CalibratorOptions options = Options();
  options.batch = 4;
  auto a = CalibrateSynthetic(f.graph, 8, 7, ScaleOptions(), std::string(64, 'c'), options);
  options.batch = 3;  // other batch boundaries, same samples
  auto b = CalibrateSynthetic(f.graph, 8, 7, ScaleOptions(), std::string(64, 'c'), options);
  auto other_seed =
      CalibrateSynthetic(f.graph, 8, 8, ScaleOptions(), std::string(64, 'c'), options);
  ASSERT_TRUE(a.ok() && b.ok() && other_seed.ok()) << a.status().ToString();
  EXPECT_EQ(a->provenance["synthetic"], true);
  const std::string input = f.graph.inputs[0];
  EXPECT_TRUE(a->stats.at(input) == b->stats.at(input));
  EXPECT_FALSE(a->stats.at(input) == other_seed->stats.at(input));
  EXPECT_FALSE(a->activations.empty());
}

}  // namespace
}  // namespace mixq
