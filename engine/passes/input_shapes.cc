#include "engine/passes/input_shapes.h"

#include <algorithm>

namespace mixq {
namespace {

// "'x', 'mask'".
std::string InputList(const Graph& graph) {
  std::string list;
  for (const std::string& input : graph.inputs) list += (list.empty() ? "'" : ", '") + input + "'";
  return list.empty() ? "none" : list;
}

// OK when `given` fits `declared`: the same rank, equal where declared static.
Status CheckFits(const std::string& input, const Shape& declared, const Shape& given) {
  std::string why;
  if (declared.size() != given.size()) {
    why = "it has " + std::to_string(given.size()) + " dims, the input " +
          std::to_string(declared.size());
  } else {
    for (size_t i = 0; i < declared.size() && why.empty(); ++i) {
      if (declared[i] >= 0 && declared[i] != given[i]) {
        why = "dim " + std::to_string(i) + " is " + std::to_string(declared[i]);
      }
    }
  }
  if (why.empty()) return Status::Ok();
  return InvalidArgument("input '" + input + "' is declared " + ShapeToString(declared) +
                         "; the given " + ShapeToString(given) + " does not fit (" + why + ")");
}

}  // namespace

StatusOr<InputShapes> ResolveInputShapes(const Graph& graph, const InputShapes& shapes) {
  InputShapes resolved;
  for (const auto& [key, shape] : shapes) {
    if (key.empty() && graph.inputs.empty()) {
      return InvalidArgument("a shape is given for the first input, but the model has no inputs");
    }
    const std::string& name = key.empty() ? graph.inputs[0] : key;
    if (std::find(graph.inputs.begin(), graph.inputs.end(), name) == graph.inputs.end()) {
      return InvalidArgument(
          "'" + name + "' is not an input of the model (its inputs: " + InputList(graph) + ")");
    }
    if (!resolved.emplace(name, shape).second) {
      return InvalidArgument("input '" + name +
                             "' is given twice (by name and as the first input)");
    }
    MIXQ_RETURN_IF_ERROR(CheckInputShape(shape).WithContext("input '" + name + "'"));
    if (const ValueInfo* declared = graph.FindValue(name)) {
      MIXQ_RETURN_IF_ERROR(CheckFits(name, declared->shape, shape));
    }
  }
  return resolved;
}

Status FixInputShapes(const InputShapes& shapes, Graph* graph) {
  MIXQ_ASSIGN_OR_RETURN(InputShapes resolved, ResolveInputShapes(*graph, shapes));
  for (auto& [name, shape] : resolved) {
    ValueInfo& info = graph->values[name];  // an input without a declared shape: float32
    if (!info.shape.empty() && (name == graph->inputs[0] || info.shape[0] < 0)) {
      shape[0] = info.shape[0];
    }
    info.shape = shape;
  }
  return Status::Ok();
}

std::optional<int64_t> GivenBatch(const Graph& graph, const InputShapes& shapes) {
  StatusOr<InputShapes> resolved = ResolveInputShapes(graph, shapes);
  if (!resolved.ok() || graph.inputs.empty()) return std::nullopt;
  auto it = resolved->find(graph.inputs[0]);
  if (it == resolved->end()) return std::nullopt;
  return it->second[0];
}

}  // namespace mixq
