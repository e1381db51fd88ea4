#include "coordinator/host_gate.h"

#include <gtest/gtest.h>

namespace mixq {
namespace {

TEST(HostGate, TimedTaskStartsOnlyOnAnIdleHostAndThenRunsAlone) {
  HostGate gate(true);
  EXPECT_TRUE(gate.TryStart("a", /*timed=*/true));
  EXPECT_FALSE(gate.TryStart("a", false));  // nothing beside a benchmark
  EXPECT_FALSE(gate.TryStart("a", true));
  EXPECT_TRUE(gate.TryStart("b", false));  // other machines are not affected
  EXPECT_TRUE(gate.TryStart("b", false));
}

TEST(HostGate, BusyHostDrainsForAWaitingTimedTask) {
  HostGate gate(true);
  gate.Running("a", false);
  EXPECT_TRUE(gate.TryStart("a", false));   // before any timed task waits
  EXPECT_FALSE(gate.TryStart("a", true));   // host busy: the benchmark waits...
  EXPECT_FALSE(gate.TryStart("a", false));  // ...and no new evaluation starts
  EXPECT_TRUE(gate.TryStart("b", false));
}

TEST(HostGate, RunningTimedTaskFromAnEarlierRoundBlocksTheHost) {
  HostGate gate(true);
  gate.Running("a", true);
  EXPECT_FALSE(gate.TryStart("a", false));
  EXPECT_FALSE(gate.TryStart("a", true));
}

TEST(HostGate, IdleHostRunsUntimedTasksSideBySide) {
  HostGate gate(true);
  EXPECT_TRUE(gate.TryStart("a", false));
  EXPECT_TRUE(gate.TryStart("a", false));
  EXPECT_FALSE(gate.TryStart("a", true));  // now busy
}

TEST(HostGate, NonExclusiveGateLetsEverythingStart) {
  HostGate gate(false);
  gate.Running("a", true);
  EXPECT_TRUE(gate.TryStart("a", false));
  EXPECT_TRUE(gate.TryStart("a", true));
}

}  // namespace
}  // namespace mixq
