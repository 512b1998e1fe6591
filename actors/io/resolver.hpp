#pragma once

// The resolver: turns host names into numeric addresses off the I/O loop. getaddrinfo()
// blocks, so it runs in a detached actor of its own (one thread), asked by the health
// monitor when a backend's name has not resolved yet, while the backend is failing, and
// at a set period (HAProxy's `resolvers`, nginx's `resolve`).
//
// In: `resolve_atom, host`. Out: the first numeric address, or an error naming the host.

#include <string>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "protocols/type_ids.hpp"

namespace l4sim::actors {

/// The resolver's interface.
using resolver_actor =
    caf::typed_actor<caf::replies_to<resolve_atom, std::string>::with<std::string>>;

/// Spawns a resolver on a thread of its own.
resolver_actor spawn_resolver(caf::actor_system& sys);

}  // namespace l4sim::actors
