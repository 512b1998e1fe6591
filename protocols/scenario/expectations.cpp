#include "protocols/scenario/expectations.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace l4sim::protocols {

namespace {

/// Returns `record` with its samples in time order: a sample is recorded when every answer
/// to it has come, so one that waited on a slow or dead backend lands after later ones.
/// `storage` holds the sorted copy when one is needed.
const run_record& in_time_order(const run_record& record, std::optional<run_record>& storage) {
  auto earlier = [](const auto& a, const auto& b) { return a.at < b.at; };
  if (std::is_sorted(record.samples.begin(), record.samples.end(), earlier)) {
    return record;
  }
  storage = record;
  std::stable_sort(storage->samples.begin(), storage->samples.end(), earlier);
  return *storage;
}

/// Returns the last sample at or before `at` (nothing = the last one), or null.
const run_record::sample* sample_at(const run_record& record, std::optional<duration> at) {
  const run_record::sample* found = nullptr;
  for (const auto& sample : record.samples) {
    if (at && sample.at > *at) {
      break;
    }
    found = &sample;
  }
  return found;
}

/// The last sample at or before `at` with the balancer's counters: a sample the balancer did
/// not answer in time (the collector waits a second) has none, and reading it as "no
/// connections" made a share fail with "no connections in window" or count from zero.
const run_record::sample* balancer_sample_at(const run_record& record, std::optional<duration> at) {
  const run_record::sample* found = nullptr;
  for (const auto& sample : record.samples) {
    if (at && sample.at > *at) {
      break;
    }
    if (!sample.total.empty()) {
      found = &sample;
    }
  }
  return found;
}

uint64_t total_of(const run_record::sample* sample, const std::string& backend) {
  if (sample == nullptr) {
    return 0;
  }
  auto it = sample->total.find(backend);
  return it == sample->total.end() ? 0 : it->second;
}

/// The scenario time the record reaches: `ended`, or its last sample when that is earlier
/// (a run cut short, e.g. by Ctrl-C, has no data past its last sample).
duration run_end(const run_record& record) {
  if (record.samples.empty()) {
    return record.ended;
  }
  return std::min(record.ended, record.samples.back().at);
}

/// Returns why the window of `e` holds no data (it reaches past the run's end, or no sample
/// falls in it), or nothing when it can be judged.
std::optional<std::string> no_data_in_window(const expectation& e, const run_record& record) {
  auto end = run_end(record);
  auto to = e.to.value_or(end);
  if (e.from > end || to > end) {
    return fmt::format("no data: the run ended at {}, before the window's end ({})",
                       format_duration(end), format_duration(std::max(e.from, to)));
  }
  for (const auto& sample : record.samples) {
    if (sample.at >= e.from && sample.at <= to) {
      return std::nullopt;
    }
  }
  return fmt::format("no data: no sample in [{}, {}]", format_duration(e.from),
                     format_duration(to));
}

std::string window_text(const expectation& e) {
  return fmt::format("[{}, {}]", format_duration(e.from),
                     e.to ? format_duration(*e.to) : std::string{"end"});
}

std::string state_text(bool healthy) {
  return healthy ? "UP" : "DOWN";
}

std::string clients_text(const std::optional<client_kind>& type) {
  return type ? to_string(*type) + " clients" : "all clients";
}

/// Returns whether an outcome of type `name` counts for an expectation about `type`.
bool counts(const std::optional<client_kind>& type, const std::string& name) {
  return !type || to_string(*type) == name;
}

std::string percentile_text(double pct) {
  return pct >= 100 ? std::string{"max"} : fmt::format("p{:g}", pct);
}

void check_health(const expectation& e, const run_record& record, verdict& v) {
  auto deadline = e.after + e.within;
  v.expected = fmt::format("{} {} within {} after {}", e.backend, state_text(e.healthy),
                           format_duration(e.within), format_duration(e.after));
  for (const auto& change : record.health) {
    if (change.backend == e.backend && change.healthy == e.healthy && change.at >= e.after) {
      v.passed = change.at <= deadline;
      v.observed = fmt::format("{} at {} ({} after)", state_text(e.healthy),
                               format_duration(change.at), format_duration(change.at - e.after));
      return;
    }
  }
  // No change to the wanted state: that needs the whole window [after, after + within].
  if (auto end = run_end(record); deadline > end) {
    v.passed = false;
    v.observed = fmt::format("no data: the run ended at {}, before the deadline ({})",
                             format_duration(end), format_duration(deadline));
    return;
  }
  // Report the last state known, if any.
  std::optional<bool> last;
  for (const auto& change : record.health) {
    if (change.backend == e.backend) {
      last = change.healthy;
    }
  }
  v.passed = false;
  v.observed = last ? fmt::format("still {} at the end", state_text(*last))
                    : fmt::format("never {}", state_text(e.healthy));
}

void check_share(const expectation& e, const run_record& record, verdict& v) {
  v.expected = fmt::format("{}'s share of new connections in {} within [{:g}, {:g}]", e.backend,
                           window_text(e), e.min_share, e.max_share);
  if (auto why = no_data_in_window(e, record)) {
    v.passed = false;
    v.observed = *why;
    return;
  }
  auto first = balancer_sample_at(record, e.from);
  auto last = balancer_sample_at(record, e.to);
  std::set<std::string> names;
  if (last != nullptr) {
    for (const auto& [name, total] : last->total) {
      names.insert(name);
    }
  }
  uint64_t all = 0;
  for (const auto& name : names) {
    all += total_of(last, name) - std::min(total_of(last, name), total_of(first, name));
  }
  if (all == 0) {
    v.passed = false;
    v.observed = "no connections in window";
    return;
  }
  auto mine = new_connections_in(record, e.backend, e.from, e.to);
  auto share = static_cast<double>(mine) / static_cast<double>(all);
  v.passed = share >= e.min_share && share <= e.max_share;
  v.observed = fmt::format("{:.3f} ({} of {})", share, mine, all);
}

void check_spread(const expectation& e, const run_record& record, verdict& v) {
  v.expected =
      fmt::format("max - min new connections per backend in {} <= {}", window_text(e), e.max_count);
  if (auto why = no_data_in_window(e, record)) {
    v.passed = false;
    v.observed = *why;
    return;
  }
  auto last = balancer_sample_at(record, e.to);
  if (last == nullptr) {
    v.passed = false;
    v.observed = "no data: no backend sampled";
    return;
  }
  uint64_t lo = UINT64_MAX;
  uint64_t hi = 0;
  std::string lo_name;
  std::string hi_name;
  for (const auto& [name, total] : last->total) {
    auto n = new_connections_in(record, name, e.from, e.to);
    if (n < lo) {
      lo = n;
      lo_name = name;
    }
    if (n >= hi) {
      hi = n;
      hi_name = name;
    }
  }
  v.passed = hi - lo <= e.max_count;
  v.observed = fmt::format("{} ({} {}, {} {})", hi - lo, hi_name, hi, lo_name, lo);
}

void check_failures(const expectation& e, const run_record& record, verdict& v) {
  v.expected = fmt::format("{} failed{} <= {:g}", clients_text(e.client_type),
                           e.reason ? " by " + to_string(*e.reason) : "", e.max_ratio);
  uint64_t started = 0;
  uint64_t failed = 0;
  for (const auto& [type, outcome] : record.clients) {
    if (!counts(e.client_type, type)) {
      continue;
    }
    started += outcome.started;
    for (const auto& [reason, n] : outcome.failed) {
      if (!e.reason || reason == to_string(*e.reason)) {
        failed += n;
      }
    }
  }
  if (started == 0) {
    v.passed = true;
    v.observed = "no clients";
    return;
  }
  auto ratio = static_cast<double>(failed) / static_cast<double>(started);
  v.passed = ratio <= e.max_ratio;
  v.observed = fmt::format("{:.3f} ({} of {})", ratio, failed, started);
}

void check_latency(const expectation& e, const run_record& record, verdict& v) {
  auto pct = percentile_text(e.percentile);
  v.expected = fmt::format("{} latency of {} <= {}", pct, clients_text(e.client_type),
                           format_duration(e.max_latency));
  // With several types ("all"), the worst type's percentile stands for all of them.
  std::optional<duration> worst;
  for (const auto& [type, outcome] : record.clients) {
    if (!counts(e.client_type, type)) {
      continue;
    }
    if (auto it = outcome.latency.find(e.percentile); it != outcome.latency.end()) {
      worst = worst ? std::max(*worst, it->second) : it->second;
    }
  }
  if (!worst) {
    v.passed = false;
    v.observed = "no requests";
    return;
  }
  v.passed = *worst <= e.max_latency;
  v.observed = fmt::format("{} {}", pct, format_duration(*worst));
}

void check_refused(const expectation& e, const run_record& record, verdict& v) {
  v.expected =
      fmt::format("{} refused at least {} connections at capacity", e.backend, e.max_count);
  auto last = sample_at(record, std::nullopt);
  if (last == nullptr) {
    v.passed = false;
    v.observed = "no data: no sample";
    return;
  }
  uint64_t refused = 0;
  if (auto it = last->refused.find(e.backend); it != last->refused.end()) {
    refused = it->second;
  }
  v.passed = refused >= e.max_count;
  v.observed = fmt::format("{} refused", refused);
}

/// The value of a `counter` expectation's counter: at the end of the run, or its peak over
/// the run for `max_*`.
std::optional<uint64_t> counter_value(const expectation& e, const run_record& record) {
  auto value = [&](const run_record::sample& s) -> uint64_t {
    auto get = [&](const std::map<std::string, uint64_t>& m) {
      auto it = m.find(e.backend);
      return it == m.end() ? uint64_t{0} : it->second;
    };
    const auto& n = e.counter_name;
    if (n == "retries") {
      return get(s.retries);
    }
    if (n == "queue_timeouts") {
      return get(s.queue_timeouts);
    }
    if (n == "ejections") {
      return get(s.ejections);
    }
    if (n == "failures") {
      return get(s.failures);
    }
    if (n == "max_queued") {
      return get(s.queued);
    }
    return get(s.active);
  };
  if (record.samples.empty()) {
    return std::nullopt;
  }
  if (e.counter_name.rfind("max_", 0) == 0) {
    uint64_t peak = 0;
    for (auto& s : record.samples) {
      peak = std::max(peak, value(s));
    }
    return peak;
  }
  return value(*sample_at(record, std::nullopt));
}

void check_counter(const expectation& e, const run_record& record, verdict& v) {
  std::string bounds;
  if (e.at_least) {
    bounds = fmt::format(">= {}", *e.at_least);
  }
  if (e.at_most) {
    bounds += fmt::format("{}<= {}", bounds.empty() ? "" : " and ", *e.at_most);
  }
  v.expected = fmt::format("{} {} {}", e.backend, e.counter_name, bounds);
  auto got = counter_value(e, record);
  if (!got) {
    v.passed = false;
    v.observed = "no data: no sample";
    return;
  }
  v.passed = (!e.at_least || *got >= *e.at_least) && (!e.at_most || *got <= *e.at_most);
  v.observed = fmt::format("{} {}", e.counter_name, *got);
}

void check_sticky(const expectation& e, const run_record& record, verdict& v) {
  v.expected = fmt::format(
      "at least {} client addresses in PROXY headers, each at one backend only", e.max_count);
  auto last = sample_at(record, std::nullopt);
  if (last == nullptr) {
    v.passed = false;
    v.observed = "no data: no sample";
    return;
  }
  std::map<std::string, std::vector<std::string>> backends_of;
  for (auto& [backend, addresses] : last->client_addresses) {
    for (auto& address : addresses) {
      backends_of[address].push_back(backend);
    }
  }
  std::vector<std::string> split;
  for (auto& [address, backends] : backends_of) {
    if (backends.size() > 1) {
      std::string where;
      for (auto& b : backends) {
        where += (where.empty() ? "" : "+") + b;
      }
      split.push_back(fmt::format("{} at {}", address, where));
    }
  }
  v.passed = backends_of.size() >= e.max_count && split.empty();
  v.observed = fmt::format("{} client addresses, {} at more than one backend", backends_of.size(),
                           split.size());
  if (!split.empty()) {
    // The addresses are numeric (inet_ntop), ids checked by the loader: nothing to escape.
    v.observed += fmt::format(" (e.g. {})", split.front());
  }
}

}  // namespace

