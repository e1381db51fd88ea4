// The calibrations of a search job: the job's own file, or one per scale
// method made by a calibrate sub-job on the workers, cached next to the
// database by everything that determines the scales, so that a resumed
// search uses the same scales and its tasks keep their keys.
#ifndef MIXQ_SEARCH_SEARCH_CALIBRATION_H_
#define MIXQ_SEARCH_SEARCH_CALIBRATION_H_

#include <cstdint>
#include <string>

#include "common/input_shapes.h"
#include "common/status.h"
#include "coordinator/store.h"
#include "engine/quant/calibration_file.h"
#include "search/distributed_backend.h"
#include "search/search_job_spec.h"

namespace mixq {

// The calibration a search uses: the job's file, or one made with `method`
// from data.calibration by a calibrate sub-job through `backend` (cached by its
// inputs as <db dir>/calibrations/search-<key>.json, so a resumed search
// uses the same scales and its tasks keep their keys; a valid cached file
// needs no sub-job) and recorded in the `calibrations` table. Returns the
// file's path.
// `input_shapes` (the job's, resolved) are part of the cache key: scales
// depend on the size the model runs at.
StatusOr<std::string> PrepareSearchCalibration(
    const SearchJobSpec& spec, const std::string& method, Store* store, int64_t model_id,
    const std::string& model_sha256, const InputShapes& input_shapes, const std::string& db_dir,
    DistributedBackend* backend, Calibration* calibration);

}  // namespace mixq

#endif  // MIXQ_SEARCH_SEARCH_CALIBRATION_H_
