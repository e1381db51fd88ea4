// Fuzz target: a COCO instances file as a user names it for a detection
// dataset (metrics/coco_annotations.h ParseCocoAnnotations), the whole input
// its text.
//
// Checked beyond not crashing, when it is read: every image has both sides
// > 0 and a unique id, every category a unique id, and every ground truth
// names a listed image and category with a box of finite numbers, width and
// height >= 0, and a finite area. So DetectionStats must take them all, with
// a detection per ground truth on its box (scores on a coarse grid, so ties
// happen): AddImages() may not refuse what the reader accepted. The mAPs of
// that evaluation are in [0, 1], or -1 without a counted ground truth, and
// its statistics survive their serialization byte for byte.
//
// Seeds: fuzz/corpus/coco_annotations/, small files written by hand (a
// valid file, crowds, areas left out or past COCO's range, booleans for
// iscrowd, refusals of missing fields).
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "metrics/coco_annotations.h"
#include "metrics/detection.h"

namespace {

bool FiniteBox(const mixq::BoxXywh& b) {
  return std::isfinite(b.x) && std::isfinite(b.y) && std::isfinite(b.w) && std::isfinite(b.h) &&
         b.w >= 0 && b.h >= 0;
}

void CheckRead(const mixq::CocoAnnotations& coco) {
  std::set<int64_t> images, categories;
  for (const mixq::CocoImage& image : coco.images) {
    MIXQ_FUZZ_CHECK(image.width > 0 && image.height > 0, "an image with a side <= 0");
    MIXQ_FUZZ_CHECK(images.insert(image.id).second, "a repeated image id");
  }
  for (const mixq::CocoCategory& category : coco.categories) {
    MIXQ_FUZZ_CHECK(categories.insert(category.id).second, "a repeated category id");
  }
  for (const mixq::GroundTruth& gt : coco.ground_truths) {
    MIXQ_FUZZ_CHECK(images.count(gt.image_index) == 1 && categories.count(gt.category_id) == 1,
                    "a ground truth of an unlisted image or category");
    MIXQ_FUZZ_CHECK(FiniteBox(gt.box) && std::isfinite(gt.area),
                    "a ground truth with a box or area DetectionStats refuses");
  }
}

void Evaluate(const mixq::CocoAnnotations& coco) {
  std::vector<mixq::Detection> dets;
  for (size_t i = 0; i < coco.ground_truths.size(); ++i) {
    const mixq::GroundTruth& gt = coco.ground_truths[i];
    dets.push_back({gt.image_index, gt.category_id, 0.25 * static_cast<double>(i % 5), gt.box});
  }
  mixq::DetectionStats stats;
  const mixq::Status added = stats.AddImages(coco.ground_truths, dets);
  MIXQ_FUZZ_CHECK(added.ok(),
                  "DetectionStats refuses what the COCO reader accepted: " + added.message());
  const size_t counted = stats.PerCategory().size();
  for (double map : {stats.Map50(), stats.Map50_95()}) {
    MIXQ_FUZZ_CHECK(
        counted == 0 ? map == -1 : map >= 0 && map <= 1,
        "mAP " + std::to_string(map) + " over " + std::to_string(counted) + " categories");
  }
  const std::string bytes = stats.Serialize();
  auto parsed = mixq::DetectionStats::Parse(bytes, "stats");
  MIXQ_FUZZ_CHECK(parsed.ok(), "serialized statistics are refused: " + parsed.status().message());
  MIXQ_FUZZ_CHECK(parsed->Serialize() == bytes, "statistics change on their round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  mixq::fuzz::CatchEscapes([&] {
    auto coco = mixq::ParseCocoAnnotations(text, "fuzz.json");
    if (!coco.ok()) {
      mixq::fuzz::CheckRefusal(coco.status(), "COCO annotations");
      return;
    }
    CheckRead(*coco);
    Evaluate(*coco);
  });
  return 0;
}
