#!/usr/bin/env bash
# compose.yaml's `observability` profile on the running stack, Prometheus only: Grafana is
# not in Debian (its profile service pulls the upstream image, which no registry here
# serves), so the test leaves it out. Prometheus is Debian's package, built from
# docker/prometheus.Dockerfile; it must scrape the lb, the three servers and the client
# (their /metrics on the compose network) with up=1, asked through its HTTP query API on
# 127.0.0.1:9090 as a user's Grafana would. Then it is removed again, its volume included.
#   tests/containers/observability.sh STATE_DIR
# shellcheck source=tests/containers/lib.sh
. "$(dirname "$0")/lib.sh"
load_stack

teardown() {
  dc --profile observability rm -sfv prometheus >/dev/null 2>&1 || true
  docker volume rm "${PROJECT}_prometheus-data" >/dev/null 2>&1 || true
}
trap teardown EXIT

start=$SECONDS
dc --profile observability up -d --build --no-deps prometheus 2>&1 | tail -n 5
log "prometheus built and started ($((SECONDS - start)) s)"

# The targets as compose.yaml's services name them (docker/prometheus.yml); each must be up.
want="client:9104 lb:9100 server-1:9101 server-2:9102 server-3:9103"
up_targets() {
  curl -fsS --max-time 5 'http://127.0.0.1:9090/api/v1/query?query=up' 2>/dev/null |
    jq -r '.data.result[] | select(.value[1] == "1") | .metric.instance' | sort | xargs
}
all_up() { [ "$(up_targets)" = "$want" ]; }
# Scrapes every 5 s; the first comes within one interval of Prometheus' start.
if ! wait_until 90 "prometheus scrapes every service with up=1: $want" all_up; then
  curl -fsS --max-time 5 'http://127.0.0.1:9090/api/v1/targets' | jq -c '.data.activeTargets[] |
    {instance: .labels.instance, health, lastError}' || true
  service_log prometheus | tail -n 20
  fail "prometheus has up=1 for \"$(up_targets)\", not for every one of \"$want\""
fi
# And a series the dashboard draws, through the same API: connections per backend.
series=$(curl -fsS --max-time 5 \
  'http://127.0.0.1:9090/api/v1/query?query=l4sim_backend_connections_total' |
  jq -r '.data.result[].metric.backend' | sort | xargs)
[ -n "$series" ] || fail "prometheus has no l4sim_backend_connections_total from the lb"
log "l4sim_backend_connections_total scraped from the lb for: $series"
