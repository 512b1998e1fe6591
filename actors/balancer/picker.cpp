#include "actors/balancer/picker.hpp"

#include <algorithm>
#include <memory>

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/balancer/balancing.hpp"
#include "actors/io/system.hpp"
#include "protocols/errors.hpp"
#include "protocols/units.hpp"

namespace l4sim::actors {

namespace {

using protocols::l4_errc;

struct picker_state {
  picker_config cfg;
  std::unique_ptr<balancing_policy> policy;
  protocols::balancer_stats stats;
  std::vector<candidate> scratch;
  std::vector<caf::actor> subscribers;  // told of every health transition

  protocols::backend_row* find(const std::string& id) {
    for (auto& row : stats.backends) {
      if (row.id == id) {
        return &row;
      }
    }
    return nullptr;
  }

  caf::result<protocols::backend_pick> pick(const std::vector<std::string>& exclude,
                                            const std::string& key = {}) {
    scratch.resize(stats.backends.size());
    for (size_t i = 0; i < stats.backends.size(); ++i) {
      auto& row = stats.backends[i];
      bool excluded = std::find(exclude.begin(), exclude.end(), row.id) != exclude.end();
      auto& c = scratch[i];
      c.eligible = row.healthy && !excluded;
      c.load = row.active + row.pending;
      c.weight = row.weight;
      c.id = row.id;
    }
    auto chosen = policy->pick(scratch, key);
    if (!chosen) {
      return caf::make_error(l4_errc::no_healthy_backend);
    }
    auto& row = stats.backends[*chosen];
    ++row.pending;
    auto& be = cfg.backends[*chosen];
    return protocols::backend_pick{be.id, be.address, be.port};
  }
};

using picker_self = picker_actor::stateful_pointer<picker_state>;

picker_actor::behavior_type picker_impl(picker_self self, picker_config cfg) {
  auto& st = self->state;
  st.policy = make_policy(cfg.algorithm, cfg.seed, cfg.hash_balance);
  st.stats.algorithm = st.policy->name();
  for (auto& be : cfg.backends) {
    protocols::backend_row row;
    row.id = be.id;
    row.address = be.label;
    row.weight = be.weight;
    row.healthy = !be.address.empty();  // an unresolved name is DOWN until it resolves
    st.stats.backends.push_back(row);
  }
  st.cfg = std::move(cfg);
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& subs = self->state.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const caf::actor& x) { return x.address() == msg.source; }),
               subs.end());
  });
  return {
      [self](pick_atom, const std::vector<std::string>& exclude) {
        return self->state.pick(exclude);
      },
      [self](pick_atom, const std::vector<std::string>& exclude, const std::string& key) {
        return self->state.pick(exclude, key);
      },
      [self](opened_atom, const std::string& id) {
        if (auto* row = self->state.find(id)) {
          --row->pending;
          ++row->active;
          ++row->total;
        }
      },
      [self](failed_atom, const std::string& id) {
        if (auto* row = self->state.find(id)) {
          --row->pending;
          ++row->failures;
        }
      },
      [self](caf::close_atom, const std::string& id) {
        if (auto* row = self->state.find(id)) {
          --row->pending;
        }
      },
      [self](const protocols::session_finished& msg) {
        if (msg.backend_id.empty()) {
          ++self->state.stats.no_backend;
          return;
        }
        if (auto* row = self->state.find(msg.backend_id)) {
          --row->active;
          row->bytes_in += msg.bytes_in;
          row->bytes_out += msg.bytes_out;
        }
      },
      [self](const protocols::backend_health_changed& msg) {
        if (auto* row = self->state.find(msg.backend_id)) {
          row->healthy = msg.healthy;
        }
        for (auto& sub : self->state.subscribers) {
          caf::anon_send(sub, msg);
        }
      },
      [self](caf::join_atom, caf::actor subscriber) {
        self->monitor(subscriber);
        self->state.subscribers.push_back(std::move(subscriber));
      },
      [self](accepted_atom) { ++self->state.stats.accepted; },
      [self](caf::add_atom, const protocols::backend_spec& be) {
        auto& st = self->state;
        if (st.find(be.id) != nullptr) {
          return;
        }
        st.cfg.backends.push_back(be);
        protocols::backend_row row;
        row.id = be.id;
        row.address = be.label;
        row.weight = be.weight;
        row.healthy = !be.address.empty();
        st.stats.backends.push_back(row);
      },
      [self](caf::put_atom, const protocols::backend_spec& be) {
        // A name re-resolved to another address: new picks go there, open sessions stay.
        for (auto& known : self->state.cfg.backends) {
          if (known.id == be.id) {
            known.address = be.address;
          }
        }
      },
      [self](caf::delete_atom, const std::string& id) {
        // Open sessions keep their backend; it only stops being picked.
        auto& st = self->state;
        for (size_t i = 0; i < st.cfg.backends.size(); ++i) {
          if (st.cfg.backends[i].id == id) {
            st.cfg.backends.erase(st.cfg.backends.begin() + static_cast<std::ptrdiff_t>(i));
            st.stats.backends.erase(st.stats.backends.begin() + static_cast<std::ptrdiff_t>(i));
            return;
          }
        }
      },
      [self](caf::put_atom, algo_atom, const std::string& name) -> caf::result<std::string> {
        auto& st = self->state;
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
      [self](caf::get_atom, stats_atom) { return self->state.stats; },
  };
}

}  // namespace

caf::expected<picker_actor> spawn_picker(caf::actor_system& sys, picker_config cfg) {
  if (cfg.backends.empty()) {
    return caf::make_error(l4_errc::bad_config, "no backends");
  }
  if (!make_policy(cfg.algorithm, cfg.seed, cfg.hash_balance)) {
    return caf::make_error(l4_errc::bad_config, fmt::format("unknown algorithm \"{}\" ({})",
                                                            cfg.algorithm, policy_names()));
  }
  return sys.spawn(picker_impl, std::move(cfg));
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
  out += fmt::format("  {:<{}}  {:<{}}  {:<5} {:>6} {:>7} {:>8} {:>10} {:>10} {:>8}\n", "backend",
                     id_width, "address", address_width, "state", "weight", "active", "total",
                     "bytes_in", "bytes_out", "failures");
  for (auto& row : st.backends) {
    out += fmt::format("  {:<{}}  {:<{}}  {:<5} {:>6} {:>7} {:>8} {:>10} {:>10} {:>8}\n", row.id,
                       id_width, row.address, address_width, row.healthy ? "UP" : "DOWN",
                       row.weight, row.active, row.total, protocols::format_bytes(row.bytes_in),
                       protocols::format_bytes(row.bytes_out), row.failures);
  }
  out.pop_back();
  return out;
}

}  // namespace l4sim::actors
