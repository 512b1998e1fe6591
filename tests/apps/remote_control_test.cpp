#include <memory>
#include <vector>

#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "actors/backend/backend_server.hpp"
#include "actors/balancer/balancer.hpp"
#include "tests/support/actor_system.hpp"
#include "tests/support/process.hpp"
#include "tests/support/socket_client.hpp"

using namespace l4sim;
using namespace l4sim::testing;

namespace {

std::unique_ptr<child_process> start_server(const std::string& id) {
  return std::make_unique<child_process>(
      std::vector<std::string>{app_path("server")},
      std::map<std::string, std::string>{{"SERVER_PORT", "0"},
                                         {"SERVER_ID", id},
                                         {"SERVER_HOST", "127.0.0.1"},
                                         {"SERVER_STATS_INTERVAL", "0"},
                                         {"SERVER_CONTROL_PORT", "0"}});
}

}  // namespace

TEST_CASE("a server process's delay changed over its control actor is seen by a client",
          "[remote]") {
  auto server = start_server("server-r");
  auto control = server->number_after("control on 127.0.0.1:");
  auto port = server->number_after("ready on port ");
  test_system ts;
  auto remote = ts.sys->middleman().remote_actor<actors::backend_actor>("127.0.0.1", control);
  REQUIRE(remote);
  caf::scoped_actor self{*ts.sys};
  self->request(*remote, patience, caf::put_atom_v, delay_atom_v,
                protocols::duration_value{std::chrono::milliseconds{400}})
      .receive([] {}, [](const caf::error& err) { FAIL(actors::describe(err)); });
  socket_client c{port};
  auto start = test_clock::now();
  c.send("REQ 1\n");
  CHECK(c.line() == "ACK");
  INFO(server->output());
  CHECK(test_clock::now() - start >= std::chrono::milliseconds{400});
  self->request(*remote, patience, caf::get_atom_v, stats_atom_v)
      .receive(
          [](const protocols::backend_stats& st) {
            CHECK(st.id == "server-r");
            CHECK(st.requests == 1);
          },
          [](const caf::error& err) { FAIL(actors::describe(err)); });
}

TEST_CASE("an lb process's algorithm switched remotely changes its picks", "[remote]") {
  auto a = start_server("a");
  auto b = start_server("b");
  auto a_port = a->number_after("ready on port ");
  auto b_port = b->number_after("ready on port ");
  child_process lb{{app_path("lb")},
                   {{"LB_PORT", "0"},
                    {"LB_ID", "lb-r"},
                    {"LB_HOST", "127.0.0.1"},
                    {"LB_BACKENDS", "127.0.0.1:" + std::to_string(a_port) +
                                        ",127.0.0.1:" + std::to_string(b_port)},
                    {"LB_HEALTH_INTERVAL", "0"},
                    {"LB_STATS_INTERVAL", "0"},
                    {"LB_CONTROL_PORT", "0"}}};
  auto control = lb.number_after("control on 127.0.0.1:");
  auto port = lb.number_after("ready on port ");
  test_system ts;
  auto remote =
      ts.sys->middleman().remote_actor<actors::balancer_control_actor>("127.0.0.1", control);
  REQUIRE(remote);
  caf::scoped_actor self{*ts.sys};
  auto stats = [&] {
    protocols::balancer_stats result;
    self->request(*remote, patience, caf::get_atom_v, stats_atom_v)
        .receive([&](const protocols::balancer_stats& st) { result = st; },
                 [](const caf::error& err) { FAIL(actors::describe(err)); });
    return result;
  };
  CHECK(stats().algorithm == "rr");
  self->request(*remote, patience, caf::put_atom_v, algo_atom_v, std::string{"lc"})
      .receive([](const std::string& now) { CHECK(now == "lc"); },
               [](const caf::error& err) { FAIL(actors::describe(err)); });
  CHECK(stats().algorithm == "lc");
  CHECK_THAT(lb.output(), Catch::Contains("algorithm rr -> lc"));
  // Under lc, a held connection keeps its backend out of the next picks (rr would
  // alternate).
  socket_client held{port};
  held.send("REQ 0\n");
  REQUIRE(held.line() == "ACK");
  for (int i = 0; i < 6; ++i) {
    socket_client c{port};
    c.send("REQ 1\n");
    REQUIRE(c.line() == "ACK");
    c.close();
    REQUIRE(wait_until([&] {
      uint64_t active = 0;
      for (auto& row : stats().backends) {
        active += row.active;
      }
      return active == 1;
    }));
  }
  auto st = stats();
  auto holder = st.backends[0].active == 1 ? 0 : 1;
  CHECK(st.backends[holder].total == 1);
  CHECK(st.backends[1 - holder].total == 6);
}

TEST_CASE("a control actor of the wrong kind is an error, not a hang", "[remote]") {
  auto server = start_server("server-x");
  auto control = server->number_after("control on 127.0.0.1:");
  test_system ts;
  auto start = test_clock::now();
  auto wrong =
      ts.sys->middleman().remote_actor<actors::balancer_control_actor>("127.0.0.1", control);
  CHECK_FALSE(wrong);
  CHECK(test_clock::now() - start < patience);
}
