// TaskRunner's calibrate tasks and the FP32 predictions behind agreement:
// statistics cross the wire as CalibrateResult messages and must come back
// bit for bit; three sharded calibrate passes merged must equal one
// Calibrate() over the same samples. A task's input_shapes fix a model with
// symbolic height and width before it runs.
#include "worker/task_runner.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/dataset.h"
#include "common/sha256.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/runtime/calibrator.h"
#include "tests/common/data_files.h"
#include "tests/common/shipped_files.h"
#include "tests/engine/symbolic_models.h"
#include "tests/engine/text_model_onnx.h"

namespace mixq {
namespace {

namespace fs = std::filesystem;

const std::string kModel = std::string(MIXQ_SOURCE_DIR) + "/models/fm_resnet.onnx";
const std::string kTrain =
    std::string(MIXQ_SOURCE_DIR) + "/configs/datasets/fashion_mnist_train.yaml";

// An FP32 task of `kind` on the model at `model` over samples [begin, begin
// + count) of the dataset `spec`, as the coordinator plans it.
proto::TaskAssign TaskOver(const std::string& model, const DatasetSpec& spec, proto::TaskKind kind,
                           int64_t begin, int64_t count) {
  proto::TaskAssign task;
  task.set_kind(kind);
  task.mutable_model()->set_sha256(Sha256File(model).value());
  proto::DatasetRef* ds = task.mutable_dataset();
  ds->set_format(spec.format);
  ds->set_scale(spec.preprocess.scale);
  for (float m : spec.preprocess.mean) ds->add_mean(m);
  for (float s : spec.preprocess.std) ds->add_std(s);
  ds->set_layout("nchw");
  ds->set_stored_layout("nchw");
  task.set_begin(begin);
  task.set_count(count);
  task.set_config_json("fp32");
  return task;
}

// A calibrate task as the coordinator plans it, over [begin, begin + count).
proto::TaskAssign CalibrateTask(const DatasetSpec& spec, int64_t begin, int64_t count, int pass,
                                const std::string& ranges_json) {
  proto::TaskAssign task = TaskOver(kModel, spec, proto::TASK_KIND_CALIBRATE, begin, count);
  task.set_task_id("calibrate-" + std::to_string(pass) + "-" + std::to_string(begin));
  task.mutable_calibrate()->set_pass(pass);
  task.mutable_calibrate()->set_batch(100);
  if (pass == 2) {
    task.mutable_calibrate()->set_bins(kDefaultHistogramBins);
    task.mutable_calibrate()->set_ranges_json(ranges_json);
  }
  return task;
}

// The result as the coordinator sees it: serialized, parsed, decoded.
CalibrationStats OverTheWire(const proto::TaskResult& result, int pass) {
  proto::TaskResult received;
  EXPECT_TRUE(received.ParseFromString(result.SerializeAsString()));
  EXPECT_TRUE(received.has_calibrate());
  EXPECT_EQ(received.calibrate().pass(), pass);
  StatusOr<CalibrationStats> stats =
      StatsFromJson(nlohmann::json::parse(received.calibrate().stats_json(), nullptr, false));
  EXPECT_TRUE(stats.ok()) << stats.status().message();
  return stats.ok() ? *stats : CalibrationStats();
}

TEST(TaskRunner, ThreeCalibrateShardsMergedEqualOneCalibrationBitForBit) {
  StatusOr<DatasetSpec> spec = LoadDatasetSpec(kTrain);
  ASSERT_TRUE(spec.ok());
  TaskFiles files;
  files.model = kModel;
  files.images = spec->images;
  files.labels = spec->labels;
  TaskRunner runner(1);

  CalibrationStats ranges;
  for (int k : {2, 0, 1}) {
    StatusOr<proto::TaskResult> r = runner.Run(CalibrateTask(*spec, 100 * k, 100, 1, ""), files);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->calibrate().samples(), 100);
    ASSERT_TRUE(Merge(OverTheWire(*r, 1), &ranges).ok());
  }
  const std::string ranges_json = StatsToJson(ranges).dump();
  CalibrationStats histograms;
  for (int k : {1, 2, 0}) {
    StatusOr<proto::TaskResult> r =
        runner.Run(CalibrateTask(*spec, 100 * k, 100, 2, ranges_json), files);
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_TRUE(Merge(OverTheWire(*r, 2), &histograms).ok());
  }

