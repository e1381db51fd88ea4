#include "engine/runtime/lower/host_op.h"

#include <omp.h>

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "engine/ops/op_def.h"

namespace mixq {
namespace {

using dnnl::memory;

// Splits a loop over OpenMP's threads (the ones oneDNN uses, so host steps
// and primitives share one thread pool).
class OmpParallelism final : public Parallelism {
 public:
  void For(int64_t n, int64_t grain, const RangeBody& body) const override {
    if (n <= 0) return;
    const int64_t threads = omp_get_max_threads();
    const int64_t chunks =
        std::min<int64_t>(threads, std::max<int64_t>(1, n / std::max<int64_t>(grain, 1)));
    if (chunks <= 1 || omp_in_parallel()) {
      body.Run(0, n);
      return;
    }
#pragma omp parallel for schedule(static) num_threads(static_cast <int>(chunks))
    for (int64_t c = 0; c < chunks; ++c) body.Run(n * c / chunks, n * (c + 1) / chunks);
  }
};

// One node's host kernel with its views prepared at compile time; Execute()
// only refreshes the data pointers from the bound buffers.
class HostKernelStep final : public CustomKernel {
 public:
  HostKernelStep(Node node, HostKernelFn fn) : node_(std::move(node)), fn_(fn) {}

  // Input i reads the buffer bound to DNNL_ARG_MULTIPLE_SRC + i, or
  // `constant` (owned here) when given; absent inputs stay null.
  void AddInput(const ValueInfo& info, bool present, std::unique_ptr<Tensor> constant) {
    ConstView view;
    view.dtype = info.dtype;
    view.shape = info.shape;
    view.size = present ? NumElements(info.shape) : 0;
    if (constant) view.data = constant->raw();
    from_args_.push_back(present && !constant);
    inputs_.push_back(std::move(view));
    constants_.push_back(std::move(constant));
  }
  void AddOutput(const ValueInfo& info) {
    MutView view;
    view.dtype = info.dtype;
    view.shape = info.shape;
    view.size = NumElements(info.shape);
    outputs_.push_back(std::move(view));
  }

  Status Execute(const std::unordered_map<int, memory>& args) override {
    for (size_t i = 0; i < inputs_.size(); ++i) {
      if (from_args_[i]) {
        inputs_[i].data = args.at(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i)).get_data_handle();
      }
    }
    for (size_t i = 0; i < outputs_.size(); ++i) {
      outputs_[i].data = args.at(DNNL_ARG_MULTIPLE_DST + static_cast<int>(i)).get_data_handle();
    }
    return fn_(node_, inputs_, outputs_, parallelism_);
  }

 private:
  Node node_;
  HostKernelFn fn_;
  std::vector<ConstView> inputs_;
  std::vector<bool> from_args_;
  std::vector<std::unique_ptr<Tensor>> constants_;
  std::vector<MutView> outputs_;
  OmpParallelism parallelism_;
};

// Status of a value's info: the graph must know it after specialisation.
StatusOr<ValueInfo> InfoOf(const std::string& value, CompileContext* ctx) {
  const ValueInfo* info = ctx->graph().FindValue(value);
  if (info == nullptr) return Internal("value '" + value + "' has no shape");
  return *info;
}

}  // namespace

bool HasHostKernel(OpType op) {
  const OpDef* def = FindOpDef(op);
  return def != nullptr && def->host != nullptr;
}

bool NeedsHostKernel(const Node& node, const Graph& graph) {
  auto non_f32 = [&](const std::string& value) {
    if (value.empty() || graph.IsConstant(value)) return false;
    const ValueInfo* info = graph.FindValue(value);
    return info != nullptr && info->dtype != DType::kF32;
  };
  return std::any_of(node.inputs.begin(), node.inputs.end(), non_f32) ||
         std::any_of(node.outputs.begin(), node.outputs.end(), non_f32);
}

memory::desc OpaqueDesc(const ValueInfo& info) {
  const int64_t bytes = NumElements(info.shape) * static_cast<int64_t>(DTypeSize(info.dtype));
  return PlainDesc({std::max<int64_t>(bytes, 1)}, memory::data_type::u8);
}

Status LowerHostOp(const Node& node, CompileContext* ctx) {
  const OpDef* def = FindOpDef(node.op);
  if (def == nullptr || def->host == nullptr) {
    return Unimplemented(std::string(OpTypeName(node.op)) + " has no host kernel");
  }
  auto step = std::make_unique<HostKernelStep>(node, def->host);
  std::unordered_map<int, memory> args;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const std::string& name = node.inputs[i];
    if (name.empty()) {
      step->AddInput(ValueInfo{}, false, nullptr);
      continue;
    }
    if (const Tensor* constant = ctx->FindConstant(name)) {
      step->AddInput(ValueInfo{constant->dtype(), constant->shape()}, true,
                     std::make_unique<Tensor>(*constant));
      continue;
    }
    MIXQ_ASSIGN_OR_RETURN(ValueInfo info, InfoOf(name, ctx));
    memory mem;
    if (info.dtype == DType::kF32) {
      MIXQ_ASSIGN_OR_RETURN(memory::dims dims, ctx->Dims(name));
      MIXQ_ASSIGN_OR_RETURN(mem, ctx->ValueAs(name, PlainDesc(dims)));
    } else {
      MIXQ_ASSIGN_OR_RETURN(mem, ctx->Value(name));
    }
    args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i)] = mem;
    step->AddInput(info, true, nullptr);
  }
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    const std::string& name = node.outputs[i];
    if (name.empty()) return Unimplemented("omitted outputs are not supported on host ops");
    MIXQ_ASSIGN_OR_RETURN(ValueInfo info, InfoOf(name, ctx));
    memory mem;
    if (info.dtype == DType::kF32) {
      MIXQ_ASSIGN_OR_RETURN(memory::dims dims, ctx->Dims(name));
      mem = ctx->DefineValue(name, PlainDesc(dims));
    } else {
      mem = ctx->DefineValue(name, OpaqueDesc(info));
    }
    args[DNNL_ARG_MULTIPLE_DST + static_cast<int>(i)] = mem;
    step->AddOutput(info);
  }
  ctx->AddCustomStep("host", std::string("mixq:host:") + OpTypeName(node.op), std::move(step),
                     std::move(args));
  return Status::Ok();
}

Status AddConvertToF32(const std::string& value, const memory& out, CompileContext* ctx) {
  MIXQ_ASSIGN_OR_RETURN(ValueInfo info, InfoOf(value, ctx));
  // Cast's host kernel converts to its output's type (float32 here).
  Node node;
  node.name = value;
  node.op = OpType::kCast;
  node.attrs.Set("to", int64_t{1});  // ONNX FLOAT
  auto step = std::make_unique<HostKernelStep>(node, FindOpDef(OpType::kCast)->host);
  std::unordered_map<int, memory> args{{DNNL_ARG_MULTIPLE_DST, out}};
  if (const Tensor* constant = ctx->FindConstant(value)) {
    step->AddInput(info, true, std::make_unique<Tensor>(*constant));
  } else {
    MIXQ_ASSIGN_OR_RETURN(memory mem, ctx->Value(value));
    args[DNNL_ARG_MULTIPLE_SRC] = mem;
    step->AddInput(info, true, nullptr);
  }
  step->AddOutput(ValueInfo{DType::kF32, info.shape});
  ctx->AddCustomStep("host", "mixq:host:to_f32", std::move(step), std::move(args));
  return Status::Ok();
}

}  // namespace mixq
