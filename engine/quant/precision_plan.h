// Precision assignment: decides, at compile time and for the fused graph,
// which nodes compute in INT8 and which values are stored as INT8 (u8 when
// their quantisation parameters are unsigned, s8 otherwise), so that INT8
// regions stay INT8 and reorders happen only at FP32 <-> INT8 boundaries.
//
// Rules:
// 1. An INT8 layer is a quantizable node (Conv and ConvTranspose with
//    constant weights and bias, a ConvTranspose without negative begin pads;
//    Gemm that runs as an inner product: constant B, no transA, C absent or
//    a constant row; MatMul with a constant B of rank >= 2, or with A and B
//    both computed at run time, as attention's Q.K^T and .V) whose name
//    QuantSpec::layers maps to kInt8. Layers the INT8 path cannot run stay
//    FP32.
// 2. Followers - MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool,
//    Reshape (Flatten, Squeeze, Unsqueeze), Concat, a non-fused Add of two
//    same-shaped operands and a Mul of a tensor by a same-shaped or a
//    per-channel ([N or 1, C, 1, ...], a squeeze-excitation scale) operand
//    (Add and Mul with no post-ops, or ReLU/LeakyReLU/Clip ones) - compute
//    in INT8 when every data input is an INT8 value and so is their output.
//    Pools and Reshape keep their input's parameters; Concat, Add and Mul
//    take their output's parameters from the spec (no parameters: FP32).
// 2b. A Softmax computes in f32 and writes its output as INT8 (with the
//    output's spec parameters) when that output is an INT8 value: attention's
//    probabilities reach the INT8 .V product as u8 without a quantising
//    reorder of their own.
// 3. A value is INT8 when its producer is an INT8 layer (and the spec has its
//    parameters), an INT8 follower or a Softmax (rule 2b), every consumer is
//    an INT8 node, and it is not a graph output or an extra output. Rules 2,
//    2b and 3 are applied until nothing changes (starting from "everything
//    that could be INT8 is").
//    So an INT8 layer writes u8/s8 when its consumers read INT8, otherwise an
//    f32 destination directly (no separate dequantize step).
// 4. An INT8 layer reading an f32 value quantises it with the value's spec
//    parameters (one reorder with a scale); missing parameters are a
//    FailedPrecondition naming the tensor and the layer. A MatMul of two
//    run-time tensors reads B with per-tensor parameters too, always signed
//    (oneDNN's matmul takes s8 weights only): B's own when they are signed
//    8-bit, otherwise the same threshold over [-127, 127] ([-63, 63] for
//    7-bit weights).
//    Likewise an INT8 layer with an INT8 destination and a fused residual
//    sum needs the residual's parameters (its INT8 ones, or the spec's for
//    an f32 residual, which is quantised into the destination buffer).
// 5. 7-bit weights: SevenBitWeights::kAll marks every INT8 layer,
//    kFirstLayer only the first quantizable layer in topological order (when
//    it is INT8).
#ifndef MIXQ_ENGINE_QUANT_PRECISION_PLAN_H_
#define MIXQ_ENGINE_QUANT_PRECISION_PLAN_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/ir/graph.h"
#include "engine/quant/quant_spec.h"

namespace mixq {

struct PrecisionPlan {
  // Nodes of the fused graph that compute in INT8, by node name.
  std::set<std::string> int8_nodes;
  // Values stored as INT8, with the parameters their bytes are in.
  std::map<std::string, QuantParams> int8_values;
  // Per INT8 layer: the parameters of its source (input 0) as it reads it.
  std::map<std::string, QuantParams> source_params;
  // Per INT8 MatMul of two run-time tensors: the parameters B (input 1) is
  // read with (signed, see rule 4).
  std::map<std::string, QuantParams> operand_b_params;
  // Per INT8 layer with a fused residual sum and an INT8 destination: the
  // parameters of the residual as the destination buffer holds it.
  std::map<std::string, QuantParams> residual_params;
  // Layers the spec asks for in INT8 that the INT8 path cannot run (rule
  // 1), with the reason: they run FP32, and the executor names them.
  std::map<std::string, std::string> fp32_fallbacks;
  // INT8 layers whose weights are 7-bit ([-63, 63]).
  std::set<std::string> seven_bit_layers;

  bool IsInt8Node(const std::string& node) const { return int8_nodes.count(node) != 0; }
  // The parameters of an INT8 value, or nullptr for an f32 one.
  const QuantParams* Int8Value(const std::string& value) const;
};

// True when `node` is a quantizable layer the INT8 path can run (rule 1).
bool Int8Capable(const Node& node, const Graph& graph);
// Why the INT8 path cannot run `node` ("" when it can): for messages.
std::string Int8Refusal(const Node& node, const Graph& graph);

// Applies the rules above to `fused` (the graph after FusePostOps). Values in
// `f32_values` (extra outputs) stay f32. FailedPrecondition for missing
// parameters (rule 4).
StatusOr<PrecisionPlan> PlanPrecision(const Graph& fused, const QuantSpec& spec,
                                      const std::vector<std::string>& f32_values);

}  // namespace mixq

#endif  // MIXQ_ENGINE_QUANT_PRECISION_PLAN_H_
