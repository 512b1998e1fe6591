#!/usr/bin/env python3
"""Small helpers for bench/compare.sh, one subcommand each, so the shell script stays shell
(and, imported, `cpu_seconds` and `switches` for bench/cpu_cost.py and
bench/observability_cpu.py).

  ports N                   print N distinct free TCP ports on 127.0.0.1, one a line
  wait-listen PORT SECS     exit 0 once something listens on 127.0.0.1:PORT, 1 after SECS
  iperf FILE                print Gbit/s received from an `iperf3 -J` report
  wrk FILE                  print "req/s p50_ms p99_ms errors" from a `wrk --latency` report
  redis FILE                print "set_rps get_rps ping_rps" from a `redis-benchmark --csv` report
  wait-conns PORT N SECS    exit 0 once at most N established connections have remote port
                            PORT (a proxy's teardown finished), 1 after SECS
  table FILE [JSON]         print the result tables from the "row<TAB>key<TAB>value" file (a
                            key may repeat, one value per repetition: median and spread are
                            shown) and, with JSON, write every value, median, min and max there

A parse that finds nothing exits 1 and prints nothing: the caller records "err".
"""

import json
import os
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


def established_to(port):
    want = f":{port:04X}"
    n = 0
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "01" and fields[2].endswith(want):  # 01 = ESTABLISHED
                        n += 1
        except OSError:
            pass
    return n


def wait_conns(port, most, secs):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if established_to(port) <= most:
            return 0
        time.sleep(0.05)
    return 1


def cpu_seconds(pid):
    """utime+stime of the whole process (live and exited threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def switches(pid):
    """(voluntary, nonvoluntary) context switches summed over the process's threads."""
    vol = non = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        vol += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        non += int(line.split()[1])
        except OSError:
            continue
    return vol, non


def redis(path):
    # redis-benchmark --csv: a header line, then "TEST","rps",... per test.
    rates = {}
    with open(path) as f:
        for line in f:
            cells = [c.strip().strip('"') for c in line.strip().split(",")]
            if len(cells) >= 2 and cells[0] in ("SET", "GET", "PING_MBULK", "PING_INLINE"):
                rates[cells[0]] = float(cells[1])
    ping = rates.get("PING_MBULK", rates.get("PING_INLINE"))
    if "SET" not in rates or "GET" not in rates or ping is None:
        return 1
    print(f"{rates['SET']:.0f} {rates['GET']:.0f} {ping:.0f}")
    return 0


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
    ("redis_set", "redis SET/s", "{:.0f}"),
    ("redis_get", "redis GET/s", "{:.0f}"),
    ("redis_ping", "redis PING/s", "{:.0f}"),
    ("idle_kb", "kB/idle conn", "{:.2f}"),
    ("idle_held", "idle held", "{:.0f}"),
]
BASELINE = "haproxy"


def _num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def _print(rows, headers):
    widths = [max(len(str(r[i])) for r in [headers] + rows) for i in range(len(headers))]
    line = lambda r: "  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                               for i, (c, w) in enumerate(zip(r, widths)))
    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))


def _summaries(path):
    """{row: {key: {"values": [...], "median", "min", "max", "spread_pct"}}} and row order."""
    raw, order = {}, []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                continue
            row, key, value = parts
            if row not in raw:
                raw[row] = {}
                order.append(row)
            raw[row].setdefault(key, []).append(value)
    out = {}
    for row, keys in raw.items():
        out[row] = {}
        for key, values in keys.items():
            nums = [n for n in (_num(v) for v in values) if n is not None]
            entry = {"values": [_num(v) if _num(v) is not None else v for v in values]}
            if nums:
                med = _median(nums)
                entry.update(median=med, min=min(nums), max=max(nums),
                             spread_pct=(max(nums) - min(nums)) / med * 100 if med else 0.0,
                             failed=len(values) - len(nums))
            out[row][key] = entry
    return out, order


def table(path, json_path=None):
    data, order = _summaries(path)
    columns = [c for c in COLUMNS if any(c[0] in data[r] for r in order)]

    def cell(row, key, fmt):
        e = data[row].get(key)
        if e is None:
            return "-"
        if "median" not in e:
            return str(e["values"][0])
        text = fmt.format(e["median"])
        if len(e["values"]) > 1:
            text += f" ±{e['spread_pct'] / 2:.0f}%"
        if e.get("failed"):
            text += f" ({e['failed']} err)"
        return text

    reps = max((len(e["values"]) for r in order for e in data[r].values()), default=1)
    headers = ["proxy"] + [h for _, h, _ in columns]
    rows = [[row] + [cell(row, k, fmt) for k, _, fmt in columns] for row in order]
    print(f"Results: median of {reps} repetition(s), ±half the range (max-min) as % of the median")
    print("(Gbit/s; req/s; latencies in ms; kB of proxy RSS per idle connection)")
    _print(rows, headers)

    ratios = {}
    base = data.get(BASELINE, {})
    rows = []
    for row in order:
        cells = [row]
        ratios[row] = {}
        for key, _, _ in columns:
            a = data[row].get(key, {}).get("median")
            b = base.get(key, {}).get("median")
            if a is None or b is None or b == 0:
                cells.append("-")
            else:
                ratios[row][key] = a / b
                cells.append(f"{a / b:.2f}")
        rows.append(cells)
    print()
    print(f"Ratios of medians to {BASELINE} (higher is better for Gbit/s and req/s, "
          "lower for latency and kB)")
    _print(rows, headers)
    if json_path:
        with open(json_path, "w") as f:
            json.dump({"rows": order, "results": data, "ratios_to": BASELINE, "ratios": ratios},
                      f, indent=1, sort_keys=True)
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
        if cmd == "redis":
            return redis(args[0])
        if cmd == "wait-conns":
            return wait_conns(int(args[0]), int(args[1]), float(args[2]))
        if cmd == "table":
            return table(args[0], args[1] if len(args) > 1 else None)
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
        print(f"bench_util {cmd}: {e}", file=sys.stderr)
        return 1
    print(f"bench_util: unknown command {cmd!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
