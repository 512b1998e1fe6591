#include "protocols/scenario/expectations.hpp"

#include <catch2/catch.hpp>

using namespace l4sim::protocols;
using namespace std::chrono_literals;

namespace {

using sample = run_record::sample;

/// A sample at `at` seconds with cumulative totals per backend.
sample totals(duration at, std::map<std::string, uint64_t> total) {
  sample s;
  s.at = at;
  s.total = std::move(total);
  return s;
}

/// Three backends sampled every 5s over 20s; server-1 stops getting connections at 10s.
run_record traffic() {
  run_record r;
  r.samples = {
      totals(0s, {{"a", 0}, {"b", 0}, {"c", 0}}),
      totals(5s, {{"a", 10}, {"b", 10}, {"c", 11}}),
      totals(10s, {{"a", 20}, {"b", 20}, {"c", 21}}),
      totals(15s, {{"a", 20}, {"b", 30}, {"c", 31}}),
      totals(20s, {{"a", 20}, {"b", 40}, {"c", 40}}),
  };
  r.ended = 20s;
  return r;
}

expectation health(const std::string& backend, bool healthy, duration within, duration after) {
  expectation e;
  e.kind = expect_kind::health;
  e.backend = backend;
  e.healthy = healthy;
  e.within = within;
  e.after = after;
  return e;
}

expectation windowed(expect_kind kind, duration from, std::optional<duration> to) {
  expectation e;
  e.kind = kind;
  e.from = from;
  e.to = to;
  return e;
}

}  // namespace

TEST_CASE("health passes when the change comes within the bound", "[scenario][expect]") {
  run_record r;
  r.health = {{2s, "a", false}, {3s, "a", true}, {10210ms, "a", false}, {21s, "a", true}};
  r.ended = 30s;
  auto down = check(health("a", false, 3500ms, 10s), r);
  CHECK(down.passed);
  CHECK(down.expected == "a DOWN within 3.5s after 10s");
  CHECK(down.observed == "DOWN at 10.21s (210ms after)");
  auto up = check(health("a", true, 3500ms, 20s), r);
  CHECK(up.passed);
  CHECK(up.observed == "UP at 21s (1s after)");
}

TEST_CASE("health fails when the change comes late or never", "[scenario][expect]") {
  run_record r;
  r.health = {{15s, "a", false}};
  r.ended = 30s;
  auto late = check(health("a", false, 3s, 10s), r);
  CHECK_FALSE(late.passed);
  CHECK(late.observed == "DOWN at 15s (5s after)");
  auto never = check(health("a", true, 3s, 20s), r);
  CHECK_FALSE(never.passed);
  CHECK(never.observed == "still DOWN at the end");
  auto unknown = check(health("b", false, 3s, 10s), r);
  CHECK_FALSE(unknown.passed);
  CHECK(unknown.observed == "never DOWN");
  r.health = {{10s, "a", true}, {11s, "a", false}};
  CHECK(check(health("a", false, 3s, 10s), r).passed);
  CHECK(check(health("a", true, 3s, 10s), r).passed);
}

TEST_CASE("new connections count between the samples at or before each bound",
          "[scenario][expect]") {
  auto r = traffic();
  CHECK(new_connections_in(r, "a", 10s, 20s) == 0);
  CHECK(new_connections_in(r, "a", 0s, std::nullopt) == 20);
  CHECK(new_connections_in(r, "b", 7s, 14s) == 10);  // samples at 5s and 10s
  CHECK(new_connections_in(r, "b", 12s, 12s) == 0);
  CHECK(new_connections_in(r, "zzz", 0s, 20s) == 0);
  auto e = windowed(expect_kind::new_connections, 10s, 20s);
  e.backend = "a";
  e.max_count = 0;
  auto v = check(e, r);
  CHECK(v.passed);
  CHECK(v.expected == "a gets at most 0 new connections in [10s, 20s]");
  CHECK(v.observed == "0 new connections");
  e.from = 5s;
  v = check(e, r);
  CHECK_FALSE(v.passed);
  CHECK(v.observed == "10 new connections");
}

TEST_CASE("spread compares the busiest and the idlest backend in the window",
          "[scenario][expect]") {
  auto r = traffic();
  auto e = windowed(expect_kind::spread, 0s, 10s);
  e.max_count = 1;
  auto v = check(e, r);
  CHECK(v.passed);
  CHECK(v.observed == "1 (c 21, a 20)");
  e.to = std::nullopt;
  v = check(e, r);
  CHECK_FALSE(v.passed);
  CHECK(v.expected == "max - min new connections per backend in [0s, end] <= 1");
  CHECK(v.observed == "20 (c 40, a 20)");
}

