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

# `dc ARGS`: compose on this run's project, from the source tree, with the image override
# up.sh wrote (L4SIM_IMAGE_OVERRIDE: the host build's binaries, see up.sh) and a test's own
# override files (L4SIM_OVERRIDES), in that order. dc_argv puts the command in DC, for
# `timeout`.
dc_argv() {
  local f
  # shellcheck disable=SC2206
  DC=($COMPOSE --project-directory "$src" -p "$PROJECT" -f "$src/compose.yaml")
  for f in ${L4SIM_IMAGE_OVERRIDE:-} ${L4SIM_OVERRIDES:-}; do DC+=(-f "$f"); done
}
dc() {
  dc_argv
  "${DC[@]}" "$@"
}

# The container of a compose service, by compose's labels (the docker client answers in a
# fraction of the time compose takes, which matters in polling loops).
container_of() {
  docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" \
    --filter "label=com.docker.compose.service=$1" --filter "label=com.docker.compose.oneoff=False" |
    head -n 1
}

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

# `compose_log SERVICE [-t]`: `docker compose logs SERVICE` without colours or compose's name
# prefix (-t: docker's timestamps first). What a user reads; the assertions read it.
compose_log() {
  local service=$1
  shift
  dc logs --no-color "$@" "$service" | sed -E 's/^[^|]*\| ?//'
}
# `service_log SERVICE [-t]`: the same lines from the docker client, for polling loops.
service_log() {
  local id
  id=$(container_of "$1")
  [ -n "$id" ] || return 0
  docker logs "${@:2}" "$id" 2>&1
}

log_has() { service_log "$1" | grep -qF -- "$2"; }

# The `total` column per backend of the lb's last complete stats table in the log on stdin,
# as "server-1 12 UP rr 3" (name, total, state, algorithm, active). Columns are found by the
# table's header line, so a new column does not shift what is read.
totals_in() {
  awk '
    / algorithm=/ { delete t; algo = $0; sub(/.* algorithm=/, "", algo); sub(/ .*/, "", algo) }
    /^  backend / { tc = sc = ac = 0
      for (i = 1; i <= NF; i++) { if ($i == "total") tc = i; if ($i == "state") sc = i; if ($i == "active") ac = i } }
    /^  server-[0-9]/ && tc && sc && ac { split($1, id, ":"); t[id[1]] = $tc " " $sc " " algo " " $ac }
    END { for (k in t) print k, t[k] }' | sort
}
lb_totals() { service_log lb | totals_in; }

# `total_of NAME`: NAME's total in the last table (0 when it is not there).
total_of() { lb_totals | awk -v n="$1" '$1 == n { print $2; f = 1 } END { if (!f) print 0 }'; }

# Seconds since the epoch of a line in `docker logs -t` output (RFC 3339 with nanoseconds).
stamp_of() { date -u -d "$(echo "$1" | awk '{print $1}')" +%s.%N; }
now() { date -u +%s.%N; }
# `within A B LIMIT`: B - A <= LIMIT (seconds, fractions allowed).
within() { awk -v a="$1" -v b="$2" -v l="$3" 'BEGIN { exit !(b - a <= l) }'; }

# `owner_alive PID SINCE`: process PID runs and had started by SINCE (seconds since the
# epoch), so it is not a later process that got the pid of a dead owner.
owner_alive() {
  local pid=$1 since=$2 age
  [[ $pid =~ ^[0-9]+$ && $since =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  age=$(ps -o etimes= -p "$pid" 2>/dev/null | tr -d ' ')
  [[ $age =~ ^[0-9]+$ ]] && [ $(($(date -u +%s) - age)) -le $((since + 1)) ]
}

# The compose project of a run: l4sim-ctr-<UTC time>-<pid of the process that owns the run>
# (run.sh's, or for a step run by hand the shell that ran it).
new_project() {
  echo "l4sim-ctr-$(date -u +%Y%m%d%H%M%S)-${L4SIM_RUN_PID:-$PPID}"
}
# `project_alive NAME`: NAME's owner still runs.
project_alive() {
  [[ $1 =~ ^l4sim-ctr-([0-9]{8})([0-9]{2})([0-9]{2})([0-9]{2})-([0-9]+)$ ]] || return 1
  local made
  made=$(date -u -d "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}:${BASH_REMATCH[3]}:${BASH_REMATCH[4]}" +%s) ||
    return 1
  owner_alive "${BASH_REMATCH[5]}" "$made"
}

# Removes, on the engine DOCKER_HOST names, the compose projects l4sim-ctr-* whose owner is
# gone (a run killed before its down.sh: the engine restarts those containers, restart:
# unless-stopped, on the ports a new run needs): their containers, networks and volumes.
# Says what it removed; a live run's project is left alone.
remove_dead_stacks() {
  local kind project ids dead=() opt=()
  # `docker container ls -a` (stopped ones too), `rm -f` (running ones too).
  for kind in container network volume; do
    opt=()
    [ "$kind" != container ] || opt=(-a)
    while read -r project; do
      [[ $project == l4sim-ctr-* ]] || continue
      project_alive "$project" && continue
      case " ${dead[*]} " in *" $project "*) ;; *) dead+=("$project") ;; esac
    done < <(docker "$kind" ls "${opt[@]}" --format '{{.Label "com.docker.compose.project"}}')
  done
  for project in "${dead[@]}"; do
    for kind in container network volume; do
      opt=()
      [ "$kind" != container ] || opt=(-a)
      ids=$(docker "$kind" ls "${opt[@]}" -q --filter "label=com.docker.compose.project=$project" | xargs)
      [ -n "$ids" ] || continue
      log "removing ${kind}s of $project, whose run is gone: $ids"
      opt=()
      [ "$kind" != container ] || opt=(-f)
      # shellcheck disable=SC2086
      docker "$kind" rm "${opt[@]}" $ids >/dev/null
    done
  done
}
