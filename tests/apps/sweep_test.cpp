// `sim sweep`, `sim experiment` and `sim run --set` end to end: real child processes of the
// sim binary, a three-second test scenario on virtual time, or live at time scale 0.2.

#include <csignal>
#include <filesystem>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace l4sim::testing;
namespace fs = std::filesystem;

namespace {

std::string tests_dir() {
  return std::string{L4SIM_SOURCE_DIR} + "/tests";
}

std::string short_scenario() {
  return tests_dir() + "/scenarios/sweep-short.yaml";
}

size_t lines_of(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

std::vector<fs::path> entries(const fs::path& dir) {
  std::vector<fs::path> out;
  for (auto& e : fs::directory_iterator{dir}) {
    out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> sweep_argv(const fs::path& out) {
  return {app_path("sim"), "sweep", short_scenario(), "--vary", "balancer.algorithm=rr,lc",
          "--seeds",       "2",     "--jobs",         "2",      "--out",
          out.string()};
}

}  // namespace

TEST_CASE("a sweep runs the grid x seeds on virtual time, writes tables and charts, and resumes",
          "[sweep]") {
  temp_dir out;
  {
    child_process sweep{sweep_argv(out.path)};
    auto rc = sweep.wait_exit(std::chrono::seconds{100});
    INFO(sweep.output());
    REQUIRE(rc == 0);
    CHECK_THAT(sweep.output(),
               Catch::Contains("4 runs (2 points x 2 seeds), 0 done already, 2 at a time, "
                               "virtual time"));
    CHECK_THAT(sweep.output(), Catch::Contains("ETA"));
  }
  auto runs = read_file(out.path / "runs.csv");
  CHECK_THAT(runs,
             Catch::StartsWith("balancer.algorithm,seed,mode,exit,passed,expect_1,share.server-1"));
  CHECK_THAT(runs, Catch::Contains("\nrr,1,virtual,") && Catch::Contains("\nlc,2,virtual,"));
  CHECK(lines_of(runs) == 5);
  auto summary = read_file(out.path / "summary.csv");
  CHECK_THAT(summary, Catch::StartsWith("balancer.algorithm,mode,runs,passed_mean,passed_ci95"));
  CHECK_THAT(summary, Catch::Contains("\nrr,virtual,2,"));
  CHECK_THAT(summary, Catch::Contains("\nlc,virtual,2,"));
  CHECK_THAT(read_file(out.path / "summary.md"), Catch::StartsWith("Played in virtual time."));
  CHECK(fs::exists(out.path / "charts" / "share.server-1-by-balancer.algorithm.dat"));
  CHECK(fs::exists(out.path / "charts" / "charts.gp"));
  auto finished = entries(out.path / "runs");
  REQUIRE(finished.size() == 4);
  for (auto& run : finished) {
    CHECK(fs::exists(run / "run.json"));
    CHECK(fs::exists(run / "report" / "report.json"));
  }

  // An interrupted run leaves its work folder; a lost run is missing: the re-run redoes
  // only that one and the tables hold each run once.
  fs::create_directories(out.path / "runs" / ".work-interrupted");
  std::ofstream{out.path / "runs" / ".work-interrupted" / "output.txt"} << "half";
  fs::remove_all(finished[1]);
  auto kept = fs::last_write_time(finished[0] / "run.json");
  {
    child_process again{sweep_argv(out.path)};
    auto rc = again.wait_exit(std::chrono::seconds{100});
    INFO(again.output());
    REQUIRE(rc == 0);
    CHECK_THAT(again.output(), Catch::Contains("3 done already"));
    CHECK_THAT(again.output(), Catch::Contains("[4/4]"));
  }
  CHECK(entries(out.path / "runs") == finished);
  CHECK(fs::last_write_time(finished[0] / "run.json") == kept);
  // Virtual runs are deterministic: the one played again measured what the lost one did.
  CHECK(read_file(out.path / "runs.csv") == runs);
}

TEST_CASE("a live sweep plays its runs live and an OUT keeps to one mode", "[sweep]") {
  temp_dir out;
  std::vector<std::string> live{app_path("sim"),
                                "sweep",
                                short_scenario(),
                                "--vary",
                                "balancer.algorithm=rr,lc",
                                "--seeds",
                                "1",
                                "--jobs",
                                "2",
                                "--live",
                                "--out",
                                out.path.string()};
  {
    child_process sweep{live};
    auto rc = sweep.wait_exit(std::chrono::seconds{100});
    INFO(sweep.output());
    REQUIRE(rc == 0);
    CHECK_THAT(sweep.output(), Catch::Contains("live, time scale 0.2"));
  }
  auto runs = read_file(out.path / "runs.csv");
  CHECK_THAT(runs, Catch::Contains("\nrr,1,live,") && Catch::Contains("\nlc,1,live,"));
  CHECK_THAT(read_file(out.path / "summary.md"),
             Catch::StartsWith("Played in live, time scale 0.2."));

  // Virtual runs into the live OUT are refused before anything runs; the live runs stay.
  auto virtual_argv = live;
  virtual_argv.erase(std::find(virtual_argv.begin(), virtual_argv.end(), "--live"));
  child_process mixed{virtual_argv};
  auto rc = mixed.wait_exit(std::chrono::seconds{20});
  INFO(mixed.output());
  CHECK(rc == 2);
  CHECK_THAT(mixed.output(), Catch::Contains("holds runs played live, this sweep plays them "
                                             "virtual: one table does not mix"));
  CHECK(read_file(out.path / "runs.csv") == runs);

  // --time-scale is a live run's, so it contradicts --virtual.
  virtual_argv.insert(virtual_argv.end(), {"--virtual", "--time-scale", "0.5"});
  child_process contradiction{virtual_argv};
  CHECK(contradiction.wait_exit(std::chrono::seconds{20}) == 2);
  CHECK_THAT(contradiction.output(), Catch::Contains("--time-scale is for live runs"));
}

TEST_CASE("a sweep with a bad value exits 2 naming the --vary argument before any run", "[sweep]") {
  temp_dir out;
  child_process sweep{{app_path("sim"), "sweep", short_scenario(), "--vary",
                       "backends.server-2.delay=10ms,fast", "--seeds", "1", "--out",
                       out.path.string()}};
  auto rc = sweep.wait_exit(std::chrono::seconds{20});
  INFO(sweep.output());
  CHECK(rc == 2);
  CHECK_THAT(sweep.output(), Catch::Contains("--vary backends.server-2.delay=fast: delay in "
                                             "backend: \"fast\" is not a duration"));
  CHECK_FALSE(fs::exists(out.path / "runs"));
}

TEST_CASE("an experiment whose claim does not hold exits 1 and says which", "[experiment]") {
  temp_dir out;
  child_process x{{app_path("sim"), "experiment", tests_dir() + "/experiments/false-claim.yaml",
                   "--out", out.path.string(), "--jobs", "1"}};
  auto rc = x.wait_exit(std::chrono::seconds{60});
  INFO(x.output());
  CHECK(rc == 1);
  CHECK_THAT(x.output(), Catch::Contains("FAILS  share.server-1 > 0.9"));
  CHECK_THAT(x.output(), Catch::Contains("verdict: FAIL (0/1 claims hold"));
  CHECK_THAT(read_file(out.path / "claims.txt"), Catch::Contains("FAILS"));
}

TEST_CASE("an experiment file with a bad claim or value exits 2 naming file and line",
          "[experiment]") {
  temp_dir dir;
  auto file = dir.path / "bad.yaml";
  std::ofstream{file} << "scenario: " << short_scenario() << "\n"
                      << "grid:\n"
                      << "  backends.server-2.delay: [10ms, fast]\n"
                      << "seeds: 1\n"
                      << "claims:\n"
                      << "  - share.server-9 < 1\n"
                      << "colour: blue\n"
                      << "mode: fast\n";
  child_process x{
      {app_path("sim"), "experiment", file.string(), "--out", (dir.path / "out").string()}};
  auto rc = x.wait_exit(std::chrono::seconds{20});
  INFO(x.output());
  CHECK(rc == 2);
  CHECK_THAT(x.output(), Catch::Contains(file.string() + ":6:5: claim: \"share.server-9\" is not "
                                                         "a metric"));
  CHECK_THAT(x.output(), Catch::Contains(file.string() + ":7:1: unknown key \"colour\""));
  CHECK_THAT(x.output(),
             Catch::Contains(file.string() + ":8:7: mode: expected live or virtual, not \"fast\""));
  CHECK_FALSE(fs::exists(dir.path / "out" / "runs"));

  // The grid's values are checked before anything runs, naming the line of the key.
  std::ofstream{file} << "scenario: " << short_scenario() << "\n"
                      << "grid:\n"
                      << "  backends.server-2.delay: [10ms, fast]\n";
  child_process y{
      {app_path("sim"), "experiment", file.string(), "--out", (dir.path / "out").string()}};
  CHECK(y.wait_exit(std::chrono::seconds{20}) == 2);
  CHECK_THAT(y.output(), Catch::Contains(file.string() + ":3:3: grid backends.server-2.delay=fast: "
                                                         "delay in backend"));

  // A time scale is a live run's: with mode: virtual it is a contradiction, named.
  std::ofstream{file} << "scenario: " << short_scenario() << "\n"
                      << "grid:\n"
                      << "  balancer.algorithm: [rr]\n"
                      << "mode: virtual\n"
                      << "time_scale: 0.5\n";
  child_process z{
      {app_path("sim"), "experiment", file.string(), "--out", (dir.path / "out").string()}};
  CHECK(z.wait_exit(std::chrono::seconds{20}) == 2);
  CHECK_THAT(z.output(),
             Catch::Contains(file.string() + ":5:13: time_scale: is for live runs, not with mode: "
                                             "virtual"));
  CHECK_FALSE(fs::exists(dir.path / "out" / "runs"));
}

TEST_CASE("overrides (--set) reach every service process under --services", "[sweep][services]") {
  temp_dir out;
  child_process sim{{app_path("sim"), "run", short_scenario(), "--services", "--time-scale", "0.5",
                     "--quiet", "--report", out.path.string(), "--set",
                     "clients.mix={real: 50, fire_and_forget: 50}", "--set",
                     "backends.server-1.delay=300ms", "--set", "backends.server-2.delay=300ms",
                     "--set", "backends.server-3.delay=300ms"}};
  auto rc = sim.wait_exit(std::chrono::seconds{90});
  INFO(sim.output());
  REQUIRE(rc.has_value());
  auto report = nlohmann::json::parse(read_file(out.path / "report.json"));
  auto& clients = report["summary"]["clients"];
  REQUIRE(clients.contains("fire_and_forget"));
  CHECK(clients["fire_and_forget"]["started"].get<int>() > 0);
  // Every backend answers after 300 ms (scenario time), so no reply comes sooner.
  REQUIRE(clients.contains("real"));
  CHECK(clients["real"]["latency_seconds"]["p50"].get<double>() >= 0.29);
}

TEST_CASE("overrides (--set) reach the in-process run the same way", "[sweep]") {
  temp_dir out;
  child_process sim{{app_path("sim"), "run", short_scenario(), "--time-scale", "0.5", "--quiet",
                     "--report", out.path.string(), "--set",
                     "clients.mix={real: 50, fire_and_forget: 50}", "--set",
                     "backends.server-1.delay=300ms", "--set", "backends.server-2.delay=300ms",
                     "--set", "backends.server-3.delay=300ms"}};
  auto rc = sim.wait_exit(std::chrono::seconds{90});
  INFO(sim.output());
  REQUIRE(rc.has_value());
  auto report = nlohmann::json::parse(read_file(out.path / "report.json"));
  auto& clients = report["summary"]["clients"];
  REQUIRE(clients.contains("fire_and_forget"));
  REQUIRE(clients.contains("real"));
  CHECK(clients["real"]["latency_seconds"]["p50"].get<double>() >= 0.29);
}

TEST_CASE("an interrupted sweep keeps its finished runs, leaves no half run and resumes",
          "[sweep]") {
  temp_dir out;
  std::vector<std::string> argv{
      app_path("sim"),   "sweep", short_scenario(), "--vary", "balancer.algorithm=rr,lc",
      "--seeds",         "6",     "--jobs",         "2",      "--out",
      out.path.string(), "--live"};  // live: slow enough to be interrupted half-way
  {
    child_process sweep{argv};
    REQUIRE(sweep.wait_for_output("[2/12]", std::chrono::seconds{60}));
    sweep.signal(SIGINT);
    auto rc = sweep.wait_exit(std::chrono::seconds{30});
    INFO(sweep.output());
    CHECK(rc == 130);
    CHECK_THAT(sweep.output(), Catch::Contains("interrupted"));
  }
  size_t kept = 0;
  for (auto& e : entries(out.path / "runs")) {
    CHECK(e.filename().string().rfind(".work-", 0) != 0);
    CHECK(fs::exists(e / "run.json"));
    ++kept;
  }
  CHECK(kept >= 2);
  CHECK(kept < 12);
  child_process again{argv};
  auto rc = again.wait_exit(std::chrono::seconds{100});
  INFO(again.output());
  REQUIRE(rc == 0);
  CHECK_THAT(again.output(), Catch::Contains(std::to_string(kept) + " done already"));
  CHECK(lines_of(read_file(out.path / "runs.csv")) == 13);
}
