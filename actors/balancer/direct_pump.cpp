#include "actors/balancer/direct_pump.hpp"

#include <cerrno>
#include <utility>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/actor_cast.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/event_handler.hpp>
#include <caf/send.hpp>

#include "protocols/type_ids.hpp"

namespace l4sim::actors {

namespace net = caf::io::network;

namespace {

/// Reads go through this buffer and straight on to the other socket; only what the
/// kernel does not take is copied into a queue. One per thread: every multiplexer (one
/// per I/O loop) has its own.
constexpr size_t scratch_size = 64 * 1024;
thread_local char scratch[scratch_size];

/// Reads per readiness event at most, so that one busy connection does not starve the
/// others on the loop.
constexpr int max_reads_per_event = 8;

/// With the splice pump, a direction moves its next read by splice(2) while its last read
/// brought at least this much: bulk streams then skip the copy through user memory, while
/// small requests and replies keep recv()/send(), which cost less per call (measured on
/// redis-benchmark PING/GET through lb: about 20% more CPU per request with every read
/// spliced).
constexpr size_t splice_min = 16 * 1024;

constexpr int read_bit = 1;
constexpr int write_bit = 2;

/// Resets the connection of `fd` now (see broker_pump.cpp's twin): SO_LINGER {1,0} so that
/// the final close does not linger, and a disconnect, which sends the RST at once.
void reset_socket(int fd) {
  linger abortive{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abortive, sizeof(abortive));
  sockaddr unspec{};
  unspec.sa_family = AF_UNSPEC;
  ::connect(fd, &unspec, sizeof(unspec));
}

/// Whether the peer of `fd` reset the connection although recv() reported an orderly end:
/// a reset that arrives right behind data can read as EOF, but it leaves the socket in
/// CLOSE where a FIN leaves it in CLOSE_WAIT.
bool closed_by_reset(int fd) {
  tcp_info info{};
  socklen_t len = sizeof(info);
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
    return true;
  }
  return info.tcpi_state == TCP_CLOSE;
}

bool would_block(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

/// Empty pipes for splice(2), one pool per I/O loop thread. A direction takes one for a
/// read and gives it back once everything in it went out, so a loop needs about one pipe
/// however many connections it relays; the few kept spare are closed when the thread ends.
class pipe_pool {
 public:
  pipe_pool() = default;
  pipe_pool(const pipe_pool&) = delete;
  pipe_pool& operator=(const pipe_pool&) = delete;

  ~pipe_pool() {
    for (auto [r, w] : spare_) {
      ::close(r);
      ::close(w);
    }
  }

  /// Returns an empty pipe {read end, write end}, or {-1, -1} when none can be made (out
  /// of fds: the caller copies through user memory instead).
  std::pair<int, int> take() {
    if (!spare_.empty()) {
      auto p = spare_.back();
      spare_.pop_back();
      return p;
    }
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
      return {-1, -1};
    }
    return {fds[0], fds[1]};
  }

  /// Takes back an empty pipe.
  void give_back(int r, int w) {
    if (spare_.size() < max_spare) {
      spare_.emplace_back(r, w);
    } else {
      ::close(r);
      ::close(w);
    }
  }

 private:
  static constexpr size_t max_spare = 4;
  std::vector<std::pair<int, int>> spare_;
};

thread_local pipe_pool pipes;

}  // namespace

/// One socket of the pump on the multiplexer. It owns the fd (event_handler's destructor
/// closes it) and deletes itself once the pump let go of it and the multiplexer removed
/// every registration it had: closing earlier could hand the fd number to a new socket
/// while a removal for the old one is still pending, and the multiplexer merges pending
/// changes by fd number.
class direct_pump::endpoint : public net::event_handler {
 public:
  endpoint(net::default_multiplexer& mpx, int fd, direct_pump* pump, bool client)
      : net::event_handler(mpx, net::invalid_native_socket), pump_(pump), client_(client) {
    // Given the fd only now: CAF's constructor would make it non-blocking again (two fcntl
    // calls; accept4() and the dialer's socket() made it so already) and set TCP_NODELAY,
    // which is set here once with the keep-alive CAF's scribes have.
    fd_ = fd;
    int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
  }

  void want_read(bool on) {
    if (on != read_) {
      read_ = on;
      if (on) {
        backend().add(net::operation::read, fd(), this);
      } else {
        backend().del(net::operation::read, fd(), this);
      }
    }
  }

  void want_write(bool on) {
    if (on != write_) {
      write_ = on;
      if (on) {
        backend().add(net::operation::write, fd(), this);
      } else {
        backend().del(net::operation::write, fd(), this);
      }
    }
  }

