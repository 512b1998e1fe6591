#include "actors/balancer/picker.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "actors/io/system.hpp"
#include "protocols/errors.hpp"
#include "tests/support/socket_client.hpp"

// The picker's fast path against the real picker actor: what a session does through it
// must leave the registry as the messages would, and it must hand back to the picker
// whatever needs the picker's own messages or timers.

using namespace l4sim;
using namespace l4sim::actors;
using l4sim::testing::wait_until;

namespace {

struct fast_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  picker_actor picker;
  std::shared_ptr<picker_fast_path> fast;

  explicit fast_fixture(uint32_t max_conns = 0) {
    configure_system(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    picker_config pcfg;
    for (auto id : {"a", "b"}) {
      protocols::backend_spec be;
      be.id = id;
      be.address = "127.0.0.1";
      be.port = 9;
      be.label = "127.0.0.1:9";
      be.max_conns = max_conns;
      pcfg.backends.push_back(be);
    }
    pcfg.log = false;
    auto spawned = spawn_picker_with_fast_path(*sys, pcfg);
    REQUIRE(spawned);
    picker = spawned->first;
    fast = spawned->second;
  }

  ~fast_fixture() { caf::anon_send_exit(picker, caf::exit_reason::user_shutdown); }

  protocols::balancer_stats stats() {
    caf::scoped_actor self{*sys};
    protocols::balancer_stats result;
    self->request(picker, std::chrono::seconds{10}, caf::get_atom_v, stats_atom_v)
        .receive([&](const protocols::balancer_stats& st) { result = st; },
                 [&](const caf::error& err) { FAIL(caf::to_string(err)); });
    return result;
  }

  /// Returns the row of backend `id` ("a" or "b") in `st`.
  static const protocols::backend_row& row(const protocols::balancer_stats& st,
                                           const std::string& id) {
    return st.backends[id == "a" ? 0 : 1];
  }
};

}  // namespace

TEST_CASE("fast picks and reports count like the picker's messages", "[picker]") {
  fast_fixture fx;
  auto first = fx.fast->pick({}, "");
  auto second = fx.fast->pick({}, "");
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->id != second->id);  // round robin
  auto st = fx.stats();
  CHECK(st.backends[0].pending == 1);
  CHECK(st.backends[1].pending == 1);
  CHECK(fx.fast->opened(first->id));
  CHECK(fx.fast->released(second->id));
  CHECK(fx.fast->accepted(2));
  st = fx.stats();
  CHECK(fx.row(st, first->id).pending == 0);
  CHECK(fx.row(st, first->id).active == 1);
  CHECK(fx.row(st, first->id).total == 1);
  CHECK(st.accepted == 2);
  CHECK(fx.fast->finished(protocols::session_finished{first->id, 10, 20, false}));
  CHECK(fx.fast->finished(protocols::session_finished{"", 0, 0, false}));
  st = fx.stats();
  CHECK(fx.row(st, first->id).active == 0);
  CHECK(fx.row(st, first->id).bytes_in == 10);
  CHECK(fx.row(st, first->id).bytes_out == 20);
  CHECK(st.no_backend == 1);
}

TEST_CASE("the fast path leaves a reset and an exclusion-only choice to the picker", "[picker]") {
  fast_fixture fx;
  auto pick = fx.fast->pick({}, "");
  REQUIRE(pick);
  CHECK(fx.fast->opened(pick->id));
  // A reset counts toward ejection, whose end is the picker's timer.
  CHECK_FALSE(fx.fast->finished(protocols::session_finished{pick->id, 1, 1, true}));
  // Every backend excluded: whether to refuse is the picker's answer, not the fast path's.
  CHECK_FALSE(fx.fast->pick({"a", "b"}, ""));
}

TEST_CASE("while clients queue, picks and freed slots go through the picker", "[picker]") {
  fast_fixture fx{1};
  auto a = fx.fast->pick({}, "");
  auto b = fx.fast->pick({}, "");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(fx.fast->opened(a->id));
  CHECK(fx.fast->opened(b->id));
  CHECK_FALSE(fx.fast->pick({}, ""));  // both full
  // A third client queues at the picker.
  caf::scoped_actor self{*fx.sys};
  auto queued = self->request(fx.picker, caf::infinite, pick_atom_v, std::vector<std::string>{});
  REQUIRE(wait_until([&] {
    auto st = fx.stats();
    return st.backends[0].queued + st.backends[1].queued == 1;
  }));
  // Nobody may overtake it, and a slot freed where it waits is the picker's to hand over.
  CHECK_FALSE(fx.fast->pick({}, ""));
  auto st = fx.stats();
  auto waiting_at = st.backends[0].queued == 1 ? std::string{"a"} : std::string{"b"};
  CHECK_FALSE(fx.fast->finished(protocols::session_finished{waiting_at, 0, 0, false}));
  self->send(fx.picker, protocols::session_finished{waiting_at, 0, 0, false});
  std::string got;
  queued.receive([&](const protocols::backend_pick& p) { got = p.id; },
                 [&](const caf::error& err) { FAIL(caf::to_string(err)); });
  CHECK(got == waiting_at);
}
