#!/usr/bin/env bash
# The original README's "Simulation Guide", its four tests through compose commands as it
# writes them, against the stack up.sh started.
#   tests/containers/guide.sh STATE_DIR 1|2|3|4
# shellcheck source=tests/containers/lib.sh
. "$(dirname "$0")/lib.sh"
load_stack
test_no=${1:?which test: 1, 2, 3 or 4}

# The lb's health interval in compose.yaml (LB_HEALTH_INTERVAL) and probe timeout (default).
interval=3
probe_timeout=1

# Test 1: "After 30 seconds the total column across all three backends should be within 2-3
# of each other." The lb started once all three were healthy, so that is its warm-up; the
# check waits for 10 connections a backend (about 15 s at CLIENT_RATE=2) instead of 30 s.
guide_1() {
  enough() {
    local t
    for s in server-1 server-2 server-3; do
      t=$(total_of "$s")
      [ "$t" -ge 10 ] || return 1
    done
  }
  wait_until 120 "every backend has 10 connections" enough ||
    { lb_totals; fail "the lb's stats never showed 10 connections on each backend"; }
  # As the guide has it, from `docker compose logs lb`.
  local totals
  totals=$(compose_log lb | totals_in)
  echo "$totals"
  awk '{ if ($3 != "UP") bad = bad " " $1 " is " $3 } END { if (bad) { print "FAIL:" bad; exit 1 } }' <<<"$totals"
  awk '$1 ~ /^server-/ { if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2 }
    END { printf "totals spread %d (min %d, max %d)\n", max - min, min, max; exit !(max - min <= 3) }' <<<"$totals" ||
    fail "round robin spread the connections more than 3 apart"
}

# Test 2: "docker compose stop server-1" — "within 3 seconds (one health interval):
# [health] backend server-1:8080  DOWN"; "docker compose start server-1" — "within 3 seconds
# it comes back UP and receives connections again". A probe can take its timeout to fail; DOWN
# is counted from when the container stopped, UP from when its restarted server said it was
# ready (the container's start time), both by docker's timestamps.
guide_2() {
  local down_line up_line ready_line before s1
  before=$(service_log lb | grep -cF '[health] backend server-1:8080  UP' || true)
  s1=$(container_of server-1)
  log "docker compose stop server-1"
  dc stop server-1
  wait_until $((interval * 5)) "the lb logged server-1 DOWN" \
    log_has lb '[health] backend server-1:8080  DOWN' || fail "no DOWN for server-1 in the lb's log"
  down_line=$(compose_log lb -t | grep -F '[health] backend server-1:8080  DOWN' | tail -n 1)
  echo "  $down_line"
  local stopped_at down_at
  stopped_at=$(date -u -d "$(docker inspect -f '{{.State.FinishedAt}}' "$s1")" +%s.%N)
  down_at=$(stamp_of "$down_line")
  within "$stopped_at" "$down_at" $((interval + probe_timeout)) ||
    fail "DOWN came more than one interval ($interval s) plus a probe timeout ($probe_timeout s) after server-1 stopped"
  log "DOWN $(awk -v a="$stopped_at" -v b="$down_at" 'BEGIN{printf "%.2f", b-a}') s after server-1's container stopped"

  log "docker compose start server-1"
  local start_at
  start_at=$(now)
  dc start server-1
  up_seen() { [ "$(service_log lb | grep -cF '[health] backend server-1:8080  UP' || true)" -gt "$before" ]; }
  wait_until $((interval * 10)) "the lb logged server-1 UP" up_seen || fail "no UP for server-1 after start"
  up_line=$(compose_log lb -t | grep -F '[health] backend server-1:8080  UP' | tail -n 1)
  # The container's log has both runs of server-1: its start time ends at the last ready line.
  ready_line=$(compose_log server-1 -t | grep -F 'l4sim-ready service=server' | tail -n 1)
  echo "  $ready_line"
  echo "  $up_line"
  local up_at ready_at
  up_at=$(stamp_of "$up_line")
  ready_at=$(stamp_of "$ready_line")
  within "$start_at" "$ready_at" 30 || fail "server-1 was not ready within 30 s of start"
  within "$ready_at" "$up_at" $((interval + probe_timeout)) ||
    fail "UP came more than one interval plus a probe timeout after server-1 was ready"
  log "server-1 ready $(awk -v a="$start_at" -v b="$ready_at" 'BEGIN{printf "%.2f", b-a}') s after start; UP $(awk -v a="$ready_at" -v b="$up_at" 'BEGIN{printf "%.2f", b-a}') s after that"
  # "... and receives connections again": its total grows in the lb's table.
  local t0
  t0=$(total_of server-1)
  grows() { [ "$(total_of server-1)" -gt "$t0" ]; }
  wait_until 60 "server-1 receives connections again (its total was $t0)" grows ||
    fail "server-1 got no connection after it came back UP"
}

