#include "actors/io/dialer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>
#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/event_handler.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>

#include "actors/io/broker_base.hpp"
#include "actors/io/net.hpp"
#include "actors/io/system.hpp"
#include "protocols/errors.hpp"

namespace l4sim::actors {

struct dialed_socket::owner {
  int fd = -1;
  uint64_t virtual_id = 0;
  std::function<void(uint64_t)> drop;
  ~owner() {
    if (fd >= 0) {
      ::close(fd);
    }
    if (virtual_id != 0 && drop) {
      drop(virtual_id);
    }
  }
};

dialed_socket::dialed_socket(int fd) : owner_(std::make_shared<owner>()) {
  owner_->fd = fd;
}

int dialed_socket::release() {
  if (!owner_) {
    return -1;
  }
  auto fd = owner_->fd;
  owner_->fd = -1;
  return fd;
}

bool dialed_socket::valid() const {
  return owner_ && (owner_->fd >= 0 || owner_->virtual_id != 0);
}

dialed_socket dialed_socket::virtual_connection(uint64_t id, std::function<void(uint64_t)> drop) {
  dialed_socket result;
  result.owner_ = std::make_shared<owner>();
  result.owner_->virtual_id = id;
  result.owner_->drop = std::move(drop);
  return result;
}

uint64_t dialed_socket::release_virtual() {
  return owner_ ? std::exchange(owner_->virtual_id, 0) : 0;
}

namespace {

namespace net = caf::io::network;
using protocols::l4_errc;

/// The dialer as its connect watches see it. The dialer clears it when it exits: a watch
/// the multiplexer has not let go of yet then keeps nothing of the dialer alive.
struct dialer_link {
  caf::actor_addr dialer;
};

/// Watches one connecting socket for writability on CAF's multiplexer and tells the
/// dialer when it fires. Deletes itself once the multiplexer has let go of it.
///
/// It reaches the dialer only through the shared link: a strong handle back made a cycle
/// (the dialer's pending table points at the watch) that kept both alive when the system
/// stopped with a connect still in flight.
class connect_watch : public net::event_handler {
 public:
  connect_watch(net::default_multiplexer& mpx, int fd, std::shared_ptr<dialer_link> link,
                uint64_t id)
      : net::event_handler(mpx, net::invalid_native_socket), link_(std::move(link)), id_(id) {
    // Given the fd only now, past CAF's constructor and its fcntl and setsockopt calls: a
    // watch only waits for writability, start_connect made the socket non-blocking, and
    // whoever takes the socket (a scribe, a pump) sets its own options.
    fd_ = fd;
  }

  void start() { backend().add(net::operation::write, fd(), this); }

  /// Stops watching; the multiplexer then removes and deletes this handler, which closes
  /// its socket.
  void stop() {
    stopped_ = true;
    backend().del(net::operation::write, fd(), this);
  }

  void handle_event(net::operation) override {
    if (!fired_ && !stopped_) {
      fired_ = true;
      if (auto dialer = caf::actor_cast<caf::actor>(link_->dialer)) {
        caf::anon_send(dialer, dialed_atom_v, id_);
      }
    }
  }

  void removed_from_loop(net::operation) override { delete this; }

  void graceful_shutdown() override {}

 private:
  std::shared_ptr<dialer_link> link_;
  uint64_t id_;
  bool fired_ = false;
  bool stopped_ = false;
};

/// Allocates a watch. A function of its own so that tests/lsan.supp can name exactly the
/// watches CAF 0.17.6 never deletes: a removal still queued when the multiplexer stops at
/// shutdown is dropped without calling removed_from_loop.
[[gnu::noinline]] connect_watch* make_connect_watch(net::default_multiplexer& mpx, int fd,
                                                    std::shared_ptr<dialer_link> link,
                                                    uint64_t id) {
  return new connect_watch(mpx, fd, std::move(link), id);
}

/// A connect in flight.
struct pending_dial {
  connect_watch* watch = nullptr;
  int fd = -1;
  std::string target;
  caf::response_promise promise;
  caf::actor_clock::time_point deadline;
};

class dialer : public broker_base {
 public:
  explicit dialer(caf::actor_config& cfg) : broker_base(cfg) {}

  caf::behavior make_behavior() override {
    return {
        [this](caf::connect_atom, const std::string& address, uint16_t port, caf::timespan timeout)
            -> caf::result<dialed_socket> { return dial(address, port, timeout, {}); },
        [this](caf::connect_atom, const std::string& address, uint16_t port, caf::timespan timeout,
               const std::string& source) -> caf::result<dialed_socket> {
          return dial(address, port, timeout, source);
        },
        [this](dialed_atom, uint64_t id) { finish(id, false); },
        [this](caf::timeout_atom) { expire(); },
    };
  }

