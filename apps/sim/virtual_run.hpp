#pragma once

// `sim run NAME --virtual` (docs/virtual-time.md): plays a run plan on the virtual network
// (actors/vnet) under CAF's deterministic scheduler, in a discrete-event loop on this
// thread: run every ready actor and broker, then jump the clock to the next timer.

#include <string>

#include <caf/expected.hpp>

#include "actors/director/director.hpp"
#include "actors/director/run_plan.hpp"
#include "apps/common/signals.hpp"
#include "apps/sim/live_view.hpp"

namespace l4sim::apps {

/// Returns why the virtual network cannot play `plan` as written (naming the file, line and
/// feature), or "" when it can.
std::string virtual_rejects(const actors::run_plan& plan);

/// Returns why a live run (in-process, --services, --attach) cannot play `plan`: a
/// `network:` other than loopback's or a network timeline event, naming the file, line and
/// key; empty if it can.
std::string live_rejects(const actors::run_plan& plan);

/// Plays `plan` on virtual time; notes and frames go to `view` as they happen. Ctrl-C ends
/// the run early, like a live one. Fails when the stage cannot be built or the run does
/// not end within `wall_limit` (plus the run's length at `pace`). `pace` > 0 plays that
/// many scenario seconds per wall second (`--pace 1`: wall speed), sleeping between virtual
/// time steps; 0 plays as fast as it can.
caf::expected<actors::director_done> play_virtually(const actors::run_plan& plan, live_view& view,
                                                    signal_guard& signals,
                                                    std::chrono::seconds wall_limit,
                                                    double pace = 0);

}  // namespace l4sim::apps
