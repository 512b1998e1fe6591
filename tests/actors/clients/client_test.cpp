#include "actors/clients/client.hpp"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "actors/backend/backend_server.hpp"
#include "actors/clients/client_behaviors.hpp"
#include "actors/io/net.hpp"
#include "tests/support/actor_system.hpp"
#include "tests/support/black_hole.hpp"
#include "tests/support/socket_client.hpp"

using namespace l4sim;
using namespace l4sim::testing;
using protocols::client_end;
using protocols::client_kind;

namespace {

/// A test system with a dialer, a backend, and a mailbox that receives client outcomes.
struct client_fixture : test_system {
  actors::dialer_actor dialer;
  actors::backend_handle backend;
  caf::scoped_actor self{*sys};

  explicit client_fixture(actors::backend_config bcfg = {}) {
    dialer = actors::spawn_dialer(*sys);
    bcfg.log = false;
    auto spawned = actors::spawn_backend(*sys, bcfg);
    REQUIRE(spawned);
    backend = *spawned;
  }

  ~client_fixture() {
    caf::anon_send_exit(backend.actor, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(dialer, caf::exit_reason::user_shutdown);
  }

  /// Starts a client of `profile` against `port` (the backend's by default).
  actors::client_actor start(protocols::client_profile profile, uint16_t port = 0,
                             uint64_t id = 1) {
    actors::client_config cfg;
    cfg.id = id;
    cfg.profile = std::move(profile);
    cfg.port = port == 0 ? backend.port : port;
    cfg.connect_timeout = std::chrono::milliseconds{300};
    cfg.dialer = dialer;
    cfg.reporter = caf::actor_cast<caf::actor>(self);
    return actors::spawn_client(*sys, cfg);
  }

  /// Waits for the one outcome a started client reports.
  protocols::client_finished outcome() {
    protocols::client_finished out;
    bool got = false;
    self->receive(
        [&](const protocols::client_finished& f) {
          out = f;
          got = true;
        },
        caf::after(patience) >> [] {});
    REQUIRE(got);
    return out;
  }

  protocols::backend_stats stats() {
    protocols::backend_stats result;
    self->request(backend.actor, patience, caf::get_atom_v, stats_atom_v)
        .receive([&](const protocols::backend_stats& st) { result = st; },
                 [&](const caf::error& err) { FAIL(actors::describe(err)); });
    return result;
  }
};

protocols::client_profile quick(client_kind kind) {
  auto p = actors::default_profile(kind);
  p.min_think = p.max_think = std::chrono::milliseconds{10};
  p.min_byte_gap = std::chrono::milliseconds{10};
  p.max_byte_gap = std::chrono::milliseconds{20};
  p.stream_interval = std::chrono::milliseconds{20};
  return p;
}

/// A bare listener for peers the backend cannot play: it accepts one connection and lets
/// the test read, answer or reset it.
struct raw_peer {
  int listener = -1;
  int conn = -1;
  uint16_t port = 0;

  raw_peer() {
    auto fd = actors::open_listener("127.0.0.1", 0);
    REQUIRE(fd);
    listener = *fd;
    port = actors::local_port_of(listener);
  }

  ~raw_peer() {
    if (conn >= 0) {
      ::close(conn);
    }
    ::close(listener);
  }

  bool accept_one() {
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::chrono::milliseconds{patience}.count())) != 1) {
      return false;
    }
    conn = ::accept(listener, nullptr, nullptr);
    return conn >= 0;
  }

  /// Reads until `\n` or the deadline; returns the bytes.
  std::string read_line() {
    std::string got;
    auto deadline = test_clock::now() + patience;
    while (got.find('\n') == std::string::npos && test_clock::now() < deadline) {
      pollfd p{conn, POLLIN, 0};
      if (::poll(&p, 1, 100) != 1) {
        continue;
      }
      char buf[256];
      auto n = ::recv(conn, buf, sizeof(buf), 0);
      if (n <= 0) {
        break;
      }
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }

  /// Returns how many segments carrying data this side received.
  uint32_t data_segments_in() const {
    tcp_info info{};
    socklen_t len = sizeof(info);
    REQUIRE(::getsockopt(conn, IPPROTO_TCP, TCP_INFO, &info, &len) == 0);
    return info.tcpi_data_segs_in;
  }

  /// Closes the connection with a RST (SO_LINGER 0).
  void reset() {
    linger lg{1, 0};
    ::setsockopt(conn, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    ::close(conn);
    conn = -1;
  }
};

}  // namespace

