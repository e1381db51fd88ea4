// ConvTranspose's geometry, as its shape rule (conv_transpose.cc) leaves it
// in the node's attributes: explicit strides, dilations and begin pads per
// spatial dim (a begin pad may be negative where output_shape asks for more
// than the natural size). The end pads follow from the output shape, which
// the host kernel and the oneDNN lowerings read from the graph.
#ifndef MIXQ_ENGINE_OPS_CONV_TRANSPOSE_H_
#define MIXQ_ENGINE_OPS_CONV_TRANSPOSE_H_

#include <cstdint>
#include <vector>

#include "engine/ir/graph.h"

namespace mixq {

struct ConvTransposeGeometry {
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pads_begin;  // one per spatial dim
};

// The geometry of a ConvTranspose node whose shape rule ran, for `spatial`
// spatial dims.
ConvTransposeGeometry ConvTransposeGeometryOf(const Node& node, size_t spatial);

}  // namespace mixq

#endif  // MIXQ_ENGINE_OPS_CONV_TRANSPOSE_H_
