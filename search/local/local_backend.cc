#include "search/local/local_backend.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "engine/passes/fusion.h"
#include "engine/passes/specialize.h"
#include "engine/runtime/benchmark.h"
#include "engine/runtime/evaluator.h"
#include "engine/runtime/executor.h"
#include "engine/runtime/input_feed.h"

namespace mixq {

namespace {

double Median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

std::vector<int> AttributeSteps(const SearchSpace& space,
                                const std::vector<std::string>& step_nodes,
                                const std::vector<std::string>& node_order) {
  std::unordered_map<std::string, int> layer_of;
  for (int i = 0; i < space.size(); ++i) layer_of[space.layers[i].name] = i;
  // Each node of the fused graph -> the last layer at or before it.
  std::unordered_map<std::string, int> owner;
  int current = -1;
  for (const std::string& node : node_order) {
    auto it = layer_of.find(node);
    if (it != layer_of.end()) current = it->second;
    owner[node] = current;
  }
  std::vector<int> out;
  for (const std::string& node : step_nodes) {
    auto it = owner.find(node);
    out.push_back(it == owner.end() ? -1 : it->second);
  }
  return out;
}

LocalBackend::LocalBackend(const Graph& graph, const SearchSpace& space,
                           const std::string& model_sha256, Calibration calibration,
                           const Dataset& dataset, LocalBackendOptions options)
    : graph_(graph),
      space_(space),
      model_sha256_(model_sha256),
      calibration_(std::move(calibration)),
      dataset_(dataset),
      options_(std::move(options)) {}

StatusOr<QuantSpec> LocalBackend::SpecOf(const Mask& mask) const {
  return MakeQuantSpec(space_.ToConfig(mask, model_sha256_), calibration_, options_.seven_bit);
}

StatusOr<double> LocalBackend::Accuracy(const Mask& mask, int64_t begin, int64_t count) {
  EvalOptions eval;
  eval.batch = options_.eval_batch;
  eval.begin = begin;
  eval.count = count;
  eval.executor.threads = options_.threads;
  eval.executor.winograd = options_.winograd;
  MIXQ_ASSIGN_OR_RETURN(eval.executor.quant, SpecOf(mask));
  MIXQ_ASSIGN_OR_RETURN(EvalCounts counts, Evaluate(graph_, dataset_, eval));
  return MetricPoints(counts, options_.metric);
}

StatusOr<std::vector<double>> LocalBackend::EvaluateFull(const std::vector<Mask>& masks) {
  std::vector<double> out;
  for (const Mask& m : masks) {
    MIXQ_ASSIGN_OR_RETURN(double acc, Accuracy(m, options_.eval_begin, options_.eval_count));
    if (options_.progress) options_.progress("full evaluation: " + DescribeMask(space_, m));
    out.push_back(acc);
  }
  return out;
}

StatusOr<std::vector<double>> LocalBackend::EvaluateRanking(const std::vector<Mask>& masks) {
  std::vector<double> out;
  if (options_.progress) {
    options_.progress("ranking: " + std::to_string(masks.size()) + " configs on " +
                      std::to_string(options_.ranking_count) + " samples");
  }
  for (const Mask& m : masks) {
    MIXQ_ASSIGN_OR_RETURN(double acc, Accuracy(m, options_.eval_begin, options_.ranking_count));
    out.push_back(acc);
  }
  return out;
}

// Nothing is memoized here, so every round measures anew.
StatusOr<std::vector<double>> LocalBackend::Benchmark(const std::vector<Mask>& masks,
                                                      int /*round*/) {
  std::vector<double> out;
  for (const Mask& m : masks) {
    BenchOptions bench;
    bench.batch = options_.batch;
    bench.executor.threads = options_.threads;
    bench.executor.winograd = options_.winograd;
    bench.min_seconds = options_.bench_seconds;
    MIXQ_ASSIGN_OR_RETURN(bench.executor.quant, SpecOf(m));
    MIXQ_ASSIGN_OR_RETURN(BenchResult r, ::mixq::Benchmark(graph_, bench));
    if (options_.progress) options_.progress("benchmark: " + DescribeMask(space_, m));
    out.push_back(r.latency_ms_median);
  }
  return out;
}

Status LocalBackend::ProfileSteps(const Mask& mask, std::vector<double>* seconds,
                                  std::vector<std::string>* nodes) {
  MIXQ_ASSIGN_OR_RETURN(Graph specialised, SpecializeForBatch(graph_, options_.batch));
  ExecutorOptions executor;
  executor.threads = options_.threads;
  executor.winograd = options_.winograd;
  MIXQ_ASSIGN_OR_RETURN(executor.quant, SpecOf(mask));
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<CompiledModel> model,
                        CompiledModel::Compile(specialised, executor));
  std::vector<Tensor> inputs;
  std::vector<const Tensor*> input_ptrs;
  for (const ValueInfo& info : model->input_infos()) inputs.emplace_back(info.dtype, info.shape);
  constexpr uint32_t kInputSeed = 7919;
  MIXQ_RETURN_IF_ERROR(SyntheticInputs(specialised).Fill(kInputSeed, 0, &inputs));
  for (const Tensor& t : inputs) input_ptrs.push_back(&t);
  std::vector<Tensor> outputs = model->MakeOutputs();
  MIXQ_RETURN_IF_ERROR(model->Run(input_ptrs, &outputs));  // warm-up
  std::vector<std::vector<double>> runs(model->steps().size());
  for (int r = 0; r < std::max(1, options_.profile_runs); ++r) {
    std::vector<double> step_seconds;
    MIXQ_RETURN_IF_ERROR(model->RunProfiled(input_ptrs, &outputs, &step_seconds));
    for (size_t i = 0; i < step_seconds.size(); ++i) runs[i].push_back(step_seconds[i]);
  }
  seconds->clear();
  nodes->clear();
  for (size_t i = 0; i < runs.size(); ++i) {
    seconds->push_back(Median(runs[i]));
    nodes->push_back(model->steps()[i].kind == "reorder" ? "reorder:" + model->steps()[i].node
                                                         : model->steps()[i].node);
  }
  return Status::Ok();
}

StatusOr<ProfileData> LocalBackend::Profile() {
  MIXQ_ASSIGN_OR_RETURN(Graph specialised, SpecializeForBatch(graph_, options_.batch));
  std::vector<std::string> order;
  for (const Node& node : FusePostOps(specialised).nodes) order.push_back(node.name);
  const int n = space_.size();
  ProfileData profile;
  profile.layers.resize(n);
  // All-FP32 and all-INT8 give each layer's time in each precision; the two
  // checkerboards put (almost) every layer on a boundary once as INT8 and
  // once as FP32, which measures the reorders there.
  Mask fp32 = space_.AllFp32(), int8 = space_.AllInt8(), even(n), odd(n);
  for (int i = 0; i < n; ++i) {
    even[i] = i % 2 == 0;
    odd[i] = i % 2 == 1;
  }
  for (const Mask* mask : {&fp32, &int8, &even, &odd}) {
    std::vector<double> seconds;
    std::vector<std::string> nodes;
    MIXQ_RETURN_IF_ERROR(ProfileSteps(*mask, &seconds, &nodes));
    std::vector<std::string> plain;
    for (const std::string& node : nodes) {
      plain.push_back(node.rfind("reorder:", 0) == 0 ? node.substr(8) : node);
    }
    const std::vector<int> layer = AttributeSteps(space_, plain, order);
    const bool uniform = mask == &fp32 || mask == &int8;
    double other = 0.0;
    for (size_t s = 0; s < seconds.size(); ++s) {
      const double ms = seconds[s] * 1e3;
      const bool reorder = nodes[s].rfind("reorder:", 0) == 0;
      const int l = layer[s];
      if (l < 0) {
        if (mask == &fp32) other += ms;
        continue;
      }
      // A reorder labelled with a layer converts that layer's input.
      const bool boundary = reorder && plain[s] == space_.layers[l].name;
      if (boundary && !uniform) {
        (*mask)[l] ? profile.layers[l].quantize_ms += ms : profile.layers[l].dequantize_ms += ms;
      } else if (boundary) {
        continue;  // measured by the checkerboard where the layer is INT8
      } else if (mask == &fp32) {
        profile.layers[l].fp32_ms += ms;
      } else if (mask == &int8) {
        profile.layers[l].int8_ms += ms;
      }
    }
    if (mask == &fp32) profile.other_ms = other;
    if (options_.progress) {
      options_.progress(std::string("profile: ") + (mask == &fp32   ? "fp32"
                                                    : mask == &int8 ? "int8"
                                                    : mask == &even ? "even layers int8"
                                                                    : "odd layers int8"));
    }
  }
  return profile;
}

}  // namespace mixq
