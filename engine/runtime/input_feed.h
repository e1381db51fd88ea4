// What a model's inputs are fed when there is no data, and how datasets see
// them. Calibration on synthetic data, `mixq bench`, `mixq profile` and the
// search's profiles all need inputs that run the model the way real ones
// would: standard-normal floats, and integers that are valid. An integer
// input that is (through Cast, Unsqueeze, Reshape, Squeeze, Flatten or
// Identity) the indices of a Gather on a constant table with `rows` rows
// (token ids into an embedding) gets values uniform in [0, rows), using the
// smallest table if it feeds several; any other integer input gets 1 (for an
// attention mask: attend to every position).
#ifndef MIXQ_ENGINE_RUNTIME_INPUT_FEED_H_
#define MIXQ_ENGINE_RUNTIME_INPUT_FEED_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/dataset.h"
#include "common/status.h"
#include "common/tensor.h"
#include "engine/ir/graph.h"

namespace mixq {

// The graph's inputs in order, as a dataset feeds them. Internal when an
// input has no value info.
StatusOr<std::vector<ModelInput>> ModelInputsOf(const Graph& graph);

// Input name -> exclusive bound for the integer inputs used as Gather
// indices on a constant table (see above); other inputs are absent.
std::map<std::string, int64_t> GatherIndexBounds(const Graph& graph);

// Synthetic values for a model's inputs. Cheap to copy; immutable.
class SyntheticInputs {
 public:
  explicit SyntheticInputs(const Graph& graph);

  // Fills `batch` (one tensor per graph input, in order, already shaped
  // {n, ...}: dim 0 counts samples) for samples [first, first + n). Sample s
  // of input i draws from its own generator seeded with (seed, s, i), so any
  // slice and any batching sees the same values. Inputs of other types
  // (bool, float16, ...) are zeroed. InvalidArgument when the tensors do not
  // match the graph's inputs in count.
  Status Fill(uint32_t seed, int64_t first, std::vector<Tensor>* batch) const;

 private:
  std::vector<std::string> names_;
  std::vector<int64_t> bounds_;  // per input: > 0 uniform [0, bound); 0 for "1"
};

}  // namespace mixq

#endif  // MIXQ_ENGINE_RUNTIME_INPUT_FEED_H_
