#include "actors/balancer/picker.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/balancer/balancing.hpp"
#include "actors/io/system.hpp"
#include "protocols/backend_list.hpp"
#include "protocols/errors.hpp"
#include "protocols/units.hpp"

namespace l4sim::actors {

namespace {

using protocols::l4_errc;

/// A client waiting for a slot at a full backend.
struct waiter {
  uint64_t ticket = 0;
  std::vector<std::string> exclude;
  caf::typed_response_promise<protocols::backend_pick> rp;
  std::string key;  // the client's key for the hashing policies (client_key)
};

/// What the picker keeps about a backend beside its stats row.
struct backend_extra {
  std::deque<waiter> queue;  // FIFO
  bool removing = false;     // `delete`: dropped once drained
  uint64_t generation = 0;   // bumped by ejections and removals: stale timers are ignored
  std::optional<caf::actor_clock::time_point> up_since;  // slow start running since
};

struct picker_state {
  picker_config cfg;
  std::unique_ptr<balancing_policy> policy;
  protocols::balancer_stats stats;
  std::vector<candidate> scratch;
  std::vector<caf::actor> subscribers;  // told of every health transition
  std::map<std::string, backend_extra> extra;
  outlier_detector outliers;
  std::vector<session_closer_actor> closers;  // the listener of each I/O loop
  uint64_t next_ticket = 0;
  std::mt19937_64 rng;                // slow start's draws, seeded
  caf::actor_clock* clock = nullptr;  // the system's: slow start's ramps

  protocols::backend_row* find(const std::string& id) {
    for (auto& row : stats.backends) {
      if (row.id == id) {
        return &row;
      }
    }
    return nullptr;
  }

  size_t index_of(const std::string& id) const {
    for (size_t i = 0; i < stats.backends.size(); ++i) {
      if (stats.backends[i].id == id) {
        return i;
      }
    }
    return stats.backends.size();
  }

  static bool usable(const protocols::backend_row& row) {
    return row.healthy && !row.draining && !row.ejected;
  }

