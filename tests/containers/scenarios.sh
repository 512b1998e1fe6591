#!/usr/bin/env bash
# Every shipped scenario played with `sim run NAME --attach ...` against the compose stack:
# kill-backend as compose.yaml ships it (`docker compose --profile tools run --rm sim`, inside
# the compose network), every other one from the host through the control ports published
# on 127.0.0.1 with sim's certificate copied out of the control-certs volume. A scenario
# with add_backend must be refused by --attach (exit 2 naming it); the others must pass.
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

for f in "$src"/scenarios/*.yaml; do
  name=$(basename "$f" .yaml)
  case " ${refuse[*]} " in *" $f "*) continue ;; esac
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
[ ${#failed[@]} -eq 0 ] || fail "scenarios: ${failed[*]}"
log "every scenario passed against the compose stack"