TEST_CASE("real client sends REQ lines, waits for each ACK and completes", "[client]") {
  client_fixture fx;
  auto p = quick(client_kind::real);
  p.min_requests = p.max_requests = 3;
  fx.start(p);
  auto out = fx.outcome();
  CHECK(out.end == client_end::completed);
  CHECK(out.kind == client_kind::real);
  CHECK(out.connected);
  CHECK(out.latencies.size() == 3);
  CHECK(out.bytes_out == 3 * 6);  // "REQ 1\n" ...
  CHECK(out.bytes_in == 3 * 4);   // "ACK\n"
  auto st = fx.stats();
  CHECK(st.requests == 3);
  CHECK(st.bytes_in == 18);
}

TEST_CASE("real client latency includes the backend delay", "[client]") {
  actors::backend_config bcfg;
  bcfg.delay = std::chrono::milliseconds{50};
  client_fixture fx{bcfg};
  auto p = quick(client_kind::real);
  p.min_requests = p.max_requests = 1;
  fx.start(p);
  auto out = fx.outcome();
  REQUIRE(out.latencies.size() == 1);
  CHECK(out.latencies[0] >= std::chrono::milliseconds{50});
}

TEST_CASE("fire_and_forget client sends one PING and closes without reading", "[client]") {
  client_fixture fx;
  fx.start(quick(client_kind::fire_and_forget), 0, 42);
  auto out = fx.outcome();
  CHECK(out.end == client_end::completed);
  CHECK(out.bytes_out == 8);  // "PING 42\n"
  CHECK(out.bytes_in == 0);
  CHECK(out.latencies.empty());
  CHECK(wait_until([&] { return fx.stats().pings == 1; }));
  CHECK(wait_until([&] { return fx.stats().active == 0; }));
}

TEST_CASE("stream client sends numbered lines until told to finish", "[client]") {
  client_fixture fx;
  auto c = fx.start(quick(client_kind::stream), 0, 5);
  REQUIRE(wait_until([&] { return fx.stats().stream_lines >= 3; }));
  caf::anon_send(c, finish_atom_v);
  auto out = fx.outcome();
  CHECK(out.end == client_end::completed);
  CHECK(out.latencies.size() >= 2);  // STREAM_ACKs received
  // "STREAM 5 seq=N\n" is 15 bytes for N < 10.
  CHECK(out.bytes_out >= 3 * 15);
  CHECK(fx.stats().errors == 0);
}

TEST_CASE("idle client sends nothing and completes when the run ends", "[client]") {
  client_fixture fx;
  auto c = fx.start(quick(client_kind::idle));
  REQUIRE(wait_until([&] { return fx.stats().active == 1; }));
  CHECK(fx.stats().bytes_in == 0);
  caf::anon_send(c, finish_atom_v);
  auto out = fx.outcome();
  CHECK(out.end == client_end::completed);
  CHECK(out.bytes_out == 0);
}

TEST_CASE("idle client closed by the backend's idle timeout ends closed_by_peer", "[client]") {
  actors::backend_config bcfg;
  bcfg.idle_timeout = std::chrono::milliseconds{100};
  client_fixture fx{bcfg};
  fx.start(quick(client_kind::idle));
  auto out = fx.outcome();
  CHECK(out.end == client_end::closed_by_peer);
}

