#include "results/html_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

namespace mixq {

namespace {

constexpr int kWidth = 640, kHeight = 400;
constexpr int kLeft = 64, kRight = 150, kTop = 20, kBottom = 48;
const char* const kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                               "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};

std::string Escape(const std::string& text) {
  std::string out;
  for (char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::string Num(double v, int digits = 2) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.*f", digits, v);
  return text;
}

// A linear axis over [lo, hi] with "nice" ticks.
struct Axis {
  double lo = 0, hi = 1;
  std::vector<double> ticks;
};

Axis MakeAxis(double lo, double hi) {
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  const double span = hi - lo;
  const double raw = span / 5;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  }
  Axis axis;
  axis.lo = std::floor(lo / step) * step;
  axis.hi = std::ceil(hi / step) * step;
  for (double t = axis.lo; t <= axis.hi + step * 1e-9; t += step) axis.ticks.push_back(t);
  return axis;
}

class Plot {
 public:
  Plot(const std::string& id, const std::string& x_label, const std::string& y_label, Axis x,
       Axis y)
      : x_(std::move(x)), y_(std::move(y)) {
    out_ << "<svg id=\"" << id << "\" class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\""
         << kWidth << "\" height=\"" << kHeight << "\" viewBox=\"0 0 " << kWidth << " " << kHeight
         << "\">\n";
    const int x0 = kLeft, x1 = kWidth - kRight, y0 = kHeight - kBottom, y1 = kTop;
    out_ << "<rect x=\"" << x0 << "\" y=\"" << y1 << "\" width=\"" << x1 - x0 << "\" height=\""
         << y0 - y1 << "\" fill=\"none\" stroke=\"#888\"/>\n";
    for (double t : x_.ticks) {
      out_ << "<text x=\"" << X(t) << "\" y=\"" << y0 + 16 << "\" class=\"tick\">" << Num(t)
           << "</text>\n";
    }
    for (double t : y_.ticks) {
      out_ << "<line x1=\"" << x0 << "\" x2=\"" << x1 << "\" y1=\"" << Y(t) << "\" y2=\"" << Y(t)
           << "\" stroke=\"#eee\"/>\n<text x=\"" << x0 - 6 << "\" y=\"" << Y(t) + 4
           << "\" class=\"tick\" text-anchor=\"end\">" << Num(t) << "</text>\n";
    }
    out_ << "<text x=\"" << (x0 + x1) / 2 << "\" y=\"" << kHeight - 10 << "\" class=\"label\">"
         << Escape(x_label) << "</text>\n";
    out_ << "<text transform=\"translate(16," << (y0 + y1) / 2 << ") rotate(-90)\" class=\"label\">"
         << Escape(y_label) << "</text>\n";
  }
  double X(double v) const {
    return kLeft + (v - x_.lo) / (x_.hi - x_.lo) * (kWidth - kRight - kLeft);
  }
  double Y(double v) const {
    return kHeight - kBottom - (v - y_.lo) / (y_.hi - y_.lo) * (kHeight - kBottom - kTop);
  }
  void Point(double x, double y, const char* color, const std::string& title, bool ring,
             const std::string& cls) {
    out_ << "<circle class=\"" << cls << "\" cx=\"" << Num(X(x), 1) << "\" cy=\"" << Num(Y(y), 1)
         << "\" r=\"" << (ring ? 7 : 4) << "\" fill=\"" << (ring ? "none" : color) << "\" stroke=\""
         << color << "\" stroke-width=\"2\"><title>" << Escape(title) << "</title></circle>\n";
  }
  void Line(const std::vector<std::pair<double, double>>& pts, const char* color,
            const std::string& cls) {
    if (pts.size() < 2) return;
    out_ << "<polyline class=\"" << cls << "\" fill=\"none\" stroke=\"" << color
         << "\" stroke-width=\"1.5\" points=\"";
    for (const auto& [x, y] : pts) out_ << Num(X(x), 1) << "," << Num(Y(y), 1) << " ";
    out_ << "\"/>\n";
  }
  void Legend(int row, const char* color, const std::string& text) {
    const int x = kWidth - kRight + 12, y = kTop + 14 + row * 18;
    out_ << "<rect x=\"" << x << "\" y=\"" << y - 9 << "\" width=\"10\" height=\"10\" fill=\""
         << color << "\"/><text x=\"" << x + 16 << "\" y=\"" << y << "\" class=\"legend\">"
         << Escape(text) << "</text>\n";
  }
  std::string Finish() {
    out_ << "</svg>\n";
    return out_.str();
  }

