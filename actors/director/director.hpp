#pragma once

// The director: plays one run plan on a stage — backends, a balancer and a client spawner,
// built in this process (actors/director/local_stage.hpp), started as service processes or
// attached to over CAF's middleman (apps/sim/stages.hpp). It fires the timeline's events as
// typed messages to the actors concerned (or through the stage's process hook for kill and
// restart), samples every counter, follows the balancer's health transitions, and at the
// end stops the clients, judges the expectations and reports. Its times come from the
// actor clock, so under CAF's test_coordinator a run is deterministic.
//
// In: the run plan and the stage (at spawn). Out, to its observer: `director_note` (a
// timeline event or health transition as it happens), `stats_frame` (a sample from its stats
// collector, actors/director/stats_collector.hpp), and
// finally `director_done` (record and verdicts, or an error). It stops the stage's local
// actors (`stage::owned`) when it quits, however that happens.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>

#include "actors/director/run_plan.hpp"
#include "actors/director/stage.hpp"
#include "actors/director/stats_collector.hpp"
#include "protocols/client_messages.hpp"
#include "protocols/scenario/scenario.hpp"

namespace l4sim::actors {

/// How to play a scenario.
struct director_config {
  run_plan plan;  ///< the scenario as resolved for this run
  stage on;       ///< what to play it on
  caf::timespan sample_period = std::chrono::milliseconds{100};  ///< real time
  caf::actor observer;  ///< receives notes, frames and done
};

/// Something that happened, for the live view.
struct director_note {
  protocols::duration at{0};  ///< scenario time
  std::string text;
};

/// The end of a run.
struct director_done {
  std::string error;  ///< set when the topology could not be built
  protocols::run_record record;
  std::vector<protocols::verdict> verdicts;
  std::vector<director_note> notes;  ///< every note of the run, in order
  protocols::client_stats clients;   ///< final per-type table
};

/// Spawns a director that starts playing at once.
caf::actor spawn_director(caf::actor_system& sys, director_config cfg);

}  // namespace l4sim::actors

// Director updates stay inside the process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(l4sim::actors::director_note)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(l4sim::actors::director_done)
