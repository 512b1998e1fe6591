#pragma once

// The wait before a session retries a failed connect on another backend: exponential
// backoff with "equal jitter", pure. Attempt k (0 for the first retry) waits
//
//   d_k = min(cap, base * 2^k),   wait = d_k / 2 + u * d_k / 2,   u uniform in [0, 1)
//
// so retries spread out (no synchronized retry storm after a backend dies) yet always
// wait at least half the backoff. base 0 retries at once.

#include <cstdint>
#include <random>

#include <caf/timespan.hpp>

namespace l4sim::actors {

/// Base and cap of the retry backoff (`LB_RETRY_BACKOFF=base,cap`).
struct retry_backoff {
  caf::timespan base{0};  ///< the first retry's backoff; 0 = retry at once
  caf::timespan cap{0};   ///< no retry waits longer than this

  /// Returns the wait before retry `attempt` (0-based) for a uniform draw `u` in [0, 1).
  caf::timespan delay(uint32_t attempt, double u) const;

  /// Returns the wait before retry `attempt`, its jitter drawn from `rng` (the session's own
  /// seeded generator, so a seeded run retries the same way every time).
  template <class Rng>
  caf::timespan delay_drawn(uint32_t attempt, Rng& rng) const {
    std::uniform_real_distribution<double> u{0, 1};
    return delay(attempt, u(rng));
  }
};

}  // namespace l4sim::actors
