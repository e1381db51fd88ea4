#include "search/search_summary.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/table_format.h"

namespace mixq {

namespace {

// A file name part from a hardware class name.
std::string Slug(const std::string& text) {
  std::string out;
  for (char ch : text) out += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return out;
}

Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Unavailable(path + ": cannot open for writing");
  out << text;
  out.close();
  if (!out) return DataLoss(path + ": write failed");
  return Status::Ok();
}

}  // namespace

std::string Fp32Layers(const SearchSpace& space, const Mask& mask) {
  if (space.size() > 1 && CountInt8(mask) == 0) return "all";
  std::string out;
  for (int i = 0; i < space.size(); ++i) {
    if (mask[i]) continue;
    out += (out.empty() ? "" : ", ") + space.layers[i].name;
  }
  return out.empty() ? "-" : out;
}

Table SearchSummaryTable(const SearchSpace& space, const std::vector<HardwareOutcome>& outcomes,
                         const std::string& metric_column) {
  Table t;
  t.columns = {"hardware", "config", metric_column, "drop", "ms/batch", "speed-up", "FP32 layers"};
  t.numeric = {false, false, true, true, true, true, false};
  for (const HardwareOutcome& h : outcomes) {
    const SearchOutcome& o = h.outcome;
    auto row = [&](const std::string& name, const Mask& mask, double acc, double ms) {
      // NaN: not evaluated in full (speed_aware did not need it).
      const bool known = !std::isnan(acc);
      t.AddRow({h.hardware, name, known ? Fixed(acc, 2) : "-",
                known ? Fixed(o.fp32_accuracy - acc, 2) : "-", Fixed(ms, 3),
                Fixed(o.fp32_ms / ms, 2), Fp32Layers(space, mask)});
    };
    row("fp32", space.AllFp32(), o.fp32_accuracy, o.fp32_ms);
    row("int8", space.AllInt8(), o.int8_accuracy, o.int8_ms);
    row(o.met ? "chosen" : "closest (over budget)", o.chosen, o.chosen_accuracy, o.chosen_ms);
  }
  return t;
}

std::string VerdictLine(const HardwareOutcome& h) {
  const SearchOutcome& o = h.outcome;
  std::string line = h.hardware + ": " + o.verdict + " (" + std::to_string(o.full_evaluations) +
                     " full evaluations, " + std::to_string(o.refinement_full_evaluations) +
                     " of them in the final refinement, " + std::to_string(o.ranking_evaluations) +
                     " ranking, " + std::to_string(o.benchmarks) + " benchmarks)";
  if (std::isnan(o.int8_accuracy)) {
    line +=
        "; all-INT8 not evaluated in full: the search did not need it "
        "(strategy.reference_int8: true adds it)";
  }
  line += o.timing_rounds > 0 ? "; ms/batch: medians of " + std::to_string(o.timing_rounds) +
                                    " head-to-head benchmark rounds"
                              : "; ms/batch: one benchmark each";
  return line;
}

StatusOr<std::vector<std::string>> WriteSearchOutputs(
    const std::string& dir, const SearchSpace& space, const std::string& model_sha256,
    const std::vector<HardwareOutcome>& outcomes) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return Unavailable(dir + ": cannot create output folder: " + error.message());
  std::vector<std::string> written;
  const Table table = SearchSummaryTable(space, outcomes);
  std::string text = RenderTable(table, TableFormat::kTable);
  std::string md = RenderTable(table, TableFormat::kMarkdown);
  for (const HardwareOutcome& h : outcomes) {
    const std::string line = VerdictLine(h) + "\n";
    text += line;
    md += "\n- " + line;
    const std::string config_path = dir + "/config-" + Slug(h.hardware) + ".json";
    MIXQ_RETURN_IF_ERROR(
        WriteText(config_path, space.ToConfig(h.outcome.chosen, model_sha256).Canonical() + "\n"));
    written.push_back(config_path);
  }
  MIXQ_RETURN_IF_ERROR(WriteText(dir + "/summary.txt", text));
  written.push_back(dir + "/summary.txt");
  MIXQ_RETURN_IF_ERROR(WriteText(dir + "/summary.md", md));
  written.push_back(dir + "/summary.md");
  return written;
}

}  // namespace mixq
