// sim against hostile scenario files and paths: nothing in them runs as a command, and a
// verdict is never PASS for a window that did not run.

#include <csignal>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace l4sim::testing;
namespace fs = std::filesystem;

namespace {

constexpr auto patience = std::chrono::seconds{30};

/// A two-second scenario, quick to play at any time scale.
const char* tiny = R"(name: tiny
duration: 2s
backends: [{id: s1}, {id: s2}]
balancer: {health: {interval: 500ms}}
clients: {rate: 4/s, mix: {real: 1}}
expect:
  - {clients: real, failures: 0.5}
)";

}  // namespace

TEST_CASE("sim validate rejects a backend id that would run a command, naming its line",
          "[sim-app][hostile]") {
  temp_dir dir;
  auto file = (dir.path / "evil.yaml").string();
  auto marker = dir.path / "pwned";
  std::ofstream{file} << "name: evil\nduration: 5s\nbackends:\n  - {id: s1}\n"
                      << "  - {id: \"s3`touch " << marker.string() << "`\"}\n";
  child_process validate{{app_path("sim"), "validate", file}};
  CHECK(validate.wait_exit(patience) == 2);
  INFO(validate.output());
  CHECK_THAT(validate.output(), Catch::Contains(file + ":5:10: id in backend:") &&
                                    Catch::Contains("contains '`' at offset 2"));
  temp_dir out;
  child_process run{{app_path("sim"), "run", file, "--quiet", "--report", out.path.string()}};
  CHECK(run.wait_exit(patience) == 2);
  CHECK_FALSE(fs::exists(marker));
  CHECK_FALSE(fs::exists(out.path / "report.json"));
}

TEST_CASE("sim run writes its report into a folder named with a quote, a space and a backtick",
          "[sim-app][hostile]") {
  temp_dir dir;
  auto file = dir.path / "tiny.yaml";
  std::ofstream{file} << tiny;
  // Through a shell, the quote would end `cd '...'` and the backticks would run `touch`.
  auto marker = dir.path / "pwned";
  auto report = dir.path / ("it's a `touch " + marker.string() + "` dir");
  child_process sim{{app_path("sim"), "run", file.string(), "--time-scale", "0.5", "--quiet",
                     "--report", report.string()}};
  auto rc = sim.wait_exit(std::chrono::seconds{60});
  INFO(sim.output());
  CHECK(rc == 0);
  CHECK_FALSE(fs::exists(marker));
  auto json = nlohmann::json::parse(read_file(report / "report.json"));
  CHECK(json["scenario"] == "tiny");
  auto csv = read_file(report / "timeseries.csv");
  CHECK(
      csv.rfind(
          "t,s1_up,s1_active,s1_new,s1_bytes,s1_queued,s1_ejected,s1_draining,s1_retries,s1_weight,"
          "s2_up,",
          0) == 0);
  auto gp = read_file(report / "chart.gp");
  CHECK_THAT(gp, Catch::Contains("set title 'tiny: active connections per backend'"));
  CHECK_THAT(gp, Catch::Contains("title 's1'"));
  // The chart plots each backend's `_active` column: find s2's in the header (1-based for
  // gnuplot) and expect the plot to use it.
  auto header = csv.substr(0, csv.find('\n'));
  size_t column = 1;
  for (size_t at = 0; at < header.find("s2_active"); ++at) {
    column += header[at] == ',' ? 1 : 0;
  }
  CHECK_THAT(gp, Catch::Contains(fmt::format("using 1:{} with steps lw 2 title 's2'", column)));
  CHECK(json["summary"]["backends"]["s1"]["weight_at_end"] == 1);
  if (fs::exists("/usr/bin/gnuplot") || fs::exists("/usr/local/bin/gnuplot")) {
    CHECK(fs::file_size(report / "chart.png") > 1000);
  } else {
    WARN("gnuplot is not installed: chart.png not checked");
  }
}

TEST_CASE("sim run rejects a --duration shorter than a timeline event or a window",
          "[sim-app][hostile]") {
  auto scenarios = std::string{L4SIM_SOURCE_DIR} + "/scenarios";
  child_process sim{
      {app_path("sim"), "--scenarios", scenarios, "run", "kill-backend", "--duration", "12s"}};
  CHECK(sim.wait_exit(patience) == 2);
  INFO(sim.output());
  CHECK_THAT(sim.output(), Catch::Contains("kill-backend.yaml:") &&
                               Catch::Contains("restart at 20s: after the end of the run "
                                               "(--duration 12s)") &&
                               Catch::Contains("its window [14s, 20s] ends after the end of the "
                                               "run (--duration 12s)"));
  CHECK_THAT(sim.output(), !Catch::Contains("PASS"));
}

TEST_CASE("sim run cut short by Ctrl-C fails a window it never reached, saying no data",
          "[sim-app][hostile]") {
  temp_dir dir;
  auto file = dir.path / "late.yaml";
  std::ofstream{file} << R"(name: late
duration: 30s
backends: [{id: s1}]
clients: {rate: 2/s, mix: {real: 1}}
expect:
  - {backend: s1, new_connections: 100000, between: [20s, 30s]}
)";
  child_process sim{{app_path("sim"), "run", file.string(), "--time-scale", "0.5"}};
  // Piped, the live view prints one status line per scenario second.
  REQUIRE(sim.wait_for_output("clients started=", std::chrono::seconds{30}));
  sim.signal(SIGINT);
  auto rc = sim.wait_exit(std::chrono::seconds{60});
  INFO(sim.output());
  CHECK(rc == 1);
  CHECK_THAT(sim.output(), Catch::Contains("FAIL  {backend: s1, new_connections: 100000") &&
                               Catch::Contains("observed no data: the run ended at") &&
                               Catch::Contains("verdict: FAIL"));
}
