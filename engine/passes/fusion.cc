#include "engine/passes/fusion.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "engine/passes/activation_patterns.h"

namespace mixq {

namespace {

bool IsBinary(OpType op) {
  return op == OpType::kAdd || op == OpType::kSub || op == OpType::kMul || op == OpType::kDiv;
}

bool TakesPostOps(const Node& node) {
  return IsQuantizable(node.op) || IsBinary(node.op) || IsPostOpCarrier(node);
}

}  // namespace

Graph FusePostOps(const Graph& graph) {
  Graph out = graph;
  RewriteActivationPatterns(&out);
  std::vector<Node>& nodes = out.nodes;
  std::vector<bool> alive(nodes.size(), true);
  const std::set<std::string> outputs(graph.outputs.begin(), graph.outputs.end());
  std::unordered_map<std::string, std::vector<size_t>> consumers;
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const std::string& in : nodes[i].inputs) consumers[in].push_back(i);
    for (const std::string& o : nodes[i].outputs) producer[o] = i;
  }
  auto shape_of = [&](const std::string& v) -> const Shape* {
    const ValueInfo* info = out.FindValue(v);
    return info ? &info->shape : nullptr;
  };

  for (size_t i = 0; i < nodes.size(); ++i) {
    Node& node = nodes[i];
    if (!alive[i] || !TakesPostOps(node) || node.outputs.size() != 1) continue;
    bool has_sum = false;
    while (true) {
      const std::string v = node.outputs[0];
      const std::vector<size_t>& users = consumers[v];
      if (outputs.count(v) || users.size() != 1) break;
      const size_t j = users[0];
      Node& next = nodes[j];
      if (next.outputs.size() != 1) break;
      if (IsEltwise(next.op) && next.inputs.size() >= 1 && next.inputs[0] == v) {
        StatusOr<PostOp> op = EltwisePostOpOf(next);
        if (!op.ok()) break;
        node.post_ops.push_back(*op);
      } else if (IsPostOpCarrier(next) && next.inputs[0] == v) {
        node.post_ops.insert(node.post_ops.end(), next.post_ops.begin(), next.post_ops.end());
      } else if (next.op == OpType::kAdd && node.op == OpType::kConv && node.post_ops.empty() &&
                 !has_sum && next.inputs.size() == 2 && next.inputs[0] != next.inputs[1]) {
        const std::string other = next.inputs[0] == v ? next.inputs[1] : next.inputs[0];
        const Shape* a = shape_of(v);
        const Shape* b = shape_of(other);
        const Shape* y = shape_of(next.outputs[0]);
        if (out.IsConstant(other) || !a || !b || !y || *a != *b || *a != *y) break;
        auto p = producer.find(other);
        bool is_input = std::find(out.inputs.begin(), out.inputs.end(), other) != out.inputs.end();
        if (!is_input && (p == producer.end() || p->second >= i)) break;
        PostOp sum;
        sum.kind = PostOp::Kind::kSum;
        sum.sum_input = other;
        node.post_ops.push_back(sum);
        has_sum = true;
        // The conv now reads `other` in place of the Add.
        std::replace(consumers[other].begin(), consumers[other].end(), j, i);
      } else {
        break;
      }
      node.outputs[0] = next.outputs[0];
      producer[node.outputs[0]] = i;
      alive[j] = false;
    }
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (alive[i]) kept.push_back(std::move(nodes[i]));
  }
  nodes = std::move(kept);
  return out;
}

}  // namespace mixq
