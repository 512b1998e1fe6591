#pragma once

// `sim experiment NAME`: an experiment file (experiments/NAME.yaml) names a base scenario,
// fixed overrides, a grid, seeds, a mode (virtual by default, or live at a time scale), the
// metrics to chart and claims about the comparison; the sweep runs it and each claim is
// judged on the means over seeds. `--live`, `--virtual` or `--time-scale` override the mode.
//
// The claim grammar is in claims.hpp.

#include <optional>
#include <string>
#include <vector>

#include "apps/common/signals.hpp"
#include "apps/sim/claims.hpp"
#include "apps/sim/study.hpp"

namespace l4sim::apps {

/// `sim experiment`'s command line.
struct experiment_args {
  std::string target;         ///< NAME or FILE
  std::string out;            ///< default out/experiments/NAME
  unsigned jobs = 0;          ///< 0: the file's, else the number of cores
  bool live = false;          ///< --live: live whatever the file's mode
  bool virtual_time = false;  ///< --virtual: virtual whatever the file's mode
  double time_scale = 0;      ///< --time-scale, implies --live; 0: the file's (else 0.2)
  bool fresh = false;         ///< forget the runs of earlier invocations
};

/// Runs an experiment; returns 0 when every claim holds, 1 when one does not (or runs did
/// not finish), 2 on bad input (naming file:line:column).
int experiment_command(const experiment_args& args, const std::string& experiments_dir,
                       const std::string& scenarios_dir, signal_guard& signals);

}  // namespace l4sim::apps
