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
  // High-water mark (256 KiB) plus at most a few reads that were already under way.
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
