#pragma once

#include <functional>
#include <string>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "actors/backend/backend_server.hpp"
#include "actors/balancer/balancer.hpp"
#include "tests/support/actor_system.hpp"
#include "tests/support/socket_client.hpp"

namespace l4sim::testing {

/// The pump the next lb_fixture's sessions use (see L4SIM_EACH_PUMP).
inline actors::pump_kind& fixture_pump() {
  static actors::pump_kind kind = actors::pump_config{}.kind;
  return kind;
}

/// Runs the rest of the test case once per byte pump (a Catch2 generator): every relay
/// test holds for every pump.
#define L4SIM_EACH_PUMP()                                                              \
  const auto l4sim_pump_kind =                                                         \
      GENERATE(::l4sim::actors::pump_kind::broker, ::l4sim::actors::pump_kind::direct, \
               ::l4sim::actors::pump_kind::splice);                                    \
  ::l4sim::testing::fixture_pump() = l4sim_pump_kind;                                  \
  INFO("pump: " << ::l4sim::actors::to_string(l4sim_pump_kind))

/// An in-process balancer on 127.0.0.1 in front of the given backends (real sockets).
struct lb_fixture : test_system {
  std::vector<actors::backend_handle> backends;
  actors::balancer_handle lb;

  /// Spawns `n` line-protocol backends (server-1..n) and a balancer tuned by `tune`.
  explicit lb_fixture(size_t n, const std::function<void(actors::balancer_config&)>& tune = {}) {
    std::vector<uint16_t> ports;
    for (size_t i = 0; i < n; ++i) {
      actors::backend_config cfg;
      cfg.id = "server-" + std::to_string(i + 1);
      cfg.log = false;
      auto b = actors::spawn_backend(*sys, cfg);
      REQUIRE(b);
      backends.push_back(*b);
      ports.push_back(b->port);
    }
    start_balancer(ports, tune);
  }

  /// Spawns a balancer in front of servers the test runs itself, on `ports`.
  /// Health checks are off: a probe would be the first connection those servers accept.
  lb_fixture(const std::vector<uint16_t>& ports,
             const std::function<void(actors::balancer_config&)>& tune = {}) {
    start_balancer(ports, [&](actors::balancer_config& cfg) {
      cfg.health.interval = caf::timespan{0};
      if (tune) {
        tune(cfg);
      }
    });
  }

  /// Spawns a balancer in front of arbitrary ports (backend ids server-1..n).
  void start_balancer(const std::vector<uint16_t>& ports,
                      const std::function<void(actors::balancer_config&)>& tune) {
    actors::balancer_config cfg;
    cfg.log = false;
    cfg.health.interval = std::chrono::hours{1};  // tests that probe say so
    cfg.session.pump.kind = fixture_pump();
    for (size_t i = 0; i < ports.size(); ++i) {
      auto id = "server-" + std::to_string(i + 1);
      cfg.backends.push_back(
          {id, "127.0.0.1:" + std::to_string(ports[i]), "127.0.0.1", ports[i], 1, "", 0});
    }
    if (tune) {
      tune(cfg);
    }
    auto spawned = actors::spawn_balancer(*sys, cfg);
    REQUIRE(spawned);
    lb = *spawned;
  }

  ~lb_fixture() {
    // The test's sockets are closed by now; let their sessions finish before stopping, as
    // CAF 0.17 cannot free a broker torn down with connections in flight at shutdown.
    wait_until([&] { return sessions() == 0; }, std::chrono::seconds{5});
    lb.stop();
    fixture_pump() = actors::pump_config{}.kind;  // a test that does not choose gets the default
    for (auto& b : backends) {
      caf::anon_send_exit(b.actor, caf::exit_reason::user_shutdown);
    }
  }

  protocols::balancer_stats stats() {
    caf::scoped_actor self{*sys};
    protocols::balancer_stats result;
    self->request(lb.picker, patience, caf::get_atom_v, stats_atom_v)
        .receive([&](const protocols::balancer_stats& st) { result = st; },
                 [&](const caf::error& err) { FAIL(actors::describe(err)); });
    return result;
  }

  protocols::backend_row row(size_t i) { return stats().backends.at(i); }

  /// Total active proxied connections the picker knows of.
  uint64_t active() {
    uint64_t n = 0;
    for (auto& r : stats().backends) {
      n += r.active + r.pending;
    }
    return n;
  }

  protocols::backend_stats backend_stats(size_t i) {
    caf::scoped_actor self{*sys};
    protocols::backend_stats result;
    self->request(backends.at(i).actor, patience, caf::get_atom_v, stats_atom_v)
        .receive([&](const protocols::backend_stats& st) { result = st; },
                 [&](const caf::error& err) { FAIL(actors::describe(err)); });
    return result;
  }

  /// Sessions alive in the listener.
  uint64_t sessions() {
    caf::scoped_actor self{*sys};
    uint64_t n = 0;
    self->request(lb.listener, patience, caf::get_atom_v, stats_atom_v)
        .receive([&](uint64_t x) { n = x; }, [](const caf::error&) {});
    return n;
  }

  /// Bytes buffered by the balancer over all its sessions now.
  uint64_t buffered() {
    caf::scoped_actor self{*sys};
    std::vector<caf::actor> sessions;
    self->request(lb.listener, patience, caf::get_atom_v, sessions_atom_v)
        .receive([&](std::vector<caf::actor>& xs) { sessions = std::move(xs); },
                 [&](const caf::error& err) { FAIL(actors::describe(err)); });
    uint64_t total = 0;
    for (auto& s : sessions) {
      self->request(s, patience, caf::get_atom_v, stats_atom_v)
          .receive([&](uint64_t n) { total += n; }, [](const caf::error&) {});
    }
    return total;
  }

  socket_client connect() { return socket_client{lb.port}; }

  /// One REQ/ACK round trip on a fresh connection through the balancer, then close.
  bool round_trip() {
    auto c = connect();
    if (!c.connected() || !c.send("REQ 1\n")) {
      return false;
    }
    return c.line() == std::optional<std::string>{"ACK"};
  }
};

}  // namespace l4sim::testing
