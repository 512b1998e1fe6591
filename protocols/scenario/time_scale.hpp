#pragma once

// How scenario time maps to real time, in one place. A scenario is written in scenario
// time; `--time-scale 0.1` plays it ten times faster. Every duration a run plan hands to an
// actor or a service is `real(d)`, every rate `real_rate(r)`, and everything a run records
// comes back through `scenario(d)`.

#include <cstdint>

#include "protocols/units.hpp"

namespace l4sim::protocols {

/// Real time per scenario time.
class time_scale {
 public:
  /// `factor` in (0, 100]: 1 plays in real time, 0.1 ten times faster.
  explicit time_scale(double factor = 1) : factor_(factor) {}

  /// Returns the factor.
  double factor() const { return factor_; }

  /// Returns a scenario duration in real time.
  duration real(duration scenario_time) const {
    return duration{static_cast<int64_t>(static_cast<double>(scenario_time.count()) * factor_)};
  }

  /// Returns a real duration in scenario time.
  duration scenario(duration real_time) const {
    return duration{static_cast<int64_t>(static_cast<double>(real_time.count()) / factor_)};
  }

  /// Returns a rate per scenario second as a rate per real second.
  double real_rate(double per_scenario_second) const { return per_scenario_second / factor_; }

  /// Returns a rate per real second as a rate per scenario second.
  double scenario_rate(double per_real_second) const { return per_real_second * factor_; }

 private:
  double factor_;
};

}  // namespace l4sim::protocols
