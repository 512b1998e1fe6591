#!/usr/bin/env bash
# Every shipped scenario played with `sim run NAME --attach ...` against the compose stack:
# kill-backend as compose.yaml ships it (`docker compose --profile tools run --rm sim`, inside
# the compose network), every other one from the host through the control ports published
# on 127.0.0.1 with sim's certificate copied out of the control-certs volume. A scenario
# with add_backend must be refused by --attach (exit 2 naming it); an lb that does not run
# a scenario's settings must be refused too (exit 2 naming each variable); every scenario
# must pass, each on the lb and client that compose.yaml makes with the variables `sim env
# NAME lb|client` prints on top (scenario_env), restarted fresh (restore_stack).
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
servers_at=server-1=127.0.0.1:7101,server-2=127.0.0.1:7102,server-3=127.0.0.1:7103
attach=lb=127.0.0.1:7100,$servers_at,clients=127.0.0.1:7104
client_svc=client  # the client service sim drives
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
  id=$(container_of "$client_svc")
  [ -n "$id" ] && [ "$(docker inspect -f '{{.State.Running}}' "$id")" = true ] || return 1
  docker logs "$id" 2>&1 |
    awk '/run ending/ { e = NR } /l4sim-ready service=client/ { r = NR } END { exit !(r > e) }'
}

# --attach leaves the services as the scenario's timeline left them, and the lb keeps the
# sessions of the run before: drain's `remove_backend server-2` took server-2 out of the lb
# for good (least-conn-delay then gave it no connection at all), and after kill-backend
# least-conn-delay once gave server-1 a share of 0.125 and once 0.276 (expected at least
# 0.3). Each scenario starts on a new lb process with its settings (scenario_env): recreated
# by `up`, else `docker compose restart lb`; then its table lists the scenario's backends,
# all UP (a backend the last timeline left killed gets a new process first); then
# `restart client`: the client process counts its connections from its start, and the lb's
# restart cut the ones it had open (drain's stream clients then failed 0.13, not 0.03).
lb_table() {
  service_log lb | awk '
    / algorithm=/ { delete r }
    /^  backend / { for (i = 1; i <= NF; i++) { if ($i == "state") sc = i; if ($i == "weight") wc = i } }
    /^  server-[0-9]/ && sc && wc { r[$1] = $sc " " $wc }
    END { for (k in r) print k, r[k] }' | sort
}
# Every backend of the scenario UP in the lb's table and no other one.
as_planned() {
  lb_table | awk -v want="$planned" '
    { n++; if ($2 == "UP" && index(" " want " ", " " $1 " ")) up++ }
    END { exit !(n == split(want, w, " ") && up == n) }'
}
# A server whose last `kill` (over its control port: it stops listening, the process stays)
# no timeline `restart` followed, as retry-backoff leaves server-1: a new process, before
# the new lb probes it.
revive_killed() {
  local svc id before
  for svc in server-1 server-2 server-3; do
    id=$(container_of "$svc")
    docker logs "$id" 2>&1 | awk '/l4sim-ready service=server/ || /restarted:/ { k = 0 } /killed:/ { k = 1 }
      END { exit !k }' || continue
    before=$(docker logs "$id" 2>&1 | grep -c 'l4sim-ready service=server' || true)
    dc restart "$svc" 2>&1 | grep -v '^Restarting' || true
    server_new() { [ "$(docker logs "$id" 2>&1 | grep -c 'l4sim-ready service=server' || true)" -gt "$before" ]; }
    wait_until 60 "$svc, left killed, runs a new process" server_new || fail "$svc did not restart"
  done
}
restore_stack() {
  local lb_id ready_before=0
  revive_killed
  lb_id=$(container_of lb)
  # An lb that `up` just recreated is a new process already.
  if [ "$lb_id" = "${lb_before:-}" ]; then
    ready_before=$(docker logs "$lb_id" 2>&1 | grep -c 'l4sim-ready service=lb' || true)
    dc restart lb 2>&1 | grep -v '^Restarting' || true
  fi
  restarted() {
    [ "$(docker logs "$lb_id" 2>&1 | grep -c 'l4sim-ready service=lb' || true)" -gt "$ready_before" ]
  }
  wait_until 60 "a new lb process" restarted || fail "the lb did not restart"
  # Its first table comes one stats interval after it started; the old one's is still last.
  first_table() {
    [ "$(docker logs "$lb_id" 2>&1 | awk '/l4sim-ready service=lb/ { n = 0 } / algorithm=/ { n++ } END { print n + 0 }')" -ge 1 ]
  }
  wait_until 30 "the new lb printed its first table" first_table || fail "the new lb printed no table"
  wait_until 60 "the lb lists $planned UP" as_planned ||
    { lb_table; fail "the lb's backends did not come back as the scenario has them"; }
  local client_id client_before=0
  client_id=$(container_of "$client_svc")
  # A client recreated after the lb is new too; one started before the lb's restart is not
  # (and one in the lb's network namespace must join the new one).
  if [ "$client_id" != "${client_new_id:-}" ] || [ "$lb_id" = "${lb_before:-}" ]; then
    client_before=$(docker logs "$client_id" 2>&1 | grep -c 'l4sim-ready service=client' || true)
    dc restart "$client_svc" 2>&1 | grep -v '^Restarting' || true
  fi
  client_new() {
    [ "$(docker inspect -f '{{.State.Running}}' "$client_id")" = true ] &&
      [ "$(docker logs "$client_id" 2>&1 | grep -c 'l4sim-ready service=client' || true)" -gt "$client_before" ]
  }
  wait_until 60 "a new client process" client_new || fail "the client service did not restart"
}

