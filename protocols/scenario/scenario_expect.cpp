// The `expect` section of a scenario file: see scenario_yaml.hpp.

#include <algorithm>

#include <fmt/format.h>

#include "protocols/backend_messages.hpp"
#include "protocols/scenario/scenario_yaml.hpp"

namespace l4sim::protocols::detail {

namespace {

/// One expectation kind: the key that selects it and every key it accepts.
struct kind_spec {
  expect_kind kind;
  std::vector<std::string> keys;
};

const std::vector<kind_spec>& kinds() {
  static const std::vector<kind_spec> table{
      {expect_kind::health, {"backend", "health", "within", "after"}},
      {expect_kind::new_connections, {"backend", "new_connections", "between"}},
      {expect_kind::spread, {"spread", "between"}},
      {expect_kind::share, {"backend", "share", "between"}},
      {expect_kind::failure_ratio, {"clients", "failures", "reason"}},
      {expect_kind::latency, {"clients", "latency"}},
      {expect_kind::refused_at_least, {"backend", "refused_at_least"}},
      {expect_kind::counter, {"backend", "counter", "at_least", "at_most"}},
      {expect_kind::sticky_clients, {"sticky_clients"}},
  };
  return table;
}

const std::vector<std::string> all_keys{
    "backend",          "health",  "within",   "after",    "new_connections", "between",
    "spread",           "share",   "clients",  "failures", "reason",          "latency",
    "refused_at_least", "counter", "at_least", "at_most",  "sticky_clients"};

/// Percentile keys of `latency`, and the percentile each stands for.
const std::vector<std::pair<std::string, double>> percentiles{
    {"p50", 50}, {"p90", 90}, {"p99", 99}, {"max", 100}};

std::vector<std::string> kind_names() {
  std::vector<std::string> names;
  for (const auto& spec : kinds()) {
    names.push_back(to_string(spec.kind));
  }
  return names;
}

void read_between(error_sink& sink, const YAML::Node& node, duration length, expectation& out) {
  if (!node.IsSequence() || node.size() != 2) {
    sink.add(node, fmt::format("between in expectation: expected [from, to] such as [5s, 20s] "
                               "or [5s, end], got {}",
                               describe(node)));
    return;
  }
  auto from = read_duration(sink, node[0], "between (from) in expectation");
  std::optional<duration> to;
  bool to_ok = false;
  if (node[1].IsScalar() && node[1].Scalar() == "end") {
    to_ok = true;
  } else if ((to = read_duration(sink, node[1], "between (to) in expectation"))) {
    to_ok = true;
  }
  if (!from || !to_ok) {
    return;
  }
  if (*from > length || (to && *to > length)) {
    sink.add(node, fmt::format("between in expectation: the window ends after the run ({})",
                               format_duration(length)));
  } else if (to && *to < *from) {
    sink.add(node, "between in expectation: from is after to");
  }
  out.from = *from;
  out.to = to;
}

void read_share(error_sink& sink, const YAML::Node& node, expectation& out) {
  if (!node.IsSequence() || node.size() != 2) {
    sink.add(node, fmt::format("share in expectation: expected [min, max] such as [0, 0.25], "
                               "got {}",
                               describe(node)));
    return;
  }
  auto min = read_decimal(sink, node[0], "share (min) in expectation", 0, 1);
  auto max = read_decimal(sink, node[1], "share (max) in expectation", 0, 1);
  if (min && max && *min > *max) {
    sink.add(node, "share in expectation: min is above max");
  }
  out.min_share = min.value_or(0);
  out.max_share = max.value_or(1);
}

void read_kind_keys(error_sink& sink, map_reader& map, const scenario_scope& scope,
                    expectation& out) {
  if (auto between = map.find("between")) {
    read_between(sink, *between, scope.length, out);
  }
  map.duration_into("within", out.within, true);
  if (map.duration_into("after", out.after) && out.after > scope.length) {
    sink.add(*map.find("after"),
             fmt::format("after in expectation: {} is after the end of "
                         "the run ({})",
                         format_duration(out.after), format_duration(scope.length)));
  }
  auto clients = client_types();
  clients.push_back("all");
  std::string type;
  if (map.choice_into("clients", type, clients)) {
    out.client_type = parse_client_kind(type);  // nothing for "all"
  }
  std::string reason;
  if (map.choice_into("reason", reason, failure_reasons())) {
    for (size_t i = 0; i < client_end_count; ++i) {
      if (to_string(static_cast<client_end>(i)) == reason) {
        out.reason = static_cast<client_end>(i);
      }
    }
  }
  switch (out.kind) {
    case expect_kind::health: {
      if (auto health = map.require("health")) {
        if (auto value = read_choice(sink, *health, map.what("health"), {"up", "down"})) {
          out.healthy = *value == "up";
        }
      }
      map.require("within");
      if (out.after <= scope.length && out.after + out.within > scope.length) {
        sink.add(map.node(),
                 fmt::format("health in expectation: the deadline {} (after {} + "
                             "within {}) is after the end of the run ({})",
                             format_duration(out.after + out.within), format_duration(out.after),
                             format_duration(out.within), format_duration(scope.length)));
      }
      break;
    }
    case expect_kind::new_connections:
      map.count_into("new_connections", out.max_count, 0, UINT64_MAX);
      break;
    case expect_kind::spread:
      map.count_into("spread", out.max_count, 0, UINT64_MAX);
      break;
    case expect_kind::share:
      read_share(sink, *map.find("share"), out);
      break;
    case expect_kind::failure_ratio:
      if (auto ratio = read_decimal(sink, *map.find("failures"), map.what("failures"), 0, 1)) {
        out.max_ratio = *ratio;
      }
      break;
    case expect_kind::refused_at_least:
      map.count_into("refused_at_least", out.max_count, 0, UINT64_MAX);
      break;
    case expect_kind::sticky_clients:
      map.count_into("sticky_clients", out.max_count, 1, max_client_addresses);
      break;
    case expect_kind::latency:
      break;  // expanded by the caller, one expectation per percentile
    case expect_kind::counter: {
      map.choice_into("counter", out.counter_name, counter_names());
      uint64_t n = 0;
      if (map.count_into("at_least", n, 0, UINT64_MAX)) {
        out.at_least = n;
      }
      if (map.count_into("at_most", n, 0, UINT64_MAX)) {
        out.at_most = n;
      }
      if (!out.at_least && !out.at_most) {
        sink.add(map.node(), "counter in expectation: needs at_least, at_most or both");
      } else if (out.at_least && out.at_most && *out.at_least > *out.at_most) {
        sink.add(map.node(), "counter in expectation: at_least is above at_most");
      }
      break;
    }
  }
}

/// Reads one `expect` entry; `latency` with several percentiles gives several.
std::vector<expectation> read_one(error_sink& sink, const YAML::Node& node,
                                  const scenario_scope& scope) {
  auto before = sink.size();
  map_reader map{sink, node, "expectation", all_keys};
  if (!map.is_map()) {
    return {};
  }
  const kind_spec* spec = nullptr;
  std::vector<std::string> selected;
  for (const auto& candidate : kinds()) {
    if (map.find(to_string(candidate.kind))) {
      spec = &candidate;
      selected.push_back(to_string(candidate.kind));
    }
  }
  if (selected.size() != 1) {
    sink.add(node, selected.empty()
                       ? fmt::format("expectation needs one of {}", join(kind_names()))
                       : fmt::format("expectation has {} kinds ({}); write one entry each",
                                     selected.size(), join(selected)));
    return {};
  }
  for (const auto& key : map.present()) {
    if (std::find(spec->keys.begin(), spec->keys.end(), key) == spec->keys.end()) {
      sink.add(node, fmt::format("key \"{}\" does not apply to a {} expectation (keys: {})", key,
                                 selected.front(), join(spec->keys)));
    }
  }
  expectation out;
  out.kind = spec->kind;
  out.text = flow_text(node);
  out.where = {node.Mark().line + 1, node.Mark().column + 1};
  if (std::find(spec->keys.begin(), spec->keys.end(), "backend") != spec->keys.end()) {
    if (auto backend = map.require("backend")) {
      if (auto id = read_text(sink, *backend, map.what("backend"))) {
        out.backend = *id;
        if (scope.ever.count(*id) == 0) {
          std::vector<std::string> names{scope.ever.begin(), scope.ever.end()};
          sink.add(*backend, fmt::format("backend in expectation: unknown backend \"{}\" "
                                         "(known: {})",
                                         *id, join(names)));
        }
      }
    }
  }
  read_kind_keys(sink, map, scope, out);
  std::vector<expectation> out_list;
  if (out.kind == expect_kind::latency) {
    std::vector<std::string> keys;
    for (const auto& [key, pct] : percentiles) {
      keys.push_back(key);
    }
    map_reader latency{sink, *map.find("latency"), "latency", keys};
    if (latency.is_map() && latency.present().empty()) {
      sink.add(latency.node(), fmt::format("latency: needs one of {}", join(keys)));
    }
    for (const auto& [key, pct] : percentiles) {
      auto one = out;
      one.percentile = pct;
      if (latency.duration_into(key, one.max_latency, true)) {
        YAML::Node single{YAML::NodeType::Map};
        single[key] = YAML::Clone(*latency.find(key));
        auto copy = YAML::Clone(node);
        copy["latency"] = single;
        one.text = flow_text(copy);
        out_list.push_back(one);
      }
    }
  } else {
    out_list.push_back(out);
  }
  if (sink.size() != before) {
    return {};
  }
  return out_list;
}

}  // namespace

std::vector<expectation> read_expectations(error_sink& sink, const YAML::Node& node,
                                           const scenario_scope& scope) {
  if (!node.IsSequence()) {
    if (!node.IsNull()) {
      sink.add(node,
               fmt::format("expect: expected a list of expectations, got {}", describe(node)));
    }
    return {};
  }
  std::vector<expectation> out;
  for (const auto& item : node) {
    auto some = read_one(sink, item, scope);
    out.insert(out.end(), some.begin(), some.end());
  }
  return out;
}

}  // namespace l4sim::protocols::detail
