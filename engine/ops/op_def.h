// Op definitions for the ops that live outside the core passes: for each, a
// shape rule (what shape_inference.cc's own rules do for the core ops) and a
// host kernel, a reference implementation on plain row-major buffers. The
// same host kernel folds the op at load time when its inputs are constants
// (constant_folding.cc) and runs it inside the executor when no oneDNN
// primitive does the op (runtime/lower/host_op.cc), so an op defined here
// works on shape sub-graphs and on runtime data alike.
//
// One file per op family (elementwise.cc, reduce.cc, data_movement.cc, ...);
// op_registry.cc maps an OpType to its family's OpDef.
#ifndef MIXQ_ENGINE_OPS_OP_DEF_H_
#define MIXQ_ENGINE_OPS_OP_DEF_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/tensor.h"
#include "engine/ir/graph.h"

namespace mixq {

// What a shape rule sees: the node (whose attributes it may normalise, and
// whose constant inputs it may move into attributes), its inputs' infos and
// constants, and helpers whose errors name the file and the node.
class ShapeContext {
 public:
  // `concrete`: every input shape is known and the rule must find the
  // outputs' (see InferNodeShapes()).
  ShapeContext(Graph* graph, Node* node, bool concrete);

  Node& node() { return node_; }
  const Node& node() const { return node_; }
  Attributes& attrs() { return node_.attrs; }
  bool concrete() const { return concrete_; }
  const Graph& graph() const { return graph_; }

  // Inputs, trailing omitted ones included ("" names).
  size_t num_inputs() const { return node_.inputs.size(); }
  bool HasInput(size_t i) const { return i < node_.inputs.size() && !node_.inputs[i].empty(); }
  const ValueInfo& Input(size_t i) const;
  const Shape& InShape(size_t i) const { return Input(i).shape; }
  DType InType(size_t i) const { return Input(i).dtype; }
  // The constant behind input i, or nullptr (absent or computed at run time).
  const Tensor* Constant(size_t i) const;
  void SetOutput(size_t i, DType dtype, Shape shape);

  Status Invalid(const std::string& reason) const;
  Status Unsupported(const std::string& reason) const;
  // Where an output cannot be known yet: false while shapes are symbolic,
  // InvalidArgument once they must be concrete.
  StatusOr<bool> NotYet(const std::string& reason) const;
  // Checks the count of non-omitted inputs (trailing "" do not count) and
  // that the first `min_count` are present.
  Status ExpectInputs(size_t min_count, size_t max_count) const;
  Status ExpectOutputs(size_t min_count, size_t max_count) const;
  // axis in [-rank, rank) made non-negative; InvalidArgument naming `what`.
  StatusOr<int64_t> NormalizeAxis(int64_t axis, int64_t rank, const std::string& what) const;
  // The integers of constant input i (e.g. axes, pads); NotYet when it is not
  // constant (yet).
  StatusOr<bool> IntsOfInput(size_t i, std::vector<int64_t>* out) const;

 private:
  Graph& graph_;
  Node& node_;
  bool concrete_;
};

// A shape rule: writes the outputs' infos with SetOutput() and returns true,
// or false while they cannot be known yet (see ShapeContext::NotYet).
using ShapeRuleFn = StatusOr<bool> (*)(ShapeContext& ctx);

// Plain row-major views of a node's inputs and outputs for a host kernel.
// An omitted optional input has data == nullptr.
struct ConstView {
  DType dtype = DType::kF32;
  Shape shape;
  int64_t size = 0;  // elements
  const void* data = nullptr;
  template <typename T>
  const T* as() const {
    return static_cast<const T*>(data);
  }
};
struct MutView {
  DType dtype = DType::kF32;
  Shape shape;
  int64_t size = 0;
  void* data = nullptr;
  template <typename T>
  T* as() const {
    return static_cast<T*>(data);
  }
};

// The body of a parallel loop over index ranges.
class RangeBody {
 public:
  virtual void Run(int64_t begin, int64_t end) const = 0;

 protected:
  ~RangeBody() = default;
};

// How a host kernel may spread a loop over threads: the executor passes an
// OpenMP one, constant folding (in a library without OpenMP) a serial one.
class Parallelism {
 public:
  virtual ~Parallelism() = default;
  // Calls body.Run over disjoint ranges covering [0, n), each at least
  // `grain` long where n allows, possibly at once on several threads.
  virtual void For(int64_t n, int64_t grain, const RangeBody& body) const = 0;
};

// Runs every range on the calling thread.
class SerialParallelism final : public Parallelism {
 public:
  void For(int64_t n, int64_t grain, const RangeBody& body) const override;
};

// ParallelFor(par, n, grain, [&](int64_t begin, int64_t end) { ... }).
template <typename F>
void ParallelFor(const Parallelism& par, int64_t n, int64_t grain, F&& f) {
  class Body final : public RangeBody {
   public:
    explicit Body(F& f) : f_(f) {}
    void Run(int64_t begin, int64_t end) const override { f_(begin, end); }

   private:
    F& f_;
  };
  Body body(f);
  par.For(n, grain, body);
}

// A host kernel: computes the outputs (buffers sized by the shape rule) from
// the inputs. Must not allocate per call where the executor runs it on a hot
// path (large ops); small scratch vectors are tolerated for rare ops.
using HostKernelFn = Status (*)(const Node& node, const std::vector<ConstView>& inputs,
                                const std::vector<MutView>& outputs, const Parallelism& par);

struct OpDef {
  ShapeRuleFn shape = nullptr;
  HostKernelFn host = nullptr;  // nullptr: only a oneDNN lowering runs it
};

// The definition of `op`, or nullptr for ops the core passes handle
// themselves (Conv, Gemm, Reshape, ...).
const OpDef* FindOpDef(OpType op);

// Views of whole tensors, for constant folding and tests.
ConstView ViewOf(const Tensor& tensor);
MutView MutViewOf(Tensor* tensor);

// Runs `node`'s host kernel on constant inputs; outputs are allocated from
// `output_infos` (one per node output). For folding and tests.
StatusOr<std::vector<Tensor>> RunHostKernel(const Node& node,
                                            const std::vector<const Tensor*>& inputs,
                                            const std::vector<ValueInfo>& output_infos,
                                            const Parallelism& par);

}  // namespace mixq

#endif  // MIXQ_ENGINE_OPS_OP_DEF_H_
