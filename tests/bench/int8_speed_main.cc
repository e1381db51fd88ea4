// int8_speed MODEL.onnx [threads]: FP32 vs all-INT8 throughput at batch 16
// and 1 (minimum and median latency, FP32 and INT8 runs alternating), with
// minmax scales from synthetic inputs (speed does not depend on the values);
// then, per precision and batch, the steps that are reorders or gemm/ref
// implementations and the slowest steps of a profiled run. Set
// ONEDNN_MAX_CPU_ISA to time an older ISA.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "engine/onnx/onnx_importer.h"
#include "engine/passes/specialize.h"
#include "tests/engine/int8_test_util.h"

namespace mixq {
namespace {

int Main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: int8_speed MODEL.onnx [threads]\n");
    return 2;
  }
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  auto graph = ImportOnnx(argv[1]);
  if (!graph.ok()) {
    std::fprintf(stderr, "%s\n", graph.status().ToString().c_str());
    return 1;
  }
  auto calib = SpecializeForBatch(*graph, 4);
  if (!calib.ok()) {
    std::fprintf(stderr, "%s\n", calib.status().ToString().c_str());
    return 1;
  }
  const ValueInfo* in = calib->FindValue(calib->inputs[0]);
  Tensor x(DType::kF32, in->shape);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-2.f, 2.f);
  for (int64_t i = 0; i < x.size(); ++i) x.data<float>()[i] = dist(rng);
  QuantSpec spec = testing::AllInt8(*calib, testing::MinMaxParams(*calib, {&x}));

  std::printf("effective ISA %s, %d threads\n", EffectiveIsaName().c_str(), threads);
  for (int64_t batch : {16, 1}) {
    auto specialised = SpecializeForBatch(*graph, batch);
    if (!specialised.ok()) return 1;
    std::vector<std::unique_ptr<CompiledModel>> models;
    for (int int8 = 0; int8 < 2; ++int8) {
      ExecutorOptions options;
      options.threads = threads;
      if (int8) options.quant = spec;
      auto model = CompiledModel::Compile(*specialised, options);
      if (!model.ok()) {
        std::fprintf(stderr, "%s\n", model.status().ToString().c_str());
        return 1;
      }
      models.push_back(std::move(*model));
    }
    Tensor input(DType::kF32, models[0]->input_infos()[0].shape);
    for (int64_t i = 0; i < input.size(); ++i) input.data<float>()[i] = dist(rng);
    std::vector<Tensor> outputs = models[0]->MakeOutputs();
    // FP32 and INT8 runs alternate so that other load on the machine hits
    // both alike; the minimum is the figure least disturbed by it.
    std::vector<double> ms[2];
    double total = 0;
    for (int i = 0; i < 2 + 5 || total < 8000.0; ++i) {
      for (int m = 0; m < 2; ++m) {
        const auto start = std::chrono::steady_clock::now();
        if (!models[m]->Run({&input}, &outputs).ok()) return 1;
        const double t =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count();
        if (i < 2) continue;  // warm-up
        ms[m].push_back(t);
        total += t;
      }
    }
    for (int m = 0; m < 2; ++m) {
      std::sort(ms[m].begin(), ms[m].end());
      std::printf("batch %2lld %s: min %8.2f ms (%7.2f images/s), median %8.2f ms, %zu runs\n",
                  static_cast<long long>(batch), m ? "int8" : "fp32", ms[m].front(),
                  1000.0 * batch / ms[m].front(), ms[m][ms[m].size() / 2], ms[m].size());
    }
    std::printf("batch %2lld int8/fp32 throughput = %.2fx (min), %.2fx (median)\n",
                static_cast<long long>(batch), ms[0].front() / ms[1].front(),
                ms[0][ms[0].size() / 2] / ms[1][ms[1].size() / 2]);
  }

  for (int64_t batch : {16, 1}) {
    for (const char* precision : {"fp32", "int8"}) {
      auto specialised = SpecializeForBatch(*graph, batch);
      ExecutorOptions options;
      options.threads = threads;
      if (std::string(precision) == "int8") options.quant = spec;
      auto model = CompiledModel::Compile(*specialised, options);
      if (!model.ok()) return 1;
      std::printf("steps of %s at batch %lld:\n", precision, static_cast<long long>(batch));
      std::map<std::string, int> kinds;
      for (const StepInfo& step : (*model)->steps()) {
        ++kinds[step.kind + " " + step.impl];
        if (step.kind == "reorder" || step.impl.find("ref") != std::string::npos ||
            step.impl.find("gemm") != std::string::npos) {
          std::printf("  step %s  %s  %s\n", step.node.c_str(), step.kind.c_str(),
                      step.impl.c_str());
        }
      }
      for (const auto& [kind, count] : kinds) std::printf("  %3d x %s\n", count, kind.c_str());
      // The slowest steps of one profiled run (after a warm-up run).
      Tensor input(DType::kF32, (*model)->input_infos()[0].shape);
      std::vector<Tensor> outputs = (*model)->MakeOutputs();
      std::vector<double> seconds;
      if (!(*model)->Run({&input}, &outputs).ok() ||
          !(*model)->RunProfiled({&input}, &outputs, &seconds).ok()) {
        return 1;
      }
      std::vector<size_t> order(seconds.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::sort(order.begin(), order.end(),
                [&](size_t a, size_t b) { return seconds[a] > seconds[b]; });
      double total = 0;
      for (double t : seconds) total += t;
      std::printf("  profiled total %.2f ms; slowest:\n", 1000 * total);
      for (size_t i = 0; i < std::min<size_t>(4, order.size()); ++i) {
        const StepInfo& step = (*model)->steps()[order[i]];
        std::printf("    %.3f ms  %s  %s  %s\n", 1000 * seconds[order[i]], step.node.c_str(),
                    step.kind.c_str(), step.impl.c_str());
      }
    }
  }
  return 0;
}

}  // namespace
}  // namespace mixq

int main(int argc, char** argv) { return mixq::Main(argc, argv); }
