#include "search/search_calibration.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/dataset.h"
#include "common/image_manifest.h"
#include "common/sha256.h"
#include "common/table_format.h"

namespace mixq {
namespace {

namespace fs = std::filesystem;

std::string Absolute(const std::string& path) {
  return fs::absolute(path).lexically_normal().string();
}

}  // namespace

StatusOr<std::string> PrepareSearchCalibration(
    const SearchJobSpec& spec, const std::string& method, Store* store, int64_t model_id,
    const std::string& model_sha256, const InputShapes& input_shapes, const std::string& db_dir,
    DistributedBackend* backend, Calibration* calibration) {
  if (!spec.calibration_file.empty()) {
    MIXQ_ASSIGN_OR_RETURN(*calibration, LoadCalibration(spec.calibration_file));
    if (calibration->model_sha256 != model_sha256) {
      return InvalidArgument(spec.job.source + ": calibration '" + spec.calibration_file +
                             "' was made for another model");
    }
    return Absolute(spec.calibration_file);
  }
  MIXQ_ASSIGN_OR_RETURN(DatasetSpec ds, LoadDatasetSpec(spec.calibration_dataset));
  // One-input datasets: the images file; named inputs: the first input's
  // file, with every input's name and file hash in `pre` (so in the keys).
  // An image folder: its manifest (every file's hash and label) and its
  // decoding steps stand for the files; the coordinator registers the files
  // when it plans the calibrate tasks.
  const bool image_folder = ds.format == "images";
  std::vector<DatasetInput> files = SampleFiles(ds);
  std::vector<std::string> file_shas;
  std::string labels_sha;
  int64_t image_count = 0;
  if (image_folder) {
    MIXQ_ASSIGN_OR_RETURN(
        BuiltImageManifest manifest,
        BuildImageManifest(ds.images, ds.task.kind != TaskSpec::Kind::kClassification));
    file_shas.push_back(manifest.sha256);
    labels_sha = manifest.sha256;  // the manifest holds the labels
    // Registered here too: the calibration may come from the cache, with no
    // sub-job to register it, and the dataset's row refers to it.
    MIXQ_ASSIGN_OR_RETURN(
        const std::string manifest_path,
        SaveImageManifest(manifest, (fs::path(db_dir) / "calibrations" / "manifests").string()));
    MIXQ_RETURN_IF_ERROR(store->RegisterBlob(manifest_path, manifest.sha256).status());
    image_count = static_cast<int64_t>(manifest.entries.size());
    files.clear();
  } else {
    for (const DatasetInput& file : files) {
      MIXQ_ASSIGN_OR_RETURN(std::string sha, Sha256File(file.path));
      file_shas.push_back(std::move(sha));
    }
    MIXQ_ASSIGN_OR_RETURN(labels_sha, Sha256File(ds.labels));
  }
  const std::string images_sha = file_shas[0];
  nlohmann::json pre = {{"scale", ds.preprocess.scale},
                        {"mean", ds.preprocess.mean},
                        {"std", ds.preprocess.std},
                        {"layout", LayoutName(ds.preprocess.layout)}};
  if (image_folder) {
    const ImageResizeCrop& image = ds.preprocess.image;
    pre["format"] = "images";
    pre["color"] = image.color == ColorMode::kGray ? "gray" : (ds.preprocess.bgr ? "bgr" : "rgb");
    pre["resize"] = {image.resize_shorter, image.resize_height, image.resize_width};
    pre["interpolation"] = static_cast<int>(image.interpolation);
    pre["center_crop"] = {image.crop_height, image.crop_width};
  }
  if (!ds.inputs.empty()) {
    pre["inputs"] = nlohmann::json::array();
    for (size_t i = 0; i < files.size(); ++i)
      pre["inputs"].push_back({files[i].name, file_shas[i]});
  }
  // Everything that determines the scales names the cached file.
  // Without input shapes the key is the one files had before they existed.
  const std::string shapes =
      input_shapes.empty() ? "" : "\ninput_shape=" + InputShapesText(input_shapes);
  const std::string key = Sha256Hex(model_sha256 + "\n" + images_sha + "\n" + pre.dump() + "\n" +
                                    std::to_string(spec.calibration_begin) + "\n" +
                                    std::to_string(spec.calibration_samples) + "\n" + method +
                                    "\n" + Fixed(spec.calibration_percentile, 6) + shapes);
  const std::string path =
      (fs::path(db_dir) / "calibrations" / ("search-" + key.substr(0, 16) + ".json")).string();
  std::error_code ec;
  bool loaded = false;
  if (fs::exists(path, ec)) {
    StatusOr<Calibration> cached = LoadCalibration(path);
    if (cached.ok() && cached->model_sha256 == model_sha256) {
      *calibration = std::move(*cached);
      loaded = true;
    }
  }
  if (!loaded) {
    // Calibrate tasks on the workers; the coordinator merges them and
    // writes the file where the next run of this search finds it.
    CalibrateRequest request;
    request.dataset = Absolute(spec.calibration_dataset);
    request.begin = spec.calibration_begin;
    request.samples = spec.calibration_samples;
    request.method = method;
    request.percentile = spec.calibration_percentile;
    request.output = path;
    MIXQ_ASSIGN_OR_RETURN(int64_t sub_job, backend->Calibrate(request));
    StatusOr<Calibration> made = LoadCalibration(path);
    if (!made.ok()) {
      return made.status().WithContext("calibrate sub-job " + std::to_string(sub_job));
    }
    *calibration = std::move(*made);
  }
  // Recorded in `calibrations` (by the file's hash) for queries.
  MIXQ_ASSIGN_OR_RETURN(std::string file_sha, Sha256File(path));
  int64_t dataset_size = image_count;
  if (!image_folder) {
    MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> sized, Dataset::Open(ds));
    dataset_size = sized->size();
    for (size_t i = 0; i < files.size(); ++i) {
      MIXQ_RETURN_IF_ERROR(store->RegisterBlob(files[i].path, file_shas[i]).status());
    }
    MIXQ_RETURN_IF_ERROR(store->RegisterBlob(ds.labels, labels_sha).status());
  }
  const std::string dataset_sha =
      Sha256Hex("dataset\n" + images_sha + "\n" + labels_sha + "\n" + pre.dump() + "\n");
  MIXQ_ASSIGN_OR_RETURN(int64_t dataset_id,
                        store->UpsertDataset(dataset_sha, spec.calibration_dataset, images_sha,
                                             labels_sha, pre.dump(), dataset_size));
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  MIXQ_ASSIGN_OR_RETURN(auto stmt,
                        store->db().Prepare("INSERT OR IGNORE INTO calibrations(sha256, model_id, "
                                            "dataset_id, method, samples, stats_json) VALUES "
                                            "(?,?,?,?,?,?)"));
  stmt->Bind(1, file_sha).Bind(2, model_id).Bind(3, dataset_id).Bind(4, method);
  stmt->Bind(5, spec.calibration_samples).Bind(6, text.str());
  MIXQ_RETURN_IF_ERROR(stmt->Run());
  return Absolute(path);
}

}  // namespace mixq
