#include "engine/passes/common_subexpressions.h"

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace mixq {
namespace {

// What two nodes must share, beside their attributes, to compute the same
// values: the op, the inputs in order and the number of outputs.
using NodeKey = std::tuple<OpType, std::vector<std::string>, size_t>;

NodeKey KeyOf(const Node& node) { return {node.op, node.inputs, node.outputs.size()}; }

}  // namespace

int MergeCommonSubexpressions(Graph* graph) {
  const std::set<std::string> graph_outputs(graph->outputs.begin(), graph->outputs.end());
  std::unordered_map<std::string, std::string> renamed;  // removed value -> kept value
  std::map<NodeKey, std::vector<size_t>> seen;           // kept nodes by key
  std::vector<Node> kept;
  kept.reserve(graph->nodes.size());
  int removed = 0;
  for (Node& node : graph->nodes) {
    for (std::string& input : node.inputs) {
      auto it = renamed.find(input);
      if (it != renamed.end()) input = it->second;
    }
    bool mergeable = !IsQuantizable(node.op) && node.post_ops.empty() && !node.outputs.empty();
    for (const std::string& output : node.outputs) {
      mergeable = mergeable && !graph_outputs.count(output);
    }
    if (mergeable) {
      std::vector<size_t>& same_key = seen[KeyOf(node)];
      const Node* earlier = nullptr;
      for (size_t k : same_key) {
        if (kept[k].attrs.map() == node.attrs.map()) earlier = &kept[k];
      }
      if (earlier != nullptr) {
        for (size_t k = 0; k < node.outputs.size(); ++k) {
          renamed[node.outputs[k]] = earlier->outputs[k];
          graph->values.erase(node.outputs[k]);
        }
        ++removed;
        continue;
      }
      same_key.push_back(kept.size());
    }
    kept.push_back(std::move(node));
  }
  graph->nodes = std::move(kept);
  return removed;
}

}  // namespace mixq
