#!/usr/bin/env bash
# Virtual runs are deterministic: the same scenario and seed give byte-identical report.json
# and timeseries.csv on two runs, and another seed gives another run (its timeseries.csv
# differs). Usage: determinism.sh SIM SCENARIO_DIR OUT_DIR SCENARIO...
set -euo pipefail
sim=$1 scenarios=$2 out=$3
shift 3
rm -rf "$out"
mkdir -p "$out"
play() {  # play SCENARIO SEED NAME: runs one virtual run; a verdict may pass or fail
  local rc=0
  timeout 300 "$sim" --scenarios "$scenarios" run "$1" --virtual --seed "$2" --quiet \
    --report "$out/$3" >"$out/$3.log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
    echo "FAIL: $1 seed $2 exited $rc"
    cat "$out/$3.log"
    exit 1
  fi
}
for scn in "$@"; do
  name=$(basename "$scn" .yaml)
  play "$scn" 11 "$name-a"
  play "$scn" 11 "$name-b"
  play "$scn" 12 "$name-other"
  for f in report.json timeseries.csv; do
    if ! cmp "$out/$name-a/$f" "$out/$name-b/$f"; then
      echo "FAIL: $name: $f differs between two runs with seed 11"
      diff "$out/$name-a/$f" "$out/$name-b/$f" | head -20
      exit 1
    fi
  done
  if cmp -s "$out/$name-a/timeseries.csv" "$out/$name-other/timeseries.csv"; then
    echo "FAIL: $name: seeds 11 and 12 gave the same timeseries.csv"
    exit 1
  fi
  echo "ok: $name: seed 11 twice byte-identical ($(wc -c <"$out/$name-a/timeseries.csv") bytes of timeseries), seed 12 differs"
done
