#include "apps/common/service_env.hpp"

#include <fmt/format.h>

#include "actors/clients/arrivals.hpp"
#include "protocols/backend_list.hpp"
#include "protocols/proxy_protocol.hpp"

namespace l4sim::apps {

namespace {

using actors::exact_duration;

/// A rate rendered so that parsing it gives back the same double.
std::string exact_rate(double rate) {
  return fmt::format("{:.17g}", rate);
}

}  // namespace

service_env server_env(const actors::planned_backend& b, uint16_t port) {
  auto& c = b.cfg;
  return {
      {"SERVER_ID", c.id},
      {"SERVER_PORT", std::to_string(port)},
      {"SERVER_HOST", c.host},
      {"SERVER_DELAY_MS", exact_duration(c.delay)},
      {"SERVER_MAX_CONNS", std::to_string(c.max_conns)},
      {"SERVER_TIMEOUT_SECS", exact_duration(c.idle_timeout)},
      {"SERVER_CHAOS_PCT", std::to_string(c.chaos_pct)},
      {"SERVER_HANG_MS", exact_duration(c.hang)},
      {"SERVER_SEED", std::to_string(c.seed)},
      {"SERVER_STATS_INTERVAL", exact_duration(c.stats_interval)},
      {"SERVER_ACCEPT_PROXY", c.accept_proxy ? "1" : "0"},
      {"SERVER_CONTROL_PORT", "0"},
  };
}

service_env lb_settings_env(const protocols::balancer_settings& s) {
  return {
      {"LB_HEALTH_INTERVAL", exact_duration(s.health_interval)},
      {"LB_HEALTH_TIMEOUT", exact_duration(s.health_timeout)},
      {"LB_HEALTH_RISE", std::to_string(s.health_rise)},
      {"LB_HEALTH_FALL", std::to_string(s.health_fall)},
      {"LB_CONNECT_TIMEOUT_MS", exact_duration(s.connect_timeout)},
      {"LB_RETRIES", std::to_string(s.retries)},
      {"LB_RETRY_BACKOFF", exact_duration(s.backoff_base) + "," + exact_duration(s.backoff_cap)},
      {"LB_QUEUE_TIMEOUT", exact_duration(s.queue_timeout)},
      {"LB_DRAIN_TIMEOUT", exact_duration(s.drain_timeout)},
      {"LB_SLOW_START", exact_duration(s.slow_start)},
      {"LB_OUTLIER_CONSECUTIVE", std::to_string(s.outlier_consecutive)},
      {"LB_OUTLIER_BASE_EJECTION", exact_duration(s.outlier_base_ejection)},
      {"LB_OUTLIER_MAX_PERCENT", std::to_string(s.outlier_max_percent)},
      {"LB_CLIENT_TIMEOUT", exact_duration(s.client_timeout)},
      {"LB_SERVER_TIMEOUT", exact_duration(s.server_timeout)},
      {"LB_TUNNEL_TIMEOUT", exact_duration(s.tunnel_timeout)},
      {"LB_CLIENT_FIN_TIMEOUT", exact_duration(s.client_fin_timeout)},
      {"LB_MAX_CONNS", std::to_string(s.max_conns)},
      {"LB_SEND_PROXY", s.send_proxy},
      {"LB_HASH_BALANCE", std::to_string(s.hash_balance)},
  };
}

service_env lb_env(const actors::run_plan& plan, const std::vector<uint16_t>& backend_ports) {
  std::vector<protocols::endpoint> where;
  for (auto port : backend_ports) {
    where.push_back({"127.0.0.1", port});
  }
  return lb_env(plan, where);
}

service_env lb_env(const actors::run_plan& plan, const std::vector<protocols::endpoint>& backends) {
  auto& c = plan.balancer;
  std::vector<protocols::backend_entry> entries;
  for (size_t i = 0; i < plan.backends.size() && i < backends.size(); ++i) {
    auto& b = plan.backends[i];
    entries.push_back({b.id, backends[i], b.weight, b.lb_max_conns});
  }
  auto env = lb_settings_env(actors::settings_of(c));
  env.insert({
      {"LB_ID", c.id},
      {"LB_PORT", std::to_string(c.port)},
      {"LB_HOST", c.host},
      {"LB_BACKENDS", protocols::format_backend_list(entries)},
      {"LB_ALGO", c.algorithm},
      {"LB_RESOLVE_INTERVAL", exact_duration(c.health.resolve_interval)},
      {"LB_LOOPS", std::to_string(c.loops)},
      {"LB_SEED", std::to_string(c.seed)},
      {"LB_STATS_INTERVAL", exact_duration(c.stats_interval)},
      {"LB_PUMP", actors::to_string(c.session.pump.kind)},
      {"LB_SCHEDULER", std::string{actors::to_string(c.scheduler)}},
      {"LB_ACCESS_LOG", c.access_log.empty() ? std::string{"off"} : c.access_log},
      {"LB_CONTROL_PORT", "0"},
  });
  return env;
}

service_env client_env(const actors::run_plan& plan, const protocols::endpoint& target) {
  auto& c = plan.clients;
  std::string params;
  for (auto& profile : c.profiles) {
    for (auto& [key, value] : actors::client_params_of(profile)) {
      params += fmt::format("{}{}.{}={}", params.empty() ? "" : ",",
                            protocols::to_string(profile.kind), key, value);
    }
  }
  return {
      {"CLIENT_TARGET", protocols::to_string(target)},
      {"CLIENT_RATE", exact_rate(c.rate)},
      {"CLIENT_MIX", actors::format_mix(c.mix)},
      {"CLIENT_ARRIVAL", c.arrival == actors::arrival_process::poisson ? "poisson" : "uniform"},
      {"CLIENT_SEED", std::to_string(c.seed)},
      {"CLIENT_DURATION_SECS", exact_duration(c.duration)},
      {"CLIENT_MAX_ACTIVE", std::to_string(c.max_active)},
      {"CLIENT_SOURCE_ADDRESSES", std::to_string(c.source_addresses)},
      {"CLIENT_CONNECT_TIMEOUT_MS", exact_duration(c.connect_timeout)},
      {"CLIENT_STATS_INTERVAL", exact_duration(c.stats_interval)},
      {"CLIENT_PARAMS", params},
      {"CLIENT_CONTROL_PORT", "0"},
  };
}

}  // namespace l4sim::apps
