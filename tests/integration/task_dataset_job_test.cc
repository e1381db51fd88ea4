// Jobs on detection and segmentation datasets (a dataset `task`): the
// coordinator sends the task, the annotation file and a manifest of the
// masks; each worker fetches only its slices' images and masks, scores its
// shards, and the coordinator merges their statistics exactly, so the job's
// mAP and mIoU are the bits a local `mixq eval` prints. A search job budgets
// in mIoU, and one whose metric does not fit the dataset's task is refused.
// The sets, the COCO file and the tiny ONNX models are written by the test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/sha256.h"
#include "tests/cli/mixq_runner.h"
#include "tests/common/data_files.h"
#include "tests/engine/onnx_test_util.h"
#include "tests/integration/cluster.h"

namespace mixq::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr int kDetectionImages = 12;
constexpr int kSegmentationImages = 10;

// A detector of two boxes on a [N,3,8,8] image: a conv over the whole image
// gives [N,10,1,1], reshaped to [N,2,5] rows [x1,y1,x2,y2,score]. The boxes
// are fixed by the biases, (1,1)-(5,5) and (3,3)-(7,7); box 0 scores the
// image's mean red, box 1 its mean green.
std::string DetectorModel() {
  onnx::ModelProto m = testing::NewModel(13);
  testing::AddInput(&m, "x", {-1, 3, 8, 8});
  std::vector<float> weights(10 * 3 * 64, 0.0f);
  for (int k = 0; k < 64; ++k) {
    weights[(4 * 3 + 0) * 64 + k] = 1.0f / 64;  // channel 4 (box 0's score): red
    weights[(9 * 3 + 1) * 64 + k] = 1.0f / 64;  // channel 9 (box 1's score): green
  }
  testing::AddFloatInitializer(&m, "w", {10, 3, 8, 8}, weights);
  testing::AddFloatInitializer(&m, "b", {10}, {1, 1, 5, 5, 0, 3, 3, 7, 7, 0});
  testing::AddInt64Initializer(&m, "shape", {-1, 2, 5});
  testing::AddNode(&m, "Conv", {"x", "w", "b"}, {"c"}, "head");
  testing::AddNode(&m, "Reshape", {"c", "shape"}, {"y"});
  testing::AddOutput(&m, "y", {-1, 2, 5});
  return testing::Serialize(m);
}

// A segmenter of two classes: two 1x1 convs, class 0 red, class 1 green.
std::string SegmenterModel() {
  onnx::ModelProto m = testing::NewModel(13);
  testing::AddInput(&m, "x", {-1, 3, 8, 8});
  testing::AddFloatInitializer(&m, "w1", {3, 3, 1, 1}, {1, 0, 0, 0, 1, 0, 0, 0, 1});
  testing::AddFloatInitializer(&m, "w2", {2, 3, 1, 1}, {1, 0, 0.1f, 0, 1, 0.1f});
  testing::AddNode(&m, "Conv", {"x", "w1"}, {"h"}, "mix");
  testing::AddNode(&m, "Conv", {"h", "w2"}, {"y"}, "classes");
  testing::AddOutput(&m, "y", {-1, 2, 8, 8});
  return testing::Serialize(m);
}

// 16x16 images of one colour each, one object per image: box 0's, box 1's
// (at the image's scale, 2) or one neither finds, in turn.
std::string WriteDetectionSet(const std::string& dir) {
  fs::create_directories(dir + "/det/images");
  nlohmann::json images = nlohmann::json::array(), annotations = nlohmann::json::array();
  for (int i = 0; i < kDetectionImages; ++i) {
    const std::string name = "img" + std::to_string(10 + i) + ".png";
    std::vector<uint8_t> pixels;
    for (int p = 0; p < 16 * 16; ++p) {
      pixels.insert(pixels.end(), {static_cast<uint8_t>(10 + 20 * i),
                                   static_cast<uint8_t>(250 - 20 * i), uint8_t{0}});
    }
    WriteBytes(dir + "/det/images/" + name, PngBytes(16, 16, 3, pixels));
    images.push_back({{"id", 100 + i}, {"file_name", name}, {"width", 16}, {"height", 16}});
    const std::vector<double> box = i % 3 == 0   ? std::vector<double>{2, 2, 8, 8}
                                    : i % 3 == 1 ? std::vector<double>{6, 6, 8, 8}
                                                 : std::vector<double>{0, 10, 6, 6};
    annotations.push_back({{"id", i + 1},
                           {"image_id", 100 + i},
                           {"category_id", 1},
                           {"bbox", box},
                           {"area", box[2] * box[3]},
                           {"iscrowd", 0}});
  }
  nlohmann::json coco = {{"images", images},
                         {"annotations", annotations},
                         {"categories", {{{"id", 1}, {"name", "thing"}}}}};
  WriteText(dir + "/det/ann.json", coco.dump());
  const std::string yaml = dir + "/det.yaml";
  WriteText(yaml,
            "format: images\nimages: det/images\npreprocess: {scale: 0.0039215686, resize: [8, "
            "8]}\ntask: {kind: detection, annotations: det/ann.json, classes: 1, boxes: xyxy}\n");
  return yaml;
}

