#include "common/log_limiter.h"

namespace mixq {

bool LogLimiter::Allow(const std::string& key, Clock::time_point now, uint64_t* held_back) {
  if (entries_.size() >= max_keys_ && entries_.count(key) == 0) entries_.clear();
  auto [it, fresh] = entries_.try_emplace(key);
  Entry& e = it->second;
  if (!fresh && now - e.logged < interval_) {
    ++e.held_back;
    return false;
  }
  *held_back = e.held_back;
  e.logged = now;
  e.held_back = 0;
  return true;
}

}  // namespace mixq
