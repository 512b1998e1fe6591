#include "protocols/scenario/scenario_loader.hpp"

#include <string>

#include <catch2/catch.hpp>

using namespace l4sim::protocols;
using Catch::Contains;

namespace {

/// Three lines every malformed example below builds on.
const std::string base = "name: t\nduration: 30s\nbackends: [{id: a}, {id: b}]\n";

/// Loads `text` as t.yaml and returns its errors, one per line; empty if it loaded.
std::string errors_of(const std::string& text) {
  auto loaded = load_scenario_text(text, "t.yaml");
  CHECK(loaded.ok() == loaded.errors.empty());
  return loaded.error_text();
}

}  // namespace

TEST_CASE("unknown keys are named with their position and the keys allowed", "[scenario]") {
  CHECK_THAT(errors_of(base + "dealy: 3s\n"),
             Contains("t.yaml:4:1: unknown key \"dealy\" in scenario (known: name, "));
  CHECK_THAT(errors_of("name: t\nduration: 30s\nbackends: [{id: a, dealy: 3s}]\n"),
             Contains("t.yaml:3:20: unknown key \"dealy\" in backend (known: id, delay, "
                      "max_conns, idle_timeout, chaos, hang, weight, maxconn, accept_proxy)"));
  CHECK_THAT(errors_of(base + "balancer: {algo: rr}\n"),
             Contains("t.yaml:4:12: unknown key \"algo\" in balancer (known: algorithm, "));
  CHECK_THAT(errors_of(base + "balancer:\n  health: {intervall: 3s}\n"),
             Contains("t.yaml:5:12: unknown key \"intervall\" in balancer.health"));
  CHECK_THAT(errors_of(base + "timeline:\n  - {at: 1s, kil: a}\n"),
             Contains("t.yaml:5:14: unknown key \"kil\" in timeline event (known: at, kill, "));
  CHECK_THAT(errors_of(base + "expect:\n  - {backend: a, health: up, withn: 1s}\n"),
             Contains("t.yaml:5:30: unknown key \"withn\" in expectation"));
  CHECK_THAT(errors_of(base + "clients: {mix: {rael: 1}}\n"),
             Contains("t.yaml:4:17: unknown key \"rael\" in clients.mix (known: real, "));
  CHECK_THAT(errors_of(base + "clients: {params: {real: {think: 1s}}}\n"),
             Contains("t.yaml:4:27: unknown key \"think\" in clients.params.real (known: "
                      "requests_min, requests_max, think_min, think_max)"));
  CHECK_THAT(errors_of(base + "clients: {params: {idle: {gap: 1s}}}\n"),
             Contains("unknown key \"gap\" in clients.params.idle (known: )"));
  CHECK_THAT(errors_of(base + "expect:\n  - {backend: a, share: [0, 1], within: 1s}\n"),
             Contains("t.yaml:5:5: key \"within\" does not apply to a share expectation"));
  CHECK_THAT(errors_of(base + "name: u\n"), Contains("t.yaml:4:1: duplicate key \"name\""));
}

