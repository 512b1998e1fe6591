#include <csignal>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/process.hpp"
#include "tests/support/socket_client.hpp"

using namespace l4sim::testing;

namespace {

bool round_trip(uint16_t port) {
  socket_client c{port};
  return c.connected() && c.send("REQ 1\n") && c.line() == std::optional<std::string>{"ACK"};
}

}  // namespace

TEST_CASE("lb process in front of three server processes survives a killed backend", "[lb-app]") {
  std::vector<std::unique_ptr<child_process>> servers;
  std::vector<uint16_t> ports;
  std::string backends;
  for (int i = 1; i <= 3; ++i) {
    servers.push_back(std::make_unique<child_process>(
        std::vector<std::string>{app_path("server")},
        std::map<std::string, std::string>{{"SERVER_PORT", "0"},
                                           {"SERVER_ID", "server-" + std::to_string(i)},
                                           {"SERVER_HOST", "127.0.0.1"},
                                           {"SERVER_STATS_INTERVAL", "0"}}));
    ports.push_back(servers.back()->number_after("ready on port "));
    backends += (i > 1 ? "," : "") + std::string{"127.0.0.1:"} + std::to_string(ports.back());
  }
  child_process lb{{app_path("lb")},
                   {{"LB_PORT", "0"},
                    {"LB_ID", "lb-t"},
                    {"LB_HOST", "127.0.0.1"},
                    {"LB_BACKENDS", backends},
                    {"LB_HEALTH_INTERVAL", "0.2"},
                    {"LB_STATS_INTERVAL", "0"}}};
  auto port = lb.number_after("ready on port ");
  for (int i = 0; i < 6; ++i) {
    REQUIRE(round_trip(port));
  }
  lb.write_stdin("stats\n");
  CHECK(lb.wait_for_output("accepted=6", patience));
  servers[0]->signal(SIGKILL);
  auto down = "[health] backend 127.0.0.1:" + std::to_string(ports[0]) + "  DOWN";
  CHECK(lb.wait_for_output(down, patience));
  for (int i = 0; i < 4; ++i) {
    CHECK(round_trip(port));
  }
  lb.write_stdin("algo lc\n");
  CHECK(lb.wait_for_output("algorithm rr -> lc", patience));
  CHECK(round_trip(port));
  lb.signal(SIGTERM);
  CHECK(lb.wait_exit(patience) == 0);
  CHECK_THAT(lb.output(), Catch::Contains("final [lb-t] algorithm=lc accepted=11"));
  for (size_t i = 1; i < servers.size(); ++i) {
    servers[i]->signal(SIGTERM);
    CHECK(servers[i]->wait_exit(patience) == 0);
  }
}

TEST_CASE("lb quits on the quit command", "[lb-app]") {
  child_process lb{{app_path("lb")},
                   {{"LB_PORT", "0"},
                    {"LB_ID", "lb-q"},
                    {"LB_HOST", "127.0.0.1"},
                    {"LB_BACKENDS", "127.0.0.1:9"},
                    {"LB_HEALTH_INTERVAL", "0"}}};
  lb.number_after("ready on port ");
  lb.write_stdin("quit\n");
  CHECK(lb.wait_exit(patience) == 0);
}

TEST_CASE("lb exits 2 naming a bad variable", "[lb-app]") {
  std::map<std::string, std::string> good{
      {"LB_PORT", "0"}, {"LB_ID", "lb"}, {"LB_BACKENDS", "127.0.0.1:9"}};
  auto with = [&](const std::string& key, const std::string& value) {
    auto env = good;
    env[key] = value;
    return env;
  };
  struct bad_case {
    std::string key;
    std::string value;
  };
  for (auto& c : {bad_case{"LB_ALGO", "fastest"}, bad_case{"LB_BACKENDS", "no-port"},
                  bad_case{"LB_BACKENDS", ""}, bad_case{"LB_PORT", "99999"},
                  bad_case{"LB_HEALTH_INTERVAL", "often"}, bad_case{"LB_RETRIES", "-1"},
                  bad_case{"LB_CONNECT_TIMEOUT_MS", "1x"}}) {
    INFO(c.key << "=" << c.value);
    child_process proc{{app_path("lb")}, with(c.key, c.value)};
    CHECK(proc.wait_exit(patience) == 2);
    CHECK_THAT(proc.output(), Catch::Contains(c.key));
  }
}
