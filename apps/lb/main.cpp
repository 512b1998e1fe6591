// `lb`: the L4 balancer as a process, configured like the original tool. While it runs,
// `algo NAME`, `stats` and `quit` on stdin act at once.

#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/balancer/balancer.hpp"
#include "actors/balancer/balancing.hpp"
#include "actors/io/net.hpp"
#include "actors/io/system.hpp"
#include "apps/common/admin.hpp"
#include "apps/common/admin_routes.hpp"
#include "apps/common/control.hpp"
#include "apps/common/env_cli.hpp"
#include "apps/common/runtime.hpp"
#include "apps/common/service_config.hpp"
#include "apps/common/signals.hpp"

using namespace l4sim;
using namespace std::chrono_literals;

namespace {

/// Reads commands from stdin until `stop` is set or stdin ends.
void command_loop(caf::actor_system& sys, const actors::balancer_handle& lb,
                  const std::atomic<bool>& stop) {
  caf::scoped_actor self{sys};
  std::string pending;
  while (!stop) {
    pollfd p{0, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) {
      continue;
    }
    char buf[512];
    auto n = ::read(0, buf, sizeof(buf));
    if (n <= 0) {
      return;  // stdin closed: keep running, commands are a convenience
    }
    pending.append(buf, static_cast<size_t>(n));
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
      auto line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') {
        line.pop_back();
      }
      if (line == "quit") {
        ::kill(::getpid(), SIGTERM);
        return;
      }
      if (line == "stats") {
        self->request(lb.picker, 5s, caf::get_atom_v, stats_atom_v)
            .receive(
                [&](const protocols::balancer_stats& st) {
                  actors::log_line(actors::format_stats_table("[" + lb.id + "]", st));
                },
                [](const caf::error& err) { actors::log_line("stats: " + actors::describe(err)); });
      } else if (line.rfind("algo ", 0) == 0) {
        self->request(lb.picker, 5s, caf::put_atom_v, algo_atom_v, line.substr(5))
            .receive(
                [](const std::string&) {},
                [](const caf::error& err) { actors::log_line("algo: " + actors::describe(err)); });
      } else if (!line.empty()) {
        actors::log_line(
            fmt::format("unknown command \"{}\" (algo rr|lc|rand, stats, quit)", line));
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  apps::env_cli cli{"lb", "l4sim L4 balancer: forwards TCP connections to healthy backends."};
  apps::declare_lb_options(cli);
  if (auto rc = cli.parse(argc, argv)) {
    return *rc;
  }
  actors::balancer_config cfg;
  apps::control_settings control;
  std::optional<protocols::endpoint> admin_where;
  try {
    cfg = apps::read_lb_config(cli);
    control = apps::read_control_options(cli, "LB");
    admin_where = apps::read_admin_option(cli, "LB");
  } catch (const apps::config_error& e) {
    fmt::print(stderr, "lb: {}\n", e.what());
    return 2;
  }
  apps::runtime rt{control.tls};
  auto& sys = *rt.sys;
  auto& signals = rt.signals;
  auto lb = actors::spawn_balancer(sys, cfg);
  if (!lb) {
    fmt::print(stderr, "lb: [{}] {}\n", cfg.id, actors::describe(lb.error()));
    return 1;
  }
  auto control_port = apps::serve_control(sys, lb->control, control, "lb", cfg.id, "LB");
  if (!control_port) {
    lb->stop();
    return 1;
  }
  apps::admin_server admin;
  apps::add_lb_routes(admin, sys, lb->control);
  auto admin_port = apps::serve_admin(admin, admin_where, "lb", cfg.id, "LB");
  if (!admin_port) {
    lb->stop();
    return 1;
  }
  actors::log_line(fmt::format("[{}] ready on port {} ({} backends, {})", cfg.id, lb->port,
                               cfg.backends.size(), cfg.algorithm));
  apps::announce_ready("lb", lb->port, *control_port, *admin_port);
  std::atomic<bool> stop{false};
  std::thread commands{[&] { command_loop(sys, *lb, stop); }};
  signals.wait();
  stop = true;
  commands.join();
  admin.stop();
  caf::scoped_actor self{sys};
  self->send(lb->listener, caf::close_atom_v);
  self->request(lb->picker, 5s, caf::get_atom_v, stats_atom_v)
      .receive(
          [&](const protocols::balancer_stats& st) {
            actors::log_line(actors::format_stats_table("final [" + cfg.id + "]", st));
          },
          [](const caf::error&) {});
  lb->stop();
  return 0;
}
