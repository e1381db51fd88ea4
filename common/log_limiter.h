// Rate limits for log lines that a peer can cause: the first line for a key
// (a peer's address, a kind of refusal) is logged, then at most one per
// interval, carrying how many were held back in between. A peer that sends
// bad messages in a loop must not flood the log or slow the process down.
#ifndef MIXQ_COMMON_LOG_LIMITER_H_
#define MIXQ_COMMON_LOG_LIMITER_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace mixq {

class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogLimiter(Clock::duration interval = std::chrono::seconds(10), size_t max_keys = 10000)
      : interval_(interval), max_keys_(max_keys) {}

  // True when a line for `key` should be logged at `now`; then
  // `*held_back` is how many were not logged since the last one.
  bool Allow(const std::string& key, Clock::time_point now, uint64_t* held_back);

 private:
  struct Entry {
    Clock::time_point logged;
    uint64_t held_back = 0;
  };
  Clock::duration interval_;
  size_t max_keys_;  // beyond it the table starts over: memory stays bounded
  std::map<std::string, Entry> entries_;
};

}  // namespace mixq

#endif  // MIXQ_COMMON_LOG_LIMITER_H_
