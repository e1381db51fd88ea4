#include "engine/onnx/qdq_export.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/file_bytes.h"
#include "engine/ir/graph.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/onnx/onnx_node.h"
#include "engine/onnx/tensor_proto.h"
#include "engine/passes/fusion.h"
#include "engine/passes/input_shapes.h"
#include "engine/passes/specialize.h"
#include "engine/quant/weight_scales.h"

namespace mixq {
namespace {

onnx::TensorProto MakeInitializer(const std::string& name, onnx::TensorProto::DataType type,
                                  const Shape& dims, const void* data, size_t bytes) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(type);
  for (int64_t d : dims) t.add_dims(d);
  t.set_raw_data(data, bytes);
  return t;
}

onnx::NodeProto MakeNode(const std::string& op, const std::string& name,
                         const std::vector<std::string>& inputs, const std::string& output) {
  onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(name);
  for (const std::string& in : inputs) n.add_input(in);
  n.add_output(output);
  return n;
}

int64_t IntAttr(const onnx::NodeProto& node, const std::string& name, int64_t fallback) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return a.i();
  }
  return fallback;
}

void SetIntAttr(onnx::NodeProto* node, const std::string& name, int64_t value) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

// What INT8 execution does to one layer, in the original model's names.
struct Int8Layer {
  std::string name;
  OpType op = OpType::kConv;
  std::string input;    // quantised activation input
  std::string input_b;  // a MatMul's B computed at run time, quantised like `input`
  std::string output;   // the output after fused post-ops, quantised again
  bool seven_bit = false;
};

class QdqExporter {
 public:
  QdqExporter(onnx::ModelProto* model, const std::string& source)
      : model_(*model), source_(source) {}

  Status Run(const Graph& fused, const std::string& first_layer, const PrecisionConfig& config,
             const Calibration& calibration, const QdqExportOptions& options);

 private:
  Status Fail(StatusCode code, const std::string& what) const {
    return Status(code, source_ + ": QDQ export: " + what);
  }
  // A name no value, initializer or node of the model uses yet.
  std::string Fresh(const std::string& base);
  const onnx::TensorProto* FindInitializer(const std::string& name) const;
  StatusOr<const QuantParams*> ActivationParams(const std::string& tensor,
                                                const std::string& layer) const;
  // Per-channel int8 weights + DequantizeLinear; returns the DQ output name.
  StatusOr<std::string> QuantizeWeight(const Int8Layer& layer, const onnx::NodeProto& node,
                                       std::vector<float>* weight_scales);
  // int32 bias with scale s_x * s_w[c]; returns the DQ output name.
  StatusOr<std::string> QuantizeBias(const Int8Layer& layer, const std::string& bias,
                                     float input_scale, const std::vector<float>& weight_scales);
  // The tensors INT8 execution stores or reads quantised with parameters of
  // their own (see the file comment of qdq_export.h).
  StatusOr<std::set<std::string>> QuantisedTensors(
      const Graph& fused, const std::map<std::string, Int8Layer>& layers) const;
  // Q -> DQ on `tensor`, reading `source_value`, writing `dq_output`.
  void AddActivationQdq(const std::string& tensor, const std::string& source_value,
                        const std::string& dq_output, std::vector<onnx::NodeProto>* out);

  onnx::ModelProto& model_;
  const std::string& source_;
  const Calibration* calibration_ = nullptr;
  std::unordered_set<std::string> names_;
  std::vector<onnx::NodeProto> weight_nodes_;
  std::map<std::string, std::string> quantized_weights_;  // weight name -> DQ output
};

std::string QdqExporter::Fresh(const std::string& base) {
  std::string name = base;
  for (int i = 1; names_.count(name); ++i) name = base + "_" + std::to_string(i);
  names_.insert(name);
  return name;
}

