#pragma once

// A run plan rendered as the services' environments: what `sim run --services` starts each
// `server`, the `lb` and the `client` with. Read back by the services' own readers
// (apps/common/service_config.hpp) it gives the plan's configurations again, value for
// value (tests/apps/service_env_test.cpp checks every variable).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "actors/director/run_plan.hpp"
#include "protocols/balancer_messages.hpp"
#include "protocols/units.hpp"

namespace l4sim::apps {

/// A service's environment: variable -> value.
using service_env = std::map<std::string, std::string>;

/// The environment of a planned backend listening on 127.0.0.1:`port` (0 picks one).
service_env server_env(const actors::planned_backend& b, uint16_t port);

/// The `lb` variables that set `settings` (LB_RETRIES, LB_HEALTH_INTERVAL, ...): what `sim
/// run --attach` compares between a scenario and a running lb, and `sim env NAME lb` prints.
service_env lb_settings_env(const protocols::balancer_settings& settings);

/// The environment of the balancer, given where each planned backend listens.
service_env lb_env(const actors::run_plan& plan, const std::vector<uint16_t>& backend_ports);

/// The environment of the balancer, given each planned backend's address (a host name
/// stays a name, resolved by the lb, as compose's service names are).
service_env lb_env(const actors::run_plan& plan, const std::vector<protocols::endpoint>& backends);

/// The environment of the client population aimed at `target`.
service_env client_env(const actors::run_plan& plan, const protocols::endpoint& target);

}  // namespace l4sim::apps
