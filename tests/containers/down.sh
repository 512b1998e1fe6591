#!/usr/bin/env bash
# The original README's `docker compose down`, with -v for the control-certs volume; then no
# container, network or volume of this run's project may be left. Stops the private dockerd
# if up.sh started it (by its pid, through docker/engine.sh).
#   tests/containers/down.sh STATE_DIR
# shellcheck source=tests/containers/lib.sh
. "$(dirname "$0")/lib.sh"
load_stack

dc --profile tools --profile observability down -v --remove-orphans
left=$(
  docker ps -aq --filter "label=com.docker.compose.project=$PROJECT"
  docker network ls -q --filter "label=com.docker.compose.project=$PROJECT"
  docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT"
)
# Compose names everything it makes after the project, labelled or not.
named=$(
  docker ps -a --format '{{.Names}}' | grep -F "$PROJECT" || true
  docker network ls --format '{{.Name}}' | grep -F "$PROJECT" || true
  docker volume ls --format '{{.Name}}' | grep -F "$PROJECT" || true
)
rm -f "$state/env"
rm -rf "$state/control-certs"
if [ "${L4SIM_DOCKERD_STARTED:-0}" = 1 ]; then
  L4SIM_DOCKER_DIR=$(dirname "${DOCKER_HOST#unix://}") "$src/docker/engine.sh" stop
fi
[ -z "$left$named" ] || fail "left behind by down: $left $named"
log "down left no container, network or volume of $PROJECT"
