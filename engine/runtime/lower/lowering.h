// Per-op lowerings: each turns one node of a specialised graph into oneDNN
// primitives appended to a CompileContext, reading its inputs with
// ctx->Value()/ValueAs() and defining its outputs. One op family per file
// (conv.cc, gemm.cc, pool.cc, ...). A new precision (INT8) adds its own
// lowering for a family and FindLowering() picks it per node.
//
// A lowering may throw dnnl::error; the compiler catches it and names the node.
#ifndef MIXQ_ENGINE_RUNTIME_LOWER_LOWERING_H_
#define MIXQ_ENGINE_RUNTIME_LOWER_LOWERING_H_

#include "common/status.h"
#include "common/tensor.h"
#include "engine/ir/graph.h"
#include "engine/runtime/lower/compile_context.h"

namespace mixq {

using LowerFn = Status (*)(const Node& node, CompileContext* ctx);

// The FP32 lowering of `op`, or nullptr when the executor has none.
LowerFn FindLowering(OpType op);

Status LowerConv(const Node& node, CompileContext* ctx);           // conv.cc
Status LowerConvTranspose(const Node& node, CompileContext* ctx);  // conv_transpose.cc
Status LowerEinsum(const Node& node, CompileContext* ctx);         // einsum.cc
Status LowerGemm(const Node& node, CompileContext* ctx);           // gemm.cc
Status LowerMatMul(const Node& node, CompileContext* ctx);         // gemm.cc
Status LowerBatchNorm(const Node& node, CompileContext* ctx);      // batchnorm.cc
Status LowerEltwise(const Node& node, CompileContext* ctx);        // eltwise.cc
Status LowerBinary(const Node& node, CompileContext* ctx);         // binary.cc
// Min/Max/Sum/Mean: LowerBinary for two inputs, the host kernel otherwise.
Status LowerVariadic(const Node& node, CompileContext* ctx);   // binary.cc
Status LowerPow(const Node& node, CompileContext* ctx);        // eltwise.cc
Status LowerPRelu(const Node& node, CompileContext* ctx);      // prelu.cc
Status LowerPool(const Node& node, CompileContext* ctx);       // pool.cc
Status LowerReshape(const Node& node, CompileContext* ctx);    // layout.cc
Status LowerTranspose(const Node& node, CompileContext* ctx);  // layout.cc
Status LowerConcat(const Node& node, CompileContext* ctx);     // layout.cc
// Softmax and LogSoftmax.
Status LowerSoftmax(const Node& node, CompileContext* ctx);    // softmax.cc
Status LowerReduce(const Node& node, CompileContext* ctx);     // reduce.cc
Status LowerLayerNorm(const Node& node, CompileContext* ctx);  // normalization.cc
Status LowerLrn(const Node& node, CompileContext* ctx);        // normalization.cc
Status LowerResize(const Node& node, CompileContext* ctx);     // resize.cc
Status LowerSlice(const Node& node, CompileContext* ctx);      // slice_split.cc
Status LowerSplit(const Node& node, CompileContext* ctx);      // slice_split.cc

// A MatMul's operands and result as oneDNN's matmul reads them: numpy's 1-D
// operands made 2-D (a row A, a column B), leading 1s up to one rank (the
// batch dims then broadcast), the result `dst`; `y` is the output value's
// own dims (without the 1-D operands' dims). Defined in gemm.cc.
struct MatMulDims {
  dnnl::memory::dims a, b, dst, y;
};
StatusOr<MatMulDims> BroadcastMatMulDims(const Node& node, CompileContext* ctx);
// The matmul's destination buffer (dims.dst, plain, of `type`), defined as
// the node's output value (an alias in dims.y). Defined in gemm.cc.
dnnl::memory DefineMatMulOutput(const Node& node, const MatMulDims& dims,
                                dnnl::memory::data_type type, CompileContext* ctx);

// `tensor` (float32) times `factor`, as a new tensor: how the FP32 and the
// INT8 Gemm fold alpha and beta into a constant B and C. Defined in gemm.cc.
Tensor Scaled(const Tensor& tensor, float factor);

}  // namespace mixq

#endif  // MIXQ_ENGINE_RUNTIME_LOWER_LOWERING_H_
