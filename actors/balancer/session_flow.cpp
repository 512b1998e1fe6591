#include "actors/balancer/session_flow.hpp"

#include <utility>

#include <caf/event_based_actor.hpp>
#include <caf/io/broker.hpp>

#include "actors/io/system.hpp"
#include "protocols/balancer_messages.hpp"
#include "protocols/errors.hpp"

namespace l4sim::actors {

template <class Self>
session_flow<Self>::session_flow(Self* self, session_transport& transport, session_deps deps,
                                 uint64_t jitter_key, flow_bounds bounds)
    : self_(self),
      transport_(transport),
      deps_(std::move(deps)),
      bounds_(bounds),
      rng_(deps_.cfg.seed ^ jitter_key) {}

template <class Self>
void session_flow<Self>::accepted(std::string address, uint16_t port) {
  client_address_ = std::move(address);
  client_port_ = port;
  note_.accepted(client_address_, client_port_);
}

template <class Self>
caf::message_handler session_flow<Self>::handlers() {
  return {
      [this](caf::get_atom, stats_atom) { return transport_.buffered(); },
      [this](caf::tick_atom) { check_idle(); },
      [this](queued_atom) { transport_.hold_client(); },
      [this](retry_atom) { retry(); },
      [this](caf::delete_atom, const std::string& id) {
        if (id == backend_id_ && !transport_.finished()) {
          note_.ending(termination::killed);
          transport_.abort();
          maybe_quit();
        }
      },
  };
}

template <class Self>
template <class FastCall, class... Ts>
void session_flow<Self>::tell_picker(FastCall fast_call, Ts&&... msg) {
  if (deps_.fast && !reports_sent_ && fast_call(*deps_.fast)) {
    return;
  }
  reports_sent_ = true;
  self_->send(deps_.picker, std::forward<Ts>(msg)...);
}

template <class Self>
void session_flow<Self>::request_pick() {
  if (deps_.fast) {
    if (auto pick = deps_.fast->pick(tried_, client_address_)) {
      picked(*pick);
      return;
    }
  }
  busy_ = true;
  // Live, no request timeout: the picker always answers (a pick, or queue_timeout after the
  // queue timeout) and a dead picker's bouncer answers at once; a request timeout would cost
  // a timer in CAF's clock thread per connection.
  self_->request(deps_.picker, bounds_.pick, pick_atom_v, tried_, client_address_)
      .then(
          [this](const protocols::backend_pick& pick) {
            busy_ = false;
            picked(pick);
          },
          [this](const caf::error& err) {
            busy_ = false;
            note_.ending(err == protocols::l4_errc::queue_timeout ? termination::queue_timeout
                                                                  : termination::no_backend);
            give_up();
          });
}

template <class Self>
void session_flow<Self>::picked(const protocols::backend_pick& pick) {
  note_.picked();
  if (transport_.finished()) {
    tell_picker([&](picker_fast_path& f) { return f.released(pick.id); }, caf::close_atom_v,
                pick.id);
    maybe_quit();
    return;
  }
  dial(pick);
}

template <class Self>
void session_flow<Self>::dial(const protocols::backend_pick& pick) {
  busy_ = true;
  tried_.push_back(pick.id);
  // Live, no request timeout either: the dialer enforces the connect timeout.
  self_
      ->request(deps_.dialer, bounds_.dial, caf::connect_atom_v, pick.address, pick.port,
                deps_.cfg.connect_timeout)
      .then([this, id = pick.id](dialed_socket sock) { connected(id, std::move(sock)); },
            [this, id = pick.id](const caf::error& err) {
              busy_ = false;
              if (err == protocols::l4_errc::local_failure) {
                // Our shortage, not the backend's: release the pick uncounted.
                tell_picker([&](picker_fast_path& f) { return f.released(id); }, caf::close_atom_v,
                            id);
                if (transport_.finished()) {
                  maybe_quit();
                } else {
                  note_.ending(termination::local_shortage);
                  give_up();
                }
                return;
              }
              connect_failed(id, err == protocols::l4_errc::upstream_timeout
                                     ? termination::connect_timeout
                                     : termination::connect_failed);
            });
}

template <class Self>
void session_flow<Self>::connected(const std::string& id, dialed_socket sock) {
  busy_ = false;
  if (transport_.finished()) {
    tell_picker([&](picker_fast_path& f) { return f.released(id); }, caf::close_atom_v, id);
    maybe_quit();
    return;  // the client left meanwhile; `sock` closes itself
  }
  if (!transport_.prepare_backend(sock)) {
    // The backend reset or closed already: a failed connect, retried like one.
    connect_failed(id, termination::connect_failed);
    return;
  }
  backend_id_ = id;
  note_.connected();
  tell_picker([&](picker_fast_path& f) { return f.opened(id); }, opened_atom_v, id);
  transport_.attach_backend(std::move(sock));
}

template <class Self>
void session_flow<Self>::connect_failed(const std::string& id, termination why) {
  // Always a message: a failure may eject the backend, which takes the picker's timer.
  tell_picker([](picker_fast_path&) { return false; }, failed_atom_v, id);
  if (transport_.finished()) {
    maybe_quit();
  } else if (tried_.size() <= deps_.cfg.retries) {
    note_.retried();
    tell_picker([&](picker_fast_path& f) { return f.retried(id); }, retry_atom_v, id);
    schedule_retry();
  } else {
    note_.ending(why);
    give_up();
  }
}

/// Waits the backoff of this retry, then picks again (busy meanwhile, so that a client
/// leaving does not end the session before the wait is over).
template <class Self>
void session_flow<Self>::schedule_retry() {
  busy_ = true;
  auto wait = deps_.cfg.backoff.delay_drawn(static_cast<uint32_t>(tried_.size() - 1), rng_);
  if (wait.count() <= 0) {
    retry();
    return;
  }
  send_later(self_, wait, retry_atom_v);
}

template <class Self>
void session_flow<Self>::retry() {
  busy_ = false;
  if (transport_.finished()) {
    maybe_quit();
    return;
  }
  request_pick();
}

/// Closes both sides when an idle timeout expired (the listener's sweep asks).
template <class Self>
void session_flow<Self>::check_idle() {
  if (transport_.finished()) {
    return;
  }
  auto expiry = idle_check(transport_.activity(), self_->clock().now(), deps_.cfg.timeouts);
  if (expiry == idle_expiry::none) {
    return;
  }
  note_.ending(expiry);
  transport_.abort();
  maybe_quit();
}

/// No backend could be had: close the client at once.
template <class Self>
void session_flow<Self>::give_up() {
  gave_up_ = true;
  note_.ending(termination::connect_failed);  // unless a more precise reason came first
  transport_.close_client();
  report();
  self_->quit();
}

template <class Self>
void session_flow<Self>::maybe_quit() {
  if (!busy_) {
    report();
    self_->quit();
  }
}

template <class Self>
void session_flow<Self>::report() {
  if (deps_.access_log) {
    deps_.access_log.post(
        note_.finish(backend_id_, transport_.bytes_up(), transport_.bytes_down()));
  }
  // A client that left before any backend was tried is not the backends' business.
  if (backend_id_.empty() && !gave_up_) {
    return;
  }
  protocols::session_finished msg{backend_id_, transport_.bytes_up(), transport_.bytes_down(),
                                  transport_.backend_reset()};
  tell_picker([&](picker_fast_path& f) { return f.finished(msg); }, msg);
}

template class session_flow<caf::io::broker>;
template class session_flow<caf::event_based_actor>;

}  // namespace l4sim::actors