  static bool full(const protocols::backend_row& row) {
    return row.max_conns != 0 && row.active + row.pending >= row.max_conns;
  }
};

}  // namespace

/// The registry, shared by the picker actor and its fast path; every access holds `mtx`.
struct picker_fast_path::core {
  std::mutex mtx;
  picker_state st;
};

namespace {

struct picker_holder {
  std::shared_ptr<picker_fast_path::core> core;
};

using picker_self = picker_actor::stateful_pointer<picker_holder>;

picker_state& st_of(picker_self self) {
  return self->state.core->st;
}

/// Held by every handler of the picker: the fast path may run on an I/O loop meanwhile.
std::unique_lock<std::mutex> lock(picker_self self) {
  return std::unique_lock<std::mutex>{self->state.core->mtx};
}

/// Whether a backend under slow start takes part in this pick: with the probability its
/// ramp has reached (always, once its window has passed or without slow start).
bool ramped_in(picker_state& st, const protocols::backend_row& row) {
  if (st.cfg.slow_start.count() == 0) {
    return true;
  }
  auto& x = st.extra[row.id];
  if (!x.up_since) {
    return true;
  }
  auto since = st.clock->now() - *x.up_since;
  if (since >= st.cfg.slow_start) {
    x.up_since.reset();
    return true;
  }
  std::uniform_real_distribution<double> u{0, 1};
  return u(st.rng) < slow_start_share(since, st.cfg.slow_start);
}

/// Lets the policy choose among the usable, not excluded backends; `queueing` also
/// offers full ones (and counts their queues as load).
std::optional<size_t> choose(picker_state& st, const std::vector<std::string>& exclude,
                             bool queueing, const std::string& key) {
  st.scratch.clear();
  for (auto& row : st.stats.backends) {
    bool excluded = std::find(exclude.begin(), exclude.end(), row.id) != exclude.end();
    bool eligible = picker_state::usable(row) && !excluded &&
                    (queueing || !picker_state::full(row)) && ramped_in(st, row);
    st.scratch.push_back(
        {eligible, row.active + row.pending + (queueing ? row.queued : 0), row.weight, row.id});
  }
  return st.policy->pick(st.scratch, key);
}

protocols::backend_pick take(picker_state& st, size_t i) {
  ++st.stats.backends[i].pending;
  auto& be = st.cfg.backends[i];
  return protocols::backend_pick{be.id, be.address, be.port};
}

/// Picks for a client: a backend with a free slot, or a place in a full one's queue.
void dispatch(picker_self self, waiter w, const caf::actor& requester) {
  auto& st = st_of(self);
  if (auto chosen = choose(st, w.exclude, false, w.key)) {
    w.rp.deliver(take(st_of(self), *chosen));
    return;
  }
  std::optional<size_t> full;
  if (st.cfg.queue_timeout.count() > 0) {
    full = choose(st, w.exclude, true, w.key);
  }
  if (!full) {
    w.rp.deliver(caf::make_error(l4_errc::no_healthy_backend));
    return;
  }
  auto& row = st.stats.backends[*full];
  ++row.queued;
  if (w.ticket == 0) {
    w.ticket = ++st.next_ticket;
    send_later(self, st.cfg.queue_timeout, caf::timeout_atom_v, w.ticket);
    if (requester) {
      caf::anon_send(requester, queued_atom_v);
    }
  }
  st.extra[row.id].queue.push_back(std::move(w));
}

/// Hands slots that opened at backend `i` to its queue, in order; a queue whose backend can
/// no longer take anyone (down, draining, ejected) is dispatched again elsewhere.
void serve_queue(picker_self self, const std::string& id) {
  auto& st = st_of(self);
  auto i = st.index_of(id);
  if (i == st.stats.backends.size()) {
    return;
  }
  auto& q = st.extra[id].queue;
  if (!picker_state::usable(st.stats.backends[i])) {
    auto moved = std::move(q);
    q.clear();
    st.stats.backends[i].queued = 0;
    for (auto& w : moved) {
      dispatch(self, std::move(w), caf::actor{});
    }
    return;
  }
  while (!q.empty() && !picker_state::full(st.stats.backends[i])) {
    auto w = std::move(q.front());
    q.pop_front();
    --st.stats.backends[i].queued;
    w.rp.deliver(take(st_of(self), i));
  }
}

/// A backend became usable again (UP, ready, back from ejection, added): clients queued at
/// full backends move to its free slots, oldest first.
void offer_slots(picker_self self, const std::string& id) {
  auto& st = st_of(self);
  auto i = st.index_of(id);
  if (i == st.stats.backends.size()) {
    return;
  }
  while (picker_state::usable(st.stats.backends[i]) && !picker_state::full(st.stats.backends[i])) {
    std::deque<waiter>* from = nullptr;
    protocols::backend_row* from_row = nullptr;
    for (auto& row : st.stats.backends) {
      auto& q = st.extra[row.id].queue;
      auto allowed = !q.empty() && std::find(q.front().exclude.begin(), q.front().exclude.end(),
                                             id) == q.front().exclude.end();
      if (allowed && (from == nullptr || q.front().ticket < from->front().ticket)) {
        from = &q;
        from_row = &row;
      }
    }
    if (from == nullptr) {
      return;
    }
    auto w = std::move(from->front());
    from->pop_front();
    --from_row->queued;
    w.rp.deliver(take(st_of(self), i));
  }
}

void log_event(picker_self self, const std::string& text) {
  if (st_of(self).cfg.log) {
    log_line("[picker] " + text);
  }
}

void drop_backend(picker_self self, const std::string& id) {
  auto& st = st_of(self);
  auto i = st.index_of(id);
  if (i == st.stats.backends.size()) {
    return;
  }
  st.cfg.backends.erase(st.cfg.backends.begin() + static_cast<std::ptrdiff_t>(i));
  st.stats.backends.erase(st.stats.backends.begin() + static_cast<std::ptrdiff_t>(i));
  auto queue = std::move(st.extra[id].queue);
  st.extra.erase(id);
  st.outliers.remove(id);
  log_event(self, fmt::format("backend {} removed", id));
  for (auto& w : queue) {
    dispatch(self, std::move(w), caf::actor{});
  }
}

/// A connection of `id` ended or was released: its slot goes to the queue, and a removed
/// backend whose last connection ended goes.
void slot_freed(picker_self self, const std::string& id) {
  auto* row = st_of(self).find(id);
  if (row == nullptr) {
    return;
  }
  auto& x = st_of(self).extra[id];
  if (x.removing && row->active + row->pending == 0) {
    drop_backend(self, id);
    return;
  }
  serve_queue(self, id);
}

/// Counts a failure of `id` for outlier detection (a failed connect, or a connection the
/// backend reset) and ejects it when that makes enough in a row.
void outlier_failure(picker_self self, const std::string& id) {
  auto& st = st_of(self);
  auto* row = st.find(id);
  if (row == nullptr) {
    return;
  }
  auto ejection = st.outliers.failed(id, st.stats.backends.size());
  if (!ejection) {
    return;
  }
  row->ejected = true;
  row->ejections = st.outliers.ejections(id);
  auto& x = st.extra[id];
  ++x.generation;
  log_event(self, fmt::format("backend {} ejected for {} (ejection {})", id,
                              protocols::format_duration(*ejection), row->ejections));
  send_later(self, *ejection, eject_atom_v, id, x.generation);
  serve_queue(self, id);
}

protocols::backend_row make_row(const protocols::backend_spec& be) {
  protocols::backend_row row;
  row.id = be.id;
  row.address = be.label;
  row.weight = be.weight;
  row.max_conns = be.max_conns;
  row.healthy = !be.address.empty();  // an unresolved name is DOWN until it resolves
  return row;
}

caf::error unknown_backend(picker_self self, const std::string& id) {
  std::string known;
  for (auto& row : st_of(self).stats.backends) {
    known += (known.empty() ? "" : ", ") + row.id;
  }
  return caf::make_error(l4_errc::bad_config,
                         fmt::format("unknown backend \"{}\" (known: {})", id, known));
}

/// Fills the registry before the picker and its fast path start: the actor initializes
/// asynchronously, and a session may pick through the fast path before it did.
void init_registry(picker_state& st, picker_config cfg, caf::actor_clock& clock) {
  st.clock = &clock;
  st.policy = make_policy(cfg.algorithm, cfg.seed, cfg.hash_balance);
  st.stats.algorithm = st.policy->name();
  st.outliers = outlier_detector{cfg.outlier};
  st.rng.seed(cfg.seed);
  for (auto& be : cfg.backends) {
    st.stats.backends.push_back(make_row(be));
  }
  st.cfg = std::move(cfg);
}

picker_actor::behavior_type picker_impl(picker_self self,
                                        std::shared_ptr<picker_fast_path::core> core) {
  self->state.core = std::move(core);
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto guard = lock(self);
    auto& subs = st_of(self).subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const caf::actor& x) { return x.address() == msg.source; }),
               subs.end());
  });
  return {
      [self](pick_atom,
             const std::vector<std::string>& exclude) -> caf::result<protocols::backend_pick> {
        auto guard = lock(self);
        auto rp = self->make_response_promise<protocols::backend_pick>();
        dispatch(self, waiter{0, exclude, rp, {}},
                 caf::actor_cast<caf::actor>(self->current_sender()));
        return rp;
      },
      [self](pick_atom, const std::vector<std::string>& exclude,
             const std::string& key) -> caf::result<protocols::backend_pick> {
        auto guard = lock(self);
        auto rp = self->make_response_promise<protocols::backend_pick>();
        dispatch(self, waiter{0, exclude, rp, key},
                 caf::actor_cast<caf::actor>(self->current_sender()));
        return rp;
      },
      [self](opened_atom, const std::string& id) {
        auto guard = lock(self);
        if (auto* row = st_of(self).find(id)) {
          --row->pending;
          ++row->active;
          ++row->total;
        }
      },
      [self](failed_atom, const std::string& id) {
        auto guard = lock(self);
        if (auto* row = st_of(self).find(id)) {
          --row->pending;
          ++row->failures;
          outlier_failure(self, id);
          slot_freed(self, id);
        }
      },
      [self](retry_atom, const std::string& id) {
        auto guard = lock(self);
        if (auto* row = st_of(self).find(id)) {
          ++row->retries;
        }
      },
      [self](caf::close_atom, const std::string& id) {
        auto guard = lock(self);
        if (auto* row = st_of(self).find(id)) {
          --row->pending;
          slot_freed(self, id);
        }
      },
      [self](const protocols::session_finished& msg) {
        auto guard = lock(self);
        if (msg.backend_id.empty()) {
          ++st_of(self).stats.no_backend;
          return;
        }
        if (auto* row = st_of(self).find(msg.backend_id)) {
          --row->active;
          row->bytes_in += msg.bytes_in;
          row->bytes_out += msg.bytes_out;
          // A connection counts as a success when it ends without a reset from the backend
          // (not when it opens: a backend that accepts and resets every connection must
          // reach the consecutive count, as Envoy's consecutive gateway failures do).
          if (msg.backend_reset) {
            outlier_failure(self, msg.backend_id);
          } else {
            st_of(self).outliers.succeeded(msg.backend_id);
          }
          slot_freed(self, msg.backend_id);
        }
      },
      [self](const protocols::backend_health_changed& msg) {
        auto guard = lock(self);
        auto& st = st_of(self);
        if (auto* row = st.find(msg.backend_id)) {
          if (msg.healthy && !row->healthy && st.cfg.slow_start.count() > 0) {
            st.extra[row->id].up_since = self->clock().now();
          }
          row->healthy = msg.healthy;
          serve_queue(self, msg.backend_id);
          offer_slots(self, msg.backend_id);
        }
        for (auto& sub : st.subscribers) {
          caf::anon_send(sub, msg);
        }
      },
      [self](caf::join_atom, caf::actor subscriber) {
        auto guard = lock(self);
        self->monitor(subscriber);
        st_of(self).subscribers.push_back(std::move(subscriber));
      },
      [self](caf::join_atom, session_closer_actor closer) {
        auto guard = lock(self);
        st_of(self).closers.push_back(std::move(closer));
      },
      [self](accepted_atom) {
        auto guard = lock(self);
        ++st_of(self).stats.accepted;
      },
      [self](accepted_atom, uint64_t n) {
        auto guard = lock(self);
        st_of(self).stats.accepted += n;
      },
      [self](caf::add_atom, const protocols::backend_spec& be) -> caf::result<std::string> {
        auto guard = lock(self);
        auto& st = st_of(self);
        if (st.find(be.id) != nullptr) {
          return caf::make_error(l4_errc::bad_config,
                                 fmt::format("backend \"{}\" already exists", be.id));
        }
        st.cfg.backends.push_back(be);
        st.stats.backends.push_back(make_row(be));
        if (st.cfg.slow_start.count() > 0) {
          st.extra[be.id].up_since = self->clock().now();
        }
        auto text = fmt::format("backend {} added ({} weight={}{})", be.id, be.label, be.weight,
                                be.max_conns == 0 ? "" : fmt::format(" maxconn={}", be.max_conns));
        log_event(self, text);
        offer_slots(self, be.id);
        return text;
      },
      [self](caf::put_atom, const protocols::backend_spec& be) {
        auto guard = lock(self);
        // A name re-resolved to another address: new picks go there, open sessions stay.
        for (auto& known : st_of(self).cfg.backends) {
          if (known.id == be.id) {
            known.address = be.address;
          }
        }
      },
      [self](caf::delete_atom, const std::string& id) -> caf::result<std::string> {
        auto guard = lock(self);
        // Open sessions keep their backend until they end or the drain timeout.
        auto& st = st_of(self);
        auto* row = st.find(id);
        if (row == nullptr) {
          return unknown_backend(self, id);
        }
        auto& x = st.extra[id];
        row->draining = true;
        x.removing = true;
        ++x.generation;
        auto open = row->active + row->pending;
        if (open == 0) {
          drop_backend(self, id);
          return fmt::format("backend {} removed", id);
        }
        send_later(self, st.cfg.drain_timeout, drain_atom_v, id, x.generation);
        serve_queue(self, id);
        auto text =
            fmt::format("backend {} draining: removed when its {} connection(s) end or in {}", id,
                        open, protocols::format_duration(st.cfg.drain_timeout));
        log_event(self, text);
        return text;
      },
      [self](drain_atom, const std::string& id, uint64_t generation) {
        auto guard = lock(self);
        auto& st = st_of(self);
        auto* row = st.find(id);
        if (row == nullptr || !st.extra[id].removing || st.extra[id].generation != generation) {
          return;
        }
        log_event(self, fmt::format("backend {} drain timeout: closing its {} connection(s)", id,
                                    row->active + row->pending));
        for (auto& closer : st.closers) {
          self->send(closer, caf::delete_atom_v, id);
        }
        drop_backend(self, id);
      },
      [self](drain_atom, const std::string& id) -> caf::result<std::string> {
        auto guard = lock(self);
        auto* row = st_of(self).find(id);
        if (row == nullptr) {
          return unknown_backend(self, id);
        }
        row->draining = true;
        serve_queue(self, id);
        auto text = fmt::format("backend {} draining: no new connections, {} open", id,
                                row->active + row->pending);
        log_event(self, text);
        return text;
      },
      [self](ready_atom, const std::string& id) -> caf::result<std::string> {
        auto guard = lock(self);
        auto& st = st_of(self);
        auto* row = st.find(id);
        if (row == nullptr) {
          return unknown_backend(self, id);
        }
        if (st.extra[id].removing) {
          return caf::make_error(l4_errc::bad_config,
                                 fmt::format("backend \"{}\" is being removed", id));
        }
        row->draining = false;
        auto text = fmt::format("backend {} ready", id);
        log_event(self, text);
        offer_slots(self, id);
        return text;
      },
      [self](weight_atom, const std::string& id, uint32_t weight) -> caf::result<std::string> {
        auto guard = lock(self);
        auto& st = st_of(self);
        auto* row = st.find(id);
        if (row == nullptr) {
          return unknown_backend(self, id);
        }
        if (weight == 0 || weight > protocols::max_backend_weight) {
          return caf::make_error(l4_errc::bad_config,
                                 fmt::format("backend \"{}\": weight {} is not in 1..{}", id,
                                             weight, protocols::max_backend_weight));
        }
        auto text = fmt::format("backend {} weight {} -> {}", id, row->weight, weight);
        row->weight = weight;
        st.cfg.backends[st.index_of(id)].weight = weight;
        log_event(self, text);
        return text;
      },
      [self](caf::timeout_atom, uint64_t ticket) {
        auto guard = lock(self);
        auto& st = st_of(self);
        for (auto& row : st.stats.backends) {
          auto& q = st.extra[row.id].queue;
          auto i =
              std::find_if(q.begin(), q.end(), [&](const waiter& w) { return w.ticket == ticket; });
          if (i == q.end()) {
            continue;
          }
          i->rp.deliver(caf::make_error(l4_errc::queue_timeout));
          q.erase(i);
          --row.queued;
          ++row.queue_timeouts;
          return;
        }
      },
      [self](eject_atom, const std::string& id, uint64_t generation) {
        auto guard = lock(self);
        auto& st = st_of(self);
        auto* row = st.find(id);
        if (row == nullptr || st.extra[id].generation != generation || !st.outliers.restore(id)) {
          return;
        }
        row->ejected = false;
        if (st.cfg.slow_start.count() > 0) {
          st.extra[id].up_since = self->clock().now();
        }
        log_event(self, fmt::format("backend {} back from ejection", id));
        offer_slots(self, id);
      },
      [self](caf::put_atom, algo_atom, const std::string& name) -> caf::result<std::string> {
        auto guard = lock(self);
        auto& st = st_of(self);
        auto next = make_policy(name, st.cfg.seed, st.cfg.hash_balance);
        if (!next) {
          return caf::make_error(l4_errc::bad_config, fmt::format("unknown algorithm \"{}\" ({})",
                                                                  name, policy_names()));
        }
        if (st.cfg.log) {
          log_line(fmt::format("[picker] algorithm {} -> {}", st.policy->name(), next->name()));
        }
        st.policy = std::move(next);
        st.stats.algorithm = st.policy->name();
        return st.stats.algorithm;
      },
      [self](caf::get_atom, stats_atom) {
        auto guard = lock(self);
        return st_of(self).stats;
      },
  };
}

}  // namespace

