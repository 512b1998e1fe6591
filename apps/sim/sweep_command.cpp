// `sim sweep`'s command line: flags to a sweep_spec, every value checked before a run starts.
#include "apps/sim/sweep.hpp"

#include <sstream>

#include <fmt/format.h>

#include "apps/sim/sweep_mode.hpp"
#include "protocols/scenario/scenario_loader.hpp"
#include "protocols/text_escape.hpp"

namespace l4sim::apps {

int sweep_command(const sweep_args& args, const std::string& scenarios_dir, signal_guard& signals) {
  sweep_spec spec;
  spec.target = args.target;
  spec.scenarios_dir = scenarios_dir;
  spec.out = args.out;
  spec.title = args.target;
  spec.fresh = args.fresh;
  spec.jobs = args.jobs > 0 ? args.jobs : default_jobs();
  if (args.seeds == 0 || args.seeds > 10000) {
    fmt::print(stderr, "sim sweep: --seeds: {} is not in 1..10000\n", args.seeds);
    return 2;
  }
  if (auto why = choose_mode(args.live, args.virtual_time, args.time_scale, false,
                             default_live_time_scale, spec);
      !why.empty()) {
    fmt::print(stderr, "sim sweep: {}\n", why);
    return 2;
  }
  for (unsigned s = 1; s <= args.seeds; ++s) {
    spec.seeds.push_back(s);
  }
  for (const auto& text : args.sets) {
    auto parsed = protocols::parse_override("--set", text);
    if (!parsed.error.empty()) {
      fmt::print(stderr, "sim sweep: {}\n", protocols::escape_control(parsed.error));
      return 2;
    }
    spec.fixed.push_back(parsed.value);
  }
  for (const auto& text : args.vary) {
    auto parsed = protocols::parse_override("--vary", text);
    if (!parsed.error.empty()) {
      fmt::print(stderr, "sim sweep: {}\n", protocols::escape_control(parsed.error));
      return 2;
    }
    grid_axis axis;
    axis.key = protocols::dotted(parsed.value.path);
    std::stringstream values{parsed.value.value};
    for (std::string v; std::getline(values, v, ',');) {
      axis.values.push_back(v);
    }
    if (axis.values.empty()) {
      fmt::print(stderr, "sim sweep: --vary {}: no values (write KEY=V1,V2,...)\n",
                 protocols::escape_control(text));
      return 2;
    }
    for (const auto& other : spec.axes) {
      if (other.key == axis.key) {
        fmt::print(stderr, "sim sweep: --vary {}: {} is varied twice\n",
                   protocols::escape_control(text), protocols::escape_control(axis.key));
        return 2;
      }
    }
    spec.axes.push_back(std::move(axis));
    spec.axis_sources.emplace_back("--vary");
  }
  auto base = protocols::find_scenario(spec.target, spec.scenarios_dir, spec.fixed);
  if (!base.ok()) {
    fmt::print(stderr, "{}", base.error_text());
    return 2;
  }
  std::vector<std::string> backends;
  for (const auto& b : base.value->backends) {
    backends.push_back(b.id);
  }
  for (const auto& m : args.metrics) {
    if (!known_metric(m, backends)) {
      fmt::print(stderr, "sim sweep: --metrics: \"{}\" is not a metric (known: {})\n",
                 protocols::escape_control(m), metric_patterns());
      return 2;
    }
  }
  spec.chart_metrics = args.metrics;
  if (auto errors = check_grid(spec); !errors.empty()) {
    fmt::print(stderr, "{}", errors);
    return 2;
  }
  return run_sweep(spec, signals).rc;
}

}  // namespace l4sim::apps
