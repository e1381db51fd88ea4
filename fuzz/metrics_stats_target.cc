// Fuzz target: the serialized task statistics a worker sends the coordinator
// (metrics/): the first input byte picks the reader, byte % 3 = 0
// DetectionStats::Parse (MQDS), 1 SegmentationStats::Parse (MQSS), 2
// FidelityStats::Parse (MQFS); the rest is the bytes it reads.
//
// Checked beyond not crashing, when the bytes parse:
//  * Serialize() gives the input back byte for byte, except that a varint
//    the input spelled with more bytes than it needs comes back in its
//    shortest form (the readers accept such; the writers never make them):
//    so the output is never longer than the input, and as long only when it
//    is the input. It parses again to the same bytes;
//  * merging with empty statistics, either way round, changes nothing;
//  * the numbers read from it are in range: mAPs and per-category APs in
//    [0, 1], or -1 exactly when no category has a ground truth; mIoU and
//    pixel accuracy in [0, 1] or -1; SQNR and cosine are only computed.
//
// Seeds: MIXQ_FUZZ_WRITE_SEEDS=fuzz/corpus/metrics_stats
// build/fuzz/replay_metrics_stats writes statistics of small worlds, as the
// product computes them.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/tensor.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_input.h"
#include "metrics/detection.h"
#include "metrics/fidelity.h"
#include "metrics/segmentation.h"

