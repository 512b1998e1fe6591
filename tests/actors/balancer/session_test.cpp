#include "actors/balancer/session.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/support/lb_fixture.hpp"
#include "tests/support/raw_peer.hpp"

using namespace l4sim;
using namespace l4sim::testing;

namespace {

constexpr uint64_t mib = 1024 * 1024;
constexpr int io_timeout_ms = 60'000;

/// Connects a client through the balancer and accepts the proxied connection at the raw
/// backend; both blocking sockets time out rather than hang.
std::pair<int, int> proxied_pair(lb_fixture& fx, raw_listener& backend_listener) {
  int client = connect_to(fx.lb.port);
  REQUIRE(client >= 0);
  int backend = backend_listener.accept_one(io_timeout_ms);
  REQUIRE(backend >= 0);
  set_io_timeout(client, io_timeout_ms);
  set_io_timeout(backend, io_timeout_ms);
  return {client, backend};
}

}  // namespace

TEST_CASE("session relays 64 MiB each way at once byte-exact and honours half-close", "[session]") {
  L4SIM_EACH_PUMP();
  raw_listener backend_listener;
  lb_fixture fx{std::vector<uint16_t>{backend_listener.port()}};
  auto [client, backend] = proxied_pair(fx, backend_listener);
  constexpr uint64_t total = 64 * mib;
  stream_hash client_sent, client_got, backend_sent, backend_got;
  uint64_t trailer = 0;
  bool eof_after_trailer = false;
  std::thread client_writer{[&] {
    client_sent = send_random(client, total, 1);
    // Half-close: the client is done sending but still expects the backend's answer.
    ::shutdown(client, SHUT_WR);
  }};
  std::thread client_reader{[&] {
    client_got = receive_all(client, total);
    auto n = ::recv(client, &trailer, sizeof(trailer), MSG_WAITALL);
    char extra = 0;
    eof_after_trailer = n == sizeof(trailer) && ::recv(client, &extra, 1, 0) == 0;
  }};
  std::thread backend_reader{[&] { backend_got = receive_all(backend); }};
  backend_sent = send_random(backend, total, 2);
  backend_reader.join();  // ends at the forwarded FIN
  // Answer after the client's half-close: proves its FIN did not close the pair.
  ::send(backend, &backend_got.value, sizeof(backend_got.value), MSG_NOSIGNAL);
  ::close(backend);
  client_writer.join();
  client_reader.join();
  ::close(client);
  CHECK(client_sent.bytes == total);
  CHECK(backend_got.bytes == total);
  CHECK(backend_got.value == client_sent.value);
  CHECK(backend_sent.bytes == total);
  CHECK(client_got.bytes == total);
  CHECK(client_got.value == backend_sent.value);
  CHECK(trailer == backend_got.value);
  CHECK(eof_after_trailer);
  REQUIRE(wait_until([&] { return fx.active() == 0; }));
  auto row = fx.row(0);
  CHECK(row.bytes_in == total);
  CHECK(row.bytes_out == total + sizeof(trailer));
}

TEST_CASE("a client that reads nothing does not grow the balancer's buffers", "[session]") {
  L4SIM_EACH_PUMP();
  raw_listener backend_listener;
  lb_fixture fx{std::vector<uint16_t>{backend_listener.port()}};
  auto [client, backend] = proxied_pair(fx, backend_listener);
  constexpr uint64_t total = 128 * mib;
  std::atomic<uint64_t> sent{0};
  stream_hash backend_sent;
  std::thread streamer{[&] {
    // Chunks of 1 MiB so that progress is visible while the balancer pushes back.
    std::mt19937_64 order{3};
    stream_hash h;
    for (uint64_t seed = 0; h.bytes < total; ++seed) {
      auto part = send_random(backend, mib, seed);
      h.value ^= part.value * (seed + 1);
      h.bytes += part.bytes;
      sent = h.bytes;
      if (part.bytes < mib) {
        break;
      }
    }
    backend_sent = h;
  }};
  // Wait until the backend's writes stall: no progress for half a second.
  bool stalled = false;
  for (int i = 0; i < 100 && !stalled; ++i) {
    auto seen = sent.load();
    stalled = !wait_until([&] { return sent.load() != seen; }, std::chrono::milliseconds{500});
  }
  REQUIRE(stalled);
  CHECK(sent.load() < total);
  auto buffered = fx.buffered();
  INFO("balancer buffers " << buffered << " bytes, backend sent " << sent.load());
  // High-water mark (128 KiB) plus at most a few reads that were already under way.
  CHECK(buffered <= 1 * mib);
  // Reading resumes the flow: everything arrives.
  stream_hash got;
  std::vector<char> buf(65536);
  for (uint64_t seed = 0; got.bytes < total; ++seed) {
    auto part = receive_all(client, std::min<uint64_t>(mib, total - got.bytes));
    got.value ^= part.value * (seed + 1);
    got.bytes += part.bytes;
    if (part.bytes == 0) {
      break;
    }
  }
  streamer.join();
  CHECK(got.bytes == total);
  CHECK(got.value == backend_sent.value);
  ::close(client);
  ::close(backend);
}

