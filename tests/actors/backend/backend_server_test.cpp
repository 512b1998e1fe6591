#include "actors/backend/backend_server.hpp"

#include <vector>

#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "protocols/proxy_protocol.hpp"
#include "tests/support/actor_system.hpp"
#include "tests/support/socket_client.hpp"

using namespace l4sim;
using namespace l4sim::testing;
using actors::backend_config;

namespace {

/// A test system with one backend spawned from `cfg`.
struct backend_fixture : test_system {
  actors::backend_handle backend;

  explicit backend_fixture(backend_config cfg) {
    cfg.log = false;
    auto spawned = actors::spawn_backend(*sys, std::move(cfg));
    REQUIRE(spawned);
    backend = *spawned;
  }

  ~backend_fixture() { caf::anon_send_exit(backend.actor, caf::exit_reason::user_shutdown); }

  protocols::backend_stats stats() {
    caf::scoped_actor self{*sys};
    protocols::backend_stats result;
    self->request(backend.actor, patience, caf::get_atom_v, stats_atom_v)
        .receive([&](const protocols::backend_stats& st) { result = st; },
                 [&](const caf::error& err) { FAIL(actors::describe(err)); });
    return result;
  }

  template <class... Ts>
  void tell(Ts... xs) {
    caf::scoped_actor self{*sys};
    self->request(backend.actor, patience, xs...)
        .receive([] {}, [&](const caf::error& err) { FAIL(actors::describe(err)); });
  }

  socket_client connect() { return socket_client{backend.port}; }
};

backend_config named(const char* id) {
  backend_config cfg;
  cfg.id = id;
  return cfg;
}

std::chrono::milliseconds since(test_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(test_clock::now() - start);
}

}  // namespace

TEST_CASE("backend answers every command of the line protocol", "[backend]") {
  backend_fixture fx{named("server-1")};
  auto c = fx.connect();
  REQUIRE(c.connected());
  c.send("REQ 1\n");
  CHECK(c.line() == "ACK");
  c.send("PING abc-42\r\n");
  CHECK(c.line() == "PONG abc-42");
  c.send("PING\n");
  CHECK(c.line() == "PONG");
  c.send("STREAM 3 seq=1\n");
  CHECK(c.line() == "STREAM_ACK");
  c.send("HELLO there\n");
  CHECK(c.line() == "ERR unknown command: \"HELLO there\"");
  for (char ch : std::string{"SLOW 9\n"}) {
    REQUIRE(c.send(std::string(1, ch)));
  }
  CHECK(c.line() == "ACK");
  auto st = fx.stats();
  CHECK(st.requests == 1);
  CHECK(st.pings == 2);
  CHECK(st.stream_lines == 1);
  CHECK(st.slow_lines == 1);
  CHECK(st.errors == 1);
  CHECK(st.active == 1);
  CHECK(st.total == 1);
  CHECK(st.bytes_in == 6 + 13 + 5 + 15 + 12 + 7);
}

TEST_CASE("backend answers pipelined requests in order", "[backend]") {
  backend_fixture fx{named("server-1")};
  auto c = fx.connect();
  c.send("REQ 1\nPING a\nREQ 2\nPING b\n");
  CHECK(c.line() == "ACK");
  CHECK(c.line() == "PONG a");
  CHECK(c.line() == "ACK");
  CHECK(c.line() == "PONG b");
}

TEST_CASE("backend rejects a line past 4 KiB and closes the connection", "[backend]") {
  backend_fixture fx{named("server-1")};
  auto c = fx.connect();
  c.send(std::string(5000, 'x'));
  CHECK(c.line() == "ERR line too long (max 4096 bytes)");
  CHECK(c.wait_closed());
  CHECK(fx.stats().errors == 1);
}

