// `mixq eval`: accuracy (top-1, top-5, and top-1 agreement with FP32 for a
// quantised config) of a model on a labelled dataset, in this process.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/engine_options.h"
#include "cli/input_shape_option.h"
#include "cli/quant_setup.h"
#include "common/dataset.h"
#include "common/number_flag.h"
#include "engine/onnx/qdq_import.h"
#include "engine/runtime/evaluator.h"
#include "engine/runtime/executor.h"
#include "metrics/fidelity.h"

namespace mixq {
namespace {

namespace po = boost::program_options;

struct EvalCommandOptions {
  std::string model;    // .onnx path
  std::string dataset;  // dataset YAML
  int64_t batch = 100;
  bool batch_given = false;  // --batch on the command line (it must agree with --input-shape)
  int64_t begin = 0;         // first sample
  int64_t count = -1;        // samples; -1 = all
  bool json = false;
  bool progress = true;  // progress lines on stderr
  EngineOptions engine;
  QuantArgs quant;           // INT8 layers need quant.calibration
  InputShapes input_shapes;  // --input-shape
};

// Progress on stderr: a rewritten line on a terminal, a line per quarter
// otherwise (logs stay short).
class Progress {
 public:
  explicit Progress(std::string what) : what_(std::move(what)), tty_(isatty(2)) {}
  void Update(int64_t done, int64_t total) {
    auto now = std::chrono::steady_clock::now();
    double secs = std::chrono::duration<double>(now - start_).count();
    int quarter = static_cast<int>(4 * done / std::max<int64_t>(total, 1));
    bool show = tty_ ? (now - last_ > std::chrono::milliseconds(200) || done == total)
                     : (quarter != last_quarter_);
    if (!show) return;
    last_ = now;
    last_quarter_ = quarter;
    double rate = secs > 0 ? done / secs : 0.0;
    double eta = rate > 0 ? (total - done) / rate : 0.0;
    std::fprintf(stderr, "%s%s: %lld/%lld (%.0f%%), %.0f/s, ETA %.0f s%s", tty_ ? "\r" : "",
                 what_.c_str(), static_cast<long long>(done), static_cast<long long>(total),
                 100.0 * done / std::max<int64_t>(total, 1), rate, eta,
                 tty_ ? (done == total ? "\n" : "") : "\n");
    std::fflush(stderr);
  }

 private:
  std::string what_;
  bool tty_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
  int last_quarter_ = -1;
};

Status RunEval(const EvalCommandOptions& options, std::ostream& out) {
  MIXQ_RETURN_IF_ERROR(ApplyEngineOptions(options.engine));
  // A QDQ model runs with the spec it embeds unless --config says otherwise.
  MIXQ_ASSIGN_OR_RETURN(QdqModel model, ImportOnnxWithQdq(options.model));
  Graph& graph = model.graph;
  MIXQ_ASSIGN_OR_RETURN(DatasetSpec spec, LoadDatasetSpec(options.dataset));
  MIXQ_RETURN_IF_ERROR(
      ApplyInputShapes(options.input_shapes, {{spec.source, spec.input_shapes}}, &graph).status());
  const int64_t batch =
      CommandBatches(graph, options.input_shapes, {options.batch}, options.batch_given)[0];
  MIXQ_ASSIGN_OR_RETURN(ResolvedQuant quant, ResolveQuant(options.quant, options.model, graph,
                                                          false, options.engine.threads,
                                                          model.has_qdq ? &model.spec : nullptr));
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> dataset, Dataset::Open(spec));

  EvalOptions eval;
  eval.batch = batch;
  eval.begin = options.begin;
  eval.count = options.count;
  eval.executor.threads = options.engine.threads;
  eval.executor.winograd = options.engine.winograd;
  eval.executor.quant = quant.spec;
  Progress progress("eval " + options.model);
  if (options.progress) {
    eval.progress = [&progress](int64_t done, int64_t total) { progress.Update(done, total); };
  }
  // A quantised run also runs FP32 beside it on the same samples and
  // batches: top-1 agreement, and each output's SQNR and cosine similarity
  // (metrics/fidelity.h), as an evaluate task does on a worker.
  const bool quantised = !quant.spec.layers.empty() &&
                         std::any_of(quant.spec.layers.begin(), quant.spec.layers.end(),
                                     [](const auto& l) { return l.second != Precision::kFp32; });
  eval.fidelity = quantised;
  MIXQ_ASSIGN_OR_RETURN(EvalCounts counts, Evaluate(graph, *dataset, eval));
  if (!quantised && counts.classified) counts.agree1 = counts.samples;
  const double agree1 = counts.samples ? static_cast<double>(counts.agree1) / counts.samples : 0;

