#!/usr/bin/env bash
# Side-by-side benchmark on loopback: l4sim's `lb` against HAProxy (mode tcp) and nginx's
# stream module, with a "direct" row (no proxy) as the ceiling.
#
#   bench/compare.sh            full run: 3 repetitions of iperf3 -t 5, wrk -d5s, redis-benchmark
#                               -n 100000, 5,000 idle connections (~10 min)
#   bench/compare.sh --quick    smoke run: iperf3 -t 2, wrk -d2s, -n 20000, 500 idle connections
#   options: --reps N (repetitions, default 3), --rows LIST (comma-separated subset of
#            direct,haproxy,nginx,l4sim-lb,lb-broker,lb-direct,lb-splice,lb-scrape,lb-log,
#            lb-observed;
#            default direct,haproxy,nginx,l4sim-lb; l4sim-lb runs lb's default pump, lb-broker
#            lb-direct and lb-splice pin LB_PUMP=broker / direct / splice; the cost of observability: lb-scrape
#            is l4sim-lb with its admin port scraped (GET /metrics every second), lb-log with
#            its access log written to a file, lb-observed with both), --out PREFIX (write
#            PREFIX.txt and PREFIX.json; default build/bench/compare-<UTC time>), --keep-tmp
#            (keep configs and logs), --no-build (never build the lb)
#
# Measures per proxy: iperf3 throughput with 1 and 4 streams; wrk request rate and p50/p99
# latency against an nginx HTTP backend with `Connection: close` (a new proxied connection
# per request) and with keep-alive; redis-benchmark -c 50 (SET, GET, PING) through three
# redis-server backends (direct: one of them, no proxy); the proxy's resident memory per idle
# proxied connection and how many of them it held. Each measurement runs once per proxy in
# turn (the order rotates between repetitions), so slow drift of the machine hits all alike;
# the table shows the median and the spread of the repetitions, the JSON file every value.
# HAProxy checks its servers as often as lb does (every 1 s, rise 1, fall 1, 1 s timeout);
# nginx's open-source stream module has no active checks.
# Installs what it lacks from Debian (haproxy nginx libnginx-mod-stream iperf3 wrk redis-server
# redis-tools python3). Environment: L4SIM_BUILD_DIR (default build) locates apps/lb/lb;
# LB_LOOPS, when set, is passed on to the lb.
#
# It is a benchmark, not a test: a failing measurement records "err" and the run goes on; the
# exit status is 0 unless the tools cannot be installed. Tables go to stdout (and PREFIX.txt),
# progress to stderr. Everything runs on 127.0.0.1 with ports picked free; every process it
# starts is stopped on exit; every load is bounded in time (timeout around each tool); every
# wait is on a condition (a port listening, connections gone), never a fixed sleep.

set -uo pipefail  # no -e: a failed measurement must not end the run

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
util=(python3 "$here/bench_util.py")

quick=0 keep_tmp=0 build_lb=1 reps=3 rows_wanted=direct,haproxy,nginx,l4sim-lb out_prefix=
usage() {
  echo "compare.sh: $1 (--quick, --reps N, --rows LIST, --out PREFIX, --keep-tmp, --no-build)" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --keep-tmp) keep_tmp=1 ;;
    --no-build) build_lb=0 ;;
    --reps) [ $# -ge 2 ] || usage "--reps needs a number"; reps=$2; shift ;;
    --rows) [ $# -ge 2 ] || usage "--rows needs a list"; rows_wanted=$2; shift ;;
    --out) [ $# -ge 2 ] || usage "--out needs a path prefix"; out_prefix=$2; shift ;;
    -h | --help) sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage "unknown option $1" ;;
  esac
  shift
done
case "$reps" in '' | *[!0-9]* | 0) usage "--reps wants a whole number above 0" ;; esac
for r in ${rows_wanted//,/ }; do
  case "$r" in
    direct | haproxy | nginx | l4sim-lb | lb-broker | lb-direct | lb-splice | lb-scrape | lb-log | lb-observed) ;;
    *) usage "unknown row in --rows" ;;
  esac
