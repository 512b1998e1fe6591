#include "apps/common/metrics.hpp"

#include <sstream>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/text_serializer.h>

namespace l4sim::apps {

namespace {

using labels = std::map<std::string, std::string>;

/// Sets a counter built for this scrape to the service's own cumulative count.
void count(prometheus::Family<prometheus::Counter>& family, const labels& l, uint64_t value) {
  family.Add(l).Increment(static_cast<double>(value));
}

void set(prometheus::Family<prometheus::Gauge>& family, const labels& l, double value) {
  family.Add(l).Set(value);
}

prometheus::Family<prometheus::Counter>& counter(prometheus::Registry& r, const std::string& name,
                                                 const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}

prometheus::Family<prometheus::Gauge>& gauge(prometheus::Registry& r, const std::string& name,
                                             const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r);
}

}  // namespace

void add_balancer_metrics(prometheus::Registry& registry, const protocols::balancer_stats& st) {
  auto& up = gauge(registry, "l4sim_backend_up",
                   "1 while the health checks say the backend is UP, 0 while DOWN");
  auto& weight = gauge(registry, "l4sim_backend_weight", "configured weight of the backend");
  auto& active = gauge(registry, "l4sim_backend_active_connections",
                       "proxied connections open to the backend now");
  auto& pending = gauge(registry, "l4sim_backend_pending_connections",
                        "connections picked for the backend whose connect has not finished");
  auto& total = counter(registry, "l4sim_backend_connections_total",
                        "proxied connections established to the backend");
  auto& bytes = counter(registry, "l4sim_backend_bytes_total",
                        "bytes proxied through the backend; direction in: from the client, "
                        "out: to the client");
  auto& failures = counter(registry, "l4sim_backend_connect_failures_total",
                           "connects to the backend that failed or timed out");
  auto& checks = counter(registry, "l4sim_backend_health_checks_total",
                         "health probes of the backend by result; ok: it connected (HAProxy's "
                         "L4OK), failed: refused, unreachable or no address (L4CON), timeout: "
                         "no connect within the check timeout (L4TOUT), skipped: not counted, "
                         "this process was short of fds or ports");
  auto& queued = gauge(registry, "l4sim_backend_queued_connections",
                       "clients waiting for a slot under the backend's maxconn now");
  auto& queue_timeouts = counter(registry, "l4sim_backend_queue_timeouts_total",
                                 "clients closed after waiting queue_timeout for the backend");
  auto& retries = counter(registry, "l4sim_backend_retries_total",
                          "failed connects to the backend that were retried elsewhere");
  auto& ejections = counter(registry, "l4sim_backend_ejections_total",
                            "times outlier detection took the backend out of rotation");
  auto& ejected = gauge(registry, "l4sim_backend_ejected",
                        "1 while outlier detection keeps the backend out of rotation");
  auto& draining = gauge(registry, "l4sim_backend_draining",
                         "1 while the backend takes no new connections (drain, rm)");
  for (auto& b : st.backends) {
    labels l{{"backend", b.id}};
    for (auto [result, n] :
         {std::pair{"ok", b.checks_ok}, std::pair{"failed", b.checks_failed},
          std::pair{"timeout", b.checks_timed_out}, std::pair{"skipped", b.checks_skipped}}) {
      count(checks, {{"backend", b.id}, {"result", result}}, n);
    }
    set(queued, l, static_cast<double>(b.queued));
    count(queue_timeouts, l, b.queue_timeouts);
    count(retries, l, b.retries);
    count(ejections, l, b.ejections);
    set(ejected, l, b.ejected ? 1 : 0);
    set(draining, l, b.draining ? 1 : 0);
    set(up, l, b.healthy ? 1 : 0);
    set(weight, l, b.weight);
    set(active, l, static_cast<double>(b.active));
    set(pending, l, static_cast<double>(b.pending));
    count(total, l, b.total);
    count(bytes, {{"backend", b.id}, {"direction", "in"}}, b.bytes_in);
    count(bytes, {{"backend", b.id}, {"direction", "out"}}, b.bytes_out);
    count(failures, l, b.failures);
  }
  count(counter(registry, "l4sim_balancer_accepted_total", "client connections accepted"), {},
        st.accepted);
  count(counter(registry, "l4sim_balancer_no_backend_total",
                "client connections closed because no backend was healthy or reachable"),
        {}, st.no_backend);
  set(gauge(registry, "l4sim_balancer_info", "the balancing algorithm in force, always 1"),
      {{"algorithm", st.algorithm}}, 1);
}

