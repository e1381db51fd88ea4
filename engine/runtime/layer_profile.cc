#include "engine/runtime/layer_profile.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>

#include "engine/passes/specialize.h"
#include "engine/runtime/executor.h"
#include "engine/runtime/input_feed.h"

namespace mixq {
namespace {

constexpr char kInputGroup[] = "(input)";
constexpr char kOutputGroup[] = "(outputs)";
constexpr uint32_t kInputSeed = 1234;

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
  ModelTime time;
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
                                    const LayerProfileOptions& options) {
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<CompiledModel> model,
                        CompiledModel::Compile(specialised, executor));
  std::vector<Tensor> inputs;
  for (const ValueInfo& info : model->input_infos()) inputs.emplace_back(info.dtype, info.shape);
  MIXQ_RETURN_IF_ERROR(SyntheticInputs(specialised).Fill(kInputSeed, 0, &inputs));
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
  profile.time.whole_ms = Median(whole_ms);
  std::vector<std::string> group_of(steps);
  std::string group = kInputGroup;
  for (size_t s = 0; s < steps; ++s)
    group_of[s] = group = GroupOf(model->steps()[s], layers, group);
  // A reorder belongs to the step it feeds: the quantisation of a layer's
  // input is part of running that layer in INT8 (its input boundary).
  for (size_t s = steps; s-- > 0;) {
    if (model->steps()[s].kind == "reorder" && s + 1 < steps) group_of[s] = group_of[s + 1];
  }
  for (size_t s = 0; s < steps; ++s) {
    const double ms = Median(step_ms[s]);
    GroupTime& g = profile.groups[group_of[s]];
    (model->steps()[s].kind == "reorder" ? g.reorder_ms : g.compute_ms) += ms;
    profile.time.sum_ms += ms;
  }
  return profile;
}

}  // namespace

StatusOr<LayerProfile> ProfileLayers(const Graph& graph, const QuantSpec& spec,
                                     const LayerProfileOptions& options) {
  if (options.batch <= 0) return InvalidArgument("profile: batch must be positive");
  if (options.runs <= 0 || options.warmup < 0) {
    return InvalidArgument("profile: runs must be positive and warmup non-negative");
  }
  MIXQ_ASSIGN_OR_RETURN(Graph specialised, SpecializeForBatch(graph, options.batch));
  const std::vector<std::string> layer_order = graph.QuantizableLayers();
  const std::set<std::string> layers(layer_order.begin(), layer_order.end());
  ExecutorOptions fp32;
  fp32.threads = options.threads;
  fp32.winograd = options.winograd;
  ExecutorOptions quantised = fp32;
  quantised.quant = spec;
  MIXQ_ASSIGN_OR_RETURN(ModelProfile fp32_profile,
                        ProfileModel(specialised, fp32, layers, options));
  MIXQ_ASSIGN_OR_RETURN(ModelProfile config_profile,
                        ProfileModel(specialised, quantised, layers, options));

  std::vector<std::string> rows;
  rows.push_back(kInputGroup);
  rows.insert(rows.end(), layer_order.begin(), layer_order.end());
  rows.push_back(kOutputGroup);
  LayerProfile profile;
  profile.fp32 = fp32_profile.time;
  profile.config = config_profile.time;
  for (const std::string& row : rows) {
    const GroupTime f = fp32_profile.groups[row];
    const GroupTime c = config_profile.groups[row];
    const bool quantizable = layers.count(row) > 0;
    if (!quantizable && f.total_ms() == 0.0 && c.total_ms() == 0.0) continue;
    LayerTime t;
    t.layer = row;
    t.quantizable = quantizable;
    if (quantizable) {
      auto it = spec.layers.find(row);
      t.precision = PrecisionName(it == spec.layers.end() ? Precision::kFp32 : it->second);
    } else {
      t.precision = "-";
    }
    t.fp32_ms = f.total_ms();
    t.config_ms = c.compute_ms;
    t.reorder_ms = c.reorder_ms;
    profile.layers.push_back(t);
  }
  return profile;
}

nlohmann::json LayerProfileToJson(const LayerProfile& profile) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerTime& t : profile.layers) {
    layers.push_back({{"layer", t.layer},
                      {"quantizable", t.quantizable},
                      {"precision", t.precision},
                      {"fp32_ms", t.fp32_ms},
                      {"config_ms", t.config_ms},
                      {"reorder_ms", t.reorder_ms}});
  }
  auto model = [](const ModelTime& m) {
    return nlohmann::json{
        {"sum_ms", m.sum_ms}, {"whole_ms", m.whole_ms}, {"sum_over_whole", m.SumOverWhole()}};
  };
  return {{"layers", layers}, {"fp32", model(profile.fp32)}, {"config", model(profile.config)}};
}

}  // namespace mixq
