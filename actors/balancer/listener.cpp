#include "actors/balancer/listener.hpp"

#include <malloc.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/event_handler.hpp>
#include <caf/send.hpp>

#include "actors/io/broker_base.hpp"
#include "actors/io/net.hpp"
#include "actors/io/system.hpp"

namespace l4sim::actors {

namespace {

namespace net = caf::io::network;

/// Accepts at most this many connections per wake-up, so one busy port cannot hog the loop.
constexpr size_t accept_batch = 64;

/// How long accepting stays paused after EMFILE/ENFILE when no session ends meanwhile.
constexpr auto exhausted_retry = std::chrono::milliseconds{250};

/// Watches the listening socket on CAF's multiplexer and accepts into a queue that the
/// listener drains (both run on the I/O thread). It accepts no more than its budget, then
/// leaves the rest in the kernel's backlog. It owns the listening socket (closed with it)
/// and deletes itself once stopped and out of the loop.
class accept_watch : public net::event_handler {
 public:
  accept_watch(net::default_multiplexer& mpx, int fd, caf::actor_addr listener)
      : net::event_handler(mpx, fd), listener_(std::move(listener)) {}

  ~accept_watch() override {
    for (int fd : accepted_) {
      ::close(fd);
    }
  }

  /// Allows `n` more sessions, counting those accepted but not yet taken; reading stops
  /// while the budget is 0 or resources ran out.
  void allow(size_t n) {
    budget_ = n > accepted_.size() ? n - accepted_.size() : 0;
    update();
  }

  /// Tries accepting again after a shortage.
  void retry() {
    exhausted_ = false;
    update();
  }

  /// Returns whether accept() last failed for want of fds or memory.
  bool exhausted() const { return exhausted_; }

  /// Returns the errno of the last shortage.
  int shortage() const { return shortage_; }

  /// Takes the connections accepted so far.
  std::vector<int> take() {
    notified_ = false;
    return std::exchange(accepted_, {});
  }

  /// Stops for good; the watch deletes itself (and closes the listening socket).
  void stop() {
    stopped_ = true;
    // The multiplexer calls removed_from_loop only if read interest was in effect (a
    // pending add that a del cancels leaves no trace); otherwise nothing refers to us.
    bool registered = (eventbf() & net::input_mask) != 0;
    backend().del(net::operation::read, fd(), this);
    if (!registered) {
      delete this;
    }
  }

  void handle_event(net::operation op) override {
    if (op != net::operation::read || stopped_) {
      return;
    }
    for (size_t i = 0; i < accept_batch && budget_ > 0; ++i) {
      int conn = ::accept4(fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (conn >= 0) {
        accepted_.push_back(conn);
        --budget_;
        continue;
      }
      auto err = errno;
      if (err == EINTR || err == ECONNABORTED || err == EPROTO) {
        continue;  // that one connection is gone; the next may be fine
      }
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        exhausted_ = true;
        shortage_ = err;
      }
      break;  // EAGAIN, a shortage, or something we cannot help
    }
    update();
    if ((!accepted_.empty() || exhausted_) && !notified_) {
      notified_ = true;
      if (auto listener = caf::actor_cast<caf::actor>(listener_)) {
        caf::anon_send(listener, accepted_atom_v);
      }
    }
  }

  void removed_from_loop(net::operation) override {
    if (stopped_) {
      delete this;
    }
  }

  void graceful_shutdown() override {}

 private:
  /// Registers or drops read interest to match budget and shortage. A level-triggered
  /// listening socket with connections waiting would otherwise wake the loop for nothing.
  void update() {
    bool want = !stopped_ && budget_ > 0 && !exhausted_;
    if (want == reading_) {
      return;
    }
    reading_ = want;
    if (want) {
      backend().add(net::operation::read, fd(), this);
    } else {
      backend().del(net::operation::read, fd(), this);
    }
  }

