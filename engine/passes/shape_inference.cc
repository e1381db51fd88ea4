#include "engine/passes/shape_inference.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "engine/ir/node_error.h"
#include "engine/ir/onnx_dtype.h"
#include "engine/ops/op_def.h"

namespace mixq {
namespace {

bool Known(int64_t d) { return d >= 0; }
bool AllKnown(const Shape& s) {
  return std::all_of(s.begin(), s.end(), [](int64_t d) { return Known(d); });
}

// Product of dims [begin, end), -1 if any is unknown.
int64_t DimProduct(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) {
    if (!Known(s[i])) return -1;
    p *= s[i];
  }
  return p;
}

std::string IntsToString(const std::vector<int64_t>& v) { return ShapeToString(v); }

// State shared by the per-op rules: the node, its input infos and helpers
// that build errors naming the node.
class Inference {
 public:
  Inference(Graph* graph, Node* node, bool concrete)
      : graph_(*graph), node_(*node), concrete_(concrete) {}

  StatusOr<bool> Run();

 private:
  Status Invalid(const std::string& reason) const {
    return NodeError(StatusCode::kInvalidArgument, graph_, node_, reason);
  }
  Status Unsupported(const std::string& reason) const {
    return NodeError(StatusCode::kUnimplemented, graph_, node_, reason);
  }
  // Called where an output cannot be known yet: fine while symbolic.
  StatusOr<bool> NotYet(const std::string& reason) const {
    if (concrete_) return Invalid("cannot infer the output shape: " + reason);
    return false;
  }

  bool HasInput(size_t i) const { return i < node_.inputs.size() && !node_.inputs[i].empty(); }
  const std::string& InputName(size_t i) const { return node_.inputs[i]; }
  const Shape& InShape(size_t i) const { return graph_.values.at(node_.inputs[i]).shape; }
  DType InType(size_t i) const { return graph_.values.at(node_.inputs[i]).dtype; }
  const Tensor* Constant(size_t i) const {
    if (!HasInput(i)) return nullptr;
    auto it = graph_.constants.find(node_.inputs[i]);
    return it == graph_.constants.end() ? nullptr : &it->second;
  }
  void SetOutput(size_t i, DType dtype, Shape shape) {
    if (i < node_.outputs.size() && !node_.outputs[i].empty()) {
      graph_.values[node_.outputs[i]] = ValueInfo{dtype, std::move(shape)};
    }
  }
  Status ExpectInputs(size_t min_count, size_t max_count) const;
  StatusOr<int64_t> NormalizeAxis(int64_t axis, int64_t rank, const std::string& what) const;
  // Moves a constant input into an integer-list attribute and drops it.
  StatusOr<bool> AxesFromInput(size_t index, const char* attr);

  StatusOr<bool> Conv();
  StatusOr<bool> Pool(bool is_max);
  StatusOr<bool> ResolveWindow(const Shape& x, const std::vector<int64_t>& kernel, bool ceil_mode,
                               Shape* spatial_out);
  StatusOr<bool> Gemm();
  StatusOr<bool> MatMul();
  StatusOr<bool> BatchNorm();
  StatusOr<bool> Clip();
  StatusOr<bool> Binary();
  StatusOr<bool> GlobalPool();
  StatusOr<bool> Flatten();
  StatusOr<bool> Reshape();
  StatusOr<bool> Squeeze();
  StatusOr<bool> Unsqueeze();
  StatusOr<bool> Transpose();
  StatusOr<bool> Concat();
  StatusOr<bool> Softmax();
  StatusOr<bool> Dropout();
  StatusOr<bool> ShapeOp();
  StatusOr<bool> Gather();
  StatusOr<bool> Cast();
  StatusOr<bool> QuantizeLinear();
  StatusOr<bool> DequantizeLinear();

