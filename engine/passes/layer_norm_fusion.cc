#include "engine/passes/layer_norm_fusion.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/passes/rewrite_util.h"

namespace mixq {
namespace {

// One decomposed LayerNorm found in the graph.
struct Match {
  std::vector<size_t> nodes;  // the pattern's nodes
  Node fused;                 // the LayerNormalization replacing them
};

class LayerNormMatcher {
 public:
  explicit LayerNormMatcher(Graph* graph) : graph_(*graph), uses_(*graph) {}

  // The pattern starting at the ReduceMean node `first`, if it is one.
  std::optional<Match> MatchAt(size_t first);

 private:
  // The node consuming `value` when it is the only one and `value` is not a
  // graph output.
  const Node* SoleConsumer(const std::string& value, size_t* index) const {
    const std::optional<size_t> c = uses_.SoleConsumer(value);
    if (!c) return nullptr;
    *index = *c;
    return &graph_.nodes[*index];
  }
  // The axes a ReduceMean with keepdims=1 reduces, sorted and non-negative;
  // nullopt for another op, keepdims=0 or non-constant axes.
  std::optional<std::vector<int64_t>> MeanAxes(const Node& node, int64_t rank) const;
  // The single value of a one-element float or integer constant.
  std::optional<double> ScalarConstant(const std::string& value) const;
  // `node` (binary, one input being `value`): the other input when it is a
  // float32 constant broadcasting to x's dims from `axis` on (and no more).
  const Tensor* AffineParam(const Node& node, const std::string& value, const Shape& x,
                            int64_t axis, std::string* name) const;
  // The constant `name` shaped for LayerNormalization: leading dims of 1
  // beyond the normalised rank dropped (under a fresh name).
  std::string NormalisedParam(const std::string& name, const Tensor& t, size_t normalised_rank,
                              const std::string& base);

