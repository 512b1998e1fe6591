// The balancer's runtime parts over real sockets: membership commands on the control actor,
// the per-backend FIFO queue under maxconn, retries with backoff, outlier ejection.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/support/lb_fixture.hpp"

using namespace l4sim;
using namespace l4sim::testing;
using namespace std::chrono_literals;

namespace {

/// A loopback port nothing listens on: connects to it are refused.
uint16_t refusing_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// A loopback listener that accepts every connection and resets it at once (SO_LINGER
/// {1,0} close), until destroyed; the accept loop polls so that it ends within 50 ms.
class resetting_backend {
 public:
  resetting_backend() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::listen(fd_, 64);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    loop_ = std::thread{[this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) {
          continue;
        }
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) {
          continue;
        }
        linger abortive{1, 0};
        ::setsockopt(c, SOL_SOCKET, SO_LINGER, &abortive, sizeof(abortive));
        ::close(c);
        ++resets;
      }
    }};
  }
  ~resetting_backend() {
    stop_ = true;
    loop_.join();
    ::close(fd_);
  }
  uint16_t port = 0;
  std::atomic<int> resets{0};

 private:
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread loop_;
};

/// Sends a control request and returns its answer text, or the error as "error: ...".
template <class... Ts>
std::string command(lb_fixture& fx, Ts... xs) {
  caf::scoped_actor self{*fx.sys};
  std::string result;
  self->request(fx.lb.control, patience, xs...)
      .receive([&](const std::string& text) { result = text; },
               [&](const caf::error& err) { result = "error: " + actors::describe(err); });
  return result;
}

/// A client that went through the balancer and got its first ACK.
socket_client served(lb_fixture& fx) {
  socket_client c{fx.lb.port};
  REQUIRE(c.connected());
  REQUIRE(c.send("REQ 1\n"));
  REQUIRE(c.line() == "ACK");
  return c;
}

}  // namespace

TEST_CASE("a drained backend takes no new connections until it is ready again", "[membership]") {
  lb_fixture fx{2};
  CHECK_THAT(command(fx, drain_atom_v, std::string{"server-1"}), Catch::Contains("draining"));
  CHECK(fx.row(0).draining);
  for (int i = 0; i < 4; ++i) {
    served(fx);
  }
  CHECK(fx.row(0).total == 0);
  CHECK(fx.row(1).total == 4);
  CHECK_THAT(command(fx, ready_atom_v, std::string{"server-1"}), Catch::Contains("ready"));
  for (int i = 0; i < 4; ++i) {
    served(fx);
  }
  CHECK(fx.row(0).total == 2);
}

TEST_CASE("membership commands on unknown or bad entries fail naming them and change nothing",
          "[membership]") {
  lb_fixture fx{2};
  CHECK_THAT(command(fx, caf::delete_atom_v, std::string{"nope"}),
             Catch::StartsWith("error:") && Catch::Contains("\"nope\""));
  CHECK_THAT(command(fx, drain_atom_v, std::string{"nope"}), Catch::Contains("\"nope\""));
  CHECK_THAT(command(fx, weight_atom_v, std::string{"server-1"}, uint32_t{0}),
             Catch::StartsWith("error:") && Catch::Contains("server-1"));
  protocols::backend_spec dup{"server-2", "127.0.0.1:1", "127.0.0.1", 1, 1, "", 0};
  CHECK_THAT(command(fx, caf::add_atom_v, dup),
             Catch::StartsWith("error:") && Catch::Contains("server-2"));
  auto st = fx.stats();
  REQUIRE(st.backends.size() == 2);
  CHECK(st.backends[1].address != "127.0.0.1:1");
  CHECK(st.backends[0].weight == 1);
  CHECK_THAT(command(fx, weight_atom_v, std::string{"server-1"}, uint32_t{3}),
             Catch::Contains("1 -> 3"));
  CHECK(fx.row(0).weight == 3);
}

TEST_CASE("a removed backend's open connection finishes, then the backend is gone",
          "[membership]") {
  L4SIM_EACH_PUMP();
  lb_fixture fx{2, [](actors::balancer_config& cfg) { cfg.drain_timeout = std::chrono::hours{1}; }};
  auto c = served(fx);  // rr: server-1
  REQUIRE(fx.row(0).active == 1);
  CHECK_THAT(command(fx, caf::delete_atom_v, std::string{"server-1"}), Catch::Contains("draining"));
  REQUIRE(fx.stats().backends.size() == 2);
  REQUIRE(c.send("REQ 2\n"));
  CHECK(c.line() == "ACK");
  served(fx);  // a new one goes to server-2
  CHECK(fx.row(1).total == 1);
  c.close();
  CHECK(wait_until([&] { return fx.stats().backends.size() == 1; }));
  CHECK(fx.row(0).id == "server-2");
}

TEST_CASE("a removed backend's connections are closed at the drain timeout", "[membership]") {
  L4SIM_EACH_PUMP();
  lb_fixture fx{2, [](actors::balancer_config& cfg) { cfg.drain_timeout = 200ms; }};
  auto c = served(fx);
  CHECK_THAT(command(fx, caf::delete_atom_v, std::string{"server-1"}), Catch::Contains("draining"));
  CHECK(c.wait_closed());
  CHECK(wait_until([&] { return fx.stats().backends.size() == 1; }));
}

