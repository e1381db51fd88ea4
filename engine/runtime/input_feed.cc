#include "engine/runtime/input_feed.h"

#include <algorithm>
#include <random>
#include <utility>

#include "engine/passes/rewrite_util.h"

namespace mixq {
namespace {

// Ops that pass integer indices on unchanged in value.
bool KeepsIndices(OpType op) {
  return op == OpType::kCast || op == OpType::kUnsqueeze || op == OpType::kReshape ||
         op == OpType::kSqueeze || op == OpType::kFlatten || op == OpType::kIdentity;
}

bool IsInteger(DType dtype) { return dtype == DType::kI64 || dtype == DType::kI32; }

// The smallest constant-table rows that `input` indexes, or 0 for none.
int64_t IndexBound(const Graph& graph, const GraphUses& uses, const std::string& input) {
  int64_t bound = 0;
  std::vector<std::string> pending = {input};
  std::vector<std::string> seen;
  while (!pending.empty()) {
    const std::string value = std::move(pending.back());
    pending.pop_back();
    if (std::find(seen.begin(), seen.end(), value) != seen.end()) continue;
    seen.push_back(value);
    for (size_t index : uses.Consumers(value)) {
      const Node& node = graph.nodes[index];
      if (KeepsIndices(node.op) && !node.inputs.empty() && node.inputs[0] == value &&
          !node.outputs.empty()) {
        pending.push_back(node.outputs[0]);
        continue;
      }
      if (node.op != OpType::kGather || node.inputs.size() != 2 || node.inputs[1] != value) {
        continue;
      }
      auto table = graph.constants.find(node.inputs[0]);
      if (table == graph.constants.end()) continue;
      const Shape& shape = table->second.shape();
      const int64_t rank = static_cast<int64_t>(shape.size());
      int64_t axis = node.attrs.Int("axis", 0);
      if (axis < 0) axis += rank;
      if (axis < 0 || axis >= rank || shape[axis] <= 0) continue;
      bound = bound == 0 ? shape[axis] : std::min(bound, shape[axis]);
    }
  }
  return bound;
}

}  // namespace

StatusOr<std::vector<ModelInput>> ModelInputsOf(const Graph& graph) {
  std::vector<ModelInput> inputs;
  for (const std::string& name : graph.inputs) {
    const ValueInfo* info = graph.FindValue(name);
    if (info == nullptr) return Internal(graph.source + ": input '" + name + "' has no value info");
    inputs.push_back({name, info->dtype, info->shape});
  }
  return inputs;
}

std::map<std::string, int64_t> GatherIndexBounds(const Graph& graph) {
  std::map<std::string, int64_t> bounds;
  const GraphUses uses(graph);
  for (const std::string& name : graph.inputs) {
    const ValueInfo* info = graph.FindValue(name);
    if (info == nullptr || !IsInteger(info->dtype)) continue;
    const int64_t bound = IndexBound(graph, uses, name);
    if (bound > 0) bounds[name] = bound;
  }
  return bounds;
}

SyntheticInputs::SyntheticInputs(const Graph& graph) : names_(graph.inputs) {
  const std::map<std::string, int64_t> bounds = GatherIndexBounds(graph);
  for (const std::string& name : names_) {
    auto it = bounds.find(name);
    bounds_.push_back(it == bounds.end() ? 0 : it->second);
  }
}

Status SyntheticInputs::Fill(uint32_t seed, int64_t first, std::vector<Tensor>* batch) const {
  if (batch == nullptr || batch->size() != names_.size()) {
    return InvalidArgument(
        "synthetic inputs: " + std::to_string(batch == nullptr ? 0 : batch->size()) +
        " tensors for a model with " + std::to_string(names_.size()) + " inputs");
  }
  for (size_t i = 0; i < names_.size(); ++i) {
    Tensor& t = (*batch)[i];
    const DType dtype = t.dtype();
    if (dtype != DType::kF32 && !IsInteger(dtype)) {
      std::fill_n(static_cast<uint8_t*>(t.raw()), t.bytes(), uint8_t{0});
      continue;
    }
    // A scalar or empty input counts as one sample.
    const int64_t n = t.rank() > 0 && t.shape()[0] > 0 ? t.shape()[0] : 1;
    const int64_t per_sample = t.size() / n;
    for (int64_t s = 0; s < n; ++s) {
      // The first input keeps the seeds of one-input versions, so their
      // synthetic calibrations stay the same.
      std::vector<uint32_t> keys = {seed, static_cast<uint32_t>(first + s)};
      if (i > 0) keys.push_back(static_cast<uint32_t>(i));
      std::seed_seq seq(keys.begin(), keys.end());
      std::mt19937 rng(seq);
      const int64_t offset = s * per_sample;
      if (dtype == DType::kF32) {
        std::normal_distribution<float> normal(0.0f, 1.0f);
        float* p = t.data<float>() + offset;
        for (int64_t k = 0; k < per_sample; ++k) p[k] = normal(rng);
        continue;
      }
      std::uniform_int_distribution<int64_t> uniform(0, std::max<int64_t>(bounds_[i], 1) - 1);
      for (int64_t k = 0; k < per_sample; ++k) {
        const int64_t v = bounds_[i] > 0 ? uniform(rng) : 1;
        if (dtype == DType::kI64) {
          t.data<int64_t>()[offset + k] = v;
        } else {
          t.data<int32_t>()[offset + k] = static_cast<int32_t>(v);
        }
      }
    }
  }
  return Status::Ok();
}

}  // namespace mixq