  Graph& graph_;
  Node& node_;
  bool concrete_;
};

Status Inference::ExpectInputs(size_t min_count, size_t max_count) const {
  size_t n = node_.inputs.size();
  while (n > 0 && node_.inputs[n - 1].empty()) --n;
  if (n < min_count || n > max_count) {
    return Invalid("has " + std::to_string(n) + " inputs, expected " +
                   (min_count == max_count
                        ? std::to_string(min_count)
                        : std::to_string(min_count) + " to " + std::to_string(max_count)));
  }
  for (size_t i = 0; i < min_count; ++i) {
    if (node_.inputs[i].empty())
      return Invalid("required input " + std::to_string(i) + " is empty");
  }
  return Status::Ok();
}

StatusOr<int64_t> Inference::NormalizeAxis(int64_t axis, int64_t rank,
                                           const std::string& what) const {
  if (axis < -rank || axis >= rank) {
    return Invalid(what + " " + std::to_string(axis) + " is out of range for rank " +
                   std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

StatusOr<bool> Inference::AxesFromInput(size_t index, const char* attr) {
  if (!HasInput(index)) return true;
  const Tensor* axes = Constant(index);
  if (axes == nullptr) {
    if (concrete_) {
      return Unsupported(std::string(attr) + " input '" + InputName(index) + "' is not constant");
    }
    return false;
  }
  node_.attrs.Set(attr, axes->ToInt64Vector());
  node_.inputs.resize(index);
  return true;
}

StatusOr<bool> Inference::ResolveWindow(const Shape& x, const std::vector<int64_t>& kernel,
                                        bool ceil_mode, Shape* spatial_out) {
  const size_t n = x.size() - 2;
  if (kernel.size() != n) {
    return Invalid("kernel_shape " + IntsToString(kernel) + " does not fit input of rank " +
                   std::to_string(x.size()));
  }
  for (int64_t k : kernel) {
    if (k <= 0) return Invalid("kernel_shape " + IntsToString(kernel) + " has a non-positive dim");
  }
  const auto strides = node_.attrs.Ints("strides", std::vector<int64_t>(n, 1));
  const auto dilations = node_.attrs.Ints("dilations", std::vector<int64_t>(n, 1));
  auto pads = node_.attrs.Ints("pads", std::vector<int64_t>(2 * n, 0));
  if (strides.size() != n || dilations.size() != n || pads.size() != 2 * n) {
    return Invalid("strides " + IntsToString(strides) + ", dilations " + IntsToString(dilations) +
                   " or pads " + IntsToString(pads) + " do not fit " + std::to_string(n) +
                   " spatial dims");
  }
  for (size_t i = 0; i < n; ++i) {
    if (strides[i] <= 0 || dilations[i] <= 0 || pads[i] < 0 || pads[n + i] < 0) {
      return Invalid("strides, dilations and pads must be positive (pads non-negative)");
    }
  }
  node_.attrs.Set("kernel_shape", kernel);
  node_.attrs.Set("strides", strides);
  node_.attrs.Set("dilations", dilations);

  const std::string auto_pad = node_.attrs.String("auto_pad", "NOTSET");
  const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
  if (auto_pad == "VALID") {
    pads.assign(2 * n, 0);
  } else if (!same && auto_pad != "NOTSET" && !auto_pad.empty()) {
    return Invalid("unknown auto_pad '" + auto_pad + "'");
  }
  spatial_out->assign(n, -1);
  bool resolved = true;
  for (size_t i = 0; i < n; ++i) {
    const int64_t in = x[i + 2];
    const int64_t eff_k = (kernel[i] - 1) * dilations[i] + 1;
    if (!Known(in)) {
      resolved = !same;
      continue;
    }
    if (same) {
      const int64_t out = (in + strides[i] - 1) / strides[i];
      const int64_t total = std::max<int64_t>(0, (out - 1) * strides[i] + eff_k - in);
      const int64_t small = total / 2;
      pads[i] = auto_pad == "SAME_UPPER" ? small : total - small;
      pads[n + i] = total - pads[i];
    }
    const int64_t span = in + pads[i] + pads[n + i] - eff_k;
    if (span < 0) {
      return Invalid("window of " + std::to_string(eff_k) + " (kernel x dilation) exceeds the " +
                     "padded input dim " + std::to_string(in + pads[i] + pads[n + i]));
    }
    int64_t out = span / strides[i] + 1;
    if (ceil_mode) {
      out = (span + strides[i] - 1) / strides[i] + 1;
      // A window must start inside the input or its left padding.
      if ((out - 1) * strides[i] >= in + pads[i]) --out;
    }
    (*spatial_out)[i] = out;
  }
  if (resolved) {
    node_.attrs.Set("pads", pads);
    node_.attrs.Set("auto_pad", std::string("NOTSET"));
  }
  return true;
}

StatusOr<bool> Inference::Conv() {
  MIXQ_RETURN_IF_ERROR(ExpectInputs(2, 3));
  const Shape& x = InShape(0);
  const Shape& w = InShape(1);
  if (x.size() < 3 || x.size() > 5) {
    return Unsupported("input '" + InputName(0) + "' has rank " + std::to_string(x.size()) +
                       "; only 1-D, 2-D and 3-D convolutions are supported");
  }
  if (w.size() != x.size()) {
    return Invalid("weight '" + InputName(1) + "' has " + std::to_string(w.size()) +
                   " dims, expected " + std::to_string(x.size()));
  }
  const int64_t group = node_.attrs.Int("group", 1);
  if (group <= 0) return Invalid("group must be positive");
  node_.attrs.Set("group", group);
  if (Known(w[0]) && w[0] % group != 0) {
    return Invalid("weight '" + InputName(1) + "' has " + std::to_string(w[0]) +
                   " output channels, not a multiple of group " + std::to_string(group));
  }
  if (Known(x[1]) && Known(w[1]) && x[1] != w[1] * group) {
    return Invalid("input '" + InputName(0) + "' has " + std::to_string(x[1]) +
                   " channels but weight '" + InputName(1) + "' " + ShapeToString(w) + " expects " +
                   std::to_string(w[1] * group) + " (group " + std::to_string(group) + ")");
  }
  if (HasInput(2)) {
    const Shape& b = InShape(2);
    if (b.size() != 1 || (Known(b[0]) && Known(w[0]) && b[0] != w[0])) {
      return Invalid("bias '" + InputName(2) + "' has shape " + ShapeToString(b) + ", expected [" +
                     std::to_string(w[0]) + "]");
    }
  }
  std::vector<int64_t> kernel(w.begin() + 2, w.end());
  if (node_.attrs.Has("kernel_shape")) {
    const auto declared = node_.attrs.Ints("kernel_shape");
    if (AllKnown(kernel) && declared != kernel) {
      return Invalid("kernel_shape " + IntsToString(declared) + " does not match weight '" +
                     InputName(1) + "' " + ShapeToString(w));
    }
    kernel = declared;
  }
  if (!AllKnown(kernel)) return NotYet("the kernel shape is unknown");
  Shape spatial;
  MIXQ_ASSIGN_OR_RETURN(bool ok, ResolveWindow(x, kernel, false, &spatial));
  if (!ok) return false;
  Shape out = {x[0], w[0]};
  out.insert(out.end(), spatial.begin(), spatial.end());
  SetOutput(0, InType(0), out);
  return true;
}

StatusOr<bool> Inference::Pool(bool is_max) {
  MIXQ_RETURN_IF_ERROR(ExpectInputs(1, 1));
  const Shape& x = InShape(0);
  if (x.size() < 3 || x.size() > 5) {
    return Unsupported("input '" + InputName(0) + "' has rank " + std::to_string(x.size()) +
                       "; only 1-D, 2-D and 3-D pooling is supported");
  }
  if (!node_.attrs.Has("kernel_shape")) return Invalid("kernel_shape attribute is missing");
  if (is_max && node_.outputs.size() > 1 && !node_.outputs[1].empty()) {
    return Unsupported("the Indices output is not supported");
  }
  if (is_max && node_.attrs.Int("storage_order", 0) != 0) {
    return Unsupported("storage_order 1 is not supported");
  }
  Shape spatial;
  const bool ceil_mode = node_.attrs.Int("ceil_mode", 0) != 0;
  MIXQ_ASSIGN_OR_RETURN(bool ok,
                        ResolveWindow(x, node_.attrs.Ints("kernel_shape"), ceil_mode, &spatial));
  if (!ok) return false;
  Shape out = {x[0], x[1]};
  out.insert(out.end(), spatial.begin(), spatial.end());
  SetOutput(0, InType(0), out);
  return true;
}

StatusOr<bool> Inference::GlobalPool() {
  MIXQ_RETURN_IF_ERROR(ExpectInputs(1, 1));
  const Shape& x = InShape(0);
  if (x.size() < 3) return Invalid("input '" + InputName(0) + "' needs rank >= 3");
  Shape out(x.size(), 1);
  out[0] = x[0];
  out[1] = x[1];
  SetOutput(0, InType(0), out);
  return true;
}

StatusOr<bool> Inference::Gemm() {
  MIXQ_RETURN_IF_ERROR(ExpectInputs(2, 3));
  const Shape& a = InShape(0);
  const Shape& b = InShape(1);
  if (a.size() != 2 || b.size() != 2) {
    return Invalid("inputs must be 2-D, got A " + ShapeToString(a) + " and B " + ShapeToString(b));
  }
  const bool ta = node_.attrs.Int("transA", 0) != 0;
  const bool tb = node_.attrs.Int("transB", 0) != 0;
  const int64_t m = ta ? a[1] : a[0];
  const int64_t ka = ta ? a[0] : a[1];
  const int64_t kb = tb ? b[1] : b[0];
  const int64_t n = tb ? b[0] : b[1];
  if (Known(ka) && Known(kb) && ka != kb) {
    return Invalid("inner dimensions do not match: A '" + InputName(0) + "' " + ShapeToString(a) +
                   " (transA " + std::to_string(ta) + ") and B '" + InputName(1) + "' " +
                   ShapeToString(b) + " (transB " + std::to_string(tb) + ")");
  }
  if (HasInput(2)) {
    const Shape& c = InShape(2);
    Shape out;
    if (c.size() > 2 || !BroadcastShapes(c, {m, n}, &out) ||
        (c.size() == 2 && Known(c[0]) && Known(m) && c[0] != 1 && c[0] != m) ||
        (!c.empty() && Known(c.back()) && Known(n) && c.back() != 1 && c.back() != n)) {
      return Invalid("C '" + InputName(2) + "' " + ShapeToString(c) + " does not broadcast to [" +
                     std::to_string(m) + "," + std::to_string(n) + "]");
    }
  }
  SetOutput(0, InType(0), {m, n});
  return true;
}

StatusOr<bool> Inference::MatMul() {
  MIXQ_RETURN_IF_ERROR(ExpectInputs(2, 2));
  Shape a = InShape(0);
  Shape b = InShape(1);
  if (a.empty() || b.empty()) return Invalid("MatMul inputs must have rank >= 1");
  const bool a_vec = a.size() == 1;
  const bool b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), 1);
  if (b_vec) b.push_back(1);
  const int64_t ka = a.back();
  const int64_t kb = b[b.size() - 2];
  if (Known(ka) && Known(kb) && ka != kb) {
    return Invalid("inner dimensions do not match: A '" + InputName(0) + "' " +
                   ShapeToString(InShape(0)) + " and B '" + InputName(1) + "' " +
                   ShapeToString(InShape(1)));
  }
  Shape batch;
  if (!BroadcastShapes(Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2), &batch)) {
    return Invalid("batch dimensions of " + ShapeToString(InShape(0)) + " and " +
                   ShapeToString(InShape(1)) + " do not broadcast");
  }
  Shape out = batch;
  if (!a_vec) out.push_back(a[a.size() - 2]);
  if (!b_vec) out.push_back(b.back());
  SetOutput(0, InType(0), out);
  return true;
}

StatusOr<bool> Inference::BatchNorm() {
  MIXQ_RETURN_IF_ERROR(ExpectInputs(5, 5));
  const Shape& x = InShape(0);
  if (x.size() < 2) return Invalid("input '" + InputName(0) + "' needs rank >= 2");
  for (size_t i = 1; i < 5; ++i) {
    const Shape& p = InShape(i);
    if (p.size() != 1 || (Known(p[0]) && Known(x[1]) && p[0] != x[1])) {
      return Invalid("parameter '" + InputName(i) + "' has shape " + ShapeToString(p) +
                     ", expected [" + std::to_string(x[1]) + "]");
    }
  }
  for (size_t i = 1; i < node_.outputs.size(); ++i) {
    if (!node_.outputs[i].empty()) {
      return Unsupported("training-mode outputs (running mean/var) are not supported");
    }
  }
  SetOutput(0, InType(0), x);
  return true;
}

StatusOr<bool> Inference::Clip() {
  MIXQ_RETURN_IF_ERROR(ExpectInputs(1, 3));
  const char* names[] = {"", "min", "max"};
  for (size_t i = 1; i < 3; ++i) {
    if (!HasInput(i)) continue;
    const Tensor* bound = Constant(i);
    if (bound == nullptr) {
      return Unsupported(std::string(names[i]) + " input '" + InputName(i) +
                         "' is not constant; only constant Clip bounds are supported");
    }
    if (bound->size() != 1) {
      return Invalid(std::string(names[i]) + " input '" + InputName(i) + "' is not a scalar");
    }
    node_.attrs.Set(names[i], static_cast<float>(bound->FloatAt(0)));
  }
  // NaN bounds have no meaning (and oneDNN refuses them as a post-op), and
  // min above max, whose ONNX result is max everywhere, is no model's intent.
  const float lo = node_.attrs.Float("min", -std::numeric_limits<float>::infinity());
  const float hi = node_.attrs.Float("max", std::numeric_limits<float>::infinity());
  if (std::isnan(lo) || std::isnan(hi)) return Invalid("a bound is NaN");
  if (lo > hi) {
    return Invalid("min " + std::to_string(lo) + " is above max " + std::to_string(hi));
  }
  node_.inputs.resize(1);
  SetOutput(0, InType(0), InShape(0));
  return true;
}

StatusOr<bool> Inference::Binary() {
  MIXQ_RETURN_IF_ERROR(ExpectInputs(2, 2));
  Shape out;
  if (!BroadcastShapes(InShape(0), InShape(1), &out)) {
    return Invalid("shapes of '" + InputName(0) + "' " + ShapeToString(InShape(0)) + " and '" +
                   InputName(1) + "' " + ShapeToString(InShape(1)) + " do not broadcast");
  }
  SetOutput(0, InType(0), out);
  return true;
}

StatusOr<bool> Inference::Flatten() {
  MIXQ_RETURN_IF_ERROR(ExpectInputs(1, 1));
  const Shape& x = InShape(0);
  const int64_t rank = static_cast<int64_t>(x.size());
  int64_t axis = node_.attrs.Int("axis", 1);
  if (axis < -rank || axis > rank) {
    return Invalid("axis " + std::to_string(axis) + " is out of range for rank " +
                   std::to_string(rank));
  }
  if (axis < 0) axis += rank;
  node_.attrs.Set("axis", axis);
  SetOutput(0, InType(0), {DimProduct(x, 0, axis), DimProduct(x, axis, x.size())});
  return true;
}

StatusOr<bool> Inference::Reshape() {
  MIXQ_RETURN_IF_ERROR(ExpectInputs(1, 2));
  const Shape& x = InShape(0);
  std::vector<int64_t> target;
  if (HasInput(1)) {
    const Tensor* t = Constant(1);
    if (t == nullptr && concrete_) {
      return Unsupported("shape input '" + InputName(1) +
                         "' is not constant; data-dependent reshapes are not supported");
    }
    if (t == nullptr) return false;
    if (t->rank() != 1) return Invalid("shape input '" + InputName(1) + "' is not 1-D");
    target = t->ToInt64Vector();
  } else if (node_.attrs.Has("shape")) {
    target = node_.attrs.Ints("shape");
  } else {
    return Invalid("has neither a shape input nor a shape attribute");
  }
  const bool allow_zero = node_.attrs.Int("allowzero", 0) != 0;
  Shape out(target.size());
  int infer_at = -1;
  int64_t known_product = 1;
  bool unknown = false;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t d = target[i];
    if (d == 0 && !allow_zero) {
      if (i >= x.size()) return Invalid("shape " + IntsToString(target) + " copies a missing dim");
      // A copied dim may be symbolic: it stays unknown, it is not the -1 to infer.
      out[i] = x[i];
      if (Known(x[i])) {
        known_product *= x[i];
      } else {
        unknown = true;
      }
      continue;
    }
    if (d == -1) {
      if (infer_at >= 0) return Invalid("shape " + IntsToString(target) + " has two -1 dims");
      infer_at = static_cast<int>(i);
      continue;
    }
    if (d < -1) return Invalid("shape " + IntsToString(target) + " has a negative dim");
    out[i] = d;
    if (!Known(d)) {
      unknown = true;
    } else {
      known_product *= d;
    }
  }
  const int64_t total = DimProduct(x, 0, x.size());
  if (infer_at >= 0) {
    if (total < 0 || unknown) {
      out[infer_at] = -1;
    } else if (known_product == 0 || total % known_product != 0) {
      return Invalid("cannot reshape " + ShapeToString(x) + " to " + IntsToString(target));
    } else {
      out[infer_at] = total / known_product;
    }
  } else if (total >= 0 && !unknown && total != known_product) {
    return Invalid("cannot reshape " + ShapeToString(x) + " (" + std::to_string(total) +
                   " elements) to " + IntsToString(target));
  }
  if (!AllKnown(out) && concrete_) {
    return Invalid("cannot infer the output shape of reshaping " + ShapeToString(x) + " to " +
                   IntsToString(target));
  }
  SetOutput(0, InType(0), out);
  return true;
}