TEST_CASE("backend delays replies without blocking other connections", "[backend]") {
  auto cfg = named("server-2");
  cfg.delay = std::chrono::milliseconds{800};
  backend_fixture fx{cfg};
  std::vector<socket_client> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back(fx.backend.port);
    REQUIRE(clients.back().connected());
  }
  auto start = test_clock::now();
  for (auto& c : clients) {
    c.send("REQ 1\n");
  }
  // STREAM is never delayed, even while REQs are held.
  clients[0].send("STREAM 1 seq=1\n");
  CHECK(clients[0].line() == "STREAM_ACK");
  CHECK(since(start) < std::chrono::milliseconds{800});
  for (auto& c : clients) {
    CHECK(c.line() == "ACK");
  }
  auto elapsed = since(start);
  CHECK(elapsed >= std::chrono::milliseconds{800});
  // Served one after another, eight replies would need 6.4 s.
  CHECK(elapsed < std::chrono::milliseconds{4000});
}

TEST_CASE("backend applies a delay changed at run time", "[backend]") {
  backend_fixture fx{named("server-1")};
  fx.tell(caf::put_atom_v, delay_atom_v, protocols::duration_value{std::chrono::milliseconds{300}});
  auto c = fx.connect();
  auto start = test_clock::now();
  c.send("PING 1\n");
  CHECK(c.line() == "PONG 1");
  CHECK(since(start) >= std::chrono::milliseconds{300});
}

TEST_CASE("backend at capacity accepts and closes new connections at once", "[backend]") {
  auto cfg = named("server-2");
  cfg.max_conns = 2;
  backend_fixture fx{cfg};
  auto a = fx.connect();
  auto b = fx.connect();
  a.send("REQ 1\n");
  b.send("REQ 1\n");
  REQUIRE(a.line() == "ACK");
  REQUIRE(b.line() == "ACK");
  auto refused = fx.connect();
  REQUIRE(refused.connected());
  refused.send("REQ 1\n");
  CHECK(refused.wait_closed());
  auto st = fx.stats();
  CHECK(st.refused == 1);
  CHECK(st.active == 2);
  // A freed slot is usable again.
  a.close();
  CHECK(wait_until([&] { return fx.stats().active == 1; }));
  auto again = fx.connect();
  again.send("REQ 2\n");
  CHECK(again.line() == "ACK");
}

TEST_CASE("backend closes connections idle past the timeout", "[backend]") {
  auto cfg = named("server-1");
  cfg.idle_timeout = std::chrono::milliseconds{200};
  backend_fixture fx{cfg};
  auto idle = fx.connect();
  auto start = test_clock::now();
  CHECK(idle.wait_closed());
  CHECK(since(start) >= std::chrono::milliseconds{200});
  CHECK(fx.stats().idle_closed == 1);
  CHECK(fx.stats().active == 0);
}

TEST_CASE("backend keeps a talking connection open past the idle timeout", "[backend]") {
  auto cfg = named("server-1");
  cfg.idle_timeout = std::chrono::milliseconds{300};
  backend_fixture fx{cfg};
  auto talker = fx.connect();
  auto idle = fx.connect();
  // Keep talking until the idle one has been reclaimed; the talker must survive it.
  bool reclaimed = wait_until([&] {
    talker.send("PING t\n");
    REQUIRE(talker.line() == "PONG t");
    return fx.stats().idle_closed == 1;
  });
  CHECK(reclaimed);
  CHECK(idle.wait_closed());
  talker.send("REQ 1\n");
  CHECK(talker.line() == "ACK");
}

TEST_CASE("backend kill drops every connection and restart listens on the same port", "[backend]") {
  backend_fixture fx{named("server-1")};
  auto port = fx.backend.port;
  auto c = fx.connect();
  c.send("REQ 1\n");
  REQUIRE(c.line() == "ACK");
  fx.tell(kill_atom_v);
  CHECK(c.wait_closed());
  CHECK_FALSE(fx.stats().listening);
  CHECK_FALSE(socket_client{port}.connected());
  caf::scoped_actor self{*fx.sys};
  uint16_t restarted = 0;
  self->request(fx.backend.actor, patience, restart_atom_v)
      .receive([&](uint16_t p) { restarted = p; },
               [&](const caf::error& err) { FAIL(actors::describe(err)); });
  CHECK(restarted == port);
  auto again = fx.connect();
  REQUIRE(again.connected());
  again.send("PING back\n");
  CHECK(again.line() == "PONG back");
  CHECK(fx.stats().listening);
}

