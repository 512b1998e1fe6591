#pragma once

// The scenario model: plain structs, no CAF, no YAML. `scenario_loader` fills them from a
// file and validates everything before anything runs; the director plays them; the
// expectation checker judges a run record against them.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "protocols/client_messages.hpp"
#include "protocols/units.hpp"

namespace l4sim::protocols {

/// Where a value came from in its file, for error messages and reports.
struct source_location {
  int line = 0;    ///< 1-based; 0 = unknown
  int column = 0;  ///< 1-based
};

/// One backend server of the topology.
struct scenario_backend {
  std::string id;
  duration delay{0};
  uint32_t max_conns = 0;  ///< 0 = unlimited
  duration idle_timeout{0};
  uint32_t chaos_pct = 0;
  duration hang{0};
  uint32_t weight = 1;        ///< the balancer's weight for it (`weight=N` in LB_BACKENDS)
  uint32_t lb_max_conns = 0;  ///< `maxconn:`, the balancer's cap for it; 0 = none
  bool accept_proxy = false;  ///< reads a PROXY protocol header first on each connection
  source_location where;
};

/// The balancer's health checks.
struct scenario_health {
  duration interval = std::chrono::seconds{3};
  duration timeout = std::chrono::seconds{1};
  uint32_t rise = 1;
  uint32_t fall = 1;
};

/// The balancer.
struct scenario_balancer {
  std::string algorithm = "rr";  ///< rr, lc, rand, p2c, hash, maglev
  scenario_health health;
  duration connect_timeout = std::chrono::milliseconds{1000};
  uint32_t retries = 2;
  duration client_timeout = std::chrono::seconds{30};      ///< client idle; 0 = never
  duration server_timeout = std::chrono::seconds{30};      ///< backend idle; 0 = never
  duration tunnel_timeout = std::chrono::hours{1};         ///< both sent data; 0 = off
  duration client_fin_timeout = std::chrono::seconds{30};  ///< after a half-close; 0 = off
  uint32_t max_conns = 4000;        ///< proxied connections at most; 0 = no cap
  std::string send_proxy = "none";  ///< PROXY protocol header to backends: none, v1, v2
  uint32_t hash_balance = 125;      ///< `hash`'s load bound in % (0 = off, else 100..1000)
  duration retry_backoff_base = std::chrono::milliseconds{25};  ///< first retry's backoff
  duration retry_backoff_cap = std::chrono::milliseconds{250};  ///< longest retry backoff
  duration queue_timeout = std::chrono::seconds{5};   ///< in a full backend's queue; 0 = none
  duration drain_timeout = std::chrono::seconds{30};  ///< of a removed backend
  duration slow_start{0};                             ///< weight ramp after UP; 0 = off
  uint32_t outlier_consecutive = 0;                   ///< failures that eject; 0 = off
  duration outlier_base_ejection = std::chrono::seconds{30};  ///< x the ejection count
  uint32_t outlier_max_percent = 10;  ///< share of backends ejected at once at most
};

/// The network between clients, balancer and backends (`network:`). Only a virtual run
/// models it (docs/virtual-time.md); a live run on loopback refuses anything but the
/// defaults, which are what loopback does.
struct scenario_network {
  duration latency = std::chrono::microseconds{50};  ///< one way, per delivery
  duration jitter{0};        ///< extra delay per delivery, uniform in [0, jitter)
  uint64_t bandwidth = 0;    ///< bytes per second per link and direction; 0 = unlimited
  double loss = 0;           ///< share of SYNs dropped (retransmitted as TCP does)
  uint64_t window = 131072;  ///< bytes unread per connection direction (tcp_rmem default)
  /// The keys written, with their positions, in file order.
  std::vector<std::pair<std::string, source_location>> given;

