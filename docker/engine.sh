#!/usr/bin/env bash
# Makes a Docker engine available to l4sim's compose file and container tests.
#   eval "$(docker/engine.sh)"        start (or find) an engine; exports DOCKER_HOST,
#                                     L4SIM_DOCKERD_PID (empty when the engine is not ours)
#                                     and L4SIM_DOCKERD_STARTED (1: this call started it)
#   docker/engine.sh stop             stop the private dockerd this script started
#   docker/engine.sh status           say which engine `start` would use, start nothing
# 1. An engine that answers `docker info` (DOCKER_HOST respected) is used as it is.
# 2. Otherwise docker.io, docker-compose and debootstrap are installed from Debian if missing
#    and a private dockerd is started with its own socket, data root, exec root, pid file and
#    log under L4SIM_DOCKER_DIR (default /var/tmp/l4sim-docker); it is reused by later calls
#    while it runs, and stopped by `stop` (by its pid file).
# 3. debian:bookworm and debian:bookworm-slim (the Dockerfile's bases) are pulled; where no
#    registry answers, they are made with `debootstrap --variant=minbase bookworm` from the
#    Debian mirror in this machine's apt sources and `docker import`ed. The root file systems
#    are cached as tarballs in L4SIM_DOCKER_DIR/cache and the images stay in the data root.
# Progress goes to stderr; stdout carries only the export lines. Exit 1 when no engine can
# be had (the tests then skip, saying this script's last message).
set -euo pipefail

dir=${L4SIM_DOCKER_DIR:-/var/tmp/l4sim-docker}
sock="$dir/docker.sock"
pidfile="$dir/dockerd.pid"

say() { echo "engine.sh: $*" >&2; }
die() {
  say "$*"
  exit 1
}

# The Debian client where docker.io installed it: it matches the Debian daemon's API.
docker_cmd() {
  if [ -x /usr/bin/docker ]; then /usr/bin/docker "$@"; else docker "$@"; fi
}

answers() {
  local client=docker
  [ -x /usr/bin/docker ] && client=/usr/bin/docker
  command -v "$client" >/dev/null 2>&1 || return 1
  DOCKER_HOST="$1" timeout 20 "$client" info >/dev/null 2>&1
}

our_pid() {
  local pid
  [ -s "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # A pid file left by a dead dockerd may name an unrelated process now.
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] || return 1
  echo "$pid"
}

install_missing() {
  local want=() missing=()
  command -v dockerd >/dev/null 2>&1 || want+=(docker.io)
  [ -x /usr/bin/docker ] || want+=(docker.io)
  command -v docker-compose >/dev/null 2>&1 || want+=(docker-compose)
  command -v debootstrap >/dev/null 2>&1 || want+=(debootstrap)
  for p in "${want[@]}"; do
    case " ${missing[*]} " in *" $p "*) ;; *) missing+=("$p") ;; esac
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "need root to install ${missing[*]} (apt-get)"
  say "installing ${missing[*]} from Debian"
  apt-get update -qq >&2 || true
  # policy-rc.d keeps the package from starting the system's dockerd on its default socket.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
  fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2 || rc=$?
  [ "$made_policy" -eq 0 ] || rm -f "$policy"
  [ "$rc" -eq 0 ] || die "apt-get install ${missing[*]} failed ($rc)"
}

start_private() {
  local pid
  if pid=$(our_pid) && answers "unix://$sock"; then
    say "reusing private dockerd $pid on $sock"
    return 0
  fi
  [ "$(id -u)" -eq 0 ] || die "no engine answers and a private dockerd needs root"
  install_missing
  mkdir -p "$dir/data" "$dir/exec" "$dir/cache"
  rm -f "$sock" "$pidfile"
  say "starting private dockerd: socket $sock, data root $dir/data, log $dir/dockerd.log"
  # setsid: the daemon outlives the caller's session and its Ctrl-C; stopped by its pid.
  setsid dockerd --host "unix://$sock" --data-root "$dir/data" --exec-root "$dir/exec" \
    --pidfile "$pidfile" >>"$dir/dockerd.log" 2>&1 </dev/null &
  local deadline=$((SECONDS + 60))
  until answers "unix://$sock"; do
    if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 $! 2>/dev/null; then
      tail -n 15 "$dir/dockerd.log" >&2 || true
      kill "$!" 2>/dev/null || true
      die "private dockerd did not answer within 60 s (log above: $dir/dockerd.log)"
    fi
    sleep 0.5
  done
}

