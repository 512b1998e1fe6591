#include "actors/balancer/balancer.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "protocols/errors.hpp"
#include "tests/support/black_hole.hpp"
#include "tests/support/lb_fixture.hpp"

using namespace l4sim;
using namespace l4sim::testing;

namespace {

/// Waits until the picker sees no open or pending connection.
void wait_idle(lb_fixture& fx) {
  REQUIRE(wait_until([&] { return fx.active() == 0; }));
}

}  // namespace

TEST_CASE("round robin sends 30 sequential connections to 3 backends, 10 each", "[balancer]") {
  lb_fixture fx{3};
  for (int i = 0; i < 30; ++i) {
    REQUIRE(fx.round_trip());
  }
  wait_idle(fx);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(fx.row(i).total == 10);
    CHECK(fx.backend_stats(i).requests == 10);
  }
  CHECK(fx.stats().accepted == 30);
}

TEST_CASE("least connections sends new connections past a backend holding one", "[balancer]") {
  L4SIM_EACH_PUMP();
  lb_fixture fx{3, [](actors::balancer_config& cfg) { cfg.algorithm = "lc"; }};
  auto held = fx.connect();
  held.send("REQ 1\n");
  REQUIRE(held.line() == "ACK");
  auto st = fx.stats();
  size_t holder = 0;
  while (holder < 3 && st.backends[holder].active != 1) {
    ++holder;
  }
  REQUIRE(holder < 3);
  for (int i = 0; i < 20; ++i) {
    REQUIRE(fx.round_trip());
    // The next pick must see this connection closed, not still counted.
    REQUIRE(wait_until([&] { return fx.active() == 1; }));
  }
  st = fx.stats();
  CHECK(st.backends[holder].total == 1);
  for (size_t i = 0; i < 3; ++i) {
    if (i != holder) {
      CHECK(st.backends[i].total == 10);
    }
  }
}

TEST_CASE("the algorithm switches at run time without a restart", "[balancer]") {
  lb_fixture fx{2};
  caf::scoped_actor self{*fx.sys};
  std::string now;
  self->request(fx.lb.picker, patience, caf::put_atom_v, algo_atom_v, std::string{"lc"})
      .receive([&](const std::string& name) { now = name; },
               [&](const caf::error& err) { FAIL(actors::describe(err)); });
  CHECK(now == "lc");
  CHECK(fx.stats().algorithm == "lc");
  caf::error refused;
  self->request(fx.lb.picker, patience, caf::put_atom_v, algo_atom_v, std::string{"nope"})
      .receive([](const std::string&) {}, [&](const caf::error& err) { refused = err; });
  CHECK(refused == protocols::l4_errc::bad_config);
  CHECK(fx.round_trip());
}

TEST_CASE("a killed backend goes DOWN within one interval, gets nothing, and comes back",
          "[balancer]") {
  auto interval = std::chrono::milliseconds{200};
  lb_fixture fx{3, [&](actors::balancer_config& cfg) {
                  cfg.health.interval = interval;
                  cfg.health.timeout = interval;
                }};
  for (int i = 0; i < 6; ++i) {
    REQUIRE(fx.round_trip());
  }
  caf::anon_send(fx.backends[0].actor, kill_atom_v);
  auto killed_at = test_clock::now();
  REQUIRE(wait_until([&] { return !fx.row(0).healthy; }));
  // One interval plus a generous allowance for a loaded machine.
  CHECK(test_clock::now() - killed_at < interval + std::chrono::milliseconds{1500});
  wait_idle(fx);
  auto before = fx.stats();
  for (int i = 0; i < 20; ++i) {
    REQUIRE(fx.round_trip());
  }
  wait_idle(fx);
  auto after = fx.stats();
  CHECK(after.backends[0].total == before.backends[0].total);
  CHECK(after.backends[1].total - before.backends[1].total == 10);
  CHECK(after.backends[2].total - before.backends[2].total == 10);
  CHECK(after.no_backend == 0);
  caf::scoped_actor self{*fx.sys};
  self->request(fx.backends[0].actor, patience, restart_atom_v)
      .receive([](uint16_t) {}, [&](const caf::error& err) { FAIL(actors::describe(err)); });
  REQUIRE(wait_until([&] { return fx.row(0).healthy; }));
  for (int i = 0; i < 6; ++i) {
    REQUIRE(fx.round_trip());
  }
  wait_idle(fx);
  CHECK(fx.row(0).total > before.backends[0].total);
  CHECK(fx.backend_stats(0).requests >= 1);
}

TEST_CASE("with no healthy backend the client is closed at once and counted", "[balancer]") {
  L4SIM_EACH_PUMP();
  lb_fixture fx{1, [](actors::balancer_config& cfg) {
                  cfg.health.interval = std::chrono::milliseconds{100};
                }};
  caf::anon_send(fx.backends[0].actor, kill_atom_v);
  REQUIRE(wait_until([&] { return !fx.row(0).healthy; }));
  auto c = fx.connect();
  REQUIRE(c.connected());
  CHECK(c.wait_closed());
  CHECK(wait_until([&] { return fx.stats().no_backend == 1; }));
}

