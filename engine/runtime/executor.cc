#include "engine/runtime/executor.h"

#include <omp.h>

#include <chrono>
#include <dnnl.hpp>
#include <exception>
#include <unordered_set>

#include "common/log.h"
#include "engine/passes/fusion.h"
#include "engine/quant/precision_plan.h"
#include "engine/runtime/lower/compile_context.h"
#include "engine/runtime/lower/host_op.h"
#include "engine/runtime/lower/int8_lowering.h"
#include "engine/runtime/lower/lowering.h"
#include "engine/runtime/memory_limit.h"

namespace mixq {

namespace {

Status FromDnnlError(const dnnl::error& e, const std::string& context) {
  if (e.status == dnnl_unimplemented) {
    return Unimplemented(context + ": oneDNN has no implementation (" + e.what() + ")");
  }
  return Internal(context + ": oneDNN error " + std::to_string(static_cast<int>(e.status)) + " (" +
                  e.what() + ")");
}

bool AcceptsPostOps(OpType op) {
  return IsQuantizable(op) || op == OpType::kAdd || op == OpType::kSub || op == OpType::kMul ||
         op == OpType::kDiv || op == OpType::kIdentity;  // post-op carriers
}

class CompiledModelImpl final : public CompiledModel {
 public:
  const std::vector<std::string>& input_names() const override { return input_names_; }
  const std::vector<std::string>& output_names() const override { return output_names_; }
  const std::vector<ValueInfo>& input_infos() const override { return input_infos_; }
  const std::vector<ValueInfo>& output_infos() const override { return output_infos_; }
  Status Run(const std::vector<const Tensor*>& inputs, std::vector<Tensor>* outputs) override {
    return Execute(inputs, outputs, nullptr);
  }
  Status RunProfiled(const std::vector<const Tensor*>& inputs, std::vector<Tensor>* outputs,
                     std::vector<double>* step_seconds) override;
  const std::vector<StepInfo>& steps() const override { return step_infos_; }

  static StatusOr<std::unique_ptr<CompiledModelImpl>> Build(const Graph& graph,
                                                            const ExecutorOptions& options);

 private:
  Status Lower(const Graph& graph, const std::vector<std::string>& outputs,
               const PrecisionPlan& plan, CompileContext* ctx);
  Status Execute(const std::vector<const Tensor*>& inputs, std::vector<Tensor>* outputs,
                 std::vector<double>* step_seconds);