# The apt mirror this machine uses for Debian itself (deb822 or one-line sources).
debian_mirror() {
  local m
  m=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
    /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
  [ -n "$m" ] || m=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++)
    if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list 2>/dev/null | head -n 1)
  echo "${m:-http://deb.debian.org/debian}"
}

# Writes $dir/cache/bookworm.tar and bookworm-slim.tar (root file systems) unless cached.
make_rootfs() {
  local cache="$dir/cache" root
  [ -s "$cache/bookworm.tar" ] && [ -s "$cache/bookworm-slim.tar" ] && return 0
  local mirror
  mirror=$(debian_mirror)
  root=$(mktemp -d "$dir/rootfs.XXXXXX")
  say "debootstrap --variant=minbase bookworm from $mirror (a few minutes, once)"
  if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$dir/debootstrap.log" 2>&1; then
    tail -n 15 "$dir/debootstrap.log" >&2 || true
    rm -rf "$root"
    die "debootstrap failed (log: $dir/debootstrap.log)"
  fi
  # The image's apt uses the same Debian sources as this machine (updates and security too).
  if ls /etc/apt/sources.list.d/debian.sources >/dev/null 2>&1; then
    cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/"
    rm -f "$root/etc/apt/sources.list"
  fi
  # As in Debian's own images: apt keeps no downloaded packages or caches in a layer.
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  chroot "$root" apt-get clean >/dev/null 2>&1 || true
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log
  tar -C "$root" --numeric-owner -cf "$cache/bookworm.tar.tmp" .
  mv "$cache/bookworm.tar.tmp" "$cache/bookworm.tar"
  # slim, as Debian's own: no documentation, manuals or translations, now or when apt adds more.
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
EOF
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/groff/* "$root"/usr/share/info/* \
    "$root"/usr/share/locale/* "$root"/usr/share/lintian/*
  tar -C "$root" --numeric-owner -cf "$cache/bookworm-slim.tar.tmp" .
  mv "$cache/bookworm-slim.tar.tmp" "$cache/bookworm-slim.tar"
  rm -rf "$root"
}

ensure_base_images() {
  local tag missing=()
  for tag in bookworm bookworm-slim; do
    docker_cmd image inspect "debian:$tag" >/dev/null 2>&1 || missing+=("$tag")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  for tag in "${missing[@]}"; do
    if timeout 60 docker_cmd pull -q "debian:$tag" >/dev/null 2>&1; then
      say "pulled debian:$tag"
      continue
    fi
    [ "$(id -u)" -eq 0 ] || die "debian:$tag cannot be pulled, and debootstrap needs root"
    install_missing
    mkdir -p "$dir/cache"
    make_rootfs
    say "no registry answers: importing debian:$tag from $dir/cache/$tag.tar"
    docker_cmd import --change 'CMD ["bash"]' "$dir/cache/$tag.tar" "debian:$tag" >/dev/null ||
      die "docker import of debian:$tag failed"
  done
}

export_lines() {
  echo "export DOCKER_HOST=$1"
  echo "export L4SIM_DOCKERD_PID=$2"
  echo "export L4SIM_DOCKERD_STARTED=$3"
}

case "${1:-start}" in
  start)
    if answers "${DOCKER_HOST:-}"; then
      say "using the engine that answers at ${DOCKER_HOST:-the default socket}"
      export_lines "${DOCKER_HOST:-}" "" 0
      ensure_base_images
      exit 0
    fi
    started=0
    our_pid >/dev/null || started=1
    start_private
    export DOCKER_HOST="unix://$sock"
    ensure_base_images
    export_lines "$DOCKER_HOST" "$(our_pid || true)" "$started"
    say "stop it with: $0 stop (or kill $(our_pid || echo '?'))"
    ;;
  stop)
    if pid=$(our_pid); then
      say "stopping private dockerd $pid"
      kill "$pid"
      for _ in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
      done
      if kill -0 "$pid" 2>/dev/null; then
        die "dockerd $pid still runs 30 s after SIGTERM"
      fi
      # dockerd.owner: the container test run that started it (tests/containers/run.sh).
      rm -f "$sock" "$pidfile" "$dir/dockerd.owner"
    else
      say "no private dockerd runs under $dir"
    fi
    ;;
  status)
    if answers "${DOCKER_HOST:-}"; then
      say "an engine answers at ${DOCKER_HOST:-the default socket}"
    elif pid=$(our_pid) && answers "unix://$sock"; then
      say "private dockerd $pid answers at unix://$sock"
    else
      say "no engine answers"
      exit 1
    fi
    ;;
  *)
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