StatusOr<bool> Inference::Squeeze() {
  MIXQ_RETURN_IF_ERROR(ExpectInputs(1, 2));
  MIXQ_ASSIGN_OR_RETURN(bool have_axes, AxesFromInput(1, "axes"));
  if (!have_axes) return false;
  const Shape& x = InShape(0);
  const int64_t rank = static_cast<int64_t>(x.size());
  std::vector<bool> drop(x.size(), false);
  if (node_.attrs.Has("axes")) {
    auto axes = node_.attrs.Ints("axes");
    for (int64_t& a : axes) {
      MIXQ_ASSIGN_OR_RETURN(a, NormalizeAxis(a, rank, "axis"));
      if (Known(x[a]) && x[a] != 1) {
        return Invalid("cannot squeeze axis " + std::to_string(a) + " of " + ShapeToString(x) +
                       ": its size is not 1");
      }
      drop[a] = true;
    }
    std::sort(axes.begin(), axes.end());
    node_.attrs.Set("axes", axes);
  } else {
    if (!AllKnown(x)) return NotYet("Squeeze without axes needs a known input shape");
    std::vector<int64_t> axes;
    for (int64_t i = 0; i < rank; ++i) {
      if (x[i] == 1) {
        drop[i] = true;
        axes.push_back(i);
      }
    }
    node_.attrs.Set("axes", axes);
  }
  Shape out;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!drop[i]) out.push_back(x[i]);
  }
  SetOutput(0, InType(0), out);
  return true;
}