TEST_CASE("bad durations, rates and numbers name the key and the value", "[scenario]") {
  CHECK_THAT(errors_of("name: t\nduration: 30s\nbackends: [{id: a, delay: 3x}]\n"),
             Contains("t.yaml:3:27: delay in backend: \"3x\" is not a duration"));
  CHECK_THAT(errors_of("name: t\nduration: 30s\nbackends: [{id: a, delay: 150}]\n"),
             Contains("t.yaml:3:27: delay in backend: \"150\" needs a unit"));
  CHECK_THAT(errors_of("name: t\nduration: 0s\nbackends: [{id: a}]\n"),
             Contains("t.yaml:2:11: duration in scenario: must be more than 0s"));
  CHECK_THAT(errors_of(base + "clients: {rate: fast}\n"),
             Contains("t.yaml:4:17: rate in clients: \"fast\" is not a rate"));
  CHECK_THAT(errors_of(base + "clients: {rate: 2/day}\n"), Contains("\"2/day\" is not a rate"));
  CHECK_THAT(errors_of(base + "clients: {rate: -2/s}\n"), Contains("\"-2/s\" is not a rate"));
  CHECK_THAT(errors_of("name: t\nduration: 30s\nbackends: [{id: a, max_conns: -1}]\n"),
             Contains("t.yaml:3:31: max_conns in backend: \"-1\" is not a whole number in "
                      "0..1000000"));
  CHECK_THAT(errors_of("name: t\nduration: 30s\nbackends: [{id: a, max_conns: 99999999999}]\n"),
             Contains("max_conns in backend: \"99999999999\" is not a whole number"));
  CHECK_THAT(errors_of("name: t\nduration: 30s\nbackends: [{id: a, chaos: 101}]\n"),
             Contains("chaos in backend: \"101\" is not a whole number in 0..100"));
  CHECK_THAT(errors_of("name: t\nduration: 30s\nbackends: [{id: a, weight: 0}]\n"),
             Contains("weight in backend: \"0\" is not a whole number in 1..1000"));
  CHECK_THAT(errors_of("name: t\nduration: 30s\nbackends: [{id: a, maxconn: -3}]\n"),
             Contains("maxconn in backend: \"-3\" is not a whole number in 0..1000000"));
  CHECK_THAT(errors_of(base + "seed: 1.5\n"), Contains("t.yaml:4:7: seed in scenario"));
  CHECK_THAT(errors_of(base + "balancer: {algorithm: fastest}\n"),
             Contains("t.yaml:4:23: algorithm in balancer: \"fastest\" is not one of rr, lc, "
                      "rand, p2c, hash, maglev"));
  CHECK_THAT(errors_of(base + "balancer: {client_timeout: soon}\n"),
             Contains("t.yaml:4:28: client_timeout in balancer: \"soon\" is not a duration"));
  CHECK_THAT(errors_of(base + "balancer: {tunnel_timeout: 60}\n"),
             Contains("tunnel_timeout in balancer: \"60\" needs a unit"));
  CHECK_THAT(errors_of(base + "balancer: {max_conns: -5}\n"),
             Contains("max_conns in balancer: \"-5\" is not a whole number in 0..1000000"));
  CHECK_THAT(errors_of(base + "clients: {mix: {real: 0, idle: 0}}\n"),
             Contains("t.yaml:4:16: clients.mix: needs at least one weight above 0"));
  CHECK_THAT(errors_of(base + "clients: {params: {stream: {interval: 0s}}}\n"),
             Contains("interval in clients.params.stream: must be more than 0s"));
  CHECK_THAT(errors_of(base + "clients: {params: {real: {requests_min: 5, requests_max: 2}}}\n"),
             Contains("requests_min in clients.params.real: 5 is above requests_max (2)"));
  CHECK_THAT(errors_of(base + "clients: {params: {real: {requests_min: 0}}}\n"),
             Contains("requests_min in clients.params.real: \"0\" is not a whole number in 1.."));
  CHECK_THAT(errors_of(base + "clients: {params: {robot: {}}}\n"),
             Contains("unknown key \"robot\" in clients.params"));
}

TEST_CASE("backend ids are unique and events name live backends", "[scenario]") {
  CHECK_THAT(errors_of("name: t\nduration: 30s\nbackends: [{id: a}, {id: a}]\n"),
             Contains("t.yaml:3:21: duplicate backend id \"a\""));
  CHECK_THAT(errors_of(base + "timeline:\n  - {at: 1s, kill: c}\n"),
             Contains("t.yaml:5:20: kill at 1s: unknown backend \"c\" (known then: a, b)"));
  CHECK_THAT(errors_of(base + "timeline:\n  - {at: 9s, restart: b}\n  - {at: 2s, remove_backend: "
                              "b}\n"),
             Contains("t.yaml:5:23: restart at 9s: backend \"b\" was removed at 2s"));
  CHECK_THAT(errors_of(base + "timeline:\n  - {at: 1s, set_delay: {backend: z, delay: 1s}}\n"),
             Contains("t.yaml:5:35: set_delay at 1s: unknown backend \"z\""));
  CHECK_THAT(errors_of(base + "timeline:\n  - {at: 1s, add_backend: {id: a}}\n"),
             Contains("t.yaml:5:27: add_backend at 1s: backend \"a\" already exists"));
  CHECK(errors_of(base + "timeline:\n  - {at: 1s, kill: a}\n  - {at: 2s, kill: a}\n").empty());
  CHECK(errors_of(base + "timeline:\n  - {at: 5s, kill: c}\n  - {at: 1s, add_backend: {id: c}}\n")
            .empty());
  CHECK_THAT(errors_of(base + "expect:\n  - {backend: c, refused_at_least: 1}\n"),
             Contains("t.yaml:5:15: backend in expectation: unknown backend \"c\" (known: a, b)"));
}