void add_server_metrics(prometheus::Registry& registry, const protocols::backend_stats& st) {
  labels l{{"server", st.id}};
  set(gauge(registry, "l4sim_server_up", "1 while the server listens, 0 while killed"), l,
      st.listening ? 1 : 0);
  set(gauge(registry, "l4sim_server_active_connections", "connections open now"), l,
      static_cast<double>(st.active));
  count(counter(registry, "l4sim_server_connections_total",
                "connections accepted and kept (not refused or dropped)"),
        l, st.total);
  count(counter(registry, "l4sim_server_refused_total",
                "connections closed at accept because the server was at max_conns"),
        l, st.refused);
  count(counter(registry, "l4sim_server_chaos_dropped_total",
                "connections closed at accept by the chaos setting"),
        l, st.chaos_dropped);
  count(
      counter(registry, "l4sim_server_idle_closed_total", "connections closed by the idle timeout"),
      l, st.idle_closed);
  auto& requests = counter(registry, "l4sim_server_requests_total", "request lines by command");
  for (auto [command, n] :
       {std::pair{"REQ", st.requests}, std::pair{"PING", st.pings},
        std::pair{"STREAM", st.stream_lines}, std::pair{"SLOW", st.slow_lines}}) {
    count(requests, {{"server", st.id}, {"command", command}}, n);
  }
  count(counter(registry, "l4sim_server_errors_total", "lines answered with ERR"), l, st.errors);
  auto& bytes = counter(registry, "l4sim_server_bytes_total",
                        "bytes on the server's connections; direction in: received, out: sent");
  count(bytes, {{"server", st.id}, {"direction", "in"}}, st.bytes_in);
  count(bytes, {{"server", st.id}, {"direction", "out"}}, st.bytes_out);
}

void add_client_metrics(prometheus::Registry& registry, const protocols::client_stats& st) {
  set(gauge(registry, "l4sim_client_target_rate", "clients started per second, as configured now"),
      {}, st.rate);
  count(counter(registry, "l4sim_client_capped_total",
                "arrivals skipped because max_active clients were open"),
        {}, st.capped);
  auto& started = counter(registry, "l4sim_client_started_total", "clients started");
  auto& active = gauge(registry, "l4sim_client_active", "clients started and not ended");
  auto& outcomes = counter(registry, "l4sim_client_outcomes_total",
                           "clients ended, by how: completed, stopped (the run ended), "
                           "closed_by_peer, reset, refused, timed_out, err_received, bad_reply");
  auto& requests = counter(registry, "l4sim_client_requests_total", "requests answered");
  auto& bytes = counter(registry, "l4sim_client_bytes_total",
                        "bytes on client connections; direction out: sent, in: received");
  auto& durations = prometheus::BuildHistogram()
                        .Name("l4sim_client_request_duration_seconds")
                        .Help("time from a request to its answer")
                        .Register(registry);
  for (auto& row : st.rows) {
    auto type = protocols::to_string(row.kind);
    labels l{{"type", type}};
    count(started, l, row.started);
    set(active, l, static_cast<double>(row.active));
    for (std::size_t i = 0; i < protocols::client_end_count; ++i) {
      auto outcome = protocols::to_string(static_cast<protocols::client_end>(i));
      count(outcomes, {{"type", type}, {"outcome", outcome}}, row.ends[i]);
    }
    count(requests, l, row.requests);
    count(bytes, {{"type", type}, {"direction", "out"}}, row.bytes_out);
    count(bytes, {{"type", type}, {"direction", "in"}}, row.bytes_in);
    auto& bounds = protocols::latency_bucket_bounds();
    auto& histogram = durations.Add(l, bounds);
    if (row.latency_buckets.size() == bounds.size() + 1) {
      std::vector<double> increments(row.latency_buckets.begin(), row.latency_buckets.end());
      histogram.ObserveMultiple(increments, row.latency_sum_seconds);
    }
  }
}

std::string serialize_metrics(const prometheus::Registry& registry) {
  std::ostringstream out;
  prometheus::TextSerializer{}.Serialize(out, registry.Collect());
  return out.str();
}

}  // namespace l4sim::apps
