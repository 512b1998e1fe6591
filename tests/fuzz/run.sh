#!/usr/bin/env bash
# Builds the libFuzzer targets with clang into build-fuzz and runs each one for a few
# seconds from its seed corpus (tests/fuzz/corpus/<target>/, left unchanged): the CI step.
#   tests/fuzz/run.sh [seconds per target, default 10]
# Environment: L4SIM_FUZZ_BUILD_DIR (default build-fuzz), L4SIM_JOBS (default: cores).
# Exit 0 when no target crashed; a crashing input is kept as build-fuzz/artifacts/<target>-*.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${L4SIM_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${1:-10}
targets=(line_framer_fuzz scenario_loader_fuzz units_fuzz proxy_protocol_fuzz)

export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DL4SIM_FUZZ=ON -DL4SIM_TESTS=OFF >/dev/null
cmake --build "$build" -j "${L4SIM_JOBS:-$(nproc)}" --target "${targets[@]}" >&2
mkdir -p "$build/artifacts"
failed=0
for t in "${targets[@]}"; do
  # New inputs go to a scratch folder: the committed seeds stay small and hand-written.
  scratch=$(mktemp -d)
  if "$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" "$scratch" \
    "$root/tests/fuzz/corpus/$t" >"$build/$t.log" 2>&1; then
    echo "fuzz: $t: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/$t.log" |
      grep -o '[0-9]*$') runs in ${seconds}s, no crash"
  else
    echo "fuzz: $t: CRASH (log: $build/$t.log)"
    tail -n 40 "$build/$t.log"
    failed=1
  fi
  rm -rf "$scratch"
done
exit "$failed"
