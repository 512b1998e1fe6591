#pragma once

// The expectation checker: pure functions that judge a `run_record` against a scenario's
// expectations. No CAF, no clock; the director calls them at the end of a run and tests
// call them over hand-built records.
//
// Windows: the new connections of a backend in [from, to] are
//   total(last sample at or before `to`) - total(last sample at or before `from`),
// where a bound before the first sample counts as 0 connections and `to` = nothing means
// the last sample. Samples are put in time order first (one that waited on a slow or
// dead backend is recorded after later ones).
//
// No data is no pass: the run ends at `ended`, or at its last sample when that is earlier
// (a run cut short). A window (or a health deadline `after + within`) reaching past that
// end, a window with no sample in it, and a record without samples give a failed verdict
// whose `observed` starts with "no data:" and says why.

#include <optional>
#include <string>
#include <vector>

#include "protocols/scenario/scenario.hpp"

namespace l4sim::protocols {

/// Judges one expectation; `expected` and `observed` are readable text with units.
verdict check(const expectation& expect, const run_record& record);

/// Judges every expectation of `scn`, in order.
std::vector<verdict> check_all(const scenario& scn, const run_record& record);

/// Returns the number of new connections `backend` got in [from, to] (see above).
uint64_t new_connections_in(const run_record& record, const std::string& backend, duration from,
                            std::optional<duration> to);

}  // namespace l4sim::protocols