TEST_CASE("slow client sends SLOW one byte per segment, then gets its ACK", "[client]") {
  client_fixture fx;
  SECTION("against the backend") {
    fx.start(quick(client_kind::slow), 0, 3);
    auto out = fx.outcome();
    CHECK(out.end == client_end::completed);
    CHECK(out.bytes_out == 7);
    CHECK(out.latencies.size() == 1);
    auto st = fx.stats();
    CHECK(st.slow_lines == 1);
    CHECK(st.bytes_in == 7);
  }
  SECTION("against a raw listener counting segments") {
    raw_peer peer;
    fx.start(quick(client_kind::slow), peer.port, 3);
    REQUIRE(peer.accept_one());
    CHECK(peer.read_line() == "SLOW 3\n");
    CHECK(peer.data_segments_in() == 7);
    REQUIRE(::send(peer.conn, "ACK\n", 4, 0) == 4);
    CHECK(fx.outcome().end == client_end::completed);
  }
}

TEST_CASE("nothing listening is recorded as refused", "[client]") {
  client_fixture fx;
  auto probe = actors::open_listener("127.0.0.1", 0);
  REQUIRE(probe);
  auto port = actors::local_port_of(*probe);
  ::close(*probe);
  fx.start(quick(client_kind::real), port);
  auto out = fx.outcome();
  CHECK(out.end == client_end::refused);
  CHECK_FALSE(out.connected);
}

TEST_CASE("a connect that never finishes is recorded as timed_out", "[client]") {
  client_fixture fx;
  black_hole hole;
  fx.start(quick(client_kind::real), hole.port());
  CHECK(fx.outcome().end == client_end::timed_out);
}

TEST_CASE("a backend killed while a request waits is recorded as reset", "[client]") {
  actors::backend_config bcfg;
  bcfg.delay = std::chrono::seconds{30};
  client_fixture fx{bcfg};
  fx.start(quick(client_kind::real));
  REQUIRE(wait_until([&] { return fx.stats().requests == 1; }));
  caf::anon_send(fx.backend.actor, kill_atom_v);
  auto out = fx.outcome();
  CHECK(out.end == client_end::reset);
  CHECK(out.detail == "peer closed with a reply due");
}

TEST_CASE("a RST from the peer is recorded as reset even with no reply due", "[client]") {
  client_fixture fx;
  raw_peer peer;
  // A slow client mid-line has no reply due; its first byte shows it owns the socket (a
  // RST before the dialer looked would fail the connect instead).
  fx.start(quick(client_kind::slow), peer.port);
  REQUIRE(peer.accept_one());
  pollfd p{peer.conn, POLLIN, 0};
  REQUIRE(::poll(&p, 1, static_cast<int>(std::chrono::milliseconds{patience}.count())) == 1);
  peer.reset();
  auto out = fx.outcome();
  CHECK(out.end == client_end::reset);
  CHECK(out.detail == "connection reset");
}

TEST_CASE("an ERR reply is recorded as err_received", "[client]") {
  client_fixture fx;
  auto p = quick(client_kind::real);
  p.verb = "HELLO";
  fx.start(p);
  auto out = fx.outcome();
  CHECK(out.end == client_end::err_received);
  CHECK_THAT(out.detail, Catch::Contains("unknown command"));
  CHECK(fx.stats().errors == 1);
}

TEST_CASE("a reply that never comes is recorded as timed_out", "[client]") {
  actors::backend_config bcfg;
  bcfg.delay = std::chrono::seconds{30};
  client_fixture fx{bcfg};
  auto p = quick(client_kind::real);
  p.reply_timeout = std::chrono::milliseconds{100};
  fx.start(p);
  auto out = fx.outcome();
  CHECK(out.end == client_end::timed_out);
  CHECK(out.connected);
}

TEST_CASE("a real client told to finish mid-run is recorded as stopped", "[client]") {
  actors::backend_config bcfg;
  bcfg.delay = std::chrono::seconds{30};
  client_fixture fx{bcfg};
  auto c = fx.start(quick(client_kind::real));
  REQUIRE(wait_until([&] { return fx.stats().requests == 1; }));
  caf::anon_send(c, finish_atom_v);
  CHECK(fx.outcome().end == client_end::stopped);
  CHECK(wait_until([&] { return fx.stats().active == 0; }));
}