  /// Detaches from the pump and removes every registration; deletes itself now if the
  /// multiplexer holds none, else once it reported each removed.
  void dispose() {
    pump_ = nullptr;
    disposed_ = true;
    want_read(false);
    want_write(false);
    // What the multiplexer applied so far is what it will report removed.
    remaining_ = ((eventbf() & net::input_mask) != 0 ? read_bit : 0) |
                 ((eventbf() & net::output_mask) != 0 ? write_bit : 0);
    if (remaining_ == 0) {
      delete this;
    }
  }

  void handle_event(net::operation op) override {
    if (pump_ == nullptr) {
      return;  // an event of the same epoll batch, after the pump let go
    }
    auto& s = client_ ? pump_->client_ : pump_->backend_;
    switch (op) {
      case net::operation::read:
        pump_->on_readable(s);
        break;
      case net::operation::write:
        pump_->on_writable(s);
        break;
      case net::operation::propagate_error:
        // The multiplexer removes both registrations itself after this call.
        read_ = false;
        write_ = false;
        pump_->on_error(s);
        break;
    }
  }

  void removed_from_loop(net::operation op) override {
    if (!disposed_) {
      return;
    }
    remaining_ &= ~(op == net::operation::read ? read_bit : write_bit);
    if (remaining_ == 0) {
      delete this;
    }
  }

  void graceful_shutdown() override {}

 private:
  direct_pump* pump_;
  bool client_;
  bool read_ = false;
  bool write_ = false;
  bool disposed_ = false;
  int remaining_ = 0;
};

namespace {

/// Allocates an endpoint. A function of its own so that tests/lsan.supp can name the
/// endpoints CAF 0.17.6 never deletes: a removal still queued when the multiplexer stops
/// at shutdown is dropped without calling removed_from_loop.
[[gnu::noinline]] direct_pump::endpoint* make_endpoint(net::default_multiplexer& mpx, int fd,
                                                       direct_pump* pump, bool client) {
  return new direct_pump::endpoint(mpx, fd, pump, client);
}

net::default_multiplexer& multiplexer_of(caf::io::broker* self) {
  return static_cast<net::default_multiplexer&>(self->backend());
}

}  // namespace

direct_pump::direct_pump(caf::io::broker* self, caf::io::connection_handle client, pump_config cfg)
    : self_(self), cfg_(cfg) {
  client_.fd = static_cast<int>(client.id());
  client_.ep = make_endpoint(multiplexer_of(self), client_.fd, this, true);
  client_.attached = true;
  client_.reading = true;
  client_.last_active = self_->clock().now();
  client_.ep->want_read(true);
}

direct_pump::~direct_pump() {
  release(client_);
  release(backend_);
}

void direct_pump::release(side& s) {
  drop_queue(s);
  if (s.ep != nullptr) {
    auto* ep = s.ep;
    s.ep = nullptr;
    ep->dispose();
  }
}

void direct_pump::attach_backend(int fd) {
  if (backend_.attached) {
    ::close(fd);  // never happens: the session attaches once
    return;
  }
  backend_.fd = fd;
  backend_.ep = make_endpoint(multiplexer_of(self_), fd, this, false);
  backend_.attached = true;
  backend_.reading = true;
  backend_.last_active = self_->clock().now();
  if (finished_) {
    return;
  }
  backend_.ep->want_read(true);
  // Client bytes that arrived before the backend wait in its queue.
  if (backend_.queued() > 0 && !flush(backend_)) {
    return;
  }
  if (client_.paused && client_.reading && backend_.queued() <= cfg_.high_water) {
    resume(client_);
  }
  forward_eof_if_drained(client_);
  check_finished();
}

void direct_pump::hold_client() {
  pause(client_);
}

caf::message_handler direct_pump::handlers() {
  return {
      // The pump finished inside an event handler: the session may quit only from here.
      [this](finish_atom) {
        if (finished_ && !reported_) {
          reported_ = true;
          if (on_finished_) {
            on_finished_();
          }
        }
      },
  };
}

uint64_t direct_pump::buffered() const {
  return client_.queued() + backend_.queued();
}

session_activity direct_pump::activity() const {
  session_activity act;
  act.client_last = client_.last_active;
  act.backend_last = backend_.last_active;
  act.backend_attached = backend_.attached;
  act.client_sent = bytes_up_ > 0;
  act.backend_sent = bytes_down_ > 0;
  act.half_closed = half_closed_;
  return act;
}

void direct_pump::abort() {
  if (finished_) {
    return;
  }
  for (auto* s : {&client_, &backend_}) {
    if (s->ep != nullptr) {
      ::shutdown(s->fd, SHUT_RDWR);
      s->ep->want_read(false);
      s->ep->want_write(false);
    }
    drop_queue(*s);
    s->shut = true;
    s->reading = false;
  }
  finished_ = true;
  reported_ = true;  // abort() never calls on_finished
}

