#include "actors/vnet/virtual_stage.hpp"

#include <map>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/vnet/vbalancer.hpp"
#include "protocols/errors.hpp"

namespace l4sim::actors {

namespace {

/// Binds a backend's address on the virtual network and spawns the live backend server on
/// it; returns its handle and port.
caf::expected<std::pair<backend_actor, uint16_t>> spawn_virtual_backend(
    caf::actor_system& sys, const std::string& id, backend_config cfg,
    const std::shared_ptr<vnet>& net, std::map<std::string, std::string>& links) {
  auto bound = net->listen(cfg.host, cfg.port);
  if (!bound) {
    return bound.error();
  }
  cfg.port = bound->second;
  // Connections to this address are on the link balancer-backend, across restarts too.
  links[id] = fmt::format("{}:{}", cfg.host.empty() ? "0.0.0.0" : cfg.host, cfg.port);
  std::shared_ptr<broker_io> io = net->make_io(bound->first);
  return std::make_pair(spawn_backend_on(sys, std::move(cfg), std::move(io)), bound->second);
}

}  // namespace

caf::expected<stage> build_virtual_stage(caf::actor_system& sys, const run_plan& plan,
                                         std::shared_ptr<vnet> net) {
  stage result;
  // Backend id -> the link to it (its listening address), for network events.
  auto links = std::make_shared<std::map<std::string, std::string>>();
  auto fail = [&](const caf::error& err) {
    for (auto& x : result.owned) {
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    }
    return err;
  };
  auto lcfg = plan.balancer;
  std::string ports;
  for (auto& planned : plan.backends) {
    auto b = spawn_virtual_backend(sys, planned.id, planned.cfg, net, *links);
    if (!b) {
      return fail(b.error());
    }
    result.backends.emplace_back(planned.id, b->first);
    result.owned.push_back(caf::actor_cast<caf::actor>(b->first));
    lcfg.backends.push_back(plan.balancer_entry(planned, b->second));
    ports += fmt::format(" {}=:{}", planned.id, b->second);
  }
  auto lb = spawn_virtual_balancer(sys, lcfg, net);
  if (!lb) {
    return fail(lb.error());
  }
  result.lb = lb->control;
  for (auto x :
       {caf::actor_cast<caf::actor>(lb->listener), caf::actor_cast<caf::actor>(lb->picker),
        caf::actor_cast<caf::actor>(lb->health), caf::actor_cast<caf::actor>(lb->dialer),
        caf::actor_cast<caf::actor>(lb->resolver), caf::actor_cast<caf::actor>(lb->control)}) {
    if (x) {
      result.owned.push_back(x);
    }
  }
  auto ccfg = plan.clients;
  ccfg.address = "127.0.0.1";
  ccfg.port = lb->port;
  ccfg.dialer = lb->dialer;
  std::weak_ptr<vnet> weak = net;
  ccfg.io = [weak]() -> std::unique_ptr<broker_io> {
    auto n = weak.lock();
    return n ? n->make_io() : make_live_io();
  };
  result.clients = spawn_spawner(sys, ccfg);
  result.owned.push_back(caf::actor_cast<caf::actor>(result.clients));
  // A backend that a timeline event adds listens on the virtual network too.
  result.spawn_here = [&sys, weak,
                       links](const planned_backend& b) -> caf::expected<backend_handle> {
    auto n = weak.lock();
    if (!n) {
      return caf::make_error(protocols::l4_errc::local_failure, "the virtual network is gone");
    }
    auto spawned = spawn_virtual_backend(sys, b.id, b.cfg, n, *links);
    if (!spawned) {
      return spawned.error();
    }
    return backend_handle{spawned->first, spawned->second};
  };
  result.network_event = [weak, links](const protocols::timeline_event& ev) -> std::string {
    auto n = weak.lock();
    auto link = links->find(ev.backend);
    if (!n || link == links->end()) {
      return fmt::format("no link to {}", ev.backend);
    }
    using protocols::event_kind;
    if (ev.kind == event_kind::partition || ev.kind == event_kind::heal) {
      n->partition(link->second, ev.kind == event_kind::partition);
    } else {
      n->hold(link->second, ev.kind == event_kind::hold);
    }
    return {};
  };
  result.summary = fmt::format("virtual: balancer 127.0.0.1:{} ({}), backends{}", lb->port,
                               lcfg.algorithm, ports);
  return result;
}

}  // namespace l4sim::actors