TEST_CASE("share is the backend's part of all new connections in the window",
          "[scenario][expect]") {
  auto r = traffic();
  auto e = windowed(expect_kind::share, 10s, std::nullopt);
  e.backend = "a";
  e.min_share = 0;
  e.max_share = 0.1;
  auto v = check(e, r);
  CHECK(v.passed);
  CHECK(v.observed == "0.000 (0 of 39)");
  e.backend = "b";
  e.min_share = 0.25;
  e.max_share = 0.6;
  v = check(e, r);
  CHECK(v.passed);
  CHECK(v.observed == "0.513 (20 of 39)");
  e.max_share = 0.5;
  CHECK_FALSE(check(e, r).passed);
  e.max_share = 1;
  e.from = 0s;
  e.to = 10s;
  e.min_share = 0.4;
  CHECK_FALSE(check(e, r).passed);
}

TEST_CASE("a window without connections has no share and fails", "[scenario][expect]") {
  auto r = traffic();
  r.samples.push_back(totals(25s, {{"a", 20}, {"b", 40}, {"c", 40}}));
  r.ended = 25s;
  auto e = windowed(expect_kind::share, 20s, 25s);
  e.backend = "a";
  auto v = check(e, r);
  CHECK_FALSE(v.passed);
  CHECK(v.observed == "no connections in window");
  CHECK_FALSE(check(e, run_record{}).passed);
}

TEST_CASE("a sample the balancer did not answer is not read as zero connections",
          "[scenario][expect]") {
  // The collector's last sample without the balancer's counters (its answer came after the
  // collector's deadline), and one in the middle of the window.
  auto r = traffic();
  r.samples[2].total.clear();
  r.samples.push_back(totals(25s, {}));
  r.ended = 25s;
  auto e = windowed(expect_kind::share, 5s, std::nullopt);
  e.backend = "b";
  e.min_share = 0.3;
  e.max_share = 0.6;
  auto v = check(e, r);
  CHECK(v.passed);
  CHECK(v.observed == "0.435 (30 of 69)");
  auto spread = windowed(expect_kind::spread, 5s, std::nullopt);
  spread.max_count = 20;
  v = check(spread, r);
  CHECK(v.passed);
  CHECK(v.observed == "20 (b 30, a 10)");
  CHECK(new_connections_in(r, "a", 0s, 12s) == 10);
}

TEST_CASE("failure ratio counts failures by type and reason over clients started",
          "[scenario][expect]") {
  run_record r;
  r.clients["real"].started = 100;
  r.clients["real"].failed = {{"reset", 3}, {"timed_out", 2}};
  r.clients["idle"].started = 100;
  r.clients["idle"].failed = {{"reset", 20}};
  expectation e;
  e.kind = expect_kind::failure_ratio;
  e.client_type = client_kind::real;
  e.max_ratio = 0.05;
  auto v = check(e, r);
  CHECK(v.passed);
  CHECK(v.expected == "real clients failed <= 0.05");
  CHECK(v.observed == "0.050 (5 of 100)");
  e.client_type.reset();
  v = check(e, r);
  CHECK_FALSE(v.passed);
  CHECK(v.observed == "0.125 (25 of 200)");
  e.reason = client_end::timed_out;
  v = check(e, r);
  CHECK(v.passed);
  CHECK(v.expected == "all clients failed by timed_out <= 0.05");
  CHECK(v.observed == "0.010 (2 of 200)");
  e.client_type = client_kind::slow;
  v = check(e, r);
  CHECK(v.passed);
  CHECK(v.observed == "no clients");
}

TEST_CASE("latency compares the recorded percentile, the worst type for all",
          "[scenario][expect]") {
  run_record r;
  r.clients["real"].latency = {{50, 20ms}, {99, 1500ms}, {100, 3s}};
  r.clients["stream"].latency = {{99, 2500ms}};
  expectation e;
  e.kind = expect_kind::latency;
  e.client_type = client_kind::real;
  e.percentile = 99;
  e.max_latency = 2s;
  auto v = check(e, r);
  CHECK(v.passed);
  CHECK(v.expected == "p99 latency of real clients <= 2s");
  CHECK(v.observed == "p99 1.5s");
  e.percentile = 100;
  v = check(e, r);
  CHECK_FALSE(v.passed);
  CHECK(v.observed == "max 3s");
  e.percentile = 99;
  e.client_type.reset();
  CHECK_FALSE(check(e, r).passed);
  e.percentile = 90;
  v = check(e, r);
  CHECK_FALSE(v.passed);
  CHECK(v.observed == "no requests");
}

