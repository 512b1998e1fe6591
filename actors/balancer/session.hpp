#pragma once

// The session: one actor per proxied connection. It owns the client's connection (a scribe
// moved in by the listener, or the bare socket for the direct pump), asks the picker for a
// backend, has the dialer connect, hands the socket to its byte pump
// (actors/balancer/pump.hpp: broker_pump or direct_pump, `pump_config::kind`) and, when a connect
// fails, retries another backend up to `retries` times, each after an exponential backoff with
// jitter (actors/balancer/retry_backoff.hpp), before closing the client. While the picker keeps it
// queued for a full backend (`queued_atom`) it reads nothing from its client. A connect that fails
// for a local reason (`local_failure`: no fds, buffers or ports here) is not the backend's fault:
// the pick is released, no failure is counted and the client is closed. On every
// `tick_atom` (the listener's sweep) it checks its idle timeouts (actors/balancer/idle_policy.hpp)
// and closes both sides when one expired. Those decisions (pick, dial, retry, accounting,
// lifecycle) are its `session_flow` (actors/balancer/session_flow.hpp), the same class the
// virtual balancer's sessions use (actors/vnet/vbalancer.hpp); the session itself is the
// flow's transport: moving bytes is the pump's, and with `send_proxy` it writes a PROXY
// protocol header (client address and port, and the balancer's address and port the client
// reached) to the backend socket before the pump adopts it, so it precedes every client
// byte. Every pick carries the client's IP address as the key of the hashing algorithms
// (hash, maglev).
//
// In: the pump's system messages, dial and pick results. Out: to the picker `opened`,
// `failed`, `close` (a pick released unused) and `session_finished` (bytes each way; an
// empty backend id when no backend could be had), `retry` (a failed connect is retried).
// To the access log, if any, one `access_record` in its batch when it ends
// (actors/balancer/access_log.hpp).
// `(get_atom, stats_atom)` answers the bytes it buffers now; `(delete_atom, id)` (the
// listener, at a removed backend's drain timeout) closes it if its backend is `id`. The
// listener links it.

#include <cstdint>

#include <caf/fwd.hpp>
#include <caf/io/connection_handle.hpp>
#include <caf/timespan.hpp>

#include "actors/balancer/access_log.hpp"
#include "actors/balancer/broker_pump.hpp"
#include "actors/balancer/picker.hpp"
#include "actors/balancer/retry_backoff.hpp"
#include "actors/io/dialer.hpp"
#include "protocols/proxy_protocol.hpp"

namespace l4sim::actors {

/// How sessions connect and buffer.
struct session_config {
  caf::timespan connect_timeout = std::chrono::milliseconds{1000};
  uint32_t retries = 2;  ///< further backends to try after a failed connect
  retry_backoff backoff{std::chrono::milliseconds{25}, std::chrono::milliseconds{250}};
  uint64_t seed = 1;  ///< seeds the backoff jitter (with the client's socket)
  caf::timespan queue_timeout = std::chrono::seconds{5};  ///< the picker's; bounds a pick
  session_timeouts timeouts;
  pump_config pump;
  /// PROXY protocol header written to each backend before any client byte (`none`: no
  /// header).
  protocols::proxy_version send_proxy = protocols::proxy_version::none;
};

/// What a session needs from the rest of the balancer.
struct session_deps {
  session_config cfg;
  picker_actor picker;
  dialer_actor dialer;
  access_log_handle access_log;  ///< gets an access_record when the session ends; off: empty
  /// Live sessions pick and report through it without a message when it is free (see
  /// picker_fast_path); none: every pick and report is a message (virtual runs).
  std::shared_ptr<picker_fast_path> fast;
};

/// Moves the scribe of `client` out of `owner` into a new session broker and links it to
/// `owner`.
caf::actor spawn_session(caf::io::broker* owner, caf::io::connection_handle client,
                         const session_deps& deps);

}  // namespace l4sim::actors
