#pragma once

// Pure aggregation of client outcomes per kind: counts by how clients ended, latency
// percentiles, bytes. The spawner feeds it; the summary line and the final table are
// rendered from its snapshots.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/timespan.hpp>

#include "protocols/client_messages.hpp"

namespace l4sim::actors {

/// Returns the nearest-rank percentile `pct` (0..100) of `values`, or 0 when empty.
/// Sorts `values` in place.
caf::timespan percentile(std::vector<caf::timespan>& values, double pct);

/// Counts started and finished clients per kind and keeps their latencies.
class client_tally {
 public:
  /// A client of `kind` was spawned.
  void started(protocols::client_kind kind);

  /// A client ended; folds its outcome into its kind's row.
  void finished(const protocols::client_finished& outcome);

  /// Returns one row per kind, in `all_client_kinds` order, with percentiles computed.
  std::vector<protocols::client_type_row> rows() const;

  /// Returns how many clients are started and not ended yet.
  uint64_t active() const;

 private:
  struct per_kind {
    protocols::client_type_row row;
    std::vector<caf::timespan> latencies;
    std::vector<caf::timespan> connect_times;
  };

  per_kind& of(protocols::client_kind kind) { return kinds_[static_cast<std::size_t>(kind)]; }

  std::array<per_kind, protocols::client_kind_count> kinds_;
};

/// Renders the periodic one-line summary, e.g.
/// `[clients] t=12s rate=2/s active=7 started=24 completed=15 failed=2 (refused=2) p50=12ms`.
std::string format_client_summary(const std::string& id, const protocols::client_stats& st);

/// Renders the final table: one line per kind that started anything, plus a total line.
std::string format_client_table(const protocols::client_stats& st);

}  // namespace l4sim::actors
