#pragma once

// What the director makes of a run for people and for expectations: timeline events in
// words, and the spawner's final table in scenario time.

#include <map>
#include <string>

#include "protocols/client_messages.hpp"
#include "protocols/scenario/scenario.hpp"
#include "protocols/scenario/time_scale.hpp"

namespace l4sim::actors {

/// Converts the spawner's final table to what expectations judge, latencies in scenario
/// time.
std::map<std::string, protocols::run_record::client_outcome> client_outcomes(
    const protocols::client_stats& stats, const protocols::time_scale& scale);

/// Renders a timeline event for the live view, e.g. "kill server-1".
std::string describe_event(const protocols::timeline_event& ev);

}  // namespace l4sim::actors
