#include "apps/sim/study.hpp"

#include <cmath>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "apps/sim/experiment.hpp"

using namespace l4sim::apps;

namespace {

const std::vector<grid_axis> two_axes{{"balancer.algorithm", {"rr", "lc"}},
                                      {"backends.server-3.delay", {"100ms", "2s"}}};

run_row row(const std::string& algo, const std::string& delay, uint64_t seed, double p99) {
  run_row r;
  r.point = {algo, delay};
  r.seed = seed;
  r.metrics = {{"p99_ms.real", p99}, {"passed", 1}};
  return r;
}

/// rr is slower than lc at 2s, equal at 100ms; three seeds each.
std::vector<run_row> rows() {
  std::vector<run_row> out;
  for (uint64_t s = 1; s <= 3; ++s) {
    out.push_back(row("rr", "100ms", s, 100 + static_cast<double>(s)));
    out.push_back(row("rr", "2s", s, 2000 + static_cast<double>(s)));
    out.push_back(row("lc", "100ms", s, 100 + static_cast<double>(s)));
    out.push_back(row("lc", "2s", s, 30 + static_cast<double>(s)));
  }
  return out;
}

}  // namespace

TEST_CASE("the grid is every combination, the first axis varying slowest", "[study]") {
  auto points = grid_points(two_axes);
  REQUIRE(points.size() == 4);
  CHECK(points[0] == grid_point{"rr", "100ms"});
  CHECK(points[1] == grid_point{"rr", "2s"});
  CHECK(points[3] == grid_point{"lc", "2s"});
  CHECK(grid_points({}).size() == 1);
}

TEST_CASE("Student t quantiles match the table and tend to 1.96", "[study]") {
  CHECK(t_quantile_975(1) == Approx(12.706));
  CHECK(t_quantile_975(2) == Approx(4.303));
  CHECK(t_quantile_975(9) == Approx(2.262));
  CHECK(t_quantile_975(30) == Approx(2.042));
  CHECK(t_quantile_975(1000) == Approx(1.960));
}

TEST_CASE("an estimate is the mean with a t-based 95% half-width", "[study]") {
  auto e = estimate_of({1, 2, 3, 4, 5});
  CHECK(e.n == 5);
  CHECK(e.mean == Approx(3));
  // sd = sqrt(2.5); t(4) = 2.776; half-width = 2.776 * sqrt(2.5) / sqrt(5)
  REQUIRE(e.ci95);
  CHECK(*e.ci95 == Approx(2.776 * std::sqrt(2.5) / std::sqrt(5.0)));
  auto one = estimate_of({7});
  CHECK(one.mean == Approx(7));
  CHECK_FALSE(one.ci95);
  CHECK(estimate_of({}).n == 0);
  auto same = estimate_of({2, 2, 2});
  REQUIRE(same.ci95);
  CHECK(*same.ci95 == Approx(0));
  // Ten equal values whose sum rounds: still no spread, exactly.
  auto equal = estimate_of(std::vector<double>(10, 0.325));
  REQUIRE(equal.ci95);
  CHECK(*equal.ci95 == 0);
}

TEST_CASE("the metrics of a run come from its report", "[study]") {
  auto report = nlohmann::json::parse(R"({
    "passed": false,
    "verdicts": [{"passed": true}, {"passed": false}],
    "summary": {
      "backends": {"server-1": {"connections": 30, "refused": 0},
                   "server-3": {"connections": 10, "refused": 4, "max_queued": 3,
                                "queue_timeouts": 1, "ejections": 2, "retries": 5}},
      "clients": {"real": {"started": 20, "completed": 15, "failed": {"reset": 3, "refused": 2},
                           "latency_seconds": {"p50": 0.02, "p90": 0.5, "p99": 2.0, "max": 2.1}},
                  "idle": {"started": 0, "completed": 0, "failed": {}, "latency_seconds": {}}}
    }})");
  auto m = metrics_of(report);
  CHECK(m.at("passed") == 0);
  CHECK(m.at("expect_1") == 1);
  CHECK(m.at("expect_2") == 0);
  CHECK(m.at("share.server-1") == Approx(0.75));
  CHECK(m.at("share.server-3") == Approx(0.25));
  CHECK(m.at("refused.server-3") == 4);
  CHECK(m.at("max_queued.server-3") == 3);
  CHECK(m.at("queue_timeouts.server-3") == 1);
  CHECK(m.at("ejections.server-3") == 2);
  CHECK(m.at("retries.server-3") == 5);
  CHECK(m.count("max_queued.server-1") == 0);  // not in its report: no figure
  CHECK(m.at("failed.real") == 5);
  CHECK(m.at("failure_rate.real") == Approx(0.25));
  CHECK(m.at("failure_rate.all") == Approx(0.25));
  CHECK(m.at("p50_ms.real") == Approx(20));
  CHECK(m.at("p99_ms.real") == Approx(2000));
  CHECK(m.at("max_ms.real") == Approx(2100));
  CHECK(m.count("failure_rate.idle") == 0);  // nobody started: no rate
  CHECK(m.count("p99_ms.idle") == 0);
  CHECK(known_metric("queue_timeouts.server-3", {"server-3"}));
  CHECK(known_metric("max_ms.real", {"server-3"}));
  CHECK_FALSE(known_metric("max_queued.real", {"server-3"}));
}

