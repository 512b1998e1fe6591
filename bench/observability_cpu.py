#!/usr/bin/env python3
"""The lb's CPU per proxied connection with and without observability: a figure contention
distorts far less than throughput (the CPU an lb spends on one connection hardly depends on
how many other processes share the cores; its request rate does).

For each mode, each repetition: a fresh lb in front of an nginx HTTP backend, a 1 s warm-up,
then wrk with `Connection: close` (one new proxied connection per request) for --secs; the
lb's user+sys CPU (/proc/PID/stat, all threads) and its context switches (summed over
/proc/PID/task/*/status) between the start and the end of that run, divided by the requests
wrk completed. Modes:

  plain   the lb as bench/compare.sh's l4sim-lb row runs it
  scrape  + LB_ADMIN_PORT, GET /metrics every second (from this script, not the lb's CPU)
  log     + LB_ACCESS_LOG to a file
  both    + both (bench/compare.sh's lb-observed row)

After each run the lb is stopped (TERM) and its access log must hold one line per connection
it accepted (the warm-up's and the run's); a shortfall is reported as `lost`.

With perf (linux-perf) it also counts, per connection, the lb's system calls, futex calls,
write calls and thread switches (tracepoints: counts, which contention does not change;
--no-perf for the CPU figures alone, as the tracing costs CPU of its own). --lb
before=PATH,after=PATH compares two builds, their runs interleaved.

Usage: nice -n 19 bench/observability_cpu.py [--lb build/apps/lb/lb | NAME=PATH,...]
       [--reps 3] [--secs 8] [--conns 16] [--modes plain,scrape,log,both] [--no-perf]
       [--verbose]

A benchmark, not a test: it prints figures and never fails on them. Loopback only; every
process it starts is stopped on exit; wrk and every wait are bounded in time.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from bench_util import cpu_seconds, switches  # this script's directory is on sys.path
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_util  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
MODES = ("plain", "scrape", "log", "both")
# Tracepoints count events, not time: with no hardware counters in a VM these are the figures
# contention leaves alone. Short names for the table.
PERF_EVENTS = {"raw_syscalls:sys_enter": "syscalls", "syscalls:sys_enter_futex": "futex",
               "syscalls:sys_enter_write": "write", "sched:sched_switch": "switches"}






def thread_cpu(pid):
    """{tid: (comm, seconds)} for every thread of `pid`."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                text = f.read()
            comm = text[text.index("(") + 1 : text.rindex(")")]
            fields = text.rsplit(")", 1)[1].split()
            out[tid] = (comm, (int(fields[11]) + int(fields[12])) / TICK)
        except (OSError, ValueError):
            pass
    return out


def wrk(port, secs, conns):
    """Runs wrk with Connection: close; returns (requests, error text)."""
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{secs}s", "-H", "Connection: close",
           f"http://127.0.0.1:{port}/"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 30).stdout
    m = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Socket errors:.*|Non-2xx.*", out)
    return (int(m.group(1)) if m else 0), (errors.group(0) if errors else "")