TEST_CASE("a client that sends and closes at once still has its bytes delivered", "[session]") {
  L4SIM_EACH_PUMP();
  lb_fixture fx{1};
  SECTION("half-close keeps the reply coming") {
    auto c = fx.connect();
    c.send("PING 7\n");
    c.shutdown_write();
    CHECK(c.line() == "PONG 7");
  }
  SECTION("full close right after the send") {
    for (int i = 0; i < 5; ++i) {
      auto c = fx.connect();
      c.send("PING " + std::to_string(i) + "\n");
      c.close();
    }
    CHECK(wait_until([&] { return fx.backend_stats(0).pings == 5; }));
  }
}

TEST_CASE("a backend reset reaches the client after the bytes that came before it", "[session]") {
  L4SIM_EACH_PUMP();
  raw_listener backend_listener;
  lb_fixture fx{std::vector<uint16_t>{backend_listener.port()}};
  auto c = fx.connect();
  REQUIRE(c.connected());
  int backend = backend_listener.accept_one(io_timeout_ms);
  REQUIRE(backend >= 0);
  ::send(backend, "last words\n", 11, MSG_NOSIGNAL);
  linger abortive{1, 0};
  ::setsockopt(backend, SOL_SOCKET, SO_LINGER, &abortive, sizeof(abortive));
  ::close(backend);
  CHECK(c.line() == "last words");
  CHECK(c.wait_closed());
  CHECK(wait_until([&] { return fx.active() == 0; }));
}

TEST_CASE("finished sessions leave no file descriptors behind", "[session]") {
  L4SIM_EACH_PUMP();
  lb_fixture fx{2};
  REQUIRE(fx.round_trip());
  REQUIRE(wait_until([&] { return fx.active() == 0; }));
  auto baseline = open_fd_count();
  for (int i = 0; i < 40; ++i) {
    auto c = fx.connect();
    c.send("REQ 1\n");
    if (i % 2 == 0) {
      REQUIRE(c.line() == "ACK");
    }
    if (i % 4 == 1) {
      linger abortive{1, 0};
      ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &abortive, sizeof(abortive));
    }
  }
  CHECK(wait_until([&] { return fx.active() == 0; }));
  CHECK(wait_until([&] { return open_fd_count() <= baseline; }));
  INFO("fds now " << open_fd_count() << ", before " << baseline);
}

TEST_CASE(
    "a proxied connection holds 2 fds in the balancer with the direct pumps, 4 with the broker's",
    "[session]") {
  L4SIM_EACH_PUMP();
  raw_listener backend_listener;
  lb_fixture fx{std::vector<uint16_t>{backend_listener.port()}};
  auto relay_one = [&] {
    auto pair = proxied_pair(fx, backend_listener);  // the test's own 2 fds
    ::send(pair.first, "x", 1, MSG_NOSIGNAL);        // relayed: the backend is attached
    char got = 0;
    REQUIRE(::recv(pair.second, &got, 1, 0) == 1);
    return pair;
  };
  // One connection first, so that whatever the process opens once, on first use, is in the
  // baseline (CI once saw the exact count missed for 20 s under load).
  auto warm = relay_one();
  ::close(warm.first);
  ::close(warm.second);
  REQUIRE(wait_until([&] { return fx.active() == 0; }));
  auto baseline = open_fd_count();
  constexpr int n = 10;
  const int per_connection = 2 + (l4sim_pump_kind == actors::pump_kind::broker ? 4 : 2);
  std::vector<std::pair<int, int>> pairs;
  for (int i = 0; i < n; ++i) {
    pairs.push_back(relay_one());
  }
  // Within one fd of the count: 10 connections at 2 or at 4 fds differ by 20.
  auto want = baseline + static_cast<size_t>(n * per_connection);
  auto near_want = [&] {
    auto now = open_fd_count();
    return now + 1 >= want && now <= want + 1;
  };
  INFO("fds " << open_fd_count() << " at the check's start, want " << want << " (baseline "
              << baseline << ")");
  CHECK(wait_until(near_want));
  for (auto [client, backend] : pairs) {
    ::close(client);
    ::close(backend);
  }
  CHECK(wait_until([&] { return open_fd_count() <= baseline; }));
}

namespace {

/// Reads exactly `n` bytes, then reports how the stream ended: 0 for a FIN, the errno of a
/// failed read (ECONNRESET for a reset), or -1 if more bytes came.
int read_then_end(int fd, size_t n, std::string& got) {
  got.assign(n, '\0');
  if (n > 0 && ::recv(fd, got.data(), n, MSG_WAITALL) != static_cast<ssize_t>(n)) {
    return errno;
  }
  char extra = 0;
  auto rc = ::recv(fd, &extra, 1, 0);
  return rc == 0 ? 0 : rc < 0 ? errno : -1;
}

void reset_and_close(int fd) {
  linger abortive{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abortive, sizeof(abortive));
  ::close(fd);
}

}  // namespace

