// The `timeline` section of a scenario file: see scenario_yaml.hpp.

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "protocols/algorithms.hpp"
#include "protocols/backend_list.hpp"
#include "protocols/scenario/scenario_yaml.hpp"

namespace l4sim::protocols::detail {

namespace {

/// The action keys an event may hold, exactly one per event.
constexpr event_kind actions[] = {
    event_kind::kill,          event_kind::restart,        event_kind::set_delay,
    event_kind::set_max_conns, event_kind::set_chaos,      event_kind::set_hang,
    event_kind::set_algorithm, event_kind::set_rate,       event_kind::set_mix,
    event_kind::add_backend,   event_kind::remove_backend, event_kind::set_weight,
    event_kind::drain,         event_kind::ready,          event_kind::partition,
    event_kind::heal,          event_kind::hold,           event_kind::release,
};

std::vector<std::string> action_names() {
  std::vector<std::string> names;
  for (auto kind : actions) {
    names.push_back(to_string(kind));
  }
  return names;
}

/// An event as read, with the position of the backend it names for later checks. (A mark,
/// not a node: assigning a YAML::Node writes through to the document, and sorting assigns.)
struct parsed_event {
  timeline_event event;
  YAML::Mark backend_mark;
};

/// Reads `{backend: id, <key>: value}` of the set_* actions; returns whether it validated.
bool read_setting(error_sink& sink, const YAML::Node& node, parsed_event& out,
                  const std::string& key) {
  auto before = sink.size();
  auto section = to_string(out.event.kind);
  map_reader map{sink, node, section, {"backend", key}};
  if (!map.is_map()) {
    return false;
  }
  if (auto backend = map.require("backend")) {
    out.backend_mark = backend->Mark();
    if (auto id = read_text(sink, *backend, map.what("backend"))) {
      out.event.backend = *id;
    }
  }
  if (auto value = map.require(key)) {
    if (key == "delay" || key == "hang") {
      if (auto d = read_duration(sink, *value, map.what(key))) {
        out.event.duration_value = *d;
      }
    } else {
      auto max = key == "chaos" ? 100 : key == "weight" ? max_backend_weight : 1'000'000;
      if (auto n = read_count(sink, *value, map.what(key), key == "weight" ? 1 : 0, max)) {
        out.event.number_value = *n;
      }
    }
  }
  return sink.size() == before;
}

/// Reads the action's value into `out`; returns whether it validated.
bool read_action(error_sink& sink, const YAML::Node& value, parsed_event& out) {
  auto before = sink.size();
  auto what = to_string(out.event.kind) + " in timeline event";
  switch (out.event.kind) {
    case event_kind::kill:
    case event_kind::restart:
    case event_kind::remove_backend:
    case event_kind::drain:
    case event_kind::ready:
    case event_kind::partition:
    case event_kind::heal:
    case event_kind::hold:
    case event_kind::release:
      out.backend_mark = value.Mark();
      if (auto id = read_text(sink, value, what)) {
        out.event.backend = *id;
      }
      break;
    case event_kind::set_delay:
      return read_setting(sink, value, out, "delay");
    case event_kind::set_max_conns:
      return read_setting(sink, value, out, "max_conns");
    case event_kind::set_chaos:
      return read_setting(sink, value, out, "chaos");
    case event_kind::set_hang:
      return read_setting(sink, value, out, "hang");
    case event_kind::set_weight:
      return read_setting(sink, value, out, "weight");
    case event_kind::set_algorithm:
      if (auto algorithm = read_choice(sink, value, what, algorithm_names())) {
        out.event.text_value = *algorithm;
      }
      break;
    case event_kind::set_rate:
      if (auto rate = read_rate(sink, value, what)) {
        out.event.rate_value = *rate;
      }
      break;
    case event_kind::set_mix:
      if (auto mix = read_mix(sink, value, what)) {
        out.event.mix_value = *mix;
      }
      break;
    case event_kind::add_backend:
      if (auto backend = read_backend(sink, value, "add_backend")) {
        out.event.new_backend = *backend;
        out.event.backend = backend->id;
        out.backend_mark = value.Mark();
      }
      break;
  }
  return sink.size() == before;
}

std::optional<parsed_event> read_event(error_sink& sink, const YAML::Node& node, duration length) {
  auto before = sink.size();
  auto known = action_names();
  known.insert(known.begin(), "at");
  map_reader map{sink, node, "timeline event", known};
  if (!map.is_map()) {
    return std::nullopt;
  }
  parsed_event out;
  out.event.where = {node.Mark().line + 1, node.Mark().column + 1};
  if (auto at = map.require("at")) {
    if (auto value = read_duration(sink, *at, map.what("at"))) {
      out.event.at = *value;
      if (*value > length) {
        sink.add(*at, fmt::format("at in timeline event: {} is after the end of the run ({})",
                                  format_duration(*value), format_duration(length)));
      }
    }
  }
  std::vector<std::string> given;
  for (const auto& key : map.present()) {
    if (key != "at") {
      given.push_back(key);
    }
  }
  if (given.size() != 1) {
    sink.add(node,
             given.empty()
                 ? fmt::format("timeline event needs one action (one of: {})", join(action_names()))
                 : fmt::format("timeline event has {} actions ({}); write one event each",
                               given.size(), join(given)));
    return std::nullopt;
  }
  for (auto kind : actions) {
    if (to_string(kind) == given.front()) {
      out.event.kind = kind;
    }
  }
  if (!read_action(sink, *map.find(given.front()), out) || sink.size() != before) {
    return std::nullopt;
  }
  return out;
}

/// Checks that each event names a backend that exists at its time, in time order.
void check_backends(error_sink& sink, const std::vector<parsed_event>& events,
                    scenario_scope& scope) {
  std::set<std::string> live = scope.declared;
  std::map<std::string, duration> removed;
  for (const auto& [event, mark] : events) {
    if (event.kind == event_kind::set_algorithm || event.kind == event_kind::set_rate ||
        event.kind == event_kind::set_mix) {
      continue;
    }
    auto name = to_string(event.kind);
    if (event.kind == event_kind::add_backend) {
      if (!live.insert(event.backend).second) {
        sink.add(mark, fmt::format("add_backend at {}: backend \"{}\" already exists",
                                   format_duration(event.at), event.backend));
      }
      removed.erase(event.backend);
      scope.ever.insert(event.backend);
      continue;
    }
    if (live.count(event.backend) == 0) {
      if (auto it = removed.find(event.backend); it != removed.end()) {
        sink.add(mark, fmt::format("{} at {}: backend \"{}\" was removed at {}", name,
                                   format_duration(event.at), event.backend,
                                   format_duration(it->second)));
      } else {
        std::vector<std::string> names{live.begin(), live.end()};
        sink.add(mark, fmt::format("{} at {}: unknown backend \"{}\" (known then: {})", name,
                                   format_duration(event.at), event.backend, join(names)));
      }
      continue;
    }
    if (event.kind == event_kind::remove_backend) {
      live.erase(event.backend);
      removed[event.backend] = event.at;
    }
  }
}

}  // namespace

std::vector<timeline_event> read_timeline(error_sink& sink, const YAML::Node& node,
                                          scenario_scope& scope) {
  if (!node.IsSequence()) {
    if (!node.IsNull()) {
      sink.add(node, fmt::format("timeline: expected a list of events ({{at: 10s, kill: id}}), "
                                 "got {}",
                                 describe(node)));
    }
    return {};
  }
  std::vector<parsed_event> events;
  for (const auto& item : node) {
    if (auto event = read_event(sink, item, scope.length)) {
      events.push_back(std::move(*event));
    }
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const auto& a, const auto& b) { return a.event.at < b.event.at; });
  check_backends(sink, events, scope);
  std::vector<timeline_event> out;
  for (auto& parsed : events) {
    out.push_back(std::move(parsed.event));
  }
  return out;
}

}  // namespace l4sim::protocols::detail
