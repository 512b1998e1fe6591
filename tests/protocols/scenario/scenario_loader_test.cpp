#include "protocols/scenario/scenario_loader.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

using namespace l4sim::protocols;
using namespace std::chrono_literals;

namespace {

const std::string scenarios_dir = std::string{L4SIM_SOURCE_DIR} + "/scenarios";

load_result load(const std::string& text) {
  return load_scenario_text(text, "t.yaml");
}

const std::string design_example = R"(name: kill-backend
description: server-1 dies mid-traffic; the balancer marks it down within one health
  interval and moves traffic to the others; it comes back when restarted.
duration: 30s
seed: 42
backends:
  - {id: server-1, delay: 0ms,   max_conns: 100, idle_timeout: 30s}
  - {id: server-2, delay: 150ms, max_conns: 100, idle_timeout: 30s}
  - {id: server-3, delay: 500ms, max_conns: 50,  idle_timeout: 30s}
balancer: {algorithm: rr, health: {interval: 3s, timeout: 1s, rise: 1, fall: 1}}
clients:  {rate: 2/s, mix: {real: 50, fire_and_forget: 20, stream: 15, idle: 10, slow: 5}}
timeline:
  - {at: 10s, kill: server-1}
  - {at: 20s, restart: server-1}
expect:
  - {backend: server-1, health: down, within: 3.5s, after: 10s}
  - {backend: server-1, health: up,   within: 3.5s, after: 20s}
  - {backend: server-1, new_connections: 0, between: [13.5s, 20s]}
)";

/// A temporary directory removed at the end of the test.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    path = std::filesystem::temp_directory_path() /
           ("l4sim-scenarios-" + std::to_string(reinterpret_cast<uintptr_t>(this)));
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string write(const std::string& file, const std::string& text) const {
    auto full = (path / file).string();
    std::ofstream{full} << text;
    return full;
  }
};

}  // namespace

TEST_CASE("every shipped scenario loads, has a description and expectations", "[scenario]") {
  auto all = list_scenarios(scenarios_dir);
  std::vector<std::string> names;
  for (const auto& summary : all) {
    names.push_back(summary.name);
    auto loaded = load_scenario_file(summary.path);
    INFO(loaded.error_text());
    REQUIRE(loaded.ok());
    CHECK(loaded.value->name == summary.name);
    CHECK_FALSE(loaded.value->description.empty());
    CHECK(loaded.value->description == summary.description);
    CHECK_FALSE(loaded.value->expect.empty());
    CHECK(loaded.value->length >= 20s);
    CHECK(loaded.value->length <= 40s);
  }
  CHECK(names == std::vector<std::string>{"algorithm-switch", "connection-limit", "drain",
                                          "kill-backend", "least-conn-delay", "max-conns-queue",
                                          "outlier-ejection", "retry-backoff", "round-robin",
                                          "slow-start", "slowloris", "slowloris-lb",
                                          "sticky-sessions", "weighted"});
}

