#!/usr/bin/env bash
# Every shipped scenario played with `sim run NAME --attach ...` against the compose stack:
# kill-backend as compose.yaml ships it (`docker compose --profile tools run --rm sim`, inside
# the compose network), every other one from the host through the control ports published
# on 127.0.0.1 with sim's certificate copied out of the control-certs volume. A scenario
# with add_backend must be refused by --attach (exit 2 naming it); one that needs balancer
# settings --attach does not push is listed and not played (attach_gap below); every other
# one must pass, each on the stack as compose.yaml makes it (restore_stack).
#   tests/containers/scenarios.sh STATE_DIR BIN_DIR
# shellcheck source=tests/containers/lib.sh
. "$(dirname "$0")/lib.sh"
load_stack
bin=${1:?usage: scenarios.sh STATE_DIR BIN_DIR}
sim="$bin/sim/sim"
[ -x "$sim" ] || fail "$sim is not built"

certs="$state/control-certs"
rm -rf "$certs"
docker cp "$(dc ps -aq certs)":/certs "$certs"
attach=lb=127.0.0.1:7100,server-1=127.0.0.1:7101,server-2=127.0.0.1:7102,server-3=127.0.0.1:7103,clients=127.0.0.1:7104
tls=(--control-cert "$certs/sim.crt" --control-key "$certs/sim.key" --control-ca "$certs/ca.crt")

