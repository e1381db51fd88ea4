// Folds a Pad into the Conv, MaxPool or AveragePool reading it, as that
// op's own padding, so the padded copy of the activation is never made and
// oneDNN pads inside the primitive. Exporters write such Pads where the
// framework padded explicitly (TensorFlow's SAME through tf2onnx, torch's
// F.pad or ZeroPad2d before a convolution).
//
// A Pad is folded when its mode is constant, its amounts are non-negative
// and pad only the spatial dims (never N or C), its fill is a constant, its
// output is read by that one op as its data input and is not a graph
// output, and the op's own padding is explicit (auto_pad resolved). The fill
// must be what the op pads with:
//   Conv         0;
//   AveragePool  0, without ceil_mode, and with count_include_pad = 1 or no
//                padding of its own (it becomes count_include_pad = 1: the
//                Pad's zeros were real elements of every window's divisor);
//   MaxPool      -inf (or the lowest float), or 0 where the Pad's input is a
//                Relu's output (no negative value to lose to the zeros); in
//                both cases no window may lie wholly in the padding.
// Run by Specialize() once every shape and constant is known.
#ifndef MIXQ_ENGINE_PASSES_FOLD_PAD_H_
#define MIXQ_ENGINE_PASSES_FOLD_PAD_H_

#include "engine/ir/graph.h"

namespace mixq {

// Rewrites `graph` in place: the op reads the Pad's input with its pads
// increased by the Pad's; the Pad node disappears.
void FoldPadIntoWindowOps(Graph* graph);

}  // namespace mixq

#endif  // MIXQ_ENGINE_PASSES_FOLD_PAD_H_
