#include "actors/clients/client_stats.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "actors/clients/arrivals.hpp"
#include "protocols/units.hpp"

namespace l4sim::actors {

namespace {

using protocols::client_end;
using protocols::client_type_row;

uint64_t failures_of(const client_type_row& row) {
  uint64_t n = 0;
  for (std::size_t i = 0; i < protocols::client_end_count; ++i) {
    if (protocols::is_failure(static_cast<client_end>(i))) {
      n += row.ends[i];
    }
  }
  return n;
}

/// Sums the counters of every row; latencies become the maximum of the rows' maxima and
/// percentiles are left out (they do not add up).
client_type_row sum_rows(const std::vector<client_type_row>& rows) {
  client_type_row total;
  for (auto& r : rows) {
    total.started += r.started;
    total.active += r.active;
    for (std::size_t i = 0; i < protocols::client_end_count; ++i) {
      total.ends[i] += r.ends[i];
    }
    total.requests += r.requests;
    total.max = std::max(total.max, r.max);
    total.bytes_in += r.bytes_in;
    total.bytes_out += r.bytes_out;
  }
  return total;
}

/// A latency in at most 7 characters so table columns stay aligned: 613us, 5.21ms, 153.3ms,
/// 1.25s.
std::string ms(caf::timespan d) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  if (us < 1000) {
    return fmt::format("{}us", us);
  }
  if (us < 10'000) {
    return fmt::format("{:.2f}ms", static_cast<double>(us) / 1e3);
  }
  if (us < 1'000'000) {
    return fmt::format("{:.1f}ms", static_cast<double>(us) / 1e3);
  }
  return fmt::format("{:.2f}s", static_cast<double>(us) / 1e6);
}

}  // namespace

caf::timespan percentile(std::vector<caf::timespan>& values, double pct) {
  if (values.empty()) {
    return caf::timespan{0};
  }
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(std::ceil(pct / 100.0 * static_cast<double>(values.size())));
  rank = std::clamp<std::size_t>(rank, 1, values.size());
  return values[rank - 1];
}

void client_tally::started(protocols::client_kind kind) {
  auto& k = of(kind);
  k.row.kind = kind;
  ++k.row.started;
}

void client_tally::finished(const protocols::client_finished& outcome) {
  auto& k = of(outcome.kind);
  k.row.kind = outcome.kind;
  ++k.row.ends[static_cast<std::size_t>(outcome.end)];
  k.row.requests += outcome.latencies.size();
  k.row.bytes_in += outcome.bytes_in;
  k.row.bytes_out += outcome.bytes_out;
  k.latencies.insert(k.latencies.end(), outcome.latencies.begin(), outcome.latencies.end());
  if (outcome.connected) {
    k.connect_times.push_back(outcome.connect_time);
  }
}

std::vector<client_type_row> client_tally::rows() const {
  std::vector<client_type_row> result;
  for (auto kind : protocols::all_client_kinds) {
    const auto& k = kinds_[static_cast<std::size_t>(kind)];
    auto row = k.row;
    row.kind = kind;
    uint64_t ended = 0;
    for (auto n : row.ends) {
      ended += n;
    }
    row.active = row.started > ended ? row.started - ended : 0;
    auto lat = k.latencies;
    row.p50 = percentile(lat, 50);
    row.p90 = percentile(lat, 90);
    row.p99 = percentile(lat, 99);
    row.max = lat.empty() ? caf::timespan{0} : lat.back();
    if (!lat.empty()) {
      auto& bounds = protocols::latency_bucket_bounds();
      row.latency_buckets.assign(bounds.size() + 1, 0);
      std::size_t b = 0;
      for (auto t : lat) {  // sorted by percentile()
        auto secs = std::chrono::duration<double>(t).count();
        while (b < bounds.size() && secs > bounds[b]) {
          ++b;
        }
        ++row.latency_buckets[b];
        row.latency_sum_seconds += secs;
      }
    }
    auto conn = k.connect_times;
    row.connect_p50 = percentile(conn, 50);
    result.push_back(row);
  }
  return result;
}

uint64_t client_tally::active() const {
  uint64_t n = 0;
  for (auto& r : rows()) {
    n += r.active;
  }
  return n;
}

std::string format_client_summary(const std::string& id, const protocols::client_stats& st) {
  auto total = sum_rows(st.rows);
  std::string reasons;
  for (std::size_t i = 0; i < protocols::client_end_count; ++i) {
    auto how = static_cast<client_end>(i);
    if (protocols::is_failure(how) && total.ends[i] > 0) {
      reasons += fmt::format("{}{}={}", reasons.empty() ? "" : " ", protocols::to_string(how),
                             total.ends[i]);
    }
  }
  std::string latency;
  for (auto& r : st.rows) {
    if (r.requests > 0) {
      latency +=
          fmt::format(" {}:p50={}/p99={}", protocols::to_string(r.kind), ms(r.p50), ms(r.p99));
    }
  }
  return fmt::format(
      "[{}] t={} rate={:g}/s active={} started={} completed={} stopped={} failed={}{}{}{}", id,
      protocols::format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(st.elapsed) /
                                 100 * 100),
      st.rate, total.active, total.started, total.ended(client_end::completed),
      total.ended(client_end::stopped), failures_of(total),
      reasons.empty() ? "" : " (" + reasons + ")",
      st.capped > 0 ? fmt::format(" capped={}", st.capped) : "", latency);
}

std::string format_client_table(const protocols::client_stats& st) {
  auto line = [](const std::string& name, const client_type_row& r, bool with_pct) {
    auto pct = [&](caf::timespan d) { return with_pct ? ms(d) : std::string{"-"}; };
    return fmt::format(
        "{:<16}{:>8}{:>7}{:>10}{:>8}{:>7}{:>8}{:>6}{:>8}{:>8}{:>5}{:>5}{:>7}{:>9}{:>9}{:>9}{:>9}"
        "{:>10}{:>10}\n",
        name, r.started, r.active, r.ended(client_end::completed), r.ended(client_end::stopped),
        failures_of(r), r.ended(client_end::closed_by_peer), r.ended(client_end::reset),
        r.ended(client_end::refused), r.ended(client_end::timed_out),
        r.ended(client_end::err_received), r.ended(client_end::bad_reply), r.requests, pct(r.p50),
        pct(r.p90), pct(r.p99), ms(r.max), protocols::format_bytes(r.bytes_out),
        protocols::format_bytes(r.bytes_in));
  };
  std::string out = fmt::format(
      "{:<16}{:>8}{:>7}{:>10}{:>8}{:>7}{:>8}{:>6}{:>8}{:>8}{:>5}{:>5}{:>7}{:>9}{:>9}{:>9}{:>9}"
      "{:>10}{:>10}\n",
      "type", "started", "active", "completed", "stopped", "failed", "closed", "reset", "refused",
      "timeout", "err", "bad", "reqs", "p50", "p90", "p99", "max", "out", "in");
  for (auto& r : st.rows) {
    if (r.started > 0) {
      out += line(protocols::to_string(r.kind), r, true);
    }
  }
  out += line("total", sum_rows(st.rows), false);
  out += fmt::format(
      "elapsed {}  rate {:g}/s  mix {}{}",
      protocols::format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(st.elapsed)),
      st.rate, format_mix(st.mix), st.capped > 0 ? fmt::format("  capped {}", st.capped) : "");
  return out;
}

}  // namespace l4sim::actors
