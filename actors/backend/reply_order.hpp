#pragma once

// When a backend's replies leave one connection: pure, no sockets, no clock. Every reply
// but STREAM_ACK waits the backend's delay (plus, on a connection's first reply, its hang)
// and replies leave in the order of their requests, so a held reply holds back the ones
// behind it; STREAM_ACK is never held and may overtake. The broker asks `on_request` what
// to do with a request, arms a timer for a held reply, and calls `on_due` when it fires.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <caf/timespan.hpp>

#include "protocols/line/line_codec.hpp"

namespace l4sim::actors {

/// The reply order of one connection.
class reply_order {
 public:
  /// What to do with one request's reply.
  struct decision {
    std::vector<std::string> send_now;  ///< replies to write at once, in order
    std::optional<uint64_t> hold_seq;   ///< set: arm a timer for this reply...
    caf::timespan hold{0};              ///< ...of this length, then call on_due
  };

  /// A request of `kind` came in whose reply is `text`, under the backend's current
  /// `delay` and `hang`.
  decision on_request(protocols::command_kind kind, std::string text, caf::timespan delay,
                      caf::timespan hang);

  /// The hold of reply `seq` is over; returns the replies that may now leave, in order.
  std::vector<std::string> on_due(uint64_t seq);

  /// Returns how many replies wait.
  size_t waiting() const { return queue_.size(); }

 private:
  struct pending {
    uint64_t seq = 0;
    std::string text;
    bool ready = false;
  };

  std::vector<std::string> take_ready();

  bool replied_ = false;
  uint64_t next_seq_ = 0;
  std::deque<pending> queue_;
};

}  // namespace l4sim::actors
