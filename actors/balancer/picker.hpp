#pragma once

// The picker: the balancer's registry of backends (address, weight, health, open and
// total connections, bytes, failures) and the balancing policy that chooses among them.
//
// In: pick requests from sessions (with the backends to avoid on a retry and, for the
// hashing algorithms, the client's key: see `client_key`), connection
// events from sessions (opened, failed, released, finished), health transitions from the
// health monitor, new addresses of backends whose names re-resolved (`put_atom`),
// algorithm switches, backends added and removed, stats requests, and
// subscriptions (`join_atom`) to the health transitions, which it forwards. Out: picks
// and stats. It links and monitors nothing; the balancer owns it.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "protocols/balancer_messages.hpp"
#include "protocols/type_ids.hpp"

namespace l4sim::actors {

/// The picker's interface.
using picker_actor = caf::typed_actor<
    caf::replies_to<pick_atom, std::vector<std::string>>::with<protocols::backend_pick>,
    caf::replies_to<pick_atom, std::vector<std::string>,
                    std::string>::with<protocols::backend_pick>,
    caf::reacts_to<opened_atom, std::string>, caf::reacts_to<failed_atom, std::string>,
    caf::reacts_to<caf::close_atom, std::string>, caf::reacts_to<protocols::session_finished>,
    caf::reacts_to<protocols::backend_health_changed>, caf::reacts_to<accepted_atom>,
    caf::reacts_to<caf::add_atom, protocols::backend_spec>,
    caf::reacts_to<caf::put_atom, protocols::backend_spec>,
    caf::reacts_to<caf::delete_atom, std::string>, caf::reacts_to<caf::join_atom, caf::actor>,
    caf::replies_to<caf::put_atom, algo_atom, std::string>::with<std::string>,
    caf::replies_to<caf::get_atom, stats_atom>::with<protocols::balancer_stats>>;

/// One backend as the balancer knows it.
using picker_backend = protocols::backend_spec;

/// The picker's start-up configuration.
struct picker_config {
  std::vector<picker_backend> backends;
  std::string algorithm = "rr";  ///< see protocols::algorithm_names
  uint64_t seed = 1;             ///< seeds `rand` and `p2c`
  bool log = true;               ///< log algorithm switches
  uint32_t hash_balance = 125;   ///< `hash`'s load bound, % of the weighted share; 0 = off
};

/// Spawns a picker; fails on an unknown algorithm or an empty backend list.
caf::expected<picker_actor> spawn_picker(caf::actor_system& sys, picker_config cfg);

/// Renders the stats table a user watches: one row per backend.
std::string format_stats_table(const std::string& title, const protocols::balancer_stats& st);

}  // namespace l4sim::actors
