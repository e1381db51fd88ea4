#include "tests/conformance/conformance_case.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "engine/onnx/onnx_importer.h"
#include "engine/passes/specialize.h"
#include "engine/runtime/executor.h"

namespace mixq {
namespace {

namespace fs = std::filesystem;

void CollectOps(const onnx::GraphProto& graph, CaseOps* out) {
  for (const auto& node : graph.node()) {
    const std::string& domain = node.domain();
    if (domain.empty() || domain == "ai.onnx") {
      out->ops.insert(node.op_type());
    } else {
      out->ops.insert(domain + ":" + node.op_type());
    }
    for (const auto& attr : node.attribute()) {
      if (attr.has_g() || attr.graphs_size() > 0) out->has_subgraph = true;
    }
  }
}

std::vector<std::string> SortedFiles(const fs::path& dir, const std::string& prefix) {
  std::vector<std::pair<int, std::string>> found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || entry.path().extension() != ".pb") continue;
    int index = std::atoi(name.substr(prefix.size()).c_str());
    found.emplace_back(index, entry.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> paths;
  for (auto& f : found) paths.push_back(f.second);
  return paths;
}

bool IsIntegral(DType d) {
  return d == DType::kI64 || d == DType::kI32 || d == DType::kI8 || d == DType::kU8 ||
         d == DType::kBool;
}

Status Compare(const Tensor& got, const Tensor& want, const Tolerance& tol,
               const std::string& what) {
  if (got.shape() != want.shape()) {
    return InvalidArgument(what + ": shape " + ShapeToString(got.shape()) + ", expected " +
                           ShapeToString(want.shape()));
  }
  int64_t bad = 0;
  int64_t first_bad = -1;
  double worst = 0.0;
  for (int64_t i = 0; i < want.size(); ++i) {
    double g = got.FloatAt(i);
    double w = want.FloatAt(i);
    if (std::isnan(w) && std::isnan(g)) continue;
    if (std::isinf(w) && g == w) continue;
    double err = std::fabs(g - w);
    bool ok = IsIntegral(want.dtype()) ? err == 0.0 : err <= tol.atol + tol.rtol * std::fabs(w);
    if (!ok) {
      if (first_bad < 0) first_bad = i;
      ++bad;
      worst = std::max(worst, err);
    }
  }
  if (bad == 0) return Status::Ok();
  std::ostringstream msg;
  msg << what << ": " << bad << " of " << want.size() << " elements differ (first at " << first_bad
      << ": got " << got.FloatAt(first_bad) << ", expected " << want.FloatAt(first_bad)
      << "; max abs error " << worst << ")";
  return InvalidArgument(msg.str());
}

// Converts `t` to dtype `d` (only what the comparison needs: float outputs).
Tensor ToDType(const Tensor& t, DType d) {
  if (t.dtype() == d) return t;
  Tensor out(d, t.shape());
  for (int64_t i = 0; i < t.size(); ++i) {
    switch (d) {
      case DType::kF32:
        out.data<float>()[i] = static_cast<float>(t.FloatAt(i));
        break;
      case DType::kF64:
        out.data<double>()[i] = t.FloatAt(i);
        break;
      case DType::kI64:
        out.data<int64_t>()[i] = t.IntAt(i);
        break;
      case DType::kI32:
        out.data<int32_t>()[i] = static_cast<int32_t>(t.IntAt(i));
        break;
      default:
        out.data<uint8_t>()[i] = static_cast<uint8_t>(t.IntAt(i));
        break;
    }
  }
  return out;
}

// A graph input whose reference data is integer-typed or a scalar is a
// parameter (reshape target, axes, clip bound, dropout ratio): it becomes an
// initializer, so the importer sees what a deployed model would have.
bool IsParameter(const onnx::TensorProto& t) {
  return t.dims_size() == 0 ||
         (t.data_type() != onnx::TensorProto::FLOAT && t.data_type() != onnx::TensorProto::DOUBLE &&
          t.data_type() != onnx::TensorProto::FLOAT16);
}

// Inputs that mixq compiles ahead of time and so requires to be constants:
// Conv and ConvTranspose weights and bias, BatchNormalization's
// scale/bias/mean/var, Gemm's C, Resize's roi and scales and Upsample's
// scales (float tensors that decide the output shape). Several backend cases
// feed them as graph inputs; they are bound as initializers with the same
// values.
std::set<std::string> CompiledAheadInputs(const onnx::GraphProto& graph) {
  std::set<std::string> names;
  for (const auto& node : graph.node()) {
    int first = -1;
    if (node.op_type() == "Conv" || node.op_type() == "ConvTranspose" ||
        node.op_type() == "BatchNormalization") {
      first = 1;
    }
    if (node.op_type() == "Gemm") first = 2;
    if (node.op_type() == "Resize" || node.op_type() == "Upsample") first = 1;
    if (first < 0) continue;
    for (int i = first; i < node.input_size(); ++i) names.insert(node.input(i));
  }
  return names;
}

StatusOr<onnx::TensorProto> ReadProto(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open");
  onnx::TensorProto t;
  if (!t.ParseFromIstream(&in)) return DataLoss(path + ": not a TensorProto");
  return t;
}

Status RunDataSet(const onnx::ModelProto& proto, const fs::path& model_path,
                  const fs::path& set_dir, const Tolerance& tol) {
  std::vector<std::string> input_files = SortedFiles(set_dir, "input_");
  std::vector<std::string> output_files = SortedFiles(set_dir, "output_");
  // Graph inputs that are not initializers, in order (old IR versions list
  // initializers among the inputs too).
  std::set<std::string> initializers;
  for (const auto& init : proto.graph().initializer()) initializers.insert(init.name());
  std::vector<std::string> input_names;
  for (const auto& in : proto.graph().input()) {
    if (!initializers.count(in.name())) input_names.push_back(in.name());
  }
  if (input_files.size() != input_names.size()) {
    return InvalidArgument(set_dir.string() + ": " + std::to_string(input_files.size()) +
                           " input files for " + std::to_string(input_names.size()) +
                           " graph inputs");
  }
  onnx::ModelProto bound = proto;
  const std::set<std::string> compiled_ahead = CompiledAheadInputs(proto.graph());
  std::map<std::string, Shape> shapes;
  std::map<std::string, Tensor> feeds_by_name;
  for (size_t i = 0; i < input_files.size(); ++i) {
    MIXQ_ASSIGN_OR_RETURN(onnx::TensorProto t, ReadProto(input_files[i]));
    if (IsParameter(t) || compiled_ahead.count(input_names[i])) {
      t.set_name(input_names[i]);
      *bound.mutable_graph()->add_initializer() = t;
      continue;
    }
    MIXQ_ASSIGN_OR_RETURN(Tensor data, ReadTensorProtoFile(input_files[i]));
    shapes[input_names[i]] = data.shape();
    feeds_by_name[input_names[i]] = std::move(data);
  }
  std::string bytes;
  if (!bound.SerializeToString(&bytes)) return Internal("cannot serialise the bound model");
  MIXQ_ASSIGN_OR_RETURN(Graph graph, ImportOnnxFromBytes(bytes, model_path.string()));
  MIXQ_ASSIGN_OR_RETURN(Graph specialised, Specialize(graph, shapes));
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<CompiledModel> model,
                        CompiledModel::Compile(specialised, ExecutorOptions{}));
  std::vector<Tensor> feeds;
  for (size_t i = 0; i < model->input_names().size(); ++i) {
    auto it = feeds_by_name.find(model->input_names()[i]);
    if (it == feeds_by_name.end()) {
      return Internal("no data for input '" + model->input_names()[i] + "'");
    }
    feeds.push_back(ToDType(it->second, model->input_infos()[i].dtype));
  }
  std::vector<const Tensor*> inputs;
  for (const Tensor& t : feeds) inputs.push_back(&t);
  std::vector<Tensor> outputs = model->MakeOutputs();
  MIXQ_RETURN_IF_ERROR(model->Run(inputs, &outputs));
  if (output_files.size() != outputs.size()) {
    return InvalidArgument(set_dir.string() + ": " + std::to_string(output_files.size()) +
                           " reference outputs, model has " + std::to_string(outputs.size()));
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    MIXQ_ASSIGN_OR_RETURN(Tensor want, ReadTensorProtoFile(output_files[i]));
    MIXQ_RETURN_IF_ERROR(
        Compare(ToDType(outputs[i], want.dtype()), want, tol,
                set_dir.filename().string() + " output '" + model->output_names()[i] + "'"));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<CaseOps> ReadCaseOps(const std::string& model_path) {
  std::ifstream in(model_path, std::ios::binary);
  if (!in) return NotFound(model_path + ": cannot open");
  onnx::ModelProto model;
  if (!model.ParseFromIstream(&in)) return DataLoss(model_path + ": not a valid ONNX model");
  CaseOps ops;
  CollectOps(model.graph(), &ops);
  return ops;
}

Status RunCase(const std::string& dir, const Tolerance& tol) {
  fs::path root(dir);
  fs::path model_path = root / "model.onnx";
  std::ifstream in(model_path, std::ios::binary);
  if (!in) return NotFound(model_path.string() + ": cannot open");
  onnx::ModelProto proto;
  if (!proto.ParseFromIstream(&in))
    return DataLoss(model_path.string() + ": not a valid ONNX model");
  std::vector<fs::path> sets;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.is_directory() && entry.path().filename().string().rfind("test_data_set_", 0) == 0) {
      sets.push_back(entry.path());
    }
  }
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) return NotFound(dir + ": no test_data_set_* folder");
  for (const auto& set : sets) MIXQ_RETURN_IF_ERROR(RunDataSet(proto, model_path, set, tol));
  return Status::Ok();
}

}  // namespace mixq