 private:
  Axis x_, y_;
  std::ostringstream out_;
};

std::map<std::string, const char*> ColorsByClass(const std::vector<std::string>& classes) {
  std::map<std::string, const char*> colors;
  for (const std::string& c : classes) {
    if (!colors.count(c)) {
      colors[c] = kColors[colors.size() % (sizeof(kColors) / sizeof(kColors[0]))];
    }
  }
  return colors;
}

std::string TradeoffPlot(const std::vector<ReportPoint>& points) {
  double xmax = 0.1, ymin = 1.0, ymax = 1.0;
  std::vector<std::string> classes;
  for (const ReportPoint& p : points) {
    xmax = std::max(xmax, p.drop);
    ymin = std::min(ymin, p.speedup);
    ymax = std::max(ymax, p.speedup);
    classes.push_back(p.hardware);
  }
  Plot plot("tradeoff", "accuracy drop (points)", "speed-up over FP32",
            MakeAxis(std::min(0.0, xmax * -0.05), xmax * 1.05), MakeAxis(ymin * 0.95, ymax * 1.05));
  const auto colors = ColorsByClass(classes);
  const std::vector<size_t> front = ParetoFront(points);
  std::map<std::string, std::vector<std::pair<double, double>>> lines;
  for (size_t i : front) lines[points[i].hardware].emplace_back(points[i].drop, points[i].speedup);
  for (auto& [hw, pts] : lines) {
    std::sort(pts.begin(), pts.end());
    plot.Line(pts, colors.at(hw), "pareto-front");
  }
  for (const ReportPoint& p : points) {
    plot.Point(
        p.drop, p.speedup, colors.at(p.hardware),
        p.hardware + ": " + p.config + " (drop " + Num(p.drop) + ", x" + Num(p.speedup) + ")",
        false, "config-point");
    if (p.chosen) plot.Point(p.drop, p.speedup, colors.at(p.hardware), "chosen", true, "chosen");
  }
  int row = 0;
  for (const auto& [hw, color] : colors) plot.Legend(row++, color, hw);
  return plot.Finish();
}

std::string LayersPlot(const std::vector<ReportLayer>& layers) {
  double xmax = 0.05, ymin = 1.0, ymax = 1.0;
  std::vector<std::string> classes;
  for (const ReportLayer& l : layers) {
    xmax = std::max(xmax, l.sensitivity);
    ymin = std::min(ymin, l.int8_gain);
    ymax = std::max(ymax, l.int8_gain);
    classes.push_back(l.hardware);
  }
  Plot plot("layers", "sensitivity (points lost in INT8)", "INT8 gain (FP32 time / INT8 time)",
            MakeAxis(0.0, xmax * 1.05), MakeAxis(std::min(ymin, 1.0) * 0.95, ymax * 1.05));
  const auto colors = ColorsByClass(classes);
  for (const ReportLayer& l : layers) {
    plot.Point(l.sensitivity, l.int8_gain, colors.at(l.hardware),
               l.hardware + ": " + l.layer + " (sensitivity " + Num(l.sensitivity, 3) + ", x" +
                   Num(l.int8_gain) + ")",
               false, "layer-point");
  }
  int row = 0;
  for (const auto& [hw, color] : colors) plot.Legend(row++, color, hw);
  return plot.Finish();
}

std::string ProgressPlot(const std::vector<ReportStep>& steps) {
  double tmax = 1.0, ymax = 1.0;
  for (const ReportStep& s : steps) {
    tmax = std::max(tmax, s.seconds);
    ymax = std::max(ymax, s.best_speedup);
  }
  Plot plot("progress", "time since start (s)", "best verified speed-up", MakeAxis(0.0, tmax),
            MakeAxis(0.0, ymax * 1.1));
  std::vector<std::pair<double, double>> line;
  for (const ReportStep& s : steps) {
    if (s.best_speedup <= 0.0) continue;
    if (!line.empty()) line.emplace_back(s.seconds, line.back().second);  // a step line
    line.emplace_back(s.seconds, s.best_speedup);
  }
  plot.Line(line, kColors[0], "progress-line");
  for (const ReportStep& s : steps) {
    if (s.best_speedup > 0.0) {
      plot.Point(s.seconds, s.best_speedup, kColors[0], s.what, false, "step-point");
    }
  }
  return plot.Finish();
}

std::string HtmlTable(const ReportSection& section) {
  std::ostringstream out;
  out << "<h2>" << Escape(section.title) << "</h2>\n<table class=\"data\">\n<tr>";
  for (const std::string& c : section.table.columns) out << "<th>" << Escape(c) << "</th>";
  out << "</tr>\n";
  for (const auto& row : section.table.rows) {
    out << "<tr>";
    for (size_t c = 0; c < section.table.columns.size(); ++c) {
      const bool numeric = c < section.table.numeric.size() && section.table.numeric[c];
      out << (numeric ? "<td class=\"num\">" : "<td>") << Escape(c < row.size() ? row[c] : "")
          << "</td>";
    }
    out << "</tr>\n";
  }
  out << "</table>\n";
  return out.str();
}

}  // namespace

std::vector<size_t> ParetoFront(const std::vector<ReportPoint>& points) {
  std::vector<size_t> front;
  for (size_t i = 0; i < points.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < points.size() && !dominated; ++j) {
      if (i == j || points[j].hardware != points[i].hardware) continue;
      const bool no_worse =
          points[j].drop <= points[i].drop && points[j].speedup >= points[i].speedup;
      const bool better = points[j].drop < points[i].drop || points[j].speedup > points[i].speedup;
      dominated = no_worse && better;
    }
    if (!dominated) front.push_back(i);
  }
  return front;
}