TEST_CASE("a black-holed backend stalls nobody and its connects are retried elsewhere",
          "[balancer]") {
  L4SIM_EACH_PUMP();
  black_hole hole;
  lb_fixture fx{1};
  // Rebuild the balancer as [hole, server-1].
  fx.lb.stop();
  fx.start_balancer({hole.port(), fx.backends[0].port}, [](actors::balancer_config& cfg) {
    cfg.session.connect_timeout = std::chrono::milliseconds{800};
    cfg.session.retries = 2;
    // Probes must not take the hole out: this test is about the data path.
    cfg.health.timeout = std::chrono::hours{1};
  });
  // An established session through server-1 (rr: the first pick goes to the hole, so
  // open the session as the second connection).
  auto first = fx.connect();  // picks the hole, will be retried on server-1
  auto established = fx.connect();
  established.send("REQ 0\n");
  REQUIRE(established.line() == "ACK");
  // While new connections wait on the hole, the established one keeps answering fast.
  std::vector<socket_client> waiting;
  for (int i = 0; i < 4; ++i) {
    waiting.emplace_back(fx.lb.port);
    waiting.back().send("REQ 1\n");
  }
  auto start = test_clock::now();
  established.send("REQ 2\n");
  CHECK(established.line() == "ACK");
  CHECK(test_clock::now() - start < std::chrono::milliseconds{800});
  first.send("REQ 3\n");
  CHECK(first.line() == "ACK");
  for (auto& c : waiting) {
    CHECK(c.line() == "ACK");
  }
  CHECK(fx.row(0).failures >= 1);
  CHECK(fx.row(0).total == 0);
}

TEST_CASE("at max_conns new connections wait in the backlog and are served when a session ends",
          "[balancer]") {
  L4SIM_EACH_PUMP();
  lb_fixture fx{1, [](actors::balancer_config& cfg) { cfg.max_conns = 2; }};
  auto a = fx.connect();
  auto b = fx.connect();
  REQUIRE(a.send("REQ 1\n"));
  REQUIRE(a.line() == "ACK");
  REQUIRE(b.send("REQ 1\n"));
  REQUIRE(b.line() == "ACK");
  // The kernel completes the third handshake; the balancer leaves it in the backlog.
  auto c = fx.connect();
  REQUIRE(c.connected());
  REQUIRE(c.send("REQ 2\n"));
  CHECK_FALSE(wait_until([&] { return fx.sessions() > 2; }, std::chrono::milliseconds{300}));
  CHECK(fx.stats().accepted == 2);
  a.close();
  CHECK(c.line() == "ACK");
  CHECK(fx.stats().accepted == 3);
}

TEST_CASE("with three I/O loops every loop's listener takes connections and all are relayed",
          "[balancer]") {
  L4SIM_EACH_PUMP();
  lb_fixture fx{2, [](actors::balancer_config& cfg) { cfg.loops = 3; }};
  REQUIRE(fx.lb.loops != nullptr);
  REQUIRE(fx.lb.loops->listeners().size() == 2);
  std::vector<actors::listener_actor> listeners{fx.lb.listener};
  for (auto& l : fx.lb.loops->listeners()) {
    listeners.push_back(l);
  }
  auto sessions_of = [&](const actors::listener_actor& l) {
    caf::scoped_actor self{*fx.sys};
    uint64_t n = 0;
    self->request(l, patience, caf::get_atom_v, stats_atom_v)
        .receive([&](uint64_t x) { n = x; },
                 [&](const caf::error& err) { FAIL(actors::describe(err)); });
    return n;
  };
  // Held open, so that each listener's sessions can be counted. The kernel spreads
  // connections over the SO_REUSEPORT sockets by their addresses: 30 all landing on one of
  // three sockets has a chance of 3^-29.
  std::vector<socket_client> held;
  for (int i = 0; i < 30; ++i) {
    held.emplace_back(fx.lb.port);
    REQUIRE(held.back().connected());
    REQUIRE(held.back().send("REQ " + std::to_string(i) + "\n"));
    CHECK(held.back().line() == "ACK");
  }
  std::vector<uint64_t> per_loop;
  uint64_t total = 0;
  for (auto& l : listeners) {
    per_loop.push_back(sessions_of(l));
    total += per_loop.back();
  }
  CHECK(total == 30);
  CHECK(std::count_if(per_loop.begin(), per_loop.end(), [](uint64_t n) { return n > 0; }) >= 2);
  auto st = fx.stats();
  CHECK(st.accepted == 30);
  CHECK(st.backends[0].active + st.backends[1].active == 30);
  held.clear();
  REQUIRE(wait_until([&] {
    uint64_t left = 0;
    for (auto& l : listeners) {
      left += sessions_of(l);
    }
    return left == 0;
  }));
  REQUIRE(wait_until([&] { return fx.active() == 0; }));
}
