// Fuzz target: the NPY and IDX readers on a data file's bytes (the first
// byte picks the reader; even: NPY, odd: IDX). An accepted file's array
// must hold exactly the bytes its shape and type declare, and reading it as
// labels must answer with labels (one per item) or a refusal.
#include <cstdint>
#include <string>
#include <vector>

#include "common/idx_reader.h"
#include "common/npy_reader.h"
#include "common/raw_array.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::vector<uint8_t> bytes(data + 1, data + size);
  mixq::fuzz::CatchEscapes([&] {
    const bool idx = data[0] & 1;
    auto array = idx ? mixq::ParseIdx(std::move(bytes), "fuzz.idx")
                     : mixq::ParseNpy(std::move(bytes), "fuzz.npy");
    if (!array.ok()) {
      mixq::fuzz::CheckRefusal(array.status(), idx ? "IDX reader" : "NPY reader");
      return;
    }
    auto payload = mixq::PayloadBytes(array->shape, array->dtype, "fuzz");
    MIXQ_FUZZ_CHECK(payload.ok(),
                    "an accepted array's size overflows: " + payload.status().message());
    MIXQ_FUZZ_CHECK(*payload == array->data.size(),
                    "array holds " + std::to_string(array->data.size()) + " bytes, its header " +
                        std::to_string(*payload));
    auto labels = mixq::ArrayToLabels(*array, "fuzz");
    if (!labels.ok()) {
      mixq::fuzz::CheckRefusal(labels.status(), "labels");
      return;
    }
    MIXQ_FUZZ_CHECK(
        !array->shape.empty() && static_cast<int64_t>(labels->size()) == array->shape[0],
        "labels are not one per item");
  });
  return 0;
}