done
want_row() { case ",$rows_wanted," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

if [ "$quick" = 1 ]; then
  iperf_secs=2 wrk_secs=2 idle_count=500 redis_requests=20000
else
  iperf_secs=5 wrk_secs=5 idle_count=5000 redis_requests=100000
fi
redis_clients=50
health_interval=1  # seconds: lb's LB_HEALTH_INTERVAL and HAProxy's `inter`
wrk_threads=2 wrk_conns=32
proxy_threads=2  # haproxy nbthread, nginx worker_processes: each tool's sane default for 2 cores

log() { echo "[compare] $*" >&2; }

# ---------------------------------------------------------------------------------------
# Tools

packages=(haproxy nginx libnginx-mod-stream iperf3 wrk redis-server redis-tools python3)

# A package's service may start on install (nginx on port 80): stop only what we started.
stop_service_if_started() {
  local svc=$1 pidfile=/run/$1.pid pid
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    log "stopping the $svc service the install started"
    systemctl stop "$svc" 2>/dev/null
  elif [ -r "$pidfile" ]; then
    pid=$(cat "$pidfile" 2>/dev/null)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      log "stopping the $svc service the install started (pid $pid)"
      kill -TERM "$pid" 2>/dev/null
    fi
  fi
}

install_tools() {
  local missing=() p
  for p in "${packages[@]}"; do
    dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  # Install first with the lists we have; update them once only if that fails.
  if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >&2; then
    "${sudo[@]}" apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >&2 || {
      echo "compare.sh: could not install ${missing[*]}" >&2
      exit 1
    }
  fi
  for p in "${missing[@]}"; do
    case "$p" in nginx | haproxy | iperf3 | redis-server) stop_service_if_started "$p" ;; esac
  done
}

install_tools

# ---------------------------------------------------------------------------------------
# Process bookkeeping: every background process goes into pids and is stopped on exit.

tmp=$(mktemp -d /tmp/l4sim-bench.XXXXXX)
pids=()

# shellcheck disable=SC2317  # reached through the trap
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  # Give them 3 s to exit cleanly (nginx's master takes its workers along), then KILL.
  for _ in $(seq 30); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  wait 2>/dev/null
  if [ "$keep_tmp" = 1 ]; then log "configs and logs kept in $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs "$@" in the background with output to the log $1; the pid lands in $last_pid.
start_bg() {
  local logfile=$1
  shift
  "$@" >"$logfile" 2>&1 &
  last_pid=$!
  pids+=("$last_pid")
}

# Runs "$@" bounded by a timeout of $1 seconds, in the background with a wait, so that a
# TERM or INT to this script runs the cleanup at once (bash holds traps until a foreground
# child ends) and the cleanup stops this command too.
run_bounded() {  # seconds command...
  local secs=$1 pid rc
  shift
  timeout "$secs" "$@" &
  pid=$!
  pids+=("$pid")
  wait "$pid"
  rc=$?
  unset 'pids[-1]'
  return $rc
}

stop_pid() {
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 30); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

wait_listen() {  # port [seconds]
  "${util[@]}" wait-listen "$1" "${2:-10}"
}

# Proxies hold two sockets (or more) per proxied connection: use the whole hard fd limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
nofile=$(ulimit -n)
# HAProxy wants 2 fds per connection plus some; fit its maxconn under the limit.
hap_maxconn=$(( (nofile - 500) / 2 ))
ngx_conns=$(( nofile < 20000 ? nofile : 20000 ))

read -r p_iperf p_http p_hap_iperf p_hap_http p_ngx_iperf p_ngx_http p_lb_iperf p_lb_http \
  p_redis1 p_redis2 p_redis3 p_hap_redis p_ngx_redis p_lb_redis \
  p_lbb_iperf p_lbb_http p_lbb_redis p_lbd_iperf p_lbd_http p_lbd_redis \
  p_lbo_iperf p_lbo_http p_lbo_redis p_lbo_adm1 p_lbo_adm2 p_lbo_adm3 \
  p_lbs_iperf p_lbs_http p_lbs_redis p_lbs_adm1 p_lbs_adm2 p_lbs_adm3 \
  p_lbl_iperf p_lbl_http p_lbl_redis p_lbp_iperf p_lbp_http p_lbp_redis \
  < <("${util[@]}" ports 38 | tr '\n' ' ')
