// oneDNN's CPU ISA: capping it so one machine stands in for older CPUs, and
// reporting the ISA oneDNN really uses. oneDNN accepts a cap only once and only
// before the first primitive exists; asking for the effective ISA first locks
// the setting (ONEDNN_NOTES.md). So every command applies its --max-isa cap at
// start-up, before it builds or queries anything.
#ifndef MIXQ_ENGINE_RUNTIME_ISA_H_
#define MIXQ_ENGINE_RUNTIME_ISA_H_

#include <string>
#include <vector>

#include "common/status.h"

namespace mixq {

// The names --max-isa accepts, oldest first.
const std::vector<std::string>& IsaNames();

// Ok when `name` is one of IsaNames(); InvalidArgument "unknown ISA 'x' (one
// of: ...)" otherwise. Command lines check --max-isa with it as they are
// parsed, so an unknown name is a usage error before anything starts.
Status CheckIsaName(const std::string& name);

// Caps oneDNN's ISA at `name` (one of IsaNames()). A cap above what the CPU
// has is accepted and the effective ISA stays the CPU's; read it back with
// EffectiveIsaName(). Fails with InvalidArgument for an unknown name and
// FailedPrecondition when oneDNN has already fixed its ISA.
Status SetMaxIsa(const std::string& name);

}  // namespace mixq

#endif  // MIXQ_ENGINE_RUNTIME_ISA_H_
