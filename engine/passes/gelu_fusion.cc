#include "engine/passes/gelu_fusion.h"

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "engine/passes/rewrite_util.h"

namespace mixq {
namespace {

constexpr double kSqrt2 = 1.4142135623730951;
constexpr double kSqrtHalf = 0.7071067811865476;
constexpr double kSqrt2OverPi = 0.7978845608028654;
constexpr double kCubeCoefficient = 0.044715;
constexpr double kRelativeTolerance = 1e-4;

// One recognised pattern: the nodes it spans (by index; `last` among them)
// and its input x.
struct GeluMatch {
  std::vector<size_t> nodes;
  size_t last = 0;
  std::string x;
  bool tanh = false;
};

// Reads the graph's producer/consumer structure and matches the patterns
// around one Erf or Tanh node at a time.
class GeluMatcher {
 public:
  explicit GeluMatcher(const Graph& graph) : graph_(graph), uses_(graph) {}

  bool Match(size_t index, GeluMatch* match) const {
    const Node& node = graph_.nodes[index];
    if (node.inputs.size() != 1 || node.outputs.size() != 1) return false;
    GeluMatch m;
    m.nodes.push_back(index);
    bool found = false;
    if (node.op == OpType::kErf) {
      found = ErfHead(node.inputs[0], &m);
    } else if (node.op == OpType::kTanh) {
      m.tanh = true;
      found = TanhHead(node.inputs[0], &m);
    }
    if (!found || !Tail(node.outputs[0], &m)) return false;
    const ValueInfo* x = graph_.FindValue(m.x);
    const ValueInfo* y = graph_.FindValue(graph_.nodes[m.last].outputs[0]);
    if (x == nullptr || y == nullptr || x->shape != y->shape ||
        (x->dtype != DType::kF32 && x->dtype != DType::kF64)) {
      return false;
    }
    *match = std::move(m);
    return true;
  }

 private:
  // The node computing `value` when that node has one output and `value`
  // has exactly one consumer and is not a graph output: an intermediate the
  // pattern may absorb.
  const Node* Inner(const std::string& value, std::vector<size_t>* nodes) const {
    const std::optional<size_t> p = uses_.Producer(value);
    if (!p || !uses_.SoleConsumer(value)) return nullptr;
    const Node& node = graph_.nodes[*p];
    if (node.outputs.size() != 1) return nullptr;
    nodes->push_back(*p);
    return &node;
  }

  // The single consumer of `value` (not a graph output), if it is `op` with
  // one output.
  const Node* SoleConsumer(const std::string& value, OpType op, size_t* index) const {
    const std::optional<size_t> c = uses_.SoleConsumer(value);
    if (!c) return nullptr;
    const Node& node = graph_.nodes[*c];
    if (node.op != op || node.outputs.size() != 1) return nullptr;
    *index = *c;
    return &node;
  }

  bool IsScalar(const std::string& value, double want) const {
    auto it = graph_.constants.find(value);
    if (it == graph_.constants.end() || it->second.size() != 1 ||
        it->second.dtype() == DType::kF16 || it->second.dtype() == DType::kBool) {
      return false;
    }
    return std::fabs(it->second.FloatAt(0) - want) <= kRelativeTolerance * std::fabs(want);
  }

  // For a two-input `node`: true when one input is the scalar `want`
  // (the second only, for a non-commutative op), with the other in *other.
  bool WithScalar(const Node* node, OpType op, double want, std::string* other) const {
    if (node == nullptr || node->op != op || node->inputs.size() != 2) return false;
    const bool commutes = op == OpType::kMul || op == OpType::kAdd;
    if (IsScalar(node->inputs[1], want)) {
      *other = node->inputs[0];
      return true;
    }
    if (commutes && IsScalar(node->inputs[0], want)) {
      *other = node->inputs[1];
      return true;
    }
    return false;
  }

