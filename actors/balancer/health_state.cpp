#include "actors/balancer/health_state.hpp"

#include <algorithm>

namespace l4sim::actors {

health_state::health_state(uint32_t rise, uint32_t fall, bool healthy)
    : rise_(std::max<uint32_t>(rise, 1)), fall_(std::max<uint32_t>(fall, 1)), healthy_(healthy) {}

std::optional<bool> health_state::observe(bool probe_ok) {
  if (probe_ok == healthy_) {
    streak_ = 0;
    return std::nullopt;
  }
  ++streak_;
  if (streak_ >= (healthy_ ? fall_ : rise_)) {
    healthy_ = probe_ok;
    streak_ = 0;
    return healthy_;
  }
  return std::nullopt;
}

}  // namespace l4sim::actors