TEST_CASE("the design example loads with every value", "[scenario]") {
  auto loaded = load(design_example);
  INFO(loaded.error_text());
  REQUIRE(loaded.ok());
  const auto& s = *loaded.value;
  CHECK(s.name == "kill-backend");
  CHECK(s.description.find("server-1 dies mid-traffic; the balancer marks it down within one "
                           "health interval") == 0);
  CHECK(s.length == 30s);
  CHECK(s.seed == 42);
  REQUIRE(s.backends.size() == 3);
  CHECK(s.backends[1].id == "server-2");
  CHECK(s.backends[1].delay == 150ms);
  CHECK(s.backends[2].max_conns == 50);
  CHECK(s.backends[2].idle_timeout == 30s);
  CHECK(s.backends[2].where.line == 9);
  CHECK(s.backends[2].where.column == 5);
  CHECK(s.balancer.algorithm == "rr");
  CHECK(s.balancer.health.interval == 3s);
  CHECK(s.balancer.health.timeout == 1s);
  CHECK(s.clients.rate == 2.0);
  REQUIRE(s.clients.mix.size() == 5);
  CHECK(s.clients.mix[3].type == "idle");
  CHECK(s.clients.mix[3].weight == 10);
  REQUIRE(s.timeline.size() == 2);
  CHECK(s.timeline[0].kind == event_kind::kill);
  CHECK(s.timeline[0].backend == "server-1");
  CHECK(s.timeline[1].at == 20s);
  CHECK(s.timeline[1].where.line == 14);
  REQUIRE(s.expect.size() == 3);
  CHECK(s.expect[0].kind == expect_kind::health);
  CHECK_FALSE(s.expect[0].healthy);
  CHECK(s.expect[0].within == 3500ms);
  CHECK(s.expect[1].healthy);
  CHECK(s.expect[2].kind == expect_kind::new_connections);
  CHECK(s.expect[2].from == 13500ms);
  CHECK(s.expect[2].to == duration{20s});
  CHECK(s.expect[2].max_count == 0);
  CHECK(s.expect[2].text == "{backend: server-1, new_connections: 0, between: [13.5s, 20s]}");
}

TEST_CASE("the balancer's idle timeouts and connection cap are read, 0 turning them off",
          "[scenario]") {
  auto loaded = load(
      "name: t\nduration: 10s\nbackends: [{id: a}]\n"
      "balancer: {client_timeout: 2s, server_timeout: 0s, tunnel_timeout: 5m,\n"
      "           client_fin_timeout: 1500ms, max_conns: 0}\n");
  INFO(loaded.error_text());
  REQUIRE(loaded.ok());
  const auto& b = loaded.value->balancer;
  CHECK(b.client_timeout == 2s);
  CHECK(b.server_timeout == 0s);
  CHECK(b.tunnel_timeout == 5min);
  CHECK(b.client_fin_timeout == 1500ms);
  CHECK(b.max_conns == 0);
  auto defaults = load("name: t\nduration: 10s\nbackends: [{id: a}]\n");
  REQUIRE(defaults.ok());
  CHECK(defaults.value->balancer.client_timeout == 30s);
  CHECK(defaults.value->balancer.tunnel_timeout == 1h);
  CHECK(defaults.value->balancer.max_conns == 4000);
}

TEST_CASE("a backend's balancer options load: weight and maxconn", "[scenario]") {
  auto loaded =
      load("name: t\nduration: 10s\nbackends: [{id: a, weight: 3, maxconn: 7}, {id: b}]\n");
  INFO(loaded.error_text());
  REQUIRE(loaded.ok());
  CHECK(loaded.value->backends[0].weight == 3);
  CHECK(loaded.value->backends[0].lb_max_conns == 7);
  CHECK(loaded.value->backends[0].max_conns == 0);
  CHECK(loaded.value->backends[1].weight == 1);
  CHECK(loaded.value->backends[1].lb_max_conns == 0);
}

TEST_CASE("omitted keys take their defaults", "[scenario]") {
  auto loaded = load("name: t\nduration: 10s\nbackends: [{id: a}]\n");
  INFO(loaded.error_text());
  REQUIRE(loaded.ok());
  const auto& s = *loaded.value;
  CHECK(s.seed == 1);
  CHECK(s.balancer.algorithm == "rr");
  CHECK(s.balancer.retries == 2);
  CHECK(s.backends[0].weight == 1);
  CHECK(s.backends[0].max_conns == 0);
  CHECK(s.backends[0].lb_max_conns == 0);
  REQUIRE(s.clients.mix.size() == 5);
  CHECK(s.clients.mix[0].type == "real");
  CHECK(s.clients.mix[0].weight == 50);
  CHECK(s.clients.arrival == "uniform");
  CHECK(s.timeline.empty());
  CHECK(s.expect.empty());
}

