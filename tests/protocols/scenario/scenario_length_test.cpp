#include "protocols/scenario/scenario_loader.hpp"

#include <string>

#include <catch2/catch.hpp>

using namespace l4sim::protocols;
using namespace std::chrono_literals;
using Catch::Contains;

namespace {

/// kill-backend in short: events at 10s and 20s, windows up to 20s.
const std::string kill_backend = R"(name: t
duration: 32s
backends: [{id: s1}, {id: s2}]
timeline:
  - {at: 10s, kill: s1}
  - {at: 20s, restart: s1}
expect:
  - {backend: s1, health: down, within: 4s, after: 10s}
  - {backend: s1, new_connections: 0, between: [14s, 20s]}
  - {spread: 3, between: [5s, end]}
)";

scenario loaded() {
  auto result = load_scenario_text(kill_backend, "t.yaml");
  REQUIRE(result.ok());
  return *result.value;
}

}  // namespace

TEST_CASE("a shorter duration that leaves every event and window inside is taken", "[scenario]") {
  auto fitted = with_length(loaded(), 24s, "--duration 24s");
  REQUIRE(fitted.ok());
  CHECK(fitted.value->length == 24s);
  CHECK(fitted.value->timeline.size() == 2);
}

TEST_CASE("a duration shorter than a timeline event or a window is rejected, naming each",
          "[scenario]") {
  auto fitted = with_length(loaded(), 12s, "--duration 12s");
  REQUIRE_FALSE(fitted.ok());
  auto text = fitted.error_text();
  CHECK_THAT(text, Contains("t.yaml:6:5: restart at 20s: after the end of the run "
                            "(--duration 12s)"));
  CHECK_THAT(text, Contains("t.yaml:8:5: expectation {backend: s1, health: down, within: 4s, "
                            "after: 10s}: its deadline 14s (after 10s + within 4s) is after the "
                            "end of the run (--duration 12s)"));
  CHECK_THAT(text, Contains("t.yaml:9:5: expectation {backend: s1, new_connections: 0, between: "
                            "[14s, 20s]}: its window [14s, 20s] ends after the end of the run "
                            "(--duration 12s)"));
  // [5s, end] ends with the run: fine.
  CHECK(fitted.errors.size() == 3);
  CHECK_FALSE(with_length(loaded(), 4s, "--duration 4s").ok());
}

TEST_CASE("a health deadline after the end of the run is rejected", "[scenario]") {
  auto result = load_scenario_text(
      "name: t\nduration: 12s\nbackends: [{id: a}]\nexpect:\n"
      "  - {backend: a, health: down, within: 4s, after: 10s}\n",
      "t.yaml");
  CHECK_THAT(result.error_text(),
             Contains("t.yaml:5:5: health in expectation: the deadline 14s (after 10s + within "
                      "4s) is after the end of the run (12s)"));
}
