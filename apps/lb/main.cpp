// `lb`: the L4 balancer as a process, configured like the original tool. While it runs,
// commands on stdin act at once (protocols/lb_command.hpp): `add`, `rm`, `drain`, `ready`,
// `weight`, `algo`, `stats`, `quit`.

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
#include "protocols/lb_command.hpp"
#include "protocols/text_escape.hpp"

using namespace l4sim;
using namespace std::chrono_literals;

namespace {

/// Runs one command line against the balancer's control actor and logs the answer: what
/// it did, or an error line naming the entry (nothing else changes on an error).
void run_command(caf::scoped_actor& self, const actors::balancer_handle& lb,
                 const std::string& line) {
  using protocols::lb_verb;
  std::string why;
  auto cmd = protocols::parse_lb_command(line, why);
  if (!cmd) {
    actors::log_line("error: " + protocols::escape_control(why));
    return;
  }
  auto answer = [&](const std::string& what, auto&& req) {
    // What changed is logged by the picker; only errors are this loop's to print. Names come
    // from the command line: escaped before they reach the terminal.
    req.receive([](const std::string&) {},
                [&](const caf::error& err) {
                  actors::log_line(protocols::escape_control(
                      fmt::format("error: {}: {}", what, actors::describe(err))));
                });
  };
  auto& c = lb.control;
  switch (cmd->verb) {
    case lb_verb::quit:
      ::kill(::getpid(), SIGTERM);
      return;
    case lb_verb::stats:
      self->request(c, 5s, caf::get_atom_v, stats_atom_v)
          .receive(
              [&](const protocols::balancer_stats& st) {
                actors::log_line(actors::format_stats_table("[" + lb.id + "]", st));
              },
              [](const caf::error& err) {
                actors::log_line("error: stats: " + actors::describe(err));
              });
      return;
    case lb_verb::algo:
      answer("algo " + cmd->name, self->request(c, 5s, caf::put_atom_v, algo_atom_v, cmd->name));
      return;
    case lb_verb::add: {
      auto& e = cmd->entry;
      auto address = actors::resolve_host(e.where.host);
      if (!address) {
        actors::log_line(fmt::format("[{}] backend {}: {}; DOWN until it resolves", lb.id, e.name,
                                     actors::describe(address.error())));
      }
      protocols::backend_spec spec{e.name,
                                   protocols::to_string(e.where),
                                   address ? *address : std::string{},
                                   e.where.port,
                                   e.weight,
                                   e.where.host,
                                   e.max_conns};
      answer("add " + e.name, self->request(c, 5s, caf::add_atom_v, spec));
      return;
    }
    case lb_verb::rm:
      answer("rm " + cmd->name, self->request(c, 5s, caf::delete_atom_v, cmd->name));
      return;
    case lb_verb::drain:
      answer("drain " + cmd->name, self->request(c, 5s, drain_atom_v, cmd->name));
      return;
    case lb_verb::ready:
      answer("ready " + cmd->name, self->request(c, 5s, ready_atom_v, cmd->name));
      return;
    case lb_verb::weight:
      answer("weight " + cmd->name, self->request(c, 5s, weight_atom_v, cmd->name, cmd->weight));
      return;
  }
}

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
      if (line.find_first_not_of(" \t") == std::string::npos) {
        continue;
      }
      run_command(self, lb, line);
      if (line == "quit") {
        return;
      }
    }
    if (pending.size() > 4096) {
      actors::log_line("error: command line longer than 4096 bytes, dropped");
      pending.clear();
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
  apps::runtime rt{control.tls, cfg.scheduler};
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
  lb->close();
  self->request(lb->picker, 5s, caf::get_atom_v, stats_atom_v)
      .receive(
          [&](const protocols::balancer_stats& st) {
            actors::log_line(actors::format_stats_table("final [" + cfg.id + "]", st));
          },
          [](const caf::error&) {});
  lb->stop();
  return 0;
}