# Test 3: "changing compose to SERVER_DELAY_MS=2000, then restart it: docker compose up
# --build server-3", then "changing LB_ALGO=lc and restarting: docker compose up --build lb".
# The changes go in an override file, as a user would edit compose.yaml.
guide_3() {
  local override="$state/guide-3.yaml"
  cat >"$override" <<'YAML'
services:
  server-3:
    environment:
      SERVER_DELAY_MS: "2000"
  lb:
    environment:
      LB_ALGO: lc
YAML
  local old_s3 old_lb
  old_s3=$(container_of server-3)
  old_lb=$(container_of lb)
  L4SIM_OVERRIDES="$override"
  log "docker compose up --build server-3 (SERVER_DELAY_MS=2000)"
  dc up --build -d server-3 2>&1 | grep -vE '^ ---> |^Step [0-9]|^Removing intermediate' | tail -n 5
  local s3
  s3=$(container_of server-3)
  [ "$s3" != "$old_s3" ] || fail "server-3 was not recreated"
  [ "$(container_of lb)" = "$old_lb" ] || fail "up server-3 recreated the lb too"
  # The lb that was already running reaches the new container (a new one, maybe a new
  # address): connections counted on the new server-3, and server-3 UP in the lb's table.
  # The new container's own stats line counts client traffic (not only health probes).
  served() {
    docker logs "$s3" 2>&1 | grep -qE '^\[server-3\] up .* (req|ping|stream)=[1-9]' &&
      lb_totals | awk '$1 == "server-3" && $3 == "UP" { f = 1 } END { exit !f }'
  }
  wait_until 90 "the running lb sends clients to the recreated server-3" served ||
    { service_log lb | tail -n 30; docker logs "$s3" 2>&1 | tail -n 5;
      fail "the lb never reached the recreated server-3"; }
  docker logs "$s3" 2>&1 | grep -E '^\[server-3\] up ' | tail -n 1
  service_log lb | grep -E '\[(dns|health)\] backend server-3' | tail -n 4 || true

  log "docker compose up --build lb (LB_ALGO=lc)"
  dc up --build -d lb 2>&1 | grep -vE '^ ---> |^Step [0-9]|^Removing intermediate' | tail -n 5
  [ "$(container_of lb)" != "$old_lb" ] || fail "the lb was not recreated"
  # `up lb` may recreate server-1 and server-2 too (compose converges the lb's dependencies):
  # count from the new lb's first table with all three UP, so a restart does not count.
  all_up() {
    lb_totals | awk '$4 == "lc" && $3 == "UP" { n++ } END { exit !(n == 3) }'
  }
  wait_until 120 "the new lb (lc) has all three backends UP" all_up ||
    { lb_totals; fail "the new lb never had all three backends UP"; }
  # The guide goes on: "server-3's active stays high while it's busy with slow requests. The
  # LB stops sending to it and floods server-1 and server-2 instead." With compose's client
  # mix (the original's five kinds: idle and stream clients hold connections on every
  # backend) lc levels the active counts and server-3's share of new connections is noise
  # around a third: over about 120 new connections on server-1 and server-2 it got 0.76 and
  # 1.13 of their mean, over 40-70 0.64, 0.64 and 0.98, in five runs here. So that share is
  # printed, not asserted;
  # lc's effect under a slow backend is asserted against this same stack by the scenario
  # least-conn-delay (scenarios.sh: request/response clients, server-3's share at most 0.25).
  # Asserted here: the slow requests reach the clients through the lb, i.e. the client
  # service's real-request p99 reaches the new 2 s delay (it was 500 ms at most before).
  slow_seen() {
    service_log client | awk '/^\[clients\]/ && / real:/ { l = $0 }
      END { if (!match(l, /real:p50=[^ ]*\/p99=[0-9.]+(us|ms|s)/)) exit 1
        v = substr(l, RSTART, RLENGTH); sub(/.*p99=/, "", v)
        n = v + 0; if (v ~ /us$/) n /= 1e6; else if (v ~ /ms$/) n /= 1e3
        exit !(n >= 1.9) }'
  }
  wait_until 90 "the clients' real-request p99 reached server-3's 2 s delay" slow_seen ||
    { service_log client | grep '^\[clients\]' | tail -n 2; fail "no real request took server-3's 2 s"; }
  service_log client | grep '^\[clients\]' | tail -n 1
  local base
  base=$(lb_totals)
  gained() {
    lb_totals | awk -v base="$base" '
      BEGIN { n = split(base, l, "\n"); for (i = 1; i <= n; i++) { split(l[i], f, " "); b[f[1]] = f[2] } }
      { print $1, $2 - b[$1] }'
  }
  lc_some() { gained | awk '$1 != "server-3" { n += $2 } END { exit !(n >= 40) }'; }
  if wait_until 60 "server-1 and server-2 have 40 more connections under lc" lc_some; then
    gained | awk '{ t[$1] = $2 } END { fast = (t["server-1"] + t["server-2"]) / 2
      printf "new connections under lc: server-1 %d, server-2 %d, server-3 %d (%.2f of the fast two'"'"'s mean; not asserted)\n",
        t["server-1"], t["server-2"], t["server-3"], fast ? t["server-3"] / fast : 0 }'
  fi
}

