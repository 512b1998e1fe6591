#pragma once

// The balancer on the virtual network (docs/virtual-time.md): the live picker, health
// monitor and control actor, with a listener and sessions of its own that move bytes over
// actors/vnet/vnet.hpp instead of sockets. A session takes the same decisions as the live
// one (actors/balancer/session.hpp) through the same picker protocol: pick, opened, failed,
// retry with the same backoff (retry_backoff), close, session_finished, queued, delete, and
// the same idle timeouts (idle_check). It relays FIN as a half-close and a reset as a reset,
// and passes back-pressure on: a side whose bytes do not fit the other side's window is not
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
