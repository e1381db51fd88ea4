// Export of a precision config as a standard QDQ ONNX model, the format ONNX
// Runtime's quantisation tool writes: every INT8 layer reads its activation
// through QuantizeLinear -> DequantizeLinear (per-tensor, zero point 0, u8 or
// s8 as calibrated), its weights are int8 initializers behind a per-channel
// DequantizeLinear, its bias an int32 initializer with scale s_x * s_w[c]
// (what ONNX Runtime needs to fuse QLinearConv/QLinearMatMul), and its output
// - after the ops mixq fuses into it (ReLU, residual Add) - is quantised
// again. FP32 layers are left as they are.
//
// The export edits the original ModelProto rather than writing the graph IR
// back: every node, attribute, name, opset and metadata entry it does not
// touch round-trips byte for byte, so other runtimes see the model they were
// given plus Q/DQ nodes. The IR is only used to find, with the executor's own
// fusion pass, which tensors INT8 execution quantises (CalibrationPoints()).
// Weight scales are PerChannelWeightScales() of the stored weights, so the
// dequantised weights requantise to the same int8 values in mixq.
#ifndef MIXQ_WORKER_QDQ_EXPORT_H_
#define MIXQ_WORKER_QDQ_EXPORT_H_

#include <string>

#include "common/precision_config.h"
#include "common/status.h"
#include "worker/calibration/calibration_file.h"
#include "worker/quant_spec.h"

namespace mixq {

struct QdqExportOptions {
  SevenBitWeights seven_bit = SevenBitWeights::kNone;
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

#endif  // MIXQ_WORKER_QDQ_EXPORT_H_
