#include <string>

#include <catch2/catch.hpp>

#include "protocols/scenario/scenario_loader.hpp"

using namespace l4sim::protocols;
using namespace std::chrono_literals;
using Catch::Contains;

namespace {

const std::string base = "name: t\nduration: 30s\nbackends: [{id: a}, {id: b}]\n";

std::string errors_of(const std::string& text) {
  return load_scenario_text(text, "t.yaml").error_text();
}

}  // namespace

TEST_CASE("network: defaults are loopback's, values are read with their units", "[scenario]") {
  auto plain = load_scenario_text(base, "t.yaml");
  REQUIRE(plain.ok());
  CHECK(plain.value->network.latency == 50us);
  CHECK(plain.value->network.window == 131072);
  CHECK(plain.value->network.first_non_default().empty());
  auto set = load_scenario_text(base +
                                    "network: {latency: 0.1ms, jitter: 20us, bandwidth: 100Mbit/s, "
                                    "loss: 1%, window: 64KiB}\n",
                                "t.yaml");
  REQUIRE(set.ok());
  auto& net = set.value->network;
  CHECK(net.latency == 100us);
  CHECK(net.jitter == 20us);
  CHECK(net.bandwidth == 12'500'000);
  CHECK(net.loss == Approx(0.01));
  CHECK(net.window == 65536);
  CHECK(net.first_non_default() == "latency");
  REQUIRE(net.given.size() == 5);
  CHECK(net.given[0].second.line == 4);
  // Loopback's own values written out are still loopback.
  auto same = load_scenario_text(base + "network: {latency: 50us, loss: 0}\n", "t.yaml");
  REQUIRE(same.ok());
  CHECK(same.value->network.first_non_default().empty());
  auto bw = load_scenario_text(base + "network: {bandwidth: 10MB/s}\n", "t.yaml");
  REQUIRE(bw.ok());
  CHECK(bw.value->network.bandwidth == 10'000'000);
}

TEST_CASE("network: bad values name the file, line and key", "[scenario]") {
  CHECK_THAT(errors_of(base + "network: {latncy: 1ms}\n"),
             Contains("t.yaml:4:11: unknown key \"latncy\" in network (known: latency, jitter, "
                      "bandwidth, loss, window)"));
  CHECK_THAT(errors_of(base + "network: {latency: fast}\n"),
             Contains("t.yaml:4:20: latency in network: \"fast\" is not a duration"));
  CHECK_THAT(errors_of(base + "network: {latency: 1h}\n"),
             Contains("t.yaml:4:20: latency in network: at most 10s"));
  CHECK_THAT(errors_of(base + "network: {bandwidth: 100Mbps}\n"),
             Contains("t.yaml:4:22: bandwidth in network: \"100Mbps\" is not a bandwidth"));
  CHECK_THAT(errors_of(base + "network: {bandwidth: 10B/s}\n"),
             Contains("\"10B/s\" is not a bandwidth from 1KB/s"));
  CHECK_THAT(errors_of(base + "network: {loss: 100%}\n"),
             Contains("t.yaml:4:17: loss in network: \"100%\" is not a share of SYNs below 100%"));
  CHECK_THAT(errors_of(base + "network: {loss: 2}\n"), Contains("\"2\" is not a share"));
  CHECK_THAT(errors_of(base + "network: {window: 12}\n"),
             Contains("t.yaml:4:19: window in network: \"12\" is not a size from 1KiB to 64MiB"));
  CHECK_THAT(errors_of(base + "network: fast\n"), Contains("t.yaml:4:10:"));
}

TEST_CASE("partition, heal, hold and release name a known backend", "[scenario]") {
  auto ok = load_scenario_text(base +
                                   "timeline:\n  - {at: 1s, partition: a}\n  - {at: 2s, heal: a}\n"
                                   "  - {at: 3s, hold: b}\n  - {at: 4s, release: b}\n",
                               "t.yaml");
  REQUIRE(ok.ok());
  REQUIRE(ok.value->timeline.size() == 4);
  CHECK(ok.value->timeline[0].kind == event_kind::partition);
  CHECK(ok.value->timeline[3].kind == event_kind::release);
  CHECK(ok.value->timeline[3].backend == "b");
  CHECK_THAT(errors_of(base + "timeline:\n  - {at: 1s, partition: c}\n"),
             Contains("t.yaml:5:25: partition at 1s: unknown backend \"c\""));
}
