#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "actors/director/director.hpp"

namespace l4sim::apps {

/// What a finished run leaves behind.
struct run_summary {
  const protocols::scenario& scn;
  double time_scale;
  const actors::director_done& done;
};

/// The report as JSON: scenario, seed, time scale, verdicts, per-backend and per-client
/// summary, and every event with its time.
nlohmann::json report_json(const run_summary& run);

/// One row per scenario second: per backend state, active, new connections and bytes; the
/// clients' started, active, completed and failed.
std::string timeseries_csv(const run_summary& run);

/// Writes report.json, timeseries.csv, chart.gp and (when gnuplot is installed) chart.png
/// into `dir`; returns an error text, empty on success.
std::string write_report(const std::string& dir, const run_summary& run);

/// Returns the full path of `program` found on $PATH, or "" when it is not installed.
std::string find_program(const std::string& program);

/// Runs `gnuplot script` in `dir` without a shell; returns its exit status, or -1 when it
/// could not be run.
int run_gnuplot(const std::string& gnuplot, const std::string& dir, const std::string& script);

/// Renders the verdict table and the overall verdict for the terminal.
std::string format_verdicts(const std::vector<protocols::verdict>& verdicts);

}  // namespace l4sim::apps
