#pragma once

// The balancer on the virtual network (docs/virtual-time.md): the live picker, health
// monitor and control actor, with a listener and sessions of its own that move bytes over
// actors/vnet/vnet.hpp instead of sockets. The listener forks one session
// (actors/vnet/vsession.hpp) per accepted connection, at most `max_conns` at a time (the
// rest wait, like a kernel backlog), and passes the idle sweep's ticks and a removed
// backend's deletes on to them. A session's decisions are the live session's code, its
// `session_flow` (actors/balancer/session_flow.hpp); only the transport differs. Sessions are
// monitored by the listener, not linked (removing links is linear in their number).

#include <memory>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/balancer/balancer.hpp"
#include "actors/vnet/vnet.hpp"

namespace l4sim::actors {

/// Spawns a balancer listening on the virtual network; its `listener` handle is the
/// virtual listener (an untyped actor cast to the listener interface).
caf::expected<balancer_handle> spawn_virtual_balancer(caf::actor_system& sys, balancer_config cfg,
                                                      std::shared_ptr<vnet> net);

}  // namespace l4sim::actors