StatusOr<bool> Inference::Unsqueeze() {
  MIXQ_RETURN_IF_ERROR(ExpectInputs(1, 2));
  MIXQ_ASSIGN_OR_RETURN(bool have_axes, AxesFromInput(1, "axes"));
  if (!have_axes) return false;
  if (!node_.attrs.Has("axes")) return Invalid("axes are missing");
  const Shape& x = InShape(0);
  auto axes = node_.attrs.Ints("axes");
  const int64_t out_rank = static_cast<int64_t>(x.size() + axes.size());
  std::vector<bool> inserted(out_rank, false);
  for (int64_t& a : axes) {
    MIXQ_ASSIGN_OR_RETURN(a, NormalizeAxis(a, out_rank, "axis"));
    if (inserted[a]) return Invalid("axis " + std::to_string(a) + " is repeated");
    inserted[a] = true;
  }
  std::sort(axes.begin(), axes.end());
  node_.attrs.Set("axes", axes);
  Shape out;
  size_t next = 0;
  for (int64_t i = 0; i < out_rank; ++i) out.push_back(inserted[i] ? 1 : x[next++]);
  SetOutput(0, InType(0), out);
  return true;
}

StatusOr<bool> Inference::Transpose() {
  MIXQ_RETURN_IF_ERROR(ExpectInputs(1, 1));
  const Shape& x = InShape(0);
  const int64_t rank = static_cast<int64_t>(x.size());
  std::vector<int64_t> perm;
  if (node_.attrs.Has("perm")) {
    perm = node_.attrs.Ints("perm");
  } else {
    for (int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);
  }
  if (static_cast<int64_t>(perm.size()) != rank) {
    return Invalid("perm " + IntsToString(perm) + " does not fit rank " + std::to_string(rank));
  }
  std::vector<bool> seen(rank, false);
  for (int64_t& p : perm) {
    MIXQ_ASSIGN_OR_RETURN(p, NormalizeAxis(p, rank, "perm entry"));
    if (seen[p]) return Invalid("perm " + IntsToString(perm) + " is not a permutation");
    seen[p] = true;
  }
  node_.attrs.Set("perm", perm);
  Shape out;
  for (int64_t p : perm) out.push_back(x[p]);
  SetOutput(0, InType(0), out);
  return true;
}

