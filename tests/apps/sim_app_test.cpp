#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"
#include "tests/support/socket_client.hpp"

using namespace l4sim::testing;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in{p};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A fresh empty folder under the system's temp dir, removed at the end of the test.
struct temp_dir {
  fs::path path;
  temp_dir() {
    char tmpl[] = "/tmp/l4sim-sim-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string scenarios() {
  return std::string{L4SIM_SOURCE_DIR} + "/scenarios";
}

/// Plays a shipped scenario time-scaled, checks its verdict and report files, and returns
/// the report.
nlohmann::json run_shipped(const std::string& name) {
  temp_dir out;
  child_process sim{{app_path("sim"), "--scenarios", scenarios(), "run", name, "--time-scale",
                     "0.2", "--quiet", "--report", out.path.string()}};
  // The scenario lasts about 6 s at this scale; the rest is room for a loaded machine.
  auto rc = sim.wait_exit(std::chrono::seconds{90});
  INFO(sim.output());
  REQUIRE(rc == 0);
  CHECK_THAT(sim.output(), Catch::Contains("verdict: PASS"));
  auto report = nlohmann::json::parse(read_file(out.path / "report.json"));
  CHECK(report["scenario"] == name);
  CHECK(report["passed"] == true);
  CHECK(report["time_scale"] == 0.2);
  CHECK_FALSE(report["verdicts"].empty());
  for (auto& v : report["verdicts"]) {
    CHECK(v["passed"] == true);
  }
  auto csv = read_file(out.path / "timeseries.csv");
  CHECK(csv.rfind("t,server-1_up,server-1_active,server-1_new,server-1_bytes", 0) == 0);
  // One row per scenario second plus the header: every shipped scenario lasts 20 s or more.
  CHECK(std::count(csv.begin(), csv.end(), '\n') >= 21);
  CHECK(fs::file_size(out.path / "chart.png") > 1000);
  return report;
}

}  // namespace

TEST_CASE("sim run round-robin passes time-scaled with its report", "[sim-app]") {
  run_shipped("round-robin");
}

TEST_CASE("sim run kill-backend passes time-scaled with its report", "[sim-app]") {
  run_shipped("kill-backend");
}

TEST_CASE("sim run least-conn-delay passes time-scaled with its report", "[sim-app]") {
  run_shipped("least-conn-delay");
}

TEST_CASE("sim run connection-limit passes time-scaled with its report", "[sim-app]") {
  run_shipped("connection-limit");
}

TEST_CASE("sim run slowloris passes time-scaled with its report", "[sim-app]") {
  auto report = run_shipped("slowloris");
  // The backends' idle timeouts reclaim the zombies: idle clients end closed by the peer.
  auto idle = report["summary"]["clients"]["idle"];
  INFO(idle.dump());
  CHECK(idle["failed"].value("closed_by_peer", 0) > 0);
}

TEST_CASE(
    "sim run slowloris-lb passes time-scaled: the balancer's client timeout reclaims "
    "the attackers",
    "[sim-app]") {
  auto report = run_shipped("slowloris-lb");
  // The backends never time out; only the balancer can have closed the idle clients.
  auto idle = report["summary"]["clients"]["idle"];
  INFO(idle.dump());
  CHECK(idle["failed"].value("closed_by_peer", 0) > 0);
}

TEST_CASE("sim run algorithm-switch passes time-scaled with its report", "[sim-app]") {
  run_shipped("algorithm-switch");
}

TEST_CASE("sim run retry-backoff passes time-scaled: failed connects are retried elsewhere",
          "[sim-app]") {
  auto report = run_shipped("retry-backoff");
  CHECK(report["summary"]["backends"]["server-1"]["retries"] >= 10);
}

TEST_CASE("sim run drain passes time-scaled: a drained backend's streams carry on", "[sim-app]") {
  run_shipped("drain");
}

TEST_CASE("sim run max-conns-queue passes time-scaled: clients past maxconn wait their turn",
          "[sim-app]") {
  auto report = run_shipped("max-conns-queue");
  CHECK(report["summary"]["backends"]["server-1"]["max_queued"] >= 1);
  CHECK(report["summary"]["backends"]["server-1"]["queue_timeouts"] == 0);
}

TEST_CASE("sim run outlier-ejection passes time-scaled: a refusing backend is ejected",
          "[sim-app]") {
  auto report = run_shipped("outlier-ejection");
  CHECK(report["summary"]["backends"]["server-1"]["ejections"] >= 2);
}

TEST_CASE("sim run slow-start passes time-scaled: a returning backend ramps up", "[sim-app]") {
  run_shipped("slow-start");
}

TEST_CASE("sim run weighted passes time-scaled with its report", "[sim-app]") {
  run_shipped("weighted");
}

