#!/usr/bin/env bash
# The balancer follows a backend whose name moves to another address (a recreated
# container), and starts with a name that does not resolve yet. The lb runs in a mount
# namespace of its own where /etc/hosts is a file this test owns and rewrites; servers
# listen on 127.0.0.2 and 127.0.0.3 (loopback only). Exit 0 pass, 1 fail, 77 skip (not
# root, or no unshare/mount namespaces here).
set -u
bin=${1:?usage: reresolve.sh BUILD_APPS_DIR}

if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null 2>&1; then
  echo "skip: needs root and util-linux's unshare (a private /etc/hosts for the lb)"; exit 77
fi
if ! unshare -m true 2>/dev/null; then
  echo "skip: cannot create mount namespaces here"; exit 77
fi
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

# Waits up to $3 seconds for file $1 to contain the fixed string $2.
wait_for() {
  local deadline=$((SECONDS + $3))
  while [ $SECONDS -lt $deadline ]; do
    grep -qF -- "$2" "$1" && return 0
    sleep 0.1
  done
  echo "FAIL: no \"$2\" in $1 within $3 s"; cat "$1"; return 1
}

serve() {  # log name, address, port
  SERVER_ID="$1" SERVER_HOST="$2" SERVER_PORT="$3" SERVER_STATS_INTERVAL=0 \
    "$bin/server/server" >"$dir/$1.log" 2>&1 &
  pids+=($!)
  wait_for "$dir/$1.log" "l4sim-ready" 20 || exit 1
}

serve first 127.0.0.2 0
port=$(sed -n 's/.*l4sim-ready service=server port=\([0-9]*\).*/\1/p' "$dir/first.log")
printf '127.0.0.1 localhost\n127.0.0.2 moving\n' >"$dir/hosts"
# `late` is not in the hosts file yet.
unshare -m sh -c "mount --bind '$dir/hosts' /etc/hosts && exec env LB_PORT=0 LB_ID=lb-dns \
  LB_HOST=127.0.0.1 LB_HEALTH_INTERVAL=0.2 LB_HEALTH_TIMEOUT=0.2 LB_STATS_INTERVAL=0 \
  LB_RESOLVE_INTERVAL=1 LB_BACKENDS=moving:$port,late:$port '$bin/lb/lb'" >"$dir/lb.log" 2>&1 &
pids+=($!)
wait_for "$dir/lb.log" "l4sim-ready" 20 || exit 1
grep -qF "backend late:" "$dir/lb.log" && grep -qF "DOWN until it resolves" "$dir/lb.log" ||
  { echo "FAIL: late was not kept as a DOWN backend"; cat "$dir/lb.log"; exit 1; }

# The name moves: the old server dies, a new one answers on the new address. The hosts file
# is rewritten in place (the bind mount follows the inode).
kill -9 "${pids[0]}"
wait_for "$dir/lb.log" "[health] backend moving:$port  DOWN" 20 || exit 1
serve second 127.0.0.3 "$port"
printf '127.0.0.1 localhost\n127.0.0.3 moving\n127.0.0.3 late\n' >"$dir/hosts.new"
cat "$dir/hosts.new" >"$dir/hosts"
wait_for "$dir/lb.log" "moving now resolves to 127.0.0.3 (was 127.0.0.2)" 20 || exit 1
wait_for "$dir/lb.log" "[health] backend moving:$port  UP" 20 || exit 1
wait_for "$dir/lb.log" "late now resolves to 127.0.0.3" 20 || exit 1
wait_for "$dir/lb.log" "[health] backend late:$port  UP" 20 || exit 1
echo "pass: re-resolved a moved name and a late one"