StatusOr<bool> Inference::Concat() {
  if (node_.inputs.empty()) return Invalid("has no inputs");
  const Shape& first = InShape(0);
  const int64_t rank = static_cast<int64_t>(first.size());
  if (!node_.attrs.Has("axis")) return Invalid("axis attribute is missing");
  MIXQ_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node_.attrs.Int("axis", 0), rank, "axis"));
  node_.attrs.Set("axis", axis);
  Shape out = first;
  for (size_t i = 1; i < node_.inputs.size(); ++i) {
    if (!HasInput(i)) return Invalid("input " + std::to_string(i) + " is empty");
    const Shape& s = InShape(i);
    if (static_cast<int64_t>(s.size()) != rank) {
      return Invalid("input '" + InputName(i) + "' " + ShapeToString(s) + " has rank " +
                     std::to_string(s.size()) + ", expected " + std::to_string(rank));
    }
    for (int64_t d = 0; d < rank; ++d) {
      if (d == axis) {
        out[d] = Known(out[d]) && Known(s[d]) ? out[d] + s[d] : -1;
      } else if (Known(out[d]) && Known(s[d]) && out[d] != s[d]) {
        return Invalid("input '" + InputName(i) + "' " + ShapeToString(s) + " does not match " +
                       ShapeToString(first) + " outside axis " + std::to_string(axis));
      } else if (!Known(out[d])) {
        out[d] = s[d];
      }
    }
  }
  SetOutput(0, InType(0), out);
  return true;
}

