// Fuzz target: a dataset as a user hands it over, a dataset YAML file and
// the sample and label files it names. The input's parts (fuzz_input.h) are
// the YAML text, then the files a.bin, b.bin and c.bin beside it (IDX or NPY,
// maybe gzip'd), which a YAML names as it likes. The dataset goes through
// LoadDatasetSpec and Dataset::Open; an opened dataset must fit a model that
// wants exactly its own samples, and feed its first samples to one.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "common/dataset.h"
#include "common/tensor.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_input.h"

namespace {

// The model inputs this dataset was made for: each file's samples as a
// float input when they can be preprocessed, else as an int64 input.
std::vector<mixq::ModelInput> OwnModelInputs(const mixq::Dataset& dataset) {
  std::vector<mixq::ModelInput> inputs;
  for (const mixq::Dataset::Input& input : dataset.inputs()) {
    mixq::ModelInput model_input;
    model_input.name = input.name.empty() ? "input" : input.name;
    const bool as_float = input.preprocess.ok();
    model_input.dtype = as_float ? mixq::DType::kF32 : mixq::DType::kI64;
    model_input.shape = {-1};
    const mixq::Shape& sample = as_float ? input.sample_shape : input.raw_shape;
    model_input.shape.insert(model_input.shape.end(), sample.begin(), sample.end());
    inputs.push_back(model_input);
  }
  return inputs;
}

void OpenDataset(mixq::fuzz::ScratchFolder& folder, const std::vector<std::string>& parts) {
  const std::string yaml = folder.Write("dataset.yaml", parts[0]);
  const char* names[] = {"a.bin", "b.bin", "c.bin"};
  for (size_t i = 1; i < parts.size(); ++i) folder.Write(names[i - 1], parts[i]);

  auto spec = mixq::LoadDatasetSpec(yaml);
  if (!spec.ok()) {
    mixq::fuzz::CheckRefusal(spec.status(), "dataset YAML");
    return;
  }
  auto dataset = mixq::Dataset::Open(*spec);
  if (!dataset.ok()) {
    mixq::fuzz::CheckRefusal(dataset.status(), "dataset files");
    return;
  }
  const std::vector<mixq::ModelInput> model_inputs = OwnModelInputs(**dataset);
  mixq::Status fits = (*dataset)->CheckFits(model_inputs, "fuzz.onnx");
  MIXQ_FUZZ_CHECK(fits.ok(), "a dataset does not fit its own samples' model: " + fits.message());
  const int64_t count = std::min<int64_t>((*dataset)->size(), 4);
  if (count == 0) return;
  std::vector<mixq::Tensor> batch;
  std::vector<int64_t> labels;
  mixq::Status filled = (*dataset)->Fill(0, count, model_inputs, &batch, &labels);
  if (!filled.ok()) {
    // Integer samples beyond int64 (uint64 files) are a refusal, not a bug.
    mixq::fuzz::CheckRefusal(filled, "dataset fill");
    return;
  }
  MIXQ_FUZZ_CHECK(batch.size() == model_inputs.size(), "Fill gave a tensor per input");
  MIXQ_FUZZ_CHECK(static_cast<int64_t>(labels.size()) == count, "Fill gave a label per sample");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // One folder for the whole run, emptied per input: the files of one input
  // must never be seen by the next.
  static mixq::fuzz::ScratchFolder folder;
  folder.Reset();
  const std::vector<std::string> parts = mixq::fuzz::SplitParts(data, size, 4);
  mixq::fuzz::CatchEscapes([&] { OpenDataset(folder, parts); });
  return 0;
}