namespace {

enum Reader : uint8_t { kDetection = 0, kSegmentation = 1, kFidelity = 2 };

bool InUnitRange(double v) { return v >= 0 && v <= 1; }

// The serialization's promise (above) for statistics parsed from `input`.
template <typename Stats>
void CheckRoundTrip(const std::string& input, const Stats& stats, const std::string& what) {
  const std::string out = stats.Serialize();
  MIXQ_FUZZ_CHECK(out.size() < input.size() || out == input,
                  what + ": Serialize() of parsed bytes is not the input, nor shorter");
  auto again = Stats::Parse(out, "again");
  MIXQ_FUZZ_CHECK(again.ok(),
                  what + ": serialized statistics are refused: " + again.status().message());
  MIXQ_FUZZ_CHECK(again->Serialize() == out, what + ": a second round trip changes the bytes");
}

// Merging `stats` with `empty` either way round gives `stats` again.
template <typename Stats>
void CheckEmptyMerges(const Stats& stats, const Stats& empty, const std::string& what) {
  Stats left = stats;
  mixq::Status merged = left.Merge(empty);
  MIXQ_FUZZ_CHECK(merged.ok(),
                  what + ": merging empty statistics in is refused: " + merged.message());
  Stats right = empty;
  merged = right.Merge(stats);
  MIXQ_FUZZ_CHECK(merged.ok(),
                  what + ": merging into empty statistics is refused: " + merged.message());
  const std::string bytes = stats.Serialize();
  MIXQ_FUZZ_CHECK(left.Serialize() == bytes && right.Serialize() == bytes,
                  what + ": merging with empty statistics changes them");
}

// Empty statistics that `stats` may merge with.
mixq::DetectionStats EmptyLike(const mixq::DetectionStats&) { return {}; }
mixq::FidelityStats EmptyLike(const mixq::FidelityStats&) { return {}; }
mixq::SegmentationStats EmptyLike(const mixq::SegmentationStats& stats) {
  auto empty = mixq::SegmentationStats::Create(stats.num_classes(), stats.ignore_index());
  MIXQ_FUZZ_CHECK(empty.ok(), "parsed classes and ignore index that Create() refuses: " +
                                  empty.status().message());
  return std::move(empty).value();
}

// Parses `input` as `what` statistics: a refusal is checked and gives
// nothing; accepted statistics pass the round trip and the empty merges.
template <typename Stats>
std::optional<Stats> Parse(const std::string& input, const std::string& what) {
  auto stats = Stats::Parse(input, "fuzz." + what);
  if (!stats.ok()) {
    mixq::fuzz::CheckRefusal(stats.status(), what + " statistics");
    return std::nullopt;
  }
  CheckRoundTrip(input, *stats, what);
  CheckEmptyMerges(*stats, EmptyLike(*stats), what);
  return std::move(stats).value();
}

void CheckDetection(const std::string& input) {
  const auto stats = Parse<mixq::DetectionStats>(input, "detection");
  if (!stats) return;
  const std::vector<mixq::CategoryAp> categories = stats->PerCategory();
  for (const mixq::CategoryAp& c : categories) {
    MIXQ_FUZZ_CHECK(c.num_ground_truths > 0 && InUnitRange(c.ap50) && InUnitRange(c.ap50_95),
                    "category " + std::to_string(c.category_id) + ": AP out of [0, 1]");
  }
  for (double map : {stats->Map50(), stats->Map50_95()}) {
    MIXQ_FUZZ_CHECK(categories.empty() ? map == -1 : InUnitRange(map),
                    "mAP " + std::to_string(map) + " with " + std::to_string(categories.size()) +
                        " categories");
  }
}

void CheckSegmentation(const std::string& input) {
  const auto stats = Parse<mixq::SegmentationStats>(input, "segmentation");
  if (!stats) return;
  MIXQ_FUZZ_CHECK(static_cast<int64_t>(stats->ClassIoU().size()) == stats->num_classes(),
                  "not one IoU per class");
  const double miou = stats->MeanIoU(), accuracy = stats->PixelAccuracy();
  MIXQ_FUZZ_CHECK(miou == -1 || InUnitRange(miou), "mIoU " + std::to_string(miou));
  MIXQ_FUZZ_CHECK(accuracy == -1 || InUnitRange(accuracy),
                  "pixel accuracy " + std::to_string(accuracy));
  MIXQ_FUZZ_CHECK((accuracy == -1) == (stats->total() == 0), "pixel accuracy -1 with pixels");
}

void CheckFidelity(const std::string& input) {
  const auto stats = Parse<mixq::FidelityStats>(input, "fidelity");
  if (!stats) return;
  for (const mixq::OutputFidelity& f : stats->outputs()) {
    (void)f.SqnrDb();
    (void)f.MeanCosine();
  }
}

// Seeds: statistics of small worlds, each behind its reader's byte.
std::string Seed(Reader reader, const std::string& bytes) {
  return std::string(1, static_cast<char>(reader)) + bytes;
}

std::string DetectionSeed(bool crowded, int many) {
  std::vector<mixq::GroundTruth> gts = {{1, 1, {10, 10, 20, 20}, 400, false},
                                        {1, 2, {0, 0, 5, 8}, 40, false},
                                        {4, 1, {30, 5, 10, 10}, 100, false}};
  if (crowded) gts.push_back({4, 1, {0, 0, 50, 50}, 2500, true});
  std::vector<mixq::Detection> dets = {{1, 1, 0.9, {11, 10, 20, 19}},
                                       {1, 1, 0.5, {40, 40, 5, 5}},
                                       {1, 2, 0.5, {0, 1, 5, 8}},
                                       {4, 1, 0.75, {2, 2, 10, 10}},
                                       {6, 2, 0.3, {1, 1, 1, 1}}};
  for (int i = 0; i < many; ++i) dets.push_back({6, 1, 0.05 * (i % 20), {1.0 * i, 0, 4, 4}});
  mixq::DetectionStats stats;
  MIXQ_FUZZ_CHECK(stats.AddImages(gts, dets).ok(), "a seed world is refused");
  return stats.Serialize();
}

std::string SegmentationSeed(int64_t classes, std::optional<int64_t> ignore) {
  auto stats = mixq::SegmentationStats::Create(classes, ignore);
  MIXQ_FUZZ_CHECK(stats.ok(), "a seed matrix is refused");
  std::vector<int64_t> labels, predicted;
  for (int64_t i = 0; i < 40; ++i) {
    labels.push_back(ignore && i % 7 == 0 ? *ignore : i % classes);
    predicted.push_back((i * i) % classes);
  }
  MIXQ_FUZZ_CHECK(stats->Add(predicted.data(), labels.data(), 40).ok(), "seed pixels refused");
  return stats->Serialize();
}

std::string FidelitySeed(const std::vector<std::string>& names, float noise) {
  std::vector<mixq::Tensor> reference, outputs;
  for (size_t o = 0; o < names.size(); ++o) {
    mixq::Tensor ref(mixq::DType::kF32, {2, 3}), out(mixq::DType::kF32, {2, 3});
    for (int i = 0; i < 6; ++i) {
      ref.data<float>()[i] = static_cast<float>(i) - 2.5f * o;
      out.data<float>()[i] = ref.data<float>()[i] + noise * (i % 2 ? 1 : -1);
    }
    reference.push_back(ref);
    outputs.push_back(out);
  }
  mixq::FidelityStats stats;
  MIXQ_FUZZ_CHECK(stats.Add(names, reference, outputs).ok(), "seed outputs refused");
  return stats.Serialize();
}

std::vector<std::pair<std::string, std::string>> Seeds() {
  return {
      {"detection_empty", Seed(kDetection, mixq::DetectionStats().Serialize())},
      {"detection_small", Seed(kDetection, DetectionSeed(false, 0))},
      {"detection_crowd", Seed(kDetection, DetectionSeed(true, 0))},
      {"detection_past_100", Seed(kDetection, DetectionSeed(true, 104))},
      {"segmentation_ignore", Seed(kSegmentation, SegmentationSeed(3, 255))},
      {"segmentation_negative_ignore", Seed(kSegmentation, SegmentationSeed(4, -1))},
      {"segmentation_one_class", Seed(kSegmentation, SegmentationSeed(1, std::nullopt))},
      {"fidelity_empty", Seed(kFidelity, mixq::FidelityStats().Serialize())},
      {"fidelity_one_output", Seed(kFidelity, FidelitySeed({"logits"}, 0.125f))},
      {"fidelity_identical", Seed(kFidelity, FidelitySeed({"a"}, 0))},
      {"fidelity_two_outputs", Seed(kFidelity, FidelitySeed({"boxes", "scores"}, 1e-3f))},
  };
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mixq::fuzz::WriteSeedsIfAsked(Seeds());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  mixq::fuzz::CatchEscapes([&] {
    switch (data[0] % 3) {
      case kDetection:
        CheckDetection(input);
        break;
      case kSegmentation:
        CheckSegmentation(input);
        break;
      default:
        CheckFidelity(input);
        break;
    }
  });
  return 0;
}