TEST_CASE("a backend reset reaches the client as a reset, after the bytes before it", "[session]") {
  L4SIM_EACH_PUMP();
  raw_listener backend_listener;
  lb_fixture fx{std::vector<uint16_t>{backend_listener.port()}};
  auto [client, backend] = proxied_pair(fx, backend_listener);
  REQUIRE(::send(client, "x", 1, MSG_NOSIGNAL) == 1);
  char x = 0;
  REQUIRE(::recv(backend, &x, 1, MSG_WAITALL) == 1);  // the session is relaying
  REQUIRE(::send(backend, "last words\n", 11, MSG_NOSIGNAL) == 11);
  reset_and_close(backend);
  std::string got;
  CHECK(read_then_end(client, 11, got) == ECONNRESET);
  CHECK(got == "last words\n");
  ::close(client);
  CHECK(wait_until([&] { return fx.active() == 0; }));
}

TEST_CASE("a client reset reaches the backend as a reset, after the bytes before it", "[session]") {
  L4SIM_EACH_PUMP();
  raw_listener backend_listener;
  lb_fixture fx{std::vector<uint16_t>{backend_listener.port()}};
  auto [client, backend] = proxied_pair(fx, backend_listener);
  REQUIRE(::send(client, "x", 1, MSG_NOSIGNAL) == 1);
  char x = 0;
  REQUIRE(::recv(backend, &x, 1, MSG_WAITALL) == 1);
  REQUIRE(::send(client, "goodbye\n", 8, MSG_NOSIGNAL) == 8);
  reset_and_close(client);
  std::string got;
  CHECK(read_then_end(backend, 8, got) == ECONNRESET);
  CHECK(got == "goodbye\n");
  ::close(backend);
  CHECK(wait_until([&] { return fx.active() == 0; }));
}

TEST_CASE("a half-close still ends in a FIN, not a reset", "[session]") {
  L4SIM_EACH_PUMP();
  raw_listener backend_listener;
  lb_fixture fx{std::vector<uint16_t>{backend_listener.port()}};
  auto [client, backend] = proxied_pair(fx, backend_listener);
  REQUIRE(::send(client, "ask\n", 4, MSG_NOSIGNAL) == 4);
  ::shutdown(client, SHUT_WR);
  std::string got;
  CHECK(read_then_end(backend, 4, got) == 0);
  REQUIRE(::send(backend, "answer\n", 7, MSG_NOSIGNAL) == 7);
  ::close(backend);
  CHECK(read_then_end(client, 7, got) == 0);
  CHECK(got == "answer\n");
  ::close(client);
}

TEST_CASE("the client timeout closes a silent client and its backend connection", "[session]") {
  L4SIM_EACH_PUMP();
  raw_listener backend_listener;
  lb_fixture fx{std::vector<uint16_t>{backend_listener.port()}, [](actors::balancer_config& cfg) {
                  cfg.session.timeouts.client = std::chrono::milliseconds{200};
                }};
  auto [client, backend] = proxied_pair(fx, backend_listener);
  std::string got;
  CHECK(read_then_end(client, 0, got) == 0);   // the balancer's FIN
  CHECK(read_then_end(backend, 0, got) == 0);  // the backend's connection goes too
  ::close(client);
  ::close(backend);
  CHECK(wait_until([&] { return fx.active() == 0 && fx.sessions() == 0; }));
  CHECK(fx.row(0).failures == 0);
}

TEST_CASE(
    "the client-fin timeout closes a session whose other side stays open after a "
    "half-close",
    "[session]") {
  L4SIM_EACH_PUMP();
  raw_listener backend_listener;
  lb_fixture fx{std::vector<uint16_t>{backend_listener.port()}, [](actors::balancer_config& cfg) {
                  cfg.session.timeouts = {std::chrono::hours{1}, std::chrono::hours{1},
                                          std::chrono::hours{1}, std::chrono::milliseconds{200}};
                }};
  auto [client, backend] = proxied_pair(fx, backend_listener);
  ::shutdown(client, SHUT_WR);
  std::string got;
  CHECK(read_then_end(backend, 0, got) == 0);  // the forwarded FIN; the backend stays open
  CHECK(read_then_end(client, 0, got) == 0);   // and the balancer closes the rest
  ::close(client);
  ::close(backend);
  CHECK(wait_until([&] { return fx.sessions() == 0; }));
}

TEST_CASE("a client that keeps talking outlives its client timeout many times over", "[session]") {
  L4SIM_EACH_PUMP();
  lb_fixture fx{1, [](actors::balancer_config& cfg) {
                  // Generous against a loaded machine: a stall past 3 s would close it
                  // (a sanitized build at load 20 stalled past 2 s once in ten runs).
                  cfg.session.timeouts = {std::chrono::seconds{3}, std::chrono::seconds{3},
                                          caf::timespan{0}, caf::timespan{0}};
                }};
  auto c = fx.connect();
  REQUIRE(c.connected());
  // 40 round trips at a 200 ms pace: at least 8 s, more than two client timeouts in all.
  for (int i = 0; i < 40; ++i) {
    REQUIRE(c.send("PING " + std::to_string(i) + "\n"));
    REQUIRE(c.line() == "PONG " + std::to_string(i));
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
  }
}
