#pragma once

// The vocabulary of the client simulator: client kinds, their parameters, how a client
// ended, and the per-type aggregates the spawner reports.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/timespan.hpp>

namespace l4sim::protocols {

/// The behaviour of a simulated client; each models one kind of real-world peer.
enum class client_kind : uint8_t {
  real,             ///< HTTP keep-alive user: REQ, wait for ACK, think, repeat
  fire_and_forget,  ///< probe or one-shot sender: one PING, close without reading
  stream,           ///< log shipper: a STREAM line every interval until the run ends
  idle,             ///< leaked connection: connects and sends nothing
  slow,             ///< slowloris: SLOW one byte at a time, then waits for ACK
};

/// How many client kinds there are.
inline constexpr std::size_t client_kind_count = 5;

/// Every client kind, in declaration order.
inline constexpr std::array<client_kind, client_kind_count> all_client_kinds = {
    client_kind::real, client_kind::fire_and_forget, client_kind::stream, client_kind::idle,
    client_kind::slow};

/// Returns the name of a client kind as used in options and tables, e.g. "fire_and_forget".
inline std::string to_string(client_kind x) {
  switch (x) {
    case client_kind::real:
      return "real";
    case client_kind::fire_and_forget:
      return "fire_and_forget";
    case client_kind::stream:
      return "stream";
    case client_kind::idle:
      return "idle";
    case client_kind::slow:
      return "slow";
  }
  return "?";
}

/// Parses a client kind name; nothing for an unknown name.
inline std::optional<client_kind> parse_client_kind(std::string_view text) {
  for (auto kind : all_client_kinds) {
    if (to_string(kind) == text) {
      return kind;
    }
  }
  return std::nullopt;
}

/// How a client's connection ended.
enum class client_end : uint8_t {
  completed,       ///< did what its kind does (stream/idle: ran until the run ended)
  stopped,         ///< the run ended before a real/slow client finished its requests
  closed_by_peer,  ///< the peer closed (FIN) while no reply was due
  reset,           ///< RST, or the peer closed while a reply was due
  refused,         ///< the connect failed (nothing listening, unreachable)
  timed_out,       ///< the connect or a reply did not arrive in time
  err_received,    ///< the peer answered ERR
  bad_reply,       ///< the peer answered something the protocol does not know
};

/// How many ways a client can end.
inline constexpr std::size_t client_end_count = 8;

/// Returns the name of a way to end, e.g. "closed_by_peer".
inline std::string to_string(client_end x) {
  switch (x) {
    case client_end::completed:
      return "completed";
    case client_end::stopped:
      return "stopped";
    case client_end::closed_by_peer:
      return "closed_by_peer";
    case client_end::reset:
      return "reset";
    case client_end::refused:
      return "refused";
    case client_end::timed_out:
      return "timed_out";
    case client_end::err_received:
      return "err_received";
    case client_end::bad_reply:
      return "bad_reply";
  }
  return "?";
}

/// Returns whether an end counts as a failure (everything but completed and stopped).
inline bool is_failure(client_end x) {
  return x != client_end::completed && x != client_end::stopped;
}

/// The weights of the client kinds in the spawned population, indexed by kind.
struct client_mix {
  std::array<uint32_t, client_kind_count> weights{};

  /// Returns the weight of `kind`.
  uint32_t& operator[](client_kind kind) { return weights[static_cast<std::size_t>(kind)]; }

  /// Returns the weight of `kind`.
  uint32_t operator[](client_kind kind) const { return weights[static_cast<std::size_t>(kind)]; }

  friend bool operator==(const client_mix& a, const client_mix& b) {
    return a.weights == b.weights;
  }
};

/// Makes `client_mix` serializable.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_mix& x) {
  return f(caf::meta::type_name("client_mix"), x.weights);
}

