#include <algorithm>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
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

/// Plays a shipped scenario with every part a process of its own at time scale 0.5. Time
/// scaling shrinks every bound in wall time (a 1 s probe timeout is 0.2 s at 0.2, "UP within
/// 4 s of a restart" 0.8 s for a new process to start) while six sanitized processes compete
/// with the machine's other work: at 0.2 a loaded machine failed kill-backend (the restarted
/// server-1 UP after 2.1 wall seconds), sticky-sessions (a probe past 0.2 s marked a backend
/// DOWN and moved its clients) and slowloris-lb (attackers at ~270/s kept the cap full), each
/// in one run of the sanitized suite, a load the scenarios do not describe.
void run_as_services(const std::string& name, const char* time_scale = "0.5") {
  child_process sim{{app_path("sim"), "--scenarios", scenarios(), "run", name, "--services",
                     "--time-scale", time_scale, "--quiet"}};
  auto rc = sim.wait_exit(std::chrono::seconds{110});
  INFO(sim.output());
  CHECK(rc == 0);
  CHECK_THAT(sim.output(), Catch::Contains("verdict: PASS"));
}

/// The shipped scenarios, each played by a test in-process (sim_app_test.cpp) and here.
const std::vector<std::string> shipped{
    "algorithm-switch", "connection-limit", "drain",           "kill-backend", "least-conn-delay",
    "max-conns-queue",  "outlier-ejection", "retry-backoff",   "round-robin",  "slow-start",
    "slowloris",        "slowloris-lb",     "sticky-sessions", "weighted"};

}  // namespace

