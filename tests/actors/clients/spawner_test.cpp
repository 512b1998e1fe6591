#include "actors/clients/spawner.hpp"

#include <unistd.h>

#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "actors/backend/backend_server.hpp"
#include "actors/io/net.hpp"
#include "tests/support/actor_system.hpp"
#include "tests/support/socket_client.hpp"

using namespace l4sim;
using namespace l4sim::testing;
using protocols::client_end;
using protocols::client_kind;
using protocols::client_stats;

namespace {

/// A test system with one backend and a spawner aimed at it.
struct spawner_fixture : test_system {
  actors::backend_handle backend;
  actors::spawner_actor spawner;
  caf::scoped_actor self{*sys};

  spawner_fixture() {
    actors::backend_config bcfg;
    bcfg.log = false;
    auto spawned = actors::spawn_backend(*sys, bcfg);
    REQUIRE(spawned);
    backend = *spawned;
  }

  ~spawner_fixture() {
    caf::anon_send_exit(spawner, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(backend.actor, caf::exit_reason::user_shutdown);
  }

  /// Returns a spawner config aimed at the backend, with short client parameters.
  actors::spawner_config config(double rate, const char* mix) {
    actors::spawner_config cfg;
    cfg.port = backend.port;
    cfg.rate = rate;
    auto parsed = actors::parse_mix(mix);
    REQUIRE(parsed);
    cfg.mix = *parsed;
    cfg.log = false;
    for (auto& p : cfg.profiles) {
      p.min_think = p.max_think = std::chrono::milliseconds{10};
      p.min_byte_gap = p.max_byte_gap = std::chrono::milliseconds{10};
      p.stream_interval = std::chrono::milliseconds{20};
    }
    return cfg;
  }

  void start(actors::spawner_config cfg) { spawner = actors::spawn_spawner(*sys, std::move(cfg)); }

  template <class... Ts>
  client_stats ask(Ts... xs) {
    client_stats result;
    self->request(spawner, patience, xs...)
        .receive([&](const client_stats& st) { result = st; },
                 [&](const caf::error& err) { FAIL(actors::describe(err)); });
    return result;
  }

  client_stats stats() { return ask(caf::get_atom_v, stats_atom_v); }

  const protocols::client_type_row& row(const client_stats& st, client_kind kind) {
    return st.rows.at(static_cast<std::size_t>(kind));
  }
};

uint64_t total(const client_stats& st, uint64_t protocols::client_type_row::*field) {
  uint64_t n = 0;
  for (auto& r : st.rows) {
    n += r.*field;
  }
  return n;
}

uint64_t total_ended(const client_stats& st) {
  uint64_t n = 0;
  for (auto& r : st.rows) {
    for (auto e : r.ends) {
      n += e;
    }
  }
  return n;
}

}  // namespace

TEST_CASE("spawner at 20/s for 1 s starts about 20 clients and stops them all", "[spawner]") {
  spawner_fixture fx;
  auto cfg = fx.config(20, "idle=1");
  cfg.duration = std::chrono::seconds{1};
  fx.start(cfg);
  auto st = fx.ask(caf::wait_for_atom_v);
  CHECK_FALSE(st.running);
  auto& idle = fx.row(st, client_kind::idle);
  // Wall clock on a shared machine: a generous band around 20 (a sanitized build at load 20
  // started 7 in the second).
  CHECK(idle.started >= 5);
  CHECK(idle.started <= 24);
  CHECK(idle.active == 0);
  CHECK(idle.ended(client_end::completed) + idle.ended(client_end::stopped) == idle.started);
  CHECK(wait_until([&] {
    protocols::backend_stats bst;
    fx.self->request(fx.backend.actor, patience, caf::get_atom_v, stats_atom_v)
        .receive([&](const protocols::backend_stats& x) { bst = x; }, [](const caf::error&) {});
    return bst.active == 0;
  }));
}

TEST_CASE("finish ends the run and answers once every client reported", "[spawner]") {
  spawner_fixture fx;
  fx.start(fx.config(100, "real=2,stream=1,slow=1"));
  REQUIRE(wait_until([&] { return total(fx.stats(), &protocols::client_type_row::started) >= 8; }));
  auto st = fx.ask(finish_atom_v);
  CHECK_FALSE(st.running);
  CHECK(total(st, &protocols::client_type_row::active) == 0);
  CHECK(total_ended(st) == total(st, &protocols::client_type_row::started));
  CHECK(fx.row(st, client_kind::idle).started == 0);
  // Later stats and waits answer the same final figures.
  auto again = fx.ask(caf::wait_for_atom_v);
  CHECK(total_ended(again) == total_ended(st));
  CHECK(fx.stats().elapsed == st.elapsed);
}

TEST_CASE("spawner changes rate and mix at run time", "[spawner]") {
  spawner_fixture fx;
  fx.start(fx.config(0, "stream=1"));
  CHECK(total(fx.stats(), &protocols::client_type_row::started) == 0);
  auto idle_only = actors::parse_mix("idle=1");
  fx.self->send(fx.spawner, caf::put_atom_v, mix_atom_v, *idle_only);
  fx.self->send(fx.spawner, caf::put_atom_v, rate_atom_v, 100.0);
  REQUIRE(wait_until([&] { return fx.row(fx.stats(), client_kind::idle).started >= 3; }));
  auto st = fx.stats();
  CHECK(st.rate == 100.0);
  CHECK(st.mix == *idle_only);
  CHECK(fx.row(st, client_kind::stream).started == 0);
  fx.self->send(fx.spawner, caf::put_atom_v, rate_atom_v, 0.0);
  auto paused = fx.stats();
  // Nothing arrives after a pause; the stats request queues behind the rate change.
  REQUIRE(wait_until([&] { return fx.stats().rate == 0.0; }));
  auto later = total(fx.stats(), &protocols::client_type_row::started);
  CHECK(later <= total(paused, &protocols::client_type_row::started) + 1);
  fx.ask(finish_atom_v);
}

TEST_CASE("spawner skips arrivals while max_active clients are open", "[spawner]") {
  spawner_fixture fx;
  auto cfg = fx.config(200, "idle=1");
  cfg.max_active = 2;
  fx.start(cfg);
  REQUIRE(wait_until([&] { return fx.stats().capped >= 3; }));
  auto st = fx.stats();
  CHECK(fx.row(st, client_kind::idle).active <= 2);
  CHECK(fx.row(st, client_kind::idle).started == 2);
  fx.ask(finish_atom_v);
}

TEST_CASE("spawner aggregates refused connects by reason", "[spawner]") {
  spawner_fixture fx;
  auto probe = actors::open_listener("127.0.0.1", 0);
  REQUIRE(probe);
  auto cfg = fx.config(100, "real=1");
  cfg.port = actors::local_port_of(*probe);
  ::close(*probe);
  fx.start(cfg);
  REQUIRE(wait_until(
      [&] { return fx.row(fx.stats(), client_kind::real).ended(client_end::refused) >= 3; }));
  auto st = fx.ask(finish_atom_v);
  auto& real = fx.row(st, client_kind::real);
  CHECK(real.ended(client_end::completed) == 0);
  CHECK(real.ended(client_end::refused) + real.ended(client_end::stopped) == real.started);
}

TEST_CASE("clients spread over N loopback source addresses, client k on 127.0.1.(1 + k mod N)",
          "[spawner]") {
  CHECK(actors::client_source_address(7, 0).empty());
  CHECK(actors::client_source_address(1, 12) == "127.0.1.2");
  CHECK(actors::client_source_address(12, 12) == "127.0.1.1");
  CHECK(actors::client_source_address(253, 254) == "127.0.1.254");
  // Past the bound the spread stays within 127.0.1.1-254.
  CHECK(actors::client_source_address(254, 1000) == "127.0.1.1");
}
