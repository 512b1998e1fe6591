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
#include "apps/common/control.hpp"
#include "apps/common/env_cli.hpp"
#include "apps/common/runtime.hpp"
#include "apps/common/signals.hpp"

using namespace l4sim;
using namespace std::chrono_literals;

namespace {

actors::balancer_config read_config(const apps::env_cli& cli) {
  actors::balancer_config cfg;
  cfg.port = cli.port("LB_PORT", true);
  cfg.id = cli.text("LB_ID");
  cfg.host = cli.text("LB_HOST");
  cfg.algorithm = cli.text("LB_ALGO");
  if (!actors::make_policy(cfg.algorithm, 1)) {
    cli.fail("LB_ALGO",
             fmt::format("\"{}\" is not one of {}", cfg.algorithm, actors::policy_names()));
  }
  cfg.health.interval = cli.duration("LB_HEALTH_INTERVAL", 1s);
  cfg.health.timeout = cli.duration("LB_HEALTH_TIMEOUT", 1s);
  cfg.health.rise = static_cast<uint32_t>(cli.number("LB_HEALTH_RISE", 100));
  cfg.health.fall = static_cast<uint32_t>(cli.number("LB_HEALTH_FALL", 100));
  cfg.session.connect_timeout = cli.duration("LB_CONNECT_TIMEOUT_MS", 1ms);
  cfg.session.retries = static_cast<uint32_t>(cli.number("LB_RETRIES", 100));
  cfg.session.timeouts.client = cli.duration("LB_CLIENT_TIMEOUT", 1s);
  cfg.session.timeouts.server = cli.duration("LB_SERVER_TIMEOUT", 1s);
  cfg.session.timeouts.tunnel = cli.duration("LB_TUNNEL_TIMEOUT", 1s);
  cfg.session.timeouts.client_fin = cli.duration("LB_CLIENT_FIN_TIMEOUT", 1s);
  cfg.max_conns = static_cast<uint32_t>(cli.number("LB_MAX_CONNS", 1'000'000));
  cfg.stats_interval = cli.duration("LB_STATS_INTERVAL", 1s);
  cfg.seed = cli.number("LB_SEED", UINT64_MAX);
  for (auto& [name, ep] : cli.named_endpoints("LB_BACKENDS")) {
    auto address = actors::resolve_host(ep.host);
    if (!address) {
      cli.fail("LB_BACKENDS", actors::describe(address.error()));
    }
    cfg.backends.push_back({name, protocols::to_string(ep), *address, ep.port, 1});
  }
  return cfg;
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
  cli.option("--port", "LB_PORT", "port to listen on (0 picks one)", "", true);
  cli.option("--id", "LB_ID", "name used in logs", "", true);
  cli.option("--backends", "LB_BACKENDS", "comma-separated [name=]host:port list", "", true);
  cli.option("--host", "LB_HOST", "address to listen on", "0.0.0.0");
  cli.option("--algo", "LB_ALGO", "balancing algorithm: rr, lc or rand", "rr");
  cli.option("--health-interval", "LB_HEALTH_INTERVAL",
             "probe period, s (0.2 allowed; 0 = no checks)", "3");
  cli.option("--health-timeout", "LB_HEALTH_TIMEOUT", "probe connect timeout, s", "1");
  cli.option("--health-rise", "LB_HEALTH_RISE", "good probes in a row to come UP", "1");
  cli.option("--health-fall", "LB_HEALTH_FALL", "failed probes in a row to go DOWN", "1");
  cli.option("--connect-timeout-ms", "LB_CONNECT_TIMEOUT_MS", "backend connect timeout, ms",
             "1000");
  cli.option("--retries", "LB_RETRIES", "other backends to try after a failed connect", "2");
  cli.option("--client-timeout", "LB_CLIENT_TIMEOUT",
             "close a session whose client is idle this long, s (0 = never)", "30");
  cli.option("--server-timeout", "LB_SERVER_TIMEOUT",
             "close a session whose backend is idle this long, s (0 = never)", "30");
  cli.option("--tunnel-timeout", "LB_TUNNEL_TIMEOUT",
             "idle timeout once both sides sent data, replaces the two above, s (0 = off)",
             "3600");
  cli.option("--client-fin-timeout", "LB_CLIENT_FIN_TIMEOUT",
             "idle timeout after one side half-closed, s (0 = off)", "30");
  cli.option("--max-conns", "LB_MAX_CONNS",
             "proxied connections at most; past it new ones wait in the backlog (0 = no cap)",
             "4000");
  cli.option("--stats-interval", "LB_STATS_INTERVAL", "stats table period, s, 0 = off", "5");
  cli.option("--seed", "LB_SEED", "seed of the rand algorithm", "1");
  apps::add_control_option(cli, "LB_CONTROL_PORT");
  if (auto rc = cli.parse(argc, argv)) {
    return *rc;
  }
  actors::balancer_config cfg;
  std::optional<protocols::endpoint> control;
  try {
    cfg = read_config(cli);
    control = cli.control_endpoint("LB_CONTROL_PORT");
  } catch (const apps::config_error& e) {
    fmt::print(stderr, "lb: {}\n", e.what());
    return 2;
  }
  apps::runtime rt;
  auto& sys = *rt.sys;
  auto& signals = rt.signals;
  auto lb = actors::spawn_balancer(sys, cfg);
  if (!lb) {
    fmt::print(stderr, "lb: [{}] {}\n", cfg.id, actors::describe(lb.error()));
    return 1;
  }
  if (!apps::serve_control(sys, lb->control, control, "lb", cfg.id, "LB_CONTROL_PORT")) {
    lb->stop();
    return 1;
  }
  actors::log_line(fmt::format("[{}] ready on port {} ({} backends, {})", cfg.id, lb->port,
                               cfg.backends.size(), cfg.algorithm));
  std::atomic<bool> stop{false};
  std::thread commands{[&] { command_loop(sys, *lb, stop); }};
  signals.wait();
  stop = true;
  commands.join();
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