  int threads_ = 0;
  dnnl::engine engine_;
  dnnl::stream stream_;
  std::vector<std::string> input_names_, output_names_;
  std::vector<ValueInfo> input_infos_, output_infos_;
  std::vector<Step> steps_;
  std::vector<StepInfo> step_infos_;
  std::vector<Tensor> arenas_;
  std::vector<dnnl::memory> viewed_constants_;
  // Views of each graph input / output buffer, rebound to the caller's data.
  std::vector<std::vector<dnnl::memory>> input_views_, output_views_;
};

StatusOr<std::unique_ptr<CompiledModelImpl>> CompiledModelImpl::Build(
    const Graph& graph, const ExecutorOptions& options) {
  auto model = std::make_unique<CompiledModelImpl>();
  model->threads_ = options.threads;
  if (options.threads > 0) omp_set_num_threads(options.threads);
  Graph fused = options.fuse_post_ops ? FusePostOps(graph) : graph;
  try {
    model->engine_ = dnnl::engine(dnnl::engine::kind::cpu, 0);
    model->stream_ = dnnl::stream(model->engine_);
    std::vector<std::string> outputs = fused.outputs;
    for (const std::string& name : options.extra_outputs) {
      if (fused.FindValue(name) == nullptr) {
        return InvalidArgument("extra output '" + name + "' is not a value of the graph");
      }
      outputs.push_back(name);
    }
    // Extra outputs are graph outputs for the compiler too: no lowering may
    // reuse their buffers in place (a residual sum would otherwise write its
    // result over the residual that calibration observes).
    fused.outputs = outputs;
    PrecisionPlan plan;
    if (options.quant.AnyInt8()) {
      MIXQ_ASSIGN_OR_RETURN(plan, PlanPrecision(fused, options.quant, options.extra_outputs));
      // A layer asked for in INT8 that runs FP32 is named, never skipped
      // silently: its speed and accuracy are not what the config says.
      // Said once per process: a search compiles the same model per task.
      for (const auto& [layer, reason] : plan.fp32_fallbacks) {
        WarnOnce((graph.source.empty() ? std::string("model") : graph.source) + ": layer '" +
                 layer + "' stays FP32: " + reason);
      }
    }
    const size_t limit =
        options.max_memory_bytes > 0 ? options.max_memory_bytes : DefaultMemoryLimit();
    const std::string where = graph.source.empty() ? std::string("model") : graph.source;
    StatusOr<size_t> held = CheckMemoryLimit(fused, limit);
    if (!held.ok()) return held.status().WithContext(where);
    CompileContext ctx(fused, model->engine_);
    ctx.set_winograd(options.winograd);
    ctx.set_arena_limit(limit - *held);
    MIXQ_RETURN_IF_ERROR(model->Lower(fused, outputs, plan, &ctx));
    StatusOr<size_t> arena_bytes = ctx.Finish();
    if (!arena_bytes.ok()) {
      return Status(arena_bytes.status().code(), where + ": " + arena_bytes.status().message() +
                                                     " (memory limit " + FormatBytes(limit) +
                                                     "; the largest tensor is " +
                                                     DescribeLargestTensor(fused) + ")");
    }
    model->steps_ = std::move(ctx.steps());
    for (const Step& step : model->steps_) {
      model->step_infos_.push_back({step.node, step.kind, step.impl});
    }
    model->arenas_ = ctx.TakeArenas();
    model->viewed_constants_ = ctx.TakeViewedConstants();
  } catch (const dnnl::error& e) {
    return FromDnnlError(e, graph.source.empty() ? "compile" : graph.source);
  }
  return model;
}

Status CompiledModelImpl::Lower(const Graph& graph, const std::vector<std::string>& graph_outputs,
                                const PrecisionPlan& plan, CompileContext* ctx) {
  std::vector<dnnl::memory> inputs;
  for (const std::string& name : graph.inputs) {
    const ValueInfo* info = graph.FindValue(name);
    if (info == nullptr) return InvalidArgument("graph input '" + name + "' has no shape");
    MIXQ_ASSIGN_OR_RETURN(dnnl::memory::dims dims, ctx->Dims(name));
    // Other element types are opaque bytes that only host kernels read.
    inputs.push_back(
        ctx->DefineInput(name, info->dtype == DType::kF32 ? PlainDesc(dims) : OpaqueDesc(*info)));
    input_names_.push_back(name);
    input_infos_.push_back(*info);
  }
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& node = graph.nodes[i];
    const std::string where = "node '" + node.name + "' (" + OpTypeName(node.op) + ")";
    const bool int8 = plan.IsInt8Node(node.name);
    // A value that is not float32 is opaque bytes to oneDNN: only host
    // kernels compute on it (Reshape aliases its buffer).
    const bool host_only = NeedsHostKernel(node, graph);
    const bool aliases = node.op == OpType::kReshape || node.op == OpType::kFlatten ||
                         node.op == OpType::kSqueeze || node.op == OpType::kUnsqueeze;
    if (host_only && !aliases && (!HasHostKernel(node.op) || int8 || !node.post_ops.empty())) {
      return Unimplemented(where + ": reads or writes a value that is not float32, which only " +
                           "a host kernel computes on (this op has none, or runs fused or INT8)");
    }
    LowerFn lower = host_only && !aliases ? LowerHostOp : FindLowering(node.op);
    Int8LowerFn lower_int8 = int8 ? FindInt8Lowering(node.op) : nullptr;
    if (lower == nullptr || (int8 && lower_int8 == nullptr)) {
      return Unimplemented(where + ": op not supported by the executor" + (int8 ? " in INT8" : ""));
    }
    if (!node.post_ops.empty() && !AcceptsPostOps(node.op)) {
      return Unimplemented(where + ": post-ops on this op");
    }
    ctx->set_current_node(i);
    try {
      Status status = int8 ? lower_int8(node, plan, ctx) : lower(node, ctx);
      if (!status.ok()) return status.WithContext(where);
    } catch (const dnnl::error& e) {
      return FromDnnlError(e, where);
    } catch (const std::exception& e) {
      return Internal(where + ": " + e.what());
    }
  }
  std::vector<dnnl::memory> outputs;
  for (const std::string& name : graph_outputs) {
    const ValueInfo* info = graph.FindValue(name);
    if (info == nullptr) return InvalidArgument("graph output '" + name + "' has no shape");
    MIXQ_ASSIGN_OR_RETURN(dnnl::memory::dims dims, ctx->Dims(name));
    ctx->set_step_label("output '" + name + "'");
    dnnl::memory value;
    if (info->dtype == DType::kF32) {
      MIXQ_ASSIGN_OR_RETURN(value, ctx->Value(name));
    }
    dnnl::memory out = ctx->NewOutput(PlainDesc(dims));
    try {
      if (info->dtype != DType::kF32) {
        MIXQ_RETURN_IF_ERROR(AddConvertToF32(name, out, ctx));
      } else {
        ctx->AddReorder(value, out);
      }
    } catch (const dnnl::error& e) {
      return FromDnnlError(e, "graph output '" + name + "'");
    }
    outputs.push_back(out);
    output_names_.push_back(name);
    output_infos_.push_back({DType::kF32, info->shape});
  }
  for (const dnnl::memory& m : inputs) input_views_.push_back(ctx->ExternalViews(m));
  for (const dnnl::memory& m : outputs) output_views_.push_back(ctx->ExternalViews(m));
  return Status::Ok();
}

Status CompiledModelImpl::RunProfiled(const std::vector<const Tensor*>& inputs,
                                      std::vector<Tensor>* outputs,
                                      std::vector<double>* step_seconds) {
  if (step_seconds == nullptr) return InvalidArgument("RunProfiled: step_seconds is null");
  step_seconds->assign(steps_.size(), 0.0);
  return Execute(inputs, outputs, step_seconds);
}

Status CompiledModelImpl::Execute(const std::vector<const Tensor*>& inputs,
                                  std::vector<Tensor>* outputs, std::vector<double>* step_seconds) {
  if (inputs.size() != input_infos_.size()) {
    return InvalidArgument("Run: expected " + std::to_string(input_infos_.size()) +
                           " inputs, got " + std::to_string(inputs.size()));
  }
  if (outputs == nullptr || outputs->size() != output_infos_.size()) {
    return InvalidArgument("Run: outputs must come from MakeOutputs()");
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor* t = inputs[i];
    if (t == nullptr || t->dtype() != input_infos_[i].dtype ||
        t->shape() != input_infos_[i].shape) {
      return InvalidArgument("Run: input '" + input_names_[i] + "' must be " +
                             DTypeName(input_infos_[i].dtype) +
                             ShapeToString(input_infos_[i].shape));
    }
    for (const dnnl::memory& m : input_views_[i]) {
      m.set_data_handle(const_cast<void*>(t->raw()));
    }
  }
  for (size_t i = 0; i < outputs->size(); ++i) {
    Tensor& t = (*outputs)[i];
    if (t.dtype() != output_infos_[i].dtype || t.shape() != output_infos_[i].shape) {
      return InvalidArgument("Run: output '" + output_names_[i] + "' must be " +
                             DTypeName(output_infos_[i].dtype) +
                             ShapeToString(output_infos_[i].shape));
    }
    for (const dnnl::memory& m : output_views_[i]) m.set_data_handle(t.raw());
  }
  if (threads_ > 0 && omp_get_max_threads() != threads_) omp_set_num_threads(threads_);
  // The C API takes the argument array built at compile time, so the hot
  // path allocates nothing (the C++ execute() builds a vector per call).
  using Clock = std::chrono::steady_clock;
  for (size_t i = 0; i < steps_.size(); ++i) {
    const Step& step = steps_[i];
    const Clock::time_point start = step_seconds ? Clock::now() : Clock::time_point();
    if (step.custom != nullptr) {
      Status status = step.custom->Execute(step.args);
      // The kernel's own code: a host kernel refuses what the model or its
      // inputs got wrong (an index out of range) as the caller's error.
      if (!status.ok()) {
        return Status(status.code(),
                      "Run: " + step.kind + " of '" + step.node + "': " + status.message());
      }
    } else if (dnnl_status_t status =
                   dnnl_primitive_execute(step.primitive.get(), stream_.get(),
                                          static_cast<int>(step.c_args.size()), step.c_args.data());
               status != dnnl_success) {
      return Internal("Run: " + step.kind + " of '" + step.node + "' failed with oneDNN status " +
                      std::to_string(static_cast<int>(status)));
    }
    if (step_seconds) {
      if (dnnl_stream_wait(stream_.get()) != dnnl_success)
        return Internal("Run: stream wait failed");
      (*step_seconds)[i] = std::chrono::duration<double>(Clock::now() - start).count();
    }
  }
  if (dnnl_stream_wait(stream_.get()) != dnnl_success) return Internal("Run: stream wait failed");
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<CompiledModel>> CompiledModel::Compile(const Graph& graph,
                                                                const ExecutorOptions& options) {
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<CompiledModelImpl> model,
                        CompiledModelImpl::Build(graph, options));
  return std::unique_ptr<CompiledModel>(std::move(model));
}

std::vector<std::string> CompiledModel::Describe() const {
  std::vector<std::string> lines;
  for (const StepInfo& step : steps()) {
    lines.push_back(step.node + "  " + step.kind + "  " + step.impl);
  }
  return lines;
}

std::vector<std::string> CalibrationPoints(const Graph& graph, const ExecutorOptions& options) {
  const Graph fused = options.fuse_post_ops ? FusePostOps(graph) : graph;
  std::vector<std::string> points;
  std::unordered_set<std::string> seen;
  auto add = [&](const std::string& name) {
    const ValueInfo* info = fused.FindValue(name);
    if (info != nullptr && info->dtype == DType::kF32 && !fused.IsConstant(name) &&
        seen.insert(name).second) {
      points.push_back(name);
    }
  };
  for (const std::string& name : fused.inputs) add(name);
  for (const Node& node : fused.nodes) {
    for (const std::string& name : node.outputs) add(name);
  }
  return points;
}

std::vector<Tensor> CompiledModel::MakeOutputs() const {
  std::vector<Tensor> outputs;
  for (const ValueInfo& info : output_infos()) outputs.emplace_back(info.dtype, info.shape);
  return outputs;
}

std::string EffectiveIsaName() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41:
      return "sse41";
    case dnnl::cpu_isa::avx:
      return "avx";
    case dnnl::cpu_isa::avx2:
      return "avx2";
    case dnnl::cpu_isa::avx2_vnni:
      return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic:
      return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops:
      return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core:
      return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx:
      return "avx512_core_amx";
    case dnnl::cpu_isa::all:
      return "all";
  }
  return "unknown";
}

}  // namespace mixq
