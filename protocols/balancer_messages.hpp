#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/timespan.hpp>

namespace l4sim::protocols {

/// One backend as the balancer knows it.
struct backend_spec {
  std::string id;       ///< name in logs and stats
  std::string label;    ///< host:port as configured
  std::string address;  ///< numeric address to connect to; empty until `host` resolves
  uint16_t port = 0;
  uint32_t weight = 1;
  std::string host;        ///< the name to (re-)resolve; empty = `address` is fixed
  uint32_t max_conns = 0;  ///< `maxconn=N`: proxied connections at most; 0 = no cap
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, backend_spec& x) {
  return f(caf::meta::type_name("backend_spec"), x.id, x.label, x.address, x.port, x.weight, x.host,
           x.max_conns);
}

/// The backend a picker chose for one connection.
struct backend_pick {
  std::string id;
  std::string address;  ///< numeric, ready to connect to
  uint16_t port = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, backend_pick& x) {
  return f(caf::meta::type_name("backend_pick"), x.id, x.address, x.port);
}

/// One row of the balancer's stats table.
struct backend_row {
  std::string id;
  std::string address;  ///< as configured, host:port
  bool healthy = true;
  uint32_t weight = 1;
  uint64_t active = 0;            ///< proxied connections open now
  uint64_t pending = 0;           ///< picked, connect not finished yet
  uint64_t total = 0;             ///< proxied connections established
  uint64_t failures = 0;          ///< connects that failed or timed out
  uint64_t bytes_in = 0;          ///< client → backend
  uint64_t bytes_out = 0;         ///< backend → client
  uint32_t max_conns = 0;         ///< proxied connections at most (`maxconn`); 0 = no cap
  bool draining = false;          ///< takes no new connections (`drain`, `rm`); open ones finish
  bool ejected = false;           ///< out of rotation after consecutive failures (outlier ejection)
  uint64_t queued = 0;            ///< clients waiting for a slot under `max_conns` now
  uint64_t queue_timeouts = 0;    ///< clients closed after waiting `queue_timeout` in its queue
  uint64_t retries = 0;           ///< failed connects to it that were retried (elsewhere)
  uint64_t ejections = 0;         ///< times it was ejected
  uint64_t checks_ok = 0;         ///< health probes that connected (HAProxy's L4OK)
  uint64_t checks_failed = 0;     ///< probes refused or unreachable, or no address yet (L4CON)
  uint64_t checks_timed_out = 0;  ///< probes that did not connect within the timeout (L4TOUT)
  uint64_t checks_skipped = 0;    ///< probes not counted: this process was short of fds or ports
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, backend_row& x) {
  return f(caf::meta::type_name("backend_row"), x.id, x.address, x.healthy, x.weight, x.active,
           x.pending, x.total, x.failures, x.bytes_in, x.bytes_out, x.max_conns, x.draining,
           x.ejected, x.queued, x.queue_timeouts, x.retries, x.ejections, x.checks_ok,
           x.checks_failed, x.checks_timed_out, x.checks_skipped);
}

/// A snapshot of the balancer: its algorithm and one row per backend.
struct balancer_stats {
  std::string algorithm;
  uint64_t accepted = 0;    ///< client connections accepted
  uint64_t no_backend = 0;  ///< clients closed because nobody was healthy or reachable
  std::vector<backend_row> backends;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, balancer_stats& x) {
  return f(caf::meta::type_name("balancer_stats"), x.algorithm, x.accepted, x.no_backend,
           x.backends);
}

/// A proxied connection ended; what it moved.
struct session_finished {
  std::string backend_id;
  uint64_t bytes_in = 0;       ///< client → backend
  uint64_t bytes_out = 0;      ///< backend → client
  bool backend_reset = false;  ///< the backend reset the connection (passive health)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_finished& x) {
  return f(caf::meta::type_name("session_finished"), x.backend_id, x.bytes_in, x.bytes_out,
           x.backend_reset);
}

/// The health monitor changed its verdict on a backend.
struct backend_health_changed {
  std::string backend_id;
  bool healthy = true;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, backend_health_changed& x) {
  return f(caf::meta::type_name("backend_health_changed"), x.backend_id, x.healthy);
}

/// How a running balancer proxies, beyond its algorithm and its backends: what `sim run
/// --attach` reads from an lb and compares with a scenario's balancer (an lb's own start
/// decides these; the algorithm and weights sim sets at run time).
struct balancer_settings {
  caf::timespan health_interval{0};
  caf::timespan health_timeout{0};
  uint32_t health_rise = 0;
  uint32_t health_fall = 0;
  caf::timespan connect_timeout{0};
  uint32_t retries = 0;
  caf::timespan backoff_base{0};
  caf::timespan backoff_cap{0};
  caf::timespan queue_timeout{0};
  caf::timespan drain_timeout{0};
  caf::timespan slow_start{0};
  uint32_t outlier_consecutive = 0;
  caf::timespan outlier_base_ejection{0};
  uint32_t outlier_max_percent = 0;
  caf::timespan client_timeout{0};
  caf::timespan server_timeout{0};
  caf::timespan tunnel_timeout{0};
  caf::timespan client_fin_timeout{0};
  uint32_t max_conns = 0;
  std::string send_proxy;  ///< none, v1, v2
  uint32_t hash_balance = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, balancer_settings& x) {
  return f(caf::meta::type_name("balancer_settings"), x.health_interval, x.health_timeout,
           x.health_rise, x.health_fall, x.connect_timeout, x.retries, x.backoff_base,
           x.backoff_cap, x.queue_timeout, x.drain_timeout, x.slow_start, x.outlier_consecutive,
           x.outlier_base_ejection, x.outlier_max_percent, x.client_timeout, x.server_timeout,
           x.tunnel_timeout, x.client_fin_timeout, x.max_conns, x.send_proxy, x.hash_balance);
}

}  // namespace l4sim::protocols
