// Compiles a specialised graph into oneDNN primitives for one batch size and
// runs it. Compilation does all the work that can be done once - primitive
// descriptors, primitives, reordered weights, intermediate buffers - so that
// Run() allocates no buffers (oneDNN makes only small per-call bookkeeping
// allocations): it reorders the inputs in, executes the primitive list and
// reorders the outputs out.
//
// Layout policy: convolution and inner-product tensors use format_tag::any and
// keep the layout oneDNN picks (blocked, e.g. nChw8c, or channels-last) from
// layer to layer; a grouped convolution keeps its source's layout where a jit
// kernel runs it (oneDNN's own pick often differs from its neighbours');
// element-wise, binary, pooling and concat follow their producer's layout,
// and a per-channel operand of a binary op (a squeeze-excitation scale
// [N,C,1,1]) is read in the layout of the tensor it scales; a reorder is
// inserted only where a consumer needs another layout (Reshape, Transpose,
// Softmax, graph outputs) or at the graph inputs.
//
// Fusion (engine/passes/fusion.h): ReLU/Clip/other eltwise after
// Conv/Gemm/MatMul become post-ops, and so do SiLU (x * Sigmoid(x)) and
// HardSwish as exporters write it; a residual Add whose other operand is
// ready becomes a sum post-op.
//
// Precision: with INT8 layers in ExecutorOptions::quant, PlanPrecision()
// (precision_plan.h) decides per node and value of the fused graph what runs
// and is stored in INT8, and the INT8 lowerings (lower/int8_lowering.h) hand
// u8/s8 tensors from layer to layer; reorders with scales appear only where
// an INT8 layer reads an f32 value (its source or a fused residual) and where
// a Concat requantises an input to its output's scale. An INT8 layer feeding
// f32 consumers writes f32 itself.
//
// A CompiledModel is not thread-safe: one Run() at a time. oneDNN's OpenMP
// threads do the parallel work.
#ifndef MIXQ_ENGINE_RUNTIME_EXECUTOR_H_
#define MIXQ_ENGINE_RUNTIME_EXECUTOR_H_

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/tensor.h"
#include "engine/ir/graph.h"
#include "engine/quant/quant_spec.h"

namespace mixq {

struct ExecutorOptions {
  // OpenMP threads for oneDNN; 0 leaves the runtime's default (all cores).
  int threads = 0;
  // Fuse eltwise and residual-sum post-ops (off only for debugging/tests).
  bool fuse_post_ops = true;
  // FP32 3x3 stride-1 convolutions by mixq's Winograd F(4x4, 3x3) kernel
  // where it applies (engine/runtime/lower/conv_winograd.cc); off: oneDNN's direct
  // convolution everywhere.
  bool winograd = true;
  // Layer precisions and activation scales; empty = every layer FP32.
  QuantSpec quant;
  // Values of the fused graph (CalibrationPoints()) made extra float32
  // outputs after the graph's own, in this order: calibration observes them.
  std::vector<std::string> extra_outputs;
  // The most bytes the compiled model's tensors may take (constants, graph
  // inputs and outputs, activation arenas; memory_limit.h); 0 means
  // DefaultMemoryLimit(), half of physical memory. Compile() refuses a
  // model over it with InvalidArgument naming the largest tensor, before
  // allocating it.
  size_t max_memory_bytes = 0;
};

// One step of a compiled model: a primitive execution, labelled by the node
// it belongs to (or "output '<name>'" for the reorders to graph outputs).
struct StepInfo {
  std::string node;
  std::string kind;  // "convolution", "reorder", "pooling", ...
  std::string impl;  // oneDNN's implementation name
};

class CompiledModel {
 public:
  // `graph` must be specialised (Specialize()). Fails with Unimplemented
  // naming the node when an op or dtype cannot be compiled, InvalidArgument
  // when its tensors need more than options.max_memory_bytes.
  static StatusOr<std::unique_ptr<CompiledModel>> Compile(const Graph& graph,
                                                          const ExecutorOptions& options);
  virtual ~CompiledModel() = default;

  // Names, dtypes and shapes of the graph inputs and outputs, in order.
  virtual const std::vector<std::string>& input_names() const = 0;
  virtual const std::vector<std::string>& output_names() const = 0;
  virtual const std::vector<ValueInfo>& input_infos() const = 0;
  virtual const std::vector<ValueInfo>& output_infos() const = 0;

  // Tensors of the right dtype and shape for Run()'s outputs; allocate once.
  std::vector<Tensor> MakeOutputs() const;

  // Runs the model. `inputs` must match input_infos() in order, dtype and
  // shape; `outputs` must come from MakeOutputs(). Allocates no buffers.
  virtual Status Run(const std::vector<const Tensor*>& inputs, std::vector<Tensor>* outputs) = 0;

  // Run() that also measures each step's wall time (seconds, in steps()
  // order) with a stream wait after each step. Slower than Run(): for
  // profiling only.
  virtual Status RunProfiled(const std::vector<const Tensor*>& inputs, std::vector<Tensor>* outputs,
                             std::vector<double>* step_seconds) = 0;

  // The steps Run() executes, in order.
  virtual const std::vector<StepInfo>& steps() const = 0;

  // One line per primitive (node name, primitive kind, oneDNN implementation)
  // for logs and `mixq profile`.
  std::vector<std::string> Describe() const;
};

// The values of `graph` (specialised) whose statistics calibration collects:
// the graph inputs and every float32 output of a node of the graph after the
// executor's fusion pass (so a Conv fused with its ReLU is observed after the
// ReLU, as INT8 execution writes it). Topological order.
std::vector<std::string> CalibrationPoints(const Graph& graph, const ExecutorOptions& options);

// oneDNN's effective ISA as a short name ("avx2", "avx512_core_vnni", ...).
// Note: calling it locks oneDNN's ISA cap (see isa.h when it exists).
std::string EffectiveIsaName();

}  // namespace mixq

#endif  // MIXQ_ENGINE_RUNTIME_EXECUTOR_H_
