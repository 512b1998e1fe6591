#include "actors/balancer/retry_backoff.hpp"

#include <algorithm>

namespace l4sim::actors {

caf::timespan retry_backoff::delay(uint32_t attempt, double u) const {
  if (base.count() <= 0) {
    return caf::timespan{0};
  }
  auto limit = std::max(cap, base);
  auto d = base;
  // Doubling stops at the cap, so no shift can overflow.
  for (uint32_t i = 0; i < attempt && d < limit; ++i) {
    d = std::min(limit, d * 2);
  }
  d = std::min(d, limit);
  u = std::clamp(u, 0.0, 1.0);
  auto half = d / 2;
  return half + caf::timespan{static_cast<int64_t>(static_cast<double>((d - half).count()) * u)};
}

}  // namespace l4sim::actors