void direct_pump::on_readable(side& src) {
  if (!src.reading || src.paused) {
    return;
  }
  auto& dst = other(src);
  for (int i = 0; i < max_reads_per_event; ++i) {
    ssize_t n = 0;
    if (src.bulk && can_splice(dst)) {
      n = splice_read(src, dst);
    } else {
      n = copy_read(src, dst);
    }
    if (n > 0) {
      src.bulk = static_cast<size_t>(n) >= splice_min;
      if (src.paused || !src.reading || static_cast<size_t>(n) < scratch_size) {
        break;  // paused, or the socket is most likely drained: no EAGAIN round trip
      }
      continue;
    }
    if (n == 0) {
      // After our FIN, the peer's FIN also leaves the socket in CLOSE: not a reset then.
      src_closed(src, !src.fin_sent && closed_by_reset(src.fd));
      break;
    }
    auto err = errno;
    if (would_block(err)) {
      break;
    }
    src_closed(src, true);  // ECONNRESET, ETIMEDOUT, ...
    break;
  }
  check_finished();
}

ssize_t direct_pump::copy_read(side& src, side& dst) {
  auto n = ::recv(src.fd, scratch, scratch_size, 0);
  if (n > 0) {
    note_read(src, static_cast<size_t>(n));
    deliver(src, dst, scratch, static_cast<size_t>(n));
  }
  return n;
}

void direct_pump::note_read(side& src, size_t n) {
  (&src == &client_ ? bytes_up_ : bytes_down_) += n;
  src.last_active = self_->clock().now();
}

bool direct_pump::can_splice(const side& dst) const {
  // Only into an empty pipe and only with nothing queued ahead: bytes keep their order.
  return cfg_.kind == pump_kind::splice && dst.attached && !dst.shut && dst.queued() == 0;
}

