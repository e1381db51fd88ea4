// The files a submitted job names, checked against the coordinator's roots
// (file_roots.h) before any is opened, stat'ed or hashed: the model, the
// dataset YAMLs and the images and labels each names, the calibration file,
// config files and the output. Planning calls it for every phase, so a
// coordinator restarted with other roots checks a running job again.
#ifndef MIXQ_COORDINATOR_JOB_FILES_H_
#define MIXQ_COORDINATOR_JOB_FILES_H_

#include <string>

#include "common/status.h"
#include "coordinator/file_roots.h"
#include "coordinator/job_spec.h"

namespace mixq {

// Ok when every file `job` reads is under the data roots and its output (if
// any) under the output root; otherwise the first refusal, naming the key
// (e.g. "<submitted job>: data.evaluation.dataset images"). A dataset YAML
// under the roots is read to find its files; one that does not read names
// none (planning reads it again and reports why).
Status CheckJobFiles(const JobSpec& job, const FileRoots& roots);

// CheckRead() of a dataset YAML, then of the images and labels it names;
// `what` names the key that gave the YAML.
Status CheckDatasetFiles(const std::string& yaml_path, const std::string& what,
                         const FileRoots& roots);

}  // namespace mixq

#endif  // MIXQ_COORDINATOR_JOB_FILES_H_
