#include "metrics/coco_annotations.h"

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "common/file_bytes.h"
#include "common/json_text.h"

namespace mixq {
namespace {

using nlohmann::json;

StatusOr<const json*> Field(const json& object, const char* key, const std::string& where) {
  if (!object.is_object()) return InvalidArgument(where + " is not an object");
  const auto it = object.find(key);
  if (it == object.end()) return InvalidArgument(where + " has no \"" + key + "\"");
  return &*it;
}

StatusOr<int64_t> IntField(const json& object, const char* key, const std::string& where) {
  MIXQ_ASSIGN_OR_RETURN(const json* value, Field(object, key, where));
  const bool too_big = value->is_number_unsigned() &&
                       value->get<uint64_t>() > uint64_t{std::numeric_limits<int64_t>::max()};
  if (!value->is_number_integer() || too_big) {
    return InvalidArgument(where + ": \"" + key + "\" is not an int64 integer: " + value->dump());
  }
  return value->get<int64_t>();
}

StatusOr<std::string> StringField(const json& object, const char* key, const std::string& where) {
  MIXQ_ASSIGN_OR_RETURN(const json* value, Field(object, key, where));
  if (!value->is_string()) {
    return InvalidArgument(where + ": \"" + key + "\" is not a string: " + value->dump());
  }
  return value->get<std::string>();
}

StatusOr<const json*> ArrayField(const json& doc, const char* key, const std::string& source) {
  const auto it = doc.find(key);
  if (it == doc.end() || !it->is_array()) {
    return InvalidArgument(source + ": has no \"" + key + "\" array");
  }
  return &*it;
}

StatusOr<BoxXywh> ReadBox(const json& annotation, const std::string& where) {
  MIXQ_ASSIGN_OR_RETURN(const json* bbox, Field(annotation, "bbox", where));
  const std::string bad = where + ": bbox " + bbox->dump() +
                          " is not [x, y, width, height] of finite numbers with width, height >= 0";
  if (!bbox->is_array() || bbox->size() != 4) return InvalidArgument(bad);
  double v[4];
  for (size_t i = 0; i < 4; ++i) {
    if (!(*bbox)[i].is_number()) return InvalidArgument(bad);
    v[i] = (*bbox)[i].get<double>();
    if (!std::isfinite(v[i])) return InvalidArgument(bad);
  }
  if (v[2] < 0 || v[3] < 0) return InvalidArgument(bad);
  return BoxXywh{v[0], v[1], v[2], v[3]};
}

Status ReadImages(const json& doc, const std::string& source, CocoAnnotations* out,
                  std::map<int64_t, size_t>* index) {
  MIXQ_ASSIGN_OR_RETURN(const json* images, ArrayField(doc, "images", source));
  for (size_t i = 0; i < images->size(); ++i) {
    const json& entry = (*images)[i];
    const std::string where = source + ": images[" + std::to_string(i) + "]";
    CocoImage image;
    MIXQ_ASSIGN_OR_RETURN(image.id, IntField(entry, "id", where));
    MIXQ_ASSIGN_OR_RETURN(image.file_name, StringField(entry, "file_name", where));
    MIXQ_ASSIGN_OR_RETURN(image.width, IntField(entry, "width", where));
    MIXQ_ASSIGN_OR_RETURN(image.height, IntField(entry, "height", where));
    if (image.width <= 0 || image.height <= 0) {
      return InvalidArgument(where + ": width and height must be positive, not " +
                             std::to_string(image.width) + "x" + std::to_string(image.height));
    }
    const auto [it, inserted] = index->emplace(image.id, i);
    if (!inserted) {
      return InvalidArgument(where + ": duplicate image id " + std::to_string(image.id) +
                             " (also images[" + std::to_string(it->second) + "])");
    }
    out->images.push_back(std::move(image));
  }
  return Status::Ok();
}

Status ReadCategories(const json& doc, const std::string& source, CocoAnnotations* out,
                      std::map<int64_t, size_t>* index) {
  MIXQ_ASSIGN_OR_RETURN(const json* categories, ArrayField(doc, "categories", source));
  for (size_t i = 0; i < categories->size(); ++i) {
    const json& entry = (*categories)[i];
    const std::string where = source + ": categories[" + std::to_string(i) + "]";
    CocoCategory category;
    MIXQ_ASSIGN_OR_RETURN(category.id, IntField(entry, "id", where));
    MIXQ_ASSIGN_OR_RETURN(category.name, StringField(entry, "name", where));
    const auto [it, inserted] = index->emplace(category.id, i);
    if (!inserted) {
      return InvalidArgument(where + ": duplicate category id " + std::to_string(category.id) +
                             " (also categories[" + std::to_string(it->second) + "])");
    }
    out->categories.push_back(std::move(category));
  }
  return Status::Ok();
}

StatusOr<GroundTruth> ReadAnnotation(const json& entry, const std::string& where,
                                     const std::map<int64_t, size_t>& images,
                                     const std::map<int64_t, size_t>& categories) {
  GroundTruth gt;
  MIXQ_ASSIGN_OR_RETURN(gt.image_index, IntField(entry, "image_id", where));
  if (images.count(gt.image_index) == 0) {
    return InvalidArgument(where + ": image_id " + std::to_string(gt.image_index) +
                           " names no image in \"images\"");
  }
  MIXQ_ASSIGN_OR_RETURN(gt.category_id, IntField(entry, "category_id", where));
  if (categories.count(gt.category_id) == 0) {
    return InvalidArgument(where + ": category_id " + std::to_string(gt.category_id) +
                           " names no category in \"categories\"");
  }
  MIXQ_ASSIGN_OR_RETURN(gt.box, ReadBox(entry, where));
  gt.area = gt.box.w * gt.box.h;
  if (const auto area = entry.find("area"); area != entry.end()) {
    if (!area->is_number() || !std::isfinite(area->get<double>())) {
      return InvalidArgument(where + ": area " + area->dump() + " is not a finite number");
    }
    gt.area = area->get<double>();
  }
  if (const auto crowd = entry.find("iscrowd"); crowd != entry.end()) {
    const bool zero_or_one =
        crowd->is_boolean() ||
        (crowd->is_number_integer() && (crowd->get<int64_t>() == 0 || crowd->get<int64_t>() == 1));
    if (!zero_or_one)
      return InvalidArgument(where + ": iscrowd " + crowd->dump() + " is not 0 or 1");
    gt.iscrowd = crowd->is_boolean() ? crowd->get<bool>() : crowd->get<int64_t>() == 1;
  }
  return gt;
}

}  // namespace

StatusOr<CocoAnnotations> ParseCocoAnnotations(const std::string& text, const std::string& source) {
  MIXQ_ASSIGN_OR_RETURN(const json doc, ParseJsonStrict(text, source));
  if (!doc.is_object()) return InvalidArgument(source + ": is not a JSON object");
  CocoAnnotations out;
  std::map<int64_t, size_t> images;
  std::map<int64_t, size_t> categories;
  MIXQ_RETURN_IF_ERROR(ReadImages(doc, source, &out, &images));
  MIXQ_RETURN_IF_ERROR(ReadCategories(doc, source, &out, &categories));
  MIXQ_ASSIGN_OR_RETURN(const json* annotations, ArrayField(doc, "annotations", source));
  out.ground_truths.reserve(annotations->size());
  for (size_t i = 0; i < annotations->size(); ++i) {
    const json& entry = (*annotations)[i];
    std::string where = source + ": annotations[" + std::to_string(i) + "]";
    if (!entry.is_object()) return InvalidArgument(where + " is not an object");
    if (const auto id = entry.find("id"); id != entry.end()) where += " (id " + id->dump() + ")";
    MIXQ_ASSIGN_OR_RETURN(GroundTruth gt, ReadAnnotation(entry, where, images, categories));
    out.ground_truths.push_back(gt);
  }
  return out;
}

StatusOr<CocoAnnotations> ReadCocoAnnotations(const std::string& path, uint64_t max_bytes) {
  // A plain file over the limit is refused from its size, unread;
  // ReadFileBytes holds a gzip one to the limit as it inflates.
  std::error_code error;
  const uintmax_t size = std::filesystem::file_size(path, error);
  if (!error && size > max_bytes) {
    return InvalidArgument(path + ": " + std::to_string(size) +
                           " bytes is more than the annotation file limit of " +
                           std::to_string(max_bytes));
  }
  MIXQ_ASSIGN_OR_RETURN(const std::vector<uint8_t> bytes, ReadFileBytes(path, max_bytes));
  return ParseCocoAnnotations(std::string(bytes.begin(), bytes.end()), path);
}

}  // namespace mixq