  caf::actor_addr listener_;
  std::vector<int> accepted_;
  size_t budget_ = 0;
  bool reading_ = false;  // read interest wanted (registered or pending)
  bool stopped_ = false;
  bool exhausted_ = false;
  bool notified_ = false;
  int shortage_ = 0;
};

class listener : public broker_base {
 public:
  listener(caf::actor_config& acfg, listener_config cfg, int fd)
      : broker_base(acfg), cfg_(std::move(cfg)), fd_(fd) {}

  caf::behavior make_behavior() override {
    auto& mpx = static_cast<net::default_multiplexer&>(backend());
    watch_ = new accept_watch(mpx, fd_, address());
    update_budget();
    set_exit_handler([this](caf::exit_msg& msg) {
      if (sessions_.erase(msg.source) == 0) {
        quit(std::move(msg.reason));  // not a session: our owner is going
        return;
      }
      trim_due_ = true;
      if (watch_ != nullptr && watch_->exhausted()) {
        watch_->retry();  // a session's fds are free again
      }
      update_budget();
    });
    sweep_ = cfg_.sessions.cfg.timeouts.sweep_period();
    if (sweep_.count() > 0) {
      send_later(this, sweep_, caf::tick_atom_v);
    }
    return {
        [this](accepted_atom) { drain(); },
        [this](caf::timeout_atom) {
          retry_pending_ = false;
          if (watch_ != nullptr && watch_->exhausted()) {
            watch_->retry();
          }
        },
        [this](caf::tick_atom) {
          // Anonymous, like every message to a session: one in a session's mailbox when the
          // system stops would otherwise hold this listener, which holds the session.
          for (auto& kv : sessions_) {
            caf::anon_send(kv.second, caf::tick_atom_v);
          }
          if (sessions_.empty() && trim_due_) {
            // Hand the buffers of departed sessions back to the system: glibc keeps freed
            // memory of the I/O thread's arena (measured: 1.1 GB RSS kept after 2,000 slow
            // sessions had left, 9 MB before they came).
            trim_due_ = false;
            ::malloc_trim(0);
          }
          send_later(this, sweep_, caf::tick_atom_v);
        },
        [this](caf::close_atom) { stop_accepting(); },
        [this](caf::delete_atom, const std::string& backend) {
          for (auto& kv : sessions_) {
            caf::anon_send(kv.second, caf::delete_atom_v, backend);
          }
        },
        [this](caf::get_atom, stats_atom) { return static_cast<uint64_t>(sessions_.size()); },
        [this](caf::get_atom, sessions_atom) {
          std::vector<caf::actor> result;
          for (auto& kv : sessions_) {
            result.push_back(kv.second);
          }
          return result;
        },
    };
  }

 private:
  void on_exit() override {
    stop_accepting();
    // Strong handles to the sessions and to the picker/dialer would keep this object and
    // theirs alive after everything stopped.
    sessions_.clear();
    cfg_.sessions = session_deps{};
  }

  void stop_accepting() {
    if (watch_ != nullptr) {
      for (int fd : watch_->take()) {
        ::close(fd);
      }
      watch_->stop();
      watch_ = nullptr;
    }
  }

  void drain() {
    if (watch_ == nullptr) {
      return;
    }
    auto fds = watch_->take();
    if (!fds.empty()) {
      // One message per batch, not per connection (none when the fast path takes the
      // count): the picker only counts them.
      auto n = static_cast<uint64_t>(fds.size());
      if (!cfg_.sessions.fast || !cfg_.sessions.fast->accepted(n)) {
        send(cfg_.sessions.picker, accepted_atom_v, n);
      }
    }
    for (int fd : fds) {
      // The direct pump owns the bare socket; only the broker pump reads through a scribe.
      auto hdl = client_needs_scribe(cfg_.sessions.cfg.pump.kind)
                     ? add_scribe(fd)
                     : caf::io::connection_handle::from_int(fd);
      auto session = spawn_session(this, hdl, cfg_.sessions);
      sessions_.emplace(session.address(), session);
    }
    if (watch_->exhausted()) {
      // Once per shortage, and then every 100th, so that a long siege cannot flood the log.
      if (!in_shortage_ && shortages_++ % 100 == 0 && cfg_.log) {
        log_line(fmt::format(
            "[{}] accept: {}; paused until a session ends (or {} ms), "
            "shortage {}",
            cfg_.id, std::strerror(watch_->shortage()), exhausted_retry.count(), shortages_));
      }
      in_shortage_ = true;
      if (!retry_pending_) {
        retry_pending_ = true;
        send_later(this, exhausted_retry, caf::timeout_atom_v);
      }
    } else if (!fds.empty()) {
      in_shortage_ = false;
    }
    update_budget();
  }

