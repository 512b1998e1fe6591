#include "actors/balancer.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "actors/system.hpp"

namespace l4sim::actors {

namespace {

/// Logs the picker's stats table every `interval`.
caf::behavior stats_reporter(caf::event_based_actor* self, picker_actor picker, std::string title,
                             caf::timespan interval) {
  self->delayed_send(self, interval, caf::tick_atom_v);
  return {
      [=](caf::tick_atom) {
        self->request(picker, interval, caf::get_atom_v, stats_atom_v)
            .then([=](const protocols::balancer_stats& st) {
              log_line(format_stats_table(title, st));
            });
        self->delayed_send(self, interval, caf::tick_atom_v);
      },
  };
}

}  // namespace

void balancer_handle::stop() const {
  auto reason = caf::exit_reason::user_shutdown;
  caf::anon_send_exit(listener, reason);
  caf::anon_send_exit(health, reason);
  caf::anon_send_exit(picker, reason);
  caf::anon_send_exit(dialer, reason);
  if (reporter) {
    caf::anon_send_exit(reporter, reason);
  }
}

caf::expected<balancer_handle> spawn_balancer(caf::actor_system& sys, balancer_config cfg) {
  picker_config pcfg{cfg.backends, cfg.algorithm, cfg.seed, cfg.log};
  auto picker = spawn_picker(sys, pcfg);
  if (!picker) {
    return picker.error();
  }
  balancer_handle result;
  result.id = cfg.id;
  result.picker = *picker;
  result.dialer = spawn_dialer(sys);
  listener_config lcfg{cfg.host, cfg.port, session_deps{cfg.session, result.picker, result.dialer}};
  auto listener = spawn_listener(sys, lcfg);
  if (!listener) {
    caf::anon_send_exit(result.picker, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(result.dialer, caf::exit_reason::user_shutdown);
    return listener.error();
  }
  result.listener = listener->actor;
  result.port = listener->port;
  cfg.health.log = cfg.log;
  result.health = spawn_health_monitor(sys, cfg.health, cfg.backends, result.picker, result.dialer);
  if (cfg.stats_interval.count() > 0) {
    result.reporter =
        sys.spawn(stats_reporter, result.picker, "[" + cfg.id + "]", cfg.stats_interval);
  }
  return result;
}

}  // namespace l4sim::actors
