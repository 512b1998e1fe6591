#pragma once

// `sim sweep`: runs a scenario over a grid of overridden values x seeds, each run a child
// `sim run` of this binary (--set, --seed, --virtual or --time-scale, --json, --report) in
// its own folder, `--jobs` at a time. Runs are virtual (deterministic, much faster than real
// time) unless the sweep is live; OUT/sweep.json records the mode, and a sweep into an OUT
// made in the other mode is refused, so that no table mixes the two. A run's folder appears under
// OUT/runs/ by rename once the child has finished and written report.json, so a re-run with the
// same grid skips it and an interrupted run leaves nothing half-written; runs.csv, summary.csv and
// the charts are rebuilt from the finished folders at the end. Progress and an ETA go to stderr.

#include <string>
#include <vector>

#include "apps/common/signals.hpp"
#include "apps/sim/study.hpp"
#include "protocols/scenario/overrides.hpp"

namespace l4sim::apps {

/// Everything a sweep needs.
struct sweep_spec {
  std::string target;                               ///< scenario NAME or FILE
  std::string scenarios_dir;                        ///< where NAMEs are found
  std::vector<protocols::scenario_override> fixed;  ///< applied to every run, before the grid
  std::vector<grid_axis> axes;
  std::vector<std::string> axis_sources;  ///< how errors name each axis, e.g. `--vary`
  std::vector<uint64_t> seeds;
  unsigned jobs = 1;
  bool live = false;        ///< play live at `time_scale`; else on virtual time
  double time_scale = 0.2;  ///< live runs only
  std::string out;
  std::vector<std::string> chart_metrics;  ///< the metrics charted; empty = all
  std::string title;                       ///< chart titles
  bool fresh = false;                      ///< forget the runs of earlier invocations
};

/// What a finished sweep has: every completed run of its grid and their summary.
struct sweep_outcome {
  int rc = 0;  ///< 0 every run finished (whatever its verdict), 1 some did not, 2 bad input
  std::vector<run_row> rows;
  summary totals;
};

/// Returns how many runs play at once when neither `--jobs` nor the file says: the number of
/// cores, at least 1.
unsigned default_jobs();

/// Loads the scenario at every grid point (fixed overrides, then the point's); returns
/// every error, naming the axis's source and value, or "" when all load.
std::string check_grid(const sweep_spec& spec);

/// Runs the sweep (skipping finished runs), then writes runs.csv, summary.csv and
/// charts/ into `spec.out`. SIGINT/SIGTERM (through `signals`) stops the children, keeps
/// the finished runs and returns 130.
sweep_outcome run_sweep(const sweep_spec& spec, signal_guard& signals);

/// `sim sweep`'s command line.
struct sweep_args {
  std::string target;
  std::vector<std::string> vary;  ///< KEY=V1,V2,...
  std::vector<std::string> sets;  ///< KEY=VALUE for every run
  unsigned seeds = 5;
  unsigned jobs = 0;          ///< 0: the number of cores
  bool live = false;          ///< --live
  bool virtual_time = false;  ///< --virtual (the default, said explicitly)
  double time_scale = 0;      ///< --time-scale, implies --live; 0: not given (0.2 when live)
  std::string out;
  std::vector<std::string> metrics;  ///< charted; empty = all
  bool fresh = false;
};

/// Runs `sim sweep` from its command line; returns the exit code (2 on bad input).
int sweep_command(const sweep_args& args, const std::string& scenarios_dir, signal_guard& signals);

}  // namespace l4sim::apps