# The lb rows: each runs its own three lb processes (iperf, http, redis listeners).
declare -A lb_row_pump=([l4sim-lb]='' [lb-broker]=broker [lb-direct]=direct [lb-splice]=splice
  [lb-scrape]=''
  [lb-log]='' [lb-observed]='')
declare -A lb_row_ports=([l4sim-lb]="$p_lb_iperf $p_lb_http $p_lb_redis"
  [lb-broker]="$p_lbb_iperf $p_lbb_http $p_lbb_redis" [lb-direct]="$p_lbd_iperf $p_lbd_http $p_lbd_redis"
  [lb-splice]="$p_lbp_iperf $p_lbp_http $p_lbp_redis"
  [lb-scrape]="$p_lbs_iperf $p_lbs_http $p_lbs_redis" [lb-log]="$p_lbl_iperf $p_lbl_http $p_lbl_redis"
  [lb-observed]="$p_lbo_iperf $p_lbo_http $p_lbo_redis")
# The admin ports (iperf, http, redis lb) of the rows that scrape, each every second.
declare -A lb_row_admin=([lb-scrape]="$p_lbs_adm1 $p_lbs_adm2 $p_lbs_adm3"
  [lb-observed]="$p_lbo_adm1 $p_lbo_adm2 $p_lbo_adm3")
# The rows whose lbs write an access log (to a file per lb).
declare -A lb_row_log=([lb-log]=1 [lb-observed]=1)

# ---------------------------------------------------------------------------------------
# Backends

iperf_pid=
start_iperf_server() {
  # Persistent (no -1): proxies' health checks and probes must not end it between tests.
  start_bg "$tmp/iperf3-server.log" iperf3 -s -B 127.0.0.1 -p "$p_iperf"
  iperf_pid=$last_pid
  wait_listen "$p_iperf" || log "iperf3 server did not come up"
}

start_http_backend() {
  mkdir -p "$tmp/backend"
  cat >"$tmp/backend/nginx.conf" <<EOF
# HTTP backend for the request tests: answers "ok" to everything.
daemon off;
master_process on;
worker_processes $proxy_threads;
worker_rlimit_nofile $nofile;
pid $tmp/backend/nginx.pid;
error_log $tmp/backend/error.log warn;
events { worker_connections $ngx_conns; }
http {
  access_log off;
  keepalive_requests 100000;
  keepalive_timeout 120s;
  client_header_timeout 120s;
  client_body_temp_path $tmp/backend/body;
  proxy_temp_path $tmp/backend/proxy;
  fastcgi_temp_path $tmp/backend/fastcgi;
  uwsgi_temp_path $tmp/backend/uwsgi;
  scgi_temp_path $tmp/backend/scgi;
  server {
    listen 127.0.0.1:$p_http backlog=4096;
    location / { return 200 "ok\n"; }
  }
}
EOF
  start_bg "$tmp/backend/stdout.log" nginx -p "$tmp/backend" -c "$tmp/backend/nginx.conf"
  wait_listen "$p_http" || log "nginx HTTP backend did not come up: $(tail -3 "$tmp/backend/error.log" 2>/dev/null)"
}

start_redis_backends() {
  local p
  for p in "$p_redis1" "$p_redis2" "$p_redis3"; do
    mkdir -p "$tmp/redis-$p"
    # No persistence, no protected mode (loopback only), in the foreground so we own the pid.
    start_bg "$tmp/redis-$p/log" redis-server --bind 127.0.0.1 --port "$p" --save '' \
      --appendonly no --protected-mode no --daemonize no --dir "$tmp/redis-$p" \
      --maxclients 10000
    wait_listen "$p" || log "redis-server on $p did not come up: $(tail -3 "$tmp/redis-$p/log")"
  done
}