  const double top1 = counts.samples ? static_cast<double>(counts.correct1) / counts.samples : 0;
  const double top5 = counts.samples ? static_cast<double>(counts.correct5) / counts.samples : 0;
  const double ips = counts.seconds > 0 ? counts.samples / counts.seconds : 0;
  const std::string isa = EffectiveIsaName();
  if (options.json) {
    nlohmann::json j = {{"model", options.model},
                        {"dataset", options.dataset},
                        {"samples", counts.samples},
                        {"correct1", counts.correct1},
                        {"correct5", counts.correct5},
                        {"top1", top1},
                        {"top5", top5},
                        {"agree1", counts.agree1},
                        {"agree1_rate", agree1},
                        {"seconds", counts.seconds},
                        {"images_per_second", ips},
                        {"batch", batch},
                        {"threads", options.engine.threads},
                        {"isa", isa},
                        {"winograd", options.engine.winograd}};
    j.update(quant.ToJson());
    if (!counts.classified) {
      for (const char* key : {"correct1", "correct5", "top1", "top5"}) j.erase(key);
      // Agreement stays where the outputs were class scores (an unlabelled set).
      if (counts.agree1 < 0) {
        j.erase("agree1");
        j.erase("agree1_rate");
      }
    }
    // Per output against FP32; SQNR is null when the outputs are identical.
    nlohmann::json fidelity = nlohmann::json::array();
    for (const OutputFidelity& f : counts.fidelity.outputs()) {
      const double sqnr = f.SqnrDb();
      fidelity.push_back(
          {{"output", f.output},
           {"sqnr_db", std::isfinite(sqnr) ? nlohmann::json(sqnr) : nlohmann::json()},
           {"cosine", f.MeanCosine()}});
    }
    if (quantised) j["fidelity"] = fidelity;
    j["task"] = TaskKindName(spec.task.kind);
    if (counts.detection) {
      j["map50"] = counts.detection->Map50();
      j["map50_95"] = counts.detection->Map50_95();
    }
    if (counts.segmentation) {
      j["miou"] = counts.segmentation->MeanIoU();
      j["pixel_accuracy"] = counts.segmentation->PixelAccuracy();
    }
    out << j.dump() << "\n";
    return Status::Ok();
  }
  out << std::fixed;
  out << "model      " << options.model << "\n";
  out << "dataset    " << options.dataset << " (" << counts.samples << " samples from "
      << options.begin << ")\n";
  out << "precision  " << quant.Summary() << "\n";
  if (!quant.calibration.empty()) out << "calibration " << quant.calibration << "\n";
  out << "isa        " << isa << " (threads "
      << (options.engine.threads ? std::to_string(options.engine.threads) : std::string("default"))
      << ", winograd " << (options.engine.winograd ? "on" : "off") << ")\n";
  if (counts.classified) {
    out << std::setprecision(2) << "top-1      " << 100.0 * top1 << " %  (" << counts.correct1
        << " / " << counts.samples << ")\n";
    out << "top-5      " << 100.0 * top5 << " %  (" << counts.correct5 << " / " << counts.samples
        << ")\n";
  }
  if (counts.agree1 >= 0) {
    out << std::setprecision(2) << "agree fp32 " << 100.0 * agree1 << " %  (" << counts.agree1
        << " / " << counts.samples << " top-1 equal to FP32)\n";
  }
  if (counts.detection) {
    out << std::setprecision(2) << "mAP@0.5    " << 100.0 * counts.detection->Map50()
        << " %  (COCO's 101-point AP over " << counts.samples << " images)\n";
    out << "mAP@.5:.95 " << 100.0 * counts.detection->Map50_95() << " %\n";
  }
  if (counts.segmentation) {
    out << std::setprecision(2) << "mIoU       " << 100.0 * counts.segmentation->MeanIoU()
        << " %  (pixel accuracy " << 100.0 * counts.segmentation->PixelAccuracy() << " %)\n";
  }
  for (const OutputFidelity& f : counts.fidelity.outputs()) {
    const double sqnr = f.SqnrDb();
    char line[64];
    std::snprintf(line, sizeof(line), std::isfinite(sqnr) ? "%.2f dB" : "inf (identical)", sqnr);
    out << "vs fp32    " << f.output << ": SQNR " << line << ", cosine " << std::setprecision(6)
        << f.MeanCosine() << "\n";
  }
  out << "time       " << counts.seconds << " s  (" << std::setprecision(0) << ips << " "
      << SampleUnit(graph) << "/s at batch " << batch << ")\n";
  return Status::Ok();
}

}  // namespace

int EvalMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  EvalCommandOptions o;
  bool quiet = false;
  po::options_description desc("mixq eval: accuracy of a model on a dataset");
  desc.add_options()("model", po::value<std::string>(&o.model)->required(), "ONNX model file")(
      "dataset", po::value<std::string>(&o.dataset)->required(),
      "dataset YAML (schemas/dataset.md)")("batch", IntegerFlag("batch", &o.batch, 1, kMaxBatch),
                                           "samples per forward pass")(
      "begin", IntegerFlag("begin", &o.begin, 0, kMaxSamples), "first sample")(
      "count", IntegerFlag("count", &o.count, kSampleCount), "samples to evaluate; -1 = all")(
      "json", po::bool_switch(&o.json), "print one JSON object")("quiet,q", po::bool_switch(&quiet),
                                                                 "no progress on stderr");
  AddEngineOptions(&desc, &o.engine);
  AddQuantOptions(&desc, &o.quant);
  AddInputShapeOption(&desc, &o.input_shapes);
  po::variables_map values;
  if (!ParseCommandLine("eval", desc, args, out, {}, &values)) return 0;
  o.batch_given = OptionGiven(values, "batch");
  o.progress = !quiet;
  return ExitCode("eval", RunEval(o, out), err);
}

}  // namespace mixq