TEST_CASE("block style and flow style read the same", "[scenario]") {
  auto flow = load(
      "name: t\nduration: 10s\nbackends: [{id: a, delay: 5ms, chaos: 3}]\n"
      "clients: {rate: 0.5/s, arrival: poisson, mix: {real: 1}}\n");
  auto block = load(R"(name: t
duration: 10s
backends:
  - id: a
    delay: 5ms
    chaos: 3
clients:
  rate: 30/m
  arrival: poisson
  mix:
    real: 1
)");
  REQUIRE(flow.ok());
  REQUIRE(block.ok());
  CHECK(flow.value->backends[0].delay == block.value->backends[0].delay);
  CHECK(block.value->backends[0].chaos_pct == 3);
  CHECK(flow.value->clients.rate == 0.5);
  CHECK(block.value->clients.rate == 0.5);
  CHECK(block.value->clients.arrival == "poisson");
  REQUIRE(block.value->clients.mix.size() == 1);
  CHECK(block.value->clients.mix[0].type == "real");
}

TEST_CASE("every timeline action loads and events are sorted stably by time", "[scenario]") {
  auto loaded = load(R"(name: t
duration: 60s
backends: [{id: a}, {id: b}]
timeline:
  - {at: 30s, remove_backend: b}
  - {at: 5s, set_delay: {backend: a, delay: 2s}}
  - {at: 5s, set_max_conns: {backend: a, max_conns: 7}}
  - {at: 6s, set_chaos: {backend: b, chaos: 20}}
  - {at: 7s, set_hang: {backend: b, hang: 500ms}}
  - {at: 8s, set_algorithm: lc}
  - {at: 9s, set_rate: 10/s}
  - {at: 10s, set_mix: {real: 80, idle: 20}}
  - {at: 11s, add_backend: {id: c, delay: 0ms, max_conns: 5}}
  - {at: 12s, kill: c}
  - {at: 13s, restart: c}
)");
  INFO(loaded.error_text());
  REQUIRE(loaded.ok());
  const auto& t = loaded.value->timeline;
  REQUIRE(t.size() == 11);
  CHECK(t[0].kind == event_kind::set_delay);
  CHECK(t[0].duration_value == 2s);
  CHECK(t[1].kind == event_kind::set_max_conns);
  CHECK(t[1].number_value == 7);
  CHECK(t[2].number_value == 20);
  CHECK(t[3].duration_value == 500ms);
  CHECK(t[4].text_value == "lc");
  CHECK(t[5].rate_value == 10.0);
  REQUIRE(t[6].mix_value.size() == 2);
  CHECK(t[6].mix_value[1].type == "idle");
  CHECK(t[7].new_backend.id == "c");
  CHECK(t[7].new_backend.max_conns == 5);
  CHECK(t[7].backend == "c");
  CHECK(t[9].kind == event_kind::restart);
  CHECK(t[10].kind == event_kind::remove_backend);
  CHECK(t[10].backend == "b");
  CHECK(to_string(t[10].kind) == "remove_backend");
}

TEST_CASE("every expectation kind loads", "[scenario]") {
  auto loaded = load(R"(name: t
duration: 60s
backends: [{id: a}, {id: b}]
timeline: [{at: 10s, add_backend: {id: c}}]
expect:
  - {backend: a, health: up, within: 2s}
  - {backend: c, new_connections: 3}
  - {spread: 3, between: [5s, end]}
  - {backend: b, share: [0, 0.2], between: [1s, 2s]}
  - {clients: real, failures: 0.05}
  - {clients: all, failures: 0.1, reason: reset}
  - {clients: stream, latency: {p50: 100ms, max: 2s}}
  - {backend: b, refused_at_least: 1}
)");
  INFO(loaded.error_text());
  REQUIRE(loaded.ok());
  const auto& e = loaded.value->expect;
  REQUIRE(e.size() == 9);
  CHECK(e[0].healthy);
  CHECK(e[0].after == 0s);
  CHECK_FALSE(e[1].to.has_value());
  CHECK(e[1].backend == "c");
  CHECK(e[2].kind == expect_kind::spread);
  CHECK(e[2].from == 5s);
  CHECK_FALSE(e[2].to.has_value());
  CHECK(e[3].max_share == 0.2);
  CHECK(e[4].client_type == client_kind::real);
  CHECK(e[4].max_ratio == 0.05);
  CHECK_FALSE(e[5].client_type);
  CHECK(e[5].reason == client_end::reset);
  CHECK(e[6].percentile == 50);
  CHECK(e[6].max_latency == 100ms);
  CHECK(e[6].text == "{clients: stream, latency: {p50: 100ms}}");
  CHECK(e[7].percentile == 100);
  CHECK(e[8].kind == expect_kind::refused_at_least);
  CHECK(e[8].max_count == 1);
}