// Scenarios that restart a server play at full speed: the new process must start and pass a
// probe within "UP within 4s", which at 0.5 left it 2 wall seconds, and the sanitized suite
// under ctest -j2 took 2.1-2.3 (slow-start: UP 4.55 scenario seconds after its restart,
// kill-backend 4.28) in the runs counted for issue 9.
TEST_CASE("sim run kill-backend --services passes and leaves no process behind", "[sim-services]") {
  child_process sim{{app_path("sim"), "--scenarios", scenarios(), "run", "kill-backend",
                     "--services", "--time-scale", "1"}};
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

TEST_CASE("sim run round-robin --services passes", "[sim-services]") {
  run_as_services("round-robin");
}

TEST_CASE("sim run least-conn-delay --services passes", "[sim-services]") {
  run_as_services("least-conn-delay");
}

TEST_CASE("sim run connection-limit --services passes", "[sim-services]") {
  run_as_services("connection-limit");
}

TEST_CASE("sim run slowloris --services passes", "[sim-services]") {
  // Failed across processes before the run plan: per-type parameters never reached the
  // client process, nor were its think times scaled.
  run_as_services("slowloris");
}

TEST_CASE("sim run slowloris-lb --services passes", "[sim-services]") {
  // The lb's client timeout reaches the lb process through the run plan.
  run_as_services("slowloris-lb");
}

TEST_CASE("sim run algorithm-switch --services passes", "[sim-services]") {
  // Failed one run in two before the run plan: lb dropped the backends' weights.
  run_as_services("algorithm-switch");
}

TEST_CASE("sim run retry-backoff --services passes", "[sim-services]") {
  // The backoff reaches the lb process as LB_RETRY_BACKOFF; kill is a SIGKILL.
  run_as_services("retry-backoff");
}

TEST_CASE("sim run drain --services passes", "[sim-services]") {
  // drain, ready and remove_backend travel over the lb's control port.
  run_as_services("drain");
}

TEST_CASE("sim run max-conns-queue --services passes", "[sim-services]") {
  // maxconn reaches the lb process in LB_BACKENDS, the queue timeout as LB_QUEUE_TIMEOUT.
  run_as_services("max-conns-queue");
}

TEST_CASE("sim run outlier-ejection --services passes", "[sim-services]") {
  run_as_services("outlier-ejection");
}

TEST_CASE("sim run slow-start --services passes", "[sim-services]") {
  run_as_services("slow-start", "1");  // restarts server-3: see kill-backend's test
}

TEST_CASE("sim run weighted --services passes", "[sim-services]") {
  // lb reads the weights from LB_BACKENDS (`name=host:port weight=3`).
  run_as_services("weighted");
}

TEST_CASE("sim run sticky-sessions --services passes", "[sim-services]") {
  // Across processes: the client process binds 127.0.1.x, lb hashes and writes PROXY v2,
  // and each server process reports the client addresses the headers named.
  run_as_services("sticky-sessions");
}

TEST_CASE("every shipped scenario is played in every mode by a test", "[sim-services]") {
  std::vector<std::string> found;
  for (auto& entry : std::filesystem::directory_iterator{scenarios()}) {
    if (entry.path().extension() == ".yaml") {
      found.push_back(entry.path().stem().string());
    }
  }
  std::sort(found.begin(), found.end());
  CHECK(found == shipped);
}

TEST_CASE("sim run --services plays every kind of timeline event, add_backend included",
          "[sim-services]") {
  // add_backend starts a new server process; set_weight, drain, ready and remove_backend go
  // over the lb's control port.
  auto file = std::string{L4SIM_SOURCE_DIR} + "/tests/scenarios/topology-change.yaml";
  child_process sim{{app_path("sim"), "run", file, "--services", "--time-scale", "0.2"}};
  auto rc = sim.wait_exit(std::chrono::seconds{110});
  INFO(sim.output());
  CHECK(rc == 0);
  CHECK_THAT(sim.output(), Catch::Contains("verdict: PASS (4/4 expectations met)"));
  CHECK_THAT(sim.output(), !Catch::Contains("failed:"));
}

TEST_CASE("sim refuses at validation what --attach cannot play", "[sim-services]") {
  auto file = std::string{L4SIM_SOURCE_DIR} + "/tests/scenarios/topology-change.yaml";
  child_process attach{
      {app_path("sim"), "run", file, "--attach", "lb=127.0.0.1:1,clients=127.0.0.1:2"}};
  CHECK(attach.wait_exit(patience) == 2);
  CHECK_THAT(attach.output(), Catch::Contains("--attach") && Catch::Contains("add_backend"));
}

TEST_CASE("sim's command-line errors exit 2", "[sim-services]") {
  for (auto args :
       std::vector<std::vector<std::string>>{{"run"},
                                             {"run", "kill-backend", "--no-such-flag"},
                                             {"frobnicate"},
                                             {"run", "kill-backend", "--time-scale", "x"}}) {
    args.insert(args.begin(), app_path("sim"));
    child_process sim{args};
    CHECK(sim.wait_exit(patience) == 2);
  }
}

TEST_CASE("service variables sim inherited do not override the run plan", "[sim-services]") {
  // Before, an exported variable came first in the children's environment and won over
  // what sim set: with these, least-connections would become round robin over equal
  // backends and server-3 would take a third of the connections, failing the scenario.
  child_process sim{{app_path("sim"), "--scenarios", scenarios(), "run", "least-conn-delay",
                     "--services", "--time-scale", "0.2", "--quiet"},
                    {{"LB_ALGO", "rr"}, {"SERVER_DELAY_MS", "0"}}};
  auto rc = sim.wait_exit(std::chrono::seconds{110});
  INFO(sim.output());
  CHECK(rc == 0);
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

namespace {

/// `sim env ARGS...`'s variables, VAR=VALUE a line.
std::map<std::string, std::string> sim_env(std::vector<std::string> args) {
  args.insert(args.begin(), {app_path("sim"), "--scenarios", scenarios(), "env"});
  child_process env{args};
  auto rc = env.wait_exit(patience);
  INFO(env.output());
  REQUIRE(rc == 0);
  std::map<std::string, std::string> vars;
  std::istringstream lines{env.output()};
  for (std::string line; std::getline(lines, line);) {
    auto eq = line.find('=');
    REQUIRE(eq != std::string::npos);
    vars[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return vars;
}

/// Three backends, an lb and the client service, each a process started here on loopback
/// the way a user starts them by hand, for `sim run NAME --attach` to drive.
struct attached_services {
  std::vector<std::unique_ptr<child_process>> servers;
  std::unique_ptr<child_process> lb;
  std::unique_ptr<child_process> clients;
  std::string backends;  ///< server-N=127.0.0.1:PORT,...
  std::string attach;    ///< the --attach value

  attached_services() {
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
  }

  /// Starts the lb with `vars` on top of its loopback ports, and the client service aimed
  /// at it (rate 0 until sim sets it) with `client_vars`.
  void start(std::map<std::string, std::string> vars,
             std::map<std::string, std::string> client_vars = {}) {
    vars.insert({{"LB_PORT", "0"},
                 {"LB_ID", "lb-a"},
                 {"LB_HOST", "127.0.0.1"},
                 {"LB_BACKENDS", backends},
                 {"LB_STATS_INTERVAL", "0"},
                 {"LB_CONTROL_PORT", "0"}});
    lb = std::make_unique<child_process>(std::vector<std::string>{app_path("lb")}, vars);
    auto lb_control = lb->number_after("control on 127.0.0.1:");
    auto lb_port = lb->number_after("ready on port ");
    client_vars.erase("CLIENT_DURATION_SECS");  // the service runs until sim ends its run
    client_vars["CLIENT_TARGET"] = "127.0.0.1:" + std::to_string(lb_port);
    client_vars["CLIENT_RATE"] = "0";
    client_vars["CLIENT_STATS_INTERVAL"] = "0";
    client_vars["CLIENT_CONTROL_PORT"] = "0";
    clients =
        std::make_unique<child_process>(std::vector<std::string>{app_path("client")}, client_vars);
    auto clients_control = clients->number_after("control on 127.0.0.1:");
    attach += "lb=127.0.0.1:" + std::to_string(lb_control) +
              ",clients=127.0.0.1:" + std::to_string(clients_control);
  }
};

}  // namespace

TEST_CASE("sim run --attach drives services something else started", "[sim-services]") {
  attached_services services;
  services.start(sim_env({"kill-backend", "lb", "--time-scale", "0.2"}));
  child_process sim{{app_path("sim"), "--scenarios", scenarios(), "run", "kill-backend", "--attach",
                     services.attach, "--time-scale", "0.2"}};
  auto rc = sim.wait_exit(std::chrono::seconds{120});
  INFO(sim.output());
  CHECK(rc == 0);
  CHECK_THAT(sim.output(), Catch::Contains("attached: server-1@127.0.0.1:"));
  CHECK_THAT(sim.output(), Catch::Contains("verdict: PASS (4/4 expectations met)"));
  // The backends were driven over their control actors: the kill and restart show in
  // server-1's own log.
  CHECK_THAT(services.servers[0]->output(),
             Catch::Contains("killed:") && Catch::Contains("restarted:"));
}

TEST_CASE("sim run --attach refuses an lb that does not run the scenario's settings",
          "[sim-services]") {
  // The lb as a user starts it by default: health checks every 3 s, the default backoff.
  attached_services services;
  services.start({});
  child_process sim{{app_path("sim"), "--scenarios", scenarios(), "run", "retry-backoff",
                     "--attach", services.attach, "--time-scale", "0.25"}};
  auto rc = sim.wait_exit(patience);
  auto out = sim.output();
  INFO(out);
  CHECK(rc == 2);
  CHECK_THAT(out, Catch::Contains("does not run as retry-backoff needs"));
  CHECK_THAT(out, Catch::Contains("LB_HEALTH_INTERVAL=3000ms (needs 900000ms)"));
  CHECK_THAT(out, Catch::Contains("LB_RETRY_BACKOFF="));
  CHECK_THAT(out, Catch::Contains("sim env retry-backoff lb --time-scale 0.25"));
  // Nothing was played: server-1 was never killed.
  CHECK_THAT(services.servers[0]->output(), !Catch::Contains("killed:"));
}

TEST_CASE("sim run retry-backoff --attach passes on an lb started with `sim env`",
          "[sim-services]") {
  attached_services services;
  services.start(sim_env({"retry-backoff", "lb", "--time-scale", "0.25"}),
                 sim_env({"retry-backoff", "client", "--time-scale", "0.25"}));
  child_process sim{{app_path("sim"), "--scenarios", scenarios(), "run", "retry-backoff",
                     "--attach", services.attach, "--time-scale", "0.25", "--quiet"}};
  auto rc = sim.wait_exit(std::chrono::seconds{120});
  INFO(sim.output());
  CHECK(rc == 0);
  CHECK_THAT(sim.output(), Catch::Contains("verdict: PASS (3/3 expectations met)"));
}

TEST_CASE("sim env prints what an lb needs for a scenario, backends where given",
          "[sim-services]") {
  auto lb = sim_env({"weighted", "lb", "--backends",
                     "server-1=server-1:8080,server-2=server-2:8081,server-3=server-3:8082"});
  CHECK(lb["LB_BACKENDS"] ==
        "server-1=server-1:8080 weight=3,server-2=server-2:8081,server-3=server-3:8082");
  CHECK(lb["LB_HEALTH_INTERVAL"] == "2000ms");
  CHECK(lb["LB_ALGO"] == "rr");
  auto server = sim_env({"sticky-sessions", "server-2"});
  CHECK(server["SERVER_ACCEPT_PROXY"] == "1");
  child_process bad{{app_path("sim"), "--scenarios", scenarios(), "env", "weighted", "server-9"}};
  CHECK(bad.wait_exit(patience) == 2);
  CHECK_THAT(bad.output(), Catch::Contains("server-9") && Catch::Contains("not lb, client"));
}