TEST_CASE("sim run sticky-sessions passes time-scaled: no client address at two backends",
          "[sim-app]") {
  auto report = run_shipped("sticky-sessions");
  auto sticky = report["verdicts"][0];
  INFO(sticky.dump());
  CHECK_THAT(sticky["observed"].get<std::string>(),
             Catch::StartsWith("11 client addresses, 0 at more than one backend"));
}

TEST_CASE("sim run plays every kind of timeline event", "[sim-app]") {
  // add/remove a backend, set delay, hang, chaos, max_conns, algorithm, rate and mix.
  auto file = std::string{L4SIM_SOURCE_DIR} + "/tests/scenarios/topology-change.yaml";
  child_process sim{{app_path("sim"), "run", file, "--time-scale", "0.2"}};
  auto rc = sim.wait_exit(std::chrono::seconds{90});
  INFO(sim.output());
  CHECK(rc == 0);
  auto out = sim.output();
  for (auto event : {"set_delay server-3 50ms", "set_hang server-3 100ms", "set_chaos server-3 10%",
                     "set_max_conns server-3 50", "add_backend server-4", "remove_backend server-2",
                     "set_algorithm lc", "set_rate 8/s", "set_mix real=100",
                     "set_weight server-3 2", "drain server-1", "ready server-1"}) {
    CHECK_THAT(out, Catch::Contains(event));
  }
  CHECK_THAT(out, Catch::Contains("verdict: PASS (4/4 expectations met)"));
}

TEST_CASE("sim run exits 1 when an expectation fails", "[sim-app]") {
  temp_dir dir;
  std::ofstream{dir.path / "never-down.yaml"} << R"(name: never-down
description: nothing kills server-1, so it never goes down
duration: 4s
backends: [{id: server-1}, {id: server-2}]
balancer: {health: {interval: 1s}}
clients: {rate: 2/s}
expect:
  - {backend: server-1, health: down, within: 1s, after: 1s}
)";
  child_process sim{{app_path("sim"), "run", (dir.path / "never-down.yaml").string(),
                     "--time-scale", "0.25", "--json"}};
  CHECK(sim.wait_exit(std::chrono::seconds{60}) == 1);
  auto out = sim.output();
  auto report = nlohmann::json::parse(out.substr(out.find('{')));
  CHECK(report["passed"] == false);
  CHECK(report["verdicts"][0]["passed"] == false);
  CHECK(report["verdicts"][0]["observed"] == "never DOWN");
}

TEST_CASE("sim run exits 2 on a bad scenario, naming file, line and key", "[sim-app]") {
  temp_dir dir;
  auto file = (dir.path / "typo.yaml").string();
  std::ofstream{file} << "name: typo\nduration: 5s\nbackends:\n  - {id: a, dealy: 5ms}\n";
  child_process sim{{app_path("sim"), "run", file}};
  CHECK(sim.wait_exit(patience) == 2);
  CHECK_THAT(sim.output(), Catch::Contains(file + ":4:") && Catch::Contains("dealy"));
  child_process missing{{app_path("sim"), "--scenarios", scenarios(), "run", "no-such"}};
  CHECK(missing.wait_exit(patience) == 2);
  CHECK_THAT(missing.output(), Catch::Contains("kill-backend"));
  child_process pump{
      {app_path("sim"), "--scenarios", scenarios(), "run", "round-robin", "--pump", "zerocopy"}};
  CHECK(pump.wait_exit(patience) == 2);
  CHECK_THAT(pump.output(), Catch::Contains("--pump") && Catch::Contains("broker,direct,splice"));
}

TEST_CASE("sim list, show and validate describe the shipped scenarios", "[sim-app]") {
  child_process list{{app_path("sim"), "--scenarios", scenarios(), "list"}};
  CHECK(list.wait_exit(patience) == 0);
  for (auto name : {"algorithm-switch", "connection-limit", "drain", "kill-backend",
                    "least-conn-delay", "max-conns-queue", "outlier-ejection", "retry-backoff",
                    "round-robin", "slow-start", "slowloris", "slowloris-lb"}) {
    CHECK_THAT(list.output(), Catch::Contains(name));
  }
  child_process show{{app_path("sim"), "--scenarios", scenarios(), "show", "kill-backend"}};
  CHECK(show.wait_exit(patience) == 0);
  CHECK_THAT(show.output(), Catch::Contains("restart: server-1"));
  std::vector<std::string> args{app_path("sim"), "validate"};
  for (auto& entry : fs::directory_iterator{scenarios()}) {
    if (entry.path().extension() == ".yaml") {
      args.push_back(entry.path().string());
    }
  }
  child_process validate{args};
  CHECK(validate.wait_exit(patience) == 0);
  CHECK_THAT(validate.output(), Catch::Contains("kill-backend.yaml: ok"));
}
