#!/usr/bin/env bash
# The scenario's network on virtual time (docs/virtual-time.md): a scenario with a
# `network:` section and partition/heal/hold/release events passes with --virtual, is
# refused live (exit 2, naming the file, line and key), and --pace paces a virtual run.
# Usage: network.sh SIM TEST_SCENARIO_DIR OUT_DIR
set -euo pipefail
sim=$1 scenarios=$2 out=$3
rm -rf "$out"
mkdir -p "$out"
file=$scenarios/network-faults.yaml
fail() { echo "FAIL: $*"; exit 1; }

rc=0
timeout 120 "$sim" run "$file" --virtual --quiet >"$out/virtual.txt" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { cat "$out/virtual.txt"; fail "network-faults exits $rc with --virtual"; }
grep -q "verdict: PASS" "$out/virtual.txt" || fail "no PASS verdict"

# Live: the network is refused first, then (with loopback's network) the events.
rc=0
timeout 60 "$sim" run "$file" --quiet >"$out/live.txt" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "a live run with network: exits $rc, not 2"
grep -q "network-faults.yaml:7:[0-9]*: network.latency: a live run on loopback cannot model it" \
  "$out/live.txt" || { cat "$out/live.txt"; fail "the refusal does not name file:line and key"; }
rc=0
timeout 60 "$sim" run "$file" --quiet --set network.latency=50us --set network.jitter=0s \
  --set network.bandwidth=0 --set network.loss=0 --set network.window=128KiB \
  >"$out/live-events.txt" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "a live run with partition events exits $rc, not 2"
grep -q "partition in timeline event: a live run on loopback cannot model it" \
  "$out/live-events.txt" || { cat "$out/live-events.txt"; fail "partition is not named"; }
for mode in --services "--attach lb=127.0.0.1:1"; do
  rc=0
  # shellcheck disable=SC2086
  timeout 60 "$sim" run "$file" --quiet $mode >"$out/mode.txt" 2>&1 || rc=$?
  [ "$rc" -eq 2 ] || fail "$mode with network: exits $rc, not 2"
  grep -q "network.latency" "$out/mode.txt" || { cat "$out/mode.txt"; fail "$mode: key not named"; }
done

# sim validate: valid, and says a live run refuses it.
"$sim" validate "$file" | grep -q -- "--virtual only: a live run refuses its network" ||
  fail "sim validate does not say the file is --virtual only"

# --pace needs --virtual; with it, 2 s of scenario at pace 4 take at least 0.5 s of wall
# time (a lower bound: pacing only ever waits), and the status shows the virtual clock.
rc=0
"$sim" run "$file" --pace 1 --quiet >"$out/pace-live.txt" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "--pace without --virtual exits $rc, not 2"
grep -q -- "--pace paces a virtual run" "$out/pace-live.txt" || fail "--pace refusal unclear"
start=$(date +%s%N)
timeout 60 "$sim" run "$file" --virtual --duration 2s --pace 4 --set 'timeline=[]' \
  --set 'expect=[]' >"$out/paced.txt" 2>&1 || true
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$took_ms" -ge 500 ] || fail "2 s at --pace 4 took ${took_ms} ms (< 500 ms)"
# Piped, the view prints a status line per second of scenario time.
grep -q '^\[   1.00s\] server-1 ' "$out/paced.txt" || { cat "$out/paced.txt"; fail "no status at 1.00s"; }
echo "PASS (paced run: ${took_ms} ms wall)"
