#include "actors/vnet/vbalancer.hpp"

#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/system_messages.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/io/net.hpp"
#include "actors/io/system.hpp"
#include "actors/vnet/vsession.hpp"
#include "protocols/balancer_messages.hpp"
#include "protocols/errors.hpp"

namespace l4sim::actors {

namespace {

using caf::io::connection_handle;
using protocols::l4_errc;

uint64_t id_of(connection_handle hdl) {
  return static_cast<uint64_t>(hdl.id());
}

/// The virtual listener: forks a session per accepted connection, at most `max_conns` at a
/// time (the rest wait, like a kernel backlog), and passes ticks and deletes on.
class vlistener : public caf::event_based_actor {
 public:
  vlistener(caf::actor_config& acfg, listener_config cfg, std::shared_ptr<vnet> net,
            uint64_t listener)
      : caf::event_based_actor(acfg),
        cfg_(std::move(cfg)),
        net_(std::move(net)),
        listener_(listener) {}

  caf::behavior make_behavior() override {
    net_->own_listener(listener_, address(), true);
    // Monitored, not linked: removing a link scans the listener's list of links, once per
    // ended session, which made many concurrent sessions quadratic.
    set_down_handler([this](caf::down_msg& msg) {
      if (sessions_.erase(msg.source) != 0) {
        admit();
      }
    });
    sweep_ = cfg_.sessions.cfg.timeouts.sweep_period();
    // Bounded on virtual time, unlike live: a pick waits at most the queue timeout and a
    // dial the connect timeout, with a margin.
    bounds_.pick = caf::duration{cfg_.sessions.cfg.queue_timeout + std::chrono::seconds{10}};
    bounds_.dial = caf::duration{cfg_.sessions.cfg.connect_timeout + std::chrono::seconds{5}};
    if (sweep_.count() > 0) {
      send_later(this, sweep_, caf::tick_atom_v);
    }
    return {
        [this](const caf::io::new_connection_msg& msg) {
          backlog_.push_back(id_of(msg.handle));
          admit();
        },
        [](const caf::io::acceptor_closed_msg&) {},
        [this](caf::tick_atom) {
          for (auto& kv : sessions_) {
            send(kv.second, caf::tick_atom_v);
          }
          send_later(this, sweep_, caf::tick_atom_v);
        },
        [this](caf::close_atom) { stop_accepting(); },
        [this](caf::delete_atom, const std::string& backend) {
          for (auto& kv : sessions_) {
            send(kv.second, caf::delete_atom_v, backend);
          }
        },
        [this](caf::get_atom, stats_atom) { return static_cast<uint64_t>(sessions_.size()); },
        [this](caf::get_atom, sessions_atom) {
          std::vector<caf::actor> result;
          for (auto& kv : sessions_) {
            result.push_back(kv.second);
          }
          return result;
        },
    };
  }

 private:
  void on_exit() override {
    stop_accepting();
    for (auto& kv : sessions_) {
      send_exit(kv.second, caf::exit_reason::user_shutdown);
    }
    sessions_.clear();
    cfg_.sessions = session_deps{};
  }

  void stop_accepting() {
    if (listening_) {
      listening_ = false;
      net_->unlisten(listener_);
      for (auto conn : backlog_) {
        net_->close(conn);
      }
      backlog_.clear();
    }
  }

  void admit() {
    size_t limit = cfg_.max_conns == 0 ? SIZE_MAX : cfg_.max_conns;
    while (!backlog_.empty() && sessions_.size() < limit) {
      auto conn = backlog_.front();
      backlog_.pop_front();
      send(cfg_.sessions.picker, accepted_atom_v);
      auto session = spawn_virtual_session(this, conn, cfg_.sessions, bounds_, net_);
      sessions_.emplace(session.address(), session);
    }
  }

  listener_config cfg_;
  std::shared_ptr<vnet> net_;
  uint64_t listener_;
  bool listening_ = true;
  caf::timespan sweep_{0};
  flow_bounds bounds_;
  std::deque<uint64_t> backlog_;
  // Ordered by actor id so that ticks go out in the same order in every run.
  std::map<caf::actor_addr, caf::actor> sessions_;
};

/// Numeric addresses are all the virtual network knows.
resolver_actor::behavior_type vresolver(resolver_actor::pointer, int) {
  return {
      [](resolve_atom, const std::string& host) -> caf::result<std::string> {
        if (host.empty() ||
            host.find_first_not_of("0123456789.:abcdefABCDEF") == std::string::npos) {
          return host;
        }
        return caf::make_error(l4_errc::bad_config,
                               fmt::format("cannot resolve {} on the virtual network", host));
      },
  };
}

}  // namespace

caf::expected<balancer_handle> spawn_virtual_balancer(caf::actor_system& sys, balancer_config cfg,
                                                      std::shared_ptr<vnet> net) {
  picker_config pcfg{cfg.backends,      cfg.algorithm,    cfg.seed,
                     cfg.log,           cfg.hash_balance, cfg.queue_timeout,
                     cfg.drain_timeout, cfg.slow_start,   cfg.outlier};
  auto picker = spawn_picker(sys, pcfg);
  if (!picker) {
    return picker.error();
  }
  auto bound = net->listen(cfg.host, cfg.port);
  if (!bound) {
    caf::anon_send_exit(*picker, caf::exit_reason::user_shutdown);
    return bound.error();
  }
  balancer_handle result;
  result.id = cfg.id;
  result.picker = *picker;
  result.dialer = net->spawn_dialer(sys);
  result.port = bound->second;
  listener_config lcfg;
  lcfg.host = cfg.host;
  lcfg.port = bound->second;
  lcfg.max_conns = cfg.max_conns;
  lcfg.id = cfg.id;
  lcfg.log = cfg.log;
  // No access log; no fast path: every pick is a message, in the scheduler's order.
  lcfg.sessions = session_deps{cfg.session, result.picker, result.dialer, {}, {}};
  lcfg.sessions.cfg.seed = cfg.seed;
  lcfg.sessions.cfg.queue_timeout = cfg.queue_timeout;
  auto listener = sys.spawn<vlistener>(lcfg, net, bound->first);
  result.listener = caf::actor_cast<listener_actor>(listener);
  caf::anon_send(result.picker, caf::join_atom_v, caf::actor_cast<session_closer_actor>(listener));
  cfg.health.log = cfg.log;
  result.resolver = sys.spawn(vresolver, 0);
  result.health = spawn_health_monitor(sys, cfg.health, cfg.backends, result.picker, result.dialer,
                                       result.resolver);
  result.control = spawn_balancer_control(sys, result.picker, result.health);
  return result;
}

}  // namespace l4sim::actors
