#include "engine/passes/fold_batch_norm.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/passes/rewrite_util.h"

namespace mixq {
namespace {

const Tensor* FloatConstant(const Graph& graph, const std::string& name) {
  auto it = graph.constants.find(name);
  if (it == graph.constants.end() || it->second.dtype() != DType::kF32) return nullptr;
  return &it->second;
}

// Stores `tensor` as the constant feeding input `index` of `node`: in place
// when the node is its only user, else under a fresh name.
void ReplaceInput(Graph* graph, Node* node, size_t index, const std::string& suffix,
                  Tensor tensor) {
  std::string name = index < node->inputs.size() ? node->inputs[index] : "";
  if (name.empty() || UseCount(*graph, name) != 1) {
    name = FreshName(*graph, node->name + suffix);
  }
  if (node->inputs.size() <= index) node->inputs.resize(index + 1);
  node->inputs[index] = name;
  graph->values[name] = ValueInfo{tensor.dtype(), tensor.shape()};
  graph->constants[name] = std::move(tensor);
}

// Tries to fold BN node `bn` into `producer`; false if the pattern does not fit.
bool TryFold(Graph* graph, Node* producer, const Node& bn) {
  if (producer->op != OpType::kConv && producer->op != OpType::kGemm &&
      producer->op != OpType::kConvTranspose) {
    return false;
  }
  // The BN must be the only user of the producer's output.
  if (producer->outputs.size() != 1 || UseCount(*graph, producer->outputs[0]) != 1) return false;
  if (bn.inputs.size() != 5) return false;
  std::vector<const Tensor*> params;
  for (size_t i = 1; i < 5; ++i) {
    const Tensor* t = FloatConstant(*graph, bn.inputs[i]);
    if (t == nullptr || t->rank() != 1) return false;
    params.push_back(t);
  }
  const int64_t channels = params[0]->size();
  if (channels == 0) return false;
  for (const Tensor* t : params) {
    if (t->size() != channels) return false;
  }
  if (producer->inputs.size() < 2) return false;
  const Tensor* weight = FloatConstant(*graph, producer->inputs[1]);
  if (weight == nullptr) return false;
  const bool has_bias = producer->inputs.size() > 2 && !producer->inputs[2].empty();
  const Tensor* bias = has_bias ? FloatConstant(*graph, producer->inputs[2]) : nullptr;
  if (has_bias && bias == nullptr) return false;

  // Conv and ConvTranspose take a per-output-channel bias as it is.
  const bool is_conv = producer->op != OpType::kGemm;
  const bool transposed = producer->op == OpType::kConvTranspose;
  const bool trans_b = producer->attrs.Int("transB", 0) != 0;
  const int64_t group = producer->attrs.Int("group", 1);
  if (is_conv) {
    // Output channels: Conv W [C_out, ...]; ConvTranspose W [C_in, C_out / group, ...].
    const int64_t out_channels =
        transposed && weight->rank() >= 3 && group > 0 && weight->shape()[0] % group == 0
            ? weight->shape()[1] * group
            : weight->shape()[0];
    if (weight->rank() < 3 || out_channels != channels) return false;
    if (bias != nullptr && (bias->rank() != 1 || bias->size() != channels)) return false;
  } else {
    if (weight->rank() != 2 || weight->shape()[trans_b ? 0 : 1] != channels) return false;
    // Only a per-column (or scalar) C folds into a per-column bias.
    if (bias != nullptr && bias->size() != channels && bias->size() != 1) return false;
    if (bias != nullptr && bias->rank() == 2 && bias->shape()[0] != 1) return false;
  }

  const float eps = bn.attrs.Float("epsilon", 1e-5f);
  const float* gamma = params[0]->data<float>();
  const float* beta = params[1]->data<float>();
  const float* mean = params[2]->data<float>();
  const float* var = params[3]->data<float>();
  std::vector<float> scale(channels), shift(channels);
  for (int64_t c = 0; c < channels; ++c) {
    scale[c] = gamma[c] / std::sqrt(var[c] + eps);
    shift[c] = beta[c] - mean[c] * scale[c];
  }

  Tensor new_weight = *weight;
  float* w = new_weight.data<float>();
  if (transposed) {
    // W[ic, j, k...] feeds output channel (ic / (C_in / group)) * (C_out / group) + j.
    const int64_t per_group = new_weight.shape()[1];
    const int64_t taps = new_weight.size() / (new_weight.shape()[0] * per_group);
    const int64_t in_per_group = new_weight.shape()[0] / group;
    for (int64_t i = 0; i < new_weight.size(); ++i) {
      const int64_t ic = i / (per_group * taps);
      w[i] *= scale[(ic / in_per_group) * per_group + (i / taps) % per_group];
    }
  } else if (is_conv || trans_b) {
    // Output channel is the leading dim.
    const int64_t per_channel = new_weight.size() / channels;
    for (int64_t i = 0; i < new_weight.size(); ++i) w[i] *= scale[i / per_channel];
  } else {
    for (int64_t i = 0; i < new_weight.size(); ++i) w[i] *= scale[i % channels];
  }

  // Gemm: Y = alpha*A*B + beta*C, so C absorbs shift/beta (beta 0 ignores C).
  float gemm_beta = is_conv ? 1.f : producer->attrs.Float("beta", 1.f);
  const bool bias_used = bias != nullptr && gemm_beta != 0.f;
  if (!is_conv && !bias_used) {
    gemm_beta = 1.f;
    producer->attrs.Set("beta", 1.f);
  }
  Tensor new_bias(DType::kF32, {channels});
  float* b = new_bias.data<float>();
  for (int64_t c = 0; c < channels; ++c) {
    const float old = bias_used ? bias->data<float>()[bias->size() == 1 ? 0 : c] : 0.f;
    b[c] = old * scale[c] + shift[c] / gemm_beta;
  }

  ReplaceInput(graph, producer, 1, "_bn_folded_weight", std::move(new_weight));
  if (!bias_used && has_bias) producer->inputs[2].clear();
  ReplaceInput(graph, producer, 2, "_bn_folded_bias", std::move(new_bias));
  graph->values.erase(producer->outputs[0]);
  producer->outputs[0] = bn.outputs[0];
  return true;
}

}  // namespace

Status FoldBatchNorm(Graph* graph) {
  std::vector<bool> remove(graph->nodes.size(), false);
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    const Node& bn = graph->nodes[i];
    if (bn.op != OpType::kBatchNorm || bn.inputs.empty()) continue;
    for (size_t j = 0; j < i; ++j) {
      Node& producer = graph->nodes[j];
      if (remove[j] || producer.outputs.empty() || producer.outputs[0] != bn.inputs[0]) continue;
      remove[i] = TryFold(graph, &producer, bn);
      break;
    }
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    if (!remove[i]) kept.push_back(std::move(graph->nodes[i]));
  }
  graph->nodes = std::move(kept);
  return Status::Ok();
}

}  // namespace mixq
