#include "actors/director/stats_collector.hpp"

#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/io/system.hpp"

namespace l4sim::actors {

namespace {

using protocols::run_record;

struct collector_state {
  stats_collector_config cfg;
  std::vector<std::pair<std::string, backend_actor>> backends;
  caf::actor_clock::time_point start;
};

using collector_self = stats_collector_actor::stateful_pointer<collector_state>;

/// Asks the balancer, the spawner and every backend; `done` runs once all have answered
/// (or failed to, within a deadline).
void sample(collector_self self, std::function<void(stats_frame)> done) {
  struct partial {
    stats_frame frame;
    size_t outstanding = 0;
    std::function<void(stats_frame)> done;
    void settle() {
      if (--outstanding == 0) {
        done(std::move(frame));
      }
    }
  };
  auto& st = self->state;
  auto p = std::make_shared<partial>();
  p->done = std::move(done);
  p->frame.sample.at = st.cfg.scale.scenario(
      std::chrono::duration_cast<protocols::duration>(self->clock().now() - st.start));
  p->outstanding = 2 + st.backends.size();
  // Short: a sample waits for its slowest answer, and one stalled peer must not leave the
  // record without samples for seconds (loopback answers take microseconds).
  auto deadline = std::chrono::seconds{1};
  self->request(st.cfg.on.lb, deadline, caf::get_atom_v, stats_atom_v)
      .then(
          [p](const protocols::balancer_stats& bs) {
            auto& s = p->frame.sample;
            for (auto& row : bs.backends) {
              s.total[row.id] = row.total;
              s.active[row.id] = row.active;
              s.healthy[row.id] = row.healthy;
              s.bytes[row.id] = row.bytes_in + row.bytes_out;
              s.queued[row.id] = row.queued;
              s.queue_timeouts[row.id] = row.queue_timeouts;
              s.retries[row.id] = row.retries;
              s.failures[row.id] = row.failures;
              s.ejections[row.id] = row.ejections;
              s.ejected[row.id] = row.ejected;
              s.draining[row.id] = row.draining;
              s.weight[row.id] = row.weight;
            }
            p->settle();
          },
          [p](const caf::error&) { p->settle(); });
  self->request(st.cfg.on.clients, deadline, caf::get_atom_v, stats_atom_v)
      .then(
          [p](const protocols::client_stats& cs) {
            p->frame.clients = cs;
            auto& s = p->frame.sample;
            for (auto& row : cs.rows) {
              s.clients_started += row.started;
              s.clients_active += row.active;
              for (size_t i = 0; i < protocols::client_end_count; ++i) {
                auto end = static_cast<protocols::client_end>(i);
                (protocols::is_failure(end) ? s.clients_failed : s.clients_completed) +=
                    row.ends[i];
              }
            }
            p->settle();
          },
          [p](const caf::error&) { p->settle(); });
  for (auto& [id, actor] : st.backends) {
    self->request(actor, deadline, caf::get_atom_v, stats_atom_v)
        .then(
            [p, id = id](const protocols::backend_stats& bs) {
              p->frame.sample.refused[id] = bs.refused;
              if (!bs.client_addresses.empty()) {
                p->frame.sample.client_addresses[id] = bs.client_addresses;
              }
              p->settle();
            },
            [p](const caf::error&) { p->settle(); });
  }
}

stats_collector_actor::behavior_type collector_impl(collector_self self,
                                                    stats_collector_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.backends = st.cfg.on.backends;
  st.start = self->clock().now();
  if (st.cfg.period.count() > 0) {
    send_later(self, st.cfg.period, caf::tick_atom_v);
  }
  return {
      [self](caf::tick_atom) {
        sample(self,
               [self](stats_frame f) { caf::anon_send(self->state.cfg.subscriber, std::move(f)); });
        send_later(self, self->state.cfg.period, caf::tick_atom_v);
      },
      [self](caf::put_atom, const std::string& id, backend_actor actor) {
        for (auto& b : self->state.backends) {
          if (b.first == id) {
            b.second = std::move(actor);
            return;
          }
        }
        self->state.backends.emplace_back(id, std::move(actor));
      },
      [self](caf::delete_atom, const std::string& id) {
        auto& bs = self->state.backends;
        bs.erase(std::remove_if(bs.begin(), bs.end(), [&](auto& b) { return b.first == id; }),
                 bs.end());
      },
      [self](caf::get_atom, stats_atom) -> caf::result<stats_frame> {
        auto rp = self->make_response_promise<stats_frame>();
        sample(self, [rp](stats_frame f) mutable { rp.deliver(std::move(f)); });
        return rp;
      },
  };
}

}  // namespace

stats_collector_actor spawn_stats_collector(caf::actor_system& sys, stats_collector_config cfg) {
  return sys.spawn(collector_impl, std::move(cfg));
}

}  // namespace l4sim::actors
