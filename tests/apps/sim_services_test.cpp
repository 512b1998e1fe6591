#include <cerrno>
#include <csignal>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/process.hpp"
#include "tests/support/socket_client.hpp"

using namespace l4sim::testing;

namespace {

std::string scenarios() {
  return std::string{L4SIM_SOURCE_DIR} + "/scenarios";
}

/// The PIDs from sim's "stopped N service processes: name=pid ..." line.
std::vector<int> stopped_pids(const std::string& output) {
  std::vector<int> pids;
  auto at = output.find("service processes:");
  REQUIRE(at != std::string::npos);
  auto line = output.substr(at, output.find('\n', at) - at);
  for (auto eq = line.find('='); eq != std::string::npos; eq = line.find('=', eq + 1)) {
    pids.push_back(std::stoi(line.substr(eq + 1)));
  }
  return pids;
}

bool gone(int pid) {
  return ::kill(pid, 0) != 0 && errno == ESRCH;
}

}  // namespace

TEST_CASE("sim run kill-backend --services passes and leaves no process behind", "[sim-services]") {
  child_process sim{{app_path("sim"), "--scenarios", scenarios(), "run", "kill-backend",
                     "--services", "--time-scale", "0.2"}};
  auto rc = sim.wait_exit(std::chrono::seconds{120});
  auto out = sim.output();
  INFO(out);
  CHECK(rc == 0);
  CHECK_THAT(out, Catch::Contains("verdict: PASS (4/4 expectations met)"));
  auto pids = stopped_pids(out);
  // Three servers, the restarted server-1, the balancer and the clients.
  CHECK(pids.size() == 6);
  for (int pid : pids) {
    INFO("pid " << pid);
    CHECK(gone(pid));
  }
}

TEST_CASE("sim interrupted during a --services run still stops every process", "[sim-services]") {
  child_process sim{
      {app_path("sim"), "--scenarios", scenarios(), "run", "kill-backend", "--services"}};
  REQUIRE(sim.wait_for_output("services: balancer", patience));
  sim.signal(SIGINT);
  // Ctrl-C ends the 32 s run at once; the rest is the clients' finish and the teardown.
  auto rc = sim.wait_exit(std::chrono::seconds{30});
  REQUIRE(rc);
  auto out = sim.output();
  INFO(out);
  for (int pid : stopped_pids(out)) {
    INFO("pid " << pid);
    CHECK(gone(pid));
  }
}

TEST_CASE("sim run --attach drives services something else started", "[sim-services]") {
  std::vector<std::unique_ptr<child_process>> servers;
  std::string backends;
  std::string attach;
  for (int i = 1; i <= 3; ++i) {
    auto id = "server-" + std::to_string(i);
    servers.push_back(std::make_unique<child_process>(
        std::vector<std::string>{app_path("server")},
        std::map<std::string, std::string>{{"SERVER_PORT", "0"},
                                           {"SERVER_ID", id},
                                           {"SERVER_HOST", "127.0.0.1"},
                                           {"SERVER_STATS_INTERVAL", "0"},
                                           {"SERVER_CONTROL_PORT", "0"}}));
    auto control = servers.back()->number_after("control on 127.0.0.1:");
    auto port = servers.back()->number_after("ready on port ");
    backends += (i > 1 ? "," : "") + id + "=127.0.0.1:" + std::to_string(port);
    attach += id + "=127.0.0.1:" + std::to_string(control) + ",";
  }
  child_process lb{{app_path("lb")},
                   {{"LB_PORT", "0"},
                    {"LB_ID", "lb-a"},
                    {"LB_HOST", "127.0.0.1"},
                    {"LB_BACKENDS", backends},
                    {"LB_HEALTH_INTERVAL", "0.6"},
                    {"LB_HEALTH_TIMEOUT", "0.2"},
                    {"LB_STATS_INTERVAL", "0"},
                    {"LB_CONTROL_PORT", "0"}}};
  auto lb_control = lb.number_after("control on 127.0.0.1:");
  auto lb_port = lb.number_after("ready on port ");
  child_process clients{{app_path("client")},
                        {{"CLIENT_TARGET", "127.0.0.1:" + std::to_string(lb_port)},
                         {"CLIENT_RATE", "0"},
                         {"CLIENT_STATS_INTERVAL", "0"},
                         {"CLIENT_CONTROL_PORT", "0"}}};
  auto clients_control = clients.number_after("control on 127.0.0.1:");
  attach += "lb=127.0.0.1:" + std::to_string(lb_control) +
            ",clients=127.0.0.1:" + std::to_string(clients_control);
  child_process sim{{app_path("sim"), "--scenarios", scenarios(), "run", "kill-backend", "--attach",
                     attach, "--time-scale", "0.2"}};
  auto rc = sim.wait_exit(std::chrono::seconds{120});
  INFO(sim.output());
  CHECK(rc == 0);
  CHECK_THAT(sim.output(), Catch::Contains("attached: server-1@127.0.0.1:"));
  CHECK_THAT(sim.output(), Catch::Contains("verdict: PASS (4/4 expectations met)"));
  // The backends were driven over their control actors: the kill and restart show in
  // server-1's own log.
  CHECK_THAT(servers[0]->output(), Catch::Contains("killed:") && Catch::Contains("restarted:"));
}
