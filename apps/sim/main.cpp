// `sim`: runs l4sim topologies in one process. For now `sim demo` starts the three-backend
// topology of the original tool, and stops by itself.

#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/backend_server.hpp"
#include "actors/net.hpp"
#include "actors/system.hpp"
#include "apps/common/signals.hpp"

using namespace l4sim;
using namespace std::chrono_literals;

namespace {

int run_demo(protocols::duration duration, apps::signal_guard& signals) {
  caf::actor_system_config sys_cfg;
  actors::configure_system(sys_cfg);
  caf::actor_system sys{sys_cfg};
  struct spec {
    const char* id;
    std::chrono::milliseconds delay;
    uint32_t max_conns;
  };
  std::vector<actors::backend_handle> backends;
  for (auto s :
       {spec{"server-1", 0ms, 100}, spec{"server-2", 150ms, 100}, spec{"server-3", 500ms, 50}}) {
    actors::backend_config cfg;
    cfg.id = s.id;
    cfg.delay = s.delay;
    cfg.max_conns = s.max_conns;
    cfg.idle_timeout = 30s;
    cfg.stats_interval = 1s;
    auto b = actors::spawn_backend(sys, cfg);
    if (!b) {
      fmt::print(stderr, "sim: {}\n", actors::describe(b.error()));
      return 1;
    }
    backends.push_back(*b);
  }
  for (auto& b : backends) {
    actors::log_line(
        fmt::format("demo: backend on 127.0.0.1:{} (try: nc 127.0.0.1 {})", b.port, b.port));
  }
  signals.wait(duration);
  caf::scoped_actor self{sys};
  for (auto& b : backends) {
    self->request(b.actor, 5s, caf::get_atom_v, stats_atom_v)
        .receive(
            [](const protocols::backend_stats& st) {
              actors::log_line("final " + actors::format_backend_stats(st));
            },
            [](const caf::error& err) {
              actors::log_line("stats unavailable: " + actors::describe(err));
            });
    self->send_exit(b.actor, caf::exit_reason::user_shutdown);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"l4sim: simulate Layer-4 load balancing with real TCP", "sim"};
  app.require_subcommand(1);
  std::string duration_text = "5s";
  auto* demo = app.add_subcommand("demo", "start three backends, log their stats, stop");
  demo->add_option("--duration", duration_text, "how long to run (e.g. 5s)");
  CLI11_PARSE(app, argc, argv);
  auto duration = protocols::parse_duration(duration_text, 1s);
  if (!duration) {
    fmt::print(stderr, "sim: --duration: \"{}\" is not a duration\n", duration_text);
    return 2;
  }
  actors::raise_open_file_limit();
  apps::signal_guard signals;
  return run_demo(*duration, signals);
}
