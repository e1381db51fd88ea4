#include "coordinator/job_files.h"

#include "common/dataset.h"
#include "common/image_listing.h"

namespace mixq {

Status CheckDatasetFiles(const std::string& yaml_path, const std::string& what,
                         const FileRoots& roots) {
  MIXQ_RETURN_IF_ERROR(roots.CheckRead(yaml_path, what));
  StatusOr<DatasetSpec> loaded = LoadDatasetSpec(yaml_path);
  // A YAML that does not read names no file: planning reads it again and
  // reports why, in its own order (the model's errors first).
  if (!loaded.ok()) return Status::Ok();
  const DatasetSpec& spec = *loaded;
  if (spec.format == "images") {
    MIXQ_RETURN_IF_ERROR(roots.CheckRead(spec.images, what + " images"));
    // Each file too: a link inside the folder may lead outside the roots.
    const TaskSpec& task = spec.task;
    StatusOr<ImageListing> listing = task.kind == TaskSpec::Kind::kClassification
                                         ? ListImages(spec.images)
                                         : ListUnlabelledImages(spec.images);
    if (!listing.ok()) return Status::Ok();  // planning reports it
    for (const ImageFile& file : listing->files) {
      MIXQ_RETURN_IF_ERROR(roots.CheckRead(file.path, what + " image"));
      // A segmentation set's masks travel to workers too.
      if (task.kind == TaskSpec::Kind::kSegmentation) {
        MIXQ_RETURN_IF_ERROR(roots.CheckRead(MaskPath(task.masks, file.path), what + " mask"));
      }
    }
    if (task.kind == TaskSpec::Kind::kDetection) {
      return roots.CheckRead(task.annotations, what + " annotations");
    }
    return Status::Ok();
  }
  for (const DatasetInput& file : SampleFiles(spec)) {
    MIXQ_RETURN_IF_ERROR(roots.CheckRead(
        file.path, what + (file.name.empty() ? " images" : " input '" + file.name + "'")));
  }
  return roots.CheckRead(spec.labels, what + " labels");
}

Status CheckJobFiles(const JobSpec& job, const FileRoots& roots) {
  const std::string& at = job.source;
  MIXQ_RETURN_IF_ERROR(roots.CheckRead(job.model, at + ": model"));
  if (!job.eval_dataset.empty()) {
    MIXQ_RETURN_IF_ERROR(
        CheckDatasetFiles(job.eval_dataset, at + ": data.evaluation.dataset", roots));
  }
  if (!job.calibrate.dataset.empty()) {
    MIXQ_RETURN_IF_ERROR(
        CheckDatasetFiles(job.calibrate.dataset, at + ": calibration.dataset", roots));
  }
  if (!job.calibration_file.empty()) {
    MIXQ_RETURN_IF_ERROR(roots.CheckRead(job.calibration_file, at + ": calibration"));
  }
  for (size_t i = 0; i < job.configs.size(); ++i) {
    const std::string& entry = job.configs[i];
    // The literal configs name no file.
    if (entry == "fp32" || entry == "int8" || entry.front() == '{') continue;
    MIXQ_RETURN_IF_ERROR(roots.CheckRead(entry, at + ": configs[" + std::to_string(i) + "]"));
  }
  if (!job.output.empty()) MIXQ_RETURN_IF_ERROR(roots.CheckWrite(job.output, at + ": output"));
  return Status::Ok();
}

}  // namespace mixq
