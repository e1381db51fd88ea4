// Seeded random COCO worlds for the detection tests: images with ground
// truths of several categories (crowds and out-of-range areas among them),
// detections near them and apart (a few of an area past COCO's range),
// scores on a 0.05 grid so that ties are common within and across images,
// and one image-category with more than 100 detections. The same world goes to DetectionStats and,
// as COCO JSON files, to scripts/coco_map_reference.py.
#ifndef MIXQ_TESTS_METRICS_COCO_WORLD_H_
#define MIXQ_TESTS_METRICS_COCO_WORLD_H_

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "metrics/detection.h"

namespace mixq::test {

struct CocoWorld {
  std::vector<int64_t> image_ids;     // ascending
  std::vector<int64_t> category_ids;  // the ones the gt file lists
  std::vector<GroundTruth> gts;
  std::vector<Detection> dets;
};

inline CocoWorld MakeCocoWorld(uint32_t seed) {
  std::mt19937 rng(seed);
  const auto uniform = [&](double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
  };
  const auto chance = [&](double p) { return uniform(0, 1) < p; };
  const auto below = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  // Scores on a grid of 0.05 (ties), sometimes continuous; detections near a
  // ground truth mostly score higher than those of nothing, as a working
  // detector's do, so APs land mid-range.
  const auto score = [&](bool near) {
    const int lowest = near ? 6 : 1;
    const int steps = near ? 14 : 12;
    return chance(0.7) ? 0.05 * (lowest + below(steps)) : uniform(0.05 * lowest, 1);
  };

  CocoWorld world;
  // Category 9 is listed and has detections but never a ground truth.
  world.category_ids = {1, 3, 4, 9};
  const int n_images = 6 + below(5);
  int64_t id = 0;
  for (int i = 0; i < n_images; ++i) {
    id += 1 + below(40);
    world.image_ids.push_back(id);
  }
  const int crowded_image = below(n_images);
  for (int i = 0; i < n_images; ++i) {
    const int64_t image = world.image_ids[i];
    for (int64_t category : {int64_t{1}, int64_t{3}, int64_t{4}}) {
      const int n_gts = below(5);
      for (int g = 0; g < n_gts; ++g) {
        GroundTruth gt;
        gt.image_index = image;
        gt.category_id = category;
        gt.box = {uniform(0, 300), uniform(0, 300), uniform(4, 90), uniform(4, 90)};
        gt.iscrowd = chance(0.12);
        if (gt.iscrowd) {
          gt.box.w *= 2.5;
          gt.box.h *= 2.5;
        }
        // A mask's area is smaller than its box; now and then past 1e10,
        // which the "all" range ignores.
        gt.area = chance(0.04) ? 2e10 : gt.box.w * gt.box.h * uniform(0.4, 1.0);
        world.gts.push_back(gt);
        // Detections near it: IoUs from poor to perfect, sometimes twice.
        const int near = gt.iscrowd ? 1 + below(4) : below(3);
        for (int d = 0; d < near; ++d) {
          const double jitter = chance(0.2) ? 0 : uniform(0, 0.45);
          Detection det;
          det.image_index = image;
          det.category_id = category;
          det.score = score(true);
          det.box = {gt.box.x + jitter * gt.box.w * uniform(-1, 1),
                     gt.box.y + jitter * gt.box.h * uniform(-1, 1),
                     gt.box.w * (gt.iscrowd ? uniform(0.1, 0.4) : uniform(0.7, 1.3)),
                     gt.box.h * (gt.iscrowd ? uniform(0.1, 0.4) : uniform(0.7, 1.3))};
          world.dets.push_back(det);
        }
      }
      // Detections of nothing, of this and of the gt-less category.
      for (int64_t c : {category, int64_t{9}}) {
        const int n_false = below(3);
        for (int d = 0; d < n_false; ++d) {
          Detection det;
          det.image_index = image;
          det.category_id = c;
          det.score = score(false);
          det.box = {uniform(0, 300), uniform(0, 300), chance(0.05) ? 0.0 : uniform(4, 90),
                     uniform(4, 90)};
          world.dets.push_back(det);
        }
      }
    }
    if (i == crowded_image) {
      // 110 more detections of category 1 in one image, scoring like true
      // ones: COCO keeps the image's best 100, cutting some of its TPs.
      for (int d = 0; d < 110; ++d) {
        Detection det;
        det.image_index = image;
        det.category_id = 1;
        det.score = score(true);
        det.box = {uniform(0, 300), uniform(0, 300), uniform(4, 90), uniform(4, 90)};
        world.dets.push_back(det);
      }
    }
    if (chance(0.3)) {
      // A box of area past 1e10 matches nothing and is ignored, not an FP.
      Detection det;
      det.image_index = image;
      det.category_id = 1;
      det.score = score(false);
      det.box = {0, 0, 2e5, 1e5 * uniform(1.01, 2)};
      world.dets.push_back(det);
    }
  }
  // Detections in file order, not grouped by image: the stable per-image
  // order is the order within this list.
  std::shuffle(world.dets.begin(), world.dets.end(), rng);
  return world;
}

// The ground truth of `world` as a COCO instances file, images listed out
// of order (evaluation sorts them by id).
inline nlohmann::json CocoGroundTruthJson(const CocoWorld& world) {
  nlohmann::json doc;
  doc["images"] = nlohmann::json::array();
  for (size_t i = world.image_ids.size(); i-- > 0;) {
    doc["images"].push_back({{"id", world.image_ids[i]},
                             {"file_name", std::to_string(world.image_ids[i]) + ".jpg"},
                             {"width", 640},
                             {"height", 480}});
  }
  doc["categories"] = nlohmann::json::array();
  for (int64_t c : world.category_ids) {
    doc["categories"].push_back({{"id", c}, {"name", "c" + std::to_string(c)}});
  }
  doc["annotations"] = nlohmann::json::array();
  for (size_t i = 0; i < world.gts.size(); ++i) {
    const GroundTruth& g = world.gts[i];
    doc["annotations"].push_back({{"id", i + 1},
                                  {"image_id", g.image_index},
                                  {"category_id", g.category_id},
                                  {"bbox", {g.box.x, g.box.y, g.box.w, g.box.h}},
                                  {"area", g.area},
                                  {"iscrowd", g.iscrowd ? 1 : 0}});
  }
  return doc;
}

// COCO's results format.
inline nlohmann::json CocoDetectionsJson(const std::vector<Detection>& dets) {
  nlohmann::json list = nlohmann::json::array();
  for (const Detection& d : dets) {
    list.push_back({{"image_id", d.image_index},
                    {"category_id", d.category_id},
                    {"bbox", {d.box.x, d.box.y, d.box.w, d.box.h}},
                    {"score", d.score}});
  }
  return list;
}

// The detections of one image, in the world's order.
inline std::vector<Detection> DetsOfImage(const std::vector<Detection>& dets, int64_t image) {
  std::vector<Detection> out;
  std::copy_if(dets.begin(), dets.end(), std::back_inserter(out),
               [&](const Detection& d) { return d.image_index == image; });
  return out;
}

inline std::vector<GroundTruth> GtsOfImage(const std::vector<GroundTruth>& gts, int64_t image) {
  std::vector<GroundTruth> out;
  std::copy_if(gts.begin(), gts.end(), std::back_inserter(out),
               [&](const GroundTruth& g) { return g.image_index == image; });
  return out;
}

}  // namespace mixq::test

#endif  // MIXQ_TESTS_METRICS_COCO_WORLD_H_
