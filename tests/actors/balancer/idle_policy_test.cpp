#include "actors/balancer/idle_policy.hpp"

#include <catch2/catch.hpp>

using namespace l4sim::actors;
using namespace std::chrono_literals;

namespace {

const session_activity::time_point t0{};

session_timeouts timeouts() {
  session_timeouts t;
  t.client = 10s;
  t.server = 20s;
  t.tunnel = 60s;
  t.client_fin = 5s;
  return t;
}

}  // namespace

TEST_CASE("a silent client expires on the client timeout, counted from its last byte",
          "[idle-policy]") {
  session_activity act;
  act.client_last = t0;
  CHECK(idle_check(act, t0 + 9s, timeouts()) == idle_expiry::none);
  CHECK(idle_check(act, t0 + 10s, timeouts()) == idle_expiry::client);
  act.client_last = t0 + 8s;  // it sent something (or drained something) since
  CHECK(idle_check(act, t0 + 17s, timeouts()) == idle_expiry::none);
  CHECK(idle_check(act, t0 + 18s, timeouts()) == idle_expiry::client);
}

TEST_CASE("a silent backend expires on the server timeout only once attached", "[idle-policy]") {
  auto t = timeouts();
  t.client = 0s;  // off: only the backend side is judged
  session_activity act;
  act.client_last = t0;
  CHECK(idle_check(act, t0 + 1h, t) == idle_expiry::none);
  act.backend_attached = true;
  act.backend_last = t0 + 1s;
  CHECK(idle_check(act, t0 + 20s, t) == idle_expiry::none);
  CHECK(idle_check(act, t0 + 21s, t) == idle_expiry::server);
}

TEST_CASE(
    "once both sides sent data the tunnel timeout replaces the client and server "
    "timeouts",
    "[idle-policy]") {
  session_activity act;
  act.client_last = t0;
  act.backend_attached = true;
  act.backend_last = t0 + 30s;
  act.client_sent = true;
  act.backend_sent = true;
  // The client has been quiet past its own timeout, but the tunnel is alive.
  CHECK(idle_check(act, t0 + 89s, timeouts()) == idle_expiry::none);
  CHECK(idle_check(act, t0 + 90s, timeouts()) == idle_expiry::tunnel);
  auto no_tunnel = timeouts();
  no_tunnel.tunnel = 0s;
  CHECK(idle_check(act, t0 + 31s, no_tunnel) == idle_expiry::client);
}

TEST_CASE(
    "after a half-close the client-fin timeout runs from the later of the close and "
    "the last activity",
    "[idle-policy]") {
  session_activity act;
  act.client_last = t0 + 1s;
  act.backend_attached = true;
  act.backend_last = t0 + 3s;
  act.half_closed = t0 + 2s;
  CHECK(idle_check(act, t0 + 7s, timeouts()) == idle_expiry::none);
  CHECK(idle_check(act, t0 + 8s, timeouts()) == idle_expiry::client_fin);
  auto no_fin = timeouts();
  no_fin.client_fin = 0s;
  CHECK(idle_check(act, t0 + 8s, no_fin) == idle_expiry::none);
  CHECK(idle_check(act, t0 + 11s, no_fin) == idle_expiry::client);
}

TEST_CASE("zero timeouts never expire and need no sweep", "[idle-policy]") {
  session_timeouts off{0s, 0s, 0s, 0s};
  session_activity act;
  act.backend_attached = true;
  CHECK(idle_check(act, t0 + 24h, off) == idle_expiry::none);
  CHECK(off.sweep_period() == 0s);
  CHECK(timeouts().sweep_period() == 1s);  // a quarter of 5s, at most 1s
  session_timeouts tiny{40ms, 0s, 0s, 0s};
  CHECK(tiny.sweep_period() == 10ms);
  CHECK(std::string{to_string(idle_expiry::client_fin)} == "client_fin");
}