  /// Returns the first key written whose value is not loopback's, or "".
  std::string first_non_default() const;
};

/// One client type's share of the mix.
struct mix_entry {
  std::string type;  ///< real, fire_and_forget, stream, idle, slow
  uint32_t weight = 0;
};

/// The client population: an open arrival process with a seeded mix.
struct scenario_clients {
  double rate = 2;                  ///< clients per second
  std::string arrival = "uniform";  ///< uniform or poisson
  std::vector<mix_entry> mix;       ///< defaults to real 50, fire_and_forget 20, ...
  uint32_t max_active = 0;          ///< 0 = no cap
  uint32_t source_addresses = 0;    ///< N > 0: clients connect from N addresses 127.0.1.x
  duration connect_timeout = std::chrono::milliseconds{1000};
  /// Per-type parameters by type, then by key, as written (validated by the loader
  /// against the keys each type knows, e.g. `think_min: 100ms`).
  std::map<std::string, std::map<std::string, std::string>> params;
};

/// What a timeline event does.
enum class event_kind {
  kill,            ///< backend: crash (stop listening, drop its connections)
  restart,         ///< backend: listen again on the same port
  set_delay,       ///< backend: `duration_value`
  set_max_conns,   ///< backend: `number_value`
  set_chaos,       ///< backend: `number_value` percent
  set_hang,        ///< backend: `duration_value`
  set_algorithm,   ///< balancer: `text_value`
  set_rate,        ///< clients: `rate_value`
  set_mix,         ///< clients: `mix_value`
  add_backend,     ///< topology: `new_backend`
  remove_backend,  ///< topology: `backend` (drained, then dropped by the balancer)
  set_weight,      ///< balancer: `backend`'s weight to `number_value`
  drain,           ///< balancer: no new connections to `backend`
  ready,           ///< balancer: `backend` takes new connections again
  partition,       ///< network: the link balancer-`backend` drops everything (virtual only)
  heal,            ///< network: the link balancer-`backend` works again
  hold,            ///< network: bytes on the link balancer-`backend` wait (virtual only)
  release,         ///< network: the held bytes go on, in order
};

/// Returns the YAML key of an event kind, e.g. "kill", "set_delay".
std::string to_string(event_kind kind);

/// One event of the timeline.
struct timeline_event {
  duration at{0};
  event_kind kind = event_kind::kill;
  std::string backend;  ///< the backend concerned, where there is one
  duration duration_value{0};
  uint64_t number_value = 0;
  double rate_value = 0;
  std::string text_value;
  std::vector<mix_entry> mix_value;
  scenario_backend new_backend;
  source_location where;
};

/// What an expectation checks.
enum class expect_kind {
  health,            ///< `backend` reaches `healthy` within `within` after `after`
  new_connections,   ///< `backend` gets at most `max_count` new connections in [from, to]
  spread,            ///< max - min of new connections per backend in [from, to] <= max_count
  share,             ///< `backend`'s share of new connections in [from, to] in [min, max]
  failure_ratio,     ///< clients of `client_type` (all when unset) ended by `reason` (any
                     ///< failure) / started <= max_ratio
  latency,           ///< `percentile` of `client_type` request latency <= `max_latency`
  refused_at_least,  ///< `backend` refused at capacity at least `max_count` connections
  counter,           ///< a balancer counter of `backend` (`counter_name`) at the end of the
                     ///< run, or its peak for `max_*`, is >= `at_least` and <= `at_most`
  sticky_clients,    ///< at least `max_count` client addresses, each seen by one backend only
};

/// The balancer counters a `counter` expectation may name: retries, queue_timeouts,
/// ejections, failures (at the end of the run), max_queued, max_active (peaks over the run).
const std::vector<std::string>& counter_names();

/// Returns the YAML key that names an expectation kind, e.g. "health", "failures".
std::string to_string(expect_kind kind);

/// The client types a mix may name, in the order the spawner draws them.
const std::vector<std::string>& client_types();

/// The reasons a client can fail for: refused, reset, timed_out, closed_by_peer,
/// err_received, bad_reply (client_end). The one list the loader and the report share.
const std::vector<std::string>& failure_reasons();

/// One check that decides the exit code.
struct expectation {
  expect_kind kind = expect_kind::health;
  std::string backend;
  bool healthy = false;
  duration within{0};
  duration after{0};
  duration from{0};
  std::optional<duration> to;  ///< nothing = end of run
  uint64_t max_count = 0;
  double min_share = 0;
  double max_share = 1;
  std::optional<client_kind> client_type;  ///< nothing = all clients
  std::optional<client_end> reason;        ///< nothing = any failure
  double max_ratio = 0;
  double percentile = 99;  ///< 50, 90, 99 or 100 (max)
  duration max_latency{0};
  std::string counter_name;          ///< `counter`: one of counter_names()
  std::optional<uint64_t> at_least;  ///< `counter`: lower bound
  std::optional<uint64_t> at_most;   ///< `counter`: upper bound
  std::string text;                  ///< the expectation as written, for the report
  source_location where;
};

/// A whole scenario file.
struct scenario {
  std::string name;
  std::string description;
  duration length = std::chrono::seconds{30};
  uint64_t seed = 1;
  std::vector<scenario_backend> backends;
  scenario_balancer balancer;
  scenario_clients clients;
  scenario_network network;
  std::vector<timeline_event> timeline;
  std::vector<expectation> expect;
  std::string file;  ///< path it was loaded from
};

/// Everything a run recorded that expectations are judged on. Times are scenario times
/// (already divided by the time scale), from the start of the run.
struct run_record {
  /// A health verdict change seen by the balancer.
  struct health_change {
    duration at{0};
    std::string backend;
    bool healthy = false;
  };
  /// The balancer's per-backend counters at one moment.
  struct sample {
    duration at{0};
    std::map<std::string, uint64_t> total;    ///< proxied connections established so far
    std::map<std::string, uint64_t> active;   ///< open now
    std::map<std::string, uint64_t> refused;  ///< refused at capacity by the backend so far
    std::map<std::string, bool> healthy;
    std::map<std::string, uint64_t> bytes;           ///< both directions, so far
    std::map<std::string, uint64_t> queued;          ///< clients waiting for a slot now
    std::map<std::string, uint64_t> queue_timeouts;  ///< clients closed in its queue, so far
    std::map<std::string, uint64_t> retries;         ///< failed connects retried, so far
    std::map<std::string, uint64_t> failures;        ///< failed connects, so far
    std::map<std::string, uint64_t> ejections;       ///< outlier ejections, so far
    std::map<std::string, bool> ejected;             ///< ejected now
    std::map<std::string, bool> draining;            ///< draining now
    std::map<std::string, uint64_t> weight;          ///< its weight now (as set at run time)
    /// Client IP addresses each backend saw in PROXY headers so far (accept_proxy only).
    std::map<std::string, std::vector<std::string>> client_addresses;
    uint64_t clients_started = 0;  ///< all types, so far
    uint64_t clients_active = 0;
    uint64_t clients_completed = 0;
    uint64_t clients_failed = 0;
  };
  /// One client type's outcome at the end.
  struct client_outcome {
    uint64_t started = 0;
    uint64_t completed = 0;
    std::map<std::string, uint64_t> failed;  ///< by reason: refused, reset, timed_out, ...
    std::map<double, duration> latency;      ///< percentile (50, 90, 99, 100) -> latency
  };
  std::vector<health_change> health;
  std::vector<sample> samples;  ///< in time order
  std::map<std::string, client_outcome> clients;
  duration ended{0};
};

/// The judgement of one expectation.
struct verdict {
  std::string text;  ///< the expectation as written
  bool passed = false;
  std::string expected;  ///< e.g. "DOWN within 3.5s after 10s"
  std::string observed;  ///< e.g. "DOWN at 10.21s (0.21s after)"
};

}  // namespace l4sim::protocols
