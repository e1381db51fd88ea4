#include "metrics/detection.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <utility>

#include "metrics/byte_codec.h"
#include "metrics/coco_match.h"

namespace mixq {
namespace {

constexpr char kMagic[] = "MQDS";
constexpr uint8_t kVersion = 1;
constexpr uint64_t kMaxGroundTruths = uint64_t{1} << 48;
constexpr uint64_t kAllThresholdsMask = (1u << kCocoIouThresholds) - 1;
// The fewest bytes a category (id, count, entries) and an entry (score,
// image, rank, two masks) take.
constexpr size_t kMinCategoryBytes = 3;
constexpr size_t kMinEntryBytes = 12;

bool FiniteBox(const BoxXywh& b) {
  return std::isfinite(b.x) && std::isfinite(b.y) && std::isfinite(b.w) && std::isfinite(b.h) &&
         b.w >= 0 && b.h >= 0;
}

std::string BoxText(const BoxXywh& b) {
  return "[" + std::to_string(b.x) + ", " + std::to_string(b.y) + ", " + std::to_string(b.w) +
         ", " + std::to_string(b.h) + "]";
}

Status CheckImageInputs(int64_t image_index, const std::vector<GroundTruth>& gts,
                        const std::vector<Detection>& dets) {
  const std::string image = "image " + std::to_string(image_index);
  for (size_t i = 0; i < gts.size(); ++i) {
    const GroundTruth& g = gts[i];
    const std::string what = image + ": ground truth " + std::to_string(i);
    if (g.image_index != image_index) {
      return InvalidArgument(what + " names image " + std::to_string(g.image_index));
    }
    if (!FiniteBox(g.box)) {
      return InvalidArgument(what + ": box " + BoxText(g.box) +
                             " is not finite with width, height >= 0");
    }
    if (!std::isfinite(g.area)) return InvalidArgument(what + ": area is not finite");
  }
  for (size_t i = 0; i < dets.size(); ++i) {
    const Detection& d = dets[i];
    const std::string what = image + ": detection " + std::to_string(i);
    if (d.image_index != image_index) {
      return InvalidArgument(what + " names image " + std::to_string(d.image_index));
    }
    if (!FiniteBox(d.box)) {
      return InvalidArgument(what + ": box " + BoxText(d.box) +
                             " is not finite with width, height >= 0");
    }
    if (!std::isfinite(d.score)) return InvalidArgument(what + ": score is not finite");
  }
  return Status::Ok();
}

}  // namespace

Status DetectionStats::AddImage(int64_t image_index, const std::vector<GroundTruth>& gts,
                                const std::vector<Detection>& dets) {
  if (images_.count(image_index) != 0) {
    return InvalidArgument("image " + std::to_string(image_index) + " was already added");
  }
  MIXQ_RETURN_IF_ERROR(CheckImageInputs(image_index, gts, dets));

  std::map<int64_t, std::pair<std::vector<const GroundTruth*>, std::vector<const Detection*>>>
      by_category;
  for (const GroundTruth& g : gts) by_category[g.category_id].first.push_back(&g);
  for (const Detection& d : dets) by_category[d.category_id].second.push_back(&d);

  images_.insert(image_index);
  for (const auto& [category_id, inputs] : by_category) {
    const ImageCategoryMatch match = MatchImageCategory(inputs.first, inputs.second);
    if (match.num_ground_truths == 0 && match.detections.empty()) continue;  // crowds alone
    Category& category = categories_[category_id];
    category.num_ground_truths += match.num_ground_truths;
    for (const MatchedDetection& m : match.detections) {
      category.entries.push_back({m.score, image_index, m.rank, m.tp_mask, m.ignored_mask});
    }
  }
  return Status::Ok();
}

Status DetectionStats::AddImages(const std::vector<GroundTruth>& gts,
                                 const std::vector<Detection>& dets) {
  std::map<int64_t, std::pair<std::vector<GroundTruth>, std::vector<Detection>>> by_image;
  for (const GroundTruth& g : gts) by_image[g.image_index].first.push_back(g);
  for (const Detection& d : dets) by_image[d.image_index].second.push_back(d);
  for (const auto& [image_index, inputs] : by_image) {
    MIXQ_RETURN_IF_ERROR(AddImage(image_index, inputs.first, inputs.second));
  }
  return Status::Ok();
}

Status DetectionStats::Merge(const DetectionStats& other) {
  if (&other == this) return InvalidArgument("cannot merge detection statistics into themselves");
  for (int64_t image : other.images_) {
    if (images_.count(image) != 0) {
      return InvalidArgument("cannot merge detection statistics: image " + std::to_string(image) +
                             " is in both");
    }
  }
  images_.insert(other.images_.begin(), other.images_.end());
  for (const auto& [category_id, theirs] : other.categories_) {
    Category& ours = categories_[category_id];
    ours.num_ground_truths += theirs.num_ground_truths;
    ours.entries.insert(ours.entries.end(), theirs.entries.begin(), theirs.entries.end());
  }
  return Status::Ok();
}

bool DetectionStats::Before(const Entry& a, const Entry& b) {
  if (a.score != b.score) return a.score > b.score;
  if (a.image_index != b.image_index) return a.image_index < b.image_index;
  return a.rank < b.rank;
}

std::vector<DetectionStats::Entry> DetectionStats::SortedEntries(const Category& category) {
  std::vector<Entry> sorted = category.entries;
  // (image, rank) is unique, so the order is total and the result does not
  // depend on the order entries arrived in.
  std::sort(sorted.begin(), sorted.end(), Before);
  return sorted;
}

std::vector<double> DetectionStats::ThresholdAps(int64_t num_ground_truths,
                                                 const std::vector<Entry>& sorted) {
  const size_t n = sorted.size();
  const double counted = static_cast<double>(num_ground_truths);
  std::vector<double> aps(kCocoIouThresholds);
  std::vector<double> recall(n);
  std::vector<double> precision(n);
  for (int t = 0; t < kCocoIouThresholds; ++t) {
    const uint16_t bit = static_cast<uint16_t>(1u << t);
    double tp = 0;
    double fp = 0;
    for (size_t i = 0; i < n; ++i) {
      // An ignored detection keeps its place but counts as neither.
      if (sorted[i].tp_mask & bit) {
        tp += 1;
      } else if (!(sorted[i].ignored_mask & bit)) {
        fp += 1;
      }
      recall[i] = tp / counted;
      // COCO adds numpy's spacing(1) (DBL_EPSILON) so 0/0 reads as 0.
      precision[i] = tp / (fp + tp + DBL_EPSILON);
    }
    // The precision envelope: at each point the best precision at any
    // higher recall.
    for (size_t i = n; i-- > 1;) precision[i - 1] = std::max(precision[i - 1], precision[i]);
    double sum = 0;
    for (int r = 0; r < kCocoRecallPoints; ++r) {
      const auto first = std::lower_bound(recall.begin(), recall.end(), CocoRecallPoint(r));
      if (first != recall.end()) sum += precision[first - recall.begin()];
    }
    aps[t] = sum / kCocoRecallPoints;
  }
  return aps;
}

std::vector<CategoryAp> DetectionStats::PerCategory() const {
  std::vector<CategoryAp> result;
  for (const auto& [category_id, category] : categories_) {
    if (category.num_ground_truths == 0) continue;  // COCO's -1: no AP
    const std::vector<double> aps =
        ThresholdAps(category.num_ground_truths, SortedEntries(category));
    double sum = 0;
    for (double ap : aps) sum += ap;
    result.push_back({category_id, category.num_ground_truths, aps[0], sum / kCocoIouThresholds});
  }
  return result;
}

double DetectionStats::Map50() const {
  const std::vector<CategoryAp> categories = PerCategory();
  if (categories.empty()) return -1;
  double sum = 0;
  for (const CategoryAp& c : categories) sum += c.ap50;
  return sum / static_cast<double>(categories.size());
}

double DetectionStats::Map50_95() const {
  const std::vector<CategoryAp> categories = PerCategory();
  if (categories.empty()) return -1;
  double sum = 0;
  for (const CategoryAp& c : categories) sum += c.ap50_95;
  return sum / static_cast<double>(categories.size());
}

std::string DetectionStats::Serialize() const {
  ByteWriter out;
  out.PutBytes(kMagic);
  out.PutByte(kVersion);
  out.PutVarint(kCocoMaxDetections);
  out.PutVarint(images_.size());
  for (int64_t image : images_) out.PutSignedVarint(image);
  out.PutVarint(categories_.size());
  for (const auto& [category_id, category] : categories_) {
    out.PutSignedVarint(category_id);
    out.PutVarint(static_cast<uint64_t>(category.num_ground_truths));
    const std::vector<Entry> sorted = SortedEntries(category);
    out.PutVarint(sorted.size());
    for (const Entry& e : sorted) {
      out.PutDouble(e.score);
      out.PutSignedVarint(e.image_index);
      out.PutVarint(static_cast<uint64_t>(e.rank));
      out.PutVarint(e.tp_mask);
      out.PutVarint(e.ignored_mask);
    }
  }
  return out.Release();
}

StatusOr<DetectionStats> DetectionStats::Parse(const std::string& bytes,
                                               const std::string& source) {
  ByteReader in(bytes, source);
  MIXQ_RETURN_IF_ERROR(in.ExpectBytes(kMagic, "detection statistics (no MQDS magic)"));
  uint8_t version = 0;
  MIXQ_RETURN_IF_ERROR(in.ReadByte(&version, "version"));
  if (version != kVersion) {
    return in.Corrupt("detection statistics version " + std::to_string(version) +
                      " (this build reads " + std::to_string(kVersion) + ")");
  }
  uint64_t max_detections = 0;
  MIXQ_RETURN_IF_ERROR(in.ReadVarint(&max_detections, "max_detections"));
  if (max_detections != kCocoMaxDetections) {
    return in.Corrupt("max_detections " + std::to_string(max_detections) + " (not 100)");
  }

  DetectionStats stats;
  uint64_t n_images = 0;
  MIXQ_RETURN_IF_ERROR(in.ReadBoundedVarint(kMaxDetectionStatsImages, &n_images, "image count"));
  MIXQ_RETURN_IF_ERROR(in.CheckCount(n_images, 1, "image"));
  std::vector<int64_t> images(n_images);
  for (uint64_t i = 0; i < n_images; ++i) {
    MIXQ_RETURN_IF_ERROR(in.ReadSignedVarint(&images[i], "image index"));
    if (i > 0 && images[i] <= images[i - 1]) return in.Corrupt("image indices not ascending");
  }
  stats.images_.insert(images.begin(), images.end());

  uint64_t n_categories = 0;
  MIXQ_RETURN_IF_ERROR(
      in.ReadBoundedVarint(kMaxDetectionStatsCategories, &n_categories, "category count"));
  MIXQ_RETURN_IF_ERROR(in.CheckCount(n_categories, kMinCategoryBytes, "category"));
  int64_t previous_id = 0;
  for (uint64_t c = 0; c < n_categories; ++c) {
    int64_t category_id = 0;
    MIXQ_RETURN_IF_ERROR(in.ReadSignedVarint(&category_id, "category id"));
    if (c > 0 && category_id <= previous_id) return in.Corrupt("category ids not ascending");
    previous_id = category_id;
    uint64_t num_ground_truths = 0;
    MIXQ_RETURN_IF_ERROR(
        in.ReadBoundedVarint(kMaxGroundTruths, &num_ground_truths, "ground truth count"));
    uint64_t n_entries = 0;
    MIXQ_RETURN_IF_ERROR(
        in.ReadBoundedVarint(n_images * kCocoMaxDetections, &n_entries, "entry count"));
    MIXQ_RETURN_IF_ERROR(in.CheckCount(n_entries, kMinEntryBytes, "entry"));

    Category& category = stats.categories_[category_id];
    category.num_ground_truths = static_cast<int64_t>(num_ground_truths);
    category.entries.resize(n_entries);
    std::vector<std::pair<int64_t, int32_t>> keys(n_entries);
    for (uint64_t i = 0; i < n_entries; ++i) {
      Entry& e = category.entries[i];
      MIXQ_RETURN_IF_ERROR(in.ReadDouble(&e.score, "score"));
      if (!std::isfinite(e.score)) return in.Corrupt("score is not finite");
      MIXQ_RETURN_IF_ERROR(in.ReadSignedVarint(&e.image_index, "entry image"));
      if (!std::binary_search(images.begin(), images.end(), e.image_index)) {
        return in.Corrupt("entry names image " + std::to_string(e.image_index) +
                          ", which is not listed");
      }
      uint64_t rank = 0;
      uint64_t tp = 0;
      uint64_t ignored = 0;
      MIXQ_RETURN_IF_ERROR(in.ReadBoundedVarint(kCocoMaxDetections - 1, &rank, "rank"));
      MIXQ_RETURN_IF_ERROR(in.ReadBoundedVarint(kAllThresholdsMask, &tp, "tp mask"));
      MIXQ_RETURN_IF_ERROR(in.ReadBoundedVarint(kAllThresholdsMask, &ignored, "ignored mask"));
      if ((tp & ignored) != 0) return in.Corrupt("a detection both TP and ignored");
      e.rank = static_cast<int32_t>(rank);
      e.tp_mask = static_cast<uint16_t>(tp);
      e.ignored_mask = static_cast<uint16_t>(ignored);
      if (i > 0 && !Before(category.entries[i - 1], e)) {
        return in.Corrupt("entries not in canonical order");
      }
      keys[i] = {e.image_index, e.rank};
    }
    // One detection per (image, rank): two entries of equal key but
    // different scores would pass the order check.
    std::sort(keys.begin(), keys.end());
    if (std::adjacent_find(keys.begin(), keys.end()) != keys.end()) {
      return in.Corrupt("category " + std::to_string(category_id) +
                        " repeats a detection (image and rank)");
    }
  }
  MIXQ_RETURN_IF_ERROR(in.ExpectEnd());
  return stats;
}

}  // namespace mixq
