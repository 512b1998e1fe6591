#pragma once

// The virtual stage: every backend, the balancer and the client spawner of a run plan as
// actors of this process on the virtual network (actors/vnet/vnet.hpp), for `sim run
// --virtual`. The same backend server, client broker, spawner, picker and health monitor
// as the in-process stage (actors/director/local_stage.hpp); only the sockets differ.

#include <memory>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/director/run_plan.hpp"
#include "actors/director/stage.hpp"
#include "actors/vnet/vnet.hpp"

namespace l4sim::actors {

/// Starts the plan's backends, balancer and clients on `net`; on failure stops what started.
caf::expected<stage> build_virtual_stage(caf::actor_system& sys, const run_plan& plan,
                                         std::shared_ptr<vnet> net);

}  // namespace l4sim::actors