  Graph& graph_;
  GraphUses uses_;
};

std::optional<std::vector<int64_t>> LayerNormMatcher::MeanAxes(const Node& node,
                                                               int64_t rank) const {
  if (node.op != OpType::kReduceMean || node.attrs.Int("keepdims", 1) == 0) return std::nullopt;
  std::vector<int64_t> axes = node.attrs.Ints("axes");
  if (node.inputs.size() > 1 && !node.inputs[1].empty()) {
    auto it = graph_.constants.find(node.inputs[1]);
    if (it == graph_.constants.end() || IsFloatingPoint(it->second.dtype())) return std::nullopt;
    axes = it->second.ToInt64Vector();
  }
  if (axes.empty()) {
    if (node.attrs.Int("noop_with_empty_axes", 0) != 0) return std::nullopt;
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  }
  for (int64_t& a : axes) {
    if (a < -rank || a >= rank) return std::nullopt;
    if (a < 0) a += rank;
  }
  std::sort(axes.begin(), axes.end());
  return axes;
}

std::optional<double> LayerNormMatcher::ScalarConstant(const std::string& value) const {
  auto it = graph_.constants.find(value);
  if (it == graph_.constants.end() || it->second.size() != 1 || it->second.dtype() == DType::kF16 ||
      it->second.dtype() == DType::kBool) {
    return std::nullopt;
  }
  return it->second.FloatAt(0);
}

const Tensor* LayerNormMatcher::AffineParam(const Node& node, const std::string& value,
                                            const Shape& x, int64_t axis, std::string* name) const {
  if (node.inputs.size() != 2 || node.inputs[0] == node.inputs[1]) return nullptr;
  *name = node.inputs[0] == value ? node.inputs[1] : node.inputs[0];
  auto it = graph_.constants.find(*name);
  if (it == graph_.constants.end() || it->second.dtype() != DType::kF32) return nullptr;
  const Shape& p = it->second.shape();
  if (p.size() > x.size()) return nullptr;
  const size_t lead = x.size() - p.size();
  for (size_t i = 0; i < p.size(); ++i) {
    const int64_t d = static_cast<int64_t>(lead + i);
    // Dims before the normalised ones must not broadcast the result.
    if (d < axis ? p[i] != 1 : (p[i] != 1 && p[i] != x[d])) return nullptr;
  }
  return &it->second;
}

std::string LayerNormMatcher::NormalisedParam(const std::string& name, const Tensor& t,
                                              size_t normalised_rank, const std::string& base) {
  if (static_cast<size_t>(t.rank()) <= normalised_rank) return name;
  Tensor reshaped = t;
  reshaped.Reshape(Shape(t.shape().end() - normalised_rank, t.shape().end()));
  const std::string fresh = FreshName(graph_, base);
  graph_.values[fresh] = ValueInfo{reshaped.dtype(), reshaped.shape()};
  graph_.constants[fresh] = std::move(reshaped);
  return fresh;
}

std::optional<Match> LayerNormMatcher::MatchAt(size_t first) {
  const Node& mean = graph_.nodes[first];
  if (mean.op != OpType::kReduceMean || mean.inputs.empty() || mean.outputs.size() != 1) {
    return std::nullopt;
  }
  const std::string& x = mean.inputs[0];
  const ValueInfo* x_info = graph_.FindValue(x);
  if (x_info == nullptr || x_info->dtype != DType::kF32 || x_info->shape.empty()) {
    return std::nullopt;
  }
  const Shape& x_shape = x_info->shape;
  const int64_t rank = static_cast<int64_t>(x_shape.size());
  const auto axes = MeanAxes(mean, rank);
  if (!axes || axes->empty() || axes->back() != rank - 1 ||
      axes->front() != rank - static_cast<int64_t>(axes->size())) {
    return std::nullopt;
  }
  const int64_t axis = axes->front();
  Match match;
  match.nodes.push_back(first);
  size_t i = 0;
  // d = x - mean
  const Node* sub = SoleConsumer(mean.outputs[0], &i);
  if (sub == nullptr || sub->op != OpType::kSub || sub->inputs.size() != 2 || sub->inputs[0] != x ||
      sub->inputs[1] != mean.outputs[0]) {
    return std::nullopt;
  }
  match.nodes.push_back(i);
  const std::string d = sub->outputs[0];
  const std::vector<size_t> users = uses_.Consumers(d);
  if (uses_.IsGraphOutput(d) || users.size() != 2) return std::nullopt;
  // d's two users: the squaring and the division (d / sqrt, or d times
  // 1 / sqrt as torch writes rsqrt).
  const Node* square = nullptr;
  const Node* div = nullptr;
  size_t square_index = 0, div_index = 0;
  for (size_t user : users) {
    const Node& n = graph_.nodes[user];
    const bool times_other =
        n.op == OpType::kMul && n.inputs.size() == 2 && (n.inputs[0] == d) != (n.inputs[1] == d);
    if ((n.op == OpType::kDiv && n.inputs.size() == 2 && n.inputs[0] == d && n.inputs[1] != d) ||
        times_other) {
      div = &n;
      div_index = user;
    } else if (n.op == OpType::kMul && n.inputs.size() == 2 && n.inputs[0] == d &&
               n.inputs[1] == d) {
      square = &n;
      square_index = user;
    } else if (n.op == OpType::kPow && n.inputs.size() == 2 && n.inputs[0] == d &&
               ScalarConstant(n.inputs[1]) == 2.0) {
      square = &n;
      square_index = user;
    }
  }
  if (square == nullptr || div == nullptr) return std::nullopt;
  match.nodes.push_back(square_index);
  // v = mean of the squares over the same axes
  const Node* var = SoleConsumer(square->outputs[0], &i);
  if (var == nullptr || var->inputs[0] != square->outputs[0] || MeanAxes(*var, rank) != axes) {
    return std::nullopt;
  }
  match.nodes.push_back(i);
  // v + epsilon
  const Node* add_eps = SoleConsumer(var->outputs[0], &i);
  if (add_eps == nullptr || add_eps->op != OpType::kAdd || add_eps->inputs.size() != 2) {
    return std::nullopt;
  }
  const std::string& eps_name =
      add_eps->inputs[0] == var->outputs[0] ? add_eps->inputs[1] : add_eps->inputs[0];
  const std::optional<double> epsilon = ScalarConstant(eps_name);
  if (!epsilon) return std::nullopt;
  match.nodes.push_back(i);
  // sqrt, then d / sqrt
  const Node* sqrt = SoleConsumer(add_eps->outputs[0], &i);
  if (sqrt == nullptr || sqrt->op != OpType::kSqrt || sqrt->outputs.size() != 1) {
    return std::nullopt;
  }
  match.nodes.push_back(i);
  std::string divisor = sqrt->outputs[0];
  if (div->op == OpType::kMul) {
    // r = 1 / sqrt or Reciprocal(sqrt); d * r
    const Node* inverse = SoleConsumer(divisor, &i);
    const bool reciprocal =
        inverse != nullptr &&
        ((inverse->op == OpType::kReciprocal && inverse->inputs.size() == 1) ||
         (inverse->op == OpType::kDiv && inverse->inputs.size() == 2 &&
          inverse->inputs[1] == divisor && ScalarConstant(inverse->inputs[0]) == 1.0));
    if (!reciprocal || inverse->outputs.size() != 1) return std::nullopt;
    match.nodes.push_back(i);
    divisor = inverse->outputs[0];
  }
  size_t div_check = 0;
  const size_t divisor_slot = div->inputs[0] == d ? 1 : 0;
  if (SoleConsumer(divisor, &div_check) != div || div->inputs[divisor_slot] != divisor) {
    return std::nullopt;
  }
  match.nodes.push_back(div_index);
  std::string y = div->outputs[0];
  // Optional affine: Mul by scale, then Add bias.
  std::string scale, bias;
  const Tensor* scale_t = nullptr;
  const Tensor* bias_t = nullptr;
  const Node* next = SoleConsumer(y, &i);
  if (next != nullptr && next->op == OpType::kMul &&
      (scale_t = AffineParam(*next, y, x_shape, axis, &scale)) != nullptr) {
    match.nodes.push_back(i);
    y = next->outputs[0];
    next = SoleConsumer(y, &i);
  }
  if (next != nullptr && next->op == OpType::kAdd &&
      (bias_t = AffineParam(*next, y, x_shape, axis, &bias)) != nullptr) {
    match.nodes.push_back(i);
    y = next->outputs[0];
  }
  const size_t normalised_rank = static_cast<size_t>(rank - axis);
  if (scale_t == nullptr) {
    const Shape normalised(x_shape.begin() + axis, x_shape.end());
    if (std::any_of(normalised.begin(), normalised.end(), [](int64_t n) { return n < 0; })) {
      return std::nullopt;
    }
    Tensor ones(DType::kF32, normalised);
    std::fill(ones.data<float>(), ones.data<float>() + ones.size(), 1.f);
    scale = FreshName(graph_, mean.name + "_scale");
    graph_.values[scale] = ValueInfo{DType::kF32, normalised};
    graph_.constants[scale] = std::move(ones);
  } else {
    scale = NormalisedParam(scale, *scale_t, normalised_rank, mean.name + "_scale");
  }
  Node& fused = match.fused;
  fused.name = mean.name;
  fused.op = OpType::kLayerNormalization;
  fused.inputs = {x, scale};
  if (bias_t != nullptr) {
    fused.inputs.push_back(NormalisedParam(bias, *bias_t, normalised_rank, mean.name + "_bias"));
  }
  fused.outputs = {y};
  fused.attrs.Set("axis", axis);
  fused.attrs.Set("epsilon", static_cast<float>(*epsilon));
  return match;
}

}  // namespace

int FuseLayerNorms(Graph* graph) {
  LayerNormMatcher matcher(graph);
  std::vector<bool> removed(graph->nodes.size(), false);
  std::unordered_map<size_t, Node> replacement;  // last node of a match -> fused node
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    if (removed[i] || graph->nodes[i].op != OpType::kReduceMean) continue;
    std::optional<Match> match = matcher.MatchAt(i);
    if (!match) continue;
    // The matches are disjoint: every value inside one feeds it alone.
    for (size_t n : match->nodes) removed[n] = true;
    const size_t last = *std::max_element(match->nodes.begin(), match->nodes.end());
    replacement.emplace(last, std::move(match->fused));
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    auto it = replacement.find(i);
    if (it != replacement.end()) {
      kept.push_back(std::move(it->second));
    } else if (!removed[i]) {
      kept.push_back(std::move(graph->nodes[i]));
    }
  }
  graph->nodes = std::move(kept);
  return static_cast<int>(replacement.size());
}

}  // namespace mixq
