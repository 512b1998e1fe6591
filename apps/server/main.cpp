// `server`: one simulated backend as a process, configured like the original tool.

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/backend/backend_server.hpp"
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

void self_exit(caf::actor_system& sys, const actors::backend_actor& backend) {
  caf::scoped_actor self{sys};
  self->send_exit(backend, caf::exit_reason::user_shutdown);
}

}  // namespace

int main(int argc, char** argv) {
  apps::env_cli cli{"server", "l4sim backend server: answers REQ/PING/STREAM/SLOW lines."};
  apps::declare_server_options(cli);
  if (auto rc = cli.parse(argc, argv)) {
    return *rc;
  }
  actors::backend_config cfg;
  apps::control_settings control;
  std::optional<protocols::endpoint> admin_where;
  try {
    control = apps::read_control_options(cli, "SERVER");
    admin_where = apps::read_admin_option(cli, "SERVER");
    cfg = apps::read_server_config(cli);
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
  auto control_port = apps::serve_control(sys, backend->actor, control, "server", cfg.id, "SERVER");
  if (!control_port) {
    self_exit(sys, backend->actor);
    return 1;
  }
  apps::admin_server admin;
  apps::add_server_routes(admin, sys, backend->actor);
  auto admin_port = apps::serve_admin(admin, admin_where, "server", cfg.id, "SERVER");
  if (!admin_port) {
    self_exit(sys, backend->actor);
    return 1;
  }
  actors::log_line(fmt::format("[{}] ready on port {}", cfg.id, backend->port));
  apps::announce_ready("server", backend->port, *control_port, *admin_port);
  signals.wait();
  admin.stop();
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