  // Two-input `node` whose inputs are `a` and `b` in either order.
  static bool Reads(const Node* node, OpType op, const std::string& a, const std::string& b) {
    return node != nullptr && node->op == op && node->inputs.size() == 2 &&
           ((node->inputs[0] == a && node->inputs[1] == b) ||
            (node->inputs[0] == b && node->inputs[1] == a));
  }

  // Erf's input: x / sqrt(2) or x * (1 / sqrt(2)).
  bool ErfHead(const std::string& d, GeluMatch* m) const {
    const Node* scale = Inner(d, &m->nodes);
    return WithScalar(scale, OpType::kDiv, kSqrt2, &m->x) ||
           WithScalar(scale, OpType::kMul, kSqrtHalf, &m->x);
  }

  // Tanh's input: sqrt(2 / pi) * (x + 0.044715 * x^3), or the same
  // factored as (x * sqrt(2 / pi)) * (1 + 0.044715 * x^2) ("fast" GELU).
  bool TanhHead(const std::string& t, GeluMatch* m) const {
    std::string sum;
    const Node* outer = Inner(t, &m->nodes);
    if (!WithScalar(outer, OpType::kMul, kSqrt2OverPi, &sum)) return FactoredTanhHead(outer, m);
    const Node* add = Inner(sum, &m->nodes);
    if (add == nullptr || add->op != OpType::kAdd || add->inputs.size() != 2) return false;
    for (int k = 0; k < 2; ++k) {
      std::vector<size_t> nodes = m->nodes;
      const std::string& x = add->inputs[k];
      std::string cube;
      if (WithScalar(Inner(add->inputs[1 - k], &nodes), OpType::kMul, kCubeCoefficient, &cube) &&
          IsCube(cube, x, &nodes)) {
        m->x = x;
        m->nodes = std::move(nodes);
        return true;
      }
    }
    return false;
  }

  // `outer` is (x * sqrt(2 / pi)) * (1 + 0.044715 * x^2), factors in
  // either order.
  bool FactoredTanhHead(const Node* outer, GeluMatch* m) const {
    if (outer == nullptr || outer->op != OpType::kMul || outer->inputs.size() != 2) return false;
    for (int k = 0; k < 2; ++k) {
      std::vector<size_t> nodes = m->nodes;
      std::string x, square_term;
      if (WithScalar(Inner(outer->inputs[k], &nodes), OpType::kMul, kSqrt2OverPi, &x) &&
          WithScalar(Inner(outer->inputs[1 - k], &nodes), OpType::kAdd, 1.0, &square_term) &&
          IsScaledSquare(square_term, x, &nodes)) {
        m->x = x;
        m->nodes = std::move(nodes);
        return true;
      }
    }
    return false;
  }

  // `value` is 0.044715 * x * x in any grouping: 0.044715 * (x * x),
  // 0.044715 * Pow(x, 2), (0.044715 * x) * x.
  bool IsScaledSquare(const std::string& value, const std::string& x,
                      std::vector<size_t>* nodes) const {
    const Node* node = Inner(value, nodes);
    std::string square;
    if (WithScalar(node, OpType::kMul, kCubeCoefficient, &square)) {
      const Node* sq = Inner(square, nodes);
      return Reads(sq, OpType::kMul, x, x) ||
             (sq != nullptr && sq->op == OpType::kPow && sq->inputs.size() == 2 &&
              sq->inputs[0] == x && IsScalar(sq->inputs[1], 2.0));
    }
    if (node == nullptr || node->op != OpType::kMul || node->inputs.size() != 2) return false;
    for (int k = 0; k < 2; ++k) {
      if (node->inputs[k] != x) continue;
      std::vector<size_t> with_scaled = *nodes;
      std::string scaled;
      if (WithScalar(Inner(node->inputs[1 - k], &with_scaled), OpType::kMul, kCubeCoefficient,
                     &scaled) &&
          scaled == x) {
        *nodes = std::move(with_scaled);
        return true;
      }
    }
    return false;
  }

