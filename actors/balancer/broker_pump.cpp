#include "actors/balancer/broker_pump.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/io/broker.hpp>
#include <caf/io/system_messages.hpp>

#include "protocols/type_ids.hpp"

namespace l4sim::actors {

namespace {

using caf::io::connection_handle;

/// Whether the peer of `fd` reset the connection (as opposed to an orderly FIN).
bool was_reset(int fd) {
  tcp_info info{};
  socklen_t len = sizeof(info);
  if (fd < 0 || ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
    return true;
  }
  return info.tcpi_state == TCP_CLOSE;
}

int native(connection_handle hdl) {
  return static_cast<int>(hdl.id());
}

/// Resets the connection of `fd` now. Closing with SO_LINGER {1,0} sends a RST only when
/// the last fd of the socket closes, and the pump holds two whose CAF close would send a
/// FIN first; a connect() to AF_UNSPEC disconnects the socket at once, which sends the RST.
/// The linger stays set so that the final close does not linger either.
void reset_socket(int fd) {
  linger abortive{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abortive, sizeof(abortive));
  sockaddr unspec{};
  unspec.sa_family = AF_UNSPEC;
  ::connect(fd, &unspec, sizeof(unspec));
}

}  // namespace

broker_pump::broker_pump(caf::io::broker* self, connection_handle client, pump_config cfg)
    : self_(self), cfg_(cfg) {
  if (!adopt(client_, client, native(client))) {
    // Out of fds for the twin: close the client, and finish only when its scribe reports
    // the end. A broker that quits right after adopting a scribe can beat the scribe's
    // activation on the loop, and that scribe then keeps its fd forever (measured: every
    // such session leaked one).
    starved_ = true;
    client_.reading = true;
    ::shutdown(native(client), SHUT_RDWR);
  }
  client_.last_active = self_->clock().now();
}

bool broker_pump::adopt(side& s, connection_handle reader, int fd) {
  s.reader = reader;
  s.reading = true;
  s.attached = true;
  // An idle scribe pins its read buffer, and a CAF 0.17 scribe starts with 1 KiB that a
  // smaller policy does not give back: start there (idle memory: 13.3 kB per proxied
  // connection with 4 KiB) and grow on full reads.
  s.read_size = cfg_.min_read;
  self_->configure_read(reader, caf::io::receive_policy::at_most(s.read_size));
  // The write-only twin: lets the pump keep writing after the reader saw EOF.
  int twin = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (twin < 0) {
    s.reading = false;
    s.shut = true;
    return false;
  }
  s.writer = self_->add_scribe(twin);
  s.writer_fd = twin;
  self_->halt(s.writer);
  self_->ack_writes(s.writer, true);
  return true;
}

void broker_pump::attach_backend(int fd) {
  auto reader = self_->add_scribe(fd);
  if (!adopt(backend_, reader, fd)) {
    // Out of fds: close both connections rather than relay one way only, and finish when
    // both scribes report the end (see the constructor).
    backend_.reading = true;
    ::shutdown(fd, SHUT_RDWR);
    if (client_.writer_fd >= 0) {
      ::shutdown(client_.writer_fd, SHUT_RDWR);
    }
    return;
  }
  backend_.last_active = self_->clock().now();
  if (!early_.empty()) {
    self_->write(backend_.writer, early_.size(), early_.data());
    self_->flush(backend_.writer);
    backend_.pending = early_.size();
    early_.clear();
    early_.shrink_to_fit();
  }
  if (client_.paused && backend_.pending <= cfg_.high_water) {
    resume(client_);
  }
  forward_eof_if_drained(client_);
  check_finished();
}

caf::message_handler broker_pump::handlers() {
  return {
      [this](const caf::io::new_data_msg& msg) {
        if (auto* s = by_reader(msg.handle)) {
          on_data(*s, msg.buf);
        }
      },
      [this](const caf::io::data_transferred_msg& msg) {
        if (auto* s = by_writer(msg.handle)) {
          on_transferred(*s, msg.written, msg.remaining);
        }
      },
      [this](const caf::io::connection_closed_msg& msg) {
        if (auto* s = by_reader(msg.handle)) {
          on_reader_closed(*s);
        } else if (auto* w = by_writer(msg.handle)) {
          on_writer_failed(*w);
        }
      },
      [this](resume_atom, bool client_side) { resume(client_side ? client_ : backend_); },
  };
}

uint64_t broker_pump::buffered() const {
  return client_.pending + backend_.pending + early_.size();
}

session_activity broker_pump::activity() const {
  session_activity act;
  act.client_last = client_.last_active;
  act.backend_last = backend_.last_active;
  act.backend_attached = backend_.attached;
  act.client_sent = bytes_up_ > 0;
  act.backend_sent = bytes_down_ > 0;
  act.half_closed = half_closed_;
  return act;
}

void broker_pump::abort() {
  for (auto* s : {&client_, &backend_}) {
    if (s->writer_fd >= 0 && !finished_) {
      ::shutdown(s->writer_fd, SHUT_RDWR);
    }
  }
  finished_ = true;
}

broker_pump::side* broker_pump::by_reader(connection_handle hdl) {
  if (client_.reading && hdl == client_.reader) {
    return &client_;
  }
  if (backend_.reading && hdl == backend_.reader) {
    return &backend_;
  }
  return nullptr;
}

broker_pump::side* broker_pump::by_writer(connection_handle hdl) {
  if (client_.writer_fd >= 0 && hdl == client_.writer) {
    return &client_;
  }
  if (backend_.writer_fd >= 0 && hdl == backend_.writer) {
    return &backend_;
  }
  return nullptr;
}

void broker_pump::on_data(side& src, const std::vector<char>& buf) {
  auto& dst = other(src);
  (&src == &client_ ? bytes_up_ : bytes_down_) += buf.size();
  src.last_active = self_->clock().now();
  if (dst.shut) {
    return;  // the destination is gone; what it can no longer receive is dropped
  }
  if (!dst.attached) {
    early_.insert(early_.end(), buf.begin(), buf.end());
    if (early_.size() > cfg_.high_water) {
      pause(src);
    }
    return;
  }
  self_->write(dst.writer, buf.size(), buf.data());
  self_->flush(dst.writer);
  dst.pending += buf.size();
  if (dst.pending > cfg_.high_water) {
    pause(src);
  }
  // Start small (an idle scribe pins its read buffer) and grow for bulk transfers.
  if (buf.size() >= src.read_size && src.read_size < cfg_.max_read) {
    src.read_size = std::min(src.read_size * 2, cfg_.max_read);
    self_->configure_read(src.reader, caf::io::receive_policy::at_most(src.read_size));
  }
}

void broker_pump::on_transferred(side& dst, uint64_t written, uint64_t remaining) {
  dst.pending = remaining;
  if (written > 0) {
    dst.last_active = self_->clock().now();
  }
  auto& src = other(dst);
  if (src.paused && dst.pending <= cfg_.low_water) {
    // A direct trigger() here can be lost when the reader was halted in this same loop
    // pass (CAF 0.17 loses it): resume through the mailbox instead.
    self_->send(caf::actor_cast<caf::actor>(self_), resume_atom_v, &src == &client_);
  }
  forward_eof_if_drained(src);
  check_finished();
}

void broker_pump::on_reader_closed(side& src) {
  src.reading = false;
  src.paused = false;
  auto& dst = other(src);
  // After our FIN, the peer's FIN also leaves the socket in CLOSE (it moves to TIME_WAIT
  // behind the fd's back): a reset then looks the same and is taken for a FIN.
  src.reset = !src.fin_sent && was_reset(src.writer_fd);
  if (!src.reset && !half_closed_) {
    half_closed_ = self_->clock().now();
  }
  if (src.reset) {
    if (!dst.attached && &src == &client_) {
      finished_ = true;
      if (on_finished_) {
        on_finished_();
      }
      return;
    }
    // Nothing more can reach the side that reset; what it sent before still goes out.
    stop_toward(src);
  }
  forward_eof_if_drained(src);
  check_finished();
}

void broker_pump::on_writer_failed(side& dst) {
  dst.writer_fd = -1;
  stop_toward(dst);
  check_finished();
}

void broker_pump::stop_toward(side& dst) {
  dst.shut = true;
  dst.pending = 0;
  auto& src = other(dst);
  if (src.reading && src.attached) {
    self_->halt(src.reader);
    src.paused = true;
  }
}

void broker_pump::pause(side& s) {
  if (!s.paused && s.reading) {
    self_->halt(s.reader);
    s.paused = true;
  }
}

void broker_pump::resume(side& s) {
  if (s.paused && s.reading && !other(s).shut) {
    s.paused = false;
    self_->trigger(s.reader);
  }
}

void broker_pump::forward_eof_if_drained(side& src) {
  auto& dst = other(src);
  if (src.reading || dst.shut || !dst.attached || dst.pending > 0) {
    return;
  }
  if (src.reset) {
    reset_socket(dst.writer_fd);
    dst.reset_sent = true;
  } else {
    ::shutdown(dst.writer_fd, SHUT_WR);
    dst.fin_sent = true;
  }
  dst.shut = true;
}

void broker_pump::check_finished() {
  if (finished_) {
    return;
  }
  // Each direction ends when nothing more can be read for it or delivered by it.
  auto direction_done = [](const side& src, const side& dst) {
    return dst.shut && (!src.reading || src.paused);
  };
  if (direction_done(client_, backend_) && direction_done(backend_, client_)) {
    finished_ = true;
    if (on_finished_) {
      on_finished_();
    }
  }
}

}  // namespace l4sim::actors