def start_perf(pid, path):
    """perf stat counting PERF_EVENTS in `pid` until stop_perf."""
    p = subprocess.Popen(["perf", "stat", "-x,", "-o", path, "-e", ",".join(PERF_EVENTS),
                          "-p", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # perf attaches asynchronously; a short head start, not a condition wait
    return p


def stop_perf(p, path):
    """Stops perf stat; returns {short name: count}."""
    p.send_signal(signal.SIGINT)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return {}
    counts = {}
    with open(path) as f:
        for line in f:
            fields = line.strip().split(",")
            if len(fields) > 2 and fields[2] in PERF_EVENTS and fields[0].isdigit():
                counts[PERF_EVENTS[fields[2]]] = int(fields[0])
    return counts


class Scraper(threading.Thread):
    """GET /metrics every second, as a Prometheus with a 1 s interval would."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.done = threading.Event()
        self.scrapes = 0

    def run(self):
        while not self.done.is_set():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
                    r.read()
                self.scrapes += 1
            except OSError:
                pass
            self.done.wait(1.0)  # the pacing of the scrapes, not a wait for a condition


def start_nginx(tmp, port):
    os.makedirs(f"{tmp}/nginx", exist_ok=True)
    with open(f"{tmp}/nginx/nginx.conf", "w") as f:
        f.write(f"""daemon off;
master_process on;
worker_processes 1;
pid {tmp}/nginx/nginx.pid;
error_log {tmp}/nginx/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/nginx/body;
  proxy_temp_path {tmp}/nginx/proxy;
  fastcgi_temp_path {tmp}/nginx/fastcgi;
  uwsgi_temp_path {tmp}/nginx/uwsgi;
  scgi_temp_path {tmp}/nginx/scgi;
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{ return 200 "ok\\n"; }}
  }}
}}
""")
    p = subprocess.Popen(["nginx", "-p", f"{tmp}/nginx", "-c", f"{tmp}/nginx/nginx.conf"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if bench_util.wait_listen(port, 10) != 0:
        raise SystemExit("nginx backend did not listen")
    return p


def lb_env(mode, port, backend, admin, log_path):
    env = dict(os.environ)
    env.update(LB_HOST="127.0.0.1", LB_PORT=str(port), LB_ID="cpu", LB_ALGO="rr",
               LB_BACKENDS=f"127.0.0.1:{backend}", LB_HEALTH_INTERVAL="1", LB_HEALTH_TIMEOUT="1",
               LB_STATS_INTERVAL="0", LB_CLIENT_TIMEOUT="600", LB_SERVER_TIMEOUT="600",
               LB_TUNNEL_TIMEOUT="600", LB_CLIENT_FIN_TIMEOUT="600",
               LB_CONNECT_TIMEOUT_MS="5000")
    if mode in ("scrape", "both"):
        env["LB_ADMIN_PORT"] = str(admin)
    if mode in ("log", "both"):
        env["LB_ACCESS_LOG"] = log_path
    return env


def stop(p, secs=10):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(secs)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_one(args, tmp, case, backend, port, admin, rep):
    name, lb_path, mode = case
    log_path = f"{tmp}/access-{name}-{mode}-{rep}.log"
    lb = subprocess.Popen([lb_path], env=lb_env(mode, port, backend, admin, log_path),
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    scraper = None
    try:
        if bench_util.wait_listen(port, 20) != 0:
            raise SystemExit(f"lb ({mode}) did not listen")
        if mode in ("scrape", "both"):
            if bench_util.wait_listen(admin, 20) != 0:
                raise SystemExit(f"lb ({mode}) admin port did not listen")
            scraper = Scraper(admin)
            scraper.start()
        warm, _ = wrk(port, 1, args.conns)
        perf = start_perf(lb.pid, f"{tmp}/perf-{name}-{mode}-{rep}.csv") if args.perf else None
        cpu0, sw0, th0 = cpu_seconds(lb.pid), switches(lb.pid), thread_cpu(lb.pid)
        requests, errors = wrk(port, args.secs, args.conns)
        cpu1, sw1, th1 = cpu_seconds(lb.pid), switches(lb.pid), thread_cpu(lb.pid)
        counts = stop_perf(perf, f"{tmp}/perf-{name}-{mode}-{rep}.csv") if perf else {}
    finally:
        if scraper:
            scraper.done.set()
        stop(lb)
    lines = 0
    if mode in ("log", "both"):
        with open(log_path, "rb") as f:
            lines = sum(1 for _ in f)
    n = max(requests, 1)
    row = {
        "case": f"{name}/{mode}" if name else mode, "mode": mode, "rep": rep,
        "requests": requests, "rate": requests / args.secs,
        "cpu_us": (cpu1 - cpu0) / n * 1e6,
        "vol": (sw1[0] - sw0[0]) / n, "nonvol": (sw1[1] - sw0[1]) / n,
        "lines": lines, "expected": warm + requests, "errors": errors,
        "scrapes": scraper.scrapes if scraper else 0,
    }
    for name, count in counts.items():
        row[name] = count / n
    if args.verbose:
        busy = sorted(((th1[t][1] - th0.get(t, ("", 0))[1], t, th1[t][0]) for t in th1),
                      reverse=True)
        row["threads"] = " ".join(f"{c}/{t}:{s:.2f}s" for s, t, c in busy if s > 0)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lb", default=os.path.join(os.environ.get("L4SIM_BUILD_DIR", "build"),
                                                 "apps/lb/lb"),
                    help="the lb binary, or NAME=PATH,NAME=PATH,... to compare builds "
                         "(their runs interleave, so both see the same machine)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--secs", type=int, default=8)
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--no-perf", dest="perf", action="store_false",
                    help="skip perf stat's tracepoint counts (syscalls, futex, write, switches)")
    args = ap.parse_args()
    modes = args.modes.split(",")
    lbs = [tuple(x.split("=", 1)) if "=" in x else ("", x) for x in args.lb.split(",")]
    cases = [(name, path, mode) for mode in modes for name, path in lbs]
    if any(m not in MODES for m in modes) or not 1 <= args.reps <= 20 or not 1 <= args.secs <= 120:
        ap.error("modes from plain,scrape,log,both; reps 1..20; secs 1..120")
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            raise SystemExit(f"observability_cpu.py: needs {tool} (apt-get install {tool})")
    if args.perf and shutil.which("perf") is None:
        print("no perf (Debian: linux-perf): CPU and context switches only", file=sys.stderr)
        args.perf = False
    tmp = tempfile.mkdtemp(prefix="l4sim-obs-cpu.")
    ports = free_ports(3)
    backend, port, admin = ports
    nginx = start_nginx(tmp, backend)
    rows = []
    try:
        for rep in range(1, args.reps + 1):
            # The order rotates between repetitions, so a slow drift hits every case alike.
            k = (rep - 1) % len(cases)
            for case in cases[k:] + cases[:k]:
                row = run_one(args, tmp, case, backend, port, admin, rep)
                rows.append(row)
                lost = (f" lost={row['expected'] - row['lines']}"
                        if row["mode"] in ("log", "both") and row["lines"] < row["expected"] else "")
                print(f"rep {rep} {row['case']:12} {row['requests']:7} conns {row['rate']:8.0f}/s "
                      f"cpu {row['cpu_us']:6.1f} us/conn  ctxsw vol {row['vol']:5.2f} "
                      f"nonvol {row['nonvol']:5.2f} /conn  lines {row['lines']}{lost} "
                      f"scrapes {row['scrapes']} {row['errors']}", flush=True)
                if any(k in row for k in PERF_EVENTS.values()):
                    print("    per conn: " + " ".join(f"{k} {row[k]:.2f}" for k in
                                                   PERF_EVENTS.values() if k in row), flush=True)
                if args.verbose:
                    print(f"    threads {row['threads']}", flush=True)
    finally:
        stop(nginx)
        shutil.rmtree(tmp, ignore_errors=True)
    print("\nmedians of", args.reps, "(spread = (max-min)/2 as % of the median)")
    perf_cols = [k for k in PERF_EVENTS.values() if all(k in r for r in rows)]
    print(f"{'case':14}{'us/conn':>10}{'spread':>9}{'vol/conn':>10}{'nonvol/conn':>13}{'conns/s':>10}"
          + "".join(f"{k:>10}" for k in perf_cols) + ("  (perf counts per conn)" if perf_cols else ""))
    for case in dict.fromkeys(r["case"] for r in rows):
        rs = [r for r in rows if r["case"] == case]
        cpu = [r["cpu_us"] for r in rs]
        med = statistics.median(cpu)
        spread = (max(cpu) - min(cpu)) / 2 / med * 100 if med else 0
        print(f"{case:14}{med:10.1f}{spread:8.0f}%{statistics.median(r['vol'] for r in rs):10.2f}"
              f"{statistics.median(r['nonvol'] for r in rs):13.2f}"
              f"{statistics.median(r['rate'] for r in rs):10.0f}"
              + "".join(f"{statistics.median(r[k] for r in rs):10.2f}" for k in perf_cols))


def free_ports(n):
    """`n` free loopback ports (all bound at once, so none is handed out twice)."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    out = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return out


if __name__ == "__main__":
    main()
