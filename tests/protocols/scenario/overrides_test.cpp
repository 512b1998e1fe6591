#include "protocols/scenario/overrides.hpp"

#include <string>

#include <catch2/catch.hpp>

#include "protocols/scenario/scenario_loader.hpp"

using namespace l4sim::protocols;
using namespace std::chrono_literals;

namespace {

const std::string base = R"(name: t
duration: 30s
seed: 7
backends:
  - {id: server-1, delay: 0ms}
  - {id: server-3, delay: 500ms, max_conns: 50}
balancer: {algorithm: rr}
clients:
  rate: 2/s
  params:
    real: {think_min: 100ms, think_max: 500ms}
timeline:
  - {at: 10s, kill: server-1}
expect:
  - {backend: server-1, new_connections: 0, between: [14s, 20s]}
)";

std::vector<scenario_override> sets(std::initializer_list<const char*> texts) {
  std::vector<scenario_override> out;
  for (auto* t : texts) {
    auto parsed = parse_override("--set", t);
    REQUIRE(parsed.error.empty());
    out.push_back(parsed.value);
  }
  return out;
}

load_result load(std::initializer_list<const char*> texts) {
  return load_scenario_text(base, "t.yaml", sets(texts));
}

}  // namespace

TEST_CASE("an override splits at the first '=' into a dotted path and a value", "[overrides]") {
  auto p = parse_override("--set", "backends.server-3.delay=a=b");
  REQUIRE(p.error.empty());
  CHECK(p.value.path == std::vector<std::string>{"backends", "server-3", "delay"});
  CHECK(p.value.value == "a=b");
  CHECK(p.value.source == "--set backends.server-3.delay=a=b");
  CHECK(dotted(p.value.path) == "backends.server-3.delay");
}

TEST_CASE("an override without '=', with an empty key or an empty part is refused, named",
          "[overrides]") {
  CHECK_THAT(parse_override("--set", "clients.rate").error,
             Catch::Contains("--set clients.rate: expected KEY=VALUE"));
  CHECK_THAT(parse_override("--set", "=3").error, Catch::Contains("--set =3: the key"));
  CHECK_THAT(parse_override("--vary", "a..b=1").error,
             Catch::Contains("--vary a..b=1: \"a..b\" has an empty part"));
  CHECK_THAT(parse_override("--set", "a.=1").error, Catch::Contains("empty part"));
}

TEST_CASE("overrides change maps, list entries by id and by position", "[overrides]") {
  auto r = load({"balancer.algorithm=lc", "backends.server-3.delay=2s", "clients.rate=50/s",
                 "timeline.0.at=12s", "seed=9"});
  INFO(r.error_text());
  REQUIRE(r.ok());
  CHECK(r.value->balancer.algorithm == "lc");
  CHECK(r.value->backends[1].delay == 2s);
  CHECK(r.value->backends[1].max_conns == 50);  // the rest of the entry stays
  CHECK(r.value->backends[0].delay == 0ms);
  CHECK(r.value->clients.rate == 50);
  CHECK(r.value->timeline[0].at == 12s);
  CHECK(r.value->seed == 9);
}

TEST_CASE("an override creates missing maps and takes YAML values", "[overrides]") {
  auto r = load({"balancer.health.interval=1s", "clients.mix={fire_and_forget: 100}"});
  INFO(r.error_text());
  REQUIRE(r.ok());
  CHECK(r.value->balancer.health.interval == 1s);
  REQUIRE(r.value->clients.mix.size() == 1);
  CHECK(r.value->clients.mix[0].type == "fire_and_forget");
}

TEST_CASE("an unknown key in an override is an error naming the --set argument", "[overrides]") {
  auto r = load({"balancer.algoritm=lc"});
  REQUIRE_FALSE(r.ok());
  auto text = r.error_text();
  CHECK_THAT(text, Catch::StartsWith("--set balancer.algoritm=lc: unknown key \"algoritm\""));
  CHECK_THAT(text, Catch::Contains("known: algorithm"));
}

TEST_CASE("a bad value in an override is validated like the file's, naming the argument",
          "[overrides]") {
  CHECK_THAT(load({"balancer.algorithm=xx"}).error_text(),
             Catch::StartsWith("--set balancer.algorithm=xx: algorithm in balancer: \"xx\" is "
                               "not one of"));
  CHECK_THAT(load({"backends.server-3.delay=fast"}).error_text(),
             Catch::StartsWith("--set backends.server-3.delay=fast: delay in backend"));
  // Checks across keys apply too: think_min above the file's think_max.
  CHECK_THAT(load({"clients.params.real.think_min=5s"}).error_text(),
             Catch::StartsWith("--set clients.params.real.think_min=5s: think_min"));
}

TEST_CASE("an error is blamed on the override that causes it, not on an innocent one",
          "[overrides]") {
  auto r = load({"clients.rate=5/s", "balancer.retries=-1"});
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].file == "--set balancer.retries=-1");
  CHECK(r.errors[0].line == 0);
}

TEST_CASE("overrides that are only valid together are accepted together", "[overrides]") {
  auto r = load({"clients.params.real.think_min=5s", "clients.params.real.think_max=6s"});
  INFO(r.error_text());
  CHECK(r.ok());
}

TEST_CASE("a list entry that does not exist or a path through a value is refused, named",
          "[overrides]") {
  auto missing = load({"backends.server-9.delay=2s"}).error_text();
  CHECK_THAT(missing, Catch::StartsWith("--set backends.server-9.delay=2s: backends has no entry "
                                        "\"server-9\""));
  CHECK_THAT(missing, Catch::Contains("server-1, server-3"));
  CHECK_THAT(load({"timeline.5.at=1s"}).error_text(), Catch::Contains("timeline has no entry"));
  CHECK_THAT(load({"backends.server-3.delay.x=1"}).error_text(),
             Catch::Contains("backends.server-3.delay is a single value"));
  CHECK_THAT(load({"balancer.algorithm=[unclosed"}).error_text(),
             Catch::Contains("the value is not YAML"));
}

TEST_CASE("the file's own errors come first, whatever is overridden", "[overrides]") {
  auto r = load_scenario_text("name: t\nduration: 0s\nbackends: []\n", "bad.yaml",
                              sets({"balancer.algorithm=lc"}));
  REQUIRE_FALSE(r.ok());
  for (auto& e : r.errors) {
    CHECK(e.file == "bad.yaml");
  }
}

TEST_CASE("a named scenario loads with overrides through find_scenario", "[overrides]") {
  auto r = find_scenario("least-conn-delay", std::string{L4SIM_SOURCE_DIR} + "/scenarios",
                         sets({"balancer.algorithm=rr", "backends.server-3.delay=100ms"}));
  INFO(r.error_text());
  REQUIRE(r.ok());
  CHECK(r.value->balancer.algorithm == "rr");
  CHECK(r.value->backends[2].delay == 100ms);
}
