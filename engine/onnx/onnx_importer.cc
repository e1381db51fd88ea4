#include "engine/onnx/onnx_importer.h"

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <sstream>
#include <unordered_set>

#include "common/utf8.h"
#include "engine/ir/node_error.h"
#include "engine/ir/onnx_dtype.h"
#include "engine/onnx/onnx_node.h"
#include "engine/onnx/tensor_proto.h"
#include "engine/passes/constant_folding.h"
#include "engine/passes/fold_batch_norm.h"
#include "engine/passes/specialize.h"

namespace mixq {
namespace {

// protobuf refuses messages over 2 GiB anyway; a model file larger than this
// would need external data, which is refused too.
constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t{2} << 30;

StatusOr<std::string> ReadFile(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) return NotFound(path + ": no such file");
  if (!std::filesystem::is_regular_file(status)) {
    return InvalidArgument(path + ": not a regular file");
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return NotFound(path + ": cannot read: " + ec.message());
  if (size > kMaxFileBytes) return InvalidArgument(path + ": file is larger than 2 GiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return DataLoss(path + ": read error");
  return bytes;
}

int64_t DefaultOpset(const onnx::ModelProto& model) {
  for (const auto& opset : model.opset_import()) {
    if (opset.domain().empty() || opset.domain() == "ai.onnx") return opset.version();
  }
  return 0;
}

// Declared type of a graph input or output; `shape` empty and `has_shape`
// false when the model gives no shape. Unknown dims become -1.
struct DeclaredType {
  DType dtype = DType::kF32;
  bool has_shape = false;
  Shape shape;
};

StatusOr<DeclaredType> ReadValueInfo(const onnx::ValueInfoProto& info, const std::string& source,
                                     const char* what) {
  const std::string context = source + ": " + what + " '" + info.name() + "'";
  if (!info.type().has_tensor_type()) return Unimplemented(context + " is not a tensor");
  const auto& tensor_type = info.type().tensor_type();
  DeclaredType out;
  auto dtype = DTypeFromOnnx(tensor_type.elem_type());
  if (!dtype.ok()) return Unimplemented(context + ": " + dtype.status().message());
  out.dtype = *dtype;
  if (tensor_type.has_shape()) {
    out.has_shape = true;
    for (const auto& dim : tensor_type.shape().dim()) {
      out.shape.push_back(dim.has_dim_value() && dim.dim_value() >= 0 ? dim.dim_value() : -1);
    }
  }
  return out;
}

// Removes constants nothing refers to (initializers that only fed folded
// nodes, or that the model lists but never uses).
void PruneConstants(Graph* graph) {
  std::unordered_set<std::string> used(graph->outputs.begin(), graph->outputs.end());
  for (const Node& node : graph->nodes) used.insert(node.inputs.begin(), node.inputs.end());
  for (auto it = graph->constants.begin(); it != graph->constants.end();) {
    if (used.count(it->first)) {
      ++it;
    } else {
      graph->values.erase(it->first);
      it = graph->constants.erase(it);
    }
  }
}

class Importer {
 public:
  Importer(const onnx::ModelProto& model, const std::string& source)
      : model_(model), source_(source) {}
  StatusOr<Graph> Run();

 private:
  Status AddInitializers();
  Status AddInputsAndOutputs();
  Status AddNodes();
  Status CheckDeclaredOutputs() const;
  Status CheckBySpecializing() const;

  const onnx::ModelProto& model_;
  const std::string& source_;
  Graph graph_;
  std::unordered_set<std::string> defined_;  // values available so far
  std::map<std::string, DeclaredType> declared_outputs_;
};

Status Importer::AddInitializers() {
  for (const onnx::TensorProto& init : model_.graph().initializer()) {
    auto tensor = TensorFromProto(init);
    if (!tensor.ok()) {
      return Status(tensor.status().code(),
                    source_ + ": initializer '" + init.name() + "': " + tensor.status().message());
    }
    graph_.values[init.name()] = ValueInfo{tensor->dtype(), tensor->shape()};
    graph_.constants[init.name()] = std::move(tensor).value();
    defined_.insert(init.name());
  }
  if (model_.graph().sparse_initializer_size() > 0) {
    return Unimplemented(source_ + ": sparse initializers are not supported");
  }
  return Status::Ok();
}

Status Importer::AddInputsAndOutputs() {
  for (const onnx::ValueInfoProto& input : model_.graph().input()) {
    // Before IR version 4 initializers were listed as inputs too.
    if (graph_.IsConstant(input.name())) continue;
    if (input.name().empty()) return InvalidArgument(source_ + ": a graph input has no name");
    MIXQ_ASSIGN_OR_RETURN(DeclaredType type, ReadValueInfo(input, source_, "input"));
    graph_.inputs.push_back(input.name());
    defined_.insert(input.name());
    if (type.has_shape) graph_.values[input.name()] = ValueInfo{type.dtype, type.shape};
  }
  for (const onnx::ValueInfoProto& output : model_.graph().output()) {
    graph_.outputs.push_back(output.name());
    auto type = ReadValueInfo(output, source_, "output");
    if (type.ok()) declared_outputs_[output.name()] = std::move(type).value();
  }
  if (graph_.outputs.empty()) return InvalidArgument(source_ + ": the graph has no outputs");
  return Status::Ok();
}

Status Importer::AddNodes() {
  const int64_t opset = graph_.opset;
  const std::vector<std::string> names = ImportedNodeNames(model_.graph());
  for (int i = 0; i < model_.graph().node_size(); ++i) {
    const onnx::NodeProto& proto = model_.graph().node(i);
    const std::string& name = names[static_cast<size_t>(i)];
    for (const std::string& in : proto.input()) {
      if (!in.empty() && !defined_.count(in)) {
        return Status(StatusCode::kInvalidArgument,
                      source_ + ": node '" + name + "' (" + proto.op_type() + "): input '" + in +
                          "' is not produced by any earlier node, graph input or initializer");
      }
    }
    for (const std::string& out : proto.output()) {
      if (!out.empty() && defined_.count(out)) {
        return Status(StatusCode::kInvalidArgument, source_ + ": node '" + name + "' (" +
                                                        proto.op_type() + "): output '" + out +
                                                        "' is already defined");
      }
    }
    if (proto.op_type() == "Constant" && (proto.domain().empty() || proto.domain() == "ai.onnx")) {
      if (proto.output_size() != 1) {
        return InvalidArgument(source_ + ": node '" + name + "' (Constant): expected 1 output");
      }
      MIXQ_ASSIGN_OR_RETURN(Tensor value, ConstantNodeValue(proto, name, source_));
      graph_.values[proto.output(0)] = ValueInfo{value.dtype(), value.shape()};
      graph_.constants[proto.output(0)] = std::move(value);
    } else {
      MIXQ_ASSIGN_OR_RETURN(Node node, ConvertOnnxNode(proto, name, opset, source_));
      graph_.nodes.push_back(std::move(node));
    }
    for (const std::string& out : proto.output()) {
      if (!out.empty()) defined_.insert(out);
    }
  }
  for (const std::string& out : graph_.outputs) {
    if (!defined_.count(out)) {
      return InvalidArgument(source_ + ": graph output '" + out + "' is not produced by any node");
    }
  }
  return Status::Ok();
}

Status Importer::CheckDeclaredOutputs() const {
  for (const auto& [name, declared] : declared_outputs_) {
    const ValueInfo* inferred = graph_.FindValue(name);
    if (!declared.has_shape || inferred == nullptr) continue;
    bool fits = declared.shape.size() == inferred->shape.size();
    for (size_t i = 0; fits && i < declared.shape.size(); ++i) {
      fits = declared.shape[i] < 0 || inferred->shape[i] < 0 ||
             declared.shape[i] == inferred->shape[i];
    }
    if (!fits) {
      const Node* producer = graph_.Producer(name);
      const std::string where =
          producer ? "node '" + producer->name + "' (" + OpTypeName(producer->op) + "): " : "";
      return InvalidArgument(source_ + ": " + where + "output '" + name + "' has shape " +
                             ShapeToString(inferred->shape) + " but the model declares " +
                             ShapeToString(declared.shape));
    }
  }
  return Status::Ok();
}

// Surfaces shape errors at load: specialise with batch 1 where only the
// batch dim is dynamic (a model with other dynamic dims is checked when the
// caller gives concrete shapes).
Status Importer::CheckBySpecializing() const {
  std::map<std::string, Shape> shapes;
  for (const std::string& input : graph_.inputs) {
    const ValueInfo* info = graph_.FindValue(input);
    if (info == nullptr) return Status::Ok();
    Shape shape = info->shape;
    for (size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] >= 0) continue;
      if (i != 0) return Status::Ok();
      shape[i] = 1;
    }
    shapes[input] = shape;
  }
  auto specialised = Specialize(graph_, shapes);
  return specialised.status();
}

StatusOr<Graph> Importer::Run() {
  if (!model_.has_graph()) return DataLoss(source_ + ": not an ONNX model (no graph)");
  graph_.source = source_;
  graph_.opset = DefaultOpset(model_);
  MIXQ_RETURN_IF_ERROR(AddInitializers());
  MIXQ_RETURN_IF_ERROR(AddInputsAndOutputs());
  MIXQ_RETURN_IF_ERROR(AddNodes());
  // Checked after the nodes so that a model of only foreign-domain ops is
  // reported as unsupported ops rather than as a missing opset.
  if (graph_.opset <= 0) {
    return InvalidArgument(source_ + ": the model imports no default-domain (ai.onnx) opset");
  }
  MIXQ_RETURN_IF_ERROR(PropagateShapes(&graph_, false));
  MIXQ_RETURN_IF_ERROR(FoldBatchNorm(&graph_));
  PruneConstants(&graph_);
  MIXQ_RETURN_IF_ERROR(CheckDeclaredOutputs());
  MIXQ_RETURN_IF_ERROR(CheckBySpecializing());
  return std::move(graph_);
}

}  // namespace

