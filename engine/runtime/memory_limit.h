// The memory limit of a compiled model: the bytes its tensors may take
// (weights and other constants, graph inputs and outputs, the activation
// arenas). A model may declare tensors of any size; checking them against a
// limit before anything is allocated turns a model that cannot run within
// the machine's memory into one clear line naming the largest tensor,
// instead of an allocation failure or the kernel's out-of-memory killer.
#ifndef MIXQ_ENGINE_RUNTIME_MEMORY_LIMIT_H_
#define MIXQ_ENGINE_RUNTIME_MEMORY_LIMIT_H_

#include <cstddef>
#include <string>

#include "common/status.h"
#include "engine/ir/graph.h"

namespace mixq {

// Half of the machine's physical memory (1 GiB when it cannot be read): room
// for the largest batches of real models, and for the process around them.
size_t DefaultMemoryLimit();

// "1.5 GiB", "12.0 MiB", "512 bytes".
std::string FormatBytes(size_t bytes);

// "'name' (float32 [1,3,224,224], 588.0 KiB)": the largest tensor of
// `graph` whose shape is known, for messages; "" for a graph without one.
std::string DescribeLargestTensor(const Graph& graph);

// The bytes of `graph`'s (specialised) tensors that a compiled model holds
// for its whole life: constants, graph inputs and graph outputs.
// InvalidArgument, one line naming the tensor, when one tensor alone needs
// more than `limit`, or when those tensors together do.
StatusOr<size_t> CheckMemoryLimit(const Graph& graph, size_t limit);

}  // namespace mixq

#endif  // MIXQ_ENGINE_RUNTIME_MEMORY_LIMIT_H_