/// The parameters of one client kind. Ranges are drawn per client from its seed.
struct client_profile {
  client_kind kind = client_kind::real;
  uint32_t min_requests = 1;                                      ///< real: requests per connection
  uint32_t max_requests = 9;                                      ///< real
  caf::timespan min_think{std::chrono::milliseconds{100}};        ///< real: pause after an ACK
  caf::timespan max_think{std::chrono::milliseconds{900}};        ///< real
  caf::timespan stream_interval{std::chrono::milliseconds{200}};  ///< stream: line period
  caf::timespan min_byte_gap{std::chrono::milliseconds{100}};     ///< slow: between bytes
  caf::timespan max_byte_gap{std::chrono::milliseconds{400}};     ///< slow
  caf::timespan reply_timeout{std::chrono::seconds{30}};  ///< a due reply later is timed_out
  std::string verb;  ///< replaces the kind's verb (REQ, PING, ...) when not empty
};

/// Makes `client_profile` serializable.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_profile& x) {
  return f(caf::meta::type_name("client_profile"), x.kind, x.min_requests, x.max_requests,
           x.min_think, x.max_think, x.stream_interval, x.min_byte_gap, x.max_byte_gap,
           x.reply_timeout, x.verb);
}

/// A client ended: everything it recorded about its one connection.
struct client_finished {
  uint64_t id = 0;
  client_kind kind = client_kind::real;
  client_end end = client_end::completed;
  std::string detail;                    ///< why, in words (e.g. the connect error)
  bool connected = false;                ///< whether the connect succeeded
  caf::timespan connect_time{0};         ///< from dial request to connected socket
  std::vector<caf::timespan> latencies;  ///< one per answered request, in order
  uint64_t bytes_out = 0;                ///< client → peer
  uint64_t bytes_in = 0;                 ///< peer → client
};

/// Makes `client_finished` serializable.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_finished& x) {
  return f(caf::meta::type_name("client_finished"), x.id, x.kind, x.end, x.detail, x.connected,
           x.connect_time, x.latencies, x.bytes_out, x.bytes_in);
}

/// Upper bounds, in seconds, of the request-latency histogram's buckets (Prometheus `le`),
/// from a loopback round trip to the original tool's multi-second delays.
inline const std::vector<double>& latency_bucket_bounds() {
  static const std::vector<double> bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                          0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return bounds;
}

/// The aggregate of one client kind.
struct client_type_row {
  client_kind kind = client_kind::real;
  uint64_t started = 0;
  uint64_t active = 0;                            ///< started and not ended yet
  std::array<uint64_t, client_end_count> ends{};  ///< ended clients, by client_end
  uint64_t requests = 0;                          ///< answered requests
  caf::timespan p50{0};                           ///< request latency percentiles
  caf::timespan p90{0};
  caf::timespan p99{0};
  caf::timespan max{0};
  caf::timespan connect_p50{0};  ///< connect time median
  uint64_t bytes_out = 0;
  uint64_t bytes_in = 0;
  /// Answered requests per latency bucket (not cumulative): one per latency_bucket_bounds()
  /// entry, then one for slower ones; empty when nothing was answered.
  std::vector<uint64_t> latency_buckets;
  double latency_sum_seconds = 0;  ///< of all answered requests

  /// Returns how many clients of this kind ended as `x`.
  uint64_t ended(client_end x) const { return ends[static_cast<std::size_t>(x)]; }
};

/// Makes `client_type_row` serializable.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_type_row& x) {
  return f(caf::meta::type_name("client_type_row"), x.kind, x.started, x.active, x.ends, x.requests,
           x.p50, x.p90, x.p99, x.max, x.connect_p50, x.bytes_out, x.bytes_in, x.latency_buckets,
           x.latency_sum_seconds);
}

/// A snapshot of a spawner: its settings and one row per client kind.
struct client_stats {
  caf::timespan elapsed{0};  ///< since the spawner started
  bool running = true;       ///< false once the run ended (duration, stop)
  double rate = 0;           ///< clients per second now
  client_mix mix;
  uint64_t capped = 0;                ///< arrivals skipped because max_active clients were open
  std::vector<client_type_row> rows;  ///< one per kind, in all_client_kinds order
};

/// Makes `client_stats` serializable.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_stats& x) {
  return f(caf::meta::type_name("client_stats"), x.elapsed, x.running, x.rate, x.mix, x.capped,
           x.rows);
}

}  // namespace l4sim::protocols
