// The state shared by the per-op lowerings while a graph is compiled: the
// oneDNN engine, a value -> memory map (each value in the layout its producer
// chose), cached layout conversions, constants reordered once, and the list
// of steps (primitive + bound arguments) that Run() replays.
//
// Intermediate memories are created without storage; Finish() plans their
// lifetimes over the step list, packs buffers whose lifetimes do not overlap
// into shared arenas and binds the arenas. Buffers of graph inputs and outputs
// are "external": Run() binds the caller's tensors to them.
//
// Lowerings for new precisions (INT8) reuse this: a value's memory carries
// its data type in its descriptor, and ValueAs() converts between layouts and
// types with a reorder where a consumer needs another one.
#ifndef MIXQ_ENGINE_RUNTIME_LOWER_COMPILE_CONTEXT_H_
#define MIXQ_ENGINE_RUNTIME_LOWER_COMPILE_CONTEXT_H_

#include <dnnl.h>

#include <cstdint>
#include <dnnl.hpp>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/tensor.h"
#include "engine/ir/graph.h"

namespace mixq {

// A computation mixq runs itself in place of a oneDNN primitive (Winograd
// convolution). Execute() reads and writes the buffers bound in the step's
// arguments (DNNL_ARG_* keys, as a primitive would) and allocates nothing.
class CustomKernel {
 public:
  virtual ~CustomKernel() = default;
  virtual Status Execute(const std::unordered_map<int, dnnl::memory>& args) = 0;
};

// One primitive execution with its arguments bound at compile time.
struct Step {
  std::string node;           // graph node the step belongs to
  std::string kind;           // "convolution", "reorder", ...
  std::string impl;           // oneDNN implementation name, or mixq's for a custom kernel
  dnnl::primitive primitive;  // empty when `custom` runs instead
  std::unique_ptr<CustomKernel> custom;
  std::unordered_map<int, dnnl::memory> args;  // keeps the memories alive
  std::vector<dnnl_exec_arg_t> c_args;         // filled by Finish(); no allocation at run
};

// Plain row-major descriptor of `dims`.
dnnl::memory::desc PlainDesc(const dnnl::memory::dims& dims,
                             dnnl::memory::data_type type = dnnl::memory::data_type::f32);
// `dims` in the layout of `like` (same rank and data type): plain,
// channels-last or blocked by 4, 8 or 16 channels; plain when `like` has
// another layout. E.g. a per-channel [N, C, 1, 1] operand laid out like the
// blocked [N, C, H, W] tensor it scales, which oneDNN's binary kernels need
// to broadcast it without falling to the reference implementation.
dnnl::memory::desc LayoutLike(const dnnl::memory::desc& like, const dnnl::memory::dims& dims);
// Graph shape to oneDNN dims; a scalar becomes {1}.
dnnl::memory::dims ToDims(const Shape& shape);

class CompileContext {
 public:
  CompileContext(const Graph& graph, const dnnl::engine& engine);

  const Graph& graph() const { return graph_; }
  const dnnl::engine& engine() const { return engine_; }
  // Index of the node being lowered (set by the compiler loop).
  void set_current_node(size_t index) {
    current_node_ = index;
    step_label_ = graph_.nodes[index].name;
  }
  // Names the steps added next when they belong to no node (graph outputs).
  void set_step_label(const std::string& label) { step_label_ = label; }
  const Node& current_node() const { return graph_.nodes[current_node_]; }

  // Concrete dims of a value; InvalidArgument when unknown.
  StatusOr<dnnl::memory::dims> Dims(const std::string& value) const;
  const Tensor* FindConstant(const std::string& value) const;

  // The memory of a value: a graph input, a node output, or a constant
  // (materialised in plain layout on first use).
  StatusOr<dnnl::memory> Value(const std::string& value);
  // The value in layout `desc`: the value's memory itself when it already has
  // that layout, otherwise a converted copy made by a reorder step added the
  // first time a consumer asks (shared by later consumers).
  StatusOr<dnnl::memory> ValueAs(const std::string& value, const dnnl::memory::desc& desc);
  // The same with the values multiplied by `scale` on the way (a quantising
  // or requantising reorder at a precision boundary). The cache is keyed by
  // layout and type only: a value converts to one INT8 type with one scale.
  StatusOr<dnnl::memory> ValueAs(const std::string& value, const dnnl::memory::desc& desc,
                                 float scale);
  StatusOr<dnnl::memory> PlainValue(const std::string& value);

