#include "coordinator/host_gate.h"

namespace mixq {

void HostGate::Running(const std::string& host, bool timed) {
  Load& load = hosts_[host];
  ++load.running;
  load.timed = load.timed || timed;
}

bool HostGate::TryStart(const std::string& host, bool timed) {
  Load& load = hosts_[host];
  if (exclusive_) {
    if (load.timed) return false;
    if (timed && load.running > 0) {
      load.draining = true;
      return false;
    }
    if (!timed && load.draining) return false;
  }
  ++load.running;
  load.timed = load.timed || timed;
  return true;
}

}  // namespace mixq
