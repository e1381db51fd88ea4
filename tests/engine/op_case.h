// Runs one op of engine/ops/ the two ways a model meets it: on a runtime
// float32 input through Specialize() and the executor, and on a constant
// input (int64 or any type) that Specialize() folds with the host kernel.
// Tests compare both with a naive reference.
#ifndef MIXQ_TESTS_ENGINE_OP_CASE_H_
#define MIXQ_TESTS_ENGINE_OP_CASE_H_

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/passes/specialize.h"
#include "tests/engine/graph_builder.h"
#include "tests/engine/onnx_test_util.h"

namespace mixq::testing {

inline Tensor Ints(const std::vector<int64_t>& values) {
  Tensor t(DType::kI64, {static_cast<int64_t>(values.size())});
  for (size_t i = 0; i < values.size(); ++i) t.data<int64_t>()[i] = values[i];
  return t;
}

inline Tensor Floats(const std::vector<float>& values) {
  Tensor t(DType::kF32, {static_cast<int64_t>(values.size())});
  for (size_t i = 0; i < values.size(); ++i) t.data<float>()[i] = values[i];
  return t;
}

// 0, 1, 2, ... (minus an offset, so some values are negative) in `dtype`.
inline Tensor Iota(DType dtype, const Shape& shape, int64_t offset = 7) {
  Tensor t(dtype, shape);
  for (int64_t i = 0; i < t.size(); ++i) t.SetFromInt(i, i - offset);
  return t;
}

inline Tensor RandomFloats(const Shape& shape, uint32_t seed = 42) {
  Tensor t(DType::kF32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2.f, 2.f);
  for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

// One node reading "x" and then `params` (constant inputs; an empty name
// leaves the slot omitted), with `outputs` outputs y0, y1, ...
struct OpCase {
  OpType op = OpType::kIdentity;
  Attributes attrs;
  std::vector<std::pair<std::string, Tensor>> params;
  int outputs = 1;

  Graph MakeGraph(const Tensor* constant_x, const Shape& x_shape) const {
    Graph g;
    g.source = "op_case.onnx";
    g.opset = 18;
    Node node;
    node.name = "op";
    node.op = op;
    node.attrs = attrs;
    node.inputs.push_back("x");
    if (constant_x != nullptr) {
      g.constants["x"] = *constant_x;
      g.values["x"] = {constant_x->dtype(), constant_x->shape()};
    } else {
      g.inputs.push_back("x");
      g.values["x"] = {DType::kF32, x_shape};
    }
    for (const auto& [name, value] : params) {
      node.inputs.push_back(name);
      if (name.empty()) continue;
      g.constants[name] = value;
      g.values[name] = {value.dtype(), value.shape()};
    }
    for (int i = 0; i < outputs; ++i) {
      node.outputs.push_back("y" + std::to_string(i));
      g.outputs.push_back(node.outputs.back());
    }
    g.nodes.push_back(std::move(node));
    return g;
  }

  // The outputs for a runtime float32 `x`, through the executor.
  std::vector<Tensor> RunAtRuntime(const Tensor& x,
                                   std::vector<std::string>* steps = nullptr) const {
    auto g = Specialize(MakeGraph(nullptr, x.shape()), {{"x", x.shape()}});
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    if (!g.ok()) return {};
    EXPECT_EQ(g->nodes.size(), 1u) << "the node should still run at run time";
    return RunGraph(*g, {&x}, {}, steps);
  }

  // The outputs for a constant `x`, folded by Specialize() (the node must
  // disappear into constants of the output type).
  std::vector<Tensor> Fold(const Tensor& x) const {
    auto g = Specialize(MakeGraph(&x, x.shape()), {});
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    if (!g.ok()) return {};
    EXPECT_TRUE(g->nodes.empty()) << "the node should fold";
    std::vector<Tensor> out;
    for (const std::string& name : g->outputs) {
      auto it = g->constants.find(name);
      EXPECT_NE(it, g->constants.end()) << name << " is not a constant";
      out.push_back(it == g->constants.end() ? Tensor() : it->second);
    }
    return out;
  }
};

// Exact equality of shape, type and every value (integers, copies).
inline void ExpectSame(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  int bad = 0;
  for (int64_t i = 0; i < want.size(); ++i) {
    if (got.FloatAt(i) != want.FloatAt(i) && ++bad <= 5) {
      ADD_FAILURE() << what << ": element " << i << " is " << got.FloatAt(i) << ", want "
                    << want.FloatAt(i);
    }
  }
}

// Imports `model`, specialises its input "x" to x's shape and runs it.
inline std::vector<Tensor> RunModel(const onnx::ModelProto& model, const Tensor& x) {
  auto graph = ImportOnnxFromBytes(Serialize(model), "model.onnx");
  EXPECT_TRUE(graph.ok()) << graph.status().ToString();
  if (!graph.ok()) return {};
  auto g = Specialize(*graph, {{"x", x.shape()}});
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  if (!g.ok()) return {};
  return RunGraph(*g, {&x});
}

}  // namespace mixq::testing

#endif  // MIXQ_TESTS_ENGINE_OP_CASE_H_
