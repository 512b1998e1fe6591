#!/usr/bin/env bash
# Every container test in one go, on one stack: up.sh, the guide's tests 1-4 (guide.sh),
# Prometheus of the observability profile (observability.sh), every scenario with --attach
# (scenarios.sh), down.sh. The ctest test `containers` runs this.
#   tests/containers/run.sh STATE_DIR BUILD_DIR
# One process owns the run, so a trap can always clean up: whatever ends it (a failed step, a
# step over its time budget, Ctrl-C, SIGTERM) down.sh removes the stack and the private dockerd
# is stopped if this run started it (never an engine it found running). A step that fails does
# not stop the later ones (they use the same stack), except `up`; the exit status is 1 if any
# failed, 77 with "l4sim-skip: why" where no engine can be had.
# shellcheck source=tests/containers/lib.sh
. "$(dirname "$0")/lib.sh"
build_dir=${1:?usage: run.sh STATE_DIR BUILD_DIR}

if [ "${L4SIM_CONTAINERS_FROM_SOURCE:-0}" != 1 ] &&
  grep -q '^L4SIM_SANITIZE:BOOL=ON' "$build_dir/CMakeCache.txt" 2>/dev/null; then
  skip "$build_dir is a sanitized build: its binaries are not what the image ships"
fi

# One run per machine at a time: the compose file publishes fixed ports, and up.sh removes the
# stacks that killed runs left, which must not be another live run's. (Per user: another
# user's lock file could not be opened.)
lock="${TMPDIR:-/tmp}/l4sim-containers-$(id -u).lock"
exec 9>"$lock"
if ! flock -n 9; then
  log "another container-test run holds $lock: waiting (30 min at most)"
  flock -w 1800 9 || fail "another container-test run held $lock for 30 min"
fi

# The run's owner: projects are named after it (new_project) and so is a private dockerd it
# starts (dockerd.owner beside the daemon's pid file), so a later run can tell what a dead
# run left from what a live one, or a user, runs.
export L4SIM_RUN_PID=$$
docker_dir=${L4SIM_DOCKER_DIR:-/var/tmp/l4sim-docker}
owner_file="$docker_dir/dockerd.owner"
# A private dockerd that a run started and never stopped (the run was killed with SIGKILL,
# so its trap did not run) still runs that run's stacks: remove them, then stop it by its pid
# file. A dockerd without an owner file was started by hand (`eval "$(docker/engine.sh)"`)
# or by someone else, and is used as it is.
if [ -s "$owner_file" ]; then
  read -r owner_pid owner_since <"$owner_file" || true
  if owner_alive "${owner_pid:-}" "${owner_since:-}"; then
    log "the private dockerd under $docker_dir belongs to run $owner_pid, which still runs"
  else
    dead_pid=$(cat "$docker_dir/dockerd.pid" 2>/dev/null || true)
    if [[ $dead_pid =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$dead_pid/comm" 2>/dev/null)" = dockerd ]; then
      log "private dockerd $dead_pid was started by run ${owner_pid:-?}, which is gone: removing its stacks, stopping it"
      DOCKER_HOST="unix://$docker_dir/docker.sock" remove_dead_stacks || true
      L4SIM_DOCKER_DIR=$docker_dir "$src/docker/engine.sh" stop ||
        fail "could not stop private dockerd $dead_pid left by a dead run"
    fi
    rm -f "$owner_file"
  fi
fi

engine_out=$("$src/docker/engine.sh" start 2>"$state/engine.log") || {
  printf 'L4SIM_STACK_SKIP=%q\n' "no Docker engine can be had here: $(tail -n 1 "$state/engine.log")" \
    >"$state/env"
  cat "$state/engine.log"
  skip "no Docker engine can be had here: $(tail -n 1 "$state/engine.log")"
}
cat "$state/engine.log"
eval "$engine_out"
export DOCKER_HOST
if [ "${L4SIM_DOCKERD_STARTED:-0}" = 1 ]; then
  echo "$$ $(($(date -u +%s) - $(ps -o etimes= -p $$)))" >"$owner_file"
fi
# Stacks of dead runs on this engine (a private dockerd restarted after a dead run restarts
# their containers too).
remove_dead_stacks

cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [ -s "$state/env" ] && ! grep -q '^L4SIM_STACK_SKIP=' "$state/env"; then
    log "step down"
    timeout -k 10 300 bash "$here/down.sh" "$state" || { echo "FAIL: step down"; rc=1; }
  fi
  if [ "${L4SIM_DOCKERD_STARTED:-0}" = 1 ]; then
    L4SIM_DOCKER_DIR=$(dirname "${DOCKER_HOST#unix://}") "$src/docker/engine.sh" stop || rc=1
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

failed=()
times=()
# `step NAME BUDGET_S SCRIPT ARGS...`: runs one test script with a time budget; 77 is a skip.
step() {
  local name=$1 budget=$2 rc=0 start=$SECONDS
  shift 2
  log "step $name"
  timeout -k 10 "$budget" bash "$here/$1" "$state" "${@:2}" || rc=$?
  times+=("$name $((SECONDS - start)) s")
  case $rc in
    0) log "step $name passed in $((SECONDS - start)) s" ;;
    77) return 77 ;;
    124 | 137) failed+=("$name (over its $budget s)") ;;
    *) failed+=("$name (exit $rc)") ;;
  esac
  [ "$rc" -eq 0 ]
}

rc=0
# Cold (a new machine): debootstrap of the base images and apt in two stages, most of it.
step up 2400 up.sh "$build_dir" || rc=$?
[ "$rc" -ne 77 ] || exit 77
if [ "$rc" -eq 0 ]; then
  step guide-1 300 guide.sh 1 || true
  step guide-2 300 guide.sh 2 || true
  step guide-3 600 guide.sh 3 || true
  step guide-4 300 guide.sh 4 || true
  step observability 600 observability.sh || true
  step scenarios 1500 scenarios.sh "$build_dir/apps" || true
fi
log "times: $(IFS=,; echo "${times[*]}")"
[ ${#failed[@]} -eq 0 ] || fail "container steps failed: ${failed[*]}"
log "every container step passed"
