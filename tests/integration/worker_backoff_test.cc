// A worker that backs off after its coordinator fell silent: it must not
// leave a socket behind that says HELLO for it when the link returns.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/integration/cluster.h"

namespace mixq::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

int Occurrences(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The coordinator dies; the worker gives up on it and backs off (1, 2, 4,
// 8 s). A coordinator started again on the same endpoint during the 8 s
// sleep must see the worker join once, when it reconnects. A socket kept
// open through the sleep reconnects by itself and delivers the HELLO queued
// on it: the coordinator then counts a second worker, a ghost that nobody
// reads, which would be leased tasks until it is declared lost.
TEST(WorkerBackoff, WorkerBackingOffJoinsARestartedCoordinatorOnce) {
  Cluster c({false, {"--heartbeat-ms", "200", "--liveness", "3"}, false});
  ASSERT_TRUE(c.StartCoordinator());
  Process* worker = c.AddWorker();
  ASSERT_TRUE(c.WaitForWorkers(1)) << worker->Log();
  c.KillCoordinator();
  ASSERT_TRUE(WaitFor(
      [&] { return worker->Log().find("reconnecting in 8 s") != std::string::npos; }, seconds(60)))
      << worker->Log();
  ASSERT_TRUE(c.RestartCoordinator());
  // Welcomed a second time: by the restarted coordinator, after the sleep.
  ASSERT_TRUE(
      WaitFor([&] { return Occurrences(worker->Log(), "welcomed as worker") == 2; }, seconds(60)))
      << worker->Log();
  // A ghost would be declared lost after 3 missed heartbeats (600 ms).
  EXPECT_FALSE(WaitFor([&] { return c.coordinator().Log().find(" lost: ") != std::string::npos; },
                       seconds(3)))
      << c.coordinator().Log();
  EXPECT_EQ(Occurrences(c.coordinator().Log(), " joined ("), 1) << c.coordinator().Log();
  EXPECT_EQ(c.Status(0).workers(), 1);
}

}  // namespace
}  // namespace mixq::test
