#pragma once

// The run plan: one scenario resolved for one run. `make_plan` takes the scenario, the seed,
// --duration and --time-scale, and resolves every parameter of every backend, the balancer
// and the clients once, in real time, as the configurations the actors take. Every stage
// (in-process, services, attach) consumes only the plan: in-process spawns these configs,
// services render them as each service's environment (apps/common/service_env.hpp, read
// back by the services' own readers into the same configs), attach sends them to the
// control actors. Expectations and the timeline stay in scenario time; the plan's `scale`
// converts.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/backend/backend_server.hpp"
#include "actors/balancer/balancer.hpp"
#include "actors/clients/spawner.hpp"
#include "protocols/scenario/scenario.hpp"
#include "protocols/scenario/time_scale.hpp"

namespace l4sim::actors {

/// What a run overrides in its scenario.
struct plan_options {
  std::optional<uint64_t> seed;
  std::optional<protocols::duration> length;
  double time_scale = 1;
  bool verbose = false;  ///< let every component log
};

/// One backend of the plan.
struct planned_backend {
  std::string id;
  backend_config cfg;         ///< port 0 until a stage binds it
  uint32_t weight = 1;        ///< the balancer's weight for it
  uint32_t lb_max_conns = 0;  ///< the balancer's cap for it; 0 = none
};

/// A scenario resolved for one run.
struct run_plan {
  protocols::scenario scn;  ///< with seed and length overridden; scenario time
  protocols::time_scale scale;
  std::vector<planned_backend> backends;
  balancer_config balancer;  ///< backends empty: a stage fills them in once they listen
  spawner_config clients;    ///< address and port unset: a stage points them at the balancer
  bool verbose = false;

  /// Returns the plan of a backend added by a timeline event.
  planned_backend plan_backend(const protocols::scenario_backend& spec) const;

  /// Returns how the balancer knows a planned backend listening on 127.0.0.1:`port`.
  protocols::backend_spec balancer_entry(const planned_backend& b, uint16_t port) const;
};

/// Resolves a scenario for one run; fails on options out of range.
caf::expected<run_plan> make_plan(const protocols::scenario& scn, const plan_options& opts);

/// Converts a scenario mix to the spawner's.
protocols::client_mix client_mix_for(const std::vector<protocols::mix_entry>& mix);

/// Applies one per-type client parameter (`think_min`, `requests_max`, `interval`,
/// `byte_gap_min`, `reply_timeout`, ...) written in scenario time, scaled by `scale`.
/// Returns an error text for an unknown key or a bad value, empty on success.
std::string apply_client_param(protocols::client_profile& profile, const std::string& key,
                               const std::string& value, const protocols::time_scale& scale);

/// Renders a profile's parameters as `key=value` pairs that apply_client_param reads back
/// into the same profile (unit scale).
std::vector<std::pair<std::string, std::string>> client_params_of(
    const protocols::client_profile& profile);

}  // namespace l4sim::actors

namespace l4sim::actors {

/// Renders a duration without rounding, in the largest unit that divides it (`150ms`,
/// `30500us`, `7ns`), so that parse_duration reads back the same value.
std::string exact_duration(protocols::duration d);

}  // namespace l4sim::actors
