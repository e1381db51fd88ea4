#include "engine/passes/activation_patterns.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

namespace mixq {

namespace {

bool Near(float value, float want) {
  return std::fabs(value - want) <= 1e-5f * std::max(1.f, std::fabs(want));
}

// One sub-graph to replace: the nodes it consists of and the node that
// stands for them, placed where the last of them was.
struct Rewrite {
  std::vector<size_t> nodes;
  Node replacement;
};

class Matcher {
 public:
  explicit Matcher(const Graph& graph) : graph_(graph) {
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      for (const std::string& in : graph.nodes[i].inputs) consumers_[in].push_back(i);
      for (const std::string& out : graph.nodes[i].outputs) producer_[out] = i;
    }
  }

  // The sub-graph whose final Mul is node `i`, if it is one of the patterns.
  std::optional<Rewrite> Match(size_t i) const {
    const Node& mul = graph_.nodes[i];
    if (mul.op != OpType::kMul || mul.inputs.size() != 2 || mul.outputs.size() != 1 ||
        mul.inputs[0] == mul.inputs[1]) {
      return std::nullopt;
    }
    for (int k = 0; k < 2; ++k) {
      const std::string& x = mul.inputs[1 - k];
      const std::string& gate = mul.inputs[k];
      const ValueInfo* info = graph_.FindValue(x);
      if (info == nullptr || info->dtype != DType::kF32 || graph_.IsConstant(x)) continue;
      if (std::optional<Rewrite> r = MatchGate(i, x, gate)) return r;
    }
    return std::nullopt;
  }

 private:
  // The index of the node producing `value` when it has one output, `value`
  // is its only consumer's input and no graph output.
  std::optional<size_t> PrivateProducer(const std::string& value) const {
    auto p = producer_.find(value);
    if (p == producer_.end() || graph_.nodes[p->second].outputs.size() != 1) return std::nullopt;
    if (!OneConsumer(value)) return std::nullopt;
    return p->second;
  }

  bool OneConsumer(const std::string& value) const {
    auto c = consumers_.find(value);
    const bool is_output =
        std::find(graph_.outputs.begin(), graph_.outputs.end(), value) != graph_.outputs.end();
    return !is_output && c != consumers_.end() && c->second.size() == 1;
  }

  bool ScalarNear(const std::string& value, float want) const {
    auto it = graph_.constants.find(value);
    if (it == graph_.constants.end() || it->second.dtype() != DType::kF32 ||
        it->second.size() != 1) {
      return false;
    }
    return Near(it->second.data<float>()[0], want);
  }

  // True when `node` computes `value` / 6 (Div by 6, or Mul by 1/6).
  bool DividesBySix(const Node& node, const std::string& value) const {
    if (node.inputs.size() != 2 || node.outputs.size() != 1) return false;
    if (node.op == OpType::kDiv) return node.inputs[0] == value && ScalarNear(node.inputs[1], 6.f);
    if (node.op != OpType::kMul) return false;
    return (node.inputs[0] == value && ScalarNear(node.inputs[1], 1.f / 6.f)) ||
           (node.inputs[1] == value && ScalarNear(node.inputs[0], 1.f / 6.f));
  }

  // True when `value` is Relu6(x + 3) through private values; appends the
  // nodes computing it to `nodes`.
  bool IsRelu6OfXPlus3(std::string value, const std::string& x, std::vector<size_t>* nodes) const {
    float lo = -std::numeric_limits<float>::infinity();
    float hi = std::numeric_limits<float>::infinity();
    int clamps = 0;
    while (true) {
      std::optional<size_t> p = PrivateProducer(value);
      if (!p) return false;
      const Node& node = graph_.nodes[*p];
      if (node.inputs.empty()) return false;
      nodes->push_back(*p);
      if (node.op == OpType::kRelu) {
        lo = std::max(lo, 0.f);
      } else if (node.op == OpType::kClip && node.inputs.size() == 1) {
        lo = std::max(lo, node.attrs.Float("min", lo));
        hi = std::min(hi, node.attrs.Float("max", hi));
      } else {
        // Every clamp on the way holds [0, 6] when the bounds end there.
        if (clamps == 0 || lo != 0.f || !Near(hi, 6.f)) return false;
        return node.op == OpType::kAdd && node.inputs.size() == 2 &&
               ((node.inputs[0] == x && ScalarNear(node.inputs[1], 3.f)) ||
                (node.inputs[1] == x && ScalarNear(node.inputs[0], 3.f)));
      }
      ++clamps;
      value = node.inputs[0];
    }
  }

