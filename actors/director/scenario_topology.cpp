#include "actors/director/scenario_topology.hpp"

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/director/director.hpp"
#include "actors/io/system.hpp"
#include "protocols/units.hpp"

namespace l4sim::actors {

namespace {

using protocols::client_kind;

/// Applies the scenario's per-type parameters (already validated by the loader).
void apply_params(protocols::client_profile& profile,
                  const std::map<std::string, std::string>& params, double scale) {
  auto dur = [&](const std::string& text) {
    auto d = protocols::parse_duration(text, std::chrono::milliseconds{1});
    return scaled(d.value_or(protocols::duration{0}), scale);
  };
  auto num = [&](const std::string& text) {
    return static_cast<uint32_t>(protocols::parse_uint(text, UINT32_MAX).value_or(1));
  };
  for (auto& [key, value] : params) {
    if (key == "requests_min") {
      profile.min_requests = num(value);
    } else if (key == "requests_max") {
      profile.max_requests = num(value);
    } else if (key == "think_min") {
      profile.min_think = dur(value);
    } else if (key == "think_max") {
      profile.max_think = dur(value);
    } else if (key == "interval") {
      profile.stream_interval = dur(value);
    } else if (key == "byte_gap_min") {
      profile.min_byte_gap = dur(value);
    } else if (key == "byte_gap_max") {
      profile.max_byte_gap = dur(value);
    }
  }
}

}  // namespace

spawner_config spawner_config_for(const protocols::scenario& scn, double scale, uint16_t port,
                                  const dialer_actor& dialer, bool verbose) {
  spawner_config cfg;
  cfg.port = port;
  cfg.rate = scn.clients.rate / scale;
  cfg.arrival =
      scn.clients.arrival == "poisson" ? arrival_process::poisson : arrival_process::uniform;
  if (!scn.clients.mix.empty()) {
    cfg.mix = client_mix_for(scn.clients.mix);
  }
  cfg.seed = scn.seed;
  cfg.max_active = scn.clients.max_active;
  cfg.connect_timeout = scaled(scn.clients.connect_timeout, scale);
  cfg.dialer = dialer;
  cfg.log = verbose;
  for (auto& profile : cfg.profiles) {
    profile.min_think = scaled(profile.min_think, scale);
    profile.max_think = scaled(profile.max_think, scale);
    profile.stream_interval = scaled(profile.stream_interval, scale);
    profile.min_byte_gap = scaled(profile.min_byte_gap, scale);
    profile.max_byte_gap = scaled(profile.max_byte_gap, scale);
    profile.reply_timeout = scaled(profile.reply_timeout, scale);
    auto params = scn.clients.params.find(protocols::to_string(profile.kind));
    if (params != scn.clients.params.end()) {
      apply_params(profile, params->second, scale);
    }
  }
  return cfg;
}

backend_config backend_config_for(const protocols::scenario_backend& spec, double time_scale,
                                  bool verbose) {
  backend_config cfg;
  cfg.id = spec.id;
  cfg.delay = scaled(spec.delay, time_scale);
  cfg.max_conns = spec.max_conns;
  cfg.idle_timeout = scaled(spec.idle_timeout, time_scale);
  cfg.chaos_pct = spec.chaos_pct;
  cfg.hang = scaled(spec.hang, time_scale);
  cfg.log = verbose;
  return cfg;
}

protocols::backend_spec backend_spec_for(const protocols::scenario_backend& spec, uint16_t port) {
  return {spec.id, fmt::format("127.0.0.1:{}", port), "127.0.0.1", port, spec.weight};
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

std::map<std::string, protocols::run_record::client_outcome> client_outcomes(
    const protocols::client_stats& stats, double time_scale) {
  auto unscale = [&](caf::timespan t) {
    return protocols::duration{static_cast<int64_t>(static_cast<double>(t.count()) / time_scale)};
  };
  std::map<std::string, protocols::run_record::client_outcome> result;
  for (auto& row : stats.rows) {
    auto& out = result[protocols::to_string(row.kind)];
    out.started = row.started;
    out.completed =
        row.ended(protocols::client_end::completed) + row.ended(protocols::client_end::stopped);
    for (size_t i = 0; i < protocols::client_end_count; ++i) {
      auto end = static_cast<protocols::client_end>(i);
      if (protocols::is_failure(end) && row.ends[i] > 0) {
        out.failed[protocols::to_string(end)] = row.ends[i];
      }
    }
    if (row.requests > 0) {
      out.latency[50] = unscale(row.p50);
      out.latency[90] = unscale(row.p90);
      out.latency[99] = unscale(row.p99);
      out.latency[100] = unscale(row.max);
    }
  }
  return result;
}

std::string describe_event(const protocols::timeline_event& ev) {
  using protocols::event_kind;
  using protocols::format_duration;
  switch (ev.kind) {
    case event_kind::kill:
      return "kill " + ev.backend;
    case event_kind::restart:
      return "restart " + ev.backend;
    case event_kind::set_delay:
      return fmt::format("set_delay {} {}", ev.backend, format_duration(ev.duration_value));
    case event_kind::set_max_conns:
      return fmt::format("set_max_conns {} {}", ev.backend, ev.number_value);
    case event_kind::set_chaos:
      return fmt::format("set_chaos {} {}%", ev.backend, ev.number_value);
    case event_kind::set_hang:
      return fmt::format("set_hang {} {}", ev.backend, format_duration(ev.duration_value));
    case event_kind::set_algorithm:
      return "set_algorithm " + ev.text_value;
    case event_kind::set_rate:
      return fmt::format("set_rate {:g}/s", ev.rate_value);
    case event_kind::set_mix: {
      std::string text = "set_mix";
      for (auto& m : ev.mix_value) {
        text += fmt::format(" {}={}", m.type, m.weight);
      }
      return text;
    }
    case event_kind::add_backend:
      return "add_backend " + ev.new_backend.id;
    case event_kind::remove_backend:
      return "remove_backend " + ev.backend;
  }
  return "?";
}

caf::expected<stage> build_local_stage(caf::actor_system& sys, const protocols::scenario& scn,
                                       double time_scale, bool verbose) {
  stage result;
  auto fail = [&](const caf::error& err) {
    for (auto& x : result.owned) {
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    }
    return err;
  };
  balancer_config lcfg;
  lcfg.id = scn.name;
  lcfg.algorithm = scn.balancer.algorithm;
  lcfg.seed = scn.seed;
  lcfg.health.interval = scaled(scn.balancer.health.interval, time_scale);
  lcfg.health.timeout = scaled(scn.balancer.health.timeout, time_scale);
  lcfg.health.rise = scn.balancer.health.rise;
  lcfg.health.fall = scn.balancer.health.fall;
  lcfg.session.connect_timeout = scaled(scn.balancer.connect_timeout, time_scale);
  lcfg.session.retries = scn.balancer.retries;
  lcfg.session.timeouts = {scaled(scn.balancer.client_timeout, time_scale),
                           scaled(scn.balancer.server_timeout, time_scale),
                           scaled(scn.balancer.tunnel_timeout, time_scale),
                           scaled(scn.balancer.client_fin_timeout, time_scale)};
  lcfg.max_conns = scn.balancer.max_conns;
  lcfg.log = verbose;
  std::string ports;
  for (auto& spec : scn.backends) {
    auto b = spawn_backend(sys, backend_config_for(spec, time_scale, verbose));
    if (!b) {
      return fail(b.error());
    }
    result.backends.emplace_back(spec.id, b->actor);
    result.owned.push_back(caf::actor_cast<caf::actor>(b->actor));
    lcfg.backends.push_back(backend_spec_for(spec, b->port));
    ports += fmt::format(" {}=:{}", spec.id, b->port);
  }
  auto lb = spawn_balancer(sys, lcfg);
  if (!lb) {
    return fail(lb.error());
  }
  result.lb = lb->control;
  for (auto x : {caf::actor_cast<caf::actor>(lb->listener), caf::actor_cast<caf::actor>(lb->picker),
                 caf::actor_cast<caf::actor>(lb->health), caf::actor_cast<caf::actor>(lb->dialer),
                 caf::actor_cast<caf::actor>(lb->control), lb->reporter}) {
    if (x) {
      result.owned.push_back(x);
    }
  }
  result.clients =
      spawn_spawner(sys, spawner_config_for(scn, time_scale, lb->port, lb->dialer, verbose));
  result.owned.push_back(caf::actor_cast<caf::actor>(result.clients));
  result.summary = fmt::format("in-process: balancer 127.0.0.1:{} ({}), backends{}", lb->port,
                               scn.balancer.algorithm, ports);
  return result;
}

}  // namespace l4sim::actors
