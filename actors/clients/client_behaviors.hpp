#pragma once

// The five client behaviours as small pure state machines, apart from the connection
// shell (actors/client.hpp) that runs them. A behaviour decides what to send next, whether
// a reply is due, when to wake up and when it is done; it never touches a socket or a
// timer. Every random draw comes from the client's own seed, so a seed fixes them all.

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include <caf/timespan.hpp>

#include "protocols/client_messages.hpp"
#include "protocols/line/line_codec.hpp"

namespace l4sim::actors {

/// What the connection shell does after handing an event to a behaviour.
struct client_step {
  std::string send;                          ///< bytes to write now (may be empty)
  bool reply_due = false;                    ///< `send` ends a request: one reply line is due
  std::optional<caf::timespan> wake_after;   ///< call `on_wake` after this long
  std::optional<protocols::client_end> end;  ///< close now and end like this
};

/// One client kind's behaviour on an established connection.
class client_behavior {
 public:
  virtual ~client_behavior() = default;

  /// The connection is up; returns the first step.
  virtual client_step on_connected() = 0;

  /// A wake-up the last step asked for is due.
  virtual client_step on_wake() = 0;

  /// A reply line other than ERR arrived (the shell ends the client on ERR itself).
  virtual client_step on_reply(const protocols::reply& r) = 0;

  /// Returns whether being stopped by the end of the run is this kind's normal completion.
  virtual bool runs_until_stopped() const = 0;
};

/// Returns the default parameters of `kind` (the original tool's numbers).
protocols::client_profile default_profile(protocols::client_kind kind);

/// Creates the behaviour of `profile.kind` for the client `id`, drawing from `seed`.
std::unique_ptr<client_behavior> make_client_behavior(const protocols::client_profile& profile,
                                                      uint64_t id, uint64_t seed);

/// Decides how a connection the peer ended counts: `rst_seen` when the socket saw a reset,
/// `reply_due` when a request was still unanswered.
protocols::client_end classify_close(bool rst_seen, bool reply_due);

}  // namespace l4sim::actors
