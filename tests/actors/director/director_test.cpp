#include "actors/director/director.hpp"

#include <memory>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <catch2/catch.hpp>

#include "protocols/scenario/scenario_loader.hpp"

using namespace l4sim;
using namespace std::chrono_literals;

namespace {

/// What the fake stage saw and the director reported.
struct world {
  caf::actor subscriber;  // the director, once it joined the fake balancer
  std::vector<actors::director_note> notes;
  std::optional<actors::director_done> done;
  std::vector<std::string> backend_events;
};

/// A backend that answers its control messages and, when killed or restarted, has the
/// fake balancer report the health change one (virtual) second later.
actors::backend_actor::behavior_type fake_backend(actors::backend_actor::pointer, std::string id,
                                                  std::shared_ptr<world> w) {
  auto transition = [=](bool healthy) {
    w->backend_events.push_back(healthy ? "restart" : "kill");
    caf::delayed_anon_send(w->subscriber, 1s, protocols::backend_health_changed{id, healthy});
  };
  return {
      [](caf::put_atom, delay_atom, protocols::duration_value) {},
      [](caf::put_atom, max_conns_atom, uint32_t) {},
      [](caf::put_atom, chaos_atom, uint32_t) {},
      [](caf::put_atom, hang_atom, protocols::duration_value) {},
      [](caf::put_atom, caf::timeout_atom, protocols::duration_value) {},
      [](caf::put_atom, proxy_atom, bool) {},
      [=](kill_atom) { transition(false); },
      [=](restart_atom) -> uint16_t {
        transition(true);
        return 8080;
      },
      [=](caf::get_atom, stats_atom) {
        protocols::backend_stats st;
        st.id = id;
        return st;
      },
  };
}

actors::balancer_control_actor::behavior_type fake_balancer(actors::balancer_control_actor::pointer,
                                                            std::shared_ptr<world> w) {
  return {
      [](caf::get_atom, stats_atom) {
        protocols::balancer_stats st;
        st.algorithm = "rr";
        for (auto id : {"server-1", "server-2"}) {
          protocols::backend_row row;
          row.id = id;
          st.backends.push_back(row);
        }
        return st;
      },
      [](caf::get_atom, settings_atom) { return protocols::balancer_settings{}; },
      [](caf::put_atom, algo_atom, const std::string& name) { return name; },
      [=](caf::join_atom, caf::actor who) { w->subscriber = std::move(who); },
      [](caf::add_atom, const protocols::backend_spec& be) { return be.id; },
      [](caf::delete_atom, const std::string& id) { return id; },
      [](drain_atom, const std::string& id) { return id; },
      [](ready_atom, const std::string& id) { return id; },
      [](weight_atom, const std::string& id, uint32_t) { return id; },
  };
}

// CAF 0.17 dereferences an empty argument tuple when a function actor takes no arguments
// (UBSan: reference binding to null), so the fake takes the world it does not need.
actors::spawner_actor::behavior_type fake_clients(actors::spawner_actor::pointer,
                                                  std::shared_ptr<world>) {
  return {
      [](caf::put_atom, rate_atom, double) {},
      [](caf::put_atom, mix_atom, const protocols::client_mix&) {},
      [](finish_atom) { return protocols::client_stats{}; },
      [](caf::wait_for_atom) { return protocols::client_stats{}; },
      [](caf::get_atom, stats_atom) { return protocols::client_stats{}; },
  };
}

caf::behavior observer(caf::event_based_actor*, std::shared_ptr<world> w) {
  return {
      [=](actors::director_note& n) { w->notes.push_back(std::move(n)); },
      [](actors::stats_frame&) {},
      [=](actors::director_done& d) { w->done = std::move(d); },
  };
}

constexpr const char* scenario_text = R"(name: virtual
duration: 30s
backends: [{id: server-1}, {id: server-2}]
timeline:
  - {at: 10s, kill: server-1}
  - {at: 20s, restart: server-1}
expect:
  - {backend: server-1, health: down, within: 2s, after: 10s}
  - {backend: server-1, health: up, within: 2s, after: 20s}
)";

/// Plays the scenario on fakes under CAF's deterministic scheduler, 100 ms per step.
std::shared_ptr<world> play_virtually() {
  caf::actor_system_config cfg;
  cfg.add_message_types<caf::id_block::l4sim>();
  cfg.set("scheduler.policy", caf::atom("testing"));
  caf::actor_system sys{cfg};
  auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  auto loaded = protocols::load_scenario_text(scenario_text, "virtual.yaml");
  REQUIRE(loaded.ok());
  auto w = std::make_shared<world>();
  actors::director_config dcfg;
  auto plan = actors::make_plan(*loaded.value, {});
  REQUIRE(plan);
  dcfg.plan = *plan;
  dcfg.on.backends.emplace_back("server-1", sys.spawn(fake_backend, "server-1", w));
  dcfg.on.backends.emplace_back("server-2", sys.spawn(fake_backend, "server-2", w));
  dcfg.on.lb = sys.spawn(fake_balancer, w);
  dcfg.on.clients = sys.spawn(fake_clients, w);
  for (auto& [id, b] : dcfg.on.backends) {
    dcfg.on.owned.push_back(caf::actor_cast<caf::actor>(b));
  }
  dcfg.on.owned.push_back(caf::actor_cast<caf::actor>(dcfg.on.lb));
  dcfg.on.owned.push_back(caf::actor_cast<caf::actor>(dcfg.on.clients));
  auto obs = sys.spawn(observer, w);
  dcfg.observer = obs;
  dcfg.on.summary = "fakes";
  actors::spawn_director(sys, dcfg);
  sched.run();
  // 31 s of virtual time at most: the run lasts 30 s.
  for (int step = 0; step < 310 && !w->done; ++step) {
    sched.advance_time(100ms);
    sched.run();
  }
  caf::anon_send_exit(obs, caf::exit_reason::user_shutdown);
  sched.run();
  return w;
}

}  // namespace

TEST_CASE("director fires the timeline at its virtual times and judges the run", "[director]") {
  auto w = play_virtually();
  REQUIRE(w->done);
  CHECK(w->done->error.empty());
  CHECK(w->backend_events == std::vector<std::string>{"kill", "restart"});
  auto at = [&](const std::string& text) {
    for (auto& n : w->notes) {
      if (n.text == text) {
        return n.at;
      }
    }
    return protocols::duration{-1};
  };
  CHECK(at("kill server-1") == protocols::duration{10s});
  CHECK(at("[health] backend server-1  DOWN") == protocols::duration{11s});
  CHECK(at("restart server-1") == protocols::duration{20s});
  CHECK(at("[health] backend server-1  UP") == protocols::duration{21s});
  REQUIRE(w->done->verdicts.size() == 2);
  CHECK(w->done->verdicts[0].passed);
  CHECK(w->done->verdicts[1].passed);
  // One sample per 100 ms of the 30 s run, and a final one.
  CHECK(w->done->record.samples.size() >= 290);
  CHECK(w->done->record.samples.size() <= 302);
}

TEST_CASE("director runs are identical under the deterministic scheduler", "[director]") {
  auto first = play_virtually();
  auto second = play_virtually();
  REQUIRE(first->done);
  REQUIRE(second->done);
  REQUIRE(first->notes.size() == second->notes.size());
  for (size_t i = 0; i < first->notes.size(); ++i) {
    CHECK(first->notes[i].at == second->notes[i].at);
    CHECK(first->notes[i].text == second->notes[i].text);
  }
  CHECK(first->done->record.samples.size() == second->done->record.samples.size());
}
