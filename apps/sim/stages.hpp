#pragma once

// The stages `sim run` can play a run plan on besides the in-process one: services that
// something else started (`--attach`) and service processes it starts itself
// (`--services`). Both consume only the plan.

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/director/run_plan.hpp"
#include "actors/director/stage.hpp"
#include "protocols/units.hpp"

namespace l4sim::apps {

/// Parses `--attach lb=HOST:PORT,server-1=HOST:PORT,...,clients=HOST:PORT`; the error text
/// names what is wrong.
caf::expected<std::map<std::string, protocols::endpoint>> parse_attach(const std::string& text);

/// Returns why a plan cannot be played on services started elsewhere, or "" when it can.
std::string attach_rejects(const actors::run_plan& plan);

/// Returns why a plan cannot be played on service processes, or "" when it can.
std::string services_reject(const actors::run_plan& plan);

/// Connects to the control actors of running services and applies the plan's settings
/// (backend delays and limits, algorithm, client rate and mix) to them. Kill and restart
/// then go through the backends' control actors. What an attached service keeps from its
/// own start (health checks, retries, client parameters) is listed in the summary.
caf::expected<actors::stage> attach_stage(caf::actor_system& sys, const actors::run_plan& plan,
                                          const std::map<std::string, protocols::endpoint>& where);

class service_set;

/// Starts every backend, the balancer and the client simulator as processes of the service
/// binaries on 127.0.0.1, each with the plan rendered as its environment, and connects to
/// their control actors. Kill is a SIGKILL, restart a new process on the same port,
/// add_backend a new server process handed to the balancer over its control actor.
/// `services` owns the processes: they end with it (and with `sim`, even if it is killed).
caf::expected<actors::stage> services_stage(caf::actor_system& sys, const actors::run_plan& plan,
                                            std::shared_ptr<service_set>& services);

/// Returns every service process started so far (restarts included), with its name.
std::vector<std::pair<std::string, int>> service_pids(const service_set& services);

}  // namespace l4sim::apps
