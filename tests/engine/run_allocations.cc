#include "tests/engine/run_allocations.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
std::atomic<std::size_t> g_largest{0};
}  // namespace

// This replacement pair allocates with malloc and frees with free, which GCC's
// -Wmismatched-new-delete cannot see through.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocations.fetch_add(1);
    std::size_t prev = g_largest.load();
    while (size > prev && !g_largest.compare_exchange_weak(prev, size)) {
    }
  }
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
// The nothrow pair too (std::stable_sort's temporary buffer takes it and
// gives it back through the sized delete above): under AddressSanitizer,
// which supplies every operator new it is not given, memory from its nothrow
// new freed by this free() is an alloc-dealloc mismatch.
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return ::operator new(size);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace mixq::testing {

void ExpectRunsAllocateNothing(CompiledModel* model, const Tensor& input) {
  std::vector<Tensor> outputs = model->MakeOutputs();
  const std::vector<const Tensor*> inputs = {&input};
  ASSERT_TRUE(model->Run(inputs, &outputs).ok());  // first run may warm caches
  g_allocations = 0;
  g_largest = 0;
  g_counting = true;
  bool ok = true;
  for (int i = 0; i < 3; ++i) ok = ok && model->Run(inputs, &outputs).ok();
  g_counting = false;
  EXPECT_TRUE(ok);
  const long steps = static_cast<long>(model->Describe().size());
  // No buffer-sized allocation: activations here are >= 4 x 16 x 14 x 14 floats.
  EXPECT_LE(g_largest.load(), 256u);
  // Bookkeeping only: a handful per primitive execution, not per element.
  EXPECT_LE(g_allocations.load(), 3 * steps * 8) << "steps " << steps;
}

}  // namespace mixq::testing