failed=()
# A scenario that needs add_backend (a backend in sim's own process) cannot be attached:
# the shipped ones have none today, so the test-only topology-change.yaml stands in.
refuse=("$src/tests/scenarios/topology-change.yaml")
for f in "$src"/scenarios/*.yaml; do
  if grep -qE '^[[:space:]]*-[[:space:]]*\{?[^#]*add_backend' "$f"; then refuse+=("$f"); fi
done
for f in "${refuse[@]}"; do
  rc=0
  out=$(timeout 60 "$sim" run "$f" --quiet "${tls[@]}" --attach "$attach" 2>&1) || rc=$?
  if [ "$rc" -eq 2 ] && grep -q -- '--attach: .*add_backend' <<<"$out"; then
    log "$(basename "$f"): refused as expected: $out"
  else
    echo "$out"
    failed+=("$(basename "$f" .yaml) (not refused: exit $rc)")
  fi
done

# At the end of a run sim ends the client service's run, and that process exits: compose's
# `restart: unless-stopped` starts it again. Each scenario waits for the new one to be ready.
clients_ready() {
  local id
  id=$(container_of client)
  [ -n "$id" ] && [ "$(docker inspect -f '{{.State.Running}}' "$id")" = true ] || return 1
  docker logs "$id" 2>&1 |
    awk '/run ending/ { e = NR } /l4sim-ready service=client/ { r = NR } END { exit !(r > e) }'
}

# --attach leaves the services as the scenario's timeline left them, and the lb keeps the
# sessions of the run before: drain's `remove_backend server-2` took server-2 out of the lb
# for good (least-conn-delay then gave it no connection at all), and after kill-backend
# least-conn-delay once gave server-1 a share of 0.125 and once 0.276 (expected at least
# 0.3). Each scenario starts on a new lb process as compose.yaml makes it: `docker compose
# restart lb` (its settings from its env again), then its table lists server-1..3 with
# weight 1, all UP (a backend killed and restarted by the last timeline is waited for); then
# `restart client`: the client process counts its connections from its start, and the lb's
# restart cut the ones it had open (drain's stream clients then failed 0.13, not 0.03).
lb_table() {
  service_log lb | awk '
    / algorithm=/ { delete r }
    /^  backend / { for (i = 1; i <= NF; i++) { if ($i == "state") sc = i; if ($i == "weight") wc = i } }
    /^  server-[0-9]/ && sc && wc { r[$1] = $sc " " $wc }
    END { for (k in r) print k, r[k] }' | sort
}
as_composed() { lb_table | awk '$2 == "UP" && $3 == 1 { n++ } END { exit !(n == 3) }'; }
restore_stack() {
  local lb_id ready_before
  lb_id=$(container_of lb)
  ready_before=$(docker logs "$lb_id" 2>&1 | grep -c 'l4sim-ready service=lb' || true)
  dc restart lb 2>&1 | grep -v '^Restarting' || true
  restarted() {
    [ "$(docker logs "$lb_id" 2>&1 | grep -c 'l4sim-ready service=lb' || true)" -gt "$ready_before" ]
  }
  wait_until 60 "a new lb process" restarted || fail "the lb did not restart"
  # Its first table comes one stats interval after it started; the old one's is still last.
  first_table() {
    [ "$(docker logs "$lb_id" 2>&1 | awk '/l4sim-ready service=lb/ { n = 0 } / algorithm=/ { n++ } END { print n + 0 }')" -ge 1 ]
  }
  wait_until 30 "the new lb printed its first table" first_table || fail "the new lb printed no table"
  wait_until 60 "the lb lists server-1..3 UP with weight 1" as_composed ||
    { lb_table; fail "the lb's backends did not come back as compose.yaml has them"; }
  local client_id client_before
  client_id=$(container_of client)
  client_before=$(docker logs "$client_id" 2>&1 | grep -c 'l4sim-ready service=client' || true)
  dc restart client 2>&1 | grep -v '^Restarting' || true
  client_new() {
    [ "$(docker inspect -f '{{.State.Running}}' "$client_id")" = true ] &&
      [ "$(docker logs "$client_id" 2>&1 | grep -c 'l4sim-ready service=client' || true)" -gt "$client_before" ]
  }
  wait_until 60 "a new client process" client_new || fail "the client service did not restart"
}

# Scenarios that need balancer settings --attach does not push: it pushes each backend's
# delay, hang, idle timeout, max_conns and chaos, the algorithm, the client rate and mix
# (apps/sim/stages.cpp, attach_stage); the lb keeps what compose.yaml's env gave it. Played
# against compose's lb they fail for that alone, so they are not played; each is listed
# below with what it needs, and the run says so. An entry that names no shipped scenario
# fails the test, so the list cannot outlive them.
declare -A attach_gap=(
  [max-conns-queue]="per-backend maxconn and queue_timeout, on two backends (compose's lb has three)"
  [outlier-ejection]="outlier detection, retries and retry_backoff, a 1 h health interval"
  [retry-backoff]="retries and retry_backoff, a 1 h health interval"
  [slow-start]="slow_start and a 1 s health interval"
  [sticky-sessions]="algorithm hash with hash_balance 0 and send_proxy v2 (backends accept_proxy)"
  [weighted]="backend weights 3:1:1"
)
for name in "${!attach_gap[@]}"; do
  [ -f "$src/scenarios/$name.yaml" ] || fail "attach_gap lists $name, which is no shipped scenario"
done
not_played=()

for f in "$src"/scenarios/*.yaml; do
  name=$(basename "$f" .yaml)
  case " ${refuse[*]} " in *" $f "*) continue ;; esac
  if [ -n "${attach_gap[$name]:-}" ]; then
    log "$name: NOT PLAYED with --attach: it needs ${attach_gap[$name]}, which --attach does not push"
    not_played+=("$name")
    continue
  fi
  restore_stack
  wait_until 90 "the client service is ready" clients_ready ||
    { service_log client | tail -n 20; fail "the client service did not come back"; }
  rc=0
  start=$SECONDS
  if [ "$name" = kill-backend ]; then
    log "$name: docker compose --profile tools run --rm sim"
    dc_argv
    out=$(timeout 300 "${DC[@]}" --profile tools run --rm sim 2>&1) || rc=$?
  else
    log "$name: sim run $name --attach (from the host)"
    out=$(timeout 300 "$sim" run "$name" --quiet "${tls[@]}" --attach "$attach" 2>&1) || rc=$?
  fi
  echo "$out" | tail -n 15
  if [ "$rc" -eq 0 ]; then
    log "$name passed in $((SECONDS - start)) s"
  else
    log "$name FAILED (exit $rc) in $((SECONDS - start)) s"
    failed+=("$name (exit $rc)")
  fi
done
[ ${#not_played[@]} -eq 0 ] ||
  log "not played (their balancer settings cannot be attached): ${not_played[*]}"
[ ${#failed[@]} -eq 0 ] || fail "scenarios: ${failed[*]}"
log "every other scenario passed against the compose stack"