caf::expected<std::pair<picker_actor, std::shared_ptr<picker_fast_path>>>
spawn_picker_with_fast_path(caf::actor_system& sys, picker_config cfg) {
  if (cfg.backends.empty()) {
    return caf::make_error(l4_errc::bad_config, "no backends");
  }
  if (!make_policy(cfg.algorithm, cfg.seed, cfg.hash_balance)) {
    return caf::make_error(l4_errc::bad_config, fmt::format("unknown algorithm \"{}\" ({})",
                                                            cfg.algorithm, policy_names()));
  }
  auto core = std::make_shared<picker_fast_path::core>();
  init_registry(core->st, std::move(cfg), sys.clock());
  auto picker = sys.spawn(picker_impl, core);
  return std::make_pair(picker, std::make_shared<picker_fast_path>(std::move(core)));
}

caf::expected<picker_actor> spawn_picker(caf::actor_system& sys, picker_config cfg) {
  auto spawned = spawn_picker_with_fast_path(sys, std::move(cfg));
  if (!spawned) {
    return spawned.error();
  }
  return spawned->first;
}

// The fast path never waits for the lock (try_to_lock): an I/O loop must not block behind
// the picker, whose handlers answer promises, i.e. write into the loops' pipes.

std::optional<protocols::backend_pick> picker_fast_path::pick(
    const std::vector<std::string>& exclude, const std::string& key) {
  std::unique_lock<std::mutex> guard{core_->mtx, std::try_to_lock};
  if (!guard) {
    return std::nullopt;
  }
  auto& st = core_->st;
  for (auto& row : st.stats.backends) {
    if (row.queued > 0) {
      return std::nullopt;  // clients wait: the picker serves them first, in order
    }
  }
  auto chosen = choose(st, exclude, false, key);
  if (!chosen) {
    return std::nullopt;  // the picker queues or refuses
  }
  return take(st, *chosen);
}