StatusOr<bool> Inference::Softmax() {
  MIXQ_RETURN_IF_ERROR(ExpectInputs(1, 1));
  const Shape& x = InShape(0);
  const int64_t default_axis = node_.attrs.Int("coerce_2d", 0) ? 1 : -1;
  MIXQ_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node_.attrs.Int("axis", default_axis),
                                                    static_cast<int64_t>(x.size()), "axis"));
  node_.attrs.Set("axis", axis);
  SetOutput(0, InType(0), x);
  return true;
}

StatusOr<bool> Inference::Dropout() {
  MIXQ_RETURN_IF_ERROR(ExpectInputs(1, 3));
  if (HasInput(2)) {
    const Tensor* mode = Constant(2);
    if (mode == nullptr) return Unsupported("training_mode input is not constant");
    // Training mode with a zero ratio drops nothing (torchvision's Swin
    // exports its attention dropout so): the same identity.
    const Tensor* ratio = Constant(1);
    const bool zero_ratio = ratio != nullptr && ratio->size() == 1 &&
                            IsFloatingPoint(ratio->dtype()) && ratio->FloatAt(0) == 0.0;
    if (mode->size() != 1 || (mode->IntAt(0) != 0 && !zero_ratio)) {
      return Unsupported("training_mode must be false for inference (or the ratio 0)");
    }
  }
  if (node_.outputs.size() > 1 && !node_.outputs[1].empty()) {
    node_.inputs.resize(1);
    SetOutput(1, DType::kBool, InShape(0));
  }
  node_.inputs.resize(1);
  SetOutput(0, InType(0), InShape(0));
  return true;
}

