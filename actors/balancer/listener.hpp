#pragma once

// The listener: a broker owning the balancer's listening socket. For every accepted
// connection it tells the picker and forks a session broker (actors/session.hpp), which
// it links: when the listener goes, every session goes with it.
//
// In: `close_atom` (stop accepting, keep the sessions), stats requests (sessions alive),
// the list of session actors (for inspection).
// Out: `accepted_atom` to the picker.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/balancer/session.hpp"

namespace l4sim::actors {

/// The listener's interface.
using listener_actor =
    caf::typed_actor<caf::reacts_to<caf::close_atom>,
                     caf::replies_to<caf::get_atom, stats_atom>::with<uint64_t>,
                     caf::replies_to<caf::get_atom, sessions_atom>::with<std::vector<caf::actor>>>;

/// Where the balancer listens and what its sessions need.
struct listener_config {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  ///< 0 picks a free port
  session_deps sessions;
};

/// A spawned listener and its port.
struct listener_handle {
  listener_actor actor;
  uint16_t port = 0;
};

/// Opens the listening socket and spawns the listener; fails without spawning anything.
caf::expected<listener_handle> spawn_listener(caf::actor_system& sys, listener_config cfg);

}  // namespace l4sim::actors
