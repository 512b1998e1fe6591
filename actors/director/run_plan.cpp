#include "actors/director/run_plan.hpp"

#include <fmt/format.h>

#include "protocols/errors.hpp"
#include "protocols/proxy_protocol.hpp"
#include "protocols/units.hpp"

namespace l4sim::actors {

namespace {

using protocols::l4_errc;

caf::timespan real(const protocols::time_scale& scale, protocols::duration d) {
  return scale.real(d);
}

/// One per-type parameter: its key and the profile field it sets.
struct param_field {
  const char* key;
  caf::timespan protocols::client_profile::*time;  // null for counts
  uint32_t protocols::client_profile::*count;      // null for durations
};

constexpr param_field param_fields[] = {
    {"requests_min", nullptr, &protocols::client_profile::min_requests},
    {"requests_max", nullptr, &protocols::client_profile::max_requests},
    {"think_min", &protocols::client_profile::min_think, nullptr},
    {"think_max", &protocols::client_profile::max_think, nullptr},
    {"interval", &protocols::client_profile::stream_interval, nullptr},
    {"byte_gap_min", &protocols::client_profile::min_byte_gap, nullptr},
    {"byte_gap_max", &protocols::client_profile::max_byte_gap, nullptr},
    {"reply_timeout", &protocols::client_profile::reply_timeout, nullptr},
};

}  // namespace

std::string exact_duration(protocols::duration d) {
  auto ns = d.count();
  if (ns % 1'000'000 == 0) {
    return fmt::format("{}ms", ns / 1'000'000);
  }
  if (ns % 1'000 == 0) {
    return fmt::format("{}us", ns / 1'000);
  }
  return fmt::format("{}ns", ns);
}

std::string apply_client_param(protocols::client_profile& profile, const std::string& key,
                               const std::string& value, const protocols::time_scale& scale) {
  for (auto& field : param_fields) {
    if (key != field.key) {
      continue;
    }
    if (field.count != nullptr) {
      auto n = protocols::parse_uint(value, 1'000'000);
      if (!n || *n == 0) {
        return fmt::format("{}: \"{}\" is not a count in 1..1000000", key, value);
      }
      profile.*field.count = static_cast<uint32_t>(*n);
      return {};
    }
    auto d = protocols::parse_duration(value, std::chrono::milliseconds{1});
    if (!d) {
      return fmt::format("{}: \"{}\" is not a duration", key, value);
    }
    profile.*field.time = real(scale, *d);
    return {};
  }
  std::string known;
  for (auto& field : param_fields) {
    known += fmt::format("{}{}", known.empty() ? "" : ", ", field.key);
  }
  return fmt::format("unknown parameter \"{}\" (known: {})", key, known);
}

std::vector<std::pair<std::string, std::string>> client_params_of(
    const protocols::client_profile& profile) {
  std::vector<std::pair<std::string, std::string>> result;
  for (auto& field : param_fields) {
    result.emplace_back(field.key, field.count != nullptr ? std::to_string(profile.*field.count)
                                                          : exact_duration(profile.*field.time));
  }
  return result;
}

protocols::client_mix client_mix_for(const std::vector<protocols::mix_entry>& mix) {
  protocols::client_mix result;
  for (auto& entry : mix) {
    if (auto kind = protocols::parse_client_kind(entry.type)) {
      result[*kind] = entry.weight;
    }
  }
  return result;
}

planned_backend run_plan::plan_backend(const protocols::scenario_backend& spec) const {
  planned_backend b;
  b.id = spec.id;
  b.weight = spec.weight;
  b.lb_max_conns = spec.lb_max_conns;
  b.cfg.id = spec.id;
  b.cfg.host = "127.0.0.1";
  b.cfg.delay = real(scale, spec.delay);
  b.cfg.max_conns = spec.max_conns;
  b.cfg.idle_timeout = real(scale, spec.idle_timeout);
  b.cfg.chaos_pct = spec.chaos_pct;
  b.cfg.hang = real(scale, spec.hang);
  b.cfg.accept_proxy = spec.accept_proxy;
  b.cfg.seed = scn.seed;
  b.cfg.log = verbose;
  return b;
}

protocols::backend_spec run_plan::balancer_entry(const planned_backend& b, uint16_t port) const {
  return {b.id, fmt::format("127.0.0.1:{}", port), "127.0.0.1", port, b.weight, "", b.lb_max_conns};
}

caf::expected<run_plan> make_plan(const protocols::scenario& scn, const plan_options& opts) {
  if (!(opts.time_scale > 0) || opts.time_scale > 100) {
    return caf::make_error(l4_errc::bad_config,
                           fmt::format("--time-scale {} is not in (0, 100]", opts.time_scale));
  }
  run_plan plan;
  plan.scn = scn;
  if (opts.seed) {
    plan.scn.seed = *opts.seed;
  }
  if (opts.length) {
    plan.scn.length = *opts.length;
  }
  plan.scale = protocols::time_scale{opts.time_scale};
  plan.verbose = opts.verbose;
  auto& s = plan.scale;
  for (auto& spec : plan.scn.backends) {
    plan.backends.push_back(plan.plan_backend(spec));
  }
  auto& lb = plan.balancer;
  lb.id = plan.scn.name;
  lb.host = "127.0.0.1";
  lb.algorithm = plan.scn.balancer.algorithm;
  lb.seed = plan.scn.seed;
  lb.health.interval = real(s, plan.scn.balancer.health.interval);
  lb.health.timeout = real(s, plan.scn.balancer.health.timeout);
  lb.health.rise = plan.scn.balancer.health.rise;
  lb.health.fall = plan.scn.balancer.health.fall;
  lb.session.connect_timeout = real(s, plan.scn.balancer.connect_timeout);
  lb.session.retries = plan.scn.balancer.retries;
  auto& b = plan.scn.balancer;
  lb.session.timeouts = {real(s, b.client_timeout), real(s, b.server_timeout),
                         real(s, b.tunnel_timeout), real(s, b.client_fin_timeout)};
  lb.max_conns = b.max_conns;
  lb.session.backoff = {real(s, b.retry_backoff_base), real(s, b.retry_backoff_cap)};
  lb.queue_timeout = real(s, b.queue_timeout);
  lb.drain_timeout = real(s, b.drain_timeout);
  lb.slow_start = real(s, b.slow_start);
  lb.outlier = {b.outlier_consecutive, real(s, b.outlier_base_ejection), b.outlier_max_percent};
  lb.hash_balance = b.hash_balance;
  lb.session.send_proxy =
      protocols::parse_proxy_version(b.send_proxy).value_or(protocols::proxy_version::none);
  lb.log = opts.verbose;
  auto& cl = plan.clients;
  cl.rate = s.real_rate(plan.scn.clients.rate);
  cl.arrival =
      plan.scn.clients.arrival == "poisson" ? arrival_process::poisson : arrival_process::uniform;
  if (!plan.scn.clients.mix.empty()) {
    cl.mix = client_mix_for(plan.scn.clients.mix);
  }
  cl.seed = plan.scn.seed;
  cl.max_active = plan.scn.clients.max_active;
  cl.source_addresses = plan.scn.clients.source_addresses;
  cl.connect_timeout = real(s, plan.scn.clients.connect_timeout);
  cl.log = opts.verbose;
  for (auto& profile : cl.profiles) {
    // Defaults are in real time; the scenario's parameters in scenario time: both scale.
    for (auto& [key, value] : client_params_of(profile)) {
      apply_client_param(profile, key, value, s);
    }
    auto params = plan.scn.clients.params.find(protocols::to_string(profile.kind));
    if (params == plan.scn.clients.params.end()) {
      continue;
    }
    for (auto& [key, value] : params->second) {
      if (auto err = apply_client_param(profile, key, value, s); !err.empty()) {
        return caf::make_error(l4_errc::bad_config,
                               fmt::format("clients.params.{}.{}", params->first, err));
      }
    }
  }
  return plan;
}

}  // namespace l4sim::actors
