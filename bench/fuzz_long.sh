#!/usr/bin/env bash
# Runs every libFuzzer target for at least 10 million executions and prints, per target,
# the executions, the time taken and the crashes.
#   bench/fuzz_long.sh [--parallel] [runs per target, default 10000000]
# --parallel runs the targets at once (one core each) instead of one after the other.
# Builds with clang into build-fuzz-long with UBSan but without ASan, which would slow the
# loader (yaml-cpp) below 1,500 runs/s; tests/fuzz/run.sh (CI) keeps ASan. Inputs are capped
# at 1 KiB (640 bytes for the loader, for speed; its seeds include a compact one). Figures
# only: it never fails on time; it exits 1 when a target crashed (the input is in
# build-fuzz-long/artifacts/).
# Environment: L4SIM_FUZZ_LONG_BUILD_DIR, L4SIM_FUZZ_SANITIZERS (default undefined),
# L4SIM_FUZZ_MAX_SECONDS (stop each target after this long even short of the runs; 0 = no
# limit). Ctrl-C stops the targets; those interrupted are marked so, not counted as crashes.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${L4SIM_FUZZ_LONG_BUILD_DIR:-$root/build-fuzz-long}
parallel=0
if [ "${1:-}" = --parallel ]; then
  parallel=1
  shift
fi
runs=${1:-10000000}
targets=(line_framer_fuzz units_fuzz scenario_loader_fuzz)

export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DL4SIM_FUZZ=ON -DL4SIM_TESTS=OFF \
  -DL4SIM_FUZZ_SANITIZERS="${L4SIM_FUZZ_SANITIZERS:-undefined}" >/dev/null || exit 2
cmake --build "$build" -j "${L4SIM_JOBS:-$(nproc)}" --target "${targets[@]}" >&2 || exit 2
mkdir -p "$build/artifacts"

# Runs one target from a copy of its seeds; leaves "execs seconds crashes rc" in $t.result.
run_one() {
  local t=$1 corpus start rc took execs crashes max_len=1024
  [ "$t" = scenario_loader_fuzz ] && max_len=640
  corpus=$(mktemp -d)
  cp "$root/tests/fuzz/corpus/$t"/* "$corpus"/
  start=$SECONDS
  "$build/tests/fuzz/$t" -runs="$runs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
    -max_total_time="${L4SIM_FUZZ_MAX_SECONDS:-0}" -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t-" "$corpus" >"$build/$t.long.log" 2>&1
  rc=$?
  # libFuzzer exits 72 when interrupted (Ctrl-C, SIGTERM): figures so far, no crash.
  [ "$rc" -eq 72 ] && ! grep -q 'Test unit written to' "$build/$t.long.log" && rc=interrupted
  took=$((SECONDS - start))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/$t.long.log" | grep -o '[0-9]*$')
  crashes=$(grep -c 'Test unit written to' "$build/$t.long.log")
  [ "$rc" = 0 ] || [ "$rc" = interrupted ] || [ "$crashes" -gt 0 ] || crashes=1
  echo "${execs:-0} $took $crashes $rc" >"$build/$t.result"
  rm -rf "$corpus"
}

for t in "${targets[@]}"; do
  rm -f "$build/$t.result"
  if [ "$parallel" -eq 1 ]; then
    run_one "$t" &
  else
    run_one "$t"
  fi
done
wait

printf '%-22s %12s %10s %12s %8s\n' target execs seconds execs/s crashes
status=0
for t in "${targets[@]}"; do
  read -r execs took crashes rc <"$build/$t.result"
  printf '%-22s %12s %10s %12s %8s\n' "$t" "$execs" "$took" \
    "$((execs / (took > 0 ? took : 1)))" "$crashes"
  if [ "$rc" = interrupted ]; then
    echo "  $t: interrupted before $runs runs" >&2
  elif [ "$rc" != 0 ]; then
    echo "  $t: exit $rc, log $build/$t.long.log" >&2
    status=1
  fi
done
exit "$status"
