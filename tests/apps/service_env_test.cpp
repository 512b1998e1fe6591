// What `sim run --services` renders for each service, read back by that service's own
// reader, is the run plan's configuration again: every variable, value for value.

#include <catch2/catch.hpp>

#include "actors/director/run_plan.hpp"
#include "apps/common/service_config.hpp"
#include "apps/common/service_env.hpp"
#include "protocols/scenario/scenario_loader.hpp"
#include "tests/support/temp_dir.hpp"

using namespace l4sim;
using l4sim::testing::temp_dir;

namespace {

const char* scenario_text = R"(name: round-trip
description: every setting away from its default
duration: 20s
seed: 77
backends:
  - {id: server-1, delay: 150ms, max_conns: 7, idle_timeout: 3s, chaos: 5, hang: 333ms, weight: 3}
  - {id: server-2, delay: 1ms, weight: 1, maxconn: 12, accept_proxy: true}
balancer:
  algorithm: lc
  health: {interval: 1s, timeout: 0.7s, rise: 2, fall: 3}
  connect_timeout: 900ms
  retries: 4
  client_timeout: 7s
  server_timeout: 9s
  tunnel_timeout: 120s
  client_fin_timeout: 3s
  max_conns: 321
  retry_backoff: {base: 70ms, cap: 1.5s}
  queue_timeout: 4s
  drain_timeout: 11s
  slow_start: 6s
  outlier: {consecutive: 4, base_ejection: 13s, max_percent: 40}
  send_proxy: v2
  hash_balance: 150
clients:
  rate: 12.5
  arrival: poisson
  max_active: 40
  source_addresses: 9
  connect_timeout: 2s
  mix: {real: 40, fire_and_forget: 10, stream: 20, idle: 5, slow: 25}
  params:
    real: {requests_min: 2, requests_max: 5, think_min: 10ms, think_max: 1s}
    stream: {interval: 333ms}
    slow: {byte_gap_min: 7ms, byte_gap_max: 11ms}
)";

actors::run_plan plan_at(double scale) {
  auto loaded = protocols::load_scenario_text(scenario_text, "round-trip.yaml");
  INFO(loaded.error_text());
  REQUIRE(loaded.ok());
  actors::plan_options opts;
  opts.time_scale = scale;
  auto plan = actors::make_plan(*loaded.value, opts);
  REQUIRE(plan);
  return *plan;
}

template <class Declare, class Read>
auto read_back(const char* program, Declare declare, Read read, const apps::service_env& env) {
  apps::env_cli cli{program, "test"};
  declare(cli);
  cli.parse_env(env);
  return read(cli);
}

void check_profile(const protocols::client_profile& got, const protocols::client_profile& want) {
  INFO("kind " << protocols::to_string(want.kind));
  CHECK(got.min_requests == want.min_requests);
  CHECK(got.max_requests == want.max_requests);
  CHECK(got.min_think == want.min_think);
  CHECK(got.max_think == want.max_think);
  CHECK(got.stream_interval == want.stream_interval);
  CHECK(got.min_byte_gap == want.min_byte_gap);
  CHECK(got.max_byte_gap == want.max_byte_gap);
  CHECK(got.reply_timeout == want.reply_timeout);
}

}  // namespace

TEST_CASE("a planned backend read back from its environment is the same backend", "[service-env]") {
  for (double scale : {1.0, 0.2, 0.37}) {
    INFO("time scale " << scale);
    auto plan = plan_at(scale);
    for (auto& b : plan.backends) {
      auto got = read_back("server", apps::declare_server_options, apps::read_server_config,
                           apps::server_env(b, 4321));
      CHECK(got.id == b.cfg.id);
      CHECK(got.host == b.cfg.host);
      CHECK(got.port == 4321);
      CHECK(got.delay == b.cfg.delay);
      CHECK(got.max_conns == b.cfg.max_conns);
      CHECK(got.idle_timeout == b.cfg.idle_timeout);
      CHECK(got.chaos_pct == b.cfg.chaos_pct);
      CHECK(got.hang == b.cfg.hang);
      CHECK(got.seed == b.cfg.seed);
      CHECK(got.stats_interval == b.cfg.stats_interval);
      CHECK(got.accept_proxy == b.cfg.accept_proxy);
    }
    CHECK_FALSE(plan.backends[0].cfg.accept_proxy);
    CHECK(plan.backends[1].cfg.accept_proxy);
    // Scaled, not merely copied.
    CHECK(plan.backends[0].cfg.hang ==
          protocols::time_scale{scale}.real(std::chrono::milliseconds{333}));
  }
}

