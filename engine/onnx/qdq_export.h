// Export of a precision config as a standard QDQ ONNX model, the format ONNX
// Runtime's quantisation tool writes. QuantizeLinear -> DequantizeLinear
// pairs (per tensor, zero point 0, u8 or s8 as calibrated) go where mixq's
// INT8 execution quantises, found with the executor's own fusion pass:
//   - the input of every INT8 layer (both inputs of a MatMul of two run-time
//     tensors, attention's products), and its output after the ops fused
//     into it (ReLU, a residual Add): Conv -> Add -> Relu is quantised after
//     Relu;
//   - the residual of a fused sum, which INT8 execution quantises into the
//     layer's destination;
//   - the output of a non-fused Add or Concat of INT8 values, or a Mul of two
//     (a squeeze-excitation scale) (they take their own parameters); pools and reshapes of INT8
//     values keep their input's parameters and get no pair of their own;
//   - never a graph output: mixq writes those in float.
// INT8 layers' weights become int8 initializers behind a per-channel
// DequantizeLinear (axis 0 for Conv and Gemm with transB, 1 for ConvTranspose
// and Gemm without, the last for MatMul), their bias an int32 initializer
// with scale s_x * s_w[c] (what ONNX Runtime needs to fuse QLinearConv; a
// grouped ConvTranspose's output channel g * (C_out / group) + j takes
// weight scale j). FP32 layers are untouched.
//
// The export edits the original ModelProto rather than writing the graph IR
// back: every node, attribute, name, opset and metadata entry it does not
// touch round-trips byte for byte, and other runtimes see the model they were
// given plus Q/DQ nodes. Only nodes without a name of their own (or sharing
// one) are renamed, to the names mixq's importer gives them
// (ImportedNodeNames()), so that the QDQ model's layers keep their names. Weight scales are
// PerChannelWeightScales() of the stored weights, so the dequantised weights requantise to the same
// int8 values in mixq; activation scales are the calibration's, bit for bit.
#ifndef MIXQ_ENGINE_ONNX_QDQ_EXPORT_H_
#define MIXQ_ENGINE_ONNX_QDQ_EXPORT_H_

#include <string>

#include "common/input_shapes.h"
#include "common/precision_config.h"
#include "common/status.h"
#include "engine/quant/calibration_file.h"
#include "engine/quant/quant_spec.h"

namespace mixq {

struct QdqExportOptions {
  SevenBitWeights seven_bit = SevenBitWeights::kNone;
  // Fixes symbolic input dims (engine/passes/input_shapes.h) for the export's
  // own shape work; the exported model keeps the shapes the model declares.
  // A model whose inputs have symbolic dims other than the batch needs them.
  InputShapes input_shapes;
};

// The QDQ model (serialised ModelProto) for the model in `model_bytes`
// (`source` names it in errors). Fails with InvalidArgument when the
// calibration lacks a tensor an INT8 layer needs, Unimplemented for models it
// cannot annotate (opset < 13, BatchNormalization beside an INT8 layer,
// weights that are not initializers), each naming the layer or tensor.
StatusOr<std::string> ExportQdq(const std::string& model_bytes, const std::string& source,
                                const PrecisionConfig& config, const Calibration& calibration,
                                const QdqExportOptions& options);

// ExportQdq() from the file `model_path` to the file `out_path`.
Status ExportQdqFile(const std::string& model_path, const PrecisionConfig& config,
                     const Calibration& calibration, const QdqExportOptions& options,
                     const std::string& out_path);

}  // namespace mixq

#endif  // MIXQ_ENGINE_ONNX_QDQ_EXPORT_H_
