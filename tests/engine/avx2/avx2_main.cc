// The main of avx2_tests: caps oneDNN at AVX2 before any test builds a
// primitive, so the tests that need the AVX2 class (its 8-wide blocked
// layouts, which mixq's Winograd kernel reads, and u8 x s8 products that
// saturate without VNNI) see that class on every machine, AVX-512 ones too.
// The cap is set here rather than through ONEDNN_MAX_CPU_ISA so that running
// the binary by hand gives the same class as ctest does.
#include <gtest/gtest.h>

#include <cstdio>

#include "engine/runtime/executor.h"
#include "engine/runtime/isa.h"

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  const mixq::Status capped = mixq::SetMaxIsa("avx2");
  if (!capped.ok()) {
    std::fprintf(stderr, "avx2_tests: %s\n", capped.ToString().c_str());
    return 1;
  }
  const std::string isa = mixq::EffectiveIsaName();
  if (isa != "avx2") {
    std::fprintf(stderr, "avx2_tests: oneDNN runs '%s' under an AVX2 cap; these tests need AVX2\n",
                 isa.c_str());
    return 1;
  }
  return RUN_ALL_TESTS();
}
