// Helpers shared by the importer and Specialize tests: paths of ONNX's
// backend test data and small in-memory ONNX models built with the protobuf
// API (for cases the test data does not cover).
#ifndef MIXQ_TESTS_ENGINE_ONNX_TEST_UTIL_H_
#define MIXQ_TESTS_ENGINE_ONNX_TEST_UTIL_H_

#include <onnx/onnx_pb.h>

#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace mixq::testing {

inline const std::string kOnnxNodeDir = "/usr/share/libonnx-testdata/data/node/";
inline const std::string kOnnxPytorchDir = "/usr/share/libonnx-testdata/data/pytorch-converted/";
inline const std::string kMalformedDir = std::string(MIXQ_SOURCE_DIR) + "/tests/data/onnx/";

// A model importing the default opset `opset`.
inline onnx::ModelProto NewModel(int64_t opset) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  auto* op = model.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  return model;
}

// Adds a float graph input/output; a dim of -1 becomes dim_param "N".
inline void AddValueInfo(onnx::ValueInfoProto* info, const std::string& name,
                         const std::vector<int64_t>& dims) {
  info->set_name(name);
  auto* tensor = info->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = tensor->mutable_shape();
  for (int64_t d : dims) {
    if (d < 0) {
      shape->add_dim()->set_dim_param("N");
    } else {
      shape->add_dim()->set_dim_value(d);
    }
  }
}

inline void AddInput(onnx::ModelProto* model, const std::string& name,
                     const std::vector<int64_t>& dims) {
  AddValueInfo(model->mutable_graph()->add_input(), name, dims);
}

inline void AddOutput(onnx::ModelProto* model, const std::string& name,
                      const std::vector<int64_t>& dims) {
  AddValueInfo(model->mutable_graph()->add_output(), name, dims);
}

inline void AddFloatInitializer(onnx::ModelProto* model, const std::string& name,
                                const std::vector<int64_t>& dims,
                                const std::vector<float>& values) {
  auto* t = model->mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  for (float v : values) t->add_float_data(v);
}

inline void AddInt64Initializer(onnx::ModelProto* model, const std::string& name,
                                const std::vector<int64_t>& values) {
  auto* t = model->mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) t->add_int64_data(v);
}

inline onnx::NodeProto* AddNode(onnx::ModelProto* model, const std::string& op,
                                const std::vector<std::string>& inputs,
                                const std::vector<std::string>& outputs,
                                const std::string& name = "") {
  auto* node = model->mutable_graph()->add_node();
  node->set_op_type(op);
  if (!name.empty()) node->set_name(name);
  for (const auto& in : inputs) node->add_input(in);
  for (const auto& out : outputs) node->add_output(out);
  return node;
}

inline void AddIntAttr(onnx::NodeProto* node, const std::string& name, int64_t value) {
  auto* attr = node->add_attribute();
  attr->set_name(name);
  attr->set_type(onnx::AttributeProto::INT);
  attr->set_i(value);
}

inline void AddIntsAttr(onnx::NodeProto* node, const std::string& name,
                        const std::vector<int64_t>& values) {
  auto* attr = node->add_attribute();
  attr->set_name(name);
  attr->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) attr->add_ints(v);
}

inline void AddFloatAttr(onnx::NodeProto* node, const std::string& name, float value) {
  auto* attr = node->add_attribute();
  attr->set_name(name);
  attr->set_type(onnx::AttributeProto::FLOAT);
  attr->set_f(value);
}

inline std::string Serialize(const onnx::ModelProto& model) {
  std::string bytes;
  model.SerializeToString(&bytes);
  return bytes;
}

// The backend tests feed shape-like operands (Reshape's shape, Squeeze's
// axes, Clip's bounds, Resize's scales, ...) as graph inputs; a deployed
// model has them as initializers. Freeze every non-float or scalar input,
// and every input in a Resize/Upsample slot after the data (the rule of
// tests/conformance/conformance_case.cc), into an initializer from
// the reference data so those tests exercise mixq's constant-input
// handling. `runtime_inputs` (optional) receives the reference files of the
// inputs left as graph inputs, in order.
inline StatusOr<std::string> FreezeParameterInputs(
    const std::string& model_path, const std::vector<std::string>& inputs,
    std::vector<std::string>* runtime_inputs = nullptr) {
  std::ifstream in(model_path, std::ios::binary);
  onnx::ModelProto model;
  if (!model.ParseFromIstream(&in)) return DataLoss(model_path);
  auto* graph = model.mutable_graph();
  std::set<std::string> initializers;
  for (const auto& init : graph->initializer()) initializers.insert(init.name());
  std::set<std::string> parameters;
  for (const auto& node : graph->node()) {
    if (node.op_type() != "Resize" && node.op_type() != "Upsample") continue;
    for (int i = 1; i < node.input_size(); ++i) parameters.insert(node.input(i));
  }
  std::vector<onnx::ValueInfoProto> kept;
  size_t data_index = 0;
  for (const auto& input : graph->input()) {
    if (initializers.count(input.name())) {
      kept.push_back(input);
      continue;
    }
    if (data_index >= inputs.size()) return NotFound("missing reference input");
    if (!input.type().has_tensor_type()) return Unimplemented("not a tensor input");
    const std::string& file = inputs[data_index++];
    std::ifstream pb(file, std::ios::binary);
    onnx::TensorProto tensor;
    if (!tensor.ParseFromIstream(&pb)) return DataLoss(file);
    if (tensor.data_type() != input.type().tensor_type().elem_type()) {
      return Unimplemented("reference data type differs from the declared one");
    }
    if (tensor.data_type() == onnx::TensorProto::FLOAT && tensor.dims_size() > 0 &&
        !parameters.count(input.name())) {
      kept.push_back(input);
      if (runtime_inputs != nullptr) runtime_inputs->push_back(file);
    } else {
      tensor.set_name(input.name());
      *graph->add_initializer() = tensor;
    }
  }
  graph->clear_input();
  for (const auto& input : kept) *graph->add_input() = input;
  return Serialize(model);
}

}  // namespace mixq::testing

#endif  // MIXQ_TESTS_ENGINE_ONNX_TEST_UTIL_H_