// 8x8 images of pseudo-random pixels and masks of labels 0, 1 and the
// ignore index 255, all different.
std::string WriteSegmentationSet(const std::string& dir) {
  fs::create_directories(dir + "/seg/images");
  fs::create_directories(dir + "/seg/masks");
  uint32_t state = 12345;
  auto next = [&state] {
    state = state * 1664525u + 1013904223u;
    return state >> 24;
  };
  for (int i = 0; i < kSegmentationImages; ++i) {
    std::vector<uint8_t> pixels, labels;
    for (int p = 0; p < 64; ++p) {
      for (int c = 0; c < 3; ++c) pixels.push_back(static_cast<uint8_t>(next()));
      const uint32_t r = next() % 10;
      labels.push_back(r == 0 ? 255 : static_cast<uint8_t>(r % 2));
    }
    const std::string stem = "s" + std::to_string(i);
    WriteBytes(dir + "/seg/images/" + stem + ".png", PngBytes(8, 8, 3, pixels));
    WriteBytes(dir + "/seg/masks/" + stem + ".png", PngBytes(8, 8, 1, labels));
  }
  const std::string yaml = dir + "/seg.yaml";
  WriteText(yaml,
            "format: images\nimages: seg/images\npreprocess: {scale: 0.0039215686}\n"
            "task: {kind: segmentation, masks: seg/masks, classes: 2, ignore_index: 255}\n");
  return yaml;
}

// `mixq eval --json` on one thread: its JSON object.
nlohmann::json LocalEval(const std::string& model, const std::string& dataset) {
  MixqResult r =
      RunMixq("eval --json --quiet --threads 1 --model " + model + " --dataset " + dataset,
              StderrTo::kNull);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  const size_t begin = r.out.find('{'), end = r.out.rfind('}');
  if (begin == std::string::npos || end == std::string::npos) return nullptr;
  return nlohmann::json::parse(r.out.substr(begin, end - begin + 1), nullptr, false);
}

std::string EvalJob(const std::string& name, const std::string& model, const std::string& dataset) {
  return "name: " + name + "\nmodel: " + model + "\ndata: {evaluation: {dataset: " + dataset +
         ", shard_size: 3}}\nconfigs: [fp32]\n";
}

// Content hash -> sample index of the files in `folder`, by stem.
std::map<std::string, std::string> HashesByStem(const std::string& folder) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::directory_iterator(folder)) {
    StatusOr<std::string> sha = Sha256File(entry.path().string());
    EXPECT_TRUE(sha.ok());
    if (sha.ok()) out[*sha] = entry.path().stem().string();
  }
  return out;
}