  void on_exit() override {
    link_->dialer = caf::actor_addr{};
    for (auto& kv : pending_) {
      kv.second.watch->stop();
    }
    pending_.clear();
    deadlines_.clear();
  }

 private:
  caf::result<dialed_socket> dial(const std::string& address, uint16_t port, caf::timespan timeout,
                                  const std::string& source) {
    auto fd = start_connect(address, port, source);
    if (!fd) {
      return fd.error();
    }
    auto id = ++next_id_;
    auto& mpx = static_cast<net::default_multiplexer&>(backend());
    if (!link_->dialer) {
      link_->dialer = this->address();
    }
    auto* watch = make_connect_watch(mpx, *fd, link_, id);
    watch->start();
    auto& p = pending_[id];
    p.watch = watch;
    p.fd = *fd;
    p.target = fmt::format("{}:{}", address, port);
    p.promise = make_response_promise<dialed_socket>();
    p.deadline = clock().now() + timeout;
    deadlines_.emplace(p.deadline, id);
    arm();
    return p.promise;
  }

  /// Keeps one timer for the earliest deadline, not one per connect: a timer costs a
  /// wake-up of CAF's clock thread when set and a pipe write into the I/O loop when it
  /// fires, and on loopback nearly every connect finishes long before its deadline.
  void arm() {
    if (deadlines_.empty()) {
      return;
    }
    auto earliest = deadlines_.begin()->first;
    if (armed_ && *armed_ <= earliest) {
      return;  // a timer due no later than that is on its way
    }
    armed_ = earliest;
    auto wait = std::chrono::duration_cast<caf::timespan>(earliest - clock().now());
    send_later(this, std::max(wait, caf::timespan{0}), caf::timeout_atom_v);
  }

  /// Times out every connect whose deadline passed, then arms for the next.
  void expire() {
    auto now = clock().now();
    if (armed_ && *armed_ <= now) {
      armed_.reset();
    }
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      auto id = deadlines_.begin()->second;
      deadlines_.erase(deadlines_.begin());
      finish(id, true);
    }
    arm();
  }

  void finish(uint64_t id, bool timed_out) {
    auto i = pending_.find(id);
    if (i == pending_.end()) {
      return;
    }
    auto p = std::move(i->second);
    pending_.erase(i);
    deadlines_.erase({p.deadline, id});
    if (timed_out) {
      p.watch->stop();
      p.promise.deliver(caf::make_error(l4_errc::upstream_timeout,
                                        fmt::format("connect to {} timed out", p.target)));
      return;
    }
    auto rc = connect_result(p.fd);
    if (rc == 0) {
      // Hand over a duplicate: the multiplexer squashes pending registrations by fd number,
      // so the requester's scribe must not reuse the number this watch is leaving.
      int fd = ::fcntl(p.fd, F_DUPFD_CLOEXEC, 0);
      p.watch->stop();
      if (fd < 0) {
        auto err = errno;
        p.promise.deliver(caf::make_error(protocols::is_local_errno(err)
                                              ? l4_errc::local_failure
                                              : l4_errc::upstream_connect_failed,
                                          fmt::format("dup: {}", std::strerror(err))));
        return;
      }
      p.promise.deliver(dialed_socket{fd});
      return;
    }
    p.watch->stop();
    p.promise.deliver(caf::make_error(
        protocols::is_local_errno(rc) ? l4_errc::local_failure : l4_errc::upstream_connect_failed,
        fmt::format("connect to {}: {}", p.target, std::strerror(rc == EINPROGRESS ? EIO : rc))));
  }

  std::unordered_map<uint64_t, pending_dial> pending_;
  std::set<std::pair<caf::actor_clock::time_point, uint64_t>> deadlines_;  // of pending_
  std::optional<caf::actor_clock::time_point> armed_;  // when the timer on its way fires
  uint64_t next_id_ = 0;
  std::shared_ptr<dialer_link> link_ = std::make_shared<dialer_link>();
};

}  // namespace

dialer_actor spawn_dialer(caf::actor_system& sys) {
  caf::actor_config cfg{&sys.middleman().backend()};
  auto hdl = sys.spawn_class<dialer, caf::no_spawn_options>(cfg);
  return caf::actor_cast<dialer_actor>(hdl);
}

}  // namespace l4sim::actors
