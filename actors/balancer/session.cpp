#include "actors/balancer/session.hpp"

#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <caf/actor_system.hpp>
#include <caf/duration.hpp>
#include <caf/io/broker.hpp>

#include "actors/balancer/access_log.hpp"
#include "actors/io/broker_base.hpp"
#include "actors/io/system.hpp"
#include "protocols/balancer_messages.hpp"
#include "protocols/errors.hpp"

namespace l4sim::actors {

namespace {

/// Returns the local address and port of a connected socket ("" and 0 when unknown).
std::pair<std::string, uint16_t> local_end(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return {"", 0};
  }
  char text[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
    return {text, ntohs(a->sin_port)};
  }
  if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
    return {text, ntohs(a->sin6_port)};
  }
  return {"", 0};
}

class session : public broker_base {
 public:
  session(caf::actor_config& acfg, caf::io::connection_handle client, session_deps deps)
      : broker_base(acfg),
        client_(client),
        deps_(std::move(deps)),
        rng_(deps_.cfg.seed ^ static_cast<uint64_t>(client.id())) {}

  caf::behavior make_behavior() override {
    client_address_ = remote_addr(client_);
    client_port_ = remote_port(client_);
    note_.accepted(client_address_, client_port_);
    pump_ = std::make_unique<broker_pump>(this, client_, deps_.cfg.pump);
    pump_->on_finished([this] { maybe_quit(); });
    // Out of fds already: nothing to pick for; the pump closes the client and finishes.
    if (!pump_->starved()) {
      request_pick();
    }
    caf::message_handler own{
        [this](caf::get_atom, stats_atom) { return pump_->buffered(); },
        [this](caf::tick_atom) { check_idle(); },
        // The picker queued this client for a full backend: read nothing until a slot opens.
        [this](queued_atom) { pump_->hold_client(); },
        [this](retry_atom) { retry(); },
        [this](caf::delete_atom, const std::string& id) {
          if (id == backend_id_ && !pump_->finished()) {
            note_.ending(termination::killed);
            pump_->abort();
            maybe_quit();
          }
        },
    };
    return own.or_else(pump_->handlers());
  }

 private:
  void on_exit() override {
    // Drop the strong handles so that no cycle outlives the session.
    pump_.reset();
    deps_ = session_deps{};
  }

  /// Closes both sides when an idle timeout expired (the listener's sweep asks).
  void check_idle() {
    if (pump_->finished()) {
      return;
    }
    auto expiry = idle_check(pump_->activity(), clock().now(), deps_.cfg.timeouts);
    if (expiry == idle_expiry::none) {
      return;
    }
    note_.ending(expiry);
    pump_->abort();
    maybe_quit();
  }

  void request_pick() {
    busy_ = true;
    // No request timeout: the picker always answers (a pick, or queue_timeout after the queue
    // timeout) and a dead picker's bouncer answers at once; a request timeout would cost a
    // timer in CAF's clock thread per connection.
    request(deps_.picker, caf::infinite, pick_atom_v, tried_, client_address_)
        .then(
            [this](const protocols::backend_pick& pick) {
              busy_ = false;
              note_.picked();
              if (pump_->finished()) {
                send(deps_.picker, caf::close_atom_v, pick.id);
                maybe_quit();
                return;
              }
              dial(pick);
            },
            [this](const caf::error& err) {
              busy_ = false;
              note_.ending(err == protocols::l4_errc::queue_timeout ? termination::queue_timeout
                                                                    : termination::no_backend);
              give_up();
            });
  }