# `sim env NAME lb|client` as an override file of compose's lb and client (their ports,
# control and admin settings stay compose.yaml's): what a user does to attach a scenario to
# the stack (README). A value that is not plain text fails the test rather than reach YAML.
compose_backends=server-1=server-1:8080,server-2=server-2:8081,server-3=server-3:8082
# Scenarios from the host play at half time (their lb's settings scaled alike, `sim env
# --time-scale`): the in-process suite plays every one at 0.2, and this keeps the step near
# five minutes. kill-backend, compose's own `sim` service, plays at 1.
scale=0.5
env_yaml() {
  local line
  while IFS= read -r line; do
    # A value that is not plain text fails the test (on stderr: stdout is the override file).
    [[ $line =~ ^[A-Z_]+=[A-Za-z0-9_.,:=/\ -]*$ ]] || fail "sim env printed \"$line\"" >&2
    printf "      %s: '%s'\n" "${line%%=*}" "${line#*=}"
  done
}
override="$state/scenario.yaml"
scenario_env() {
  local name=$1 lb_vars client_vars image
  client_svc=client
  lb_before=$(container_of lb)
  attach=lb=127.0.0.1:7100,$servers_at,clients=127.0.0.1:7104
  if [ "$name" = kill-backend ]; then
    # compose.yaml's own `sim` service plays it against the lb and client as shipped.
    L4SIM_OVERRIDES=
    planned="server-1 server-2 server-3"
    dc up -d --no-deps lb client 2>&1 | grep -vE '^(Recreating|Starting|.* is up-to-date)' || true
    client_new_id=
    return
  fi
  lb_vars=$("$sim" env "$name" lb --time-scale "$scale" --backends "$compose_backends") ||
    fail "sim env $name lb"
  # The client service keeps compose's target, rate (sim sets it) and stats period, and runs
  # until sim ends its run.
  client_vars=$("$sim" env "$name" client --time-scale "$scale" | grep -vE '^CLIENT_(RATE|DURATION_SECS|STATS_INTERVAL)=') ||
    fail "sim env $name client"
  {
    echo "services:"
    echo "  lb:"
    echo "    environment:"
    # The table restore_stack reads comes a second after the lb starts, not five.
    env_yaml <<<"$lb_vars
LB_STATS_INTERVAL=1"
    if grep -q '^CLIENT_SOURCE_ADDRESSES=[1-9]' <<<"$client_vars"; then
      # Clients from many loopback addresses (127.0.1.x) reach the lb only inside its own
      # network namespace: a client container that shares it (network_mode service:lb),
      # its control port published with the lb's. compose's client is stopped meanwhile.
      image=$(docker inspect -f '{{.Config.Image}}' "$(container_of client)")
      client_svc=client-in-lb
      attach=lb=127.0.0.1:7100,$servers_at,clients=127.0.0.1:7105
      echo "    ports: ['127.0.0.1:7105:7105']"
      echo "  $client_svc:"
      echo "    image: $image"
      echo "    command: [client]"
      echo "    restart: 'no'"
      echo "    network_mode: 'service:lb'"
      # CAF's node id is the network interfaces' MAC addresses and the pid: as PID 1 beside
      # the lb (PID 1 too) in one network namespace the client would be the lb's node, and
      # sim's messages to it would go to the lb process (finish: unexpected_message). Under
      # docker-init the client is not PID 1.
      echo "    init: true"
      echo "    volumes: ['control-certs:/certs:ro']"
      echo "    environment:"
      env_yaml <<<"$client_vars
CLIENT_TARGET=127.0.0.1:9000
CLIENT_CONTROL_PORT=0.0.0.0:7105
CLIENT_CONTROL_CERT=/certs/client.crt
CLIENT_CONTROL_KEY=/certs/client.key
CLIENT_CONTROL_CA=/certs/ca.crt"
    else
      echo "  client:"
      echo "    environment:"
      env_yaml <<<"$client_vars"
    fi
  } >"$override"
  planned=$(sed -n 's/^LB_BACKENDS=//p' <<<"$lb_vars" | tr ',' '\n' | sed 's/=.*//' | xargs)
  L4SIM_OVERRIDES=$override
  [ "$client_svc" = client ] || dc stop client 2>&1 | grep -v '^Stopping' || true
  # Recreates lb and client where their variables changed (the servers are not touched).
  client_before_up=$(container_of "$client_svc")
  dc up -d --no-deps lb "$client_svc" 2>&1 |
    grep -vE '^(Recreating|Starting|Creating|.* is up-to-date)' || true
  client_new_id=$(container_of "$client_svc")
  [ "$client_new_id" != "$client_before_up" ] || client_new_id=
}

