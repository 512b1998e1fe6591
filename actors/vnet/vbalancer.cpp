#include "actors/vnet/vbalancer.hpp"

#include <deque>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/system_messages.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/balancer/idle_policy.hpp"
#include "actors/io/net.hpp"
#include "actors/io/system.hpp"
#include "protocols/balancer_messages.hpp"
#include "protocols/errors.hpp"
#include "protocols/proxy_protocol.hpp"

namespace l4sim::actors {

namespace {

using caf::io::connection_handle;
using protocols::l4_errc;

uint64_t id_of(connection_handle hdl) {
  return static_cast<uint64_t>(hdl.id());
}

/// One direction's end of a proxied connection.
struct vside {
  uint64_t conn = 0;
  bool attached = false;
  bool reading = false;  // no FIN/RST from it yet
  bool shut = false;     // nothing more goes to it
  bool reset = false;
  bool stalled = false;  // not read: the other side's window is full
};

/// One proxied connection on the virtual network.
class vsession : public caf::event_based_actor {
 public:
  vsession(caf::actor_config& acfg, uint64_t client, session_deps deps, std::shared_ptr<vnet> net)
      : caf::event_based_actor(acfg),
        deps_(std::move(deps)),
        net_(std::move(net)),
        rng_(deps_.cfg.seed ^ client) {
    client_.conn = client;
    client_.attached = true;
    client_.reading = true;
  }

  caf::behavior make_behavior() override {
    auto peer = net_->peer_name(client_.conn);
    auto colon = peer.rfind(':');
    client_address_ = peer.substr(0, colon);
    client_port_ =
        colon == std::string::npos ? 0 : static_cast<uint16_t>(std::stoul(peer.substr(colon + 1)));
    activity_.client_last = clock().now();
    net_->adopt(client_.conn, address(), false);
    request_pick();
    return {
        [this](const caf::io::new_data_msg& msg) { on_data(msg); },
        [this](const caf::io::connection_closed_msg& msg) { on_closed(msg.handle); },
        [this](const caf::io::data_transferred_msg& msg) { on_written(msg); },
        [this](caf::get_atom, stats_atom) { return static_cast<uint64_t>(early_.size()); },
        [this](caf::tick_atom) { check_idle(); },
        [](queued_atom) {
          // Live sessions stop reading their client while queued; here the client stops
          // being read once `early_` holds a window's worth.
        },
        [this](retry_atom) { retry(); },
        [this](caf::delete_atom, const std::string& id) {
          if (id == backend_id_ && !finished_) {
            abort();
            maybe_quit();
          }
        },
    };
  }

 private:
  void on_exit() override {
    net_->close(client_.conn);
    if (backend_.attached) {
      net_->close(backend_.conn);
    }
    deps_ = session_deps{};
  }

  vside* side_of(connection_handle hdl) {
    if (id_of(hdl) == client_.conn) {
      return &client_;
    }
    if (backend_.attached && id_of(hdl) == backend_.conn) {
      return &backend_;
    }
    return nullptr;
  }

  vside& other(const vside& s) { return &s == &client_ ? backend_ : client_; }

  void on_data(const caf::io::new_data_msg& msg) {
    auto* src = side_of(msg.handle);
    if (src == nullptr || finished_) {
      return;
    }
    auto now = clock().now();
    if (src == &client_) {
      bytes_up_ += msg.buf.size();
      activity_.client_last = now;
      activity_.client_sent = true;
    } else {
      bytes_down_ += msg.buf.size();
      activity_.backend_last = now;
      activity_.backend_sent = true;
    }
    auto& dst = other(*src);
    if (dst.shut) {
      return;
    }
    if (!dst.attached) {
      early_.insert(early_.end(), msg.buf.begin(), msg.buf.end());
      if (early_.size() >= net_->config().window) {
        stall(*src);
      }
      return;
    }
    net_->send(dst.conn, msg.buf.data(), msg.buf.size());
    if (net_->pending(dst.conn) > 0) {
      // Back-pressure, as the live byte pump: what the other side cannot take yet stays
      // in this side's window, so its writer runs out of room in turn.
      stall(*src);
      net_->notify_drained(dst.conn);
    }
  }

  void stall(vside& src) {
    if (!src.stalled) {
      src.stalled = true;
      net_->set_reading(src.conn, false);
    }
  }

  void unstall(vside& src) {
    if (src.stalled) {
      src.stalled = false;
      net_->set_reading(src.conn, true);
    }
  }

  /// `dst` took everything written to it: read its other side again.
  void on_written(const caf::io::data_transferred_msg& msg) {
    auto* dst = side_of(msg.handle);
    if (dst != nullptr && msg.remaining == 0) {
      unstall(other(*dst));
    }
  }

  void on_closed(connection_handle hdl) {
    auto* src = side_of(hdl);
    if (src == nullptr || !src->reading) {
      return;
    }
    src->reading = false;
    src->reset = net_->was_reset(id_of(hdl));
    if (!src->reset && !activity_.half_closed) {
      activity_.half_closed = clock().now();
    }
    if (src->reset) {
      src->shut = true;
      auto& dst = other(*src);
      if (!dst.attached) {
        // The client reset before any backend: nothing to relay.
        finish();
        return;
      }
      if (!dst.shut) {
        net_->reset(dst.conn);
        dst.shut = true;
        dst.reading = false;
      }
      finish();
      return;
    }
    forward_eof(*src);
    check_finished();
  }

  /// A FIN read from `src` goes on to the other side once it is attached.
  void forward_eof(vside& src) {
    auto& dst = other(src);
    if (src.reading || dst.shut || !dst.attached) {
      return;
    }
    net_->shutdown_write(dst.conn);
    dst.shut = true;
  }

