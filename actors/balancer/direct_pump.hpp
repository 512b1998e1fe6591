#pragma once

// The second byte pump: moves bytes between the client and the backend socket with two
// event handlers of its own on the session's CAF multiplexer, one per socket, instead of
// CAF scribes. The session is a broker and runs on that multiplexer's thread, so the
// handlers' callbacks and the session's message handlers never run at the same time and
// share the pump without locks.
//
// Reads go through one per-thread scratch buffer and are written straight to the other
// socket (write-through); only what the kernel did not take is queued, and a queue's
// memory is freed once it drains, so an idle connection holds no buffer. Past
// `high_water` bytes queued toward one side, the other side is no longer read until the
// queue drains below `low_water`. A FIN (recv() == 0) becomes ::shutdown(SHUT_WR) on the
// other socket once everything read before it was written; a reset (ECONNRESET, EPOLLERR)
// stops the direction toward the side that reset at once, and, once what was read from it
// went out, resets the other socket too (SO_LINGER {1,0} and a disconnect). Two fds per
// proxied connection, no dup().
//
// With `pump_kind::splice` a bulk read (the previous one from that socket brought 16 KiB or
// more) whose bytes can go straight on is moved by splice(2) through a pipe instead of
// recv()/send() through user memory: the socket's pages go to the pipe and from it to the
// other socket without a copy into the process; small reads keep recv()/send(). The pipe comes
// from a per-thread pool and goes back as soon as it is empty, so only a direction whose
// destination did not take everything holds one (2 more fds, until it drains); bytes in a
// pipe count as queued for back-pressure and always leave before bytes queued behind them.
//
// The pump owns the client's socket from the start (the listener makes no scribe for it)
// and the backend's from `attach_backend`; its handlers close them when the multiplexer
// has let go of them. It reports its end to the session as a message to self (the
// session may only quit while handling a message), handled by `handlers()`.

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include <sys/types.h>

#include <caf/io/connection_handle.hpp>
#include <caf/message_handler.hpp>

#include "actors/balancer/pump.hpp"

namespace l4sim::actors {

class direct_pump : public byte_pump {
 public:
  /// Starts reading from the socket `client.id()`, which the pump now owns; bytes wait
  /// until a backend is attached.
  direct_pump(caf::io::broker* self, caf::io::connection_handle client, pump_config cfg);

  /// Closes both sockets (after the multiplexer let go of them).
  ~direct_pump() override;

  direct_pump(const direct_pump&) = delete;
  direct_pump& operator=(const direct_pump&) = delete;

  void attach_backend(int fd) override;
  void hold_client() override;
  caf::message_handler handlers() override;
  void on_finished(std::function<void()> f) override { on_finished_ = std::move(f); }
  bool starved() const override { return false; }
  bool finished() const override { return finished_; }
  uint64_t bytes_up() const override { return bytes_up_; }
  uint64_t bytes_down() const override { return bytes_down_; }
  bool backend_reset() const override { return backend_.reset && !backend_.reset_sent; }
  uint64_t buffered() const override;
  session_activity activity() const override;
  void abort() override;

  class endpoint;  // a socket's event handler (direct_pump.cpp)

 private:
  struct side {
    endpoint* ep = nullptr;  // null until attached (backend) and after the socket is gone
    int fd = -1;
    bool attached = false;
    bool reading = false;     // no EOF/reset read from it yet
    bool paused = false;      // not read for back-pressure or hold_client
    bool shut = false;        // nothing more goes to it (we shut its write side, or it failed)
    bool reset = false;       // its peer reset the connection
    bool fin_sent = false;    // we forwarded a FIN to it
    bool reset_sent = false;  // we passed the other side's reset on to it
    bool bulk = false;        // splice: its last read was large, so the next one is spliced
    std::vector<char> queue;  // bytes waiting to be written to it, from `head`
    size_t head = 0;
    int pipe_read = -1;  // splice: the pipe holding bytes for it that it did not take yet
    int pipe_write = -1;
    size_t piped = 0;  // bytes in that pipe; they go out before those in `queue`
    session_activity::time_point last_active{};
    size_t in_queue() const { return queue.size() - head; }
    size_t queued() const { return piped + in_queue(); }
  };

  friend class endpoint;

  side& other(const side& s) { return &s == &client_ ? backend_ : client_; }
  void on_readable(side& src);
  void on_writable(side& dst);
  void on_error(side& s);
  void deliver(side& src, side& dst, const char* data, size_t n);
  ssize_t copy_read(side& src, side& dst);
  void note_read(side& src, size_t n);
  ssize_t splice_read(side& src, side& dst);
  bool can_splice(const side& dst) const;
  bool send_piped(side& dst);
  bool flush(side& dst);
  void drop_queue(side& dst);
  void src_closed(side& src, bool reset);
  void stop_toward(side& dst);
  void pause(side& s);
  void resume(side& s);
  void update_write_interest(side& dst);
  void forward_eof_if_drained(side& src);
  void check_finished();
  void release(side& s);

  caf::io::broker* self_;
  pump_config cfg_;
  side client_;
  side backend_;
  uint64_t bytes_up_ = 0;
  uint64_t bytes_down_ = 0;
  bool finished_ = false;
  bool reported_ = false;
  std::optional<session_activity::time_point> half_closed_;
  std::function<void()> on_finished_;
};

}  // namespace l4sim::actors
