#pragma once

// The pure half of `sim sweep` and `sim experiment`: a parameter grid and its runs, the
// metrics read from each run's report.json, runs.csv, the per-point summary (mean and a
// Student-t 95% confidence interval over seeds) and the gnuplot script of the charts.
// Nothing here starts a process or touches a socket (sweep.* does).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace l4sim::apps {

/// One varied key and the values it takes, in the order given.
struct grid_axis {
  std::string key;  ///< dotted scenario key, e.g. `backends.server-3.delay`
  std::vector<std::string> values;
};

/// A point of the grid: one value per axis, in axis order.
using grid_point = std::vector<std::string>;

/// Returns every point of the grid (the first axis varies slowest); one empty point when
/// there are no axes.
std::vector<grid_point> grid_points(const std::vector<grid_axis>& axes);

/// The metrics of one run by name (see `metrics_of`).
using run_metrics = std::map<std::string, double>;

/// Reads the metrics of one run from its report.json: `passed` (1/0), `expect_N` (1/0 per
/// expectation), `share.<backend>` (share of new connections), the balancer's counters per
/// backend `refused.<backend>`, `max_queued.<backend>` (queue peak), `queue_timeouts.<backend>`,
/// `ejections.<backend>`, `retries.<backend>`, then `failed.<type>`, `failure_rate.<type>`
/// (failed / started), `p50_ms.<type>`, `p90_ms.<type>`, `p99_ms.<type>`, `max_ms.<type>`;
/// `<type>` includes `all` for the failure figures.
run_metrics metrics_of(const nlohmann::json& report);

/// Orders metric names for columns: by kind (as listed for `metrics_of`), then by name.
std::vector<std::string> ordered_metrics(const std::vector<run_metrics>& runs);

/// Returns whether `name` is a metric `metrics_of` can produce for these backends and
/// client types (`all` included), e.g. `p99_ms.real`.
bool known_metric(const std::string& name, const std::vector<std::string>& backends);

/// The name patterns of every metric, for error messages.
std::string metric_patterns();

/// One finished run.
struct run_row {
  grid_point point;
  uint64_t seed = 0;
  int exit_code = 0;  ///< the child's: 0 all expectations passed, 1 one failed
  std::string mode;   ///< how it was played: `virtual` or `live`
  run_metrics metrics;
};

/// Renders runs.csv: axis keys, seed, mode, exit, then every metric; every field CSV-escaped;
/// a metric a run lacks is an empty field.
std::string runs_csv(const std::vector<grid_axis>& axes, const std::vector<run_row>& rows);

/// The two-sided 95% quantile of Student's t with `df` degrees of freedom (df >= 1).
double t_quantile_975(size_t df);

/// Mean and 95% confidence half-width of a sample; `ci95` is unset below two values.
struct estimate {
  size_t n = 0;
  double mean = 0;
  std::optional<double> ci95;
};

/// Estimates the mean of `values` with a Student-t interval.
estimate estimate_of(const std::vector<double>& values);

/// The estimate of every metric at every grid point.
struct summary {
  std::vector<grid_point> points;                       ///< in grid order
  std::vector<std::string> metrics;                     ///< column order
  std::vector<size_t> runs;                             ///< per point
  std::vector<std::map<std::string, estimate>> values;  ///< per point, by metric
  std::string mode;                                     ///< how the runs were played
};

/// Summarizes rows over seeds at each point of `axes`' grid.
summary summarize(const std::vector<grid_axis>& axes, const std::vector<run_row>& rows);

/// Renders summary.csv: axis keys, mode, runs, then `<metric>_mean`, `<metric>_ci95` per metric.
std::string summary_csv(const std::vector<grid_axis>& axes, const summary& s);

/// Renders the summary of `metrics` as a Markdown table: one row per grid point, each cell
/// `mean ± ci95` (3 significant digits); `|` and control bytes in values are escaped.
std::string summary_markdown(const std::vector<grid_axis>& axes, const summary& s,
                             const std::vector<std::string>& metrics);

/// One chart's data and the lines of its gnuplot script.
struct chart_file {
  std::string data_name;  ///< e.g. `p99_ms.real-by-balancer.algorithm.dat`
  std::string data;       ///< numbers only: x position, then mean and ci95 per line
  std::string png_name;
};

/// Charts of each metric in `metrics` against each axis with more than one value, one
/// line per combination of the other axes' values, with error bars; returns the data
/// files and (in `script`) one gnuplot script drawing all of them. Every label goes
/// through `gnuplot_quoted`.
std::vector<chart_file> charts(const std::vector<grid_axis>& axes, const summary& s,
                               const std::vector<std::string>& metrics, const std::string& title,
                               std::string& script);

/// Returns a file-name-safe form of `text` (letters, digits, `.`, `_`, `-`; others `_`).
std::string file_safe(const std::string& text);

}  // namespace l4sim::apps
