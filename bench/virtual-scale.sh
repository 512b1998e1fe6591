#!/usr/bin/env bash
# Scale of `sim run --virtual` (issue 16), two benchmarks, not part of ctest:
#   rate   120 s of scenario time at 1,000 new clients/s (goal: under 60 s wall)
#   conns  100,000 concurrent simulated connections in one process (goal: under 2 GiB RSS)
# Usage: bench/virtual-scale.sh [rate|conns|all]   (default all)
# Environment: SIM (default build/apps/sim/sim), RATE_SECONDS (120), CONNS (100000).
# Prints wall seconds, user CPU seconds and peak RSS from /usr/bin/time -v per benchmark.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
which=${1:-all}
sim=${SIM:-$root/build/apps/sim/sim}
rate_seconds=${RATE_SECONDS:-120}
conns=${CONNS:-100000}
[ -x "$sim" ] || { echo "bench/virtual-scale.sh: no sim binary at $sim (build first)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench/virtual-scale.sh: needs /usr/bin/time (package time)" >&2; exit 2; }
for n in "$rate_seconds" "$conns"; do
  case "$n" in ''|*[!0-9]*) echo "bench/virtual-scale.sh: RATE_SECONDS and CONNS are numbers" >&2; exit 2 ;; esac
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs one scenario file virtually under /usr/bin/time -v; prints a table row.
measure() {
  local label=$1 file=$2 rc=0
  /usr/bin/time -v "$sim" run "$file" --virtual --quiet \
    >"$work/$label.out" 2>"$work/$label.time" || rc=$?
  awk -v label="$label" -v rc="$rc" -F': ' '
    /Elapsed \(wall clock\)/ { n = split($2, p, ":"); wall = (n == 3 ? p[1] * 3600 + p[2] * 60 + p[3] : p[1] * 60 + p[2]) }
    /User time/ { user = $2 }
    /Maximum resident set size/ { rss = $2 }
    END { printf "%-6s %9.2f %9.2f %10.1f  %s\n", label, wall, user, rss / 1024, rc }' "$work/$label.time"
  grep -E "^total|^verdict|observed" "$work/$label.out" | sed 's/^/         /' || true
}

cat >"$work/rate.yaml" <<YAML
name: rate
description: 1,000 new clients/s for ${rate_seconds}s on virtual time.
duration: ${rate_seconds}s
seed: 1
backends:
  - {id: server-1, delay: 5ms}
  - {id: server-2, delay: 5ms}
  - {id: server-3, delay: 5ms}
balancer: {algorithm: rr, max_conns: 0}
# Clients that finish (real: a few requests; fire_and_forget): the load is the arrival
# rate. Streams and idle clients stay until the end, so their load grows with the run.
clients: {rate: 1000/s, mix: {real: 70, fire_and_forget: 30}}
expect:
  - {clients: all, failures: 0.01}
YAML

# Idle clients stay connected until the run ends: no idle timeout anywhere, no caps.
seconds=10
cat >"$work/conns.yaml" <<YAML
name: conns
description: ${conns} idle clients connected at once through the balancer.
duration: ${seconds}s
seed: 1
backends:
  - {id: server-1, idle_timeout: 0s}
  - {id: server-2, idle_timeout: 0s}
  - {id: server-3, idle_timeout: 0s}
  - {id: server-4, idle_timeout: 0s}
balancer: {max_conns: 0, client_timeout: 0s, server_timeout: 0s, tunnel_timeout: 0s}
clients: {rate: $((conns / seconds))/s, mix: {idle: 1}}
expect:
  - {backend: server-1, counter: max_active, at_least: $((conns / 4 - 10))}
  - {backend: server-4, counter: max_active, at_least: $((conns / 4 - 10))}
  - {clients: all, failures: 0}
YAML

printf "%-6s %9s %9s %10s  %s\n" bench "wall s" "user s" "RSS MiB" "exit"
case "$which" in
  rate) measure rate "$work/rate.yaml" ;;
  conns) measure conns "$work/conns.yaml" ;;
  all) measure rate "$work/rate.yaml"; measure conns "$work/conns.yaml" ;;
  *) echo "bench/virtual-scale.sh: rate, conns or all" >&2; exit 2 ;;
esac
