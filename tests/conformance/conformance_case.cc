#include "tests/conformance/conformance_case.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "worker/executor.h"
#include "worker/onnx_importer.h"

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
      case DType::kF32: out.data<float>()[i] = static_cast<float>(t.FloatAt(i)); break;
      case DType::kF64: out.data<double>()[i] = t.FloatAt(i); break;
      case DType::kI64: out.data<int64_t>()[i] = t.IntAt(i); break;
      case DType::kI32: out.data<int32_t>()[i] = static_cast<int32_t>(t.IntAt(i)); break;
      default: out.data<uint8_t>()[i] = static_cast<uint8_t>(t.IntAt(i)); break;
    }
  }
  return out;
}

Status RunDataSet(const Graph& imported, const fs::path& set_dir, const Tolerance& tol) {
  std::vector<std::string> input_files = SortedFiles(set_dir, "input_");
  std::vector<std::string> output_files = SortedFiles(set_dir, "output_");
  if (input_files.size() != imported.inputs.size()) {
    return InvalidArgument(set_dir.string() + ": " + std::to_string(input_files.size()) +
                           " input files for " + std::to_string(imported.inputs.size()) +
                           " graph inputs");
  }
  Graph graph = imported;
  std::map<std::string, Shape> shapes;
  std::vector<Tensor> feeds;
  std::vector<std::string> feed_names;
  for (size_t i = 0; i < input_files.size(); ++i) {
    MIXQ_ASSIGN_OR_RETURN(Tensor t, ReadTensorProtoFile(input_files[i]));
    const std::string& name = imported.inputs[i];
    if (IsIntegral(t.dtype()) || t.rank() == 0) {
      graph.constants[name] = t;
      graph.values[name] = ValueInfo{t.dtype(), t.shape()};
      continue;
    }
    shapes[name] = t.shape();
    feeds.push_back(std::move(t));
    feed_names.push_back(name);
  }
  graph.inputs = feed_names;
  MIXQ_ASSIGN_OR_RETURN(Graph specialised, Specialize(graph, shapes));
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<CompiledModel> model,
                        CompiledModel::Compile(specialised, ExecutorOptions{}));
  std::vector<const Tensor*> inputs;
  for (size_t i = 0; i < feeds.size(); ++i) {
    if (feeds[i].dtype() != model->input_infos()[i].dtype) feeds[i] = ToDType(feeds[i], model->input_infos()[i].dtype);
    inputs.push_back(&feeds[i]);
  }
  std::vector<Tensor> outputs = model->MakeOutputs();
  MIXQ_RETURN_IF_ERROR(model->Run(inputs, &outputs));
  if (output_files.size() != outputs.size()) {
    return InvalidArgument(set_dir.string() + ": " + std::to_string(output_files.size()) +
                           " reference outputs, model has " + std::to_string(outputs.size()));
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    MIXQ_ASSIGN_OR_RETURN(Tensor want, ReadTensorProtoFile(output_files[i]));
    MIXQ_RETURN_IF_ERROR(Compare(ToDType(outputs[i], want.dtype()), want, tol,
                                 set_dir.filename().string() + " output '" +
                                     model->output_names()[i] + "'"));
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
  MIXQ_ASSIGN_OR_RETURN(Graph graph, ImportOnnx((root / "model.onnx").string()));
  std::vector<fs::path> sets;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.is_directory() && entry.path().filename().string().rfind("test_data_set_", 0) == 0) {
      sets.push_back(entry.path());
    }
  }
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) return NotFound(dir + ": no test_data_set_* folder");
  for (const auto& set : sets) MIXQ_RETURN_IF_ERROR(RunDataSet(graph, set, tol));
  return Status::Ok();
}

}  // namespace mixq
