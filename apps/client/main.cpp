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
#include "actors/clients/spawner.hpp"
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

int main(int argc, char** argv) {
  apps::env_cli cli{"client",
                    "l4sim client simulator: spawns real, fire_and_forget, stream, "
                    "idle and slow clients against a balancer or backend."};
  apps::declare_client_options(cli);
  if (auto rc = cli.parse(argc, argv)) {
    return *rc;
  }
  actors::spawner_config cfg;
  apps::control_settings control;
  std::optional<protocols::endpoint> admin_where;
  try {
    cfg = apps::read_client_config(cli);
    control = apps::read_control_options(cli, "CLIENT");
    admin_where = apps::read_admin_option(cli, "CLIENT");
  } catch (const apps::config_error& e) {
    fmt::print(stderr, "client: {}\n", e.what());
    return 2;
  }
  apps::runtime rt{control.tls};
  auto& sys = *rt.sys;
  auto& signals = rt.signals;
  auto spawner = actors::spawn_spawner(sys, cfg);
  auto control_port = apps::serve_control(sys, spawner, control, "client", "clients", "CLIENT");
  if (!control_port) {
    caf::anon_send_exit(spawner, caf::exit_reason::user_shutdown);
    return 1;
  }
  apps::admin_server admin;
  apps::add_client_routes(admin, sys, spawner);
  auto admin_port = apps::serve_admin(admin, admin_where, "client", "clients", "CLIENT");
  if (!admin_port) {
    caf::anon_send_exit(spawner, caf::exit_reason::user_shutdown);
    return 1;
  }
  apps::announce_ready("client", cfg.port, *control_port, *admin_port);
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
    admin.stop();
    self->send_exit(spawner, caf::exit_reason::user_shutdown);
  }
  return rc;
}