namespace {

// ONNX names are UTF-8 text; they reach JSON output, the result database and
// logs, so a name that is not is refused here, by position (its bytes are
// not repeated in the message).
Status CheckNamesAreUtf8(const onnx::GraphProto& graph, const std::string& source) {
  auto check = [&source](const std::string& name, const std::string& what) {
    if (IsValidUtf8(name)) return Status::Ok();
    return InvalidArgument(source + ": " + what + " is not valid UTF-8 (ONNX names are UTF-8)");
  };
  for (int i = 0; i < graph.initializer_size(); ++i) {
    MIXQ_RETURN_IF_ERROR(
        check(graph.initializer(i).name(), "the name of initializer " + std::to_string(i)));
  }
  for (int i = 0; i < graph.input_size(); ++i) {
    MIXQ_RETURN_IF_ERROR(
        check(graph.input(i).name(), "the name of graph input " + std::to_string(i)));
  }
  for (int i = 0; i < graph.output_size(); ++i) {
    MIXQ_RETURN_IF_ERROR(
        check(graph.output(i).name(), "the name of graph output " + std::to_string(i)));
  }
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    const std::string at = "node " + std::to_string(i);
    MIXQ_RETURN_IF_ERROR(check(node.name(), "the name of " + at));
    MIXQ_RETURN_IF_ERROR(check(node.op_type(), "the op type of " + at));
    for (int k = 0; k < node.input_size(); ++k) {
      MIXQ_RETURN_IF_ERROR(check(node.input(k), "input " + std::to_string(k) + " of " + at));
    }
    for (int k = 0; k < node.output_size(); ++k) {
      MIXQ_RETURN_IF_ERROR(check(node.output(k), "output " + std::to_string(k) + " of " + at));
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<Graph> ImportOnnxFromBytes(const std::string& bytes, const std::string& source) {
  onnx::ModelProto model;
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return DataLoss(source +
                    ": not a valid ONNX model (protobuf parse failed: the file is "
                    "truncated or corrupt)");
  }
  if (model.ir_version() <= 0 || !model.has_graph()) {
    return DataLoss(source + ": not an ONNX model (no IR version or graph)");
  }
  MIXQ_RETURN_IF_ERROR(CheckNamesAreUtf8(model.graph(), source));
  return Importer(model, source).Run();
}

StatusOr<Graph> ImportOnnx(const std::string& path) {
  MIXQ_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  return ImportOnnxFromBytes(bytes, path);
}

StatusOr<Tensor> ReadTensorProtoFile(const std::string& path) {
  MIXQ_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes)) {
    return DataLoss(path + ": not a valid TensorProto (truncated or corrupt file)");
  }
  auto tensor = TensorFromProto(proto);
  if (!tensor.ok()) return Status(tensor.status().code(), path + ": " + tensor.status().message());
  return tensor;
}

}  // namespace mixq