bool picker_fast_path::opened(const std::string& id) {
  std::unique_lock<std::mutex> guard{core_->mtx, std::try_to_lock};
  if (!guard) {
    return false;
  }
  if (auto* row = core_->st.find(id)) {
    --row->pending;
    ++row->active;
    ++row->total;
  }
  return true;
}

bool picker_fast_path::retried(const std::string& id) {
  std::unique_lock<std::mutex> guard{core_->mtx, std::try_to_lock};
  if (!guard) {
    return false;
  }
  if (auto* row = core_->st.find(id)) {
    ++row->retries;
  }
  return true;
}

namespace {

/// Whether a slot freed at backend `id` needs the picker: clients queued there, or the
/// backend is being removed.
bool slot_needs_picker(picker_state& st, const std::string& id) {
  auto i = st.extra.find(id);
  return i != st.extra.end() && (i->second.removing || !i->second.queue.empty());
}

}  // namespace

bool picker_fast_path::released(const std::string& id) {
  std::unique_lock<std::mutex> guard{core_->mtx, std::try_to_lock};
  if (!guard) {
    return false;
  }
  auto& st = core_->st;
  auto* row = st.find(id);
  if (row == nullptr) {
    return true;
  }
  if (slot_needs_picker(st, id)) {
    return false;
  }
  --row->pending;
  return true;
}

