// --input-shape, the option of every command that runs a model (eval, bench,
// profile, calibrate, search, export, infer): fixes the symbolic dims of a
// model's inputs (common/input_shapes.h for the text, engine/passes/
// input_shapes.h for the checks and the batch).
//
//   --input-shape 1x3x640x640          the first input
//   --input-shape images:1x3x640x640   an input by name (repeatable)
//
// Shapes of the command line win over a dataset file's `input_shape` (input
// by input). Every error of the command line's shapes - malformed text, an
// unknown input, a shape that does not fit the declared one, a batch that
// disagrees with --batch - is a usage error: one line and exit code 2.
#ifndef MIXQ_CLI_INPUT_SHAPE_OPTION_H_
#define MIXQ_CLI_INPUT_SHAPE_OPTION_H_

#include <boost/program_options.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common/input_shapes.h"
#include "common/status.h"
#include "engine/ir/graph.h"

namespace mixq {

// Adds --input-shape; its values are parsed into `shapes` when the command
// line is (malformed text throws boost::program_options::error). `batch`:
// the command has a --batch (the help says how the two go together).
void AddInputShapeOption(boost::program_options::options_description* desc, InputShapes* shapes,
                         bool batch = true);

// A file's input_shape (a dataset's, a compare job's) and the file, for
// messages. In files the first input's dim 0 is only a placeholder for each
// run's batch.
struct FileInputShapes {
  std::string file;
  InputShapes shapes;
};

// Fixes `graph`'s inputs (FixInputShapes()) to the shapes of the command
// line, `option`, over those of `files` (the first one winning), and returns
// the shapes it applied (keyed by input name), for what the command hands
// them to (the QDQ export). Throws boost::program_options::error when the
// command line's shapes do not fit the model; returns InvalidArgument naming
// the file when a file's do not.
StatusOr<InputShapes> ApplyInputShapes(const InputShapes& option,
                                       const std::vector<FileInputShapes>& files, Graph* graph);

// The batch sizes a command runs at. `batches` are --batch's values, given
// on the command line when `given` (else its default). When --input-shape
// gives the model's first input a dim 0 (the batch), an explicit --batch must
// agree with it (every listed size equal to it; otherwise
// boost::program_options::error), and without --batch it is the batch.
std::vector<int64_t> CommandBatches(const Graph& graph, const InputShapes& option,
                                    const std::vector<int64_t>& batches, bool given);

// What one sample of `graph` is called in throughput figures: "images" for
// a model whose first input is a float32 [N,C,H,W] or [N,H,W,C], else
// "samples" (a text model's sequences, flat feature rows).
const char* SampleUnit(const Graph& graph);

}  // namespace mixq

#endif  // MIXQ_CLI_INPUT_SHAPE_OPTION_H_
