#!/usr/bin/env bash
# Soak the lb (bench/soak.py): N GiB of random chunks and half-closes byte-exact, connection
# churn back to the fd baseline, RSS per session under slowloris + slow readers. Prints
# figures; never fails on time. Arguments go to soak.py (--gb, --conns, --slow, ...).
# Environment: L4SIM_BUILD_DIR (default build) locates apps/lb/lb.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${L4SIM_BUILD_DIR:-build}
case "$build_dir" in /*) ;; *) build_dir="$root/$build_dir" ;; esac
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec timeout 1800 python3 "$root/bench/soak.py" --lb "$build_dir/apps/lb/lb" "$@"