TEST_CASE("an event holds exactly one action inside the run", "[scenario]") {
  CHECK_THAT(errors_of(base + "timeline:\n  - {at: 1s, kill: a, restart: b}\n"),
             Contains("t.yaml:5:5: timeline event has 2 actions (kill, restart); write one "
                      "event each"));
  CHECK_THAT(errors_of(base + "timeline:\n  - {at: 1s}\n"),
             Contains("t.yaml:5:5: timeline event needs one action (one of: kill, restart, "));
  CHECK_THAT(errors_of(base + "timeline:\n  - {at: 31s, kill: a}\n"),
             Contains("t.yaml:5:10: at in timeline event: 31s is after the end of the run (30s)"));
  CHECK_THAT(errors_of(base + "timeline:\n  - {at: 1s, set_chaos: {backend: a}}\n"),
             Contains("t.yaml:5:25: set_chaos is missing required key \"chaos\""));
  CHECK_THAT(errors_of(base + "expect:\n  - {backend: a, health: up, failures: 0.1}\n"),
             Contains("t.yaml:5:5: expectation has 2 kinds (health, failures)"));
}

TEST_CASE("expectation values are checked", "[scenario]") {
  CHECK_THAT(errors_of(base + "expect:\n  - {backend: a, health: sideways, within: 1s}\n"),
             Contains("t.yaml:5:26: health in expectation: \"sideways\" is not one of up, down"));
  CHECK_THAT(errors_of(base + "expect:\n  - {backend: a, health: up}\n"),
             Contains("t.yaml:5:5: expectation is missing required key \"within\""));
  CHECK_THAT(errors_of(base + "expect:\n  - {backend: a, share: [0.5, 0.2]}\n"),
             Contains("t.yaml:5:25: share in expectation: min is above max"));
  CHECK_THAT(errors_of(base + "expect:\n  - {backend: a, share: 0.2}\n"),
             Contains("share in expectation: expected [min, max]"));
  CHECK_THAT(errors_of(base + "expect:\n  - {spread: 1, between: [20s, 10s]}\n"),
             Contains("t.yaml:5:26: between in expectation: from is after to"));
  CHECK_THAT(errors_of(base + "expect:\n  - {spread: 1, between: [20s, 40s]}\n"),
             Contains("between in expectation: the window ends after the run (30s)"));
  CHECK_THAT(errors_of(base + "expect:\n  - {spread: 1, between: [20s, later]}\n"),
             Contains("between (to) in expectation: \"later\" is not a duration"));
  CHECK_THAT(errors_of(base + "expect:\n  - {clients: all, failures: 0.1, reason: boredom}\n"),
             Contains("reason in expectation: \"boredom\" is not one of closed_by_peer, reset, "
                      "refused, timed_out, err_received, bad_reply"));
  CHECK_THAT(errors_of(base + "expect:\n  - {clients: robots, failures: 1.5}\n"),
             Contains("clients in expectation: \"robots\" is not one of"));
  CHECK_THAT(errors_of(base + "expect:\n  - {clients: real, failures: 1.5}\n"),
             Contains("failures in expectation: \"1.5\" is not a number in 0..1"));
  CHECK_THAT(errors_of(base + "expect:\n  - {clients: real, latency: {p95: 1s}}\n"),
             Contains("unknown key \"p95\" in latency (known: p50, p90, p99, max)"));
}

