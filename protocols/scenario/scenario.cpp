#include "protocols/scenario/scenario.hpp"

#include "protocols/client_messages.hpp"

namespace l4sim::protocols {

const std::vector<std::string>& counter_names() {
  static const std::vector<std::string> names{"retries",  "queue_timeouts", "ejections",
                                              "failures", "max_queued",     "max_active"};
  return names;
}

std::string to_string(event_kind kind) {
  switch (kind) {
    case event_kind::kill:
      return "kill";
    case event_kind::restart:
      return "restart";
    case event_kind::set_delay:
      return "set_delay";
    case event_kind::set_max_conns:
      return "set_max_conns";
    case event_kind::set_chaos:
      return "set_chaos";
    case event_kind::set_hang:
      return "set_hang";
    case event_kind::set_algorithm:
      return "set_algorithm";
    case event_kind::set_rate:
      return "set_rate";
    case event_kind::set_mix:
      return "set_mix";
    case event_kind::add_backend:
      return "add_backend";
    case event_kind::remove_backend:
      return "remove_backend";
    case event_kind::set_weight:
      return "set_weight";
    case event_kind::drain:
      return "drain";
    case event_kind::ready:
      return "ready";
    case event_kind::partition:
      return "partition";
    case event_kind::heal:
      return "heal";
    case event_kind::hold:
      return "hold";
    case event_kind::release:
      return "release";
  }
  return "unknown";
}

std::string scenario_network::first_non_default() const {
  scenario_network loopback;
  for (const auto& [key, where] : given) {
    bool differs = key == "latency"     ? latency != loopback.latency
                   : key == "jitter"    ? jitter != loopback.jitter
                   : key == "bandwidth" ? bandwidth != loopback.bandwidth
                   : key == "loss"      ? loss != loopback.loss
                   : key == "window"    ? window != loopback.window
                                        : false;
    if (differs) {
      return key;
    }
  }
  return {};
}

std::string to_string(expect_kind kind) {
  switch (kind) {
    case expect_kind::health:
      return "health";
    case expect_kind::new_connections:
      return "new_connections";
    case expect_kind::spread:
      return "spread";
    case expect_kind::share:
      return "share";
    case expect_kind::failure_ratio:
      return "failures";
    case expect_kind::latency:
      return "latency";
    case expect_kind::refused_at_least:
      return "refused_at_least";
    case expect_kind::counter:
      return "counter";
    case expect_kind::sticky_clients:
      return "sticky_clients";
  }
  return "unknown";
}

const std::vector<std::string>& client_types() {
  // Rendered from the one client_kind table (protocols/client_messages.hpp).
  static const std::vector<std::string> types = [] {
    std::vector<std::string> out;
    for (auto kind : all_client_kinds) {
      out.push_back(to_string(kind));
    }
    return out;
  }();
  return types;
}

const std::vector<std::string>& failure_reasons() {
  // The failing ways a client can end, from the one client_end table.
  static const std::vector<std::string> reasons = [] {
    std::vector<std::string> out;
    for (size_t i = 0; i < client_end_count; ++i) {
      auto end = static_cast<client_end>(i);
      if (is_failure(end)) {
        out.push_back(to_string(end));
      }
    }
    return out;
  }();
  return reasons;
}

}  // namespace l4sim::protocols
