#!/usr/bin/env bash
# Each service in its own network namespace with its own address on a bridge the test
# makes itself; server-1's link is taken down: the balancer must mark it DOWN and keep
# serving through server-2. Exit 0 pass, 1 fail, 77 skip (not root, or no `ip netns`).
# Traffic stays inside namespaces this script created; everything is removed on exit.
set -u
bin=${1:?usage: cut_link.sh BUILD_APPS_DIR}

# ctest hides a skipped test's output; scripts/l4sim test prints every "l4sim-skip:" line.
skip() { echo "l4sim-skip: netns cut_link.sh: $*"; exit 77; }
if [ "$(id -u)" -ne 0 ]; then
  skip "needs root to create network namespaces (running as uid $(id -u))"
fi
if ! command -v ip >/dev/null 2>&1; then
  skip "needs iproute2's ip (not found on PATH)"
fi
tag="l4n$$"
hub="$tag-hub"
if ! err=$(ip netns add "$hub" 2>&1); then
  skip "cannot create network namespaces here: $err"
fi
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  for ns in "$tag-s1" "$tag-s2" "$tag-lb" "$hub"; do ip netns del "$ns" 2>/dev/null; done
  [ -n "${log:-}" ] && rm -rf "$log"
}
trap cleanup EXIT

# A bridge in the hub namespace, one veth per service namespace. 10.231.0.0/24 exists only
# inside these namespaces.
ip -n "$hub" link add br0 type bridge && ip -n "$hub" link set br0 up
join() {  # namespace, short name, address
  ip netns add "$1"
  ip link add "$2-h" netns "$hub" type veth peer name eth0 netns "$1"
  ip -n "$hub" link set "$2-h" master br0 up
  ip -n "$1" addr add "$3/24" dev eth0
  ip -n "$1" link set eth0 up
  ip -n "$1" link set lo up
}
join "$tag-s1" s1 10.231.0.11 && join "$tag-s2" s2 10.231.0.12 && join "$tag-lb" lb 10.231.0.2 ||
  skip "cannot wire veth pairs here"

log=$(mktemp -d)
wait_for() {  # file, text, seconds[, more than this many matching lines]
  local end=$((SECONDS + $3)) more=${4:-0}
  while [ $SECONDS -lt $end ]; do
    [ "$(grep -c "$2" "$1")" -gt "$more" ] && return 0
    sleep 0.05
  done
  return 1
}
ip netns exec "$tag-s1" env SERVER_PORT=8080 SERVER_ID=server-1 SERVER_STATS_INTERVAL=0 \
  "$bin/server/server" >"$log/s1" 2>&1 & pids+=($!)
ip netns exec "$tag-s2" env SERVER_PORT=8080 SERVER_ID=server-2 SERVER_STATS_INTERVAL=0 \
  "$bin/server/server" >"$log/s2" 2>&1 & pids+=($!)
fail() { echo "FAIL: $*"; for f in lb s1 s2; do echo "--- $f"; cat "$log/$f" 2>/dev/null; done; exit 1; }
# The balancer starts once the servers listen: its first probe must find them.
wait_for "$log/s1" "ready on port" 30 || fail "server-1 did not start"
wait_for "$log/s2" "ready on port" 30 || fail "server-2 did not start"
ip netns exec "$tag-lb" env LB_PORT=9000 LB_ID=lb-n LB_HOST=127.0.0.1 LB_STATS_INTERVAL=0 \
  LB_BACKENDS=server-1=10.231.0.11:8080,server-2=10.231.0.12:8080 \
  LB_HEALTH_INTERVAL=0.3 LB_HEALTH_TIMEOUT=0.3 LB_CONNECT_TIMEOUT_MS=1000 \
  "$bin/lb/lb" </dev/null >"$log/lb" 2>&1 & pids+=($!)

round_trip() {
  ip netns exec "$tag-lb" bash -c 'exec 3<>/dev/tcp/127.0.0.1/9000 && printf "REQ 1\n" >&3 &&
    timeout 5 head -n1 <&3' 2>/dev/null | grep -q '^ACK'
}

wait_for "$log/lb" "ready on port" 30 || fail "lb did not start"
# Until both backends have been probed UP once (a fresh bridge port may drop the first
# probes), round trips may fail; then four in a row must pass.
end=$((SECONDS + 30))
until round_trip && round_trip && round_trip && round_trip; do
  [ $SECONDS -lt $end ] || fail "no four round trips in a row through both backends"
  sleep 0.1
done

# Count earlier transitions (an early probe may have raced server-1's start).
down_before=$(grep -c "backend 10.231.0.11:8080  DOWN" "$log/lb")
up_before=$(grep -c "backend 10.231.0.11:8080  UP" "$log/lb")
ip -n "$hub" link set s1-h down
wait_for "$log/lb" "backend 10.231.0.11:8080  DOWN" 30 "$down_before" || fail "server-1 not marked DOWN"
for i in 1 2 3 4 5 6; do round_trip || fail "round trip $i after the cut"; done
ip -n "$hub" link set s1-h up
wait_for "$log/lb" "backend 10.231.0.11:8080  UP" 30 "$up_before" || fail "server-1 not UP again"
echo "pass: server-1 DOWN after its link went down, 6 round trips served by server-2, UP again"
