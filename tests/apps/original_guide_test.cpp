// The original tool's README, run as it is written: its five-terminal local run with its
// exact variables (free ports instead of 8080-8082 and 9000, so tests can run side by
// side), backends named `localhost:PORT` as three backends share one host.

#include <algorithm>
#include <csignal>
#include <memory>
#include <optional>
#include <sstream>
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
  child_process client{
      {app_path("client")},
      {{"CLIENT_TARGET", "localhost:" + std::to_string(lb_port)}, {"CLIENT_RATE", "2"}}};
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
  CHECK_THAT(lb.output(),
             Catch::Contains("backend late.invalid") && Catch::Contains("DOWN until it resolves"));
  // It is listed DOWN while the other one serves.
  REQUIRE(lb.wait_for_output("accepted=", std::chrono::seconds{20}));
  CHECK_THAT(lb.output(), Catch::Matches("(.|\n)*late.invalid +late.invalid:[0-9]+ +DOWN(.|\n)*"));
  lb.signal(SIGTERM);
  CHECK(lb.wait_exit(std::chrono::seconds{20}) == 0);
}

namespace {

/// The `total` column of `backend` in the last stats table of an lb's output.
uint64_t total_of(const std::string& output, const std::string& backend) {
  auto table = output.rfind("algorithm=");
  REQUIRE(table != std::string::npos);
  auto at = output.find("\n  " + backend + " ", table);
  REQUIRE(at != std::string::npos);
  std::istringstream row{output.substr(at, output.find('\n', at + 1) - at)};
  std::string id;
  std::string address;
  std::string state;
  uint64_t weight = 0;
  uint64_t active = 0;
  uint64_t total = 0;
  row >> id >> address >> state >> weight >> active >> total;
  return total;
}

/// Three servers as the original's compose file has them, named server-N by LB_BACKENDS.
struct guide_servers {
  std::vector<std::unique_ptr<child_process>> procs;
  std::vector<uint16_t> ports;

  void start(const std::string& id, const std::string& delay, const std::string& max_conns,
             uint16_t port = 0) {
    procs.push_back(std::make_unique<child_process>(
        std::vector<std::string>{app_path("server")},
        std::map<std::string, std::string>{{"SERVER_PORT", std::to_string(port)},
                                           {"SERVER_ID", id},
                                           {"SERVER_DELAY_MS", delay},
                                           {"SERVER_MAX_CONNS", max_conns},
                                           {"SERVER_TIMEOUT_SECS", "30"}}));
    ports.push_back(procs.back()->number_after("l4sim-ready service=server port="));
  }

  /// The lb in front of these servers, as the guide starts it, with `algo`.
  std::map<std::string, std::string> lb_env(const std::string& algo) const {
    return {{"LB_PORT", "0"},
            {"LB_ID", "lb-1"},
            {"LB_HOST", "127.0.0.1"},
            {"LB_HEALTH_INTERVAL", "3"},
            {"LB_BACKENDS", backends()},
            {"LB_ALGO", algo},
            {"LB_STATS_INTERVAL", "0"}};
  }

  std::string backends() const {
    std::string text;
    for (size_t i = 0; i < ports.size(); ++i) {
      text += (i > 0 ? "," : "") + std::string{"server-"} + std::to_string(i + 1) +
              "=127.0.0.1:" + std::to_string(ports[i]);
    }
    return text;
  }
};

}  // namespace

TEST_CASE("the original's test 1: round robin spreads connections within 2-3 of each other",
          "[guide]") {
  guide_servers servers;
  servers.start("server-1", "0", "100");
  servers.start("server-2", "150", "100");
  servers.start("server-3", "500", "50");
  child_process lb{{app_path("lb")}, servers.lb_env("rr")};
  auto lb_port = lb.number_after("l4sim-ready service=lb port=");
  // The guide watches 30 s at CLIENT_RATE=2 (about 60 clients); the same count, sooner.
  child_process client{{app_path("client")},
                       {{"CLIENT_TARGET", "127.0.0.1:" + std::to_string(lb_port)},
                        {"CLIENT_RATE", "20"},
                        {"CLIENT_DURATION_SECS", "3"}}};
  REQUIRE(client.wait_exit(std::chrono::seconds{60}) == 0);
  lb.signal(SIGTERM);
  auto lb_exit = lb.wait_exit(std::chrono::seconds{20});
  INFO(lb.output());
  REQUIRE(lb_exit == std::optional<int>{0});
  std::vector<uint64_t> totals;
  for (auto id : {"server-1", "server-2", "server-3"}) {
    totals.push_back(total_of(lb.output(), id));
  }
  auto [lo, hi] = std::minmax_element(totals.begin(), totals.end());
  CHECK(*lo >= 5);  // about 20 each; fewer when a loaded machine starts fewer clients
  CHECK(*hi - *lo <= 3);
}

