// The project's one logger (the only global mixq allows): a spdlog logger
// named "mixq" that writes to stderr, so stdout stays free for results
// (--json, query tables). Every process logs through mixq::log(); the level
// is set once from the command line with SetLogLevel().
#ifndef MIXQ_COMMON_LOG_H_
#define MIXQ_COMMON_LOG_H_

#include <spdlog/logger.h>

#include <string>

#include "common/status.h"

namespace mixq {

// The project logger; created on first use (thread-safe), default level info.
spdlog::logger& log();

// Sets the level from its name: "trace", "debug", "info", "warn", "error",
// "critical" or "off". Unknown names are refused (InvalidArgument) and leave
// the level unchanged.
Status SetLogLevel(const std::string& level);

// Logs `message` at warn level the first time this process logs that exact
// text this way, and at debug level after that. For warnings a loop would
// repeat without news: a layer that stays FP32 is named when a model is
// compiled, and a search compiles the same model for every task. The texts
// remembered are bounded (beyond 4096 the memory starts over, so a warning
// may then be said again); thread-safe.
void WarnOnce(const std::string& message);

}  // namespace mixq

#endif  // MIXQ_COMMON_LOG_H_
