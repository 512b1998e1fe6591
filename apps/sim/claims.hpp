#pragma once

// Claims of an experiment about the comparison its grid makes, parsed against the grid and
// judged on the means over seeds (`summary`).
//
// Claim grammar (one string per claim):
//   claim := side OP side ["at every" KEY {"," KEY}]
//   side  := METRIC ["[" KEY "=" VALUE {"," KEY "=" VALUE} "]"] ["*" NUMBER] | NUMBER
//   OP    := "<=" | "<" | ">=" | ">"
// e.g. `p99_ms.real[balancer.algorithm=lc] <= p99_ms.real[balancer.algorithm=rr] at every
// backends.server-3.delay`. Each side, with the `at every` keys, must pin every axis that
// has more than one value to one value, so that it names one grid point; the claim holds
// when the comparison of the means holds at every combination of the `at every` keys.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "apps/sim/study.hpp"

namespace l4sim::apps {

/// One side of a claim: a metric at selected grid values (times a factor), or a constant.
struct claim_side {
  std::string metric;                                      ///< empty for a constant
  std::vector<std::pair<std::string, std::string>> where;  ///< axis key, value
  double factor = 1;
  double constant = 0;
};

/// A parsed claim.
struct claim {
  std::string text;
  claim_side left;
  std::string op;  ///< <=, <, >=, >
  claim_side right;
  std::vector<std::string> every;  ///< axis keys
};

/// Parses one claim against the grid and the metrics that exist; returns the claim or, in
/// `error`, why it is not one.
std::optional<claim> parse_claim(const std::string& text, const std::vector<grid_axis>& axes,
                                 const std::vector<std::string>& backends, std::string& error);

/// The judgement of one claim.
struct claim_verdict {
  bool holds = false;
  std::vector<std::string> lines;  ///< one per `at every` combination: values and means
};

/// Judges `c` on the summary of a sweep over `axes`.
claim_verdict judge(const claim& c, const std::vector<grid_axis>& axes, const summary& s);

}  // namespace l4sim::apps
