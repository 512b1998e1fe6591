#include "actors/director/director.hpp"

#include <map>

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/backend/backend_server.hpp"
#include "actors/balancer/balancer.hpp"
#include "actors/clients/spawner.hpp"
#include "actors/director/outcomes.hpp"
#include "actors/director/stats_collector.hpp"
#include "actors/io/system.hpp"
#include "protocols/errors.hpp"
#include "protocols/scenario/expectations.hpp"

namespace l4sim::actors {

namespace {

using protocols::event_kind;
using protocols::run_record;

/// A backend of the stage.
struct live_backend {
  std::string id;
  backend_actor actor;
};

struct director_state {
  director_config cfg;
  std::vector<live_backend> backends;
  balancer_control_actor lb;
  spawner_actor spawner;
  caf::actor_clock::time_point start;
  const caf::actor_clock* clock = nullptr;  // the system's: virtual under test_coordinator
  run_record record;
  std::vector<director_note> notes;
  protocols::client_stats clients;
  bool ending = false;
  std::shared_ptr<std::vector<caf::actor>> owned = std::make_shared<std::vector<caf::actor>>();
  caf::actor worker;  // runs the stage's process hook, if any
  stats_collector_actor collector;

  live_backend* find(const std::string& id) {
    for (auto& b : backends) {
      if (b.id == id) {
        return &b;
      }
    }
    return nullptr;
  }

