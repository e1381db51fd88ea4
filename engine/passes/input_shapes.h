// Fixed input shapes (common/input_shapes.h) checked against a model and
// applied to it, the one place where the command line, the coordinator's
// planner, the worker and the search turn `--input-shape` / `input_shape`
// into the shapes a graph is specialised for.
//
// The batch. A model's first input's dim 0 is its batch: SpecializeForBatch()
// sets it to each run's batch (eval's --batch, a job's task batches). Fixing
// the input shapes keeps that: FixInputShapes() gives the graph the fixed
// shapes but leaves the first input's dim 0 as the model declares it, so a
// symbolic batch stays symbolic and every run still chooses its own (so does
// the symbolic dim 0 of any other input, which SpecializeForBatch() sets to
// the same batch: a text model's token ids and attention mask); only
// `mixq infer`, which has no batch of its own, specialises for the given
// shapes as they are (Specialize(graph, ResolveInputShapes(...))). The
// command line refuses a batch in --input-shape that disagrees with an
// explicit --batch (cli/input_shape_option.h).
#ifndef MIXQ_ENGINE_PASSES_INPUT_SHAPES_H_
#define MIXQ_ENGINE_PASSES_INPUT_SHAPES_H_

#include <optional>
#include <string>

#include "common/input_shapes.h"
#include "common/status.h"
#include "engine/ir/graph.h"

namespace mixq {

// `shapes` keyed by the model's input names ("" becomes the first input's
// name), each checked against the shape the model declares. InvalidArgument,
// one line, for: a name that is not an input (the message lists the
// model's inputs), the first input given both as "" and by name, a shape
// whose rank differs from the declared one or whose dims differ where the
// declared ones are static (the message names the input and gives the
// declared and the given shape, e.g. "input 'x' is declared [?,3,?,?]; the
// given [1,4,64,64] does not fit (dim 1 is 3)"). A model input without a
// declared shape takes any shape.
StatusOr<InputShapes> ResolveInputShapes(const Graph& graph, const InputShapes& shapes);

// Gives `graph`'s inputs the shapes of `shapes` (resolved or not: it is
// resolved first) as their declared shapes, except the first input's dim 0
// and any other input's symbolic dim 0, which keep the declared value (see
// the file comment). Errors as
// ResolveInputShapes(); `graph` is unchanged on error.
Status FixInputShapes(const InputShapes& shapes, Graph* graph);

// The dim 0 that `shapes` give the model's first input; nullopt when they
// do not give it (or do not resolve).
std::optional<int64_t> GivenBatch(const Graph& graph, const InputShapes& shapes);

}  // namespace mixq

#endif  // MIXQ_ENGINE_PASSES_INPUT_SHAPES_H_
