// Runs ops that oneDNN lacks with their host kernels (engine/ops/op_def.h)
// as custom steps: inputs in plain row-major layout, outputs defined plain.
// Values that are not float32 (int64 indices, bool masks) exist only between
// host steps: their buffers are opaque bytes that no primitive reads.
#ifndef MIXQ_ENGINE_RUNTIME_LOWER_HOST_OP_H_
#define MIXQ_ENGINE_RUNTIME_LOWER_HOST_OP_H_

#include <dnnl.hpp>
#include <string>

#include "common/status.h"
#include "engine/ir/graph.h"
#include "engine/runtime/lower/compile_context.h"

namespace mixq {

// True when `op` has a host kernel.
bool HasHostKernel(OpType op);

// Lowers `node` to one custom step running its host kernel.
Status LowerHostOp(const Node& node, CompileContext* ctx);

// True when a node reads or writes a value that is not float32 at run time
// (a constant input does not count): only a host kernel can run it.
bool NeedsHostKernel(const Node& node, const Graph& graph);

// The memory descriptor of a non-float32 value: its bytes, opaque.
dnnl::memory::desc OpaqueDesc(const ValueInfo& info);

// Appends a step converting the non-float32 value `value` to float32 in
// `out` (a plain buffer of the value's dims): graph outputs are float32.
Status AddConvertToF32(const std::string& value, const dnnl::memory& out, CompileContext* ctx);

}  // namespace mixq

#endif  // MIXQ_ENGINE_RUNTIME_LOWER_HOST_OP_H_