  Node Replacement(const Node& last, OpType op, const std::string& x) const {
    Node node;
    node.name = last.name;
    node.op = op;
    node.inputs = {x};
    node.outputs = last.outputs;
    return node;
  }

  // Mul node `i` reads x and `gate`: is `gate` an activation of x that makes
  // the product (or the product / 6) SiLU or HardSwish?
  std::optional<Rewrite> MatchGate(size_t i, const std::string& x, const std::string& gate) const {
    const Node& mul = graph_.nodes[i];
    std::optional<size_t> g = PrivateProducer(gate);
    if (!g) return std::nullopt;
    const Node& act = graph_.nodes[*g];
    if (act.inputs.size() == 1 && act.inputs[0] == x) {
      if (act.op == OpType::kSigmoid) {
        Rewrite r{{*g, i}, Replacement(mul, OpType::kIdentity, x)};
        r.replacement.post_ops = {SwishPostOp()};
        return r;
      }
      if (act.op == OpType::kHardSigmoid && Near(act.attrs.Float("alpha", 0.2f), 1.f / 6.f) &&
          Near(act.attrs.Float("beta", 0.5f), 0.5f)) {
        return Rewrite{{*g, i}, Replacement(mul, OpType::kHardSwish, x)};
      }
    }
    // x * (Relu6(x + 3) / 6)
    std::vector<size_t> nodes;
    if (act.inputs.size() == 2) {
      const std::string& v = graph_.IsConstant(act.inputs[0]) ? act.inputs[1] : act.inputs[0];
      if (DividesBySix(act, v) && IsRelu6OfXPlus3(v, x, &nodes)) {
        nodes.push_back(*g);
        nodes.push_back(i);
        return Rewrite{nodes, Replacement(mul, OpType::kHardSwish, x)};
      }
    }
    // (x * Relu6(x + 3)) / 6
    nodes.clear();
    if (!IsRelu6OfXPlus3(gate, x, &nodes) || !OneConsumer(mul.outputs[0])) return std::nullopt;
    const size_t d = consumers_.at(mul.outputs[0])[0];
    if (!DividesBySix(graph_.nodes[d], mul.outputs[0])) return std::nullopt;
    nodes.push_back(i);
    nodes.push_back(d);
    return Rewrite{nodes, Replacement(graph_.nodes[d], OpType::kHardSwish, x)};
  }

  const Graph& graph_;
  std::unordered_map<std::string, std::vector<size_t>> consumers_;
  std::unordered_map<std::string, size_t> producer_;
};

}  // namespace

PostOp SwishPostOp(float alpha) {
  PostOp op;
  op.kind = PostOp::Kind::kEltwise;
  op.eltwise = OpType::kMul;
  op.alpha = alpha;
  return op;
}

bool IsPostOpCarrier(const Node& node) {
  if (node.op != OpType::kIdentity || node.inputs.size() != 1 || node.post_ops.empty()) {
    return false;
  }
  return std::all_of(node.post_ops.begin(), node.post_ops.end(),
                     [](const PostOp& op) { return op.kind == PostOp::Kind::kEltwise; });
}

void RewriteActivationPatterns(Graph* graph) {
  const Matcher matcher(*graph);
  std::set<size_t> removed;
  std::map<size_t, Node> replacements;  // by the index of the node replaced last
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    if (removed.count(i)) continue;
    std::optional<Rewrite> r = matcher.Match(i);
    if (!r) continue;
    removed.insert(r->nodes.begin(), r->nodes.end());
    replacements[*std::max_element(r->nodes.begin(), r->nodes.end())] = std::move(r->replacement);
  }
  if (removed.empty()) return;
  std::vector<Node> kept;
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    auto it = replacements.find(i);
    if (it != replacements.end()) {
      kept.push_back(std::move(it->second));
    } else if (removed.count(i)) {
      // An intermediate value of a rewritten sub-graph.
      for (const std::string& out : graph->nodes[i].outputs) graph->values.erase(out);
    } else {
      kept.push_back(std::move(graph->nodes[i]));
    }
  }
  graph->nodes = std::move(kept);
}

}  // namespace mixq
