#include "actors/vnet/vnet.hpp"

#include <memory>
#include <optional>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/test_multiplexer.hpp>
#include <caf/io/system_messages.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <catch2/catch.hpp>

#include "actors/backend/backend_server.hpp"
#include "actors/io/system.hpp"

using namespace l4sim;
using namespace std::chrono_literals;

namespace {

/// An actor system on virtual time and CAF's test multiplexer, as `sim run --virtual` has.
struct virtual_world {
  static caf::actor_system_config& config(caf::actor_system_config& cfg) {
    actors::configure_system(cfg);
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("middleman.network-backend", caf::atom("testing"));
    return cfg;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys{config(cfg)};
  caf::scheduler::test_coordinator& sched =
      dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  caf::io::network::test_multiplexer& mpx =
      dynamic_cast<caf::io::network::test_multiplexer&>(sys.middleman().backend());
  std::shared_ptr<actors::vnet> net = std::make_shared<actors::vnet>();

  virtual_world() { sys.await_actors_before_shutdown(false); }

  /// Runs actors, brokers and timers until nothing is left; bounded in steps.
  void settle() {
    for (int i = 0; i < 100000; ++i) {
      if (sched.run() == 0 && !mpx.try_exec_runnable() && !sched.trigger_timeout()) {
        return;
      }
    }
    FAIL("the virtual world did not settle within 100000 steps");
  }
};

/// What a peer saw.
struct seen {
  std::string bytes;
  bool closed = false;
  bool reset = false;
  std::optional<std::string> dial_error;
};

/// Dials `port` through `dialer`, adopts the connection, sends `line` and records the rest.
caf::behavior peer(caf::event_based_actor* self, std::shared_ptr<actors::vnet> net,
                   actors::dialer_actor dialer, uint16_t port, std::string line,
                   std::shared_ptr<seen> out) {
  self->request(dialer, 5s, caf::connect_atom_v, std::string{"127.0.0.1"}, port, caf::timespan{1s})
      .then(
          [=](actors::dialed_socket& s) {
            auto id = s.release_virtual();
            net->adopt(id, self->address(), false);
            net->send(id, line.data(), line.size());
          },
          [=](const caf::error& err) { out->dial_error = actors::describe(err); });
  return {
      [=](const caf::io::new_data_msg& m) { out->bytes.append(m.buf.begin(), m.buf.end()); },
      [=](const caf::io::connection_closed_msg& m) {
        out->closed = true;
        out->reset = net->was_reset(static_cast<uint64_t>(m.handle.id()));
      },
  };
}

/// Records the ends a listener accepts and what arrives on them.
caf::behavior acceptor(caf::event_based_actor* self, std::shared_ptr<actors::vnet> net,
                       std::shared_ptr<seen> out) {
  return {
      [=](const caf::io::new_connection_msg& m) {
        net->adopt(static_cast<uint64_t>(m.handle.id()), self->address(), false);
      },
      [=](const caf::io::new_data_msg& m) { out->bytes.append(m.buf.begin(), m.buf.end()); },
      [=](const caf::io::connection_closed_msg& m) {
        out->closed = true;
        out->reset = net->was_reset(static_cast<uint64_t>(m.handle.id()));
      },
  };
}

}  // namespace

TEST_CASE("a virtual connect to a port nobody listens on is refused", "[vnet]") {
  virtual_world w;
  auto dialer = w.net->spawn_dialer(w.sys);
  auto out = std::make_shared<seen>();
  w.sys.spawn(peer, w.net, dialer, uint16_t{1}, std::string{"PING 1\n"}, out);
  w.settle();
  REQUIRE(out->dial_error);
  CHECK_THAT(*out->dial_error, Catch::Contains("Connection refused"));
  CHECK(w.net->open_connections() == 0);
  caf::anon_send_exit(dialer, caf::exit_reason::user_shutdown);
  w.settle();
}

TEST_CASE("the backend server answers on the virtual network; kill closes, restart listens",
          "[vnet]") {
  virtual_world w;
  auto bound = w.net->listen("127.0.0.1", 0);
  REQUIRE(bound);
  actors::backend_config bcfg;
  bcfg.port = bound->second;
  bcfg.log = false;
  auto backend = actors::spawn_backend_on(w.sys, bcfg, w.net->make_io(bound->first));
  auto dialer = w.net->spawn_dialer(w.sys);
  auto first = std::make_shared<seen>();
  // Held: an actor nobody references is gone (CAF ends it as unreachable), and the virtual
  // network refers to its ends' owners by address only.
  auto first_peer = w.sys.spawn(peer, w.net, dialer, bound->second, std::string{"PING 7\n"}, first);
  w.settle();
  CHECK(first->bytes == "PONG 7\n");
  CHECK_FALSE(first->closed);
  // A crashed backend: its connections end with a FIN, and new connects are refused.
  caf::anon_send(backend, kill_atom_v);
  w.settle();
  CHECK(first->closed);
  CHECK_FALSE(first->reset);
  auto refused = std::make_shared<seen>();
  w.sys.spawn(peer, w.net, dialer, bound->second, std::string{"PING 8\n"}, refused);
  w.settle();
  CHECK(refused->dial_error);
  caf::anon_send(backend, restart_atom_v);
  w.settle();
  auto again = std::make_shared<seen>();
  auto again_peer = w.sys.spawn(peer, w.net, dialer, bound->second, std::string{"PING 9\n"}, again);
  w.settle();
  CHECK_FALSE(again->dial_error);
  CHECK(again->bytes == "PONG 9\n");
  for (auto& x : {first_peer, again_peer}) {
    caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  }
  caf::anon_send_exit(backend, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(dialer, caf::exit_reason::user_shutdown);
  w.settle();
}

TEST_CASE("virtual bytes arrive in order, and FIN and RST reach the peer as such", "[vnet]") {
  virtual_world w;
  auto bound = w.net->listen("127.0.0.1", 0);
  REQUIRE(bound);
  auto at_server = std::make_shared<seen>();
  auto server = w.sys.spawn(acceptor, w.net, at_server);
  w.net->own_listener(bound->first, server.address(), true);
  for (bool reset : {false, true}) {
    *at_server = seen{};
    auto conn = w.net->connect("127.0.1.5", "127.0.0.1", bound->second);
    REQUIRE(conn);
    auto client = w.sys.spawn(acceptor, w.net, std::make_shared<seen>());
    w.net->adopt(*conn, client.address(), false);
    for (auto part : {"one ", "two ", "three"}) {
      w.net->send(*conn, part, std::char_traits<char>::length(part));
    }
    if (reset) {
      w.net->reset(*conn);
    } else {
      w.net->shutdown_write(*conn);
    }
    w.settle();
    CHECK(at_server->bytes == "one two three");
    CHECK(at_server->closed);
    CHECK(at_server->reset == reset);
    caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
  }
  caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
  w.settle();
}
