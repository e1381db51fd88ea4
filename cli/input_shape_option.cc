#include "cli/input_shape_option.h"

#include <algorithm>
#include <string>

#include "engine/passes/input_shapes.h"

namespace mixq {

namespace po = boost::program_options;

void AddInputShapeOption(po::options_description* desc, InputShapes* shapes, bool batch) {
  desc->add_options()(
      "input-shape",
      po::value<std::vector<std::string>>()->composing()->notifier(
          [shapes](const std::vector<std::string>& texts) {
            for (const std::string& text : texts) {
              Status added = AddInputShapeText(text, shapes);
              if (!added.ok()) throw po::error("--input-shape: " + added.message());
            }
          }),
      batch ? "fix a model input's symbolic dims: DIMS (the first input, e.g. 1x3x640x640) or "
              "NAME:DIMS; repeatable. The first input's dim 0 is the batch: --batch, when "
              "given, must agree with it"
            : "fix a model input's symbolic dims: DIMS (the first input, e.g. 1x3x640x640) or "
              "NAME:DIMS; repeatable");
}

StatusOr<InputShapes> ApplyInputShapes(const InputShapes& option,
                                       const std::vector<FileInputShapes>& files, Graph* graph) {
  StatusOr<InputShapes> from_option = ResolveInputShapes(*graph, option);
  if (!from_option.ok()) throw po::error("--input-shape: " + from_option.status().message());
  InputShapes shapes;
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    StatusOr<InputShapes> from_file = ResolveInputShapes(*graph, it->shapes);
    if (!from_file.ok()) return from_file.status().WithContext(it->file + ": 'input_shape'");
    shapes = MergeInputShapes(std::move(shapes), *from_file);
  }
  shapes = MergeInputShapes(std::move(shapes), *from_option);
  MIXQ_RETURN_IF_ERROR(FixInputShapes(shapes, graph));
  return shapes;
}

std::vector<int64_t> CommandBatches(const Graph& graph, const InputShapes& option,
                                    const std::vector<int64_t>& batches, bool given) {
  const std::optional<int64_t> batch = GivenBatch(graph, option);
  if (!batch) return batches;
  if (!given) return {*batch};
  if (std::all_of(batches.begin(), batches.end(), [&](int64_t b) { return b == *batch; })) {
    return batches;
  }
  std::string list;
  for (int64_t b : batches) list += (list.empty() ? "" : ",") + std::to_string(b);
  throw po::error("--input-shape gives input '" + graph.inputs[0] + "' batch " +
                  std::to_string(*batch) + " but --batch is " + list +
                  ": give the same batch to both, or leave --batch out");
}

const char* SampleUnit(const Graph& graph) {
  if (graph.inputs.empty()) return "samples";
  auto it = graph.values.find(graph.inputs[0]);
  const bool image =
      it != graph.values.end() && it->second.dtype == DType::kF32 && it->second.shape.size() == 4;
  return image ? "images" : "samples";
}

}  // namespace mixq
