#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <array>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>

namespace mixq {
namespace {

std::shared_ptr<spdlog::logger> MakeLogger() {
  // Not registered in spdlog's registry: nothing else can replace or drop it,
  // and a library that registers its own "mixq" logger cannot collide with it.
  auto logger = std::make_shared<spdlog::logger>(
      "mixq", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  logger->set_level(spdlog::level::info);
  // Warnings and errors reach the terminal even if the process dies next.
  logger->flush_on(spdlog::level::warn);
  return logger;
}

// The texts WarnOnce has said, kept with the logger they belong to.
struct SaidOnce {
  std::mutex mutex;
  std::set<std::string> texts;
};

SaidOnce& said_once() {
  static SaidOnce said;
  return said;
}

constexpr size_t kMaxSaidOnce = 4096;

}  // namespace

spdlog::logger& log() {
  static const std::shared_ptr<spdlog::logger> logger = MakeLogger();
  return *logger;
}

void WarnOnce(const std::string& message) {
  bool first = false;
  {
    SaidOnce& said = said_once();
    std::lock_guard<std::mutex> lock(said.mutex);
    if (said.texts.size() >= kMaxSaidOnce) said.texts.clear();
    first = said.texts.insert(message).second;
  }
  if (first) {
    log().warn("{}", message);
  } else {
    log().debug("{}", message);
  }
}

Status SetLogLevel(const std::string& level) {
  static constexpr std::array<std::pair<const char*, spdlog::level::level_enum>, 7> kLevels = {{
      {"trace", spdlog::level::trace},
      {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},
      {"error", spdlog::level::err},
      {"critical", spdlog::level::critical},
      {"off", spdlog::level::off},
  }};
  for (const auto& [name, value] : kLevels) {
    if (level == name) {
      log().set_level(value);
      return Status::Ok();
    }
  }
  return InvalidArgument("unknown log level '" + level +
                         "' (use trace, debug, info, warn, error, critical or off)");
}

}  // namespace mixq
