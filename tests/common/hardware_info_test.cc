#include "common/hardware_info.h"

#include <gtest/gtest.h>

namespace mixq {
namespace {

// Results are filed under these names and searches pick classes by their
// ISA, so the ISA must come back out of any brand string, " / " included.
TEST(HardwareClass, NameCarriesTheIsaBackOut) {
  const std::string name = HardwareClassName("AMD EPYC 9B14 / virtual", 2, "avx2");
  EXPECT_EQ(name, "AMD EPYC 9B14 / virtual / 2 cores / avx2");
  EXPECT_EQ(IsaOfHardwareClass(name), "avx2");
  EXPECT_EQ(IsaOfHardwareClass("any"), "");
}

}  // namespace
}  // namespace mixq
