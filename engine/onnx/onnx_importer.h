// Reads an ONNX model file (protobuf types from libonnx-dev) into the graph IR.
// Every failure - unreadable, truncated or corrupt file, unsupported op,
// missing initializer, shape mismatch - is returned as a Status whose message
// is one line naming the file, the node (name and op type) and the reason.
#ifndef MIXQ_ENGINE_ONNX_ONNX_IMPORTER_H_
#define MIXQ_ENGINE_ONNX_ONNX_IMPORTER_H_

#include <string>

#include "common/status.h"
#include "common/tensor.h"
#include "engine/ir/graph.h"

namespace mixq {

// Loads `path`, normalises attributes, folds BatchNormalization into a
// preceding Conv/Gemm, and checks shapes (with batch 1 for a dynamic batch).
StatusOr<Graph> ImportOnnx(const std::string& path);

// Same, from the bytes of a model already in memory; `source` names it in
// error messages.
StatusOr<Graph> ImportOnnxFromBytes(const std::string& bytes, const std::string& source);

// Reads a serialized onnx.TensorProto (the test_data_set_*/input_*.pb files
// of ONNX's backend tests).
StatusOr<Tensor> ReadTensorProtoFile(const std::string& path);

}  // namespace mixq

#endif  // MIXQ_ENGINE_ONNX_ONNX_IMPORTER_H_
