// One-line error messages for graph passes: every failure that concerns a
// node reads "<file>: node '<name>' (<OpType>): <reason>", so a user can find
// the node in a model viewer.
#ifndef MIXQ_ENGINE_IR_NODE_ERROR_H_
#define MIXQ_ENGINE_IR_NODE_ERROR_H_

#include <string>

#include "common/status.h"
#include "engine/ir/graph.h"

namespace mixq {

Status NodeError(StatusCode code, const Graph& graph, const Node& node, const std::string& reason);

// Same for a node known only by its ONNX op type string (unsupported ops).
Status NodeError(StatusCode code, const std::string& source, const std::string& node_name,
                 const std::string& op_type, const std::string& reason);

}  // namespace mixq

#endif  // MIXQ_ENGINE_IR_NODE_ERROR_H_