TEST(Distributed, TaskDatasetJobsScoreAsLocalEvalAndFetchOnlyTheSlicesMasks) {
  Cluster c;
  ASSERT_TRUE(c.StartCoordinator());
  c.AddWorker({"--no-local-paths"});
  c.AddWorker({"--no-local-paths"});
  ASSERT_TRUE(c.WaitForWorkers(2));
  const std::string detector = c.dir() + "/det.onnx", segmenter = c.dir() + "/seg.onnx";
  std::ofstream(detector, std::ios::binary) << DetectorModel();
  std::ofstream(segmenter, std::ios::binary) << SegmenterModel();
  const std::string det = WriteDetectionSet(c.dir()), seg = WriteSegmentationSet(c.dir());

  // Detection: 4 shards of 3 over two workers, the mAP of one local pass.
  StatusOr<proto::SubmitReply> reply =
      c.Submit(EvalJob("det", detector, det), "", milliseconds(60000));
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  ASSERT_EQ(reply->error(), "");
  proto::StatusReply s = c.WaitDone(reply->job_id());
  ASSERT_EQ(s.state(), "done") << c.coordinator().Log();
  ASSERT_EQ(s.evaluations_size(), 1);
  EXPECT_EQ(s.evaluations(0).samples(), kDetectionImages);
  nlohmann::json local = LocalEval(detector, det);
  ASSERT_TRUE(local.is_object()) << local;
  ASSERT_TRUE(s.evaluations(0).has_map50() && s.evaluations(0).has_map50_95());
  EXPECT_EQ(s.evaluations(0).map50(), 100.0 * local["map50"].get<double>());
  EXPECT_EQ(s.evaluations(0).map50_95(), 100.0 * local["map50_95"].get<double>());
  // Boxes found on some images only: neither nothing nor everything.
  EXPECT_GT(s.evaluations(0).map50(), 0.0);
  EXPECT_LT(s.evaluations(0).map50(), 100.0);
  EXPECT_FALSE(s.evaluations(0).has_miou());

  // Segmentation: the mIoU of one local pass.
  reply = c.Submit(EvalJob("seg", segmenter, seg), "", milliseconds(60000));
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  ASSERT_EQ(reply->error(), "");
  s = c.WaitDone(reply->job_id());
  ASSERT_EQ(s.state(), "done") << c.coordinator().Log();
  ASSERT_EQ(s.evaluations_size(), 1);
  local = LocalEval(segmenter, seg);
  ASSERT_TRUE(local.is_object()) << local;
  ASSERT_TRUE(s.evaluations(0).has_miou());
  EXPECT_EQ(s.evaluations(0).miou(), 100.0 * local["miou"].get<double>());
  EXPECT_GT(s.evaluations(0).miou(), 0.0);
  EXPECT_LT(s.evaluations(0).miou(), 100.0);

  // Each worker holds the masks of the images it scored and no other; all
  // of them arrived, each once.
  const std::map<std::string, std::string> images = HashesByStem(c.dir() + "/seg/images");
  const std::map<std::string, std::string> masks = HashesByStem(c.dir() + "/seg/masks");
  ASSERT_EQ(masks.size(), static_cast<size_t>(kSegmentationImages));
  size_t fetched = 0;
  for (int n = 0; n < 2; ++n) {
    std::set<std::string> image_stems, mask_stems;
    if (fs::exists(c.cache(n))) {
      for (const auto& entry : fs::directory_iterator(c.cache(n))) {
        const std::string name = entry.path().filename().string();
        if (images.count(name)) image_stems.insert(images.at(name));
        if (masks.count(name)) mask_stems.insert(masks.at(name));
      }
    }
    EXPECT_EQ(mask_stems, image_stems) << "worker " << n;
    EXPECT_LT(mask_stems.size(), masks.size()) << "worker " << n << " fetched every mask";
    fetched += mask_stems.size();
  }
  EXPECT_EQ(fetched, masks.size());
}

std::string SearchJob(const std::string& name, const std::string& model, const std::string& dataset,
                      const std::string& metric) {
  return "name: " + name + "\nkind: search\nmodel: " + model + "\ndata:\n" +
         "  calibration: {dataset: " + dataset + ", samples: 10}\n" +
         "  evaluation: {dataset: " + dataset + ", shard_size: 5}\n" +
         "calibration: {method: minmax}\nmetric: " + metric + "\nbudget: {max_drop: 5}\n" +
         "objective: {measure: throughput, batch: 4}\nbenchmark: {seconds: 0.1}\n" +
         "hardware: any\nstrategy: {name: accuracy_aware, refine: false}\n";
}

TEST(Distributed, SearchJobBudgetsInMiouAndRefusesAMetricOfAnotherTask) {
  Cluster c;  // the folder and database: `mixq run` starts its own processes
  const std::string segmenter = c.dir() + "/seg.onnx";
  std::ofstream(segmenter, std::ios::binary) << SegmenterModel();
  const std::string seg = WriteSegmentationSet(c.dir());
  const std::string job = c.dir() + "/search.yaml";
  WriteText(job, SearchJob("it-seg-search", segmenter, seg, "miou"));
  MixqResult r = RunMixq("run " + job + " --workers 1 --threads 1 --db " + c.db());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  StatusOr<std::unique_ptr<SqliteDb>> db = c.OpenDb();
  ASSERT_TRUE(db.ok()) << db.status().message();
  StatusOr<std::unique_ptr<SqliteStatement>> stmt =
      (*db)->Prepare("SELECT fp32_accuracy FROM search_results");
  ASSERT_TRUE(stmt.ok()) << stmt.status().message();
  StatusOr<bool> row = (*stmt)->Step();
  ASSERT_TRUE(row.ok() && *row) << r.out;
  // The budget's reference is FP32's mIoU, as one local pass gives it.
  const nlohmann::json local = LocalEval(segmenter, seg);
  ASSERT_TRUE(local.is_object()) << local;
  EXPECT_EQ((*stmt)->Real(0), 100.0 * local["miou"].get<double>());

  WriteText(job, SearchJob("it-seg-map", segmenter, seg, "map50"));
  r = RunMixq("run " + job + " --workers 1 --threads 1 --db " + c.db());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("'metric' map50 scores a detection dataset; '"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("is a segmentation dataset"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace mixq::test