TEST_CASE("refused at least reads the last sample", "[scenario][expect]") {
  auto r = traffic();
  r.samples[2].refused["b"] = 9;
  r.samples.back().refused["b"] = 4;
  expectation e;
  e.kind = expect_kind::refused_at_least;
  e.backend = "b";
  e.max_count = 4;
  auto v = check(e, r);
  CHECK(v.passed);
  CHECK(v.observed == "4 refused");
  e.max_count = 5;
  CHECK_FALSE(check(e, r).passed);
  e.backend = "a";
  e.max_count = 0;
  CHECK(check(e, r).passed);
  e.max_count = 1;
  CHECK(check(e, r).observed == "0 refused");
}

TEST_CASE("check all judges every expectation in order with its text", "[scenario][expect]") {
  scenario s;
  auto down = health("a", false, 1s, 0s);
  down.text = "{backend: a, health: down, within: 1s}";
  auto none = windowed(expect_kind::new_connections, 10s, std::nullopt);
  none.backend = "a";
  none.text = "{backend: a, new_connections: 0, between: [10s, end]}";
  s.expect = {down, none};
  auto verdicts = check_all(s, traffic());
  REQUIRE(verdicts.size() == 2);
  CHECK(verdicts[0].text == down.text);
  CHECK_FALSE(verdicts[0].passed);
  CHECK(verdicts[1].text == none.text);
  CHECK(verdicts[1].passed);
}

TEST_CASE("a window past the end of the run is no data and fails", "[scenario][expect]") {
  // kill-backend cut to 12s: nothing was recorded in [14s, 20s], so 0 connections is no pass.
  auto r = traffic();
  r.samples.resize(3);  // 0s, 5s, 10s
  r.ended = 12s;
  auto e = windowed(expect_kind::new_connections, 14s, 20s);
  e.backend = "a";
  e.max_count = 0;
  auto v = check(e, r);
  CHECK_FALSE(v.passed);
  CHECK(v.observed == "no data: the run ended at 10s, before the window's end (20s)");
  for (auto kind : {expect_kind::spread, expect_kind::share}) {
    auto other = windowed(kind, 14s, 20s);
    other.backend = "a";
    other.max_count = 100;
    other.max_share = 1;
    CHECK_FALSE(check(other, r).passed);
    CHECK_THAT(check(other, r).observed, Catch::StartsWith("no data: the run ended at 10s"));
  }
  // [5s, end] ends with the run: judged.
  CHECK(check(windowed(expect_kind::new_connections, 5s, std::nullopt), r).observed ==
        "0 new connections");
}

TEST_CASE("a run cut short ends at its last sample, whatever its planned end",
          "[scenario][expect]") {
  // Ctrl-C at 10s of a 20s run: the record says 20s, the samples stop at 10s.
  auto r = traffic();
  r.samples.resize(3);
  auto e = windowed(expect_kind::new_connections, 10s, 20s);
  e.backend = "a";
  CHECK_FALSE(check(e, r).passed);
  CHECK(check(e, r).observed == "no data: the run ended at 10s, before the window's end (20s)");
  auto down = check(health("a", false, 5s, 8s), r);
  CHECK_FALSE(down.passed);
  CHECK(down.observed == "no data: the run ended at 10s, before the deadline (13s)");
  r.health = {{9s, "a", false}};
  CHECK(check(health("a", false, 5s, 8s), r).passed);
}

TEST_CASE("a window without a sample in it is no data and fails", "[scenario][expect]") {
  auto r = traffic();
  auto e = windowed(expect_kind::new_connections, 11s, 14s);
  e.backend = "a";
  CHECK_FALSE(check(e, r).passed);
  CHECK(check(e, r).observed == "no data: no sample in [11s, 14s]");
  auto spread = windowed(expect_kind::spread, 11s, 14s);
  spread.max_count = 100;
  CHECK_FALSE(check(spread, r).passed);
  CHECK(check(spread, run_record{}).observed ==
        "no data: the run ended at 0s, before the "
        "window's end (14s)");
  expectation refused;
  refused.kind = expect_kind::refused_at_least;
  refused.backend = "a";
  CHECK_FALSE(check(refused, run_record{}).passed);
  CHECK(check(refused, run_record{}).observed == "no data: no sample");
}

TEST_CASE("samples recorded out of order are judged in time order", "[scenario][expect]") {
  // A sample that waited on a dead backend is recorded after later ones.
  auto sorted = traffic();
  auto shuffled = sorted;
  std::swap(shuffled.samples[1], shuffled.samples[3]);
  CHECK(new_connections_in(shuffled, "a", 10s, 20s) == 0);
  CHECK(new_connections_in(shuffled, "b", 7s, 14s) == 10);
  auto e = windowed(expect_kind::new_connections, 5s, 20s);
  e.backend = "a";
  CHECK(check(e, shuffled).observed == check(e, sorted).observed);
  CHECK(check(e, shuffled).observed == "10 new connections");
}
