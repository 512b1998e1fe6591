#include "actors/clients/spawner.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/clients/client.hpp"
#include "actors/clients/client_behaviors.hpp"
#include "actors/clients/client_stats.hpp"
#include "actors/io/system.hpp"
#include "protocols/units.hpp"

namespace l4sim::actors {

namespace {

// Time comes from the actor clock (virtual under CAF's test_coordinator), never the wall clock.
using clock_type = caf::actor_clock;
using protocols::client_stats;
using stats_promise = caf::typed_response_promise<client_stats>;

class spawner : public caf::event_based_actor {
 public:
  spawner(caf::actor_config& acfg, spawner_config cfg)
      : caf::event_based_actor(acfg),
        cfg_(std::move(cfg)),
        arrivals_(cfg_.rate, cfg_.arrival, cfg_.mix, cfg_.seed) {}

  caf::behavior make_behavior() override {
    started_ = clock().now();
    dialer_ = cfg_.dialer;
    if (!dialer_) {
      dialer_ = spawn_dialer(system());
      own_dialer_ = true;
    }
    set_down_handler([this](caf::down_msg& msg) { on_down(msg); });
    log("target {}:{} rate={:g}/s arrival={} mix={} seed={}", cfg_.address, cfg_.port,
        arrivals_.rate(), to_string(cfg_.arrival), format_mix(arrivals_.mix()), cfg_.seed);
    if (arrivals_.rate() > 0) {
      send(this, arrive_atom_v, arrive_generation_);
    }
    if (cfg_.duration.count() > 0) {
      send_later(this, cfg_.duration, finish_atom_v, caf::timeout_atom_v);
    }
    if (cfg_.stats_interval.count() > 0) {
      send_later(this, cfg_.stats_interval, caf::tick_atom_v);
    }
    return {
        [this](arrive_atom, uint64_t generation) {
          if (generation == arrive_generation_ && running_) {
            spawn_one();
            schedule_arrival();
          }
        },
        [this](caf::tick_atom) {
          if (!ended_) {
            log_line(format_client_summary(cfg_.id, snapshot()));
            send_later(this, cfg_.stats_interval, caf::tick_atom_v);
          }
        },
        [this](caf::put_atom, rate_atom, double rate) {
          arrivals_.set_rate(rate);
          log("rate set to {:g}/s", arrivals_.rate());
          ++arrive_generation_;
          due_.reset();  // the new rate's gaps count from now
          schedule_arrival();
        },
        [this](caf::put_atom, mix_atom, const protocols::client_mix& mix) {
          if (arrivals_.set_mix(mix)) {
            log("mix set to {}", format_mix(mix));
          } else {
            log("mix ignored: every weight is 0");
          }
        },
        [this](finish_atom) -> caf::result<client_stats> {
          auto rp = make_response_promise<client_stats>();
          finish_promises_.push_back(rp);
          begin_finish();
          return rp;
        },
        [this](finish_atom, caf::timeout_atom) { begin_finish(); },
        [this](caf::wait_for_atom) -> caf::result<client_stats> {
          if (ended_) {
            return final_;
          }
          auto rp = make_response_promise<client_stats>();
          finish_promises_.push_back(rp);
          return rp;
        },
        [this](caf::get_atom, stats_atom) -> caf::result<client_stats> {
          return ended_ ? final_ : snapshot();
        },
        [this](const protocols::client_finished& outcome) {
          auto i = clients_.find(caf::actor_cast<caf::actor_addr>(current_sender()));
          if (i == clients_.end()) {
            return;
          }
          clients_.erase(i);
          tally_.finished(outcome);
          maybe_complete();
        },
        [this](caf::timeout_atom, uint64_t generation) {
          if (generation == grace_generation_) {
            abandon_clients();
          }
        },
    };
  }

  void on_exit() override {
    for (auto& kv : clients_) {
      caf::anon_send_exit(kv.first, caf::exit_reason::user_shutdown);
    }
    clients_.clear();
    if (own_dialer_) {
      anon_send_exit(dialer_, caf::exit_reason::user_shutdown);
    }
    dialer_ = nullptr;
  }

 private:
  /// What the spawner remembers of a running client.
  struct running_client {
    client_ticket ticket;
    client_actor actor;
  };

  template <class... Ts>
  void log(fmt::format_string<Ts...> text, Ts&&... xs) {
    if (cfg_.log) {
      log_line(fmt::format("[{}] {}", cfg_.id, fmt::format(text, std::forward<Ts>(xs)...)));
    }
  }

  /// Arms the timer of the next arrival. Arrivals are due at absolute times, each gap
  /// counted from the previous arrival's due time, not from when its message ran: timer,
  /// wake-up and spawn take time, and relative gaps stretched by it (at 2,000/s, 15,400 of
  /// 20,000 clients started in 10 s). Overdue arrivals start at once, a bounded number per
  /// call so that the loop stays responsive; under virtual time nothing is ever overdue.
  void schedule_arrival() {
    if (!running_) {
      return;
    }
    auto now = clock().now();
    for (int started = 0;; ++started) {
      auto gap = arrivals_.next_gap();
      if (!gap) {
        due_.reset();
        return;
      }
      due_ = (due_ ? *due_ : now) + *gap;
      if (*due_ >= now || started == max_catch_up) {
        auto wait = std::chrono::duration_cast<caf::timespan>(*due_ - now);
        send_later(this, std::max(wait, caf::timespan{0}), arrive_atom_v, arrive_generation_);
        return;
      }
      spawn_one();
    }
  }