TEST_CASE("runs.csv has a row per run with every field escaped", "[study]") {
  std::vector<grid_axis> axes{{"clients.mix", {"{real: 50, idle: \"50\"}"}}};
  run_row r;
  r.point = {"{real: 50, idle: \"50\"}"};
  r.seed = 3;
  r.exit_code = 1;
  r.mode = "virtual";
  r.metrics = {{"passed", 0}, {"p99_ms.real", 12.5}};
  run_row other = r;
  other.seed = 4;
  other.metrics.erase("p99_ms.real");
  auto csv = runs_csv(axes, {r, other});
  CHECK(csv ==
        "clients.mix,seed,mode,exit,passed,p99_ms.real\n"
        "\"{real: 50, idle: \"\"50\"\"}\",3,virtual,1,0,12.5\n"
        "\"{real: 50, idle: \"\"50\"\"}\",4,virtual,1,0,\n");
}

TEST_CASE("the summary has the mean and interval of each metric per grid point", "[study]") {
  auto s = summarize(two_axes, rows());
  s.mode = "live";
  REQUIRE(s.points.size() == 4);
  CHECK(s.runs == std::vector<size_t>{3, 3, 3, 3});
  auto& rr_2s = s.values[1].at("p99_ms.real");
  CHECK(rr_2s.mean == Approx(2002));
  REQUIRE(rr_2s.ci95);
  CHECK(*rr_2s.ci95 == Approx(4.303 * 1.0 / std::sqrt(3.0)));
  auto csv = summary_csv(two_axes, s);
  CHECK_THAT(csv,
             Catch::StartsWith("balancer.algorithm,backends.server-3.delay,mode,runs,passed_mean,"
                               "passed_ci95,p99_ms.real_mean,p99_ms.real_ci95\n"
                               "rr,100ms,live,3,1,0,102,2.48434\n"));
}

TEST_CASE("charts quote every label for gnuplot and hold only numbers in data", "[study]") {
  std::vector<grid_axis> axes{{"balancer.algorithm", {"rr", "l'c"}}};
  std::vector<run_row> rs{row("rr", "", 1, 5), row("l'c", "", 1, 7)};
  for (auto& r : rs) {
    r.point.pop_back();
  }
  auto s = summarize(axes, rs);
  std::string script;
  auto files = charts(axes, s, {"p99_ms.real"}, "t`x`", script);
  REQUIRE(files.size() == 1);
  CHECK(files[0].data == "0 5 0\n1 7 0\n");
  CHECK_THAT(script, Catch::Contains("set xtics ('rr' 0, 'l''c' 1)"));
  CHECK_THAT(script, Catch::Contains("set title 't`x`: p99_ms.real'"));
  CHECK_THAT(script, Catch::Contains("with yerrorlines"));
}