  StatusOr<Graph> graph = ImportOnnx(kModel);
  StatusOr<std::unique_ptr<Dataset>> dataset = Dataset::Open(*spec);
  ASSERT_TRUE(graph.ok() && dataset.ok());
  CalibratorOptions options;
  options.executor.threads = 1;
  ScaleOptions kl;
  kl.method = ScaleMethod::kKl;
  StatusOr<Calibration> whole = Calibrate(*graph, **dataset, 0, 300, kl, {"", kTrain}, options);
  ASSERT_TRUE(whole.ok()) << whole.status().message();
  ASSERT_FALSE(whole->stats.empty());
  EXPECT_EQ(histograms, whole->stats);
  for (const auto& [name, stats] : histograms) {
    EXPECT_TRUE(stats.has_histogram()) << name;
    EXPECT_GT(stats.HistogramTotal(), 0) << name;
  }
}

TEST(TaskRunner, CalibratePassOtherThanOneOrTwoIsRefused) {
  StatusOr<DatasetSpec> spec = LoadDatasetSpec(kTrain);
  ASSERT_TRUE(spec.ok());
  TaskFiles files{kModel, spec->images, spec->labels, "", {}, {}, "", "", {}};
  TaskRunner runner(1);
  StatusOr<proto::TaskResult> r = runner.Run(CalibrateTask(*spec, 0, 10, 3, ""), files);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  // Pass 2 with ranges that do not parse names them.
  r = runner.Run(CalibrateTask(*spec, 0, 10, 2, "{not json"), files);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("ranges"), std::string::npos) << r.status().message();
}

TEST(Top1Cache, RoundTripAndDamagedOrMissingEntriesMiss) {
  char tmpl[] = "/tmp/mixq-top1-test-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  Top1Cache cache(dir);
  const std::vector<int32_t> top1 = {3, 1, 4, 1, 5, 9, 2, 6};
  EXPECT_FALSE(cache.Find("k", 8).has_value());
  ASSERT_TRUE(cache.Put("k", top1).ok());
  std::optional<std::vector<int32_t>> back = cache.Find("k", 8);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, top1);
  // Another slice length is another entry; a truncated file is no entry.
  EXPECT_FALSE(cache.Find("k", 7).has_value());
  fs::resize_file(dir + "/fp32-top1-k", fs::file_size(dir + "/fp32-top1-k") - 4);
  EXPECT_FALSE(cache.Find("k", 8).has_value());
  // No folder: nothing kept, nothing found.
  Top1Cache none("");
  EXPECT_TRUE(none.Put("k", top1).ok());
  EXPECT_FALSE(none.Find("k", 8).has_value());
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST(Top1Cache, KeyIgnoresPathsButNotContentSliceOrIsa) {
  proto::TaskAssign a;
  a.mutable_model()->set_sha256("m");
  a.mutable_dataset()->mutable_images()->set_sha256("i");
  a.mutable_dataset()->mutable_images()->set_path("/one/images");
  a.set_begin(0);
  a.set_count(100);
  a.set_batch(100);
  proto::TaskAssign b = a;
  b.mutable_dataset()->mutable_images()->set_path("/two/images");
  EXPECT_EQ(Top1Key(a, "avx2"), Top1Key(b, "avx2"));
  EXPECT_NE(Top1Key(a, "avx2"), Top1Key(a, "avx512_core"));
  b.set_begin(100);
  EXPECT_NE(Top1Key(a, "avx2"), Top1Key(b, "avx2"));
  b = a;
  b.mutable_dataset()->mutable_images()->set_sha256("j");
  EXPECT_NE(Top1Key(a, "avx2"), Top1Key(b, "avx2"));
}

// An evaluate task of a model with symbolic height and width over kCount
// Fashion-MNIST test samples: it runs once the task fixes the input, with
// the counts Evaluate() gives in this process for the same fixed model, and
// fails (not retryable) without; the FP32 predictions it caches are keyed
// by the shapes too.
constexpr int64_t kCount = 150;