TEST_CASE("client parameters are kept as written", "[scenario]") {
  auto loaded = load(R"(name: t
duration: 10s
backends: [{id: a}]
clients:
  params:
    real: {requests_min: 2, requests_max: 2, think_min: 0ms, think_max: 1s}
    stream: {interval: 250ms}
    idle: {}
)");
  INFO(loaded.error_text());
  REQUIRE(loaded.ok());
  auto& params = loaded.value->clients.params;
  CHECK(params["real"]["think_max"] == "1s");
  CHECK(params["stream"]["interval"] == "250ms");
  CHECK(params["idle"].empty());
}

TEST_CASE("a name resolves in the scenarios folder and anything else is a path", "[scenario]") {
  CHECK(scenario_path("kill-backend", "scenarios") == "scenarios/kill-backend.yaml");
  CHECK(scenario_path("x/kill-backend", "scenarios") == "x/kill-backend");
  CHECK(scenario_path("kill-backend.yaml", "scenarios") == "kill-backend.yaml");
  auto found = find_scenario("round-robin", scenarios_dir);
  INFO(found.error_text());
  CHECK(found.ok());
  CHECK(found.value->file == scenarios_dir + "/round-robin.yaml");
  auto missing = find_scenario("no-such", scenarios_dir);
  REQUIRE(missing.errors.size() == 1);
  CHECK_THAT(missing.errors[0].message,
             Catch::Contains("no scenario named \"no-such\"") && Catch::Contains("kill-backend"));
}

TEST_CASE("a file's scenario name must equal its base name", "[scenario]") {
  temp_dir dir;
  auto good = dir.write("t.yaml", "name: t\nduration: 5s\nbackends: [{id: a}]\n");
  auto bad = dir.write("u.yaml", "duration: 5s\nname: t\nbackends: [{id: a}]\n");
  dir.write("notes.txt", "not a scenario");
  CHECK(load_scenario_file(good).ok());
  auto loaded = load_scenario_file(bad);
  REQUIRE(loaded.errors.size() == 1);
  CHECK(loaded.errors[0].to_string() ==
        bad + ":2:7: name in scenario: \"t\" must equal the file's base name \"u\"");
  auto listed = list_scenarios(dir.path.string());
  REQUIRE(listed.size() == 2);
  CHECK(listed[0].name == "t");
  CHECK(listed[1].name == "u");
  CHECK_THAT(listed[1].description, Catch::StartsWith("(invalid: "));
  auto unreadable = load_scenario_file(dir.path.string() + "/none.yaml");
  REQUIRE(unreadable.errors.size() == 1);
  CHECK_THAT(unreadable.errors[0].to_string(), Catch::EndsWith("none.yaml: cannot open the file"));
}

TEST_CASE("every truncation of a valid file loads or fails without throwing", "[scenario]") {
  for (size_t n = 0; n <= design_example.size(); ++n) {
    auto loaded = load(design_example.substr(0, n));
    CHECK(loaded.ok() == loaded.errors.empty());
    for (const auto& error : loaded.errors) {
      CHECK_FALSE(error.message.empty());
    }
  }
}