# The lb as compose.yaml makes it does not run retry-backoff's settings: --attach refuses it,
# naming what differs and the command that prints what it needs.
planned="server-1 server-2 server-3"
restore_stack
rc=0
out=$(timeout 60 "$sim" run retry-backoff --quiet "${tls[@]}" --attach "$attach" 2>&1) || rc=$?
if [ "$rc" -eq 2 ] && grep -q 'LB_RETRY_BACKOFF=25ms,250ms (needs 50ms,400ms)' <<<"$out" &&
  grep -q 'sim env retry-backoff lb' <<<"$out"; then
  log "retry-backoff on compose's own lb: refused as expected: $out"
else
  echo "$out"
  failed+=("retry-backoff on compose's lb (not refused: exit $rc)")
fi

for f in "$src"/scenarios/*.yaml; do
  name=$(basename "$f" .yaml)
  case " ${refuse[*]} " in *" $f "*) continue ;; esac
  scenario_env "$name"
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
    log "$name: sim run $name --time-scale $scale --attach (from the host)"
    out=$(timeout 300 "$sim" run "$name" --time-scale "$scale" --quiet "${tls[@]}" \
      --attach "$attach" 2>&1) || rc=$?
  fi
  echo "$out" | tail -n 15
  if [ "$client_svc" != client ]; then
    dc rm -sf "$client_svc" 2>&1 | grep -vE '^(Stopping|Removing|Going to remove)' || true
  fi
  if [ "$rc" -eq 0 ]; then
    log "$name passed in $((SECONDS - start)) s"
  else
    log "$name FAILED (exit $rc) in $((SECONDS - start)) s"
    failed+=("$name (exit $rc)")
  fi
done
[ ${#failed[@]} -eq 0 ] || fail "scenarios: ${failed[*]}"
log "every scenario passed against the compose stack"