TEST(TaskRunner, EvaluateTaskFixesTheModelToItsInputShapes) {
  test::TempDir dir;
  const std::string model = dir.Path("symbolic.onnx");
  test::WriteText(model, testing::SymbolicClassifier());
  StatusOr<DatasetSpec> spec = LoadDatasetSpec(test::kFashionMnistTest);
  ASSERT_TRUE(spec.ok());
  const TaskFiles files = {model, spec->images, spec->labels, "", {}, {}, "", "", {}};

  proto::TaskAssign task = TaskOver(model, *spec, proto::TASK_KIND_EVALUATE, 0, kCount);
  task.set_task_id("evaluate-symbolic");
  task.set_batch(64);
  TaskRunner runner(1);
  StatusOr<proto::TaskResult> unfixed = runner.Run(task, files);
  ASSERT_FALSE(unfixed.ok());
  EXPECT_EQ(unfixed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unfixed.status().message().find("unknown dims"), std::string::npos)
      << unfixed.status().message();

  proto::InputShape* shape = task.add_input_shapes();
  shape->set_input("x");
  for (int64_t d : {1, 1, 28, 28}) shape->add_dims(d);
  StatusOr<proto::TaskResult> result = runner.Run(task, files);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_TRUE(result->has_eval());

  // The same fixed model evaluated here.
  StatusOr<EvalCounts> counts = testing::FixedClassifierCounts(model, kCount, 64);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(result->eval().samples(), kCount);
  EXPECT_EQ(result->eval().correct1(), counts->correct1);
  EXPECT_EQ(result->eval().correct5(), counts->correct5);
  EXPECT_GT(counts->correct5, counts->correct1);  // a real ranking, not all zeros

  // A shape the model does not take fails the task for good.
  proto::TaskAssign wrong = task;
  wrong.mutable_input_shapes(0)->set_dims(1, 3);
  StatusOr<proto::TaskResult> refused = runner.Run(wrong, files);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            "task evaluate-symbolic: input 'x' is declared [?,1,?,?]; the given [1,3,28,28] "
            "does not fit (dim 1 is 1)");
}

// A dataset with named inputs reaches the worker as a blob per input.
TEST(TaskRunner, EvaluatesATwoInputModelFromNamedInputFiles) {
  test::TempDir dir;
  const std::string model = dir.Path("text.onnx");
  std::ofstream(model, std::ios::binary) << testing::TextModelOnnx(3);
  StatusOr<DatasetSpec> spec = LoadDatasetSpec(testing::WriteTextSet(dir.path()));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  proto::TaskAssign task = TaskOver(model, *spec, proto::TASK_KIND_EVALUATE, 0, 4);
  task.set_task_id("evaluate-text");
  TaskFiles files;
  files.model = model;
  files.labels = spec->labels;
  for (const DatasetInput& input : spec->inputs) {
    proto::DatasetInputRef* ref = task.mutable_dataset()->add_inputs();
    ref->set_name(input.name);
    ref->mutable_samples()->set_sha256(Sha256File(input.path).value());
    // The worker's blob cache names files by content, not as the YAML did.
    const std::string cached = dir.Path("blobs/" + ref->samples().sha256());
    fs::copy_file(input.path, cached);
    files.inputs.push_back({input.name, cached});
  }
  TaskRunner runner(1);
  StatusOr<proto::TaskResult> result = runner.Run(task, files);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->eval().samples(), 4);
  EXPECT_EQ(result->eval().correct1(), 3);
}

TEST(Top1Cache, KeyTakesTheInputShapes) {
  proto::TaskAssign a;
  a.mutable_model()->set_sha256("m");
  a.set_count(100);
  proto::TaskAssign b = a;
  proto::InputShape* shape = b.add_input_shapes();
  shape->set_input("x");
  for (int64_t d : {1, 3, 64, 64}) shape->add_dims(d);
  EXPECT_NE(Top1Key(a, "avx2"), Top1Key(b, "avx2"));
  proto::TaskAssign c = b;
  c.mutable_input_shapes(0)->set_dims(2, 32);
  EXPECT_NE(Top1Key(b, "avx2"), Top1Key(c, "avx2"));
}

}  // namespace
}  // namespace mixq
