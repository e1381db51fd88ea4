#include "engine/ir/node_error.h"

namespace mixq {

std::string OneLine(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return text;
}

Status NodeError(StatusCode code, const Graph& graph, const Node& node, const std::string& reason) {
  return NodeError(code, graph.source, node.name, OpTypeName(node.op), reason);
}

Status NodeError(StatusCode code, const std::string& source, const std::string& node_name,
                 const std::string& op_type, const std::string& reason) {
  return Status(code, OneLine(source + ": node '" + node_name + "' (" + op_type + "): " + reason));
}

}  // namespace mixq
