#pragma once

#include <string>
#include <utility>

#include <caf/io/broker.hpp>

namespace l4sim::actors {

/// The base of every broker of ours: a caf::io::broker whose mailbox is closed when it
/// terminates.
///
/// CAF 0.17.6's abstract_broker::cleanup calls local_actor::cleanup and skips
/// scheduled_actor::cleanup, the one that closes and drains the mailbox. A broker's mailbox
/// therefore stays open after it terminated and keeps every message sent to it later. The
/// exit_msg and down_msg that links and monitors send name their sender with a strong
/// reference, so two linked brokers ending together (a listener and its sessions) each keep
/// the other's exit_msg, and with it the other, forever (LeakSanitizer: a `sim run` leaked its
/// listener and two sessions at exit, 1 run in 4 under load). Closing the mailbox the way
/// scheduled_actor does frees those messages and answers pending requests with an error.
class broker_base : public caf::io::broker {
 public:
  using caf::io::broker::broker;

  bool cleanup(caf::error&& reason, caf::execution_unit* host) override;

  /// Returns the peer address and port of `hdl`'s scribe or, for a connection without one
  /// (a socket the direct pump owns, actors/balancer/direct_pump.hpp), of the socket
  /// `hdl.id()`: one getpeername() for both.
  std::pair<std::string, uint16_t> remote_endpoint(caf::io::connection_handle hdl);
};

}  // namespace l4sim::actors
