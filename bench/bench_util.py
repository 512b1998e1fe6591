#!/usr/bin/env python3
"""Small helpers for bench/compare.sh, one subcommand each, so the shell script stays shell.

  ports N                   print N distinct free TCP ports on 127.0.0.1, one a line
  wait-listen PORT SECS     exit 0 once something listens on 127.0.0.1:PORT, 1 after SECS
  iperf FILE                print Gbit/s received from an `iperf3 -J` report
  wrk FILE                  print "req/s p50_ms p99_ms errors" from a `wrk --latency` report
  table FILE                print the result tables from the "row<TAB>key<TAB>value" file

A parse that finds nothing exits 1 and prints nothing: the caller records "err".
"""

import json
import re
import socket
import sys
import time


def ports(n):
    # Hold every socket open until all are bound, so the kernel cannot hand out one twice.
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    for s in socks:
        print(s.getsockname()[1])
        s.close()


def listening(port):
    # Reads /proc instead of connecting: a probe connection would be taken by iperf3 as a
    # (broken) test and clutters the servers' logs.
    want = f":{port:04X}"
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[1].endswith(want) and fields[3] == "0A":  # 0A = LISTEN
                        return True
        except OSError:
            pass
    return False


def wait_listen(port, secs):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if listening(port):
            return 0
        time.sleep(0.05)
    return 1


def iperf(path):
    with open(path) as f:
        report = json.load(f)
    if "error" in report:
        return 1
    bps = report["end"]["sum_received"]["bits_per_second"]
    print(f"{bps / 1e9:.2f}")
    return 0


_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    return float(m.group(1)) * _UNITS_MS[m.group(2)]


def wrk(path):
    with open(path) as f:
        out = f.read()
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if not (rps and p50 and p99):
        return 1
    # Socket errors (connect/read/write/timeout) and non-2xx answers, summed: a proxy that
    # answers fast by failing must not look good.
    errors = 0
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sock:
        errors += sum(int(g) for g in sock.groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    print(f"{float(rps.group(1)):.0f} {_ms(p50.group(1)):.3f} {_ms(p99.group(1)):.3f} {errors}")
    return 0


# Columns of the table: (key, header, format). Latencies are in ms.
COLUMNS = [
    ("iperf1", "iperf 1 str", "{:.2f}"),
    ("iperf4", "iperf 4 str", "{:.2f}"),
    ("close_rps", "close req/s", "{:.0f}"),
    ("close_p50", "close p50", "{:.3f}"),
    ("close_p99", "close p99", "{:.3f}"),
    ("ka_rps", "k-a req/s", "{:.0f}"),
    ("ka_p50", "k-a p50", "{:.3f}"),
    ("ka_p99", "k-a p99", "{:.3f}"),
    ("idle_kb", "kB/idle conn", "{:.2f}"),
]
BASELINE = "haproxy"


def _num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _print(rows, headers):
    widths = [max(len(str(r[i])) for r in [headers] + rows) for i in range(len(headers))]
    line = lambda r: "  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                               for i, (c, w) in enumerate(zip(r, widths)))
    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))


def table(path):
    results, order = {}, []
    with open(path) as f:
        for raw in f:
            parts = raw.rstrip("\n").split("\t")
            if len(parts) != 3:
                continue
            row, key, value = parts
            if row not in results:
                results[row] = {}
                order.append(row)
            results[row][key] = value

    headers = ["proxy"] + [h for _, h, _ in COLUMNS]
    rows = []
    for row in order:
        cells = [row]
        for key, _, fmt in COLUMNS:
            v = results[row].get(key, "err")
            n = _num(v)
            cells.append(fmt.format(n) if n is not None else v)
        rows.append(cells)
    print("Results (Gbit/s; req/s; latencies in ms; kB of proxy RSS per idle connection)")
    _print(rows, headers)

    base = results.get(BASELINE, {})
    rows = []
    for row in order:
        cells = [row]
        for key, _, _ in COLUMNS:
            a, b = _num(results[row].get(key)), _num(base.get(key))
            if a is None or b is None:
                cells.append("-")
            elif b == 0:
                cells.append("-")
            else:
                cells.append(f"{a / b:.2f}")
        rows.append(cells)
    print()
    print(f"Ratios to {BASELINE} (value / {BASELINE}; higher is better for Gbit/s and req/s, "
          "lower for latency and kB)")
    _print(rows, headers)
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    try:
        if cmd == "ports":
            ports(int(args[0]))
            return 0
        if cmd == "wait-listen":
            return wait_listen(int(args[0]), float(args[1]))
        if cmd == "iperf":
            return iperf(args[0])
        if cmd == "wrk":
            return wrk(args[0])
        if cmd == "table":
            return table(args[0])
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
        print(f"bench_util {cmd}: {e}", file=sys.stderr)
        return 1
    print(f"bench_util: unknown command {cmd!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
