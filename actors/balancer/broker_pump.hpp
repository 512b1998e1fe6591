#pragma once

// The byte pump of one proxied connection, built from CAF scribes: it moves bytes between
// the client and the backend socket both ways without looking at them.
//
// CAF 0.17 scribes cannot half-close (recv()==0 closes the scribe, and close() stops
// reading), so each socket gets two scribes: the reader (the original fd) and a
// write-only scribe on a dup()ed fd, halted so it never reads. A FIN from one side closes
// its reader; once everything read from it has been written, the pump shuts the other
// socket's write side with ::shutdown, which forwards the half-close. TCP_INFO tells a FIN
// (CLOSE_WAIT) from a reset (CLOSE): a reset stops the other direction at once, but what
// was already received still goes out, and then the other socket is reset too (a reset
// passes through as a reset: SO_LINGER {1,0} plus a disconnect, as the socket has two fds
// and CAF's close would send a FIN first). Back-pressure: past `high_water` bytes queued
// toward one side, the other side's reader halts until the queue drains below
// `low_water`; the resume travels as a message to self (a direct trigger can be lost).
// Costs four fds per proxied connection.

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include <caf/io/connection_handle.hpp>
#include <caf/message_handler.hpp>

#include "actors/balancer/idle_policy.hpp"
#include "actors/balancer/pump.hpp"

namespace caf::io {
class broker;
}

namespace l4sim::actors {

/// Relays one client connection to one backend socket inside a broker.
class broker_pump : public byte_pump {
 public:
  /// Starts reading from `client` (whose scribe `self` owns); bytes wait until a backend
  /// is attached. Out of fds for its write twin, it starts finished.
  broker_pump(caf::io::broker* self, caf::io::connection_handle client, pump_config cfg);

  /// Adopts the connected backend socket and starts relaying; out of fds for its write
  /// twin, it aborts and finishes.
  void attach_backend(int fd) override;

  /// Stops reading from the client until a backend is attached (a client waiting in a
  /// backend's queue sends nothing anywhere yet).
  void hold_client() override { pause(client_); }

  /// Returns the handlers for the pump's system messages, to chain into the broker's
  /// behaviour.
  caf::message_handler handlers() override;

  /// Sets what to call once both directions are finished (or the client vanished).
  void on_finished(std::function<void()> f) override { on_finished_ = std::move(f); }

  /// Returns whether the client's write twin could not be made (no fds): the pump only
  /// waits for the client's scribe to close, then finishes.
  bool starved() const override { return starved_; }

  /// Returns whether the pump is finished.
  bool finished() const override { return finished_; }

  /// Returns bytes read from the client.
  uint64_t bytes_up() const override { return bytes_up_; }

  /// Returns bytes read from the backend.
  uint64_t bytes_down() const override { return bytes_down_; }

  /// Returns whether the backend reset its connection (a reset we passed through from the
  /// client does not count): passive health counts it as a failure of the backend.
  bool backend_reset() const override { return backend_.reset && !backend_.reset_sent; }

  /// Returns the bytes queued in the balancer for both directions now.
  uint64_t buffered() const override;

  /// Returns when each side was last active, for the idle timeouts.
  session_activity activity() const override;

  /// Ends the relay at once: shuts both sockets down (each peer sees a FIN, queued bytes
  /// are dropped) and marks the pump finished without calling `on_finished`.
  void abort() override;

 private:
  struct side {
    caf::io::connection_handle reader;
    caf::io::connection_handle writer;
    int writer_fd = -1;
    bool attached = false;
    bool reading = false;     // its reader is open (no EOF/reset yet)
    bool paused = false;      // its reader is halted for back-pressure
    bool shut = false;        // we shut its write side or it is gone: nothing more goes to it
    bool reset = false;       // its peer reset the connection
    bool fin_sent = false;    // we forwarded a FIN to it
    bool reset_sent = false;  // we passed the other side's reset on to it
    uint64_t pending = 0;     // bytes queued toward it
    size_t read_size = 1024;
    session_activity::time_point last_active{};  // last byte read from or written to it
  };

  bool adopt(side& s, caf::io::connection_handle reader, int fd);
  side* by_reader(caf::io::connection_handle hdl);
  side* by_writer(caf::io::connection_handle hdl);
  side& other(const side& s) { return &s == &client_ ? backend_ : client_; }
  void on_data(side& src, const std::vector<char>& buf);
  void on_transferred(side& dst, uint64_t written, uint64_t remaining);
  void on_reader_closed(side& src);
  void on_writer_failed(side& dst);
  void pause(side& s);
  void resume(side& s);
  void stop_toward(side& dst);
  void forward_eof_if_drained(side& src);
  void check_finished();

  caf::io::broker* self_;
  pump_config cfg_;
  side client_;
  side backend_;
  std::vector<char> early_;  // client bytes that arrived before the backend
  uint64_t bytes_up_ = 0;
  uint64_t bytes_down_ = 0;
  bool finished_ = false;
  bool starved_ = false;
  std::optional<session_activity::time_point> half_closed_;
  std::function<void()> on_finished_;
};

}  // namespace l4sim::actors