TEST_CASE("past maxconn clients wait in a FIFO queue, read nothing, and are served in order",
          "[queue]") {
  L4SIM_EACH_PUMP();
  lb_fixture fx{1, [](actors::balancer_config& cfg) {
                  cfg.backends[0].max_conns = 1;
                  cfg.queue_timeout = std::chrono::hours{1};
                }};
  auto holder = served(fx);
  socket_client second{fx.lb.port};
  REQUIRE(second.send("REQ 2\n"));
  REQUIRE(wait_until([&] { return fx.row(0).queued == 1; }));
  socket_client third{fx.lb.port};
  REQUIRE(third.send("REQ 3\n"));
  REQUIRE(wait_until([&] { return fx.row(0).queued == 2; }));
  CHECK_FALSE(second.line(300ms));  // still waiting: the backend is full
  CHECK(fx.row(0).active == 1);
  holder.close();
  CHECK(second.line() == "ACK");
  CHECK(fx.row(0).queued == 1);  // the first in line went first
  second.close();
  CHECK(third.line() == "ACK");
  CHECK(fx.row(0).queued == 0);
  CHECK(fx.row(0).queue_timeouts == 0);
}

TEST_CASE("a queued client is closed at the queue timeout and counted", "[queue]") {
  L4SIM_EACH_PUMP();
  lb_fixture fx{1, [](actors::balancer_config& cfg) {
                  cfg.backends[0].max_conns = 1;
                  cfg.queue_timeout = 200ms;
                }};
  auto holder = served(fx);
  socket_client waiting{fx.lb.port};
  REQUIRE(waiting.send("REQ 2\n"));
  CHECK(waiting.wait_closed());
  CHECK(fx.row(0).queue_timeouts == 1);
  CHECK(fx.row(0).queued == 0);
  CHECK(fx.row(0).active == 1);
}

TEST_CASE("a queued client moves to a backend that has room once its own drains", "[queue]") {
  L4SIM_EACH_PUMP();
  lb_fixture fx{2, [](actors::balancer_config& cfg) {
                  cfg.backends[0].max_conns = 1;
                  cfg.backends[1].max_conns = 1;
                  cfg.queue_timeout = std::chrono::hours{1};
                }};
  auto a = served(fx);
  auto b = served(fx);
  socket_client waiting{fx.lb.port};
  REQUIRE(waiting.send("REQ 3\n"));
  REQUIRE(wait_until([&] { return fx.row(0).queued + fx.row(1).queued == 1; }));
  auto full = fx.row(0).queued == 1 ? 0 : 1;
  CHECK_THAT(command(fx, drain_atom_v, std::string{full == 0 ? "server-1" : "server-2"}),
             Catch::Contains("draining"));
  // Re-dispatched: it waits at the other backend now.
  CHECK(wait_until([&] { return fx.row(1 - full).queued == 1; }));
  (full == 0 ? b : a).close();
  CHECK(waiting.line() == "ACK");
}

TEST_CASE("a refused connect is retried on another backend after the backoff and counted",
          "[retry]") {
  lb_fixture fx{1};
  fx.lb.stop();
  fx.start_balancer({refusing_port(), fx.backends[0].port}, [](actors::balancer_config& cfg) {
    cfg.session.backoff = {caf::timespan{300ms}, caf::timespan{300ms}};
    cfg.health.interval = caf::timespan{0};  // a probe would mark the refusing one DOWN
  });
  auto start = test_clock::now();
  auto c = served(fx);  // rr: the refusing one first, then server-2
  // Equal jitter: at least half the backoff passed before the retry.
  CHECK(test_clock::now() - start >= 150ms);
  CHECK(fx.row(0).failures == 1);
  CHECK(fx.row(0).retries == 1);
  CHECK(fx.row(1).total == 1);
}

TEST_CASE("consecutive connect failures eject a backend and nothing is sent to it meanwhile",
          "[outlier]") {
  lb_fixture fx{1};
  fx.lb.stop();
  fx.start_balancer({refusing_port(), fx.backends[0].port}, [](actors::balancer_config& cfg) {
    cfg.session.backoff = {caf::timespan{0}, caf::timespan{0}};
    cfg.outlier = {2, std::chrono::hours{1}, 50};
    cfg.health.interval = caf::timespan{0};  // a probe would mark the refusing one DOWN
  });
  for (int i = 0; i < 8; ++i) {
    served(fx);
  }
  auto dead = fx.row(0);
  CHECK(dead.ejected);
  CHECK(dead.ejections == 1);
  CHECK(dead.failures == 2);
  CHECK(fx.row(1).total == 8);
}

TEST_CASE("a backend that resets every connection it accepts is ejected as an outlier",
          "[outlier]") {
  L4SIM_EACH_PUMP();
  resetting_backend resetter;
  lb_fixture fx{1};
  fx.lb.stop();
  fx.start_balancer({resetter.port, fx.backends[0].port}, [](actors::balancer_config& cfg) {
    cfg.outlier = {2, std::chrono::hours{1}, 50};
    cfg.health.interval = caf::timespan{0};  // a probe alone would not see the resets
  });
  // Round robin sends every other client to the resetter; each of those sees its
  // connection reset. Bounded: at most 40 clients, or 30 s.
  auto deadline = std::chrono::steady_clock::now() + 30s;
  for (int i = 0; i < 40 && !fx.row(0).ejected && std::chrono::steady_clock::now() < deadline;
       ++i) {
    socket_client c{fx.lb.port};
    REQUIRE(c.connected());
    c.send("REQ 1\n");
    std::string line;
    if (c.read_line(line) == read_end::line) {
      CHECK(line == "ACK");  // served by the real backend
    }
  }
  auto dead = fx.row(0);
  CHECK(dead.ejected);
  CHECK(dead.ejections == 1);
  CHECK(dead.failures == 0);  // every connect succeeded: the resets ejected it
  CHECK(resetter.resets >= 2);
  auto before = resetter.resets.load();
  for (int i = 0; i < 4; ++i) {
    served(fx);
  }
  CHECK(resetter.resets == before);
}
