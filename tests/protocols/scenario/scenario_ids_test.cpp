#include "protocols/scenario/scenario_loader.hpp"

#include <string>

#include <catch2/catch.hpp>

using namespace l4sim::protocols;
using Catch::Contains;

namespace {

std::string errors_of(const std::string& text) {
  auto loaded = load_scenario_text(text, "t.yaml");
  CHECK(loaded.ok() == loaded.errors.empty());
  return loaded.error_text();
}

}  // namespace

TEST_CASE("a backend id with backticks is rejected with its line and column", "[scenario]") {
  auto errors = errors_of(
      "name: t\nduration: 30s\nbackends:\n  - {id: s1}\n"
      "  - {id: \"s3`touch pwned`\"}\n");
  CHECK_THAT(errors, Contains("t.yaml:5:10: id in backend: \"s3`touch pwned`\" contains '`' at "
                              "offset 2; an id is 1 to 64 letters, digits, '.', '_' or '-'"));
}

TEST_CASE("ids with spaces, quotes, slashes, controls or past 64 bytes are rejected",
          "[scenario]") {
  auto base = std::string{"name: t\nduration: 30s\nbackends: [{id: a}]\n"};
  CHECK_THAT(errors_of("name: t\nduration: 30s\nbackends: [{id: \"a b\"}]\n"),
             Contains("t.yaml:3:17: id in backend: \"a b\" contains ' ' at offset 1"));
  CHECK_THAT(errors_of("name: t\nduration: 30s\nbackends: [{id: \"it's\"}]\n"),
             Contains("contains ''' at offset 2"));
  CHECK_THAT(errors_of("name: t\nduration: 30s\nbackends: [{id: \"../x\"}]\n"),
             Contains("contains '/' at offset 2"));
  CHECK_THAT(errors_of(base + "timeline:\n  - {at: 1s, add_backend: {id: \"x$(id)\"}}\n"),
             Contains("t.yaml:5:32: id in add_backend: \"x$(id)\" contains '$' at offset 1"));
  CHECK_THAT(errors_of("name: t\nduration: 30s\nbackends: [{id: " + std::string(65, 'x') + "}]\n"),
             Contains("is 65 bytes long (at most 64)"));
  CHECK(errors_of("name: t\nduration: 30s\nbackends: [{id: " + std::string(64, 'x') + "}]\n")
            .empty());
}

TEST_CASE("a scenario name that is no id is rejected", "[scenario]") {
  CHECK_THAT(errors_of("name: \"k`reboot`\"\nduration: 30s\nbackends: [{id: a}]\n"),
             Contains("t.yaml:1:7: name in scenario: \"k`reboot`\" contains '`' at offset 1"));
  CHECK(errors_of("name: kill-backend.v2\nduration: 30s\nbackends: [{id: a}]\n").empty());
}

TEST_CASE("control characters in a scenario's text never reach an error message raw",
          "[scenario]") {
  auto errors = errors_of("name: t\nduration: 30s\nbackends: [{id: \"a\\e[2J\\x9b\"}]\n");
  CHECK_THAT(errors, Contains("\"a\\x1b[2J\\xc2\\x9b\" contains '\\x1b' at offset 1"));
  CHECK(errors.find('\x1b') == std::string::npos);
  auto unknown = errors_of(
      "name: t\nduration: 30s\nbackends: [{id: a}]\n"
      "timeline:\n  - {at: 1s, kill: \"\\e]0;owned\\a\"}\n");
  CHECK_THAT(unknown, Contains("\\x1b]0;owned\\x07"));
  CHECK(unknown.find('\x1b') == std::string::npos);
}