StatusOr<bool> Inference::ShapeOp() {
  MIXQ_RETURN_IF_ERROR(ExpectInputs(1, 1));
  const int64_t rank = static_cast<int64_t>(InShape(0).size());
  int64_t start = node_.attrs.Int("start", 0);
  int64_t end = node_.attrs.Int("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  node_.attrs.Set("start", start);
  node_.attrs.Set("end", end);
  SetOutput(0, DType::kI64, {std::max<int64_t>(0, end - start)});
  return true;
}

StatusOr<bool> Inference::Gather() {
  MIXQ_RETURN_IF_ERROR(ExpectInputs(2, 2));
  // ONNX allows only these; the host kernel reads no other type.
  if (InType(1) != DType::kI32 && InType(1) != DType::kI64) {
    return Invalid(std::string("indices must be int32 or int64, not ") + DTypeName(InType(1)));
  }
  const Shape& data = InShape(0);
  const Shape& indices = InShape(1);
  MIXQ_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node_.attrs.Int("axis", 0),
                                                    static_cast<int64_t>(data.size()), "axis"));
  node_.attrs.Set("axis", axis);
  Shape out(data.begin(), data.begin() + axis);
  out.insert(out.end(), indices.begin(), indices.end());
  out.insert(out.end(), data.begin() + axis + 1, data.end());
  SetOutput(0, InType(0), out);
  return true;
}