  void spawn_one() {
    auto ticket = arrivals_.next_ticket();
    if (cfg_.max_active > 0 && clients_.size() >= cfg_.max_active) {
      ++capped_;
      return;
    }
    client_config cc;
    cc.id = ticket.id;
    cc.profile = cfg_.profiles[static_cast<std::size_t>(ticket.kind)];
    cc.profile.kind = ticket.kind;
    cc.seed = ticket.seed;
    cc.address = cfg_.address;
    cc.port = cfg_.port;
    cc.source = client_source_address(ticket.id, cfg_.source_addresses);
    cc.connect_timeout = cfg_.connect_timeout;
    cc.dialer = dialer_;
    cc.io = cfg_.io;
    cc.reporter = caf::actor_cast<caf::actor>(this);
    auto client = spawn_client(system(), std::move(cc));
    monitor(client);
    clients_.emplace(client.address(), running_client{ticket, client});
    tally_.started(ticket.kind);
  }

  void on_down(const caf::down_msg& msg) {
    auto i = clients_.find(msg.source);
    if (i == clients_.end()) {
      return;
    }
    // A client that died without reporting (it should never happen) still counts.
    protocols::client_finished outcome;
    outcome.id = i->second.ticket.id;
    outcome.kind = i->second.ticket.kind;
    outcome.end = protocols::client_end::stopped;
    outcome.detail = "client died: " + describe(msg.reason);
    clients_.erase(i);
    tally_.finished(outcome);
    maybe_complete();
  }

  void begin_finish() {
    if (!running_) {
      maybe_complete();
      return;
    }
    running_ = false;
    ++arrive_generation_;
    finished_at_ = clock().now();
    log("run ending: stopping {} clients", clients_.size());
    for (auto& kv : clients_) {
      send(kv.second.actor, finish_atom_v);
    }
    send_later(this, cfg_.finish_grace, caf::timeout_atom_v, ++grace_generation_);
    maybe_complete();
  }

  void abandon_clients() {
    for (auto& kv : clients_) {
      protocols::client_finished outcome;
      outcome.id = kv.second.ticket.id;
      outcome.kind = kv.second.ticket.kind;
      outcome.end = protocols::client_end::stopped;
      outcome.detail = "did not finish in time";
      tally_.finished(outcome);
      anon_send_exit(kv.second.actor, caf::exit_reason::user_shutdown);
    }
    clients_.clear();
    maybe_complete();
  }

  void maybe_complete() {
    if (running_ || ended_ || !clients_.empty()) {
      return;
    }
    final_ = snapshot();
    final_.running = false;
    ended_ = true;
    ++grace_generation_;
    for (auto& rp : finish_promises_) {
      rp.deliver(final_);
    }
    finish_promises_.clear();
  }

  client_stats snapshot() {
    client_stats st;
    st.elapsed = (running_ ? clock().now() : finished_at_) - started_;
    st.running = running_;
    st.rate = arrivals_.rate();
    st.mix = arrivals_.mix();
    st.capped = capped_;
    st.rows = tally_.rows();
    return st;
  }

  spawner_config cfg_;
  arrivals arrivals_;
  client_tally tally_;
  dialer_actor dialer_;
  bool own_dialer_ = false;
  std::unordered_map<caf::actor_addr, running_client> clients_;
  std::vector<stats_promise> finish_promises_;
  client_stats final_;
  clock_type::time_point started_;
  clock_type::time_point finished_at_;
  /// At most this many overdue arrivals start per call of schedule_arrival.
  static constexpr int max_catch_up = 64;

  uint64_t arrive_generation_ = 0;
  std::optional<clock_type::time_point> due_;  // of the arrival armed last
  uint64_t grace_generation_ = 0;
  uint64_t capped_ = 0;
  bool running_ = true;
  bool ended_ = false;
};

}  // namespace

std::array<protocols::client_profile, protocols::client_kind_count> default_profiles() {
  std::array<protocols::client_profile, protocols::client_kind_count> result;
  for (auto kind : protocols::all_client_kinds) {
    result[static_cast<std::size_t>(kind)] = default_profile(kind);
  }
  return result;
}

std::string client_source_address(uint64_t id, uint32_t n) {
  if (n == 0) {
    return {};
  }
  return "127.0.1." + std::to_string(1 + id % std::min(n, max_source_addresses));
}

spawner_actor spawn_spawner(caf::actor_system& sys, spawner_config cfg) {
  return caf::actor_cast<spawner_actor>(sys.spawn<spawner>(std::move(cfg)));
}

}  // namespace l4sim::actors
