#!/usr/bin/env bash
# The original README's `docker compose up --build` of the shipped compose.yaml (detached, as
# a test cannot sit in the foreground), on an engine from docker/engine.sh, in a compose
# project of this run's own; waits until every service is running and healthy.
#   tests/containers/up.sh STATE_DIR BUILD_DIR
# The image: compiling the project inside docker/Dockerfile's build stage takes most of half
# an hour on 2 cores without ccache, so by default the tests run the Dockerfile's runtime stage
# (its own lines, the same apt layer) with BUILD_DIR's binaries in place of the build stage's
# (the host is Debian bookworm too), tagged l4sim:ctr-test through an override file; and they
# build the Dockerfile's `configure` stage, whose CMake configure fails if its package list
# lacks one the project needs. L4SIM_CONTAINERS_FROM_SOURCE=1 runs compose.yaml as shipped
# (the image compiled in its build stage).
# shellcheck source=tests/containers/lib.sh
. "$(dirname "$0")/lib.sh"
build_dir=${1:?usage: up.sh STATE_DIR BUILD_DIR}

rm -f "$state/env"
record_skip() {
  printf 'L4SIM_STACK_SKIP=%q\n' "$1" >"$state/env"
  skip "$1"
}

if [ "${L4SIM_CONTAINERS_FROM_SOURCE:-0}" != 1 ] &&
  grep -q '^L4SIM_SANITIZE:BOOL=ON' "$build_dir/CMakeCache.txt" 2>/dev/null; then
  record_skip "$build_dir is a sanitized build: its binaries are not what the image ships"
fi
engine_out=$("$src/docker/engine.sh" start 2>"$state/engine.log") ||
  record_skip "no Docker engine can be had here: $(tail -n 1 "$state/engine.log")"
cat "$state/engine.log"
eval "$engine_out"
COMPOSE=$(compose_cmd)
[ -n "$COMPOSE" ] || record_skip "neither \`docker compose\` nor docker-compose is installed"
# A run that was killed before its down.sh leaves its stack, and the engine restarts those
# containers (restart: unless-stopped) with the ports this run needs (run.sh did this already;
# here for up.sh run by hand).
remove_dead_stacks
PROJECT=$(new_project)

{
  printf 'DOCKER_HOST=%q\n' "$DOCKER_HOST"
  printf 'L4SIM_DOCKERD_PID=%q\n' "$L4SIM_DOCKERD_PID"
  printf 'L4SIM_DOCKERD_STARTED=%q\n' "$L4SIM_DOCKERD_STARTED"
  printf 'COMPOSE=%q\n' "$COMPOSE"
  printf 'PROJECT=%q\n' "$PROJECT"
} >"$state/env"
export DOCKER_HOST

# `replace_tag TAG DOCKER_BUILD_ARGS...`: builds TAG, then removes the image TAG named before
# (only that one: this run's own tag, never other images of the engine) so that source
# changes leave no dangling images behind.
replace_tag() {
  local tag=$1 old new
  shift
  old=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
  docker build --force-rm -t "$tag" "$@" >"$state/build.log" 2>&1 ||
    { tail -n 30 "$state/build.log"; return 1; }
  new=$(docker image inspect -f '{{.Id}}' "$tag")
  [ -z "$old" ] || [ "$old" = "$new" ] || docker rmi "$old" >/dev/null 2>&1 || true
}

image_override=
if [ "${L4SIM_CONTAINERS_FROM_SOURCE:-0}" != 1 ]; then
  start=$SECONDS
  replace_tag l4sim:ctr-configure --target configure -f "$src/docker/Dockerfile" "$src" ||
    fail "docker/Dockerfile's configure stage failed: its packages do not configure the project"
  log "docker/Dockerfile's configure stage configures the project ($((SECONDS - start)) s)"

  # The runtime stage as the Dockerfile writes it (from its last FROM), copying from a context
  # of its own: bin/ and share/ laid out as the build stage's /out.
  ctx="$state/image"
  rm -rf "$ctx"
  mkdir -p "$ctx/bin" "$ctx/share/l4sim/scenarios"
  for b in server lb client sim; do
    [ -x "$build_dir/apps/$b/$b" ] || fail "$build_dir/apps/$b/$b is not built"
    install -m755 -s "$build_dir/apps/$b/$b" "$ctx/bin/$b"
  done
  install -m755 "$src/scripts/make-control-certs.sh" "$ctx/bin/make-control-certs"
  install -m644 "$src"/scenarios/*.yaml "$ctx/share/l4sim/scenarios/"
  awk '{ line[NR] = $0 } /^FROM / { last = NR }
    END { for (i = last; i <= NR; i++) print line[i] }' "$src/docker/Dockerfile" |
    sed 's#^COPY --from=build /out/#COPY #' >"$ctx/Dockerfile"
  if [ "$(grep -c '^COPY bin/ \|^COPY share/ ' "$ctx/Dockerfile")" != 2 ] ||
    grep -q -- '--from' "$ctx/Dockerfile"; then
    fail "docker/Dockerfile's runtime stage no longer copies /out/bin/ and /out/share/ from the build stage"
  fi
  start=$SECONDS
  replace_tag l4sim:ctr-test "$ctx" || fail "the runtime stage with $build_dir's binaries failed to build"
  log "runtime stage with $build_dir's binaries built as l4sim:ctr-test ($((SECONDS - start)) s)"

  # Every service of compose.yaml that runs the l4sim image, built from that context instead.
  image_override="$state/image.yaml"
  echo services: >"$image_override"
  $COMPOSE -f "$src/compose.yaml" config |
    awk '/^services:/ { s = 1; next } s && /^[^ ]/ { s = 0 }
      s && /^  [^ ]/ { svc = $1; sub(/:$/, "", svc) }
      s && /^    image: l4sim:latest$/ { print svc }' |
    while read -r svc; do
      printf '  %s:\n    image: l4sim:ctr-test\n    build: {context: %s, dockerfile: Dockerfile}\n' \
        "$svc" "$ctx"
    done >>"$image_override"
  grep -q 'image: l4sim:ctr-test' "$image_override" || fail "no service of compose.yaml runs l4sim:latest"
fi
printf 'L4SIM_IMAGE_OVERRIDE=%q\n' "$image_override" >>"$state/env"
L4SIM_IMAGE_OVERRIDE=$image_override
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
