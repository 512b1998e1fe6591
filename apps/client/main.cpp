// `client`: the simulated client population as a process, configured like the original
// tool. Spawns clients against CLIENT_TARGET until the duration passes or SIGINT/SIGTERM,
// then stops them all and prints the final table.

#include <atomic>
#include <thread>

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/clients/arrivals.hpp"
#include "actors/clients/client_stats.hpp"
#include "actors/io/net.hpp"
#include "actors/clients/spawner.hpp"
#include "actors/io/system.hpp"
#include "apps/common/control.hpp"
#include "apps/common/env_cli.hpp"
#include "apps/common/runtime.hpp"
#include "apps/common/signals.hpp"

using namespace l4sim;
using namespace std::chrono_literals;

namespace {

/// Reads every option into a spawner config; throws config_error naming the variable.
actors::spawner_config read_config(const apps::env_cli& cli) {
  actors::spawner_config cfg;
  auto target = protocols::parse_endpoint(cli.text("CLIENT_TARGET"));
  if (!target) {
    cli.fail("CLIENT_TARGET", fmt::format("\"{}\" is not host:port", cli.text("CLIENT_TARGET")));
  }
  auto address = actors::resolve_host(target->host);
  if (!address) {
    cli.fail("CLIENT_TARGET", fmt::format("cannot resolve \"{}\": {}", target->host,
                                          actors::describe(address.error())));
  }
  cfg.address = *address;
  cfg.port = target->port;
  cfg.rate = cli.decimal("CLIENT_RATE");
  auto mix = actors::parse_mix(cli.text("CLIENT_MIX"));
  if (!mix) {
    cli.fail("CLIENT_MIX", fmt::format("\"{}\" is not a mix like real=50,stream=15 (kinds: real, "
                                       "fire_and_forget, stream, idle, slow; total above 0)",
                                       cli.text("CLIENT_MIX")));
  }
  cfg.mix = *mix;
  auto arrival = actors::parse_arrival_process(cli.text("CLIENT_ARRIVAL"));
  if (!arrival) {
    cli.fail("CLIENT_ARRIVAL",
             fmt::format("\"{}\" is neither uniform nor poisson", cli.text("CLIENT_ARRIVAL")));
  }
  cfg.arrival = *arrival;
  cfg.seed = cli.number("CLIENT_SEED", UINT64_MAX);
  cfg.duration = cli.duration("CLIENT_DURATION_SECS", 1s);
  cfg.max_active = static_cast<uint32_t>(cli.number("CLIENT_MAX_ACTIVE", 10'000'000));
  cfg.connect_timeout = cli.duration("CLIENT_CONNECT_TIMEOUT_MS", 1ms);
  if (cfg.connect_timeout.count() == 0) {
    cli.fail("CLIENT_CONNECT_TIMEOUT_MS", "must be above 0");
  }
  cfg.stats_interval = cli.duration("CLIENT_STATS_INTERVAL", 1s);
  return cfg;
}

}  // namespace

int main(int argc, char** argv) {
  apps::env_cli cli{"client",
                    "l4sim client simulator: spawns real, fire_and_forget, stream, "
                    "idle and slow clients against a balancer or backend."};
  cli.option("--target", "CLIENT_TARGET", "host:port to connect to", "", true);
  cli.option("--rate", "CLIENT_RATE", "new clients per second (fractional allowed)", "2");
  cli.option("--mix", "CLIENT_MIX", "weights per kind, e.g. real=50,stream=15",
             "real=50,fire_and_forget=20,stream=15,idle=10,slow=5");
  cli.option("--arrival", "CLIENT_ARRIVAL", "arrival process: uniform or poisson", "uniform");
  cli.option("--seed", "CLIENT_SEED", "seed of the kinds and their parameters", "1");
  cli.option("--duration-secs", "CLIENT_DURATION_SECS", "run length, s, 0 = until stopped", "0");
  cli.option("--max-active", "CLIENT_MAX_ACTIVE", "open clients at most, 0 = unlimited", "0");
  cli.option("--connect-timeout-ms", "CLIENT_CONNECT_TIMEOUT_MS", "connect timeout, ms", "3000");
  cli.option("--stats-interval", "CLIENT_STATS_INTERVAL", "summary line period, s, 0 = off", "5");
  apps::add_control_options(cli, "CLIENT");
  if (auto rc = cli.parse(argc, argv)) {
    return *rc;
  }
  actors::spawner_config cfg;
  apps::control_settings control;
  try {
    cfg = read_config(cli);
    control = apps::read_control_options(cli, "CLIENT");
  } catch (const apps::config_error& e) {
    fmt::print(stderr, "client: {}\n", e.what());
    return 2;
  }
  apps::runtime rt{control.tls};
  auto& sys = *rt.sys;
  auto& signals = rt.signals;
  auto spawner = actors::spawn_spawner(sys, cfg);
  if (!apps::serve_control(sys, spawner, control, "client", "clients", "CLIENT")) {
    caf::anon_send_exit(spawner, caf::exit_reason::user_shutdown);
    return 1;
  }
  // Signals are waited for on their own thread so that main can wait for the run's end,
  // which comes from either the duration or a signal.
  std::atomic<bool> ended{false};
  std::thread watcher{[&] {
    while (!ended) {
      if (auto sig = signals.wait(protocols::duration{100ms}); sig != 0) {
        actors::log_line(fmt::format("[clients] signal {}: stopping", sig));
        caf::anon_send(spawner, finish_atom_v);
        return;
      }
    }
  }};
  int rc = 0;
  {
    caf::scoped_actor self{sys};
    self->request(spawner, caf::infinite, caf::wait_for_atom_v)
        .receive(
            [](const protocols::client_stats& st) {
              actors::log_line("[clients] final\n" + actors::format_client_table(st));
            },
            [&](const caf::error& err) {
              fmt::print(stderr, "client: {}\n", actors::describe(err));
              rc = 1;
            });
    ended = true;
    watcher.join();
    self->send_exit(spawner, caf::exit_reason::user_shutdown);
  }
  return rc;
}
