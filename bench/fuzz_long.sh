#!/usr/bin/env bash
# Runs every libFuzzer target for at least 10 million executions (one after the other, one
# core each) and prints, per target, the executions, the time taken and the crashes.
#   bench/fuzz_long.sh [runs per target, default 10000000]
# Builds with clang into build-fuzz-long with UBSan but without ASan, which would slow the
# loader (yaml-cpp) below 1,500 runs/s; tests/fuzz/run.sh (CI) keeps ASan. Inputs are capped
# at 1 KiB. Figures only: it never fails on time; it exits 1 when a target crashed (the
# input is in build-fuzz-long/artifacts/).
# Environment: L4SIM_FUZZ_LONG_BUILD_DIR, L4SIM_FUZZ_SANITIZERS (default undefined).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${L4SIM_FUZZ_LONG_BUILD_DIR:-$root/build-fuzz-long}
runs=${1:-10000000}
targets=(line_framer_fuzz units_fuzz scenario_loader_fuzz)

export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DL4SIM_FUZZ=ON -DL4SIM_TESTS=OFF \
  -DL4SIM_FUZZ_SANITIZERS="${L4SIM_FUZZ_SANITIZERS:-undefined}" >/dev/null || exit 2
cmake --build "$build" -j "${L4SIM_JOBS:-$(nproc)}" --target "${targets[@]}" >&2 || exit 2
mkdir -p "$build/artifacts"
printf '%-22s %12s %10s %12s %8s\n' target execs seconds execs/s crashes
status=0
for t in "${targets[@]}"; do
  corpus=$(mktemp -d)
  cp "$root/tests/fuzz/corpus/$t"/* "$corpus"/
  start=$SECONDS
  "$build/tests/fuzz/$t" -runs="$runs" -max_len=1024 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t-" "$corpus" >"$build/$t.long.log" 2>&1
  rc=$?
  took=$((SECONDS - start))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/$t.long.log" | grep -o '[0-9]*$')
  crashes=$(grep -c 'Test unit written to' "$build/$t.long.log")
  [ "$rc" -eq 0 ] || { [ "$crashes" -gt 0 ] || crashes=1; status=1; }
  printf '%-22s %12s %10s %12s %8s\n' "$t" "${execs:-?}" "$took" \
    "$(( ${execs:-0} / (took > 0 ? took : 1) ))" "$crashes"
  [ "$rc" -eq 0 ] || echo "  $t: exit $rc, log $build/$t.long.log" >&2
  rm -rf "$corpus"
done
exit "$status"
