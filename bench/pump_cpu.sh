#!/usr/bin/env bash
# The lb's CPU per unit of work for each byte pump: user+sys seconds the lb process spent
# while a fixed amount of traffic went through it. CPU time is what a busy machine distorts
# least (rates on a loaded machine mean nothing); for rates use bench/compare.sh.
#
#   bench/pump_cpu.sh [--reps N] [--pumps direct,splice] [--bytes 4G] [--streams 1]
#                     [--redis-requests 20000]
#
# Per repetition and pump, in turn: a fresh lb (LB_LOOPS=1) in front of an iperf3 server,
# `iperf3 -n BYTES -P STREAMS` through it, and a fresh lb in front of a redis-server,
# `redis-benchmark -c 50 -n REQUESTS -t ping,get` through it; prints one line each with the
# lb's CPU (from /proc/PID/stat) per GB or per request. Environment: L4SIM_BUILD_DIR
# (default build) locates apps/lb/lb. Loopback only, every tool bounded by `timeout`.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
lb_bin="$root/${L4SIM_BUILD_DIR:-build}/apps/lb/lb"
reps=2 pumps=direct,splice bytes=4G streams=1 redis_requests=20000
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift ;;
    --pumps) pumps=$2; shift ;;
    --bytes) bytes=$2; shift ;;
    --streams) streams=$2; shift ;;
    --redis-requests) redis_requests=$2; shift ;;
    *) echo "pump_cpu.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$lb_bin" ] || { echo "pump_cpu.sh: no lb at $lb_bin (build first)" >&2; exit 2; }
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_sec=$(getconf CLK_TCK)

# start_lb PUMP LB_PORT BACKEND_PORT: starts an lb and waits until it has its backend UP.
start_lb() {
  LB_PORT=$2 LB_ID=bench LB_BACKENDS="127.0.0.1:$3" LB_PUMP=$1 LB_LOOPS=1 \
    LB_HEALTH_INTERVAL=1 LB_STATS_INTERVAL=0 "$lb_bin" >"$tmp/lb.log" 2>&1 &
  lb_pid=$!
  pids+=("$lb_pid")
  # lb starts with its backends UP (until a probe fails) and prints "ready" once it listens.
  if python3 "$here/bench_util.py" wait-listen "$2" 10 && grep -q "ready on port" "$tmp/lb.log"; then
    return 0
  fi
  echo "pump_cpu.sh: the lb did not start: $(head -c 300 "$tmp/lb.log")" >&2
  return 1
}

stop() { kill "$@" 2>/dev/null; wait "$@" 2>/dev/null; }

for rep in $(seq "$reps"); do
  for pump in ${pumps//,/ }; do
    read -r p_lb p_be < <(python3 "$here/bench_util.py" ports 2 | tr '\n' ' ')
    iperf3 -s -p "$p_be" >/dev/null 2>&1 &
    srv=$!
    python3 "$here/bench_util.py" wait-listen "$p_be" 10
    if start_lb "$pump" "$p_lb" "$p_be"; then
      t0=$(cpu_ticks "$lb_pid")
      timeout 120 iperf3 -c 127.0.0.1 -p "$p_lb" -P "$streams" -n "$bytes" -J >"$tmp/iperf.json" 2>&1
      t1=$(cpu_ticks "$lb_pid")
      gbit=$(python3 "$here/bench_util.py" iperf "$tmp/iperf.json" || echo err)
      awk -v r="$rep" -v p="$pump" -v b="$bytes" -v s="$streams" -v t=$((t1 - t0)) -v hz="$ticks_per_sec" -v g="$gbit" \
        'BEGIN { printf "rep %s %-7s iperf3 -n %s -P %s: lb CPU %.2f s (%s Gbit/s)\n", r, p, b, s, t / hz, g }'
      stop "$lb_pid"
    fi
    stop "$srv"

    read -r p_lb p_be < <(python3 "$here/bench_util.py" ports 2 | tr '\n' ' ')
    redis-server --bind 127.0.0.1 --port "$p_be" --save '' --appendonly no --daemonize no \
      >/dev/null 2>&1 &
    srv=$!
    python3 "$here/bench_util.py" wait-listen "$p_be" 10
    if start_lb "$pump" "$p_lb" "$p_be"; then
      t0=$(cpu_ticks "$lb_pid")
      timeout 120 redis-benchmark -p "$p_lb" -c 50 -n "$redis_requests" -t ping,get --csv \
        >"$tmp/redis.csv" 2>&1
      t1=$(cpu_ticks "$lb_pid")
      awk -v r="$rep" -v p="$pump" -v n="$redis_requests" -v t=$((t1 - t0)) -v hz="$ticks_per_sec" \
        'BEGIN { printf "rep %s %-7s redis-benchmark ping,get x %s: lb CPU %.1f us per request\n", r, p, n, t / hz * 1e6 / (2 * n) }'
      stop "$lb_pid"
    fi
    stop "$srv"
  done
done