  /// Lets the watch accept up to the cap.
  void update_budget() {
    if (watch_ == nullptr) {
      return;
    }
    size_t limit = cfg_.max_conns == 0 ? SIZE_MAX : cfg_.max_conns;
    watch_->allow(sessions_.size() >= limit ? 0 : limit - sessions_.size());
  }

  listener_config cfg_;
  int fd_;
  accept_watch* watch_ = nullptr;  // owned by the multiplexer's loop
  caf::timespan sweep_{0};
  bool retry_pending_ = false;
  bool in_shortage_ = false;
  bool trim_due_ = false;  // sessions ended since memory was last handed back
  uint64_t shortages_ = 0;
  std::unordered_map<caf::actor_addr, caf::actor> sessions_;
};

}  // namespace

caf::expected<listener_handle> spawn_listener(caf::actor_system& sys, listener_config cfg) {
  auto fd = open_listener(cfg.host, cfg.port, 4096, cfg.reuse_port);
  if (!fd) {
    return fd.error();
  }
  auto port = local_port_of(*fd);
  caf::actor_config acfg{&sys.middleman().backend()};
  auto hdl = sys.spawn_class<listener, caf::no_spawn_options>(acfg, std::move(cfg), *fd);
  return listener_handle{caf::actor_cast<listener_actor>(hdl), port};
}

caf::expected<std::shared_ptr<listener_loops>> listener_loops::spawn(size_t n, listener_config cfg,
                                                                     scheduler_kind scheduler) {
  auto loops = std::make_shared<listener_loops>();
  cfg.reuse_port = true;
  for (size_t i = 0; i < n; ++i) {
    auto acfg = std::make_unique<caf::actor_system_config>();
    configure_system(*acfg);
    configure_scheduler(*acfg, scheduler);
    // Its actors run on the middleman's thread; the picker they talk to lives in the main
    // system, so one scheduler thread is plenty here.
    acfg->set("scheduler.max-threads", 1);
    auto sys = std::make_unique<caf::actor_system>(*acfg);
    auto dialer = spawn_dialer(*sys);
    auto lcfg = cfg;
    lcfg.sessions.dialer = dialer;
    auto listener = spawn_listener(*sys, lcfg);
    loops->cfgs_.push_back(std::move(acfg));
    loops->systems_.push_back(std::move(sys));
    loops->dialers_.push_back(caf::actor_cast<caf::actor>(dialer));
    if (!listener) {
      return listener.error();  // `loops` stops what started
    }
    loops->listeners_.push_back(listener->actor);
  }
  widen_loop_pipes();  // one pass over the fds for every loop's pipe
  return loops;
}

void listener_loops::close() const {
  for (auto& l : listeners_) {
    caf::anon_send(l, caf::close_atom_v);
  }
}

void listener_loops::stop() const {
  for (auto& l : listeners_) {
    caf::anon_send_exit(l, caf::exit_reason::user_shutdown);
  }
  for (auto& d : dialers_) {
    caf::anon_send_exit(d, caf::exit_reason::user_shutdown);
  }
}

listener_loops::~listener_loops() {
  stop();
  listeners_.clear();
  dialers_.clear();
  // Each system's destructor waits for its actors; then the configs may go.
  while (!systems_.empty()) {
    systems_.pop_back();
  }
}

}  // namespace l4sim::actors
