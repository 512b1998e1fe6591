#!/usr/bin/env bash
# The virtual verdicts equal the live ones: each scenario named runs live (in-process, real
# sockets, its full length) and with --virtual, same seed; the per-expectation PASS/FAIL
# lists must match, and the virtual run must pass. A NAME:scaled entry plays its live side at
# --time-scale 0.5 (for time, as the test's CMake entry says; expectations are judged in
# scenario time either way).
# Also plays a test scenario that adds a backend, and checks that --virtual refuses a
# live-only flag (exit 2, naming it).
# Usage: verdicts.sh SIM SCENARIO_DIR OUT_DIR TEST_SCENARIO_DIR ENTRY...
set -euo pipefail
sim=$1 scenarios=$2 out=$3 test_scenarios=$4
shift 4
rm -rf "$out"
mkdir -p "$out"
verdicts() {  # verdicts FILE: prints "expectation<TAB>PASS|FAIL" lines of a JSON report
  python3 -c '
import json, sys
for v in json.load(open(sys.argv[1]))["verdicts"]:
    print(v["expectation"] + "\t" + ("PASS" if v["passed"] else "FAIL"))' "$1"
}
play() {  # play SCENARIO MODE [ARGS...]: writes OUT/SCENARIO-MODE.json; 0/1 are verdicts
  local scn=$1 mode=$2 rc=0
  shift 2
  timeout 300 "$sim" --scenarios "$scenarios" run "$scn" --json "$@" \
    >"$out/$scn-$mode.json" 2>"$out/$scn-$mode.err" || rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
    echo "FAIL: $scn $mode exited $rc"
    cat "$out/$scn-$mode.err"
    exit 1
  fi
}
for entry in "$@"; do
  scn=${entry%%:*}
  play "$scn" virtual --virtual
  verdicts "$out/$scn-virtual.json" >"$out/$scn-virtual.txt"
  if grep -q "FAIL$" "$out/$scn-virtual.txt"; then
    echo "FAIL: $scn fails with --virtual:"
    cat "$out/$scn-virtual.txt"
    exit 1
  fi
  live_args=() how=live
  if [ "$entry" = "$scn:scaled" ]; then
    live_args=(--time-scale 0.5) how="live at time scale 0.5"
  fi
  play "$scn" live "${live_args[@]}"
  verdicts "$out/$scn-live.json" >"$out/$scn-live.txt"
  if ! diff "$out/$scn-live.txt" "$out/$scn-virtual.txt"; then
    echo "FAIL: $scn: $how and virtual verdicts differ (< live, > virtual)"
    exit 1
  fi
  echo "ok: $scn: $how and virtual verdicts agree ($(wc -l <"$out/$scn-live.txt") expectations)"
done
# A timeline that adds a backend plays virtually too (the test-only topology-change).
rc=0
"$sim" run "$test_scenarios/topology-change.yaml" --virtual --quiet >"$out/topology.out" \
  2>"$out/topology.err" || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "FAIL: topology-change (add_backend, remove_backend) with --virtual exited $rc"
  cat "$out/topology.out" "$out/topology.err"
  exit 1
fi
echo "ok: topology-change (add_backend) passes with --virtual"
# What only live runs can do is refused with exit 2, naming it.
rc=0
"$sim" --scenarios "$scenarios" run round-robin --virtual --time-scale 0.5 >"$out/refused.out" \
  2>"$out/refused.err" || rc=$?
if [ "$rc" -ne 2 ] || ! grep -q "cannot be combined with --time-scale" "$out/refused.err"; then
  echo "FAIL: --virtual --time-scale: exit $rc, want 2 naming --time-scale"
  cat "$out/refused.err"
  exit 1
fi
echo "ok: --virtual --time-scale refused with exit 2: $(cat "$out/refused.err")"