TEST_CASE("the planned balancer read back from its environment is the same balancer",
          "[service-env]") {
  for (double scale : {1.0, 0.2, 0.37}) {
    INFO("time scale " << scale);
    auto plan = plan_at(scale);
    // Not the default, so that a variable lost on the way shows.
    auto other_pump = actors::pump_config{}.kind == actors::pump_kind::broker
                          ? actors::pump_kind::direct
                          : actors::pump_kind::broker;
    plan.balancer.session.pump.kind = other_pump;
    auto other_scheduler = actors::balancer_config{}.scheduler == actors::scheduler_kind::sharing
                               ? actors::scheduler_kind::stealing
                               : actors::scheduler_kind::sharing;
    plan.balancer.scheduler = other_scheduler;
    std::vector<uint16_t> ports{9001, 9002};
    auto got =
        read_back("lb", apps::declare_lb_options, apps::read_lb_config, apps::lb_env(plan, ports));
    auto& want = plan.balancer;
    CHECK(got.id == want.id);
    CHECK(got.host == want.host);
    CHECK(got.port == want.port);
    CHECK(got.algorithm == want.algorithm);
    CHECK(got.seed == want.seed);
    CHECK(got.health.interval == want.health.interval);
    CHECK(got.health.timeout == want.health.timeout);
    CHECK(got.health.rise == want.health.rise);
    CHECK(got.health.fall == want.health.fall);
    CHECK(got.health.resolve_interval == want.health.resolve_interval);
    CHECK(got.session.connect_timeout == want.session.connect_timeout);
    CHECK(got.session.retries == want.session.retries);
    CHECK(got.session.timeouts.client == want.session.timeouts.client);
    CHECK(got.session.timeouts.server == want.session.timeouts.server);
    CHECK(got.session.timeouts.tunnel == want.session.timeouts.tunnel);
    CHECK(got.session.timeouts.client_fin == want.session.timeouts.client_fin);
    CHECK(got.session.send_proxy == want.session.send_proxy);
    CHECK(got.session.send_proxy == protocols::proxy_version::v2);
    CHECK(got.hash_balance == want.hash_balance);
    CHECK(got.hash_balance == 150);
    CHECK(got.max_conns == want.max_conns);
    CHECK(got.loops == want.loops);
    CHECK(got.session.pump.kind == want.session.pump.kind);
    CHECK(got.session.pump.kind == other_pump);
    CHECK(got.scheduler == want.scheduler);
    CHECK(got.scheduler == other_scheduler);
    CHECK(got.stats_interval == want.stats_interval);
    CHECK(got.session.backoff.base == want.session.backoff.base);
    CHECK(got.session.backoff.cap == want.session.backoff.cap);
    CHECK(got.session.backoff.base == plan.scale.real(std::chrono::milliseconds{70}));
    CHECK(got.queue_timeout == want.queue_timeout);
    CHECK(got.drain_timeout == want.drain_timeout);
    CHECK(got.slow_start == want.slow_start);
    CHECK(got.outlier.consecutive == 4);
    CHECK(got.outlier.consecutive == want.outlier.consecutive);
    CHECK(got.outlier.base_ejection == want.outlier.base_ejection);
    CHECK(got.outlier.max_percent == want.outlier.max_percent);
    REQUIRE(got.backends.size() == plan.backends.size());
    for (size_t i = 0; i < ports.size(); ++i) {
      auto entry = plan.balancer_entry(plan.backends[i], ports[i]);
      CHECK(got.backends[i].id == entry.id);
      CHECK(got.backends[i].label == entry.label);
      CHECK(got.backends[i].address == entry.address);
      CHECK(got.backends[i].port == entry.port);
      CHECK(got.backends[i].weight == entry.weight);
      CHECK(got.backends[i].max_conns == entry.max_conns);
    }
    CHECK(got.backends[0].weight == 3);
    CHECK(got.backends[1].max_conns == 12);
  }
}

TEST_CASE("the balancer's access log setting survives the round trip through LB_ACCESS_LOG",
          "[service-env]") {
  auto plan = plan_at(1.0);
  std::vector<uint16_t> ports{9001, 9002};
  auto read = [&] {
    return read_back("lb", apps::declare_lb_options, apps::read_lb_config,
                     apps::lb_env(plan, ports));
  };
  CHECK(apps::lb_env(plan, ports).at("LB_ACCESS_LOG") == "off");
  CHECK(read().access_log.empty());
  plan.balancer.access_log = "stdout";
  CHECK(read().access_log == "stdout");
  temp_dir dir;
  plan.balancer.access_log = (dir.path / "access.log").string();
  CHECK(read().access_log == plan.balancer.access_log);
  // A file that cannot be opened is a config error naming the variable.
  plan.balancer.access_log = (dir.path / "no-such-dir" / "access.log").string();
  try {
    read();
    FAIL("an unwritable access log was accepted");
  } catch (const apps::config_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("LB_ACCESS_LOG"));
  }
}

TEST_CASE("the planned clients read back from their environment are the same clients",
          "[service-env]") {
  for (double scale : {1.0, 0.2, 0.37}) {
    INFO("time scale " << scale);
    auto plan = plan_at(scale);
    auto got = read_back("client", apps::declare_client_options, apps::read_client_config,
                         apps::client_env(plan, {"127.0.0.1", 9000}));
    auto& want = plan.clients;
    CHECK(got.address == "127.0.0.1");
    CHECK(got.port == 9000);
    CHECK(got.rate == want.rate);
    CHECK(got.arrival == want.arrival);
    CHECK(got.mix == want.mix);
    CHECK(got.seed == want.seed);
    CHECK(got.max_active == want.max_active);
    CHECK(got.source_addresses == want.source_addresses);
    CHECK(got.source_addresses == 9);
    CHECK(got.duration == want.duration);
    CHECK(got.connect_timeout == want.connect_timeout);
    CHECK(got.stats_interval == want.stats_interval);
    for (size_t i = 0; i < want.profiles.size(); ++i) {
      check_profile(got.profiles[i], want.profiles[i]);
    }
    // The scenario's parameters arrived, scaled.
    auto& stream = got.profiles[static_cast<size_t>(protocols::client_kind::stream)];
    CHECK(stream.stream_interval ==
          protocols::time_scale{scale}.real(std::chrono::milliseconds{333}));
  }
}

TEST_CASE("a variable that is not the service's is refused by its reader", "[service-env]") {
  apps::env_cli cli{"server", "test"};
  apps::declare_server_options(cli);
  CHECK_THROWS_AS(cli.parse_env({{"SERVER_ID", "a"}, {"SERVER_PORT", "1"}, {"SERVER_DELAY", "5"}}),
                  apps::config_error);
}