std::string RenderHtmlReport(const ReportData& data) {
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>"
      << Escape(data.title) << "</title>\n<style>\n"
      << "body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}\n"
      << "table.data{border-collapse:collapse;margin:8px 0 20px}\n"
      << "table.data th,table.data td{border:1px solid #ccc;padding:3px 8px;font-size:13px}\n"
      << "table.data th{background:#f3f3f3}td.num{text-align:right}\n"
      << "svg.plot{display:block;margin:8px 0 24px;font-size:11px}\n"
      << ".tick{fill:#555;text-anchor:middle}.label{fill:#222;text-anchor:middle;font-size:12px}\n"
      << ".legend{fill:#222}ul.facts{color:#444}\n"
      << "</style>\n</head>\n<body>\n<h1>" << Escape(data.title) << "</h1>\n<ul class=\"facts\">\n";
  for (const std::string& fact : data.facts) out << "<li>" << Escape(fact) << "</li>\n";
  out << "</ul>\n";
  for (const ReportSection& section : data.tables) out << HtmlTable(section);
  out << "<h2>Accuracy drop vs speed-up</h2>\n<p>Each point is a measured config on one hardware "
         "class; lines join each class's Pareto front; rings mark the chosen config.</p>\n"
      << TradeoffPlot(data.points);
  out << "<h2>Per-layer sensitivity vs INT8 gain</h2>\n";
  // Empty plots say why rather than showing bare axes.
  if (data.layers.empty()) {
    out << "<p class=\"empty\">No per-layer data for this job: sensitivity comes from a "
           "search's ranking steps, INT8 gain from profile tasks.</p>\n";
  }
  out << LayersPlot(data.layers);
  out << "<h2>Search progress</h2>\n";
  if (data.steps.empty()) out << "<p class=\"empty\">This job has no search steps.</p>\n";
  out << ProgressPlot(data.steps);
  out << "</body>\n</html>\n";
  return out.str();
}

}  // namespace mixq
