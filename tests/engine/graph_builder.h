// Builds small specialised graphs by hand for executor tests, with random
// constants and inputs from a fixed seed.
#ifndef MIXQ_TESTS_ENGINE_GRAPH_BUILDER_H_
#define MIXQ_TESTS_ENGINE_GRAPH_BUILDER_H_

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/passes/specialize.h"
#include "engine/runtime/executor.h"

namespace mixq::testing {

class GraphBuilder {
 public:
  Tensor Random(const Shape& shape, float lo = -1.f, float hi = 1.f) {
    Tensor t(DType::kF32, shape);
    std::uniform_real_distribution<float> dist(lo, hi);
    for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = dist(rng_);
    return t;
  }
  // Declares a graph input and returns a random tensor for it.
  Tensor Input(const std::string& name, const Shape& shape) {
    graph_.inputs.push_back(name);
    graph_.values[name] = {DType::kF32, shape};
    return Random(shape);
  }
  const Tensor& Const(const std::string& name, Tensor t) {
    graph_.values[name] = {DType::kF32, t.shape()};
    return graph_.constants[name] = std::move(t);
  }
  // Adds a node named `name` whose single output is `name` with `shape`.
  Node& Op(OpType op, const std::string& name, std::vector<std::string> inputs,
           const Shape& shape) {
    Node node;
    node.name = name;
    node.op = op;
    node.inputs = std::move(inputs);
    node.outputs = {name};
    graph_.values[name] = {DType::kF32, shape};
    graph_.nodes.push_back(std::move(node));
    return graph_.nodes.back();
  }
  void Output(const std::string& name) { graph_.outputs.push_back(name); }
  Graph& graph() { return graph_; }

 private:
  Graph graph_;
  std::mt19937 rng_{1234};
};

// Compiles and runs `graph`; fails the test on error.
inline std::vector<Tensor> RunGraph(const Graph& graph, const std::vector<const Tensor*>& inputs,
                                    ExecutorOptions options = {},
                                    std::vector<std::string>* describe = nullptr) {
  auto model = CompiledModel::Compile(graph, options);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  if (!model.ok()) return {};
  std::vector<Tensor> outputs = (*model)->MakeOutputs();
  Status status = (*model)->Run(inputs, &outputs);
  EXPECT_TRUE(status.ok()) << status.ToString();
  if (describe) *describe = (*model)->Describe();
  return outputs;
}

// Specialises `graph` to `shapes` (Specialize()), then RunGraph(); fails
// the test on error.
inline std::vector<Tensor> SpecializeAndRun(const Graph& graph,
                                            const std::map<std::string, Shape>& shapes,
                                            const std::vector<const Tensor*>& inputs,
                                            ExecutorOptions options = {},
                                            std::vector<std::string>* describe = nullptr) {
  auto specialised = Specialize(graph, shapes);
  EXPECT_TRUE(specialised.ok()) << specialised.status().ToString();
  if (!specialised.ok()) return {};
  return RunGraph(*specialised, inputs, std::move(options), describe);
}

// Every element within 1e-4 relative (absolute below 1).
inline void ExpectClose(const Tensor& actual, const Tensor& expected, float tol = 1e-4f) {
  ASSERT_EQ(actual.shape(), expected.shape());
  int bad = 0;
  for (int64_t i = 0; i < actual.size(); ++i) {
    float a = actual.data<float>()[i], e = expected.data<float>()[i];
    if (!(std::fabs(a - e) <= tol * std::max(1.f, std::fabs(e)))) {
      if (++bad <= 5) ADD_FAILURE() << "element " << i << ": got " << a << ", want " << e;
    }
  }
  EXPECT_EQ(bad, 0) << "of " << actual.size() << " elements";
}

}  // namespace mixq::testing

#endif  // MIXQ_TESTS_ENGINE_GRAPH_BUILDER_H_
