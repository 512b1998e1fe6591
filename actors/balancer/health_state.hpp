#pragma once

// The rise/fall state machine of one backend's health, pure: probes go in, transitions
// come out. A healthy backend goes DOWN after `fall` failed probes in a row; a down one
// comes UP after `rise` good probes in a row.

#include <cstdint>
#include <optional>

namespace l4sim::actors {

/// One backend's health verdict and the streak that may change it.
class health_state {
 public:
  /// Starts healthy by default, as the balancer assumes backends are up until a probe says
  /// otherwise; a backend whose name does not resolve yet starts down.
  health_state(uint32_t rise, uint32_t fall, bool healthy = true);

  /// Records one probe; returns the new verdict when it changed.
  std::optional<bool> observe(bool probe_ok);

  /// Returns the current verdict.
  bool healthy() const { return healthy_; }

 private:
  uint32_t rise_;
  uint32_t fall_;
  bool healthy_ = true;
  uint32_t streak_ = 0;  // consecutive probes disagreeing with the verdict
};

}  // namespace l4sim::actors
