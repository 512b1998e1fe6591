#pragma once

// The socket operations of the backend server and the client broker, behind one small
// interface so that the same broker code runs on real sockets (live runs) and on the
// virtual network (actors/vnet/vnet.hpp, `sim run --virtual`). The live implementation is
// what those brokers did inline before: CAF scribes and doormen plus a few syscalls.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/expected.hpp>
#include <caf/io/accept_handle.hpp>
#include <caf/io/connection_handle.hpp>

#include "actors/io/dialer.hpp"

namespace caf::io {
class broker;
}

namespace l4sim::actors {

/// What a broker does with its connections and its listener.
class broker_io {
 public:
  virtual ~broker_io() = default;

  /// Binds to the broker that uses it; called once, from its make_behavior.
  virtual void attach(caf::io::broker* self) = 0;

  /// Starts accepting on the listener this was made with.
  virtual caf::io::accept_handle start_listening() = 0;

  /// Listens again on `host:port` (a restarted backend).
  virtual caf::expected<caf::io::accept_handle> listen_again(const std::string& host,
                                                             uint16_t port) = 0;

  /// Stops accepting.
  virtual void close(caf::io::accept_handle hdl) = 0;

  /// Adopts a connection the dialer made.
  virtual caf::expected<caf::io::connection_handle> adopt(dialed_socket& s) = 0;

  /// Delivers at most `n` bytes per read.
  virtual void start_reading(caf::io::connection_handle hdl, size_t n) = 0;

  /// Queues bytes and flushes them.
  virtual void send(caf::io::connection_handle hdl, const char* data, size_t n) = 0;

  /// Asks for `data_transferred_msg` after writes.
  virtual void ack_writes(caf::io::connection_handle hdl) = 0;

  /// Closes gracefully: queued bytes still go out, then the peer sees a FIN.
  virtual void close(caf::io::connection_handle hdl) = 0;

  /// Shuts both directions down at once (a crashed process): queued replies are lost.
  virtual void abort(caf::io::connection_handle hdl) = 0;

  /// Returns `address:port` of the peer, or "?".
  virtual std::string peer(caf::io::connection_handle hdl) = 0;

  /// Returns whether the peer reset the connection (asked when it closed).
  virtual bool was_reset(caf::io::connection_handle hdl) = 0;
};

/// Real sockets on CAF's multiplexer; `listen_fd` is an open listening socket or -1.
std::unique_ptr<broker_io> make_live_io(int listen_fd = -1);

}  // namespace l4sim::actors
