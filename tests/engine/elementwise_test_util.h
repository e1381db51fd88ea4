// Helpers for the element-wise op tests: run a hand-built graph the way a
// model runs (Specialize(), then the executor), fold one built of constants,
// and a naive broadcasting reference in double.
#ifndef MIXQ_TESTS_ENGINE_ELEMENTWISE_TEST_UTIL_H_
#define MIXQ_TESTS_ENGINE_ELEMENTWISE_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/passes/specialize.h"
#include "engine/runtime/executor.h"
#include "tests/engine/graph_builder.h"
#include "tests/engine/reference_ops.h"

namespace mixq::testing {

struct RunResult {
  std::vector<Tensor> outputs;  // float32, as the executor hands them out
  std::vector<StepInfo> steps;
  Graph specialised;
};

// Specialises `graph` to its inputs' declared shapes, compiles and runs it
// on `inputs` (in graph input order); fails the test on error.
inline RunResult SpecializeAndRun(const Graph& graph, const std::vector<const Tensor*>& inputs,
                                  ExecutorOptions options = {}) {
  RunResult result;
  std::map<std::string, Shape> shapes;
  for (const std::string& name : graph.inputs) shapes[name] = graph.values.at(name).shape;
  auto specialised = Specialize(graph, shapes);
  EXPECT_TRUE(specialised.ok()) << specialised.status().ToString();
  if (!specialised.ok()) return result;
  result.specialised = *specialised;
  auto model = CompiledModel::Compile(*specialised, options);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  if (!model.ok()) return result;
  result.outputs = (*model)->MakeOutputs();
  Status status = (*model)->Run(inputs, &result.outputs);
  EXPECT_TRUE(status.ok()) << status.ToString();
  result.steps = (*model)->steps();
  return result;
}

// The kinds of the steps ("eltwise", "binary", "host", ...) of node `name`.
inline std::vector<std::string> StepKinds(const RunResult& run, const std::string& name) {
  std::vector<std::string> kinds;
  for (const StepInfo& step : run.steps) {
    if (step.node == name) kinds.push_back(step.kind);
  }
  return kinds;
}

// True when node `name` ran, on steps of `kind` only (and the reorders that
// bring its inputs to the layout they need).
inline bool RunsOn(const RunResult& run, const std::string& name, const std::string& kind) {
  bool any = false;
  for (const std::string& k : StepKinds(run, name)) {
    if (k != kind && k != "reorder") return false;
    any = any || k == kind;
  }
  return any;
}

// Specialises a graph of constants only and returns the folded value of
// `output` (the graph must keep no node).
inline Tensor Fold(const Graph& graph, const std::string& output) {
  auto specialised = Specialize(graph, {});
  EXPECT_TRUE(specialised.ok()) << specialised.status().ToString();
  if (!specialised.ok()) return Tensor();
  EXPECT_TRUE(specialised->nodes.empty()) << "a node was not folded";
  auto it = specialised->constants.find(output);
  EXPECT_NE(it, specialised->constants.end()) << output << " is not a constant";
  return it == specialised->constants.end() ? Tensor() : it->second;
}

// Specialize() must refuse `graph` (its inputs at `shapes`) with a message
// that contains `text`.
inline void ExpectRefused(const Graph& graph, const std::map<std::string, Shape>& shapes,
                          const std::string& text) {
  auto refused = Specialize(graph, shapes);
  ASSERT_FALSE(refused.ok()) << "not refused: " << text;
  EXPECT_NE(refused.status().message().find(text), std::string::npos) << refused.status().message();
}

// A constant of `dtype` and `shape` holding `values` (converted).
inline Tensor Values(DType dtype, const Shape& shape, const std::vector<double>& values) {
  Tensor t(dtype, shape);
  for (int64_t i = 0; i < t.size(); ++i) t.SetFromDouble(i, values[i % values.size()]);
  return t;
}

// Adds `t` as a constant of its own type.
inline void AddTypedConst(GraphBuilder* b, const std::string& name, const Tensor& t) {
  b->Const(name, t);
  b->graph().values[name].dtype = t.dtype();
}

// A reference op: the output element from the operands' elements.
using BroadcastFn = std::function<double(const std::vector<double>&)>;

// out[i] = f(operand values at i), numpy broadcasting, computed in double
// and stored as `dtype`.
inline Tensor BroadcastReference(const std::vector<const Tensor*>& operands, const Shape& out,
                                 DType dtype, const BroadcastFn& f) {
  Tensor y(dtype, out);
  std::vector<double> args(operands.size());
  for (int64_t i = 0; i < y.size(); ++i) {
    for (size_t k = 0; k < operands.size(); ++k) {
      args[k] = operands[k]->FloatAt(ref::BroadcastIndex(out, operands[k]->shape(), i));
    }
    y.SetFromDouble(i, f(args));
  }
  return y;
}

// Element-wise equality of two tensors read as doubles (any dtypes).
inline void ExpectSameValues(const Tensor& got, const Tensor& want) {
  ASSERT_EQ(got.shape(), want.shape());
  int bad = 0;
  for (int64_t i = 0; i < want.size(); ++i) {
    if (got.FloatAt(i) != want.FloatAt(i) && ++bad <= 5) {
      ADD_FAILURE() << "element " << i << ": got " << got.FloatAt(i) << ", want "
                    << want.FloatAt(i);
    }
  }
  EXPECT_EQ(bad, 0) << "of " << want.size() << " elements";
}

}  // namespace mixq::testing

#endif  // MIXQ_TESTS_ENGINE_ELEMENTWISE_TEST_UTIL_H_
