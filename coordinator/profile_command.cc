#include "coordinator/profile_command.h"

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <vector>

#include "worker/executor.h"
#include "worker/isa.h"
#include "worker/onnx_importer.h"

namespace mixq {
namespace {

constexpr char kInputGroup[] = "(input)";
constexpr char kOutputGroup[] = "(outputs)";

double Median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

struct GroupTime {
  double compute_ms = 0.0;
  double reorder_ms = 0.0;
  double total_ms() const { return compute_ms + reorder_ms; }
};

struct ModelProfile {
  std::map<std::string, GroupTime> groups;
  double sum_ms = 0.0;    // of the per-step medians
  double whole_ms = 0.0;  // median of plain Run()s
};

// The group a step belongs to: the last quantizable layer at or before it.
std::string GroupOf(const StepInfo& step, const std::set<std::string>& layers,
                    const std::string& current) {
  if (layers.count(step.node)) return step.node;
  if (step.node.rfind("output '", 0) == 0) return kOutputGroup;
  return current;
}

StatusOr<ModelProfile> ProfileModel(const Graph& specialised, const ExecutorOptions& executor,
                                    const std::set<std::string>& layers,
                                    const ProfileCommandOptions& options) {
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<CompiledModel> model,
                        CompiledModel::Compile(specialised, executor));
  std::vector<Tensor> inputs;
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const ValueInfo& info : model->input_infos()) {
    inputs.emplace_back(info.dtype, info.shape);
    if (info.dtype != DType::kF32) continue;
    float* p = inputs.back().data<float>();
    for (int64_t i = 0; i < inputs.back().size(); ++i) p[i] = normal(rng);
  }
  std::vector<const Tensor*> input_ptrs;
  for (const Tensor& t : inputs) input_ptrs.push_back(&t);
  std::vector<Tensor> outputs = model->MakeOutputs();
  for (int i = 0; i < options.warmup; ++i) MIXQ_RETURN_IF_ERROR(model->Run(input_ptrs, &outputs));

  // Plain and profiled runs alternate so that both see the same machine state.
  const size_t steps = model->steps().size();
  std::vector<std::vector<double>> step_ms(steps);
  std::vector<double> whole_ms;
  std::vector<double> seconds;
  for (int r = 0; r < options.runs; ++r) {
    const auto a = std::chrono::steady_clock::now();
    MIXQ_RETURN_IF_ERROR(model->Run(input_ptrs, &outputs));
    whole_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
    MIXQ_RETURN_IF_ERROR(model->RunProfiled(input_ptrs, &outputs, &seconds));
    for (size_t s = 0; s < steps && s < seconds.size(); ++s) {
      step_ms[s].push_back(1000.0 * seconds[s]);
    }
  }
  ModelProfile profile;
  profile.whole_ms = Median(whole_ms);
  std::string group = kInputGroup;
  for (size_t s = 0; s < steps; ++s) {
    const StepInfo& step = model->steps()[s];
    group = GroupOf(step, layers, group);
    const double ms = Median(step_ms[s]);
    GroupTime& g = profile.groups[group];
    (step.kind == "reorder" ? g.reorder_ms : g.compute_ms) += ms;
    profile.sum_ms += ms;
  }
  return profile;
}

}  // namespace

