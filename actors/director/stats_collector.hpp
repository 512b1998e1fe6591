#pragma once

// The stats collector: samples every counter of a stage at a fixed period — the balancer's
// per-backend table, the client spawner's outcomes, each backend's own stats — and pushes
// each sample, stamped in scenario time, to its subscriber (the director, which records
// and forwards it to the live view). It follows the stage as it changes: a restarted
// backend's new handle, a backend added or removed.
//
// In: its own tick, backends put and deleted, `get_atom, stats_atom` (a sample now). Out:
// `stats_frame` to the subscriber every period. Links: none; the director owns it.

#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/director/stage.hpp"
#include "protocols/client_messages.hpp"
#include "protocols/scenario/scenario.hpp"
#include "protocols/scenario/time_scale.hpp"

namespace l4sim::actors {

/// One sample of every counter of a stage.
struct stats_frame {
  protocols::run_record::sample sample;
  protocols::client_stats clients;
};

}  // namespace l4sim::actors

// Samples stay inside the process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(l4sim::actors::stats_frame)

namespace l4sim::actors {

/// The stats collector's interface.
using stats_collector_actor =
    caf::typed_actor<caf::reacts_to<caf::tick_atom>,  // its own schedule
                     caf::reacts_to<caf::put_atom, std::string, backend_actor>,
                     caf::reacts_to<caf::delete_atom, std::string>,
                     caf::replies_to<caf::get_atom, stats_atom>::with<stats_frame>>;

/// How the collector samples.
struct stats_collector_config {
  stage on;                                               ///< what to sample
  caf::timespan period = std::chrono::milliseconds{100};  ///< real time; 0 = only on request
  protocols::time_scale scale;                            ///< stamps samples in scenario time
  caf::actor subscriber;                                  ///< receives every periodic frame
};

/// Spawns a collector; the run's time 0 is now on the actor clock.
stats_collector_actor spawn_stats_collector(caf::actor_system& sys, stats_collector_config cfg);

}  // namespace l4sim::actors