TEST_CASE("a claim compares means at every value of a key", "[claims]") {
  std::string why;
  auto c = parse_claim(
      "p99_ms.real[balancer.algorithm=lc] <= p99_ms.real[balancer.algorithm=rr] "
      "at every backends.server-3.delay",
      two_axes, {"server-1"}, why);
  INFO(why);
  REQUIRE(c);
  auto s = summarize(two_axes, rows());
  auto v = judge(*c, two_axes, s);
  CHECK(v.holds);
  REQUIRE(v.lines.size() == 2);
  CHECK_THAT(v.lines[1], Catch::Contains("backends.server-3.delay=2s"));

  auto strict = parse_claim(
      "p99_ms.real[balancer.algorithm=lc] < p99_ms.real[balancer.algorithm="
      "rr] at every backends.server-3.delay",
      two_axes, {}, why);
  REQUIRE(strict);
  auto no = judge(*strict, two_axes, s);
  CHECK_FALSE(no.holds);  // equal at 100ms
  CHECK_THAT(no.lines[0], Catch::StartsWith("NOT"));
  CHECK_THAT(no.lines[1], Catch::StartsWith("ok"));
}

TEST_CASE("a claim takes constants and factors", "[claims]") {
  std::string why;
  auto s = summarize(two_axes, rows());
  auto c = parse_claim("p99_ms.real[balancer.algorithm=lc, backends.server-3.delay=2s] < 40",
                       two_axes, {}, why);
  REQUIRE(c);
  CHECK(judge(*c, two_axes, s).holds);
  auto f = parse_claim(
      "p99_ms.real[balancer.algorithm=lc,backends.server-3.delay=2s] > "
      "p99_ms.real[balancer.algorithm=rr,backends.server-3.delay=2s] * 0.5",
      two_axes, {}, why);
  REQUIRE(f);
  CHECK_FALSE(judge(*f, two_axes, s).holds);
}

TEST_CASE("a claim with no data at a point does not hold", "[claims]") {
  std::string why;
  auto c =
      parse_claim("p99_ms.real[balancer.algorithm=lc] < 99999 at every backends.server-3.delay",
                  two_axes, {}, why);
  REQUIRE(c);
  auto partial = rows();
  partial.erase(
      std::remove_if(partial.begin(), partial.end(),
                     [](const run_row& r) { return r.point[0] == "lc" && r.point[1] == "2s"; }),
      partial.end());
  auto v = judge(*c, two_axes, summarize(two_axes, partial));
  CHECK_FALSE(v.holds);
  CHECK_THAT(v.lines[1], Catch::Contains("no data"));
}

TEST_CASE("a bad claim says why", "[claims]") {
  std::string why;
  auto bad = [&](const std::string& text) {
    why.clear();
    CHECK_FALSE(parse_claim(text, two_axes, {"server-3"}, why));
    return why;
  };
  CHECK_THAT(bad("p99_ms.nobody < 3"), Catch::Contains("\"p99_ms.nobody\" is not a metric"));
  CHECK_THAT(bad("p99_ms.real[balancer.algorithm=lc] 3"), Catch::Contains("expected a comparison"));
  CHECK_THAT(bad("p99_ms.real[balancer.algorithm=lc] < 3"),
             Catch::Contains("leaves backends.server-3.delay open"));
  CHECK_THAT(bad("p99_ms.real[balancer.algo=lc] < 3"), Catch::Contains("not a key of the grid"));
  CHECK_THAT(bad("p99_ms.real[balancer.algorithm=p2c] < 3 at every backends.server-3.delay"),
             Catch::Contains("not one of the grid's values (rr, lc)"));
  CHECK_THAT(bad("share.server-3 < 1 at every nothing"), Catch::Contains("at every \"nothing\""));
  CHECK_THAT(bad("1 < 2"), Catch::Contains("two constants"));
  CHECK_THAT(bad("share.server-3[balancer.algorithm=lc, backends.server-3.delay=2s] < x * y"),
             Catch::Contains("expected a number after '*'"));
}

TEST_CASE("the Markdown summary shows mean and interval per point, with '|' escaped", "[study]") {
  std::vector<grid_axis> axes{{"clients.mix", {"a|b"}}};
  run_row r;
  r.point = {"a|b"};
  r.metrics = {{"p99_ms.real", 10}};
  run_row r2 = r;
  r2.metrics = {{"p99_ms.real", 12}};
  auto md = summary_markdown(axes, summarize(axes, {r, r2}), {"p99_ms.real", "share.server-1"});
  CHECK(md ==
        "| clients.mix | runs | p99_ms.real | share.server-1 |\n"
        "|---|---:|---:|---:|\n"
        "| a\\|b | 2 | 11 ± 13 | – |\n");
}