TEST_CASE("missing required keys are named", "[scenario]") {
  CHECK_THAT(errors_of("duration: 30s\nbackends: [{id: a}]\n"),
             Contains("t.yaml:1:1: scenario is missing required key \"name\""));
  CHECK_THAT(errors_of("name: t\nbackends: [{id: a}]\n"),
             Contains("t.yaml:1:1: scenario is missing required key \"duration\""));
  CHECK_THAT(errors_of("name: t\nduration: 3s\n"),
             Contains("scenario is missing required key \"backends\""));
  CHECK_THAT(errors_of("name: t\nduration: 3s\nbackends: [{delay: 1s}]\n"),
             Contains("t.yaml:3:12: backend is missing required key \"id\""));
  CHECK_THAT(errors_of(base + "timeline:\n  - {kill: a}\n"),
             Contains("t.yaml:5:5: timeline event is missing required key \"at\""));
  CHECK_THAT(errors_of(base + "expect:\n  - {new_connections: 0}\n"),
             Contains("t.yaml:5:5: expectation is missing required key \"backend\""));
}

TEST_CASE("wrong types say what was expected and what was found", "[scenario]") {
  CHECK_THAT(errors_of("name: t\nduration: 3s\nbackends: {id: a}\n"),
             Contains("t.yaml:3:11: backends in scenario: expected a list of at least one "
                      "backend"));
  CHECK_THAT(errors_of("name: t\nduration: 3s\nbackends: []\n"),
             Contains("expected a list of at least one backend ({id: ..., ...}), got a list"));
  CHECK_THAT(errors_of("name: t\nduration: 3s\nbackends: [[a]]\n"),
             Contains("t.yaml:3:12: backend: expected a map ({key: value, ...}), got a list"));
  CHECK_THAT(errors_of(base + "clients: {mix: [real, idle]}\n"),
             Contains("t.yaml:4:16: clients.mix: expected a map"));
  CHECK_THAT(errors_of(base + "timeline: {at: 1s, kill: a}\n"),
             Contains("t.yaml:4:11: timeline: expected a list of events"));
  CHECK_THAT(errors_of(base + "expect: yes\n"),
             Contains("t.yaml:4:9: expect: expected a list of expectations, got \"yes\""));
  CHECK_THAT(errors_of("name: [t]\nduration: 3s\nbackends: [{id: a}]\n"),
             Contains("t.yaml:1:7: name in scenario: expected a single value, got a list"));
  CHECK_THAT(errors_of("- a\n- b\n"), Contains("t.yaml:1:1: scenario: expected a map"));
}

TEST_CASE("syntax errors and empty files are reported, never thrown", "[scenario]") {
  CHECK_THAT(errors_of("name: t\nduration: 3s\nbackends: [{id: a}\n"),
             Contains("t.yaml:4:1: YAML syntax error: "));
  CHECK_THAT(errors_of("name: t\n  duration: 3s\n"), Contains("t.yaml:2:11: YAML syntax error"));
  CHECK_THAT(errors_of(""), Contains("t.yaml:1:1: empty file"));
  CHECK_THAT(errors_of("# only a comment\n"), Contains("empty file"));
  for (const char* junk : {"[", "{", ":", "- - -", "name: [", "\t", "&a *a", "!!binary x",
                           "? [a]\n: b", "name: t\nduration: *nope\n", "\x01\xff\xfe"}) {
    INFO(junk);
    CHECK_FALSE(errors_of(junk).empty());
  }
}

TEST_CASE("all errors of a file are reported at once", "[scenario]") {
  auto text = errors_of(R"(name: t
duration: 3x
backends: [{id: a, delay: 1}, {id: a}]
balancer: {algorithm: best}
timeline: [{at: 1s, kill: q}]
)");
  CHECK_THAT(text, Contains("t.yaml:2:11: duration"));
  CHECK_THAT(text, Contains("t.yaml:3:27: delay"));
  CHECK_THAT(text, Contains("t.yaml:3:31: duplicate backend id"));
  CHECK_THAT(text, Contains("t.yaml:4:23: algorithm"));
  CHECK_THAT(text, Contains("t.yaml:5:27: kill at 1s: unknown backend \"q\""));
}
