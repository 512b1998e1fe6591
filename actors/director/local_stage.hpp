#pragma once

// The in-process stage: every backend, the balancer and the client spawner of a run plan
// as actors of this process, on 127.0.0.1 with ports the kernel picks.

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/director/run_plan.hpp"
#include "actors/director/stage.hpp"

namespace l4sim::actors {

/// Starts the plan's backends, balancer and clients in this process; on failure stops what
/// started.
caf::expected<stage> build_local_stage(caf::actor_system& sys, const run_plan& plan);

}  // namespace l4sim::actors
