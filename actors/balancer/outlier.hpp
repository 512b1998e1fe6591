#pragma once

// Passive health, pure: outlier ejection as Envoy does it, and HAProxy's slow start.
//
// Outlier ejection: a backend whose connects fail `consecutive` times in a row (no success
// in between) is ejected, out of rotation, for `base_ejection` x n, its n-th ejection, then
// comes back on its own. At most `max_percent` of the backends are ejected at once, but
// always at least one may be (Envoy's rule), so one bad backend among three is ejected
// even at the default 10%.
//
// Slow start: a backend that comes UP (health, a runtime `add`, the end of an ejection)
// ramps up over a window (HAProxy `slowstart`): a pick that would choose it does so with
// probability t / window, t the time since (at least 1%), else it is left out of that pick.
// Its effective weight thus ramps from 1% to 100% whatever the policy (round robin that
// ignores weights, least connections, hashing), without rebuilding a policy's tables.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <caf/timespan.hpp>

namespace l4sim::actors {

/// How outlier ejection works (`LB_OUTLIER_*`).
struct outlier_config {
  uint32_t consecutive = 0;  ///< failures in a row that eject; 0 = ejection off
  caf::timespan base_ejection = std::chrono::seconds{30};  ///< x the ejection count
  uint32_t max_percent = 10;  ///< share of backends ejected at once at most (at least one)
};

/// The failure streaks and ejections of a set of backends.
class outlier_detector {
 public:
  explicit outlier_detector(outlier_config cfg = {}) : cfg_(cfg) {}

  /// Records a failed connect of `id` among `backends` backends; returns how long it is
  /// ejected for when this failure ejects it.
  std::optional<caf::timespan> failed(const std::string& id, size_t backends);

  /// Records a successful connect of `id`: its streak starts over.
  void succeeded(const std::string& id);

  /// Brings `id` back after its ejection; returns whether it was ejected.
  bool restore(const std::string& id);

  /// Returns whether `id` is ejected now.
  bool ejected(const std::string& id) const;

  /// Returns how many times `id` was ejected.
  uint32_t ejections(const std::string& id) const;

  /// Forgets `id` (removed from the balancer).
  void remove(const std::string& id) { entries_.erase(id); }

 private:
  struct entry {
    uint32_t streak = 0;
    uint32_t ejections = 0;
    bool ejected = false;
  };
  outlier_config cfg_;
  std::map<std::string, entry> entries_;
};

/// Returns the share of the picks that would choose a backend which came UP `since` ago
/// that it takes, with a slow-start `window` (0 = off): since / window, at least 1%, 1
/// once the window has passed.
double slow_start_share(caf::timespan since, caf::timespan window);

}  // namespace l4sim::actors