  // `cube` is Pow(x, 3), x * (x * x) or (x * x) * x.
  bool IsCube(const std::string& cube, const std::string& x, std::vector<size_t>* nodes) const {
    const Node* node = Inner(cube, nodes);
    if (node == nullptr || node->inputs.size() != 2) return false;
    if (node->op == OpType::kPow) return node->inputs[0] == x && IsScalar(node->inputs[1], 3.0);
    if (node->op != OpType::kMul) return false;
    for (int k = 0; k < 2; ++k) {
      if (node->inputs[k] != x) continue;
      std::vector<size_t> with_square = *nodes;
      if (Reads(Inner(node->inputs[1 - k], &with_square), OpType::kMul, x, x)) {
        *nodes = std::move(with_square);
        return true;
      }
    }
    return false;
  }

  // From e = Erf(...) or Tanh(...): a = 1 + e, then y = 0.5 * x * a in one
  // of its groupings; sets m->last to y's node.
  bool Tail(const std::string& e, GeluMatch* m) const {
    size_t add_index = 0, mul_index = 0, next_index = 0;
    const Node* add = SoleConsumer(e, OpType::kAdd, &add_index);
    std::string unused;
    if (add == nullptr || !WithScalar(add, OpType::kAdd, 1.0, &unused)) return false;
    m->nodes.push_back(add_index);
    const std::string& a = add->outputs[0];
    const Node* mul = SoleConsumer(a, OpType::kMul, &mul_index);
    if (mul == nullptr || mul->inputs.size() != 2) return false;
    m->nodes.push_back(mul_index);
    const std::string& other = mul->inputs[0] == a ? mul->inputs[1] : mul->inputs[0];
    const std::string& product = mul->outputs[0];
    if (other == m->x) {
      // (x * a) * 0.5
      const Node* half = SoleConsumer(product, OpType::kMul, &next_index);
      if (!WithScalar(half, OpType::kMul, 0.5, &unused)) return false;
      m->nodes.push_back(next_index);
      m->last = next_index;
      return true;
    }
    if (IsScalar(other, 0.5)) {
      // (a * 0.5) * x
      const Node* times_x = SoleConsumer(product, OpType::kMul, &next_index);
      if (!Reads(times_x, OpType::kMul, product, m->x)) return false;
      m->nodes.push_back(next_index);
      m->last = next_index;
      return true;
    }
    // (x * 0.5) * a
    std::string half_of;
    if (!WithScalar(Inner(other, &m->nodes), OpType::kMul, 0.5, &half_of) || half_of != m->x) {
      return false;
    }
    m->last = mul_index;
    return true;
  }

  const Graph& graph_;
  GraphUses uses_;
};

}  // namespace

int FuseGelu(Graph* graph) {
  std::vector<GeluMatch> matches;
  {
    const GeluMatcher matcher(*graph);
    std::set<size_t> taken;
    for (size_t i = 0; i < graph->nodes.size(); ++i) {
      GeluMatch m;
      if (!matcher.Match(i, &m)) continue;
      bool overlaps = false;
      for (size_t n : m.nodes) overlaps = overlaps || taken.count(n);
      if (overlaps) continue;
      taken.insert(m.nodes.begin(), m.nodes.end());
      matches.push_back(std::move(m));
    }
  }
  if (matches.empty()) return 0;
  std::vector<bool> remove(graph->nodes.size(), false);
  for (const GeluMatch& m : matches) {
    for (size_t n : m.nodes) {
      if (n == m.last) continue;
      remove[n] = true;
      for (const std::string& out : graph->nodes[n].outputs) graph->values.erase(out);
    }
    Node& last = graph->nodes[m.last];
    Node gelu;
    gelu.name = last.name;
    gelu.op = OpType::kGelu;
    gelu.inputs = {m.x};
    gelu.outputs = last.outputs;
    gelu.attrs.Set("approximate", std::string(m.tanh ? "tanh" : "none"));
    last = std::move(gelu);
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    if (!remove[i]) kept.push_back(std::move(graph->nodes[i]));
  }
  graph->nodes = std::move(kept);
  return static_cast<int>(matches.size());
}

}  // namespace mixq
