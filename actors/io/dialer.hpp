#pragma once

// The dialer: connects to TCP endpoints without ever blocking CAF's I/O loop. CAF 0.17's
// add_tcp_scribe(host, port) calls a blocking connect() with no timeout, so one
// black-holed backend would freeze every broker. The dialer starts a non-blocking
// connect, watches the socket for writability on the multiplexer (a custom event
// handler, no extra thread), and answers with the connected socket or an error once the
// connect finishes or its timeout passes.
//
// In: connect requests (numeric address, port, timeout). Out: `dialed_socket` or an
// `l4_errc` error (upstream_connect_failed, upstream_timeout, or local_failure when this
// process ran short of fds, buffers or ports, which says nothing about the peer). It runs
// on the I/O thread as a broker without sockets of its own; owners stop it with an exit
// message.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include "protocols/type_ids.hpp"

namespace l4sim::actors {

/// A connected socket in transit from the dialer to whoever asked for it. It closes the
/// socket when the last copy goes away unless `release()` took it, so a reply that
/// reaches a dead requester leaks nothing.
class dialed_socket {
 public:
  dialed_socket() = default;

  /// Takes ownership of `fd`.
  explicit dialed_socket(int fd);

  /// Hands the socket over to the caller; -1 if it was already taken.
  int release();

  /// Returns whether a socket (or a virtual connection) is still held.
  bool valid() const;

  /// A connection of the virtual network (actors/vnet/vnet.hpp) instead of a socket: no
  /// fd. `drop` closes it when the last copy goes away unless `release_virtual()` took it.
  static dialed_socket virtual_connection(uint64_t id, std::function<void(uint64_t)> drop);

  /// Hands a virtual connection over to the caller; 0 if none is held.
  uint64_t release_virtual();

 private:
  struct owner;
  std::shared_ptr<owner> owner_;
};

}  // namespace l4sim::actors

// A socket is meaningful only inside this process: it never crosses the middleman.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(l4sim::actors::dialed_socket)

namespace l4sim::actors {

/// The dialer's interface: connect to a numeric address within a timeout, optionally from
/// a numeric local source address (the last string).
using dialer_actor = caf::typed_actor<
    caf::replies_to<caf::connect_atom, std::string, uint16_t, caf::timespan>::with<dialed_socket>,
    caf::replies_to<caf::connect_atom, std::string, uint16_t, caf::timespan,
                    std::string>::with<dialed_socket>>;

/// Spawns a dialer on the actor system's I/O loop.
dialer_actor spawn_dialer(caf::actor_system& sys);

}  // namespace l4sim::actors
