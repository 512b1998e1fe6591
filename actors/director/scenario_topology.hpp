#pragma once

// Turns a scenario's topology into running actors and configurations, scaled in time:
// every scenario duration is multiplied by the time scale, rates divided by it. Used by
// the director; kept apart so that it stays about playing the timeline.

#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/backend/backend_server.hpp"
#include "actors/balancer/balancer.hpp"
#include "actors/clients/spawner.hpp"
#include "protocols/client_messages.hpp"
#include "protocols/scenario/scenario.hpp"

namespace l4sim::actors {

struct stage;

/// Starts backends, balancer and clients in this process on 127.0.0.1; on failure stops
/// what started.
caf::expected<stage> build_local_stage(caf::actor_system& sys, const protocols::scenario& scn,
                                       double time_scale, bool verbose);

/// Returns the spawner configuration for the scenario's clients against `port`, scaled.
spawner_config spawner_config_for(const protocols::scenario& scn, double time_scale, uint16_t port,
                                  const dialer_actor& dialer, bool verbose);

/// Returns the backend configuration for a scenario backend, scaled.
backend_config backend_config_for(const protocols::scenario_backend& spec, double time_scale,
                                  bool verbose);

/// Returns how the balancer knows a backend listening on `port` of 127.0.0.1.
protocols::backend_spec backend_spec_for(const protocols::scenario_backend& spec, uint16_t port);

/// Converts the scenario's mix to the spawner's.
protocols::client_mix client_mix_for(const std::vector<protocols::mix_entry>& mix);

/// Converts the spawner's final table to what expectations judge, latencies in scenario
/// time.
std::map<std::string, protocols::run_record::client_outcome> client_outcomes(
    const protocols::client_stats& stats, double time_scale);

/// Renders a timeline event for the live view, e.g. "kill server-1".
std::string describe_event(const protocols::timeline_event& ev);

}  // namespace l4sim::actors
