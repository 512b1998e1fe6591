# shellcheck shell=bash
# Shared by the container tests (sourced, not run). One compose project per test run: up.sh
# creates it and writes $state/env; every other test reads that file, drives the stack with
# the compose commands the original README uses, and down.sh removes it all.
#   $1 of every script: the state directory (the build tree's tests/containers).

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
state=${1:?usage: $0 STATE_DIR [...]}
shift
mkdir -p "$state"

log() { echo "[$(date -u +%H:%M:%S)] $*"; }
fail() {
  echo "FAIL: $*"
  exit 1
}
# ctest's SKIP_REGULAR_EXPRESSION and scripts/l4sim's skip report both key on this prefix.
skip() {
  echo "l4sim-skip: $*"
  exit 77
}

# The compose command: the `docker compose` plugin where it exists, Debian's docker-compose
# otherwise (the original README writes `docker compose`; both take the same arguments).
compose_cmd() {
  if docker compose version >/dev/null 2>&1; then
    echo "docker compose"
  elif command -v docker-compose >/dev/null 2>&1; then
    echo docker-compose
  fi
}

# Loads the stack that up.sh made, or skips saying why there is none.
load_stack() {
  [ -s "$state/env" ] || skip "no compose stack: the containers_up test did not run"
  # shellcheck disable=SC1091
  . "$state/env"
  [ -z "${L4SIM_STACK_SKIP:-}" ] || skip "$L4SIM_STACK_SKIP"
  export DOCKER_HOST
}

# `dc ARGS`: compose on this run's project, from the source tree, with any override files.
dc() {
  local files=(-f "$src/compose.yaml")
  local f
  for f in ${L4SIM_OVERRIDES:-}; do files+=(-f "$f"); done
  # shellcheck disable=SC2086
  $COMPOSE --project-directory "$src" -p "$PROJECT" "${files[@]}" "$@"
}

container_of() { dc ps -q "$1"; }

# `wait_until DEADLINE_S WHAT CMD...`: runs CMD every half second until it succeeds.
wait_until() {
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
  log "$what"
}

# A service's log without colours or compose's name prefix; with -t, docker's timestamps.
service_log() { dc logs --no-color "$@" | sed -E 's/^[^|]*\| ?//'; }

log_has() { service_log "$1" | grep -qF -- "$2"; }

# The `total` column per backend of the lb's last complete stats table, as "server-1 12".
lb_totals() {
  service_log lb | awk '
    / algorithm=/ { delete t; n = 0; algo = $0; sub(/.* algorithm=/, "", algo); sub(/ .*/, "", algo) }
    /^  server-[0-9]/ { split($1, id, ":"); t[id[1]] = $5 " " $3; n++ }
    END { for (k in t) print k, t[k], algo }' | sort
}

# `total_of NAME`: NAME's total in the last table (0 when it is not there).
total_of() { lb_totals | awk -v n="$1" '$1 == n { print $2; f = 1 } END { if (!f) print 0 }'; }

# Seconds since the epoch of a line in `docker logs -t` output (RFC 3339 with nanoseconds).
stamp_of() { date -u -d "$(echo "$1" | awk '{print $1}')" +%s.%N; }
now() { date -u +%s.%N; }
# `within A B LIMIT`: B - A <= LIMIT (seconds, fractions allowed).
within() { awk -v a="$1" -v b="$2" -v l="$3" 'BEGIN { exit !(b - a <= l) }'; }
