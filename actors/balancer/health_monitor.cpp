#include "actors/balancer/health_monitor.hpp"

#include <fmt/format.h>
#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/balancer/health_state.hpp"
#include "actors/io/system.hpp"
#include "protocols/errors.hpp"

namespace l4sim::actors {

namespace {

using time_point = caf::actor_clock::time_point;

/// How often a name that does not resolve is retried when health checks are off.
constexpr auto unresolved_retry = std::chrono::seconds{1};

/// How one probe ended; each has a counter in the stats row.
enum class probe_result { ok, failed, timed_out, skipped };

struct probe_target {
  picker_backend backend;
  protocols::backend_row counts;  // only the checks_* fields are kept
  health_state health;
  bool in_flight = false;
  bool resolving = false;
  bool failing = false;       // the last probe failed
  time_point resolved_at;     // actor clock, when `host` last resolved
  bool local_logged = false;  // a probe failed for a local reason since the last verdict
};

struct health_monitor_state {
  health_config cfg;
  std::vector<probe_target> targets;
  picker_actor picker;
  dialer_actor dialer;
  resolver_actor resolver;
};

using health_self = health_actor::stateful_pointer<health_monitor_state>;

probe_target* find(health_self self, const std::string& id) {
  auto& targets = self->state.targets;
  auto i = std::find_if(targets.begin(), targets.end(),
                        [&](const probe_target& t) { return t.backend.id == id; });
  return i == targets.end() ? nullptr : &*i;
}

void tell(health_self self, const probe_target& target, bool healthy) {
  auto& st = self->state;
  if (st.cfg.log) {
    log_line(fmt::format("[health] backend {}  {}", target.backend.label, healthy ? "UP" : "DOWN"));
  }
  self->send(st.picker, protocols::backend_health_changed{target.backend.id, healthy});
}

void count(probe_target& target, probe_result result) {
  auto& c = target.counts;
  switch (result) {
    case probe_result::ok:
      ++c.checks_ok;
      break;
    case probe_result::failed:
      ++c.checks_failed;
      break;
    case probe_result::timed_out:
      ++c.checks_timed_out;
      break;
    case probe_result::skipped:
      ++c.checks_skipped;
      break;
  }
}

void record(health_self self, const std::string& id, probe_result result) {
  auto* target = find(self, id);
  if (target == nullptr) {
    return;  // removed while its probe was in flight
  }
  count(*target, result);
  bool ok = result == probe_result::ok;
  target->in_flight = false;
  target->failing = !ok;
  target->local_logged = false;
  if (auto changed = target->health.observe(ok)) {
    tell(self, *target, *changed);
  }
}

void resolved(health_self self, const std::string& id, const std::string& address) {
  auto* target = find(self, id);
  if (target == nullptr) {
    return;
  }
  target->resolving = false;
  target->resolved_at = self->clock().now();
  auto& be = target->backend;
  if (address == be.address) {
    return;
  }
  if (self->state.cfg.log) {
    log_line(fmt::format("[dns] backend {}  {} now resolves to {}{}", be.id, be.host, address,
                         be.address.empty() ? "" : fmt::format(" (was {})", be.address)));
  }
  bool first = be.address.empty();
  be.address = address;
  self->send(self->state.picker, caf::put_atom_v, be);
  // Without health checks nothing else would bring a backend that never resolved UP.
  if (first && self->state.cfg.interval.count() == 0 && !target->health.healthy()) {
    target->health = health_state{self->state.cfg.rise, self->state.cfg.fall, true};
    tell(self, *target, true);
  }
}

/// Asks the resolver again for every name that has not resolved, whose backend is failing,
/// or whose last answer is older than the resolve interval.
void resolve_due(health_self self) {
  auto& st = self->state;
  auto now = self->clock().now();
  for (auto& target : st.targets) {
    auto& be = target.backend;
    if (be.host.empty() || target.resolving) {
      continue;
    }
    bool stale =
        st.cfg.resolve_interval.count() > 0 && now - target.resolved_at >= st.cfg.resolve_interval;
    if (!be.address.empty() && !target.failing && !stale) {
      continue;
    }
    target.resolving = true;
    self->request(st.resolver, std::chrono::seconds{30}, resolve_atom_v, be.host)
        .then([self, id = be.id](const std::string& address) { resolved(self, id, address); },
              [self, id = be.id](const caf::error&) {
                if (auto* t = find(self, id)) {
                  t->resolving = false;
                }
              });
  }
}

/// A probe that failed for a local reason (no fds, buffers or ports here) says nothing
/// about the backend: no verdict, logged once until a probe gets through again.
void skip(health_self self, const std::string& id, const caf::error& err) {
  auto& st = self->state;
  for (auto& target : st.targets) {
    if (target.backend.id != id) {
      continue;
    }
    target.in_flight = false;
    count(target, probe_result::skipped);
    if (st.cfg.log && !target.local_logged) {
      log_line(fmt::format("[health] probe of {} skipped, not counted: {}", target.backend.label,
                           describe(err)));
    }
    target.local_logged = true;
  }
}

void probe_all(health_self self) {
  auto& st = self->state;
  auto timeout = std::min(st.cfg.timeout, st.cfg.interval);
  for (auto& target : st.targets) {
    if (target.in_flight) {
      continue;
    }
    if (target.backend.address.empty()) {
      // Nothing to probe until the name resolves.
      record(self, target.backend.id, probe_result::failed);
      continue;
    }
    target.in_flight = true;
    // The dialer enforces the timeout; the request's own deadline only guards against a
    // dialer that died.
    self->request(st.dialer, timeout + std::chrono::seconds{5}, caf::connect_atom_v,
                  target.backend.address, target.backend.port, caf::timespan{timeout})
        .then(
            [self, id = target.backend.id](dialed_socket sock) {
              record(self, id, sock.valid() ? probe_result::ok : probe_result::failed);
            },
            [self, id = target.backend.id](const caf::error& err) {
              if (err == protocols::l4_errc::local_failure) {
                skip(self, id, err);
              } else {
                record(self, id,
                       err == protocols::l4_errc::upstream_timeout ? probe_result::timed_out
                                                                   : probe_result::failed);
              }
            });
  }
}

void add_target(health_self self, const picker_backend& be) {
  auto& st = self->state;
  st.targets.push_back({be, protocols::backend_row{},
                        health_state{st.cfg.rise, st.cfg.fall, !be.address.empty()}, false, false,
                        false, self->clock().now()});
}

health_actor::behavior_type health_impl(health_self self, health_config cfg,
                                        std::vector<picker_backend> backends, picker_actor picker,
                                        dialer_actor dialer, resolver_actor resolver) {
  auto& st = self->state;
  st.cfg = cfg;
  for (auto& be : backends) {
    add_target(self, be);
  }
  st.picker = std::move(picker);
  st.dialer = std::move(dialer);
  st.resolver = std::move(resolver);
  // A zero interval turns checks off: every resolved backend stays UP, like a server
  // without `check` in HAProxy; names are still resolved on their own schedule.
  self->send(self, caf::tick_atom_v);
  return {
      [self](caf::tick_atom) {
        auto& cfg = self->state.cfg;
        if (cfg.interval.count() > 0) {
          probe_all(self);
        }
        resolve_due(self);
        auto next = cfg.interval.count() > 0 ? cfg.interval : caf::timespan{unresolved_retry};
        send_later(self, next, caf::tick_atom_v);
      },
      [self](caf::add_atom, const protocols::backend_spec& be) { add_target(self, be); },
      [self](caf::delete_atom, const std::string& id) {
        auto& targets = self->state.targets;
        targets.erase(std::remove_if(targets.begin(), targets.end(),
                                     [&](const probe_target& t) { return t.backend.id == id; }),
                      targets.end());
      },
      [self](caf::get_atom, stats_atom) {
        protocols::balancer_stats counts;
        for (auto& target : self->state.targets) {
          counts.backends.push_back(target.counts);
          counts.backends.back().id = target.backend.id;
        }
        return counts;
      },
  };
}

}  // namespace

health_actor spawn_health_monitor(caf::actor_system& sys, health_config cfg,
                                  std::vector<picker_backend> backends, picker_actor picker,
                                  dialer_actor dialer, resolver_actor resolver) {
  return sys.spawn(health_impl, cfg, std::move(backends), std::move(picker), std::move(dialer),
                   std::move(resolver));
}

}  // namespace l4sim::actors