ssize_t direct_pump::splice_read(side& src, side& dst) {
  auto [r, w] = pipes.take();
  if (r < 0) {
    return copy_read(src, dst);  // no fd for a pipe: this read goes through user memory
  }
  // The pipe is empty, so EAGAIN can only mean that the socket has nothing to read.
  auto n = ::splice(src.fd, nullptr, w, nullptr, scratch_size, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  if (n <= 0) {
    auto err = errno;
    pipes.give_back(r, w);
    errno = err;
    return n;
  }
  note_read(src, static_cast<size_t>(n));
  dst.pipe_read = r;
  dst.pipe_write = w;
  dst.piped = static_cast<size_t>(n);
  if (send_piped(dst) && dst.piped > 0) {
    update_write_interest(dst);  // the rest goes when the destination can take it
    if (dst.queued() > cfg_.high_water) {
      pause(src);
    }
  }
  return n;
}

bool direct_pump::send_piped(side& dst) {
  if (dst.pipe_read < 0) {
    return true;  // no pipe: nothing spliced toward `dst` is waiting
  }
  while (dst.piped > 0) {
    auto w = ::splice(dst.pipe_read, nullptr, dst.fd, nullptr, dst.piped,
                      SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (w < 0) {
      if (would_block(errno)) {
        return true;
      }
      stop_toward(dst);
      return false;
    }
    dst.piped -= static_cast<size_t>(w);
    dst.last_active = self_->clock().now();
  }
  pipes.give_back(dst.pipe_read, dst.pipe_write);
  dst.pipe_read = -1;
  dst.pipe_write = -1;
  return true;
}

void direct_pump::deliver(side& src, side& dst, const char* data, size_t n) {
  if (dst.shut) {
    return;  // the destination is gone; what it can no longer receive is dropped
  }
  if (dst.attached && dst.queued() == 0) {
    // Write-through: most reads leave here whole, never touching a queue.
    auto w = ::send(dst.fd, data, n, MSG_NOSIGNAL);
    if (w < 0) {
      auto err = errno;
      if (!would_block(err)) {
        stop_toward(dst);
        return;
      }
      w = 0;
    }
    if (w > 0) {
      dst.last_active = src.last_active;
    }
    data += w;
    n -= static_cast<size_t>(w);
    if (n == 0) {
      return;
    }
  }
  if (dst.queue.empty()) {
    dst.head = 0;
  }
  dst.queue.insert(dst.queue.end(), data, data + n);
  update_write_interest(dst);
  if (dst.queued() > cfg_.high_water) {
    pause(src);
  }
}

void direct_pump::on_writable(side& dst) {
  if (flush(dst)) {
    forward_eof_if_drained(other(dst));
  }
  check_finished();
}

bool direct_pump::flush(side& dst) {
  // Bytes in the pipe were read before any in the queue.
  if (!send_piped(dst)) {
    return false;
  }
  while (dst.piped == 0 && dst.in_queue() > 0) {
    auto w = ::send(dst.fd, dst.queue.data() + dst.head, dst.in_queue(), MSG_NOSIGNAL);
    if (w < 0) {
      auto err = errno;
      if (would_block(err)) {
        break;
      }
      stop_toward(dst);
      return false;
    }
    dst.head += static_cast<size_t>(w);
    dst.last_active = self_->clock().now();
  }
  if (dst.queued() == 0) {
    drop_queue(dst);  // an idle connection holds no buffer
  } else if (dst.head >= dst.queue.size() / 2) {
    dst.queue.erase(dst.queue.begin(), dst.queue.begin() + static_cast<ptrdiff_t>(dst.head));
    dst.head = 0;
  }
  update_write_interest(dst);
  auto& src = other(dst);
  if (src.paused && src.reading && dst.attached && dst.queued() <= cfg_.low_water) {
    resume(src);
  }
  return true;
}

void direct_pump::drop_queue(side& dst) {
  std::vector<char>{}.swap(dst.queue);
  dst.head = 0;
  if (dst.pipe_read >= 0) {
    // What is still in the pipe cannot be taken back out cheaply: the pipe goes.
    ::close(dst.pipe_read);
    ::close(dst.pipe_write);
    dst.pipe_read = -1;
    dst.pipe_write = -1;
    dst.piped = 0;
  }
}

void direct_pump::on_error(side& s) {
  // EPOLLERR/EPOLLHUP without readable or writable data: the connection is dead.
  if (s.reading) {
    src_closed(s, true);
  }
  if (!s.shut) {
    stop_toward(s);
  }
  check_finished();
}

void direct_pump::src_closed(side& src, bool reset) {
  src.reading = false;
  src.paused = false;
  if (src.ep != nullptr) {
    src.ep->want_read(false);
  }
  // A reset after we sent our FIN is the peer's close of a finished connection.
  src.reset = reset && !src.fin_sent;
  auto& dst = other(src);
  if (!src.reset && !half_closed_) {
    half_closed_ = self_->clock().now();
  }
  if (src.reset) {
    if (!dst.attached && &src == &client_) {
      // Nobody to tell: the client is gone before any backend was reached.
      src.shut = true;
      drop_queue(dst);
      dst.shut = true;
      return;
    }
    // Nothing more can reach the side that reset; what it sent before still goes out.
    if (!src.shut) {
      stop_toward(src);
    }
  }
  forward_eof_if_drained(src);
}

void direct_pump::stop_toward(side& dst) {
  dst.shut = true;
  drop_queue(dst);
  update_write_interest(dst);
  auto& src = other(dst);
  if (src.reading && src.attached) {
    pause(src);
  }
}

void direct_pump::pause(side& s) {
  if (!s.paused && s.reading) {
    s.paused = true;
    if (s.ep != nullptr) {
      s.ep->want_read(false);
    }
  }
}

void direct_pump::resume(side& s) {
  if (s.paused && s.reading && !other(s).shut) {
    s.paused = false;
    if (s.ep != nullptr) {
      s.ep->want_read(true);
    }
  }
}

void direct_pump::update_write_interest(side& dst) {
  if (dst.ep != nullptr) {
    dst.ep->want_write(!dst.shut && dst.queued() > 0);
  }
}

void direct_pump::forward_eof_if_drained(side& src) {
  auto& dst = other(src);
  if (src.reading || dst.shut || !dst.attached || dst.queued() > 0) {
    return;
  }
  if (src.reset) {
    reset_socket(dst.fd);
    dst.reset_sent = true;
  } else {
    ::shutdown(dst.fd, SHUT_WR);
    dst.fin_sent = true;
  }
  dst.shut = true;
  update_write_interest(dst);
}

void direct_pump::check_finished() {
  if (finished_) {
    return;
  }
  // Each direction ends when nothing more can be read for it or delivered by it.
  auto direction_done = [](const side& src, const side& dst) {
    return dst.shut && (!src.reading || src.paused);
  };
  if (direction_done(client_, backend_) && direction_done(backend_, client_)) {
    finished_ = true;
    for (auto* s : {&client_, &backend_}) {
      if (s->ep != nullptr) {
        s->ep->want_read(false);
        s->ep->want_write(false);
      }
    }
    caf::anon_send(caf::actor_cast<caf::actor>(self_), finish_atom_v);
  }
}

}  // namespace l4sim::actors
