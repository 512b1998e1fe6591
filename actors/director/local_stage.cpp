#include "actors/director/local_stage.hpp"

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

namespace l4sim::actors {

caf::expected<stage> build_local_stage(caf::actor_system& sys, const run_plan& plan) {
  stage result;
  auto fail = [&](const caf::error& err) {
    for (auto& x : result.owned) {
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    }
    return err;
  };
  auto lcfg = plan.balancer;
  std::string ports;
  for (auto& planned : plan.backends) {
    auto b = spawn_backend(sys, planned.cfg);
    if (!b) {
      return fail(b.error());
    }
    result.backends.emplace_back(planned.id, b->actor);
    result.owned.push_back(caf::actor_cast<caf::actor>(b->actor));
    lcfg.backends.push_back(plan.balancer_entry(planned, b->port));
    ports += fmt::format(" {}=:{}", planned.id, b->port);
  }
  auto lb = spawn_balancer(sys, lcfg);
  if (!lb) {
    return fail(lb.error());
  }
  result.lb = lb->control;
  for (auto x : {caf::actor_cast<caf::actor>(lb->listener), caf::actor_cast<caf::actor>(lb->picker),
                 caf::actor_cast<caf::actor>(lb->health), caf::actor_cast<caf::actor>(lb->dialer),
                 caf::actor_cast<caf::actor>(lb->resolver),
                 caf::actor_cast<caf::actor>(lb->control), lb->reporter}) {
    if (x) {
      result.owned.push_back(x);
    }
  }
  auto ccfg = plan.clients;
  ccfg.address = "127.0.0.1";
  ccfg.port = lb->port;
  ccfg.dialer = lb->dialer;
  result.clients = spawn_spawner(sys, ccfg);
  result.owned.push_back(caf::actor_cast<caf::actor>(result.clients));
  result.summary = fmt::format("in-process: balancer 127.0.0.1:{} ({}), backends{}", lb->port,
                               lcfg.algorithm, ports);
  return result;
}

}  // namespace l4sim::actors
