// Einsum: the equation parser (labels, implicit outputs, ellipsis
// broadcasting, malformed equations), the host kernel on any equation, and
// the executor, which runs two-operand contractions as one oneDNN matmul
// reading its operands through views. References are compositions of the
// plain-loop MatMul and Transpose (reference_ops.h) or loops written here.
#include "engine/ops/einsum.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/onnx/onnx_importer.h"
#include "engine/ops/op_def.h"
#include "engine/passes/shape_inference.h"
#include "engine/passes/specialize.h"
#include "tests/engine/graph_builder.h"
#include "tests/engine/onnx_test_util.h"
#include "tests/engine/reference_ops.h"

namespace mixq {
namespace {

using testing::ExpectClose;
using testing::GraphBuilder;
using testing::RunGraph;

Shape OutputShape(const std::string& equation, const std::vector<Shape>& shapes) {
  auto labels = ResolveEinsum(equation, shapes);
  EXPECT_TRUE(labels.ok()) << equation << ": " << labels.status().ToString();
  if (!labels.ok()) return {-2};
  Shape out;
  for (int l : labels->output) out.push_back(labels->sizes[static_cast<size_t>(l)]);
  return out;
}

// A node `name` of op `op` reading `inputs` and writing "y" (Einsum with
// `equation`).
Node MakeNode(OpType op, const std::string& name, std::vector<std::string> inputs,
              const std::string& equation = "") {
  Node node;
  node.name = name;
  node.op = op;
  node.inputs = std::move(inputs);
  node.outputs = {"y"};
  if (op == OpType::kEinsum) node.attrs.Set("equation", equation);
  return node;
}

TEST(EinsumOp, ResolvesOutputShapes) {
  EXPECT_EQ(OutputShape("bhid,bhjd->bhij", {{2, 3, 4, 8}, {2, 3, 5, 8}}), (Shape{2, 3, 4, 5}));
  EXPECT_EQ(OutputShape("bij, bjk -> bik", {{5, 2, 3}, {5, 3, 4}}), (Shape{5, 2, 4}));
  // Implicit outputs: the letters that occur once, in ASCII order.
  EXPECT_EQ(OutputShape("ij,jk", {{2, 3}, {3, 4}}), (Shape{2, 4}));
  EXPECT_EQ(OutputShape("ba", {{2, 3}}), (Shape{3, 2}));
  EXPECT_EQ(OutputShape("ii", {{3, 3}}), Shape{});
  EXPECT_EQ(OutputShape("i,i", {{5}, {5}}), Shape{});
  EXPECT_EQ(OutputShape("Ba,aC", {{2, 3}, {3, 4}}), (Shape{2, 4}));  // 'B' < 'C'
  // Ellipsis dims broadcast right-aligned and lead an implicit output.
  EXPECT_EQ(OutputShape("...id,...jd->...ij", {{2, 1, 4, 8}, {3, 5, 8}}), (Shape{2, 3, 4, 5}));
  EXPECT_EQ(OutputShape("...ij,...jk", {{7, 2, 3}, {3, 4}}), (Shape{7, 2, 4}));
  EXPECT_EQ(OutputShape("...ii->...i", {{3, 5, 5}}), (Shape{3, 5}));
  EXPECT_EQ(OutputShape("i...->i", {{4, 2, 3}}), (Shape{4}));  // ellipsis summed
  // Unknown dims stay unknown where no other operand fixes them.
  EXPECT_EQ(OutputShape("bij,jk->bik", {{-1, 2, 3}, {3, 4}}), (Shape{-1, 2, 4}));
}

TEST(EinsumOp, RefusesMalformedEquations) {
  struct Case {
    std::string equation;
    std::vector<Shape> shapes;
  };
  const std::vector<Case> cases = {
      {"ij,jk->il", {{2, 3}, {3, 4}}},  // l in no operand
      {"ij->ii", {{2, 2}}},             // repeated output label
      {"ij,jk", {{2, 3}, {4, 5}}},      // j is 3 and 4
      {"ii", {{2, 3}}},                 // a diagonal of unequal dims
      {"ijk", {{2, 3}}},                // rank 2 for three labels
      {"ij", {{2, 3, 4}}},              // rank 3 for two labels, no ellipsis
      {"...i...", {{2, 3}}},            // two ellipses
      {"i1", {{2, 3}}},                 // not a letter
      {"ij,jk->ik", {{2, 3}}},          // two terms, one operand
      {"...i,...i", {{2, 3}, {4, 3}}},  // ellipsis dims 2 and 4
  };
  for (const Case& c : cases) {
    auto labels = ResolveEinsum(c.equation, c.shapes);
    EXPECT_EQ(labels.status().code(), StatusCode::kInvalidArgument) << c.equation;
  }
  // The shape rule names the node.
  Graph graph;
  graph.source = "m.onnx";
  graph.values["a"] = {DType::kF32, {2, 3}};
  Node node = MakeNode(OpType::kEinsum, "attn", {"a"}, "ijk->i");
  auto inferred = InferNodeShapes(&graph, &node, true);
  EXPECT_EQ(inferred.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(inferred.status().message().find("node 'attn' (Einsum)"), std::string::npos)
      << inferred.status().ToString();
}

Tensor Sequence(const Shape& shape, DType dtype = DType::kF32) {
  Tensor t(dtype, shape);
  for (int64_t i = 0; i < t.size(); ++i) t.SetFromDouble(i, static_cast<double>((i * 7) % 11) - 5);
  return t;
}

// Runs the host kernel of an Einsum over `inputs`.
Tensor Host(const std::string& equation, const std::vector<Tensor>& inputs) {
  Graph graph;
  Node node = MakeNode(OpType::kEinsum, "einsum", {}, equation);
  std::vector<const Tensor*> pointers;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string name = "in" + std::to_string(i);
    graph.values[name] = {inputs[i].dtype(), inputs[i].shape()};
    graph.constants[name] = inputs[i];
    node.inputs.push_back(name);
    pointers.push_back(&inputs[i]);
  }
  auto inferred = InferNodeShapes(&graph, &node, true);
  EXPECT_TRUE(inferred.ok()) << inferred.status().ToString();
  if (!inferred.ok()) return Tensor();
  auto out = RunHostKernel(node, pointers, {graph.values.at("y")}, SerialParallelism());
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? (*out)[0] : Tensor();
}

TEST(EinsumOp, HostKernelMatchesReferences) {
  GraphBuilder g;
  const Tensor a = g.Random({3, 4}), sq = g.Random({4, 4}), v = g.Random({5}), w = g.Random({5});
  const Tensor batch_sq = g.Random({2, 3, 4, 4});
  const Tensor x = g.Random({2, 3, 4}), y = g.Random({2, 4, 5}), z = g.Random({5, 6});
  const Tensor lin = g.Random({6, 4});

  ExpectClose(Host("ij->ji", {a}), ref::Transpose(a, {1, 0}));
  Tensor row_sums(DType::kF32, {3}), diag(DType::kF32, {4}), trace(DType::kF32, {});
  Tensor batch_diag(DType::kF32, {2, 3, 4}), dot(DType::kF32, {});
  for (int64_t i = 0; i < 12; ++i) row_sums.data<float>()[i / 4] += a.data<float>()[i];
  for (int64_t i = 0; i < 4; ++i) {
    diag.data<float>()[i] = sq.data<float>()[i * 5];
    trace.data<float>()[0] += sq.data<float>()[i * 5];
  }
  for (int64_t b = 0; b < 6; ++b)
    for (int64_t i = 0; i < 4; ++i)
      batch_diag.data<float>()[b * 4 + i] = batch_sq.data<float>()[b * 16 + i * 5];
  for (int64_t i = 0; i < 5; ++i) dot.data<float>()[0] += v.data<float>()[i] * w.data<float>()[i];
  ExpectClose(Host("ij->i", {a}), row_sums);
  ExpectClose(Host("ii->i", {sq}), diag);
  ExpectClose(Host("ii", {sq}), trace);
  ExpectClose(Host("...ii->...i", {batch_sq}), batch_diag);
  ExpectClose(Host("i,i", {v, w}), dot);
  ExpectClose(Host("bij,bjk->bik", {x, y}), ref::MatMul(x, y, {2, 3, 5}));
  ExpectClose(Host("bij,bjk,kl->bil", {x, y, z}),
              ref::MatMul(ref::MatMul(x, y, {2, 3, 5}), z, {2, 3, 6}));
  ExpectClose(Host("bid,jd->bij", {x, lin}),
              ref::MatMul(x, ref::Transpose(lin, {1, 0}), {2, 3, 6}));
  // Integers compute exactly in their own type.
  const Tensor ia = Sequence({3, 4}, DType::kI64), ib = Sequence({4, 2}, DType::kI64);
  const Tensor product = Host("ij,jk->ik", {ia, ib});
  ASSERT_EQ(product.dtype(), DType::kI64);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t k = 0; k < 2; ++k) {
      int64_t want = 0;
      for (int64_t j = 0; j < 4; ++j) want += ia.IntAt(i * 4 + j) * ib.IntAt(j * 2 + k);
      EXPECT_EQ(product.IntAt(i * 2 + k), want);
    }
}

int CountSteps(const std::vector<std::string>& describe, const std::string& kind) {
  return static_cast<int>(std::count_if(
      describe.begin(), describe.end(),
      [&](const std::string& l) { return l.find("  " + kind + "  ") != std::string::npos; }));
}

struct ExecutorCase {
  std::string equation;
  Shape a, b, y;
  bool b_const;
  int reorders;  // copies the matmul needs (an operand whose layout does not merge)
};

// The contractions exporters emit for attention and linear layers, and a
// few others, with their plain-loop references.
TEST(EinsumExecutor, ContractionsRunAsOneMatMul) {
  const std::vector<ExecutorCase> cases = {
      {"bhid,bhjd->bhij", {2, 3, 4, 8}, {2, 3, 5, 8}, {2, 3, 4, 5}, false, 0},
      {"bhij,bhjd->bhid", {2, 3, 4, 5}, {2, 3, 5, 8}, {2, 3, 4, 8}, false, 0},
      {"bij,bjk->bik", {5, 2, 3}, {5, 3, 4}, {5, 2, 4}, false, 0},
      {"ij,jk->ik", {6, 7}, {7, 3}, {6, 3}, true, 0},
      {"bid,jd->bij", {2, 4, 8}, {5, 8}, {2, 4, 5}, true, 0},
      {"...id,...jd->...ij", {2, 1, 4, 8}, {3, 5, 8}, {2, 3, 4, 5}, false, 0},
      {"ij,kj->ki", {4, 6}, {3, 6}, {3, 4}, false, 0},
      {"ij,ij->", {4, 6}, {4, 6}, {}, false, 0},
      {"i,j->ij", {4}, {3}, {4, 3}, false, 0},
      // i and a are M but not adjacent in A: A is copied into [i, a, j].
      {"aij,jk->iak", {2, 3, 4}, {4, 5}, {3, 2, 5}, true, 1},
  };
  for (const ExecutorCase& c : cases) {
    SCOPED_TRACE(c.equation);
    GraphBuilder g;
    Tensor a = g.Input("a", c.a);
    Tensor b = c.b_const ? g.Const("b", g.Random(c.b)) : g.Input("b", c.b);
    g.Op(OpType::kEinsum, "einsum", {"a", "b"}, c.y).attrs.Set("equation", c.equation);
    g.Output("einsum");
    std::vector<const Tensor*> feeds = {&a};
    if (!c.b_const) feeds.push_back(&b);
    std::vector<std::string> describe;
    std::vector<Tensor> out = RunGraph(g.graph(), feeds, {}, &describe);
    ASSERT_EQ(out.size(), 1u);
    Tensor want;
    const std::string& e = c.equation;
    if (e == "bhid,bhjd->bhij" || e == "...id,...jd->...ij") {
      want = ref::MatMul(a,
                         ref::Transpose(b, c.b.size() == 4 ? std::vector<int64_t>{0, 1, 3, 2}
                                                           : std::vector<int64_t>{0, 2, 1}),
                         c.y);
    } else if (e == "bid,jd->bij") {
      want = ref::MatMul(a, ref::Transpose(b, {1, 0}), c.y);
    } else if (e == "ij,kj->ki") {
      want = ref::Transpose(ref::MatMul(a, ref::Transpose(b, {1, 0}), {4, 3}), {1, 0});
    } else if (e == "ij,ij->") {
      want = Tensor(DType::kF32, {});
      for (int64_t i = 0; i < a.size(); ++i)
        want.data<float>()[0] += a.data<float>()[i] * b.data<float>()[i];
    } else if (e == "i,j->ij") {
      Tensor column(a), row(b);
      column.Reshape({4, 1});
      row.Reshape({1, 3});
      want = ref::MatMul(column, row, c.y);
    } else if (e == "aij,jk->iak") {
      want = ref::Transpose(ref::MatMul(a, b, {2, 3, 5}), {1, 0, 2});
    } else {
      want = ref::MatMul(a, b, c.y);
    }
    ExpectClose(out[0], want);
    EXPECT_EQ(CountSteps(describe, "matmul"), 1);
    EXPECT_EQ(CountSteps(describe, "host"), 0);
    // The output is reordered out to the caller; any other reorder is a copy.
    EXPECT_EQ(CountSteps(describe, "reorder"), 1 + c.reorders);
  }
}

// What a matmul cannot do runs on the host kernel inside the executor.
TEST(EinsumExecutor, OtherEquationsRunOnTheHostKernel) {
  struct Case {
    std::string equation;
    std::vector<Shape> shapes;
    Shape y;
  };
  const std::vector<Case> cases = {
      {"ij->ji", {{3, 4}}, {4, 3}},
      {"ij,jk->i", {{3, 4}, {4, 5}}, {3}},  // k summed inside B
      {"ij,jj->i", {{3, 4}, {4, 4}}, {3}},  // a diagonal of B
      {"ij,jk,kl->il", {{2, 3}, {3, 4}, {4, 5}}, {2, 5}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.equation);
    GraphBuilder g;
    std::vector<Tensor> inputs;
    std::vector<std::string> names;
    for (size_t i = 0; i < c.shapes.size(); ++i) {
      names.push_back("in" + std::to_string(i));
      inputs.push_back(g.Input(names.back(), c.shapes[i]));
    }
    g.Op(OpType::kEinsum, "einsum", names, c.y).attrs.Set("equation", c.equation);
    g.Output("einsum");
    std::vector<const Tensor*> feeds;
    for (const Tensor& t : inputs) feeds.push_back(&t);
    std::vector<std::string> describe;
    std::vector<Tensor> out = RunGraph(g.graph(), feeds, {}, &describe);
    ASSERT_EQ(out.size(), 1u);
    ExpectClose(out[0], Host(c.equation, inputs));
    EXPECT_EQ(CountSteps(describe, "host"), 1);
  }
}

// float64 operands (as ONNX's own Einsum tests have) are graph inputs that
// only host kernels read; a node that would hand one to oneDNN is refused.
TEST(EinsumExecutor, Float64InputsRunOnTheHostKernel) {
  Graph graph;
  graph.inputs = {"a", "b"};
  graph.values["a"] = {DType::kF64, {2, 3}};
  graph.values["b"] = {DType::kF64, {3, 4}};
  graph.values["y"] = {DType::kF64, {2, 4}};
  graph.nodes.push_back(MakeNode(OpType::kEinsum, "einsum", {"a", "b"}, "ij,jk->ik"));
  graph.outputs = {"y"};
  const Tensor a = Sequence({2, 3}, DType::kF64), b = Sequence({3, 4}, DType::kF64);
  std::vector<std::string> describe;
  std::vector<Tensor> y = RunGraph(graph, {&a, &b}, {}, &describe);
  ASSERT_EQ(y.size(), 1u);
  ASSERT_EQ(y[0].dtype(), DType::kF32);  // graph outputs are float32
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t k = 0; k < 4; ++k) {
      double want = 0;
      for (int64_t j = 0; j < 3; ++j) want += a.FloatAt(i * 3 + j) * b.FloatAt(j * 4 + k);
      EXPECT_EQ(y[0].FloatAt(i * 4 + k), want);
    }
  EXPECT_EQ(CountSteps(describe, "host"), 2);  // the Einsum and the conversion to float32

