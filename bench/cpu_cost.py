#!/usr/bin/env python3
"""CPU cost of the lb per proxied connection and while idle, for several configurations.

Starts an nginx HTTP backend (one worker) and, for each repetition and each --variant in
turn, one lb in front of it; then measures the lb's user+sys CPU time (utime+stime of
/proc/PID/stat, all threads) and its context switches (voluntary and nonvoluntary, summed
over /proc/PID/task/*/status) across four phases:

  idle0     --secs seconds with no connection at all
  close     wrk -t1 -c8 -H 'Connection: close' for --secs seconds (as fast as it goes)
  paced     wrk -t1 -c4 -H 'Connection: close' with a 2 ms pause between a connection's
            requests (a moderate rate: the scheduler's threads sleep between connections)
  idle1000  --secs seconds holding --idle-count proxied connections open, sending nothing

and prints one JSON object per (variant, repetition, phase) on stdout, then a table of the
medians. CPU figures use the
threads' schedstat run time (nanoseconds; the ticks of /proc/PID/stat are kept as cpu_s for
a cross-check). Per-connection figures divide by the requests wrk completed (each is one proxied
connection with Connection: close). CPU time and switch counts are what contention on a
busy machine distorts least; the rates are printed but mean little on a loaded machine.

A variant is NAME or NAME|VAR=VALUE|VAR=VALUE: extra environment for that lb; the pair
bin=PATH runs another lb binary for that variant (before/after builds in one run).
Everything runs on 127.0.0.1; every phase and wait is bounded in time.
"""

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from bench_util import cpu_seconds, switches  # this script's directory is on sys.path

TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listen(port, secs):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False