StatusOr<bool> Inference::Cast() {
  MIXQ_RETURN_IF_ERROR(ExpectInputs(1, 1));
  if (!node_.attrs.Has("to")) return Invalid("attribute 'to' is missing");
  auto dtype = DTypeFromOnnx(static_cast<int32_t>(node_.attrs.Int("to", 0)));
  if (!dtype.ok()) return Unsupported(dtype.status().message());
  SetOutput(0, *dtype, InShape(0));
  return true;
}

// Q/DQ keep the shape; Q's output type is its zero point's (uint8 when
// absent), DQ's is float32.
StatusOr<bool> Inference::QuantizeLinear() {
  MIXQ_RETURN_IF_ERROR(ExpectInputs(2, 3));
  const DType out = HasInput(2) ? InType(2) : DType::kU8;
  if (out != DType::kU8 && out != DType::kI8) {
    return Unsupported(std::string("quantised type ") + DTypeName(out) +
                       " (only uint8 and int8 are supported)");
  }
  SetOutput(0, out, InShape(0));
  return true;
}

StatusOr<bool> Inference::DequantizeLinear() {
  MIXQ_RETURN_IF_ERROR(ExpectInputs(2, 3));
  SetOutput(0, DType::kF32, InShape(0));
  return true;
}

StatusOr<bool> Inference::Run() {
  // Inputs whose shapes are not known yet: wait (symbolic) or fail.
  for (const std::string& in : node_.inputs) {
    if (in.empty() || graph_.values.count(in)) continue;
    if (concrete_) return Invalid("the shape of input '" + in + "' is unknown");
    return false;
  }
  switch (node_.op) {
    case OpType::kConv:
      return Conv();
    case OpType::kMaxPool:
      return Pool(true);
    case OpType::kAveragePool:
      return Pool(false);
    case OpType::kGlobalAveragePool:
    case OpType::kGlobalMaxPool:
      return GlobalPool();
    case OpType::kGemm:
      return Gemm();
    case OpType::kMatMul:
      return MatMul();
    case OpType::kBatchNorm:
      return BatchNorm();
    case OpType::kClip:
      return Clip();
    case OpType::kRelu:
    case OpType::kLeakyRelu:
    case OpType::kSigmoid:
    case OpType::kHardSigmoid:
    case OpType::kHardSwish:
    case OpType::kTanh:
    case OpType::kIdentity:
      MIXQ_RETURN_IF_ERROR(ExpectInputs(1, 1));
      SetOutput(0, InType(0), InShape(0));
      return true;
    case OpType::kAdd:
    case OpType::kSub:
    case OpType::kMul:
    case OpType::kDiv:
      return Binary();
    case OpType::kFlatten:
      return Flatten();
    case OpType::kReshape:
      return Reshape();
    case OpType::kSqueeze:
      return Squeeze();
    case OpType::kUnsqueeze:
      return Unsqueeze();
    case OpType::kTranspose:
      return Transpose();
    case OpType::kConcat:
      return Concat();
    case OpType::kSoftmax:
    case OpType::kLogSoftmax:
      return Softmax();
    case OpType::kDropout:
      return Dropout();
    case OpType::kShape:
      return ShapeOp();
    case OpType::kGather:
      return Gather();
    case OpType::kCast:
      return Cast();
    case OpType::kQuantizeLinear:
      return QuantizeLinear();
    case OpType::kDequantizeLinear:
      return DequantizeLinear();
    case OpType::kConstant:
      return Invalid("Constant node was not converted at import");
    default:
      break;
  }
  if (const OpDef* def = FindOpDef(node_.op); def != nullptr && def->shape != nullptr) {
    ShapeContext ctx(&graph_, &node_, concrete_);
    return def->shape(ctx);
  }
  return Unsupported("no shape inference for this op");
}

}  // namespace

StatusOr<bool> InferNodeShapes(Graph* graph, Node* node, bool concrete) {
  MIXQ_ASSIGN_OR_RETURN(const bool inferred, Inference(graph, node, concrete).Run());
  // Before any kernel folds the node or a compile sizes its buffers.
  if (inferred) {
    for (const std::string& out : node->outputs) {
      const ValueInfo* info = graph->FindValue(out);
      if (info == nullptr) continue;
      Status size = CheckTensorSize(info->shape, "output '" + out + "'");
      if (!size.ok()) return NodeError(StatusCode::kInvalidArgument, *graph, *node, size.message());
    }
  }
  return inferred;
}

}  // namespace mixq
