// Counts what CompiledModel::Run() allocates through operator new. A test
// binary that links run_allocations.cc has its global operator new replaced
// by one that counts while ExpectRunsAllocateNothing() measures. oneDNN
// itself makes a few small allocations per primitive execution (the argument
// map of its execution context: 6-7 per primitive, at most a couple of
// hundred bytes each); those are bounded, not forbidden.
#ifndef MIXQ_TESTS_ENGINE_RUN_ALLOCATIONS_H_
#define MIXQ_TESTS_ENGINE_RUN_ALLOCATIONS_H_

#include "common/tensor.h"
#include "engine/runtime/executor.h"

namespace mixq::testing {

// Runs `model` on `input` once to warm it, then three more times counting
// allocations: none may be buffer-sized (over 256 bytes), and there may be
// at most 8 per step and run (bookkeeping, not per element).
void ExpectRunsAllocateNothing(CompiledModel* model, const Tensor& input);

}  // namespace mixq::testing

#endif  // MIXQ_TESTS_ENGINE_RUN_ALLOCATIONS_H_