  graph.values["r"] = {DType::kF64, {2, 4}};
  Node relu = MakeNode(OpType::kRelu, "relu", {"y"});
  relu.outputs = {"r"};
  graph.nodes.push_back(relu);
  graph.outputs = {"r"};
  auto refused = CompiledModel::Compile(graph, {});
  EXPECT_EQ(refused.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(refused.status().message().find("node 'relu' (Relu)"), std::string::npos)
      << refused.status().ToString();
}

// A linear layer as exported: Einsum with a constant weight, float input,
// through import and specialisation.
TEST(EinsumOnnx, LinearLayerImportsAndRuns) {
  GraphBuilder g;
  const Tensor w = g.Random({6, 8});
  onnx::ModelProto model = testing::NewModel(12);
  testing::AddInput(&model, "x", {-1, 4, 8});
  testing::AddOutput(&model, "y", {-1, 4, 6});
  testing::AddFloatInitializer(&model, "w", {6, 8},
                               std::vector<float>(w.data<float>(), w.data<float>() + w.size()));
  onnx::NodeProto* node = testing::AddNode(&model, "Einsum", {"x", "w"}, {"y"}, "linear");
  auto* attr = node->add_attribute();
  attr->set_name("equation");
  attr->set_type(onnx::AttributeProto::STRING);
  attr->set_s("bid,jd->bij");
  auto graph = ImportOnnxFromBytes(model.SerializeAsString(), "linear.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  auto specialised = SpecializeForBatch(*graph, 3);
  ASSERT_TRUE(specialised.ok()) << specialised.status().ToString();
  const Tensor x = g.Random({3, 4, 8});
  std::vector<Tensor> y = RunGraph(*specialised, {&x});
  ASSERT_EQ(y.size(), 1u);
  ExpectClose(y[0], ref::MatMul(x, ref::Transpose(w, {1, 0}), {3, 4, 6}));
}

}  // namespace
}  // namespace mixq
