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
// takes `weight x t / window` of its weight, t the time since, at least 1/weight_scale of
// it, until the window has passed (HAProxy `slowstart`). Weights handed to the balancing
// policy are scaled by weight_scale so that a weight-1 backend can ramp too.

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

/// Policy weights are the configured weights times this, so that slow start can ramp a
/// weight-1 backend in steps.
inline constexpr uint32_t weight_scale = 100;

/// Returns the weight a policy sees for a backend of `weight` that came UP `since` ago,
/// with a slow-start `window` (0 = off): scaled by weight_scale, ramping linearly from
/// 1 to weight x weight_scale over the window.
uint32_t slow_start_weight(uint32_t weight, caf::timespan since, caf::timespan window);

}  // namespace l4sim::actors
