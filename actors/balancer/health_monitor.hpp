#pragma once

// The health monitor: probes every backend with a TCP connect (through the dialer, so it
// never blocks the I/O loop) every interval, with a timeout, feeds the results to a
// rise/fall state machine per backend (actors/health_state.hpp), pushes transitions to the
// picker and logs `[health] backend server-1  DOWN` / `UP`.
//
// Backends are named by host: a name that does not resolve yet is a DOWN backend whose
// name keeps being resolved (HAProxy's `init-addr none`); a failing backend's name is
// resolved again at every probe, and every name at `resolve_interval`, so a recreated
// container with a new address comes back (`[dns] backend X  host now resolves to A`).
//
// In: the start-up config, backends added and removed, stats requests (its probe counts by
// result: a balancer_stats whose rows carry only an id and the `checks_*` counters, which
// the balancer's control actor merges into the picker's table). Out:
// `backend_health_changed` and new addresses (`put_atom, backend_spec`) to the picker,
// which tells its subscribers of the former. Links: none.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include "actors/balancer/picker.hpp"
#include "actors/io/dialer.hpp"
#include "actors/io/resolver.hpp"

namespace l4sim::actors {

/// The health monitor's interface.
using health_actor =
    caf::typed_actor<caf::reacts_to<caf::tick_atom>,  // its own schedule
                     caf::reacts_to<caf::add_atom, protocols::backend_spec>,
                     caf::reacts_to<caf::delete_atom, std::string>,
                     caf::replies_to<caf::get_atom, stats_atom>::with<protocols::balancer_stats>>;

/// How the health monitor probes.
struct health_config {
  caf::timespan interval = std::chrono::seconds{3};  ///< 0 = no probes, all stay UP
  caf::timespan timeout = std::chrono::seconds{1};   ///< capped at the interval
  uint32_t rise = 1;
  uint32_t fall = 1;
  caf::timespan resolve_interval = std::chrono::seconds{30};  ///< 0 = only while failing
  bool log = true;
};

/// Spawns a health monitor for the picker's backends; it probes at once, then every
/// interval; transitions go to the picker, which forwards them to its subscribers.
health_actor spawn_health_monitor(caf::actor_system& sys, health_config cfg,
                                  std::vector<picker_backend> backends, picker_actor picker,
                                  dialer_actor dialer, resolver_actor resolver);

}  // namespace l4sim::actors
