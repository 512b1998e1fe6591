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

struct probe_target {
  picker_backend backend;
  health_state health;
  bool in_flight = false;
  bool local_logged = false;  // a probe failed for a local reason since the last verdict
};

struct health_monitor_state {
  health_config cfg;
  std::vector<probe_target> targets;
  picker_actor picker;
  dialer_actor dialer;
};

using health_self = health_actor::stateful_pointer<health_monitor_state>;

void record(health_self self, const std::string& id, bool ok) {
  auto& st = self->state;
  auto i = std::find_if(st.targets.begin(), st.targets.end(),
                        [&](const probe_target& t) { return t.backend.id == id; });
  if (i == st.targets.end()) {
    return;  // removed while its probe was in flight
  }
  auto& target = *i;
  target.in_flight = false;
  target.local_logged = false;
  auto changed = target.health.observe(ok);
  if (!changed) {
    return;
  }
  if (st.cfg.log) {
    log_line(
        fmt::format("[health] backend {}  {}", target.backend.label, *changed ? "UP" : "DOWN"));
  }
  self->send(st.picker, protocols::backend_health_changed{target.backend.id, *changed});
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
    target.in_flight = true;
    // The dialer enforces the timeout; the request's own deadline only guards against a
    // dialer that died.
    self->request(st.dialer, timeout + std::chrono::seconds{5}, caf::connect_atom_v,
                  target.backend.address, target.backend.port, caf::timespan{timeout})
        .then(
            [self, id = target.backend.id](dialed_socket sock) { record(self, id, sock.valid()); },
            [self, id = target.backend.id](const caf::error& err) {
              if (err == protocols::l4_errc::local_failure) {
                skip(self, id, err);
              } else {
                record(self, id, false);
              }
            });
  }
}

health_actor::behavior_type health_impl(health_self self, health_config cfg,
                                        std::vector<picker_backend> backends, picker_actor picker,
                                        dialer_actor dialer) {
  auto& st = self->state;
  for (auto& be : backends) {
    st.targets.push_back({be, health_state{cfg.rise, cfg.fall}, false});
  }
  st.cfg = cfg;
  st.picker = std::move(picker);
  st.dialer = std::move(dialer);
  // A zero interval turns checks off: every backend stays UP, like a server without
  // `check` in HAProxy.
  if (cfg.interval.count() > 0) {
    self->send(self, caf::tick_atom_v);
  }
  return {
      [self](probe_atom) { probe_all(self); },
      [self](caf::tick_atom) {
        probe_all(self);
        self->delayed_send(self, self->state.cfg.interval, caf::tick_atom_v);
      },
      [self](caf::add_atom, const protocols::backend_spec& be) {
        auto& st = self->state;
        st.targets.push_back({be, health_state{st.cfg.rise, st.cfg.fall}, false});
      },
      [self](caf::delete_atom, const std::string& id) {
        auto& targets = self->state.targets;
        targets.erase(std::remove_if(targets.begin(), targets.end(),
                                     [&](const probe_target& t) { return t.backend.id == id; }),
                      targets.end());
      },
  };
}

}  // namespace

health_actor spawn_health_monitor(caf::actor_system& sys, health_config cfg,
                                  std::vector<picker_backend> backends, picker_actor picker,
                                  dialer_actor dialer) {
  return sys.spawn(health_impl, cfg, std::move(backends), std::move(picker), std::move(dialer));
}

}  // namespace l4sim::actors
