// Timed tasks (benchmarks, per-layer profiles) measure the machine they run
// on, so the coordinator runs them alone on their host: a second worker on
// the same machine running an evaluation beside a benchmark would share its
// cores, caches and memory bandwidth and skew the measurement (several local
// workers, or `--max-isa` stand-in classes on one machine, are the common
// case). HostGate makes that decision for one scheduling round: it is told
// what each busy worker's host is running, then asked, worker by worker,
// whether a task may start. A timed task starts only on an idle host and
// keeps everything else off it while it runs; a timed task that has to wait
// marks its host draining, so that no new untimed task starts there and the
// host empties instead of starving it. Hosts are named by the workers' HELLO.
#ifndef MIXQ_COORDINATOR_HOST_GATE_H_
#define MIXQ_COORDINATOR_HOST_GATE_H_

#include <string>
#include <unordered_map>

namespace mixq {

class HostGate {
 public:
  // exclusive_timing false: every task may start anywhere (the gate only
  // counts), for hosts whose workers are known not to interfere.
  explicit HostGate(bool exclusive_timing) : exclusive_(exclusive_timing) {}

  // A worker on `host` is running a task (timed or not) at the round's start.
  void Running(const std::string& host, bool timed);

  // Whether a ready worker on `host` may start a task that is `timed` or
  // not; when it may, the task counts as running from now on.
  bool TryStart(const std::string& host, bool timed);

 private:
  struct Load {
    int running = 0;
    bool timed = false;     // one of the running tasks is timed
    bool draining = false;  // a timed task waits for the host to empty
  };
  bool exclusive_;
  std::unordered_map<std::string, Load> hosts_;
};

}  // namespace mixq

#endif  // MIXQ_COORDINATOR_HOST_GATE_H_
