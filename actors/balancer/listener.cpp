#include "actors/balancer/listener.hpp"

#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>

#include "actors/io/net.hpp"

namespace l4sim::actors {

namespace {

class listener : public caf::io::broker {
 public:
  listener(caf::actor_config& acfg, listener_config cfg, int fd)
      : caf::io::broker(acfg), cfg_(std::move(cfg)), fd_(fd) {}

  caf::behavior make_behavior() override {
    doorman_ = add_doorman(fd_);
    set_exit_handler([this](caf::exit_msg& msg) {
      if (sessions_.erase(msg.source) == 0) {
        quit(std::move(msg.reason));  // not a session: our owner is going
      }
    });
    return {
        [this](const caf::io::new_connection_msg& msg) {
          send(cfg_.sessions.picker, accepted_atom_v);
          auto session = spawn_session(this, msg.handle, cfg_.sessions);
          sessions_.emplace(session.address(), session);
        },
        [this](const caf::io::acceptor_closed_msg&) {},
        [this](caf::close_atom) { close(doorman_); },
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
    // Strong handles to the sessions and to the picker/dialer would keep this object and
    // theirs alive after everything stopped.
    sessions_.clear();
    cfg_.sessions = session_deps{};
  }

  listener_config cfg_;
  int fd_;
  caf::io::accept_handle doorman_;
  std::unordered_map<caf::actor_addr, caf::actor> sessions_;
};

}  // namespace

caf::expected<listener_handle> spawn_listener(caf::actor_system& sys, listener_config cfg) {
  auto fd = open_listener(cfg.host, cfg.port);
  if (!fd) {
    return fd.error();
  }
  auto port = local_port_of(*fd);
  caf::actor_config acfg{&sys.middleman().backend()};
  auto hdl = sys.spawn_class<listener, caf::no_spawn_options>(acfg, std::move(cfg), *fd);
  return listener_handle{caf::actor_cast<listener_actor>(hdl), port};
}

}  // namespace l4sim::actors
