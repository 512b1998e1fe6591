#!/usr/bin/env bash
# Wall time of one scenario played on virtual time (`sim run NAME --virtual`) against the
# same scenario played live, median of N runs each. Usage:
#   bench/virtual.sh [SCENARIO] [RUNS]      (defaults: kill-backend 3)
# Environment: SIM (default build/apps/sim/sim). Prints one table; the live runs take the
# scenario's full length each.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scenario=${1:-kill-backend}
runs=${2:-3}
sim=${SIM:-$root/build/apps/sim/sim}
[ -x "$sim" ] || { echo "bench/virtual.sh: no sim binary at $sim (build first)" >&2; exit 2; }
case "$runs" in ''|*[!0-9]*) echo "bench/virtual.sh: RUNS must be a number" >&2; exit 2 ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Prints the wall seconds of one run and its exit code, e.g. "0.412 0".
one() {
  local start end rc=0
  start=$(date +%s.%N)
  "$sim" --scenarios "$root/scenarios" run "$scenario" --quiet "$@" >"$work/out" 2>&1 || rc=$?
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" -v rc="$rc" 'BEGIN {printf "%.3f %s\n", b - a, rc}'
}

median() { sort -n | awk '{a[NR]=$1} END {m=(NR+1)/2; printf "%.3f", (NR%2 ? a[m] : (a[m-0.5]+a[m+0.5])/2)}'; }

declare -A walls verdicts
for mode in virtual live; do
  : >"$work/$mode"
  verdicts[$mode]=""
  for ((i = 0; i < runs; i++)); do
    if [ "$mode" = virtual ]; then read -r wall rc < <(one --virtual); else read -r wall rc < <(one); fi
    echo "$wall" >>"$work/$mode"
    verdicts[$mode]+="$rc"
  done
  walls[$mode]=$(median <"$work/$mode")
done
printf "scenario %s, %s runs each (exit codes in order)\n" "$scenario" "$runs"
printf "%-8s %10s  %s\n" mode "wall s" "exit codes"
for mode in virtual live; do
  printf "%-8s %10s  %s\n" "$mode" "${walls[$mode]}" "${verdicts[$mode]}"
done
awk -v l="${walls[live]}" -v v="${walls[virtual]}" 'BEGIN {printf "speed-up %9.1fx\n", l / v}'
