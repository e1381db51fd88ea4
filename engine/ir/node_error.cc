#include "engine/ir/node_error.h"

namespace mixq {

Status NodeError(StatusCode code, const Graph& graph, const Node& node, const std::string& reason) {
  return NodeError(code, graph.source, node.name, OpTypeName(node.op), reason);
}

Status NodeError(StatusCode code, const std::string& source, const std::string& node_name,
                 const std::string& op_type, const std::string& reason) {
  // Status makes the message one line whatever the names quote (status.h).
  return Status(code, source + ": node '" + node_name + "' (" + op_type + "): " + reason);
}

}  // namespace mixq
