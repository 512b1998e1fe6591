#include "apps/sim/experiment.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "apps/sim/sweep.hpp"
#include "apps/sim/sweep_mode.hpp"
#include "protocols/scenario/scenario_loader.hpp"
#include "protocols/scenario/scenario_yaml.hpp"  // yaml-cpp, with GCC 12's false positive silenced
#include "protocols/text_escape.hpp"

namespace l4sim::apps {

namespace fs = std::filesystem;

namespace {

/// Renders a YAML value as one override value: a scalar's text, else flow YAML.
std::string value_text(const YAML::Node& node) {
  if (node.IsScalar()) {
    return node.Scalar();
  }
  YAML::Emitter e;
  e << YAML::Flow << node;
  return e.c_str();
}

std::string at(const std::string& file, const YAML::Node& node) {
  auto m = node.Mark();
  return m.is_null() ? file : fmt::format("{}:{}:{}", file, m.line + 1, m.column + 1);
}

/// An experiment file, read.
struct experiment {
  std::string name;
  std::string description;
  std::string scenario;
  std::vector<protocols::scenario_override> fixed;
  std::vector<grid_axis> axes;
  std::vector<std::string> axis_sources;
  unsigned seeds = 3;
  bool live = false;  ///< `mode: live`, or a `time_scale` without a mode
  double time_scale = default_live_time_scale;
  unsigned jobs = 0;
  std::vector<std::string> metrics;
  std::vector<std::pair<std::string, YAML::Node>> claim_texts;
};

}  // namespace

int experiment_command(const experiment_args& args, const std::string& experiments_dir,
                       const std::string& scenarios_dir, signal_guard& signals) {
  auto file = protocols::scenario_path(args.target, experiments_dir);
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    fmt::print(stderr, "sim experiment: no experiment file {}\n", protocols::escape_control(file));
    return 2;
  }
  experiment x;
  std::vector<std::string> errors;
  auto fail = [&](const YAML::Node& node, const std::string& message) {
    errors.push_back(protocols::escape_control(fmt::format("{}: {}", at(file, node), message)));
  };
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::Exception& e) {
    auto m = e.mark;
    fmt::print(stderr, "{}\n",
               protocols::escape_control(fmt::format("{}:{}:{}: YAML syntax error: {}", file,
                                                     m.line + 1, m.column + 1, e.msg)));
    return 2;
  }
  if (!root.IsMap()) {
    fmt::print(stderr, "{}: expected a map with scenario, grid, seeds, claims\n",
               protocols::escape_control(file));
    return 2;
  }
  const std::vector<std::string> known{"name", "description", "scenario", "set",
                                       "grid", "seeds",       "mode",     "time_scale",
                                       "jobs", "metrics",     "claims"};
  for (const auto& kv : root) {
    auto key = kv.first.Scalar();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      fail(kv.first, fmt::format("unknown key \"{}\" (known: {})", key, fmt::join(known, ", ")));
    }
  }
  x.name = fs::path{file}.stem().string();
  if (auto name = root["name"]; name && (!name.IsScalar() || name.Scalar() != x.name)) {
    fail(name, fmt::format("name: must equal the file's base name \"{}\"", x.name));
  }
  if (root["description"] && root["description"].IsScalar()) {
    x.description = root["description"].Scalar();
  }
  if (!root["scenario"] || !root["scenario"].IsScalar()) {
    fail(root, "scenario: expected the NAME or FILE of the base scenario");
  } else {
    x.scenario = root["scenario"].Scalar();
    auto p = fs::path{x.scenario};
    if (x.scenario.find('/') != std::string::npos && p.is_relative()) {
      // A path is relative to the experiment file.
      x.scenario = (fs::path{file}.parent_path() / p).string();
    }
  }
  if (auto set = root["set"]) {
    if (!set.IsMap()) {
      fail(set, "set: expected a map of KEY: VALUE");
    } else {
      for (const auto& kv : set) {
        auto parsed = protocols::parse_override(fmt::format("{}: set", at(file, kv.first)),
                                                kv.first.Scalar() + "=" + value_text(kv.second));
        if (!parsed.error.empty()) {
          fail(kv.first, parsed.error);
        } else {
          x.fixed.push_back(parsed.value);
        }
      }
    }
  }
  auto grid = root["grid"];
  if (!grid || !grid.IsMap() || grid.size() == 0) {
    fail(grid ? grid : root, "grid: expected a map of KEY: [VALUE, ...]");
  } else {
    for (const auto& kv : grid) {
      grid_axis axis;
      axis.key = kv.first.Scalar();
      if (!kv.second.IsSequence() || kv.second.size() == 0) {
        fail(kv.second, fmt::format("grid {}: expected a list of values", axis.key));
        continue;
      }
      for (const auto& v : kv.second) {
        axis.values.push_back(value_text(v));
      }
      auto parsed = protocols::parse_override("", axis.key + "=x");
      if (!parsed.error.empty()) {
        fail(kv.first, fmt::format("grid: \"{}\" is not a dotted key", axis.key));
        continue;
      }
      x.axes.push_back(axis);
      x.axis_sources.push_back(fmt::format("{}: grid", at(file, kv.first)));
    }
  }
  try {
    if (auto n = root["seeds"]) {
      auto v = n.as<int>();
      if (v < 1 || v > 1000) {
        fail(n, "seeds: expected 1 to 1000");
      }
      x.seeds = static_cast<unsigned>(std::max(1, v));
    }
    auto mode = root["mode"];
    if (mode && (!mode.IsScalar() || (mode.Scalar() != "live" && mode.Scalar() != "virtual"))) {
      fail(mode, fmt::format("mode: expected live or virtual, not \"{}\"", value_text(mode)));
    }
    x.live = mode && mode.IsScalar() && mode.Scalar() == "live";
    if (auto n = root["time_scale"]) {
      x.time_scale = n.as<double>();
      if (!(x.time_scale > 0) || x.time_scale > 100) {
        fail(n, "time_scale: expected a number in (0, 100]");
      }
      // A time scale is a live run's: it picks live unless the file says virtual.
      if (mode && mode.IsScalar() && mode.Scalar() == "virtual") {
        fail(n, "time_scale: is for live runs, not with mode: virtual");
      }
      x.live = true;
    }
    if (auto n = root["jobs"]) {
      auto v = n.as<int>();
      if (v < 1 || v > 256) {
        fail(n, "jobs: expected 1 to 256");
      }
      x.jobs = static_cast<unsigned>(std::max(1, v));
    }
  } catch (const YAML::Exception& e) {
    errors.push_back(protocols::escape_control(
        fmt::format("{}:{}:{}: expected a number", file, e.mark.line + 1, e.mark.column + 1)));
  }
  // The base scenario as the experiment sets it: its backends name the metrics.
  std::vector<std::string> backends;
  if (!x.scenario.empty()) {
    auto base = protocols::find_scenario(x.scenario, scenarios_dir, x.fixed);
    if (!base.ok()) {
      errors.push_back(fmt::format("{}: scenario {}:\n{}", at(file, root["scenario"]),
                                   protocols::escape_control(x.scenario), base.error_text()));
    } else {
      for (const auto& b : base.value->backends) {
        backends.push_back(b.id);
      }
    }
  }
  if (auto metrics = root["metrics"]) {
    if (!metrics.IsSequence()) {
      fail(metrics, "metrics: expected a list");
    } else {
      for (const auto& m : metrics) {
        if (!m.IsScalar() || !known_metric(m.Scalar(), backends)) {
          fail(m,
               fmt::format("\"{}\" is not a metric (known: {})", value_text(m), metric_patterns()));
        } else {
          x.metrics.push_back(m.Scalar());
        }
      }
    }
  }
  std::vector<claim> claims;
  if (auto list = root["claims"]) {
    if (!list.IsSequence()) {
      fail(list, "claims: expected a list of claims");
    } else {
      for (const auto& node : list) {
        std::string why;
        auto c = node.IsScalar() ? parse_claim(node.Scalar(), x.axes, backends, why) : std::nullopt;
        if (!c) {
          fail(node, fmt::format("claim: {}", why.empty() ? "expected text" : why));
        } else {
          claims.push_back(*c);
        }
      }
    }
  }
  if (!errors.empty()) {
    for (const auto& e : errors) {
      fmt::print(stderr, "{}\n", e);
    }
    return 2;
  }
  sweep_spec spec;
  spec.target = x.scenario;
  spec.scenarios_dir = scenarios_dir;
  spec.fixed = x.fixed;
  spec.axes = x.axes;
  spec.axis_sources = x.axis_sources;
  for (unsigned s = 1; s <= x.seeds; ++s) {
    spec.seeds.push_back(s);
  }
  spec.jobs = args.jobs > 0 ? args.jobs : x.jobs > 0 ? x.jobs : default_jobs();
  if (auto why =
          choose_mode(args.live, args.virtual_time, args.time_scale, x.live, x.time_scale, spec);
      !why.empty()) {
    fmt::print(stderr, "sim experiment: {}\n", why);
    return 2;
  }
  spec.out = args.out.empty() ? (fs::path{"out"} / "experiments" / x.name).string() : args.out;
  spec.chart_metrics = x.metrics;
  spec.title = x.name;
  spec.fresh = args.fresh;
  if (auto bad = check_grid(spec); !bad.empty()) {
    fmt::print(stderr, "{}", bad);
    return 2;
  }
  fmt::print("experiment {}: {}\n", protocols::escape_control(x.name),
             protocols::escape_control(x.description));
  std::fflush(stdout);
  auto outcome = run_sweep(spec, signals);
  if (outcome.rc == 2 || outcome.rc == 130) {
    return outcome.rc;
  }
  std::string report = "claims\n";
  size_t holding = 0;
  for (const auto& c : claims) {
    auto v = judge(c, spec.axes, outcome.totals);
    holding += v.holds ? 1 : 0;
    report += fmt::format("  {}  {}\n", v.holds ? "HOLDS" : "FAILS", c.text);
    for (const auto& line : v.lines) {
      report += "        " + line + "\n";
    }
  }
  report +=
      fmt::format("verdict: {} ({}/{} claims hold; tables in {})\n",
                  holding == claims.size() ? "PASS" : "FAIL", holding, claims.size(), spec.out);
  fmt::print("{}", protocols::escape_control(report, true));
  std::ofstream{fs::path{spec.out} / "claims.txt"} << protocols::escape_control(report, true);
  if (outcome.rc != 0) {
    return 1;
  }
  return holding == claims.size() ? 0 : 1;
}

}  // namespace l4sim::apps