  void dial(const protocols::backend_pick& pick) {
    busy_ = true;
    tried_.push_back(pick.id);
    // No request timeout either: the dialer enforces the connect timeout (see request_pick).
    request(deps_.dialer, caf::infinite, caf::connect_atom_v, pick.address, pick.port,
            deps_.cfg.connect_timeout)
        .then(
            [this, id = pick.id](dialed_socket sock) {
              busy_ = false;
              if (pump_->finished()) {
                send(deps_.picker, caf::close_atom_v, id);
                maybe_quit();
                return;  // the client left meanwhile; `sock` closes itself
              }
              auto fd = sock.release();
              if (!send_proxy_header(fd)) {
                // The backend reset or closed already (or, never seen, a fresh socket's
                // send buffer refused ~100 bytes): a failed connect, retried like one.
                sock = dialed_socket{fd};
                send(deps_.picker, failed_atom_v, id);
                if (tried_.size() <= deps_.cfg.retries) {
                  send(deps_.picker, retry_atom_v, id);
                  schedule_retry();
                } else {
                  give_up();
                }
                return;
              }
              backend_id_ = id;
              note_.connected();
              send(deps_.picker, opened_atom_v, id);
              pump_->attach_backend(fd);
            },
            [this, id = pick.id](const caf::error& err) {
              busy_ = false;
              if (err == protocols::l4_errc::local_failure) {
                // Our shortage, not the backend's: release the pick uncounted.
                send(deps_.picker, caf::close_atom_v, id);
                if (pump_->finished()) {
                  maybe_quit();
                } else {
                  note_.ending(termination::local_shortage);
                  give_up();
                }
                return;
              }
              send(deps_.picker, failed_atom_v, id);
              if (pump_->finished()) {
                maybe_quit();
              } else if (tried_.size() <= deps_.cfg.retries) {
                note_.retried();
                send(deps_.picker, retry_atom_v, id);
                schedule_retry();
              } else {
                note_.ending(err == protocols::l4_errc::upstream_timeout
                                 ? termination::connect_timeout
                                 : termination::connect_failed);
                give_up();
              }
            });
  }

  /// Waits the backoff of this retry, then picks again (busy meanwhile, so that a client
  /// leaving does not end the session before the wait is over).
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
    if (pump_->finished()) {
      maybe_quit();
      return;
    }
    request_pick();
  }

  /// Writes the PROXY header, if configured, to a just-connected backend socket. A fresh
  /// socket's send buffer (kilobytes) takes the header (at most 52 bytes for v2, 104 for
  /// v1) in one call, so it is written here directly, ahead of anything the pump queues.
  bool send_proxy_header(int fd) {
    if (deps_.cfg.send_proxy == protocols::proxy_version::none) {
      return true;
    }
    protocols::proxy_info info;
    auto [local_address, local_port] = local_end(static_cast<int>(client_.id()));
    info.proxied = !client_address_.empty() && !local_address.empty();
    info.src_address = client_address_;
    info.src_port = client_port_;
    info.dst_address = local_address;
    info.dst_port = local_port;
    auto header = protocols::encode_proxy(deps_.cfg.send_proxy, info);
    auto n = ::send(fd, header.data(), header.size(), MSG_NOSIGNAL);
    return n == static_cast<ssize_t>(header.size());
  }

  /// No backend could be had: close the client at once.
  void give_up() {
    gave_up_ = true;
    note_.ending(termination::connect_failed);  // unless a more precise reason came first
    report();
    quit();
  }

  /// Quits unless a pick or dial is in flight, whose answer must still be accounted for.
  void maybe_quit() {
    if (!busy_) {
      report();
      quit();
    }
  }

  void report() {
    if (deps_.access_log) {
      send(deps_.access_log, note_.finish(backend_id_, pump_->bytes_up(), pump_->bytes_down()));
    }
    // A client that left before any backend was tried is not the backends' business.
    if (backend_id_.empty() && !gave_up_) {
      return;
    }
    send(deps_.picker, protocols::session_finished{backend_id_, pump_->bytes_up(),
                                                   pump_->bytes_down(), pump_->backend_reset()});
  }

  caf::io::connection_handle client_;
  session_deps deps_;
  std::unique_ptr<broker_pump> pump_;
  std::vector<std::string> tried_;
  std::string backend_id_;
  std::string client_address_;  // the hashing algorithms' key
  uint16_t client_port_ = 0;
  bool busy_ = false;
  bool gave_up_ = false;
  std::minstd_rand rng_;  // the backoff's jitter
  access_note note_;
};

}  // namespace

caf::actor spawn_session(caf::io::broker* owner, caf::io::connection_handle client,
                         const session_deps& deps) {
  auto scribe = owner->take(client);
  caf::actor_config cfg{owner->context()};
  auto hdl = owner->system().spawn_class<session, caf::no_spawn_options>(cfg, client, deps);
  auto* impl = static_cast<session*>(caf::actor_cast<caf::abstract_actor*>(hdl));
  impl->move_scribe(std::move(scribe));
  owner->link_to(hdl);
  return hdl;
}

}  // namespace l4sim::actors
