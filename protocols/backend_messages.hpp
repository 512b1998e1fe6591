#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/timespan.hpp>

namespace l4sim::protocols {

/// A duration as a message element. CAF 0.17.6 loses a bare `caf::timespan` element on its
/// way between processes (it arrives as 0; the same value inside a struct arrives intact),
/// so control messages carry durations in this wrapper.
struct duration_value {
  caf::timespan value{0};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, duration_value& x) {
  return f(caf::meta::type_name("duration_value"), x.value);
}

/// A snapshot of one backend server's counters.
struct backend_stats {
  std::string id;
  uint16_t port = 0;
  bool listening = false;
  uint64_t active = 0;         ///< connections open now
  uint64_t total = 0;          ///< connections accepted and kept (not refused or dropped)
  uint64_t refused = 0;        ///< accepted and closed at once because at capacity
  uint64_t chaos_dropped = 0;  ///< accepted and closed at once by the chaos setting
  uint64_t idle_closed = 0;    ///< closed by the idle timeout
  uint64_t requests = 0;       ///< REQ lines
  uint64_t pings = 0;          ///< PING lines
  uint64_t stream_lines = 0;   ///< STREAM lines
  uint64_t slow_lines = 0;     ///< SLOW lines
  uint64_t errors = 0;         ///< lines answered with ERR
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t proxy_errors = 0;  ///< connections closed for a bad PROXY protocol header
  /// With accept_proxy: the distinct client IP addresses the PROXY headers named, sorted,
  /// at most `max_client_addresses` (what a sticky-session check compares across backends).
  std::vector<std::string> client_addresses;
};

/// The most client addresses a backend lists in its stats.
inline constexpr size_t max_client_addresses = 1024;

/// Makes `backend_stats` serializable so it can cross processes.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, backend_stats& x) {
  return f(caf::meta::type_name("backend_stats"), x.id, x.port, x.listening, x.active, x.total,
           x.refused, x.chaos_dropped, x.idle_closed, x.requests, x.pings, x.stream_lines,
           x.slow_lines, x.errors, x.bytes_in, x.bytes_out, x.proxy_errors, x.client_addresses);
}

}  // namespace l4sim::protocols
