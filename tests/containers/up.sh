#!/usr/bin/env bash
# The original README's `docker compose up --build` of the shipped compose.yaml (detached, as
# a test cannot sit in the foreground), on an engine from docker/engine.sh, in a compose
# project of this run's own; waits until every service is running and healthy.
#   tests/containers/up.sh STATE_DIR
# shellcheck source=tests/containers/lib.sh
. "$(dirname "$0")/lib.sh"

rm -f "$state/env"
record_skip() {
  printf 'L4SIM_STACK_SKIP=%q\n' "$1" >"$state/env"
  skip "$1"
}

engine_out=$("$src/docker/engine.sh" start 2>"$state/engine.log") ||
  record_skip "no Docker engine can be had here: $(tail -n 1 "$state/engine.log")"
cat "$state/engine.log"
eval "$engine_out"
COMPOSE=$(compose_cmd)
[ -n "$COMPOSE" ] || record_skip "neither \`docker compose\` nor docker-compose is installed"
# A run that was killed before its down.sh leaves its stack, and the engine restarts those
# containers (restart: unless-stopped) with the ports this run needs: remove what earlier
# runs of these tests left (their projects are named l4sim-ctr-*). Two runs on one engine at
# once cannot work anyway: the compose file publishes fixed ports.
leftovers() {
  local key=ID
  [ "$1" != volume ] || key=Name
  docker "$1" ls ${2:+"$2"} --format "{{.$key}} {{.Label \"com.docker.compose.project\"}}" |
    awk '$2 ~ /^l4sim-ctr-/ { print $1 }'
}
old=$(leftovers container -a)
[ -z "$old" ] || { log "removing containers an earlier run left"; docker rm -f $old >/dev/null; }
old=$(leftovers network)
[ -z "$old" ] || { log "removing networks an earlier run left"; docker network rm $old >/dev/null; }
old=$(leftovers volume)
[ -z "$old" ] || { log "removing volumes an earlier run left"; docker volume rm $old >/dev/null; }
PROJECT="l4sim-ctr-$(date -u +%Y%m%d%H%M%S)-$$"
{
  printf 'DOCKER_HOST=%q\n' "$DOCKER_HOST"
  printf 'L4SIM_DOCKERD_PID=%q\n' "$L4SIM_DOCKERD_PID"
  printf 'L4SIM_DOCKERD_STARTED=%q\n' "$L4SIM_DOCKERD_STARTED"
  printf 'COMPOSE=%q\n' "$COMPOSE"
  printf 'PROJECT=%q\n' "$PROJECT"
} >"$state/env"
export DOCKER_HOST
log "engine ${DOCKER_HOST:-(default socket)}, $COMPOSE, project $PROJECT"

start=$SECONDS
dc up --build -d 2>&1 | grep -vE '^ ---> |^Step [0-9]|^Removing intermediate|^ *$' | tail -n 40
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "$COMPOSE up --build -d failed"
log "up --build -d returned after $((SECONDS - start)) s"

healthy() {
  local s id st
  for s in server-1 server-2 server-3 lb; do
    id=$(container_of "$s")
    [ -n "$id" ] || return 1
    st=$(docker inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null) || return 1
    [ "$st" = healthy ] || return 1
  done
  id=$(container_of client)
  [ "$(docker inspect -f '{{.State.Running}}' "$id" 2>/dev/null)" = true ]
}
wait_until 120 "server-1..3 and lb healthy, client running" healthy ||
  { dc ps; dc logs --no-color --tail 20; fail "the stack did not become healthy within 120 s"; }
wait_until 60 "lb ready" log_has lb "l4sim-ready service=lb" || fail "the lb never said it was ready"
dc ps

# Containers run as the image's unprivileged user.
user=$(docker inspect -f '{{.Config.User}}' "$(container_of lb)")
[ "$user" = l4sim ] || fail "containers run as \"$user\", not the unprivileged user l4sim"
uid=$(docker exec "$(container_of lb)" id -u)
[ "$uid" != 0 ] || fail "the lb runs as root"
log "services run as $user (uid $uid)"
