// The original tool's README, run as it is written: its five-terminal local run with its
// exact variables (free ports instead of 8080-8082 and 9000, so tests can run side by
// side), backends named `localhost:PORT` as three backends share one host.

#include <csignal>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/process.hpp"

using namespace l4sim::testing;

TEST_CASE("the original five-terminal local run works with its exact variables", "[guide]") {
  struct server_spec {
    const char* id;
    const char* delay;
    const char* max_conns;
  };
  std::vector<server_spec> specs{
      {"server-1", "0", "100"}, {"server-2", "150", "100"}, {"server-3", "500", "50"}};
  std::vector<std::unique_ptr<child_process>> servers;
  std::vector<std::string> names;
  std::string backends;
  for (auto& s : specs) {
    servers.push_back(std::make_unique<child_process>(
        std::vector<std::string>{app_path("server")},
        std::map<std::string, std::string>{{"SERVER_PORT", "0"},
                                           {"SERVER_ID", s.id},
                                           {"SERVER_DELAY_MS", s.delay},
                                           {"SERVER_MAX_CONNS", s.max_conns},
                                           {"SERVER_TIMEOUT_SECS", "30"}}));
    auto port = std::to_string(servers.back()->number_after("l4sim-ready service=server port="));
    names.push_back("localhost:" + port);
    backends += (backends.empty() ? "" : ",") + names.back();
  }
  child_process lb{{app_path("lb")},
                   {{"LB_PORT", "0"},
                    {"LB_ID", "lb-1"},
                    {"LB_HEALTH_INTERVAL", "3"},
                    {"LB_BACKENDS", backends},
                    {"LB_ALGO", "rr"}}};
  auto lb_port = lb.number_after("l4sim-ready service=lb port=");
  REQUIRE(lb_port != 0);
  child_process client{{app_path("client")},
                       {{"CLIENT_TARGET", "localhost:" + std::to_string(lb_port)},
                        {"CLIENT_RATE", "2"}}};
  // The lb's periodic stats table names every backend by host:port and shows traffic.
  REQUIRE(lb.wait_for_output("accepted=", std::chrono::seconds{30}));
  for (auto& name : names) {
    CHECK_THAT(lb.output(), Catch::Contains("  " + name + " "));
  }
  // Test 2 of the guide, by hand: a backend dies, the balancer says so within an interval.
  servers[0]->signal(SIGKILL);
  CHECK(lb.wait_for_output("[health] backend " + names[0] + "  DOWN", std::chrono::seconds{20}));
  // The clients keep being served by the two others.
  CHECK(client.wait_for_output("completed", std::chrono::seconds{30}));
  INFO(lb.output());
  INFO(client.output());
  CHECK_THAT(lb.output(), !Catch::Contains("two backends are named"));
}

TEST_CASE("a backend name that does not resolve yet is DOWN, not fatal", "[guide]") {
  child_process server{{app_path("server")},
                       {{"SERVER_PORT", "0"}, {"SERVER_ID", "s"}, {"SERVER_HOST", "127.0.0.1"}}};
  auto port = std::to_string(server.number_after("l4sim-ready service=server port="));
  // `.invalid` never resolves (RFC 6761), like a container that is not up yet.
  child_process lb{{app_path("lb")},
                   {{"LB_PORT", "0"},
                    {"LB_ID", "lb-1"},
                    {"LB_HOST", "127.0.0.1"},
                    {"LB_HEALTH_INTERVAL", "0.2"},
                    {"LB_STATS_INTERVAL", "0.5"},
                    {"LB_BACKENDS", "late.invalid:" + port + ",127.0.0.1:" + port}}};
  REQUIRE(lb.wait_for_output("l4sim-ready service=lb", std::chrono::seconds{20}));
  CHECK_THAT(lb.output(), Catch::Contains("backend late.invalid") &&
                              Catch::Contains("DOWN until it resolves"));
  // It is listed DOWN while the other one serves.
  REQUIRE(lb.wait_for_output("accepted=", std::chrono::seconds{20}));
  CHECK_THAT(lb.output(), Catch::Matches("(.|\n)*late.invalid +late.invalid:[0-9]+ +DOWN(.|\n)*"));
  lb.signal(SIGTERM);
  CHECK(lb.wait_exit(std::chrono::seconds{20}) == 0);
}
