#include "actors/io/dialer.hpp"

#include <unistd.h>

#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "actors/backend/backend_server.hpp"
#include "actors/io/net.hpp"
#include "protocols/errors.hpp"
#include "tests/support/actor_system.hpp"
#include "tests/support/black_hole.hpp"
#include "tests/support/socket_client.hpp"

using namespace l4sim;
using namespace l4sim::testing;

namespace {

struct dial_outcome {
  int fd = -1;
  caf::error err;
  std::chrono::milliseconds took{0};
};

dial_outcome dial(test_system& ts, actors::dialer_actor dialer, uint16_t port,
                  std::chrono::milliseconds timeout) {
  caf::scoped_actor self{*ts.sys};
  dial_outcome out;
  auto start = test_clock::now();
  self->request(dialer, patience, caf::connect_atom_v, std::string{"127.0.0.1"}, port,
                caf::timespan{timeout})
      .receive([&](actors::dialed_socket s) { out.fd = s.release(); },
               [&](const caf::error& err) { out.err = err; });
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(test_clock::now() - start);
  return out;
}

}  // namespace

TEST_CASE("dialer hands over a connected socket", "[dialer]") {
  test_system ts;
  actors::backend_config cfg;
  cfg.log = false;
  auto backend = actors::spawn_backend(*ts.sys, cfg);
  REQUIRE(backend);
  auto dialer = actors::spawn_dialer(*ts.sys);
  auto out = dial(ts, dialer, backend->port, std::chrono::milliseconds{5000});
  REQUIRE(out.fd >= 0);
  CHECK(actors::connect_result(out.fd) == 0);
  ::close(out.fd);
  caf::anon_send_exit(dialer, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(backend->actor, caf::exit_reason::user_shutdown);
}

TEST_CASE("dialer reports a refused connect as upstream_connect_failed", "[dialer]") {
  test_system ts;
  // A port that was just free: bind, read the port, close.
  auto probe = actors::open_listener("127.0.0.1", 0);
  REQUIRE(probe);
  auto port = actors::local_port_of(*probe);
  ::close(*probe);
  auto dialer = actors::spawn_dialer(*ts.sys);
  auto out = dial(ts, dialer, port, std::chrono::milliseconds{5000});
  CHECK(out.fd < 0);
  CHECK(out.err == protocols::l4_errc::upstream_connect_failed);
  caf::anon_send_exit(dialer, caf::exit_reason::user_shutdown);
}

TEST_CASE("dialer times out on a black hole without blocking other dials", "[dialer]") {
  test_system ts;
  black_hole hole;
  actors::backend_config cfg;
  cfg.log = false;
  auto backend = actors::spawn_backend(*ts.sys, cfg);
  REQUIRE(backend);
  auto dialer = actors::spawn_dialer(*ts.sys);
  caf::scoped_actor self{*ts.sys};
  // Start the slow dial first, then a fast one that must not wait for it.
  caf::error hole_err;
  auto start = test_clock::now();
  auto slow = self->request(dialer, patience, caf::connect_atom_v, std::string{"127.0.0.1"},
                            hole.port(), caf::timespan{std::chrono::milliseconds{1500}});
  auto fast = dial(ts, dialer, backend->port, std::chrono::milliseconds{5000});
  CHECK(fast.fd >= 0);
  CHECK(fast.took < std::chrono::milliseconds{1500});
  ::close(fast.fd);
  slow.receive([&](actors::dialed_socket) { FAIL("black hole connected"); },
               [&](const caf::error& err) { hole_err = err; });
  CHECK(hole_err == protocols::l4_errc::upstream_timeout);
  CHECK(test_clock::now() - start >= std::chrono::milliseconds{1500});
  caf::anon_send_exit(dialer, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(backend->actor, caf::exit_reason::user_shutdown);
}