# ---------------------------------------------------------------------------------------
# Proxies under test. Each gets three listeners: to iperf3, to the HTTP backend and to the
# three redis-servers.
# The *_pid variables name the process whose tree's RSS is measured ("" = not running).

hap_pid=
start_haproxy() {
  mkdir -p "$tmp/haproxy"
  cat >"$tmp/haproxy/haproxy.cfg" <<EOF
global
  nbthread $proxy_threads
  maxconn $hap_maxconn
defaults
  mode tcp
  maxconn $hap_maxconn
  balance roundrobin
  timeout connect 5s
  timeout check 1s
  timeout client 10m
  timeout server 10m
  # Health checks as lb does them: a TCP connect every $health_interval s, UP/DOWN after one.
  default-server check inter ${health_interval}s rise 1 fall 1
listen to_iperf
  bind 127.0.0.1:$p_hap_iperf
  server iperf 127.0.0.1:$p_iperf
listen to_http
  bind 127.0.0.1:$p_hap_http
  server http 127.0.0.1:$p_http
listen to_redis
  bind 127.0.0.1:$p_hap_redis
  server r1 127.0.0.1:$p_redis1
  server r2 127.0.0.1:$p_redis2
  server r3 127.0.0.1:$p_redis3
EOF
  # -db: stay in the foreground, so our pid is the process that holds the connections.
  start_bg "$tmp/haproxy/haproxy.log" haproxy -db -f "$tmp/haproxy/haproxy.cfg"
  if wait_listen "$p_hap_iperf" && wait_listen "$p_hap_http" && wait_listen "$p_hap_redis"; then
    hap_pid=$last_pid
  else
    log "haproxy did not come up: $(tail -3 "$tmp/haproxy/haproxy.log")"
  fi
}

ngx_pid=
start_nginx_stream() {
  mkdir -p "$tmp/nginx"
  # Debian builds the stream module as a dynamic module (libnginx-mod-stream); our own
  # config does not include /etc/nginx/modules-enabled, so load it here.
  local load=
  if nginx -V 2>&1 | grep -q -- '--with-stream=dynamic'; then
    load="load_module /usr/lib/nginx/modules/ngx_stream_module.so;"
  fi
  cat >"$tmp/nginx/nginx.conf" <<EOF
$load
daemon off;
master_process on;
worker_processes $proxy_threads;
worker_rlimit_nofile $nofile;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections $ngx_conns; }
stream {
  upstream redis {
    server 127.0.0.1:$p_redis1;
    server 127.0.0.1:$p_redis2;
    server 127.0.0.1:$p_redis3;
  }
  server { listen 127.0.0.1:$p_ngx_iperf backlog=4096; proxy_pass 127.0.0.1:$p_iperf; }
  server { listen 127.0.0.1:$p_ngx_http backlog=4096; proxy_pass 127.0.0.1:$p_http; }
  server { listen 127.0.0.1:$p_ngx_redis backlog=4096; proxy_pass redis; }
}
EOF
  start_bg "$tmp/nginx/stdout.log" nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf"
  if wait_listen "$p_ngx_iperf" && wait_listen "$p_ngx_http" && wait_listen "$p_ngx_redis"; then
    ngx_pid=$last_pid
  else
    log "nginx stream did not come up: $(tail -3 "$tmp/nginx/error.log" "$tmp/nginx/stdout.log" 2>/dev/null)"
  fi
}

