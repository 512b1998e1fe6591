#include "actors/director/outcomes.hpp"

#include <fmt/format.h>

namespace l4sim::actors {

std::map<std::string, protocols::run_record::client_outcome> client_outcomes(
    const protocols::client_stats& stats, const protocols::time_scale& scale) {
  auto unscale = [&](caf::timespan t) { return scale.scenario(t); };
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
    case event_kind::set_weight:
      return fmt::format("set_weight {} {}", ev.backend, ev.number_value);
    case event_kind::drain:
      return "drain " + ev.backend;
    case event_kind::ready:
      return "ready " + ev.backend;
    case event_kind::partition:
    case event_kind::heal:
    case event_kind::hold:
    case event_kind::release:
      return fmt::format("{} lb-{}", to_string(ev.kind), ev.backend);
  }
  return "?";
}

}  // namespace l4sim::actors