TEST_CASE("backend chaos drops its share of connections for a fixed seed", "[backend]") {
  auto cfg = named("server-3");
  cfg.chaos_pct = 30;
  cfg.seed = 7;
  backend_fixture fx{cfg};
  constexpr int n = 300;
  int dropped = 0;
  for (int i = 0; i < n; ++i) {
    auto c = fx.connect();
    REQUIRE(c.connected());
    c.send("PING x\n");
    std::string line;
    auto end = c.read_line(line);
    REQUIRE(end != read_end::timeout);
    if (end == read_end::closed) {
      ++dropped;
    }
  }
  // Binomial(300, 0.3): mean 90, sd 7.9; 4 sd either way.
  CHECK(dropped >= 58);
  CHECK(dropped <= 122);
  CHECK(fx.stats().chaos_dropped == static_cast<uint64_t>(dropped));
}

TEST_CASE("backend hang holds the first reply of each connection", "[backend]") {
  auto cfg = named("server-1");
  cfg.hang = std::chrono::milliseconds{400};
  backend_fixture fx{cfg};
  auto a = fx.connect();
  auto start = test_clock::now();
  a.send("REQ 1\nREQ 2\n");
  CHECK(a.line() == "ACK");
  CHECK(since(start) >= std::chrono::milliseconds{400});
  CHECK(a.line() == "ACK");
  auto b = fx.connect();
  start = test_clock::now();
  b.send("PING b\n");
  CHECK(b.line() == "PONG b");
  CHECK(since(start) >= std::chrono::milliseconds{400});
}

TEST_CASE("backend spawn fails cleanly when the port is taken", "[backend]") {
  backend_fixture fx{named("server-1")};
  auto cfg = named("server-2");
  cfg.port = fx.backend.port;
  auto second = actors::spawn_backend(*fx.sys, cfg);
  REQUIRE_FALSE(second);
  CHECK_THAT(actors::describe(second.error()), Catch::Contains("Address already in use"));
}

TEST_CASE("backend with accept_proxy reads the PROXY header, then the line protocol",
          "[backend][proxy]") {
  auto cfg = named("server-1");
  cfg.accept_proxy = true;
  backend_fixture fx{cfg};
  auto v1 = fx.connect();
  REQUIRE(v1.connected());
  // Header and first request in one segment: the rest after the header is a request.
  v1.send("PROXY TCP4 192.0.2.7 127.0.0.1 51234 9000\r\nPING 1\n");
  CHECK(v1.line() == "PONG 1");
  auto v2 = fx.connect();
  REQUIRE(v2.connected());
  auto header = protocols::encode_proxy_v2({true, false, "10.0.0.9", 4000, "127.0.0.1", 9000});
  // The header a byte at a time.
  for (char ch : header) {
    REQUIRE(v2.send(std::string(1, ch)));
  }
  v2.send("REQ 1\n");
  CHECK(v2.line() == "ACK");
  auto st = fx.stats();
  CHECK(st.client_addresses == std::vector<std::string>{"10.0.0.9", "192.0.2.7"});
  CHECK(st.proxy_errors == 0);
  CHECK(st.requests == 1);
  CHECK(st.pings == 1);
}

TEST_CASE("backend with accept_proxy closes a connection without a valid header and counts it",
          "[backend][proxy]") {
  auto cfg = named("server-1");
  cfg.accept_proxy = true;
  backend_fixture fx{cfg};
  auto c = fx.connect();
  REQUIRE(c.connected());
  c.send("PING 1\n");
  CHECK(c.wait_closed());
  auto again = fx.connect();
  REQUIRE(again.connected());
  again.send("PROXY TCP4 192.0.2.7 127.0.0.1 99999 1\r\n");
  CHECK(again.wait_closed());
  CHECK(wait_until([&] { return fx.stats().proxy_errors == 2; }));
  // The backend still serves.
  auto good = fx.connect();
  good.send("PROXY UNKNOWN\r\nPING 2\n");
  CHECK(good.line() == "PONG 2");
  CHECK(fx.stats().client_addresses.empty());
}
