// `mixq report`: one self-contained HTML page (inline CSS and SVG, no script,
// no network) with a job's tables and three plots - accuracy drop vs
// speed-up per config and hardware class with each class's Pareto front
// marked, per-layer sensitivity vs INT8 gain, and the search's progress over
// time. The page is rendered from plain data; the DB side fills ReportData.
#ifndef MIXQ_RESULTS_HTML_REPORT_H_
#define MIXQ_RESULTS_HTML_REPORT_H_

#include <string>
#include <vector>

#include "common/table_format.h"

namespace mixq {

struct ReportPoint {
  std::string config;    // a short description ("int8 except conv1")
  std::string hardware;  // hardware class
  double drop = 0.0;     // accuracy drop, points
  double speedup = 1.0;  // over FP32 on the same class
  bool chosen = false;   // the search's answer
};

struct ReportLayer {
  std::string layer;
  std::string hardware;
  double sensitivity = 0.0;  // accuracy points lost by this layer in INT8
  double int8_gain = 1.0;    // FP32 time / INT8 time
};

struct ReportStep {
  double seconds = 0.0;       // since the job started
  double best_speedup = 0.0;  // of the best verified config so far (0 = none yet)
  double drop = 0.0;          // of the config measured at this step
  std::string what;           // step kind and config
};

struct ReportSection {
  std::string title;
  Table table;
};

struct ReportData {
  std::string title;
  std::vector<std::string> facts;  // "model: ...", "budget: ..." lines
  std::vector<ReportSection> tables;
  std::vector<ReportPoint> points;
  std::vector<ReportLayer> layers;
  std::vector<ReportStep> steps;
};

// Indices of `points` on their hardware class's Pareto front (no other point
// of the class has both a smaller-or-equal drop and a larger-or-equal
// speed-up, one of them strictly), in the order of `points`.
std::vector<size_t> ParetoFront(const std::vector<ReportPoint>& points);

std::string RenderHtmlReport(const ReportData& data);

}  // namespace mixq

#endif  // MIXQ_RESULTS_HTML_REPORT_H_
