#include "actors/balancer/balancer.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/balancer/access_log.hpp"
#include "actors/io/system.hpp"

namespace l4sim::actors {

namespace {

/// Logs the picker's stats table every `interval`.
caf::behavior stats_reporter(caf::event_based_actor* self, picker_actor picker, std::string title,
                             caf::timespan interval) {
  send_later(self, interval, caf::tick_atom_v);
  return {
      [=](caf::tick_atom) {
        self->request(picker, interval, caf::get_atom_v, stats_atom_v)
            .then([=](const protocols::balancer_stats& st) {
              log_line(format_stats_table(title, st));
            });
        send_later(self, interval, caf::tick_atom_v);
      },
  };
}

/// Copies the health monitor's probe counts into the picker's rows of the same backends.
void merge_checks(protocols::balancer_stats& st, const protocols::balancer_stats& checks) {
  for (auto& row : st.backends) {
    for (auto& c : checks.backends) {
      if (c.id == row.id) {
        row.checks_ok = c.checks_ok;
        row.checks_failed = c.checks_failed;
        row.checks_timed_out = c.checks_timed_out;
        row.checks_skipped = c.checks_skipped;
      }
    }
  }
}

balancer_control_actor::behavior_type control_impl(balancer_control_actor::pointer self,
                                                   picker_actor picker, health_actor health,
                                                   protocols::balancer_settings settings) {
  auto ask = [self, picker](auto... xs) { return self->delegate(picker, xs...); };
  return {
      [=](caf::get_atom, stats_atom) -> caf::result<protocols::balancer_stats> {
        // The picker keeps the table; the health monitor adds its probe counts to it.
        auto rp = self->make_response_promise<protocols::balancer_stats>();
        self->request(picker, std::chrono::seconds{5}, caf::get_atom_v, stats_atom_v)
            .then(
                [=](protocols::balancer_stats& st) mutable {
                  self->request(health, std::chrono::seconds{5}, caf::get_atom_v, stats_atom_v)
                      .then(
                          [=](const protocols::balancer_stats& checks) mutable {
                            merge_checks(st, checks);
                            rp.deliver(st);
                          },
                          [=](const caf::error&) mutable { rp.deliver(st); });
                },
                [=](const caf::error& err) mutable { rp.deliver(err); });
        return rp;
      },
      [=](caf::get_atom, settings_atom) { return settings; },
      [=](caf::put_atom, algo_atom, const std::string& name) {
        return self->delegate(picker, caf::put_atom_v, algo_atom_v, name);
      },
      [=](caf::join_atom, caf::actor subscriber) {
        self->send(picker, caf::join_atom_v, std::move(subscriber));
      },
      [=](caf::add_atom, const protocols::backend_spec& be) -> caf::result<std::string> {
        auto rp = self->make_response_promise<std::string>();
        self->request(picker, std::chrono::seconds{5}, caf::add_atom_v, be)
            .then(
                [=](const std::string& text) mutable {
                  self->send(health, caf::add_atom_v, be);
                  rp.deliver(text);
                },
                [=](const caf::error& err) mutable { rp.deliver(err); });
        return rp;
      },
      [=](caf::delete_atom, const std::string& id) -> caf::result<std::string> {
        auto rp = self->make_response_promise<std::string>();
        self->request(picker, std::chrono::seconds{5}, caf::delete_atom_v, id)
            .then(
                [=](const std::string& text) mutable {
                  self->send(health, caf::delete_atom_v, id);
                  rp.deliver(text);
                },
                [=](const caf::error& err) mutable { rp.deliver(err); });
        return rp;
      },
      [=](drain_atom, const std::string& id) { return ask(drain_atom_v, id); },
      [=](ready_atom, const std::string& id) { return ask(ready_atom_v, id); },
      [=](weight_atom, const std::string& id, uint32_t weight) {
        return ask(weight_atom_v, id, weight);
      },
  };
}

}  // namespace

void balancer_handle::close() const {
  caf::anon_send(listener, caf::close_atom_v);
  if (loops) {
    loops->close();
  }
}

protocols::balancer_settings settings_of(const balancer_config& cfg) {
  protocols::balancer_settings s;
  s.health_interval = cfg.health.interval;
  s.health_timeout = cfg.health.timeout;
  s.health_rise = cfg.health.rise;
  s.health_fall = cfg.health.fall;
  s.connect_timeout = cfg.session.connect_timeout;
  s.retries = cfg.session.retries;
  s.backoff_base = cfg.session.backoff.base;
  s.backoff_cap = cfg.session.backoff.cap;
  s.queue_timeout = cfg.queue_timeout;
  s.drain_timeout = cfg.drain_timeout;
  s.slow_start = cfg.slow_start;
  s.outlier_consecutive = cfg.outlier.consecutive;
  s.outlier_base_ejection = cfg.outlier.base_ejection;
  s.outlier_max_percent = cfg.outlier.max_percent;
  s.client_timeout = cfg.session.timeouts.client;
  s.server_timeout = cfg.session.timeouts.server;
  s.tunnel_timeout = cfg.session.timeouts.tunnel;
  s.client_fin_timeout = cfg.session.timeouts.client_fin;
  s.max_conns = cfg.max_conns;
  s.send_proxy = protocols::to_string(cfg.session.send_proxy);
  s.hash_balance = cfg.hash_balance;
  return s;
}

balancer_control_actor spawn_balancer_control(caf::actor_system& sys, picker_actor picker,
                                              health_actor health,
                                              protocols::balancer_settings settings) {
  return sys.spawn(control_impl, std::move(picker), std::move(health), std::move(settings));
}

void balancer_handle::stop() const {
  auto reason = caf::exit_reason::user_shutdown;
  if (loops) {
    loops->stop();
  }
  caf::anon_send_exit(listener, reason);
  caf::anon_send_exit(health, reason);
  caf::anon_send_exit(picker, reason);
  caf::anon_send_exit(dialer, reason);
  caf::anon_send_exit(resolver, reason);
  caf::anon_send_exit(control, reason);
  if (reporter) {
    caf::anon_send_exit(reporter, reason);
  }
  if (access_log) {
    caf::anon_send_exit(access_log, reason);
  }
}

caf::expected<balancer_handle> spawn_balancer(caf::actor_system& sys, balancer_config cfg) {
  picker_config pcfg{cfg.backends,      cfg.algorithm,    cfg.seed,
                     cfg.log,           cfg.hash_balance, cfg.queue_timeout,
                     cfg.drain_timeout, cfg.slow_start,   cfg.outlier};
  auto picker = spawn_picker_with_fast_path(sys, pcfg);
  if (!picker) {
    return picker.error();
  }
  balancer_handle result;
  result.id = cfg.id;
  result.picker = picker->first;
  result.dialer = spawn_dialer(sys);
  listener_config lcfg;
  lcfg.host = cfg.host;
  lcfg.port = cfg.port;
  lcfg.max_conns = cfg.max_conns;
  lcfg.id = cfg.id;
  lcfg.log = cfg.log;
  access_log_handle access_log;
  if (!cfg.access_log.empty()) {
    auto log = spawn_access_log(sys, cfg.access_log, cfg.id);
    if (!log) {
      caf::anon_send_exit(result.picker, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(result.dialer, caf::exit_reason::user_shutdown);
      return log.error();
    }
    access_log = *log;
    result.access_log = log->writer;
  }
  lcfg.sessions =
      session_deps{cfg.session, result.picker, result.dialer, access_log, picker->second};
  lcfg.sessions.cfg.seed = cfg.seed;
  lcfg.sessions.cfg.queue_timeout = cfg.queue_timeout;
  lcfg.reuse_port = cfg.loops > 1;
  if (cfg.loops > 1 && cfg.max_conns > 0) {
    lcfg.max_conns = (cfg.max_conns + cfg.loops - 1) / cfg.loops;  // shared evenly
  }
  auto listener = spawn_listener(sys, lcfg);
  if (!listener) {
    caf::anon_send_exit(result.picker, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(result.dialer, caf::exit_reason::user_shutdown);
    if (result.access_log) {
      caf::anon_send_exit(result.access_log, caf::exit_reason::user_shutdown);
    }
    return listener.error();
  }
  result.listener = listener->actor;
  caf::anon_send(result.picker, caf::join_atom_v, session_closer_actor{result.listener});
  result.port = listener->port;
  if (cfg.loops > 1) {
    lcfg.port = result.port;
    // The main listener took its share of max_conns below; each loop takes as much.
    auto loops = listener_loops::spawn(cfg.loops - 1, lcfg, cfg.scheduler);
    if (!loops) {
      caf::anon_send_exit(result.listener, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(result.picker, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(result.dialer, caf::exit_reason::user_shutdown);
      return loops.error();
    }
    result.loops = std::move(*loops);
    for (auto& l : result.loops->listeners()) {
      caf::anon_send(result.picker, caf::join_atom_v, session_closer_actor{l});
    }
  }
  cfg.health.log = cfg.log;
  result.resolver = spawn_resolver(sys);
  result.health = spawn_health_monitor(sys, cfg.health, cfg.backends, result.picker, result.dialer,
                                       result.resolver);
  result.control = sys.spawn(control_impl, result.picker, result.health, settings_of(cfg));
  if (cfg.stats_interval.count() > 0) {
    result.reporter =
        sys.spawn(stats_reporter, result.picker, "[" + cfg.id + "]", cfg.stats_interval);
  }
  return result;
}

}  // namespace l4sim::actors