# Test 4: "Set SERVER_MAX_CONNS=10 on server-2 and increase CLIENT_RATE=20: docker compose up
# --build" — "Server-2 logs will show: [server-2] at capacity (10/10) — dropping ..." and
# "The LB continues routing to server-1 and server-3 unaffected."
guide_4() {
  local override="$state/guide-4.yaml"
  cat >"$override" <<'YAML'
services:
  server-2:
    environment:
      SERVER_MAX_CONNS: "10"
  client:
    environment:
      CLIENT_RATE: "20"
YAML
  L4SIM_OVERRIDES="$override"
  log "docker compose up --build (server-2 SERVER_MAX_CONNS=10, CLIENT_RATE=20)"
  dc up --build -d 2>&1 | grep -vE '^ ---> |^Step [0-9]|^Removing intermediate' | tail -n 8
  wait_until 120 "server-2 is at capacity and drops" \
    log_has server-2 "[server-2] at capacity (10/10) — dropping" ||
    { service_log server-2 | tail -n 20; fail "server-2 never logged at capacity (10/10)"; }
  service_log server-2 | grep -F 'at capacity' | head -n 2
  local t1 t3
  t1=$(total_of server-1)
  t3=$(total_of server-3)
  others_grow() {
    lb_totals | awk -v a="$t1" -v b="$t3" '
      $1 == "server-1" && $3 == "UP" && $2 > a { x = 1 }
      $1 == "server-3" && $3 == "UP" && $2 > b { y = 1 } END { exit !(x && y) }'
  }
  wait_until 60 "server-1 and server-3 stay UP and keep receiving connections" others_grow ||
    { lb_totals; fail "server-1 or server-3 stopped receiving connections"; }
  lb_totals
}

"guide_$test_no"
log "guide test $test_no passed"