uint64_t new_connections_in(const run_record& unordered, const std::string& backend, duration from,
                            std::optional<duration> to) {
  std::optional<run_record> storage;
  const auto& record = in_time_order(unordered, storage);
  auto before = total_of(balancer_sample_at(record, from), backend);
  auto until = total_of(balancer_sample_at(record, to), backend);
  return until >= before ? until - before : 0;
}

verdict check(const expectation& e, const run_record& unordered) {
  std::optional<run_record> storage;
  const auto& record = in_time_order(unordered, storage);
  verdict v;
  v.text = e.text;
  switch (e.kind) {
    case expect_kind::health:
      check_health(e, record, v);
      break;
    case expect_kind::new_connections: {
      v.expected = fmt::format("{} gets at most {} new connections in {}", e.backend, e.max_count,
                               window_text(e));
      if (auto why = no_data_in_window(e, record)) {
        v.passed = false;
        v.observed = *why;
        break;
      }
      auto n = new_connections_in(record, e.backend, e.from, e.to);
      v.passed = n <= e.max_count;
      v.observed = fmt::format("{} new connections", n);
      break;
    }
    case expect_kind::spread:
      check_spread(e, record, v);
      break;
    case expect_kind::share:
      check_share(e, record, v);
      break;
    case expect_kind::failure_ratio:
      check_failures(e, record, v);
      break;
    case expect_kind::latency:
      check_latency(e, record, v);
      break;
    case expect_kind::refused_at_least:
      check_refused(e, record, v);
      break;
    case expect_kind::counter:
      check_counter(e, record, v);
      break;
    case expect_kind::sticky_clients:
      check_sticky(e, record, v);
      break;
  }
  return v;
}

std::vector<verdict> check_all(const scenario& scn, const run_record& record) {
  std::vector<verdict> out;
  out.reserve(scn.expect.size());
  for (const auto& e : scn.expect) {
    out.push_back(check(e, record));
  }
  return out;
}

}  // namespace l4sim::protocols
