#pragma once

// The Prometheus metrics of each service, built at scrape time from the snapshot its
// actors already report (balancer_stats, backend_stats, client_stats) with prometheus-cpp's
// metric model and text serializer. Counters are the service's own cumulative counts, so
// a scrape reads them and never resets them. Names follow Prometheus conventions (units
// in the name, `_total` for counters) and their meanings match HAProxy's and Envoy's:
// bytes `direction="in"` came from the client (HAProxy's bin), `"out"` went to it (bout).

#include <string>

#include <prometheus/registry.h>

#include "protocols/backend_messages.hpp"
#include "protocols/balancer_messages.hpp"
#include "protocols/client_messages.hpp"

namespace l4sim::apps {

/// Adds the balancer's metrics: `l4sim_backend_*{backend}` and `l4sim_balancer_*`.
void add_balancer_metrics(prometheus::Registry& registry, const protocols::balancer_stats& st);

/// Adds one backend server's metrics: `l4sim_server_*{server}`.
void add_server_metrics(prometheus::Registry& registry, const protocols::backend_stats& st);

/// Adds the client population's metrics: `l4sim_client_*{type}`, among them the histogram
/// `l4sim_client_request_duration_seconds`.
void add_client_metrics(prometheus::Registry& registry, const protocols::client_stats& st);

/// Renders `registry` in the Prometheus text exposition format (version 0.0.4).
std::string serialize_metrics(const prometheus::Registry& registry);

/// The content type of the text exposition format.
inline constexpr const char* metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace l4sim::apps