TEST_CASE("the original's test 3: least connections avoids a backend slowed to 2000 ms",
          "[guide]") {
  guide_servers servers;
  servers.start("server-1", "0", "100");
  servers.start("server-2", "150", "100");
  // "changing compose to SERVER_DELAY_MS=2000, then restart it"
  servers.start("server-3", "2000", "50");
  // "switch the LB algorithm by changing LB_ALGO=lc and restarting"
  child_process lb{{app_path("lb")}, servers.lb_env("lc")};
  auto lb_port = lb.number_after("l4sim-ready service=lb port=");
  child_process client{{app_path("client")},
                       {{"CLIENT_TARGET", "127.0.0.1:" + std::to_string(lb_port)},
                        {"CLIENT_RATE", "20"},
                        {"CLIENT_MIX", "real=100"},
                        {"CLIENT_DURATION_SECS", "6"}}};
  REQUIRE(client.wait_exit(std::chrono::seconds{60}) == 0);
  lb.signal(SIGTERM);
  auto lb_exit = lb.wait_exit(std::chrono::seconds{20});
  auto out = lb.output();
  INFO(out);
  REQUIRE(lb_exit == std::optional<int>{0});
  auto slow = total_of(out, "server-3");
  auto fast = total_of(out, "server-1");
  // Round robin would give each about a third; least connections floods the fast ones.
  CHECK(fast > 2 * slow);
}

TEST_CASE("the original's test 4: a backend at its connection limit drops and the rest serve",
          "[guide]") {
  guide_servers servers;
  servers.start("server-1", "0", "100");
  // "Set SERVER_MAX_CONNS=10 on server-2 and increase CLIENT_RATE=20"
  servers.start("server-2", "150", "10");
  servers.start("server-3", "500", "50");
  child_process lb{{app_path("lb")}, servers.lb_env("rr")};
  auto lb_port = lb.number_after("l4sim-ready service=lb port=");
  // Idle clients hold their connections, so server-2 fills up.
  child_process client{{app_path("client")},
                       {{"CLIENT_TARGET", "127.0.0.1:" + std::to_string(lb_port)},
                        {"CLIENT_RATE", "20"},
                        {"CLIENT_MIX", "idle=100"}}};
  CHECK(servers.procs[1]->wait_for_output("[server-2] at capacity (10/10)",
                                          std::chrono::seconds{30}));
  lb.signal(SIGTERM);
  auto lb_exit = lb.wait_exit(std::chrono::seconds{20});
  INFO(lb.output());
  REQUIRE(lb_exit == std::optional<int>{0});
  // Both kept taking their turns while server-2 refused (timing decides how many exactly).
  CHECK(total_of(lb.output(), "server-1") >= 5);
  CHECK(total_of(lb.output(), "server-3") >= 5);
}

TEST_CASE("bad values that used to slip through exit 2 naming their variable", "[guide]") {
  struct bad_value {
    const char* app;
    std::map<std::string, std::string> env;
    const char* named;
  };
  std::vector<bad_value> cases{
      {"server",
       {{"SERVER_PORT", "0"}, {"SERVER_ID", "s"}, {"SERVER_HOST", "no.such.invalid"}},
       "SERVER_HOST"},
      {"lb",
       {{"LB_PORT", "0"},
        {"LB_ID", "l"},
        {"LB_BACKENDS", "127.0.0.1:1"},
        {"LB_HOST", "no.such.invalid"}},
       "LB_HOST"},
      {"lb",
       {{"LB_PORT", "0"},
        {"LB_ID", "l"},
        {"LB_BACKENDS", "127.0.0.1:1"},
        {"LB_CONNECT_TIMEOUT_MS", "0"}},
       "LB_CONNECT_TIMEOUT_MS"},
      {"lb",
       {{"LB_PORT", "0"},
        {"LB_ID", "l"},
        {"LB_BACKENDS", "127.0.0.1:1"},
        {"LB_HEALTH_TIMEOUT", "0"}},
       "LB_HEALTH_TIMEOUT"},
      {"client", {{"CLIENT_TARGET", "127.0.0.1:1"}, {"CLIENT_RATE", "1e300"}}, "CLIENT_RATE"},
      {"client",
       {{"CLIENT_TARGET", "127.0.0.1:1"}, {"CLIENT_PARAMS", "real.think=1s"}},
       "CLIENT_PARAMS"},
  };
  for (auto& c : cases) {
    child_process p{{app_path(c.app)}, c.env};
    auto rc = p.wait_exit(std::chrono::seconds{20});
    INFO(c.app << ": " << p.output());
    CHECK(rc == 2);
    CHECK_THAT(p.output(), Catch::Contains(c.named));
  }
}
