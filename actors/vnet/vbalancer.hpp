#pragma once

// The balancer on the virtual network (docs/virtual-time.md): the live picker, health
// monitor and control actor, with a listener and sessions of its own that move bytes over
// actors/vnet/vnet.hpp instead of sockets. A session's decisions are the live session's
// code: it owns a `session_flow` (actors/balancer/session_flow.hpp: pick, opened, failed,
// retry with backoff, close, session_finished, queued, delete, idle timeouts) and is only
// that flow's transport, over vnet connections. It relays FIN as a half-close and a reset as a
// reset, and passes back-pressure on: a side whose bytes do not fit the other side's window is not
// read until they do (vnet::set_reading). Sessions are monitored by the listener, not
// linked (removing links is linear in their number).

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
