#pragma once

// How a sweep's runs are played, virtual or live, and the record of it in OUT/sweep.json.
// Virtual time is the default (deterministic and much faster than real time); `--live`, or
// a time scale, plays the runs on loopback sockets. A folder holds the runs of one mode only,
// so that no table averages virtual and live runs together.

#include <string>

#include "apps/sim/sweep.hpp"

namespace l4sim::apps {

/// The default time scale of live runs.
inline constexpr double default_live_time_scale = 0.2;

/// Picks live or virtual from `--live`, `--virtual`, `--time-scale` (0: not given, implies
/// live otherwise) and a default; sets `spec.live` and `spec.time_scale` or returns why the
/// flags contradict each other.
std::string choose_mode(bool live, bool virtual_time, double time_scale, bool default_live,
                        double default_scale, sweep_spec& spec);

/// Returns `live` or `virtual`, as runs.csv and sweep.json say it.
std::string mode_name(const sweep_spec& spec);

/// Returns the mode for people: `virtual time` or `live, time scale 0.2`.
std::string mode_text(const sweep_spec& spec);

/// Why OUT cannot take runs of `spec`'s mode ("" when it can): it holds runs made in the
/// other mode. A folder of runs without OUT/sweep.json predates modes and was made live.
std::string mode_conflict(const sweep_spec& spec);

/// Writes OUT/sweep.json with `spec`'s mode; false when it cannot.
bool record_mode(const sweep_spec& spec);

}  // namespace l4sim::apps
