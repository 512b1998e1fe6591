#pragma once

// When a proxied connection has been idle for too long, HAProxy-style. Pure: the session
// stamps activity from the actor clock and asks `idle_check` on a coarse sweep; nothing
// here reads a clock.
//
// Which timeout applies, first match wins (0 turns a timeout off):
// - one side half-closed: `client_fin`, counted from the later of the half-close and the
//   last activity on either side;
// - both sides have sent data: `tunnel`, counted from the last activity on either side;
// - otherwise per side: `client` from the client's last activity, `server` from the
//   backend's (once it is attached).
// Activity on a side is a byte read from it or a byte it accepted from us, so a reader that
// drains slowly is alive and one that stopped reading is idle.

#include <chrono>
#include <optional>

namespace l4sim::actors {

/// The idle timeouts of a proxied connection; zero turns one off.
struct session_timeouts {
  std::chrono::nanoseconds client{std::chrono::seconds{30}};
  std::chrono::nanoseconds server{std::chrono::seconds{30}};
  std::chrono::nanoseconds tunnel{std::chrono::hours{1}};
  std::chrono::nanoseconds client_fin{std::chrono::seconds{30}};

  /// Returns a sweep period fine enough for these timeouts (a quarter of the smallest, in
  /// [10 ms, 1 s]), or zero when every timeout is off.
  std::chrono::nanoseconds sweep_period() const;
};

/// What a session did and when, as stamped from the actor clock.
struct session_activity {
  using time_point = std::chrono::steady_clock::time_point;
  time_point client_last{};   ///< last byte read from or written to the client
  time_point backend_last{};  ///< the same for the backend, from when it was attached
  bool backend_attached = false;
  bool client_sent = false;               ///< the client sent at least one byte
  bool backend_sent = false;              ///< the backend sent at least one byte
  std::optional<time_point> half_closed;  ///< when the first side half-closed
};

/// Which timeout closed a session.
enum class idle_expiry { none, client, server, tunnel, client_fin };

/// Returns the name of an expiry, e.g. "client".
const char* to_string(idle_expiry x);

/// Returns which timeout has expired at `now`, or `none`.
idle_expiry idle_check(const session_activity& act, session_activity::time_point now,
                       const session_timeouts& t);

}  // namespace l4sim::actors
