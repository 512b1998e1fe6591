// `server`: one simulated backend as a process, configured like the original tool.

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/backend/backend_server.hpp"
#include "actors/io/net.hpp"
#include "actors/io/system.hpp"
#include "apps/common/control.hpp"
#include "apps/common/env_cli.hpp"
#include "apps/common/runtime.hpp"
#include "apps/common/signals.hpp"

using namespace l4sim;
using namespace std::chrono_literals;

namespace {

void self_exit(caf::actor_system& sys, const actors::backend_actor& backend) {
  caf::scoped_actor self{sys};
  self->send_exit(backend, caf::exit_reason::user_shutdown);
}

}  // namespace

int main(int argc, char** argv) {
  apps::env_cli cli{"server", "l4sim backend server: answers REQ/PING/STREAM/SLOW lines."};
  cli.option("--port", "SERVER_PORT", "port to listen on (0 picks one)", "", true);
  cli.option("--id", "SERVER_ID", "name used in logs and stats", "", true);
  cli.option("--host", "SERVER_HOST", "address to listen on", "0.0.0.0");
  cli.option("--delay-ms", "SERVER_DELAY_MS", "delay before each reply, ms", "0");
  cli.option("--max-conns", "SERVER_MAX_CONNS", "concurrent connections, 0 = unlimited", "0");
  cli.option("--timeout-secs", "SERVER_TIMEOUT_SECS", "idle timeout, s, 0 = none", "0");
  cli.option("--chaos-pct", "SERVER_CHAOS_PCT", "share of connections dropped at accept", "0");
  cli.option("--hang-ms", "SERVER_HANG_MS", "hold on each connection's first reply, ms", "0");
  cli.option("--seed", "SERVER_SEED", "seed of the chaos draws", "1");
  cli.option("--stats-interval", "SERVER_STATS_INTERVAL", "stats log period, s, 0 = off", "5");
  apps::add_control_options(cli, "SERVER");
  if (auto rc = cli.parse(argc, argv)) {
    return *rc;
  }
  actors::backend_config cfg;
  apps::control_settings control;
  try {
    control = apps::read_control_options(cli, "SERVER");
    cfg.port = cli.port("SERVER_PORT", true);
    cfg.id = cli.text("SERVER_ID");
    cfg.host = cli.text("SERVER_HOST");
    cfg.delay = cli.duration("SERVER_DELAY_MS", 1ms);
    cfg.max_conns = static_cast<uint32_t>(cli.number("SERVER_MAX_CONNS", 1'000'000));
    cfg.idle_timeout = cli.duration("SERVER_TIMEOUT_SECS", 1s);
    cfg.chaos_pct = static_cast<uint32_t>(cli.number("SERVER_CHAOS_PCT", 100));
    cfg.hang = cli.duration("SERVER_HANG_MS", 1ms);
    cfg.seed = cli.number("SERVER_SEED", UINT64_MAX);
    cfg.stats_interval = cli.duration("SERVER_STATS_INTERVAL", 1s);
  } catch (const apps::config_error& e) {
    fmt::print(stderr, "server: {}\n", e.what());
    return 2;
  }
  apps::runtime rt{control.tls};
  auto& sys = *rt.sys;
  auto& signals = rt.signals;
  auto backend = actors::spawn_backend(sys, cfg);
  if (!backend) {
    fmt::print(stderr, "server: [{}] {}\n", cfg.id, actors::describe(backend.error()));
    return 1;
  }
  if (!apps::serve_control(sys, backend->actor, control, "server", cfg.id, "SERVER")) {
    self_exit(sys, backend->actor);
    return 1;
  }
  actors::log_line(fmt::format("[{}] ready on port {}", cfg.id, backend->port));
  signals.wait();
  caf::scoped_actor self{sys};
  self->request(backend->actor, caf::infinite, caf::get_atom_v, stats_atom_v)
      .receive(
          [](const protocols::backend_stats& st) {
            actors::log_line("final " + actors::format_backend_stats(st));
          },
          [](const caf::error&) {});
  self->send_exit(backend->actor, caf::exit_reason::user_shutdown);
  return 0;
}