def threads(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def per_thread(pid):
    """{tid: (name, cpu ns from schedstat, voluntary switches)} of the live threads."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns = int(f.read().split()[0])
            vol = 0
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        vol = int(line.split()[1])
            out[tid] = (name, ns, vol)
        except OSError:
            continue
    return out


def sample(pid):
    vol, non = switches(pid)
    th = per_thread(pid)
    return {"cpu": cpu_seconds(pid), "vol": vol, "non": non, "t": time.monotonic(),
            "ns": sum(x[1] for x in th.values()), "th": th}


def delta(a, b):
    d = {k: b[k] - a[k] for k in a if k != "th"}
    # CPU ms and voluntary switches per thread, as "name+N" where N is the thread id minus
    # the process id (creation order: CAF 0.17.6 names its scheduler workers
    # caf.multiplexer too); a thread that started or ended within the phase is left out.
    by = {}
    pid = min(int(t) for t in b["th"])
    for tid, (name, ns, vol) in b["th"].items():
        if tid in a["th"]:
            cur = by.setdefault(f"{name}+{int(tid) - pid}", [0.0, 0])
            cur[0] += (ns - a["th"][tid][1]) / 1e6
            cur[1] += vol - a["th"][tid][2]
    d["by_thread"] = {k: [round(v[0], 1), v[1]] for k, v in
                      sorted(by.items(), key=lambda kv: int(kv[0].rsplit("+", 1)[1]))}
    return d


def run_wrk(port, conns, secs, script=None):
    cmd = ["nice", "-n", "19", "wrk", "-t1", f"-c{conns}", f"-d{secs}s",
           "-H", "Connection: close"]
    if script:
        cmd += ["-s", script]
    cmd.append(f"http://127.0.0.1:{port}/")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 30).stdout
    m = re.search(r"(\d+) requests in", out)
    errors = 0
    e = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if e:
        errors += sum(int(x) for x in e.groups())
    n = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if n:
        errors += int(n.group(1))
    return (int(m.group(1)) if m else 0), errors


def established_to(port):
    want = f":{port:04X}"
    n = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[3] == "01" and fields[2].endswith(want):
                n += 1
    return n


def start_nginx(tmp, port):
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 20000;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 10000; }}
http {{
  access_log off;
  keepalive_timeout 600s;
  client_header_timeout 600s;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{ return 200 "ok\\n"; }}
  }}
}}
""")
    p = subprocess.Popen(["nice", "-n", "19", "nginx", "-p", tmp, "-c", conf],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_listen(port, 10):
        p.kill()
        sys.exit("cpu_cost: nginx did not come up")
    return p


def start_lb(lb, port, backend, extra, log):
    env = dict(os.environ)
    env.update({"LB_HOST": "127.0.0.1", "LB_PORT": str(port), "LB_ID": "cpu-cost",
                "LB_BACKENDS": f"127.0.0.1:{backend}", "LB_ALGO": "rr",
                "LB_HEALTH_INTERVAL": "1", "LB_HEALTH_TIMEOUT": "1", "LB_STATS_INTERVAL": "0",
                "LB_MAX_CONNS": "20000", "LB_CLIENT_TIMEOUT": "600", "LB_SERVER_TIMEOUT": "600",
                "LB_TUNNEL_TIMEOUT": "600", "LB_CLIENT_FIN_TIMEOUT": "600",
                "LB_CONNECT_TIMEOUT_MS": "5000"})
    env.update(extra)
    p = subprocess.Popen(["nice", "-n", "19", lb], env=env, stdin=subprocess.DEVNULL,
                         stdout=log, stderr=subprocess.STDOUT)
    if not wait_listen(port, 20):
        p.kill()
        p.wait()
        return None
    return p


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def measure(pid, phase, secs, port, backend, idle_count, pace_script):
    if phase == "idle0":
        a = sample(pid)
        time.sleep(secs)  # the phase itself: how much the lb costs doing nothing for secs
        return delta(a, sample(pid)), 0, 0
    if phase in ("close", "paced"):
        a = sample(pid)
        if phase == "close":
            n, err = run_wrk(port, 8, secs)
        else:
            n, err = run_wrk(port, 4, secs, pace_script)
        return delta(a, sample(pid)), n, err
    # idle1000: open, wait (bounded) for the backend side, then measure holding them.
    socks = []
    before = established_to(backend)
    try:
        for _ in range(idle_count):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            socks.append(s)
        deadline = time.monotonic() + 20
        while established_to(backend) < before + idle_count and time.monotonic() < deadline:
            time.sleep(0.2)
        held = established_to(backend) - before
        a = sample(pid)
        time.sleep(secs)  # the phase itself
        return delta(a, sample(pid)), 0, idle_count - held
    finally:
        for s in socks:
            s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lb", default="build/apps/lb/lb")
    ap.add_argument("--variant", action="append", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--secs", type=int, default=10)
    ap.add_argument("--idle-count", type=int, default=1000)
    ap.add_argument("--phases", default="idle0,close,paced,idle1000")
    args = ap.parse_args()
    phases = args.phases.split(",")

    variants = []
    for v in args.variant:
        name, *pairs = v.split("|")
        variants.append((name, dict(p.split("=", 1) for p in pairs)))

    tmp = tempfile.mkdtemp(prefix="cpu-cost-")
    pace = os.path.join(tmp, "pace.lua")
    with open(pace, "w") as f:
        f.write("function delay()\n  return 2\nend\n")
    backend = free_port()
    nginx = start_nginx(tmp, backend)
    rows = []
    try:
        for rep in range(args.reps):
            for name, extra in variants:
                port = free_port()
                with open(os.path.join(tmp, f"lb-{name}-{rep}.log"), "w") as log:
                    env_extra = {k: v for k, v in extra.items() if k != "bin"}
                    lb = start_lb(extra.get("bin", args.lb), port, backend, env_extra, log)
                if lb is None:
                    print(f"cpu_cost: lb ({name}) did not come up", file=sys.stderr)
                    continue
                try:
                    # Warm-up: the first connections allocate what later ones reuse.
                    run_wrk(port, 8, 1)
                    time.sleep(1.5)  # let the warm-up's closes finish before idle0 starts
                    nthreads = threads(lb.pid)
                    for phase in phases:
                        d, n, err = measure(lb.pid, phase, args.secs, port, backend,
                                            args.idle_count, pace)
                        row = {"variant": name, "rep": rep, "phase": phase, "threads": nthreads,
                               "cpu_s": round(d["cpu"], 3),
                               "cpu_ns_s": round(d["ns"] / 1e9, 4), "vol": d["vol"], "non": d["non"],
                               "secs": round(d["t"], 2), "conns": n, "errors": err}
                        row["by_thread"] = d["by_thread"]
                        if n:
                            row["cpu_us_per_conn"] = round(d["ns"] / 1e3 / n, 1)
                            row["vol_per_conn"] = round(d["vol"] / n, 2)
                            row["non_per_conn"] = round(d["non"] / n, 2)
                            row["rate"] = round(n / d["t"])
                        else:
                            row["cpu_ms_per_s"] = round(d["ns"] / 1e6 / d["t"], 2)
                            row["switches_per_s"] = round((d["vol"] + d["non"]) / d["t"])
                        rows.append(row)
                        print(json.dumps(row), flush=True)
                finally:
                    stop(lb)
    finally:
        nginx.send_signal(signal.SIGQUIT)
        try:
            nginx.wait(timeout=10)
        except subprocess.TimeoutExpired:
            nginx.kill()

    def med(name, phase, key):
        xs = [r[key] for r in rows if r["variant"] == name and r["phase"] == phase and key in r]
        if not xs:
            return "-"
        return f"{statistics.median(xs):g} ({min(xs):g}-{max(xs):g})"

    print("\nmedians (min-max) over repetitions", file=sys.stderr)
    for name, _ in variants:
        print(f"{name}: threads {med(name, phases[0], 'threads')}", file=sys.stderr)
        for phase in phases:
            if phase in ("close", "paced"):
                print(f"  {phase:8} cpu us/conn {med(name, phase, 'cpu_us_per_conn')}  "
                      f"vol/conn {med(name, phase, 'vol_per_conn')}  "
                      f"non/conn {med(name, phase, 'non_per_conn')}  "
                      f"rate {med(name, phase, 'rate')}", file=sys.stderr)
            else:
                print(f"  {phase:8} cpu ms/s {med(name, phase, 'cpu_ms_per_s')}  "
                      f"switches/s {med(name, phase, 'switches_per_s')}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