Status RunProfileCommand(const ProfileCommandOptions& options, std::ostream& out) {
  if (options.engine.threads < 0) return InvalidArgument("--threads must be >= 0");
  if (options.batch <= 0) return InvalidArgument("--batch must be positive");
  if (options.runs <= 0 || options.warmup < 0) {
    return InvalidArgument("--runs must be positive and --warmup non-negative");
  }
  if (!options.engine.max_isa.empty()) MIXQ_RETURN_IF_ERROR(SetMaxIsa(options.engine.max_isa));
  MIXQ_ASSIGN_OR_RETURN(Graph graph, ImportOnnx(options.model));
  QuantArgs args = options.quant;
  if (args.config.empty()) args.config = "int8";
  MIXQ_ASSIGN_OR_RETURN(ResolvedQuant quant,
                        ResolveQuant(args, options.model, graph, true, options.engine.threads));
  MIXQ_ASSIGN_OR_RETURN(Graph specialised, SpecializeForBatch(graph, options.batch));

  const std::vector<std::string> layer_order = graph.QuantizableLayers();
  const std::set<std::string> layers(layer_order.begin(), layer_order.end());
  ExecutorOptions fp32;
  fp32.threads = options.engine.threads;
  ExecutorOptions mixed = fp32;
  mixed.quant = quant.spec;
  MIXQ_ASSIGN_OR_RETURN(ModelProfile fp32_profile,
                        ProfileModel(specialised, fp32, layers, options));
  MIXQ_ASSIGN_OR_RETURN(ModelProfile config_profile,
                        ProfileModel(specialised, mixed, layers, options));
  const std::string isa = EffectiveIsaName();

  std::vector<std::string> rows;
  rows.push_back(kInputGroup);
  rows.insert(rows.end(), layer_order.begin(), layer_order.end());
  rows.push_back(kOutputGroup);
  auto precision_of = [&](const std::string& row) -> std::string {
    auto it = quant.config.layers.find(row);
    return it == quant.config.layers.end() ? "-" : PrecisionName(it->second);
  };
  auto ratio = [](const ModelProfile& p) { return p.whole_ms > 0 ? p.sum_ms / p.whole_ms : 0.0; };

  if (options.json) {
    nlohmann::json j_layers = nlohmann::json::array();
    for (const std::string& row : rows) {
      const GroupTime f = fp32_profile.groups[row];
      const GroupTime c = config_profile.groups[row];
      if (row.front() == '(' && f.total_ms() == 0.0 && c.total_ms() == 0.0) continue;
      j_layers.push_back({{"layer", row},
                          {"quantizable", layers.count(row) > 0},
                          {"precision", precision_of(row)},
                          {"fp32_ms", f.total_ms()},
                          {"config_ms", c.compute_ms},
                          {"reorder_ms", c.reorder_ms}});
    }
    nlohmann::json j = {{"model", options.model},
                        {"batch", options.batch},
                        {"threads", options.engine.threads},
                        {"isa", isa},
                        {"runs", options.runs},
                        {"layers", j_layers},
                        {"fp32",
                         {{"sum_ms", fp32_profile.sum_ms},
                          {"whole_ms", fp32_profile.whole_ms},
                          {"sum_over_whole", ratio(fp32_profile)}}},
                        {"config",
                         {{"sum_ms", config_profile.sum_ms},
                          {"whole_ms", config_profile.whole_ms},
                          {"sum_over_whole", ratio(config_profile)}}}};
    j["quant"] = quant.ToJson();
    out << j.dump() << "\n";
    return Status::Ok();
  }
  out << "model " << options.model << "  batch " << options.batch << "  isa " << isa << "  threads "
      << (options.engine.threads ? std::to_string(options.engine.threads) : "default") << "  runs "
      << options.runs << " (medians)\n";
  out << "config " << quant.Summary() << "\n";
  int width = 8;
  for (const std::string& row : rows) width = std::max(width, static_cast<int>(row.size()) + 2);
  out << std::left << std::setw(width) << "layer" << std::setw(6) << "prec" << std::right
      << std::setw(11) << "fp32 ms" << std::setw(11) << "config ms" << std::setw(12) << "reorder ms"
      << "\n";
  out << std::fixed << std::setprecision(4);
  for (const std::string& row : rows) {
    const GroupTime f = fp32_profile.groups[row];
    const GroupTime c = config_profile.groups[row];
    if (row.front() == '(' && f.total_ms() == 0.0 && c.total_ms() == 0.0) continue;
    out << std::left << std::setw(width) << row << std::setw(6) << precision_of(row) << std::right
        << std::setw(11) << f.total_ms() << std::setw(11) << c.compute_ms << std::setw(12)
        << c.reorder_ms << "\n";
  }
  out << std::left << std::setw(width + 6) << "sum of steps" << std::right << std::setw(11)
      << fp32_profile.sum_ms << std::setw(11) << config_profile.sum_ms << "\n";
  out << std::left << std::setw(width + 6) << "whole model (plain Run)" << std::right
      << std::setw(11) << fp32_profile.whole_ms << std::setw(11) << config_profile.whole_ms << "\n";
  out << std::left << std::setw(width + 6) << "sum / whole" << std::right << std::setprecision(3)
      << std::setw(11) << ratio(fp32_profile) << std::setw(11) << ratio(config_profile) << "\n";
  return Status::Ok();
}

}  // namespace mixq