const onnx::TensorProto* QdqExporter::FindInitializer(const std::string& name) const {
  for (const onnx::TensorProto& t : model_.graph().initializer()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

StatusOr<const QuantParams*> QdqExporter::ActivationParams(const std::string& tensor,
                                                           const std::string& layer) const {
  auto it = calibration_->activations.find(tensor);
  if (it == calibration_->activations.end()) {
    return Fail(StatusCode::kInvalidArgument, "the calibration has no parameters for tensor '" +
                                                  tensor + "' of INT8 layer '" + layer + "'");
  }
  if (!(it->second.dequant_scale > 0.0f) || !std::isfinite(it->second.dequant_scale)) {
    return Fail(StatusCode::kInvalidArgument,
                "tensor '" + tensor + "' has a non-positive or non-finite scale");
  }
  return &it->second;
}

StatusOr<std::string> QdqExporter::QuantizeWeight(const Int8Layer& layer,
                                                  const onnx::NodeProto& node,
                                                  std::vector<float>* weight_scales) {
  const std::string& name = node.input(1);
  const onnx::TensorProto* proto = FindInitializer(name);
  if (proto == nullptr) {
    return Fail(StatusCode::kUnimplemented,
                "layer '" + layer.name + "': weight '" + name + "' is not an initializer");
  }
  auto weights = TensorFromProto(*proto);
  if (!weights.ok()) {
    return Fail(weights.status().code(), "weight '" + name + "': " + weights.status().message());
  }
  WeightQuantOptions wq;
  wq.seven_bit = layer.seven_bit;
  // The output channel axis: Conv W [C_out, ...] 0; ConvTranspose W [C_in,
  // C_out / group, ...] 1; Gemm B 1, or 0 when transB; MatMul B [..., K, N]
  // the last.
  const int64_t rank = weights->rank();
  const bool conv_like = layer.op == OpType::kConv || layer.op == OpType::kConvTranspose;
  if (layer.op == OpType::kGemm) {
    wq.channel_axis = IntAttr(node, "transB", 0) != 0 ? 0 : 1;
  } else if (layer.op == OpType::kMatMul) {
    wq.channel_axis = static_cast<int>(rank) - 1;
  } else if (layer.op == OpType::kConvTranspose) {
    wq.channel_axis = 1;
  }
  if ((layer.op == OpType::kGemm && rank != 2) || (layer.op == OpType::kMatMul && rank < 2) ||
      (conv_like && rank < 3)) {
    return Fail(StatusCode::kUnimplemented, "layer '" + layer.name + "': weight '" + name +
                                                "' has shape " + ShapeToString(weights->shape()));
  }
  auto params = PerChannelWeightScales(*weights, wq);
  if (!params.ok()) {
    return Fail(params.status().code(), "weight '" + name + "': " + params.status().message());
  }
  *weight_scales = params->dequant_scales;
  auto it = quantized_weights_.find(name);
  if (it != quantized_weights_.end()) return it->second;

  MIXQ_ASSIGN_OR_RETURN(Tensor q, QuantizeWeights(*weights, *params, wq.channel_axis));
  const Shape channels = {static_cast<int64_t>(params->dequant_scales.size())};
  const std::vector<int8_t> zeros(params->dequant_scales.size(), 0);
  const std::string q_name = Fresh(name + "_quantized");
  const std::string scale_name = Fresh(name + "_scale");
  const std::string zp_name = Fresh(name + "_zero_point");
  const std::string dq_out = Fresh(name + "_DequantizeLinear_Output");
  auto* inits = model_.mutable_graph()->mutable_initializer();
  *inits->Add() = MakeInitializer(q_name, onnx::TensorProto::INT8, q.shape(), q.raw(), q.bytes());
  *inits->Add() =
      MakeInitializer(scale_name, onnx::TensorProto::FLOAT, channels, params->dequant_scales.data(),
                      params->dequant_scales.size() * sizeof(float));
  *inits->Add() =
      MakeInitializer(zp_name, onnx::TensorProto::INT8, channels, zeros.data(), zeros.size());
  onnx::NodeProto dq = MakeNode("DequantizeLinear", Fresh(name + "_DequantizeLinear"),
                                {q_name, scale_name, zp_name}, dq_out);
  SetIntAttr(&dq, "axis", wq.channel_axis);
  weight_nodes_.push_back(std::move(dq));
  quantized_weights_[name] = dq_out;
  return dq_out;
}

StatusOr<std::string> QdqExporter::QuantizeBias(const Int8Layer& layer, const std::string& bias,
                                                float input_scale,
                                                const std::vector<float>& weight_scales) {
  const onnx::TensorProto* proto = FindInitializer(bias);
  if (proto == nullptr) return std::string();  // computed bias: left in float
  auto b = TensorFromProto(*proto);
  if (!b.ok()) return Fail(b.status().code(), "bias '" + bias + "': " + b.status().message());
  if (b->dtype() != DType::kF32 || b->rank() != 1 ||
      b->size() != static_cast<int64_t>(weight_scales.size())) {
    return std::string();  // a broadcast Gemm C, say: left in float
  }
  std::vector<float> scales(weight_scales.size());
  std::vector<int32_t> q(weight_scales.size());
  constexpr double kMax = std::numeric_limits<int32_t>::max();
  for (size_t c = 0; c < q.size(); ++c) {
    scales[c] = input_scale * weight_scales[c];
    const double v = std::nearbyint(static_cast<double>(b->data<float>()[c]) / scales[c]);
    q[c] = static_cast<int32_t>(std::clamp(v, -kMax, kMax));
  }
  const Shape channels = {static_cast<int64_t>(q.size())};
  const std::vector<int32_t> zeros(q.size(), 0);
  const std::string base = bias + "_" + layer.name;
  const std::string q_name = Fresh(base + "_quantized");
  const std::string scale_name = Fresh(base + "_scale");
  const std::string zp_name = Fresh(base + "_zero_point");
  const std::string dq_out = Fresh(base + "_DequantizeLinear_Output");
  auto* inits = model_.mutable_graph()->mutable_initializer();
  *inits->Add() = MakeInitializer(q_name, onnx::TensorProto::INT32, channels, q.data(),
                                  q.size() * sizeof(int32_t));
  *inits->Add() = MakeInitializer(scale_name, onnx::TensorProto::FLOAT, channels, scales.data(),
                                  scales.size() * sizeof(float));
  *inits->Add() = MakeInitializer(zp_name, onnx::TensorProto::INT32, channels, zeros.data(),
                                  zeros.size() * sizeof(int32_t));
  onnx::NodeProto dq = MakeNode("DequantizeLinear", Fresh(base + "_DequantizeLinear"),
                                {q_name, scale_name, zp_name}, dq_out);
  SetIntAttr(&dq, "axis", 0);
  weight_nodes_.push_back(std::move(dq));
  return dq_out;
}

void QdqExporter::AddActivationQdq(const std::string& tensor, const std::string& source_value,
                                   const std::string& dq_output,
                                   std::vector<onnx::NodeProto>* out) {
  const QuantParams& p = calibration_->activations.at(tensor);
  const std::string scale_name = Fresh(tensor + "_scale");
  const std::string zp_name = Fresh(tensor + "_zero_point");
  const std::string q_out = Fresh(tensor + "_QuantizeLinear_Output");
  const uint8_t zero = 0;
  auto* inits = model_.mutable_graph()->mutable_initializer();
  *inits->Add() =
      MakeInitializer(scale_name, onnx::TensorProto::FLOAT, {}, &p.dequant_scale, sizeof(float));
  *inits->Add() = MakeInitializer(
      zp_name, p.is_unsigned ? onnx::TensorProto::UINT8 : onnx::TensorProto::INT8, {}, &zero, 1);
  out->push_back(MakeNode("QuantizeLinear", Fresh(tensor + "_QuantizeLinear"),
                          {source_value, scale_name, zp_name}, q_out));
  out->push_back(MakeNode("DequantizeLinear", Fresh(tensor + "_DequantizeLinear"),
                          {q_out, scale_name, zp_name}, dq_output));
}

bool KeepsInputParams(OpType op) {
  switch (op) {
    case OpType::kMaxPool:
    case OpType::kAveragePool:
    case OpType::kGlobalAveragePool:
    case OpType::kGlobalMaxPool:
    case OpType::kReshape:
    case OpType::kFlatten:
    case OpType::kSqueeze:
    case OpType::kUnsqueeze:
      return true;
    default:
      return false;
  }
}

StatusOr<std::set<std::string>> QdqExporter::QuantisedTensors(
    const Graph& fused, const std::map<std::string, Int8Layer>& layers) const {
  std::set<std::string> tensors;
  std::set<std::string> region;  // values an INT8 region computes
  for (const Node& node : fused.nodes) {
    auto layer = layers.find(node.name);
    if (layer != layers.end()) {
      MIXQ_RETURN_IF_ERROR(ActivationParams(layer->second.input, node.name).status());
      MIXQ_RETURN_IF_ERROR(ActivationParams(layer->second.output, node.name).status());
      if (!layer->second.input_b.empty()) {
        MIXQ_RETURN_IF_ERROR(ActivationParams(layer->second.input_b, node.name).status());
        tensors.insert(layer->second.input_b);
      }
      tensors.insert(layer->second.input);
      tensors.insert(layer->second.output);
      region.insert(layer->second.output);
      // A residual summed into an INT8 destination is quantised into it.
      for (const PostOp& op : node.post_ops) {
        if (op.kind == PostOp::Kind::kSum && calibration_->activations.count(op.sum_input)) {
          tensors.insert(op.sum_input);
        }
      }
      continue;
    }
    std::vector<std::string> data;
    for (const std::string& in : node.inputs) {
      if (!in.empty() && !fused.IsConstant(in)) data.push_back(in);
    }
    const bool from_region =
        !data.empty() && std::all_of(data.begin(), data.end(),
                                     [&](const std::string& in) { return region.count(in) != 0; });
    if (!from_region || node.outputs.empty()) continue;
    const std::string& out = node.outputs[0];
    if (KeepsInputParams(node.op)) {
      region.insert(out);  // stays in its input's parameters: no Q/DQ of its own
    } else if ((node.op == OpType::kAdd || node.op == OpType::kConcat ||
                (node.op == OpType::kMul && data.size() == 2)) &&
               calibration_->activations.count(out)) {
      region.insert(out);
      tensors.insert(out);
    }
  }
  return tensors;
}

// The name the importer gives node `index` (see Importer::UniqueNodeName).
std::vector<std::string> ImporterNodeNames(const onnx::GraphProto& graph) {
  std::vector<std::string> names;
  std::set<std::string> taken;
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& n = graph.node(i);
    std::string name = n.name().empty() ? n.op_type() + "_" + std::to_string(i) : n.name();
    if (taken.count(name)) name += "_" + std::to_string(i);
    taken.insert(name);
    names.push_back(name);
  }
  return names;
}

// Constant nodes holding a tensor become initializers: exporters (torch
// among them) write some weights as Constant nodes, and quantizing a weight
// replaces its initializer. The model computes the same.
void HoistConstantNodes(onnx::GraphProto* graph) {
  auto* nodes = graph->mutable_node();
  for (int i = 0; i < nodes->size();) {
    const onnx::NodeProto& node = nodes->Get(i);
    const bool default_domain = node.domain().empty() || node.domain() == "ai.onnx";
    const bool tensor_value = node.op_type() == "Constant" && default_domain &&
                              node.output_size() == 1 && node.attribute_size() == 1 &&
                              node.attribute(0).name() == "value" && node.attribute(0).has_t();
    if (!tensor_value) {
      ++i;
      continue;
    }
    onnx::TensorProto* init = graph->add_initializer();
    *init = node.attribute(0).t();
    init->set_name(node.output(0));
    nodes->DeleteSubrange(i, 1);
  }
}

Status QdqExporter::Run(const Graph& fused, const std::string& first_layer,
                        const PrecisionConfig& config, const Calibration& calibration,
                        const QdqExportOptions& options) {
  calibration_ = &calibration;
  onnx::GraphProto& graph = *model_.mutable_graph();
  HoistConstantNodes(&graph);
  for (const auto& t : graph.initializer()) names_.insert(t.name());
  for (const auto& v : graph.input()) names_.insert(v.name());
  for (const auto& n : graph.node()) {
    names_.insert(n.name());
    names_.insert(n.output().begin(), n.output().end());
  }
  std::set<std::string> graph_outputs;
  for (const auto& v : graph.output()) graph_outputs.insert(v.name());

  // The INT8 layers, as the fused graph sees them.
  std::map<std::string, Int8Layer> layers;
  for (const Node& node : fused.nodes) {
    if (!IsQuantizable(node.op)) continue;
    auto it = config.layers.find(node.name);
    if (it == config.layers.end() || it->second != Precision::kInt8) continue;
    Int8Layer layer;
    layer.name = node.name;
    layer.op = node.op;
    layer.input = node.inputs[0];
    if (node.op == OpType::kMatMul && node.inputs.size() == 2 &&
        !fused.IsConstant(node.inputs[1])) {
      layer.input_b = node.inputs[1];
    }
    layer.output = node.outputs[0];
    layer.seven_bit =
        options.seven_bit == SevenBitWeights::kAll ||
        (options.seven_bit == SevenBitWeights::kFirstLayer && node.name == first_layer);
    layers[node.name] = layer;
  }
  for (const auto& [name, precision] : config.layers) {
    if (precision == Precision::kInt8 && !layers.count(name)) {
      return Fail(StatusCode::kInvalidArgument,
                  "the config sets unknown layer '" + name + "' to int8");
    }
  }
  if (layers.empty()) return Status::Ok();

  int64_t opset = 0;
  for (const auto& o : model_.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  }
  if (opset < 13) {
    return Fail(StatusCode::kUnimplemented,
                "per-channel DequantizeLinear needs opset 13; the model has opset " +
                    std::to_string(opset));
  }
  for (const auto& n : graph.node()) {
    if (n.op_type() == "BatchNormalization") {
      return Fail(StatusCode::kUnimplemented,
                  "node '" + n.name() +
                      "' (BatchNormalization): fold batch norms into the model before export");
    }
  }

  // Tensors to quantise, and the value each consumer reads instead.
  MIXQ_ASSIGN_OR_RETURN(std::set<std::string> tensors, QuantisedTensors(fused, layers));
  for (const std::string& t : graph_outputs) tensors.erase(t);  // mixq writes outputs in f32
  std::set<std::string> produced;
  for (const auto& v : graph.input()) produced.insert(v.name());
  for (const auto& n : graph.node()) produced.insert(n.output().begin(), n.output().end());
  std::map<std::string, std::string> read_as;  // tensor -> DQ output
  for (const std::string& t : tensors) {
    if (!produced.count(t)) {
      return Fail(StatusCode::kUnimplemented,
                  "tensor '" + t + "' of the executor's graph is not a value of the model");
    }
    read_as[t] = Fresh(t + "_DequantizeLinear_Output");
  }

  const std::vector<std::string> node_names = ImporterNodeNames(graph);
  std::vector<onnx::NodeProto> nodes;
  for (const auto& v : graph.input()) {
    if (tensors.count(v.name())) AddActivationQdq(v.name(), v.name(), read_as[v.name()], &nodes);
  }
  for (int i = 0; i < graph.node_size(); ++i) {
    onnx::NodeProto node = graph.node(i);
    for (int k = 0; k < node.input_size(); ++k) {
      auto it = read_as.find(node.input(k));
      if (it != read_as.end()) node.set_input(k, it->second);
    }
    auto layer = layers.find(node_names[static_cast<size_t>(i)]);
    if (layer != layers.end() && layer->second.input_b.empty()) {
      std::vector<float> weight_scales;
      MIXQ_ASSIGN_OR_RETURN(std::string w, QuantizeWeight(layer->second, node, &weight_scales));
      node.set_input(1, w);
      if (layer->second.op == OpType::kConvTranspose) {
        // Scales are per C_out / group; output channel g * (C_out / group) + j takes scale j.
        const std::vector<float> per_group = weight_scales;
        for (int64_t g = 1; g < IntAttr(node, "group", 1); ++g) {
          weight_scales.insert(weight_scales.end(), per_group.begin(), per_group.end());
        }
      }
      if (node.input_size() > 2 && !node.input(2).empty() && layer->second.op != OpType::kMatMul) {
        bool beta_one = true;
        for (const auto& a : node.attribute()) {
          if (a.name() == "beta") beta_one = a.f() == 1.0f;
        }
        const float input_scale = calibration.activations.at(layer->second.input).dequant_scale;
        if (beta_one) {
          MIXQ_ASSIGN_OR_RETURN(std::string b, QuantizeBias(layer->second, graph.node(i).input(2),
                                                            input_scale, weight_scales));
          if (!b.empty()) node.set_input(2, b);
        }
      }
    }
    std::vector<onnx::NodeProto> after;
    for (int k = 0; k < node.output_size(); ++k) {
      const std::string t = node.output(k);
      if (tensors.count(t)) AddActivationQdq(t, t, read_as[t], &after);
    }
    nodes.push_back(std::move(node));
    for (auto& n : after) nodes.push_back(std::move(n));
  }

  // Weight DQs first, then the rewired nodes; drop float weights left unused.
  graph.clear_node();
  for (auto& n : weight_nodes_) *graph.add_node() = std::move(n);
  for (auto& n : nodes) *graph.add_node() = std::move(n);
  std::unordered_set<std::string> used(graph_outputs.begin(), graph_outputs.end());
  for (const auto& n : graph.node()) used.insert(n.input().begin(), n.input().end());
  auto* inits = graph.mutable_initializer();
  std::set<std::string> dropped;
  for (int i = inits->size() - 1; i >= 0; --i) {
    if (!used.count(inits->Get(i).name())) {
      dropped.insert(inits->Get(i).name());
      inits->DeleteSubrange(i, 1);
    }
  }
  auto* inputs = graph.mutable_input();
  for (int i = inputs->size() - 1; i >= 0; --i) {
    if (dropped.count(inputs->Get(i).name())) inputs->DeleteSubrange(i, 1);
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::string> ExportQdq(const std::string& model_bytes, const std::string& source,
                                const PrecisionConfig& config, const Calibration& calibration,
                                const QdqExportOptions& options) {
  if (!calibration.model_sha256.empty() && !config.model_sha256.empty() &&
      calibration.model_sha256 != config.model_sha256) {
    return InvalidArgument(source + ": QDQ export: the calibration was made for model " +
                           calibration.model_sha256 + ", the config for " + config.model_sha256);
  }
  MIXQ_ASSIGN_OR_RETURN(Graph graph, ImportOnnxFromBytes(model_bytes, source));
  for (const Node& node : graph.nodes) {
    if (node.op == OpType::kQuantizeLinear || node.op == OpType::kDequantizeLinear) {
      return InvalidArgument(source + ": QDQ export: node '" + node.name +
                             "': the model is quantised already");
    }
  }
  MIXQ_RETURN_IF_ERROR(FixInputShapes(options.input_shapes, &graph).WithContext(source));
  MIXQ_ASSIGN_OR_RETURN(Graph specialised, SpecializeForBatch(graph, 1));
  const Graph fused = FusePostOps(specialised);
  const std::vector<std::string> layers = graph.QuantizableLayers();
  onnx::ModelProto model;
  if (!model.ParseFromString(model_bytes)) {
    return DataLoss(source + ": not a valid ONNX model (protobuf parse failed)");
  }
  // Unnamed (and same-named) nodes are known by the names the importer gives
  // them, which count node positions; the Q/DQ nodes shift those, so they
  // are written into the model for it to import with the same layer names.
  const std::vector<std::string> names = ImportedNodeNames(model.graph());
  for (int i = 0; i < model.graph().node_size(); ++i) {
    if (model.graph().node(i).name() != names[static_cast<size_t>(i)]) {
      model.mutable_graph()->mutable_node(i)->set_name(names[static_cast<size_t>(i)]);
    }
  }
  QdqExporter exporter(&model, source);
  MIXQ_RETURN_IF_ERROR(
      exporter.Run(fused, layers.empty() ? "" : layers[0], config, calibration, options));
  std::string out;
  if (!model.SerializeToString(&out)) {
    return Internal(source + ": QDQ export: the model could not be serialised");
  }
  return out;
}

Status ExportQdqFile(const std::string& model_path, const PrecisionConfig& config,
                     const Calibration& calibration, const QdqExportOptions& options,
                     const std::string& out_path) {
  MIXQ_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(model_path));
  MIXQ_ASSIGN_OR_RETURN(std::string qdq, ExportQdq(std::string(bytes.begin(), bytes.end()),
                                                   model_path, config, calibration, options));
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  if (!out) return NotFound(out_path + ": cannot open for writing");
  out.write(qdq.data(), static_cast<std::streamsize>(qdq.size()));
  out.close();
  if (!out) return DataLoss(out_path + ": write failed");
  return Status::Ok();
}

}  // namespace mixq
