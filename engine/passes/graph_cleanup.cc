#include "engine/passes/graph_cleanup.h"

#include <algorithm>
#include <string>
#include <unordered_set>
#include <vector>

#include "engine/ir/node_error.h"

namespace mixq {
namespace {

bool IsGraphOutput(const Graph& graph, const std::string& value) {
  return std::find(graph.outputs.begin(), graph.outputs.end(), value) != graph.outputs.end();
}

void RenameUses(Graph* graph, const std::string& from, const std::string& to) {
  for (Node& node : graph->nodes) {
    std::replace(node.inputs.begin(), node.inputs.end(), from, to);
  }
}

Node* MutableProducer(Graph* graph, const std::string& value) {
  for (Node& node : graph->nodes) {
    if (std::find(node.outputs.begin(), node.outputs.end(), value) != node.outputs.end()) {
      return &node;
    }
  }
  return nullptr;
}

void MakeCopy(Graph* graph, Node* node) {
  const Shape shape = graph->values.at(node->inputs[0]).shape;
  node->op = OpType::kReshape;
  node->inputs.resize(1);
  node->outputs.resize(1);
  node->attrs = Attributes();
  node->attrs.Set("shape", shape);
  node->attrs.Set("allowzero", int64_t{1});
}

}  // namespace

Status RemoveIdentities(Graph* graph) {
  std::vector<bool> remove(graph->nodes.size(), false);
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    Node& node = graph->nodes[i];
    if (node.op != OpType::kIdentity && node.op != OpType::kDropout) continue;
    if (node.outputs.size() > 1 && !node.outputs[1].empty()) {
      const std::string& mask = node.outputs[1];
      bool used = IsGraphOutput(*graph, mask);
      for (const Node& other : graph->nodes) {
        used = used || std::count(other.inputs.begin(), other.inputs.end(), mask) > 0;
      }
      if (used) {
        return NodeError(StatusCode::kUnimplemented, *graph, node,
                         "the mask output '" + mask +
                             "' is used; only inference Dropout is "
                             "supported");
      }
      graph->values.erase(mask);
    }
    const std::string in = node.inputs[0];
    const std::string out = node.outputs[0];
    if (!IsGraphOutput(*graph, out)) {
      RenameUses(graph, out, in);
      graph->values.erase(out);
      remove[i] = true;
      continue;
    }
    if (graph->IsConstant(in)) {
      graph->constants[out] = graph->constants.at(in);
      remove[i] = true;
      continue;
    }
    Node* producer = MutableProducer(graph, in);
    if (producer == nullptr || IsGraphOutput(*graph, in)) {
      MakeCopy(graph, &node);
      continue;
    }
    // Keep the graph output's name: the producer writes it directly.
    std::replace(producer->outputs.begin(), producer->outputs.end(), in, out);
    remove[i] = true;  // before RenameUses, which would rewrite this node too
    RenameUses(graph, in, out);
    graph->values[out] = graph->values.at(in);
    graph->values.erase(in);
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    if (!remove[i]) kept.push_back(std::move(graph->nodes[i]));
  }
  graph->nodes = std::move(kept);
  return Status::Ok();
}

void LowerReshapes(Graph* graph) {
  for (Node& node : graph->nodes) {
    if (node.op != OpType::kFlatten && node.op != OpType::kSqueeze &&
        node.op != OpType::kUnsqueeze && node.op != OpType::kReshape) {
      continue;
    }
    const Shape shape = graph->values.at(node.outputs[0]).shape;
    node.op = OpType::kReshape;
    node.inputs.resize(1);
    node.attrs = Attributes();
    node.attrs.Set("shape", shape);
    node.attrs.Set("allowzero", int64_t{1});
  }
}

void RemoveDeadCode(Graph* graph) {
  std::unordered_set<std::string> needed(graph->outputs.begin(), graph->outputs.end());
  std::vector<bool> keep(graph->nodes.size(), false);
  for (size_t i = graph->nodes.size(); i-- > 0;) {
    const Node& node = graph->nodes[i];
    for (const std::string& out : node.outputs) keep[i] = keep[i] || needed.count(out) > 0;
    if (keep[i]) needed.insert(node.inputs.begin(), node.inputs.end());
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    if (keep[i]) kept.push_back(std::move(graph->nodes[i]));
  }
  graph->nodes = std::move(kept);

  std::unordered_set<std::string> referenced(graph->inputs.begin(), graph->inputs.end());
  referenced.insert(graph->outputs.begin(), graph->outputs.end());
  for (const Node& node : graph->nodes) {
    referenced.insert(node.inputs.begin(), node.inputs.end());
    referenced.insert(node.outputs.begin(), node.outputs.end());
  }
  for (auto it = graph->constants.begin(); it != graph->constants.end();) {
    it = referenced.count(it->first) ? std::next(it) : graph->constants.erase(it);
  }
  for (auto it = graph->values.begin(); it != graph->values.end();) {
    it = referenced.count(it->first) ? std::next(it) : graph->values.erase(it);
  }
}

}  // namespace mixq