lb_bin=${L4SIM_BUILD_DIR:-build}/apps/lb/lb
case "$lb_bin" in /*) ;; *) lb_bin=$root/$lb_bin ;; esac
lb_iperf_pid='' lb_http_pid='' lb_redis_pid=''
lb_pids=()  # every lb process of every lb row, for the restart between repetitions
lb_state=ok  # ok | n/a (no binary) | err (it did not start)
# The lb's settings for the bench: as many connections as HAProxy may hold, idle timeouts as
# long as HAProxy's (10 min) and its connect timeout (5 s), so that neither closes connections
# the other keeps (5,000 connects at once overflow the backend's backlog: a dropped SYN is
# sent again after 1 s, which a 1 s connect timeout does not wait for).
lb_env=(LB_HOST=127.0.0.1 LB_ALGO=rr LB_HEALTH_INTERVAL=$health_interval LB_HEALTH_TIMEOUT=1
  LB_STATS_INTERVAL=0 LB_MAX_CONNS=$hap_maxconn LB_CLIENT_TIMEOUT=600 LB_SERVER_TIMEOUT=600
  LB_TUNNEL_TIMEOUT=600 LB_CLIENT_FIN_TIMEOUT=600 LB_CONNECT_TIMEOUT_MS=5000)
[ -n "${LB_LOOPS:-}" ] && lb_env+=("LB_LOOPS=$LB_LOOPS")

# Starts one lb (it is configured by environment only: one listener each) and waits for its
# port. Sets lb_started to its pid, or to "" when it did not come up.
# (Not run in $(...): the pid must reach this shell's pids for the cleanup.)
start_one_lb() {  # name port backends [pump [admin_port [access_log (1: on)]]]
  local name=$1 port=$2 backends=$3 pump=${4:-} admin=${5:-} access=${6:-} logfile=$tmp/lb-$1.log
  local extra=()
  lb_started=
  [ -n "$pump" ] && extra+=("LB_PUMP=$pump")
  [ -n "$admin" ] && extra+=("LB_ADMIN_PORT=$admin")
  [ -n "$access" ] && extra+=("LB_ACCESS_LOG=$tmp/access-$name.log")
  start_bg "$logfile" env "${lb_env[@]}" "${extra[@]}" LB_PORT="$port" LB_ID="bench-$name" \
    LB_BACKENDS="$backends" "$lb_bin"
  if wait_listen "$port" 20; then
    lb_started=$last_pid
    [ -n "$admin" ] && start_scraper "$lb_started" "$admin"
    return 0
  fi
  log "lb ($name) did not listen on $port: $(tail -3 "$logfile" 2>/dev/null)"
  return 1
}

# Scrapes an lb's /metrics every second while it runs, as a Prometheus with a 1 s interval
# would (a pacing step, not a wait; bounded to an hour).
start_scraper() {  # lb_pid admin_port
  start_bg /dev/null bash -c 'for _ in $(seq 3600); do
      kill -0 "$1" 2>/dev/null || exit 0
      curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$2/metrics"
      sleep 1
    done' scraper "$1" "$2"
}

start_lb() {  # row: sets lb_iperf_pid, lb_http_pid, lb_redis_pid
  local row=$1 pump=${lb_row_pump[$1]} p_lb_iperf p_lb_http p_lb_redis a_iperf= a_http= a_redis=
  local access=${lb_row_log[$1]:-}
  read -r p_lb_iperf p_lb_http p_lb_redis <<<"${lb_row_ports[$row]}"
  read -r a_iperf a_http a_redis <<<"${lb_row_admin[$row]:-}"
  lb_iperf_pid='' lb_http_pid='' lb_redis_pid=''
  if [ ! -x "$lb_bin" ] && [ "$build_lb" = 1 ] && [ -d "$root/apps/lb" ]; then
    log "building l4sim (no $lb_bin yet)"
    run_bounded 1800 "$root/scripts/l4sim" build >"$tmp/l4sim-build.log" 2>&1 ||
      log "build failed: $(tail -5 "$tmp/l4sim-build.log")"
  fi
  if [ ! -x "$lb_bin" ]; then
    log "no lb binary at $lb_bin: its row says n/a"
    lb_state=n/a
    return
  fi
  start_one_lb "$row-iperf" "$p_lb_iperf" "127.0.0.1:$p_iperf" "$pump" "$a_iperf" "$access"
  lb_iperf_pid=$lb_started
  start_one_lb "$row-http" "$p_lb_http" "127.0.0.1:$p_http" "$pump" "$a_http" "$access"
  lb_http_pid=$lb_started
  start_one_lb "$row-redis" "$p_lb_redis" \
    "r1=127.0.0.1:$p_redis1,r2=127.0.0.1:$p_redis2,r3=127.0.0.1:$p_redis3" "$pump" "$a_redis" \
    "$access"
  lb_redis_pid=$lb_started
  lb_pids+=($lb_iperf_pid $lb_http_pid $lb_redis_pid)
  [ -n "$lb_iperf_pid" ] || [ -n "$lb_http_pid" ] || [ -n "$lb_redis_pid" ] || lb_state=err
}

# ---------------------------------------------------------------------------------------
# Measurements. Each records "row<TAB>key<TAB>value" into $results; value "err" on failure.

results=$tmp/results.tsv
: >"$results"
notes=()

record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$results"; }

# iperf3 bulk throughput, Gbit/s received.
measure_iperf() {  # row port streams
  local row=$1 port=$2 streams=$3 out=$tmp/iperf-$1-$3.json value
  if [ -z "$port" ]; then record "$row" "iperf$streams" err; return; fi
  log "$row: iperf3 -P $streams -t $iperf_secs"
  run_bounded $((iperf_secs + 20)) iperf3 -c 127.0.0.1 -p "$port" -t "$iperf_secs" -P "$streams" \
    -J --connect-timeout 3000 >"$out" 2>"$out.err"
  if value=$("${util[@]}" iperf "$out" 2>/dev/null); then
    record "$row" "iperf$streams" "$value"
  else
    record "$row" "iperf$streams" err
    log "$row: iperf3 -P $streams failed: $(grep -m1 '"error"' "$out" 2>/dev/null)$(head -c 300 "$out.err")"
    # A test cut short can leave the server stuck on it: start a fresh one for the next.
    stop_pid "$iperf_pid"
    start_iperf_server
  fi
}

# wrk request rate and latency through the proxy to the HTTP backend.
measure_wrk() {  # row port close|ka
  local row=$1 port=$2 mode=$3 out=$tmp/wrk-$1-$3.txt header=() value
  if [ -z "$port" ]; then
    record "$row" "${mode}_rps" err; record "$row" "${mode}_p50" err; record "$row" "${mode}_p99" err
    return
  fi
  # Connection: close makes every request a new client and backend connection.
  [ "$mode" = close ] && header=(-H 'Connection: close')
  log "$row: wrk $mode -t$wrk_threads -c$wrk_conns -d${wrk_secs}s"
  run_bounded $((wrk_secs + 20)) wrk -t"$wrk_threads" -c"$wrk_conns" -d"${wrk_secs}s" --latency \
    "${header[@]}" "http://127.0.0.1:$port/" >"$out" 2>&1
  if value=$("${util[@]}" wrk "$out" 2>/dev/null); then
    local rps p50 p99 errors
    read -r rps p50 p99 errors <<<"$value"
    record "$row" "${mode}_rps" "$rps"
    record "$row" "${mode}_p50" "$p50"
    record "$row" "${mode}_p99" "$p99"
    [ "$errors" -gt 0 ] && notes+=("$row $mode: wrk counted $errors socket errors or non-2xx answers")
  else
    record "$row" "${mode}_rps" err; record "$row" "${mode}_p50" err; record "$row" "${mode}_p99" err
    log "$row: wrk $mode failed: $(tail -3 "$out")"
  fi
}

# Resident memory per idle proxied connection (the HTTP backend is the target).
measure_idle() {  # row port pid
  local row=$1 port=$2 pid=$3
  if [ -z "$port" ] || [ -z "$pid" ]; then record "$row" idle_kb err; return; fi
  log "$row: $idle_count idle connections"
  if run_bounded 120 python3 "$here/idle_conns.py" --port "$port" --count "$idle_count" \
      --pid "$pid" --backend-port "$p_http" --wait 20 --settle 5 \
      >"$tmp/idle-$row.out" 2>"$tmp/idle-$row.log"; then
    local kb held
    read -r kb held <"$tmp/idle-$row.out"
    record "$row" idle_kb "$kb"
    record "$row" idle_held "$held"
    [ "$held" = "$idle_count" ] ||
      notes+=("$row idle: the proxy closed $((idle_count - held)) of $idle_count idle connections; kB over the $held held")
  else
    record "$row" idle_kb err
    record "$row" idle_held err
  fi
  cat "$tmp/idle-$row.log" >&2
  # The next test starts once the proxy has torn its backend side down.
  "${util[@]}" wait-conns "$p_http" "$idle_base" 60 ||
    log "$row: backend-side connections still open after 60 s"
}

# redis-benchmark -c 50 SET, GET and PING (requests per second, as it reports them).
measure_redis() {  # row port
  local row=$1 port=$2 out=$tmp/redis-$1.csv value
  if [ -z "$port" ]; then
    record "$row" redis_set err; record "$row" redis_get err; record "$row" redis_ping err
    return
  fi
  log "$row: redis-benchmark -c $redis_clients -n $redis_requests -t set,get,ping"
  # redis-benchmark retries a refused connection forever: the timeout bounds it.
  run_bounded 120 redis-benchmark -h 127.0.0.1 -p "$port" -c "$redis_clients" \
    -n "$redis_requests" -t set,get,ping --csv >"$out" 2>"$out.err"
  if value=$("${util[@]}" redis "$out" 2>/dev/null); then
    local set get ping
    read -r set get ping <<<"$value"
    record "$row" redis_set "$set"; record "$row" redis_get "$get"; record "$row" redis_ping "$ping"
  else
    record "$row" redis_set err; record "$row" redis_get err; record "$row" redis_ping err
    log "$row: redis-benchmark failed: $(tail -c 300 "$out.err")"
  fi
}

# Each row's ports (empty: its proxy is not running) and the pid whose tree's RSS is measured.
declare -A iperf_port http_port redis_port proxy_pid

# ---------------------------------------------------------------------------------------
# Run

log "working in $tmp; fd limit $nofile; $reps repetition(s); rows $rows_wanted"
start_iperf_server
start_http_backend
start_redis_backends
idle_base=$(python3 -c "import sys; sys.path.insert(0, sys.argv[1]); import bench_util
print(bench_util.established_to(int(sys.argv[2])))" "$here" "$p_http")
rows=()
want_row direct && rows+=(direct)
want_row haproxy && rows+=(haproxy)
want_row nginx && rows+=(nginx)
want_row l4sim-lb && rows+=(l4sim-lb)
want_row lb-broker && rows+=(lb-broker)
want_row lb-direct && rows+=(lb-direct)
want_row lb-splice && rows+=(lb-splice)
want_row lb-scrape && rows+=(lb-scrape)
want_row lb-log && rows+=(lb-log)
want_row lb-observed && rows+=(lb-observed)
iperf_port[direct]=$p_iperf http_port[direct]=$p_http redis_port[direct]=$p_redis1
proxy_pid[direct]=

# (Re)starts the proxies: each repetition measures memory on fresh processes (a proxy that
# kept its pools from the previous repetition would show no growth).
start_proxies() {
  local pid
  for pid in $hap_pid $ngx_pid "${lb_pids[@]}"; do stop_pid "$pid"; done
  hap_pid= ngx_pid= lb_pids=()
  if want_row haproxy; then
    start_haproxy
    iperf_port[haproxy]=${hap_pid:+$p_hap_iperf} http_port[haproxy]=${hap_pid:+$p_hap_http}
    redis_port[haproxy]=${hap_pid:+$p_hap_redis} proxy_pid[haproxy]=$hap_pid
  fi
  if want_row nginx; then
    start_nginx_stream
    iperf_port[nginx]=${ngx_pid:+$p_ngx_iperf} http_port[nginx]=${ngx_pid:+$p_ngx_http}
    redis_port[nginx]=${ngx_pid:+$p_ngx_redis} proxy_pid[nginx]=$ngx_pid
  fi
  local row pi ph pr
  for row in l4sim-lb lb-broker lb-direct lb-splice lb-scrape lb-log lb-observed; do
    want_row "$row" || continue
    start_lb "$row"
    read -r pi ph pr <<<"${lb_row_ports[$row]}"
    iperf_port[$row]=${lb_iperf_pid:+$pi} http_port[$row]=${lb_http_pid:+$ph}
    redis_port[$row]=${lb_redis_pid:+$pr} proxy_pid[$row]=$lb_http_pid
  done
}

# Every measurement runs for each row in turn; the order rotates by one row per repetition.
for ((rep = 1; rep <= reps; rep++)); do
  order=()
  for ((i = 0; i < ${#rows[@]}; i++)); do order+=("${rows[(i + rep - 1) % ${#rows[@]}]}"); done
  log "repetition $rep/$reps: ${order[*]}"
  start_proxies
  for row in "${order[@]}"; do
    # Memory on a proxy that holds nothing else; direct has no proxy memory.
    [ "$row" = direct ] || measure_idle "$row" "${http_port[$row]}" "${proxy_pid[$row]}"
  done
  for row in "${order[@]}"; do measure_iperf "$row" "${iperf_port[$row]}" 1; done
  for row in "${order[@]}"; do measure_iperf "$row" "${iperf_port[$row]}" 4; done
  for row in "${order[@]}"; do measure_wrk "$row" "${http_port[$row]}" close; done
  for row in "${order[@]}"; do measure_wrk "$row" "${http_port[$row]}" ka; done
  for row in "${order[@]}"; do measure_redis "$row" "${redis_port[$row]}"; done
done

# ---------------------------------------------------------------------------------------
# Report

if [ -z "$out_prefix" ]; then
  out_dir=${L4SIM_BUILD_DIR:-build}
  case "$out_dir" in /*) ;; *) out_dir=$root/$out_dir ;; esac
  out_prefix=$out_dir/bench/compare-$(date -u +%Y%m%dT%H%M%SZ)
fi
mkdir -p "$(dirname "$out_prefix")"

report() {
  echo "l4sim proxy comparison — $(date -u '+%Y-%m-%d %H:%M:%S UTC') — $(uname -sr), $(nproc) cores"
  echo "mode: $([ "$quick" = 1 ] && echo quick || echo full), $reps repetition(s), rows ${rows[*]}"
  echo "versions:"
  echo "  $(haproxy -v 2>&1 | head -1)"
  echo "  $(nginx -v 2>&1 | head -1)"
  echo "  $(iperf3 --version 2>&1 | head -1)"
  echo "  $(wrk --version 2>&1 | head -1 | sed 's/ Copyright.*//')"
  echo "  $(redis-benchmark --version 2>&1 | head -1)"
  if [ -x "$lb_bin" ]; then
    echo "  l4sim lb: $lb_bin (HEAD $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'))"
  else
    echo "  l4sim lb: n/a"
  fi
  echo "settings:"
  echo "  haproxy: mode tcp, nbthread $proxy_threads, maxconn $hap_maxconn, check inter ${health_interval}s rise 1 fall 1"
  echo "  nginx stream: worker_processes $proxy_threads, worker_connections $ngx_conns (no active checks)"
  echo "  l4sim lb: ${lb_env[*]}, one process per listener; rows lb-broker, lb-direct and lb-splice add LB_PUMP=broker / direct / splice; lb-scrape adds LB_ADMIN_PORT (GET /metrics every 1 s), lb-log LB_ACCESS_LOG=FILE, lb-observed both"
  echo "  backends: iperf3 server; nginx HTTP (worker_processes $proxy_threads, return 200 \"ok\"); 3 redis-server"
  echo "  load: iperf3 -t $iperf_secs -P 1|4; wrk -t$wrk_threads -c$wrk_conns -d${wrk_secs}s --latency" \
    "(close: -H 'Connection: close'); redis-benchmark -c $redis_clients -n $redis_requests" \
    "-t set,get,ping (direct: one redis-server); idle: $idle_count connections to the HTTP listener"
  echo "  all on 127.0.0.1; load generators, proxies and backends share the same cores"
  echo
  "${util[@]}" table "$results" "$out_prefix.json" ||
    echo "(could not format the results: $(cat "$results"))"
  if [ ${#notes[@]} -gt 0 ]; then
    echo
    echo "notes:"
    for n in "${notes[@]}"; do echo "  $n"; done
  fi
}
report | tee "$out_prefix.txt"
log "table in $out_prefix.txt, every value in $out_prefix.json"
exit 0