  protocols::duration now() const {
    return cfg.plan.scale.scenario(
        std::chrono::duration_cast<protocols::duration>(clock->now() - start));
  }
};

using director_actor = caf::stateful_actor<director_state>;

void note(director_actor* self, std::string text) {
  auto& st = self->state;
  director_note n{st.now(), std::move(text)};
  st.notes.push_back(n);
  self->send(st.cfg.observer, std::move(n));
}

/// The thread that kills and restarts backends through the stage's hook: starting a
/// process and connecting to it blocks, and a process must be forked from a thread that
/// lives for the whole run (PR_SET_PDEATHSIG follows the forking thread).
caf::behavior process_worker(caf::event_based_actor*, stage on,
                             std::map<std::string, planned_backend> added) {
  return {
      [on](caf::get_atom, const std::string& id, bool restart) -> caf::result<backend_actor> {
        auto result = on.process_hook(id, restart);
        if (!result) {
          return result.error();
        }
        return *result;
      },
      [on, added](caf::add_atom, const std::string& id) -> caf::result<backend_actor, uint16_t> {
        auto planned = added.find(id);
        if (!on.add_hook || planned == added.end()) {
          return caf::make_error(protocols::l4_errc::bad_config, "no way to start " + id);
        }
        auto result = on.add_hook(planned->second);
        if (!result) {
          return result.error();
        }
        return {result->first, result->second};
      },
  };
}

void run_process_hook(director_actor* self, const std::string& id, bool restart) {
  self->request(self->state.worker, std::chrono::seconds{30}, caf::get_atom_v, id, restart)
      .then(
          [self, id](backend_actor fresh) {
            if (auto* b = self->state.find(id); b != nullptr && fresh) {
              b->actor = fresh;
              self->send(self->state.collector, caf::put_atom_v, id, std::move(fresh));
            }
          },
          [self, id, restart](const caf::error& err) {
            note(self,
                 fmt::format("{} {} failed: {}", restart ? "restart" : "kill", id, describe(err)));
          });
}

/// A backend added by the timeline listens on `port`: sample it and give it to the balancer.
void join_backend(director_actor* self, const planned_backend& planned, backend_actor b,
                  uint16_t port, const std::string& text) {
  auto& st = self->state;
  st.backends.push_back({planned.id, b});
  self->send(st.collector, caf::put_atom_v, planned.id, std::move(b));
  self->request(st.lb, std::chrono::seconds{5}, caf::add_atom_v,
                st.cfg.plan.balancer_entry(planned, port))
      .then([](const std::string&) {},
            [self, text](const caf::error& err) {
              note(self, fmt::format("{} failed: {}", text, describe(err)));
            });
}

void fire(director_actor* self, const protocols::timeline_event& ev) {
  auto& st = self->state;
  auto& plan = st.cfg.plan;
  auto text = describe_event(ev);
  note(self, text);
  if (ev.kind == event_kind::add_backend) {
    auto planned = plan.plan_backend(ev.new_backend);
    if (st.cfg.on.add_hook) {
      // A service process: starting it blocks, so the worker thread does it.
      self->request(st.worker, std::chrono::seconds{30}, caf::add_atom_v, planned.id)
          .then(
              [self, planned, text](backend_actor b, uint16_t port) {
                join_backend(self, planned, std::move(b), port, text);
              },
              [self, text](const caf::error& err) {
                note(self, fmt::format("{} failed: {}", text, describe(err)));
              });
      return;
    }
    auto b = st.cfg.on.spawn_here ? st.cfg.on.spawn_here(planned)
                                  : spawn_backend(self->system(), planned.cfg);
    if (!b) {
      note(self, fmt::format("add_backend {} failed: {}", planned.id, describe(b.error())));
      return;
    }
    st.owned->push_back(caf::actor_cast<caf::actor>(b->actor));
    join_backend(self, planned, b->actor, b->port, text);
    return;
  }
  if (ev.kind == event_kind::set_algorithm) {
    self->request(st.lb, std::chrono::seconds{5}, caf::put_atom_v, algo_atom_v, ev.text_value)
        .then([](const std::string&) {},
              [self](const caf::error& err) { note(self, "set_algorithm: " + describe(err)); });
    return;
  }
  if (ev.kind == event_kind::set_rate) {
    self->send(st.spawner, caf::put_atom_v, rate_atom_v, plan.scale.real_rate(ev.rate_value));
    return;
  }
  if (ev.kind == event_kind::set_mix) {
    self->send(st.spawner, caf::put_atom_v, mix_atom_v, client_mix_for(ev.mix_value));
    return;
  }
  if (ev.kind == event_kind::set_weight || ev.kind == event_kind::drain ||
      ev.kind == event_kind::ready) {
    auto on_error = [self, text](const caf::error& err) {
      note(self, fmt::format("{} failed: {}", text, describe(err)));
    };
    auto id = ev.backend;
    auto deadline = std::chrono::seconds{5};
    if (ev.kind == event_kind::set_weight) {
      self->request(st.lb, deadline, weight_atom_v, id, static_cast<uint32_t>(ev.number_value))
          .then([](const std::string&) {}, on_error);
    } else if (ev.kind == event_kind::drain) {
      self->request(st.lb, deadline, drain_atom_v, id).then([](const std::string&) {}, on_error);
    } else {
      self->request(st.lb, deadline, ready_atom_v, id).then([](const std::string&) {}, on_error);
    }
    return;
  }
  if (ev.kind == event_kind::partition || ev.kind == event_kind::heal ||
      ev.kind == event_kind::hold || ev.kind == event_kind::release) {
    auto err = st.cfg.on.network_event ? st.cfg.on.network_event(ev)
                                       : std::string{"this stage has no network model"};
    if (!err.empty()) {
      note(self, fmt::format("{} failed: {}", text, err));
    }
    return;
  }
  auto* b = st.find(ev.backend);
  if (b == nullptr) {
    note(self, fmt::format("no backend {} (already removed?)", ev.backend));
    return;
  }
  if (st.cfg.on.process_hook && (ev.kind == event_kind::kill || ev.kind == event_kind::restart)) {
    if (ev.kind == event_kind::kill) {
      // The process is gone: a sample must not wait on its dead control actor.
      self->send(st.collector, caf::delete_atom_v, b->id);
    }
    run_process_hook(self, b->id, ev.kind == event_kind::restart);
    return;
  }
  auto& actor = b->actor;
  switch (ev.kind) {
    case event_kind::kill:
      self->send(actor, kill_atom_v);
      break;
    case event_kind::restart:
      self->request(actor, std::chrono::seconds{5}, restart_atom_v)
          .then([](uint16_t) {},
                [self](const caf::error& err) { note(self, "restart: " + describe(err)); });
      break;
    case event_kind::set_delay:
      self->send(actor, caf::put_atom_v, delay_atom_v,
                 protocols::duration_value{plan.scale.real(ev.duration_value)});
      break;
    case event_kind::set_hang:
      self->send(actor, caf::put_atom_v, hang_atom_v,
                 protocols::duration_value{plan.scale.real(ev.duration_value)});
      break;
    case event_kind::set_max_conns:
      self->send(actor, caf::put_atom_v, max_conns_atom_v, static_cast<uint32_t>(ev.number_value));
      break;
    case event_kind::set_chaos:
      self->send(actor, caf::put_atom_v, chaos_atom_v, static_cast<uint32_t>(ev.number_value));
      break;
    case event_kind::remove_backend:
      // The balancer drains it: open connections finish (or close at its drain timeout).
      // The server itself keeps running until the end of the run, as a server taken out of
      // rotation would.
      self->request(st.lb, std::chrono::seconds{5}, caf::delete_atom_v, b->id)
          .then([](const std::string&) {},
                [self, text](const caf::error& err) {
                  note(self, fmt::format("{} failed: {}", text, describe(err)));
                });
      st.backends.erase(st.backends.begin() + (b - st.backends.data()));
      break;
    default:
      break;
  }
}

void stop_everything(director_actor* self) {
  for (auto& x : *self->state.owned) {
    self->send_exit(x, caf::exit_reason::user_shutdown);
  }
}

void finish(director_actor* self) {
  auto& st = self->state;
  st.ending = true;
  note(self, "end of run: stopping the clients");
  auto grace = std::chrono::seconds{30};
  self->request(st.spawner, grace, finish_atom_v)
      .then(
          [self](const protocols::client_stats& cs) {
            self->state.clients = cs;
            self->request(self->state.collector, std::chrono::seconds{30}, caf::get_atom_v,
                          stats_atom_v)
                .then(
                    [self](stats_frame f) {
                      auto& st = self->state;
                      st.record.samples.push_back(std::move(f.sample));
                      st.record.ended = st.cfg.plan.scn.length;
                      st.record.clients = client_outcomes(st.clients, st.cfg.plan.scale);
                      director_done done;
                      done.record = st.record;
                      done.verdicts = protocols::check_all(st.cfg.plan.scn, st.record);
                      done.notes = st.notes;
                      done.clients = st.clients;
                      self->send(st.cfg.observer, std::move(done));
                      stop_everything(self);
                      self->quit();
                    },
                    [self](const caf::error& err) {
                      director_done done;
                      done.error = "the last sample failed: " + describe(err);
                      self->send(self->state.cfg.observer, std::move(done));
                      stop_everything(self);
                      self->quit();
                    });
          },
          [self](const caf::error& err) {
            director_done done;
            done.error = "the clients did not stop: " + describe(err);
            self->send(self->state.cfg.observer, std::move(done));
            stop_everything(self);
            self->quit();
          });
}

caf::behavior director_impl(director_actor* self, director_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  for (auto& [id, actor] : st.cfg.on.backends) {
    st.backends.push_back({id, actor});
  }
  st.lb = st.cfg.on.lb;
  st.spawner = st.cfg.on.clients;
  *st.owned = st.cfg.on.owned;
  if (st.cfg.on.process_hook) {
    std::map<std::string, planned_backend> added;
    for (auto& ev : st.cfg.plan.scn.timeline) {
      if (ev.kind == event_kind::add_backend) {
        added[ev.new_backend.id] = st.cfg.plan.plan_backend(ev.new_backend);
      }
    }
    st.worker = self->spawn<caf::detached>(process_worker, st.cfg.on, std::move(added));
    st.owned->push_back(st.worker);
  }
  st.clock = &self->clock();
  st.start = st.clock->now();
  self->send(st.lb, caf::join_atom_v, caf::actor_cast<caf::actor>(self));
  note(self, st.cfg.on.summary);
  auto& plan = st.cfg.plan;
  for (size_t i = 0; i < plan.scn.timeline.size(); ++i) {
    send_later(self, plan.scale.real(plan.scn.timeline[i].at), caf::update_atom_v,
               static_cast<uint64_t>(i));
  }
  send_later(self, plan.scale.real(plan.scn.length), caf::close_atom_v);
  st.collector = spawn_stats_collector(
      self->system(), {st.cfg.on, st.cfg.sample_period, plan.scale, caf::actor{self}});
  st.owned->push_back(caf::actor_cast<caf::actor>(st.collector));
  // Whatever ends the director also ends what it built, or the actor system would wait on
  // it forever.
  self->attach_functor([owned = st.owned] {
    for (auto& x : *owned) {
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    }
  });
  return {
      [self](stats_frame& f) {
        auto& st = self->state;
        if (st.ending) {
          return;
        }
        st.record.samples.push_back(f.sample);
        st.clients = f.clients;
        self->send(st.cfg.observer, std::move(f));
      },
      [self](caf::update_atom, uint64_t index) {
        auto& st = self->state;
        if (!st.ending && index < st.cfg.plan.scn.timeline.size()) {
          fire(self, st.cfg.plan.scn.timeline[index]);
        }
      },
      [self](const protocols::backend_health_changed& msg) {
        auto& st = self->state;
        st.record.health.push_back({st.now(), msg.backend_id, msg.healthy});
        note(self,
             fmt::format("[health] backend {}  {}", msg.backend_id, msg.healthy ? "UP" : "DOWN"));
      },
      [self](caf::close_atom) {
        if (!self->state.ending) {
          finish(self);
        }
      },
  };
}

}  // namespace

caf::actor spawn_director(caf::actor_system& sys, director_config cfg) {
  return sys.spawn(director_impl, std::move(cfg));
}

}  // namespace l4sim::actors