  void check_finished() {
    if (finished_) {
      return;
    }
    bool up_done = backend_.shut && !client_.reading;
    bool down_done = client_.shut && !backend_.reading;
    if (up_done && down_done) {
      finish();
    }
  }

  void finish() {
    if (finished_) {
      return;
    }
    finished_ = true;
    maybe_quit();
  }

  /// Ends the relay at once: both peers see a FIN.
  void abort() {
    net_->close(client_.conn);
    if (backend_.attached) {
      net_->close(backend_.conn);
    }
    client_.shut = backend_.shut = true;
    finished_ = true;
  }

  void check_idle() {
    if (finished_) {
      return;
    }
    activity_.backend_attached = backend_.attached;
    if (idle_check(activity_, clock().now(), deps_.cfg.timeouts) == idle_expiry::none) {
      return;
    }
    abort();
    maybe_quit();
  }

  void request_pick() {
    busy_ = true;
    request(deps_.picker, deps_.cfg.queue_timeout + std::chrono::seconds{10}, pick_atom_v, tried_,
            client_address_)
        .then(
            [this](const protocols::backend_pick& pick) {
              busy_ = false;
              if (finished_) {
                send(deps_.picker, caf::close_atom_v, pick.id);
                maybe_quit();
                return;
              }
              dial(pick);
            },
            [this](const caf::error&) {
              busy_ = false;
              give_up();
            });
  }

  void dial(const protocols::backend_pick& pick) {
    busy_ = true;
    tried_.push_back(pick.id);
    request(deps_.dialer, deps_.cfg.connect_timeout + std::chrono::seconds{5}, caf::connect_atom_v,
            pick.address, pick.port, deps_.cfg.connect_timeout)
        .then(
            [this, id = pick.id](dialed_socket sock) {
              busy_ = false;
              if (finished_) {
                send(deps_.picker, caf::close_atom_v, id);
                maybe_quit();
                return;  // `sock` closes itself
              }
              backend_id_ = id;
              send(deps_.picker, opened_atom_v, id);
              attach(sock.release_virtual());
            },
            [this, id = pick.id](const caf::error& err) {
              busy_ = false;
              if (err == l4_errc::local_failure) {
                send(deps_.picker, caf::close_atom_v, id);
                if (finished_) {
                  maybe_quit();
                } else {
                  give_up();
                }
                return;
              }
              send(deps_.picker, failed_atom_v, id);
              if (finished_) {
                maybe_quit();
              } else if (tried_.size() <= deps_.cfg.retries) {
                send(deps_.picker, retry_atom_v, id);
                schedule_retry();
              } else {
                give_up();
              }
            });
  }

  void attach(uint64_t conn) {
    backend_.conn = conn;
    backend_.attached = true;
    backend_.reading = true;
    activity_.backend_last = clock().now();
    net_->adopt(conn, address(), false);
    if (deps_.cfg.send_proxy != protocols::proxy_version::none) {
      protocols::proxy_info info;
      auto [local_address, local_port] = net_->local_end(client_.conn);
      info.proxied = !client_address_.empty() && !local_address.empty();
      info.src_address = client_address_;
      info.src_port = client_port_;
      info.dst_address = local_address;
      info.dst_port = local_port;
      auto header = protocols::encode_proxy(deps_.cfg.send_proxy, info);
      net_->send(conn, header.data(), header.size());
    }
    if (!early_.empty()) {
      net_->send(conn, early_.data(), early_.size());
      early_.clear();
      early_.shrink_to_fit();
    }
    if (net_->pending(conn) == 0) {
      unstall(client_);
    }
    if (client_.shut) {
      // The client reset meanwhile (only a FIN leaves it unshut).
      net_->reset(conn);
      backend_.shut = true;
    }
    forward_eof(client_);
    check_finished();
  }

  void schedule_retry() {
    busy_ = true;
    auto wait = deps_.cfg.backoff.delay_drawn(static_cast<uint32_t>(tried_.size() - 1), rng_);
    if (wait.count() <= 0) {
      retry();
      return;
    }
    send_later(this, wait, retry_atom_v);
  }

  void retry() {
    busy_ = false;
    if (finished_) {
      maybe_quit();
      return;
    }
    request_pick();
  }

  void give_up() {
    gave_up_ = true;
    net_->close(client_.conn);
    report();
    quit();
  }

  void maybe_quit() {
    if (!busy_) {
      report();
      quit();
    }
  }

  void report() {
    if (backend_id_.empty() && !gave_up_) {
      return;
    }
    send(deps_.picker,
         protocols::session_finished{backend_id_, bytes_up_, bytes_down_, backend_.reset});
  }

  session_deps deps_;
  std::shared_ptr<vnet> net_;
  vside client_;
  vside backend_;
  std::vector<char> early_;
  session_activity activity_;
  std::vector<std::string> tried_;
  std::string backend_id_;
  std::string client_address_;
  uint16_t client_port_ = 0;
  uint64_t bytes_up_ = 0;
  uint64_t bytes_down_ = 0;
  bool busy_ = false;
  bool gave_up_ = false;
  bool finished_ = false;
  std::minstd_rand rng_;
};

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
      auto session = spawn<vsession, caf::monitored>(conn, cfg_.sessions, net_);
      sessions_.emplace(session.address(), session);
    }
  }

  listener_config cfg_;
  std::shared_ptr<vnet> net_;
  uint64_t listener_;
  bool listening_ = true;
  caf::timespan sweep_{0};
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
  lcfg.sessions = session_deps{cfg.session, result.picker, result.dialer, {}};  // no access log
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
