#pragma once

// A stage: the actors a scenario is played on, wherever they run. Built from a run plan by
// the in-process stage (actors/director/local_stage.hpp), or by sim's services and attach
// stages (apps/sim/stages.hpp); played by the director.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>

#include "actors/backend/backend_server.hpp"
#include "actors/balancer/balancer.hpp"
#include "actors/clients/spawner.hpp"
#include "actors/director/run_plan.hpp"

namespace l4sim::actors {

/// The actors a scenario is played on: in this process, in service processes, or in
/// containers (then the handles are proxies from CAF's middleman).
struct stage {
  std::vector<std::pair<std::string, backend_actor>> backends;  ///< by scenario id
  balancer_control_actor lb;
  spawner_actor clients;
  std::vector<caf::actor> owned;  ///< local actors to stop when the run ends
  std::string summary;            ///< one line: who listens where
  /// Kills (`restart` false) or restarts a backend by other means than its control actor,
  /// e.g. SIGKILL and a new process; returns the new control handle after a restart. Runs
  /// on a thread of its own, so it may block. Unset: kill/restart are control messages.
  std::function<caf::expected<backend_actor>(const std::string& id, bool restart)> process_hook;
  /// Starts a backend that a timeline event adds by other means than in this process, e.g.
  /// a new service process; returns its control handle and port. Runs on the same thread
  /// as `process_hook`, which must be set too. Unset: the director spawns it in-process.
  std::function<caf::expected<std::pair<backend_actor, uint16_t>>(const planned_backend& b)>
      add_hook;
  /// Spawns such a backend in this process on the stage's own network (the virtual one,
  /// actors/vnet/virtual_stage.hpp). Unset (and no `add_hook`): spawn_backend on real sockets.
  std::function<caf::expected<backend_handle>(const planned_backend& b)> spawn_here;
  /// Applies a network event (partition, heal, hold, release) to the stage's own network;
  /// returns an error text, empty on success. Unset: the stage has no network model (live
  /// runs refuse such events before they start).
  std::function<std::string(const protocols::timeline_event& ev)> network_event;
};

}  // namespace l4sim::actors
