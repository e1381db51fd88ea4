#include "engine/onnx/onnx_node.h"

#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/ir/node_error.h"
#include "engine/ir/op_kinds.h"
#include "engine/onnx/tensor_proto.h"

namespace mixq {
namespace {

std::optional<OpType> OpTypeFromName(const std::string& name) {
  // OpTypeName() spells the ONNX names, so the enum is its own table.
  for (int i = 0; i <= static_cast<int>(OpType::kDequantizeLinear); ++i) {
    const auto op = static_cast<OpType>(i);
    if (name == OpTypeName(op)) return op;
  }
  return std::nullopt;
}

// The attribute's value, using its declared type or, for old files that
// leave the type unset, whichever field is filled.
std::optional<AttrValue> ConvertAttribute(const onnx::AttributeProto& attr) {
  using A = onnx::AttributeProto;
  auto type = attr.type();
  if (type == A::UNDEFINED) {
    if (attr.has_f()) type = A::FLOAT;
    if (attr.has_i()) type = A::INT;
    if (attr.has_s()) type = A::STRING;
    if (attr.ints_size()) type = A::INTS;
    if (attr.floats_size()) type = A::FLOATS;
  }
  switch (type) {
    case A::FLOAT:
      return AttrValue(attr.f());
    case A::INT:
      return AttrValue(static_cast<int64_t>(attr.i()));
    case A::STRING:
      return AttrValue(attr.s());
    case A::INTS:
      return AttrValue(std::vector<int64_t>(attr.ints().begin(), attr.ints().end()));
    case A::FLOATS:
      return AttrValue(std::vector<float>(attr.floats().begin(), attr.floats().end()));
    default:
      return std::nullopt;
  }
}

void SetDefault(Attributes* attrs, const std::string& name, AttrValue value) {
  if (!attrs->Has(name)) attrs->Set(name, std::move(value));
}

// Resize and Upsample in the one form engine/ops/resize.cc reads: inputs X,
// roi, scales, sizes, and every attribute with its default. Before opset 11
// (and for every Upsample) the scales are the second input (Upsample-7 and
// 8: the `scales` attribute; Upsample-1: `height_scale` and `width_scale`),
// the transformation is asymmetric and nearest rounds down when enlarging,
// up when shrinking ("simple", ONNX Runtime's reading of those opsets).
void NormalizeResize(Node* node, int64_t opset) {
  Attributes& attrs = node->attrs;
  const std::string mode = attrs.String("mode", "nearest");
  attrs.Set("mode", mode == "bilinear" || mode == "trilinear" ? std::string("linear") : mode);
  if (node->op == OpType::kUpsample || opset < 11) {
    if (node->inputs.size() >= 2) node->inputs = {node->inputs[0], "", node->inputs[1]};
    if (attrs.Has("height_scale") || attrs.Has("width_scale")) {
      attrs.Set("scales", std::vector<float>{1.f, 1.f, attrs.Float("height_scale", 1.f),
                                             attrs.Float("width_scale", 1.f)});
    }
    attrs.Set("coordinate_transformation_mode", std::string("asymmetric"));
    attrs.Set("nearest_mode", std::string("simple"));
    return;
  }
  SetDefault(&attrs, "coordinate_transformation_mode", std::string("half_pixel"));
  SetDefault(&attrs, "nearest_mode", std::string("round_prefer_floor"));
  SetDefault(&attrs, "cubic_coeff_a", -0.75f);
  SetDefault(&attrs, "exclude_outside", int64_t{0});
}

}  // namespace

StatusOr<Node> ConvertOnnxNode(const onnx::NodeProto& proto, const std::string& name, int64_t opset,
                               const std::string& source) {
  const std::string& domain = proto.domain();
  auto op = OpTypeFromName(proto.op_type());
  if ((!domain.empty() && domain != "ai.onnx") || !op || *op == OpType::kConstant) {
    return NodeError(
        StatusCode::kUnimplemented, source, name, proto.op_type(),
        domain.empty() ? "unsupported op" : "unsupported op (domain '" + domain + "')");
  }
  Node node;
  node.name = name;
  node.op = *op;
  node.inputs.assign(proto.input().begin(), proto.input().end());
  node.outputs.assign(proto.output().begin(), proto.output().end());
  for (const onnx::AttributeProto& attr : proto.attribute()) {
    if (auto value = ConvertAttribute(attr)) node.attrs.Set(attr.name(), std::move(*value));
  }
  auto unsupported = [&](const std::string& reason) {
    return NodeError(StatusCode::kUnimplemented, source, name, proto.op_type(), reason);
  };
  constexpr float kInf = std::numeric_limits<float>::infinity();
  Attributes& attrs = node.attrs;
  if (IsReduction(node.op)) {
    // `axes` is an attribute up to opset 17 (12 for ReduceSum) and an input
    // after; the shape rule moves a constant input into the attribute.
    // noop_with_empty_axes exists from opset 13 (ReduceSum) / 18.
    SetDefault(&attrs, "keepdims", int64_t{1});
    SetDefault(&attrs, "noop_with_empty_axes", int64_t{0});
  }
  switch (node.op) {
    case OpType::kConv:
      SetDefault(&attrs, "group", int64_t{1});
      SetDefault(&attrs, "auto_pad", std::string("NOTSET"));
      break;
    case OpType::kConvTranspose:
      SetDefault(&attrs, "group", int64_t{1});
      SetDefault(&attrs, "auto_pad", std::string("NOTSET"));
      break;
    case OpType::kGemm:
      SetDefault(&attrs, "alpha", 1.f);
      SetDefault(&attrs, "beta", 1.f);
      SetDefault(&attrs, "transA", int64_t{0});
      SetDefault(&attrs, "transB", int64_t{0});
      break;
    case OpType::kBatchNorm:
      SetDefault(&attrs, "epsilon", 1e-5f);
      if (attrs.Int("training_mode", 0) != 0) return unsupported("training_mode must be 0");
      if (attrs.Int("spatial", 1) != 1) return unsupported("spatial=0 is not supported");
      break;
    case OpType::kLeakyRelu:
      SetDefault(&attrs, "alpha", 0.01f);
      break;
    case OpType::kHardSigmoid:
      SetDefault(&attrs, "alpha", 0.2f);
      SetDefault(&attrs, "beta", 0.5f);
      break;
    case OpType::kClip:
      // From opset 11 the bounds are inputs; shape inference moves constant
      // ones into these attributes.
      SetDefault(&attrs, "min", -kInf);
      SetDefault(&attrs, "max", kInf);
      break;
    case OpType::kMaxPool:
    case OpType::kAveragePool:
      SetDefault(&attrs, "ceil_mode", int64_t{0});
      SetDefault(&attrs, "auto_pad", std::string("NOTSET"));
      if (node.op == OpType::kAveragePool) SetDefault(&attrs, "count_include_pad", int64_t{0});
      break;
    case OpType::kSoftmax:
    case OpType::kLogSoftmax:
      // Before opset 13 (Log)Softmax flattens to 2-D around `axis` (default 1).
      if (opset < 13) {
        attrs.Set("coerce_2d", int64_t{1});
        SetDefault(&attrs, "axis", int64_t{1});
      } else {
        attrs.Set("coerce_2d", int64_t{0});
        SetDefault(&attrs, "axis", int64_t{-1});
      }
      break;
    case OpType::kElu:
      SetDefault(&attrs, "alpha", 1.f);
      break;
    case OpType::kSelu:
      SetDefault(&attrs, "alpha", 1.67326319217681884765625f);
      SetDefault(&attrs, "gamma", 1.05070102214813232421875f);
      break;
    case OpType::kGelu:
      SetDefault(&attrs, "approximate", std::string("none"));
      break;
    case OpType::kPow:
    case OpType::kEqual:
    case OpType::kGreater:
    case OpType::kLess:
    case OpType::kAnd:
    case OpType::kOr:
      // Before opset 7 these broadcast only with broadcast=1, aligning B's
      // dims at `axis` when given; without `axis` that is numpy's suffix
      // alignment, which mixq's shape rules apply.
      if (attrs.Has("axis")) {
        return unsupported("broadcasting along 'axis' (opset < 7) is not supported");
      }
      break;
    case OpType::kFlatten:
      SetDefault(&attrs, "axis", int64_t{1});
      break;
    case OpType::kGather:
      SetDefault(&attrs, "axis", int64_t{0});
      break;
    case OpType::kCast:
      // Cast-1 names the type ("FLOAT"); from opset 6 it is the enum value.
      if (const std::string to = attrs.String("to", ""); !to.empty()) {
        onnx::TensorProto::DataType type;
        if (!onnx::TensorProto::DataType_Parse(to, &type)) {
          return unsupported("unknown element type '" + to + "'");
        }
        attrs.Set("to", static_cast<int64_t>(type));
      }
      break;
    case OpType::kReshape:
      SetDefault(&attrs, "allowzero", int64_t{0});
      break;
    case OpType::kQuantizeLinear:
    case OpType::kDequantizeLinear:
      SetDefault(&attrs, "axis", int64_t{1});
      break;
    case OpType::kArgMax:
    case OpType::kArgMin:
      SetDefault(&attrs, "axis", int64_t{0});
      SetDefault(&attrs, "keepdims", int64_t{1});
      SetDefault(&attrs, "select_last_index", int64_t{0});
      break;
    case OpType::kLayerNormalization:
      SetDefault(&attrs, "axis", int64_t{-1});
      SetDefault(&attrs, "epsilon", 1e-5f);
      if (attrs.Int("stash_type", 1) != 1) return unsupported("stash_type must be 1 (float32)");
      break;
    case OpType::kInstanceNormalization:
      SetDefault(&attrs, "epsilon", 1e-5f);
      break;
    case OpType::kLRN:
      // `size` has no default; the shape rule requires it (opsets 1 and 13 alike).
      SetDefault(&attrs, "alpha", 1e-4f);
      SetDefault(&attrs, "beta", 0.75f);
      SetDefault(&attrs, "bias", 1.f);
      break;
    case OpType::kPad:
      // Opset 1 called the amounts `paddings`; before opset 11 they and the
      // fill are attributes, after it inputs (engine/ops/pad.cc).
      if (attrs.Has("paddings") && !attrs.Has("pads")) {
        attrs.Set("pads", attrs.Ints("paddings"));
      }
      SetDefault(&attrs, "mode", std::string("constant"));
      SetDefault(&attrs, "value", 0.f);
      break;
    case OpType::kSplit:
      SetDefault(&attrs, "axis", int64_t{0});
      break;
    case OpType::kDepthToSpace:
      SetDefault(&attrs, "mode", std::string("DCR"));
      break;
    case OpType::kResize:
    case OpType::kUpsample:
      NormalizeResize(&node, opset);
      break;
    case OpType::kConstantOfShape:
      // The fill is a one-element tensor attribute, which Attributes cannot
      // hold: keep its value and element type (see engine/ops/generate.cc).
      for (const onnx::AttributeProto& attr : proto.attribute()) {
        if (attr.name() != "value") continue;
        auto fill = TensorFromProto(attr.t());
        if (!fill.ok()) return unsupported("value: " + fill.status().message());
        if (fill->size() != 1) return unsupported("value must hold one element");
        if (fill->dtype() == DType::kF16) return unsupported("a float16 value is not supported");
        attrs.Set("value", static_cast<float>(fill->FloatAt(0)));
        attrs.Set("value_dtype", static_cast<int64_t>(fill->dtype()));
      }
      break;
    default:
      break;
  }
  return node;
}

StatusOr<Tensor> ConstantNodeValue(const onnx::NodeProto& proto, const std::string& name,
                                   const std::string& source) {
  auto error = [&](StatusCode code, const std::string& reason) {
    return NodeError(code, source, name, "Constant", reason);
  };
  for (const onnx::AttributeProto& attr : proto.attribute()) {
    const std::string& key = attr.name();
    if (key == "value") {
      auto tensor = TensorFromProto(attr.t());
      if (!tensor.ok()) return error(tensor.status().code(), tensor.status().message());
      return tensor;
    }
    if (key == "value_float") {
      Tensor t(DType::kF32, {});
      t.data<float>()[0] = attr.f();
      return t;
    }
    if (key == "value_int") {
      Tensor t(DType::kI64, {});
      t.data<int64_t>()[0] = attr.i();
      return t;
    }
    if (key == "value_floats") {
      Tensor t(DType::kF32, {attr.floats_size()});
      for (int i = 0; i < attr.floats_size(); ++i) t.data<float>()[i] = attr.floats(i);
      return t;
    }
    if (key == "value_ints") {
      Tensor t(DType::kI64, {attr.ints_size()});
      for (int i = 0; i < attr.ints_size(); ++i) t.data<int64_t>()[i] = attr.ints(i);
      return t;
    }
    if (key == "sparse_value" || key == "value_string" || key == "value_strings") {
      return error(StatusCode::kUnimplemented, "attribute '" + key + "' is not supported");
    }
  }
  return error(StatusCode::kInvalidArgument, "has no value attribute");
}

std::vector<std::string> ImportedNodeNames(const onnx::GraphProto& graph) {
  std::vector<std::string> names;
  std::set<std::string> given;
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& proto = graph.node(i);
    std::string name =
        proto.name().empty() ? proto.op_type() + "_" + std::to_string(i) : proto.name();
    if (given.count(name)) name += "_" + std::to_string(i);
    given.insert(name);
    names.push_back(std::move(name));
  }
  return names;
}

}  // namespace mixq