bool picker_fast_path::finished(const protocols::session_finished& msg) {
  std::unique_lock<std::mutex> guard{core_->mtx, std::try_to_lock};
  if (!guard) {
    return false;
  }
  auto& st = core_->st;
  if (msg.backend_id.empty()) {
    ++st.stats.no_backend;
    return true;
  }
  auto* row = st.find(msg.backend_id);
  if (row == nullptr) {
    return true;
  }
  if (msg.backend_reset || slot_needs_picker(st, msg.backend_id)) {
    return false;  // an outlier failure (maybe an ejection and its timer), a queue, a removal
  }
  --row->active;
  row->bytes_in += msg.bytes_in;
  row->bytes_out += msg.bytes_out;
  st.outliers.succeeded(msg.backend_id);
  return true;
}

bool picker_fast_path::accepted(uint64_t n) {
  std::unique_lock<std::mutex> guard{core_->mtx, std::try_to_lock};
  if (!guard) {
    return false;
  }
  core_->st.stats.accepted += n;
  return true;
}

std::string format_stats_table(const std::string& title, const protocols::balancer_stats& st) {
  size_t id_width = 7;
  size_t address_width = 7;
  for (auto& row : st.backends) {
    id_width = std::max(id_width, row.id.size());
    address_width = std::max(address_width, row.address.size());
  }
  std::string out = fmt::format("{} algorithm={} accepted={} no_backend={}\n", title, st.algorithm,
                                st.accepted, st.no_backend);
  out += fmt::format(
      "  {:<{}}  {:<{}}  {:<5} {:>6} {:>7} {:>8} {:>10} {:>10} {:>8} {:>6} {:>7} {:>7}\n",
      "backend", id_width, "address", address_width, "state", "weight", "active", "total",
      "bytes_in", "bytes_out", "failures", "queued", "q_tmout", "retries");
  for (auto& row : st.backends) {
    // Why a backend takes nothing new comes first: DOWN, then ejected, then draining.
    auto state = !row.healthy ? "DOWN" : row.ejected ? "EJECT" : row.draining ? "DRAIN" : "UP";
    out += fmt::format(
        "  {:<{}}  {:<{}}  {:<5} {:>6} {:>7} {:>8} {:>10} {:>10} {:>8} {:>6} {:>7} {:>7}\n", row.id,
        id_width, row.address, address_width, state, row.weight, row.active, row.total,
        protocols::format_bytes(row.bytes_in), protocols::format_bytes(row.bytes_out), row.failures,
        row.queued, row.queue_timeouts, row.retries);
  }
  out.pop_back();
  return out;
}

}  // namespace l4sim::actors
