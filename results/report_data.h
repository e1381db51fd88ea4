// The DB side of `mixq report`: reads a job (and its sub-jobs) through the
// query views (schemas/db_v2.sql) into the ReportData that html_report
// renders - tables of accuracy, speed and search answers, the drop vs
// speed-up points with the search's chosen configs, per-layer sensitivity
// vs INT8 gain, and the search's progress over time.
#ifndef MIXQ_RESULTS_REPORT_DATA_H_
#define MIXQ_RESULTS_REPORT_DATA_H_

#include <cstdint>

#include "common/sqlite_db.h"
#include "common/status.h"
#include "results/html_report.h"

namespace mixq {

// NotFound for an unknown job.
StatusOr<ReportData> LoadReportData(SqliteDb& db, int64_t job_id);

}  // namespace mixq

#endif  // MIXQ_RESULTS_REPORT_DATA_H_