  // Defines `value` as a new buffer of layout `desc`.
  dnnl::memory DefineValue(const std::string& value, const dnnl::memory::desc& desc);
  // Defines `value` as another view of `of`'s buffer (same byte size).
  dnnl::memory DefineAlias(const std::string& value, const dnnl::memory::desc& desc,
                           const dnnl::memory& of);
  // Defines `value` as `memory` itself (an in-place result).
  void DefineSame(const std::string& value, const dnnl::memory& memory);
  // Another view of `of`'s storage with layout `desc` (same byte size), not
  // bound to a value: e.g. a transposed or rank-padded reading of a tensor.
  dnnl::memory View(const dnnl::memory& of, const dnnl::memory::desc& desc);
  // A buffer not bound to a value (scratch results inside one node).
  dnnl::memory NewBuffer(const dnnl::memory::desc& desc);
  // True when the current node may overwrite `value`'s buffer: the value has
  // no consumers after the current node, is not a graph input or output and
  // its buffer is not shared with another value.
  bool CanOverwrite(const std::string& value) const;

  // A constant in layout `desc`, reordered now from the f32 (or int8) tensor whose
  // bytes `tensor_desc` describes (plain dims, or strides for a transposed
  // reading). The result owns its storage.
  StatusOr<dnnl::memory> ConstantAs(const Tensor& tensor, const dnnl::memory::desc& tensor_desc,
                                    const dnnl::memory::desc& desc);

  // Appends a step for the current node; `impl` from the primitive descriptor.
  void AddStep(const std::string& kind, const dnnl::primitive& primitive, const std::string& impl,
               std::unordered_map<int, dnnl::memory> args);
  // Appends a step that runs `kernel` instead of a primitive.
  void AddCustomStep(const std::string& kind, const std::string& impl,
                     std::unique_ptr<CustomKernel> kernel,
                     std::unordered_map<int, dnnl::memory> args);
  // Scratch floats shared by the custom kernels of this model: they run one
  // after another, so one buffer serves all. Grown here to at least `floats`;
  // kernels read its data() when they run, after the last growth.
  std::shared_ptr<std::vector<float>> SharedScratch(size_t floats);

  // Whether FP32 3x3 convolutions may use mixq's Winograd kernel.
  bool winograd() const { return winograd_; }
  void set_winograd(bool on) { winograd_ = on; }

  // Appends a reorder src -> dst step; dst = scale * src.
  void AddReorder(const dnnl::memory& src, const dnnl::memory& dst, float scale = 1.f);

  // External buffers: graph inputs (plain, defined as values) and graph
  // outputs (plain copies of the values). Their views are rebound per run.
  dnnl::memory DefineInput(const std::string& value, const dnnl::memory::desc& desc);
  dnnl::memory NewOutput(const dnnl::memory::desc& desc);
  const std::vector<dnnl::memory>& ExternalViews(const dnnl::memory& memory) const;

  // The most bytes Finish() may allocate for arenas (no limit unless set).
  void set_arena_limit(size_t bytes) { arena_limit_ = bytes; }

  // Plans intermediate lifetimes and binds arena storage; fills Step::c_args.
  // Returns the arena bytes; InvalidArgument, before allocating, when they
  // would exceed the arena limit.
  StatusOr<size_t> Finish();

  std::vector<Step>& steps() { return steps_; }
  // The arena storage Finish() allocated, and the constant memories that
  // views point into; the compiled model keeps both alive.
  std::vector<Tensor> TakeArenas() { return std::move(arenas_); }
  std::vector<dnnl::memory> TakeViewedConstants() { return std::move(viewed_constants_); }

 private:
  struct Buffer {
    size_t bytes = 0;
    bool external = false;
    std::vector<dnnl::memory> views;
    int first = -1;  // first and last step using it
    int last = -1;
  };
  int NewBufferId(const dnnl::memory& memory, bool external);

  const Graph& graph_;
  dnnl::engine engine_;
  dnnl::stream stream_;  // for compile-time constant reorders
  size_t current_node_ = 0;
  std::string step_label_;
  std::unordered_map<std::string, int> last_consumer_;  // value -> last node index
  std::unordered_map<std::string, dnnl::memory> values_;
  // Layout conversions made so far, per value.
  std::unordered_map<std::string, std::vector<dnnl::memory>> converted_;
  std::vector<Buffer> buffers_;
  std::unordered_map<dnnl_memory_t, int> buffer_of_;
  std::vector<Step> steps_;
  std::shared_ptr<std::vector<float>> shared_scratch_;
  bool winograd_ = true;
  size_t arena_limit_ = SIZE_MAX;
  std::vector<Tensor> arenas_;
  std::vector<dnnl::memory> viewed_constants_;
};

}  // namespace mixq

#endif  // MIXQ_ENGINE_RUNTIME_LOWER_COMPILE_CONTEXT_H_
