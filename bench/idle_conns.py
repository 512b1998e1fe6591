#!/usr/bin/env python3
"""Memory a proxy spends per idle proxied connection.

Opens --count TCP connections to 127.0.0.1:--port and sends nothing, waits until the proxy
has opened its side to the backend (established connections whose remote port is
--backend-port, read from /proc/net/tcp), then reads the resident memory of the proxy: the
VmRSS of --pid and all its descendants (nginx's and haproxy's workers). Prints the growth
per held connection in kB and the number of connections still held on stdout ("3.31 5000"),
details on stderr, then closes every connection.

Exit 1 (nothing on stdout) when not every connection could be opened, when the proxy closed
more than 1% of them, or when the proxy is gone.
Every wait is bounded: --connect-timeout per connection, --wait for the backend side,
--settle for the RSS to stop growing.
"""

import argparse
import os
import resource
import socket
import sys
import time


def descendants(root):
    """Returns root and every process below it, from the ppid field of /proc/*/stat."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields start after the last ')'.
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def rss_kb(root):
    """Sum of VmRSS (kB) over root and its descendants; None when root is gone."""
    total, seen = 0, False
    for pid in descendants(root):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        seen = True
                        break
        except OSError:
            continue
    return total if seen else None


def established_to(port):
    """Established TCP connections on this machine whose remote port is `port`."""
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True, help="proxy port to connect to")
    ap.add_argument("--count", type=int, required=True, help="connections to hold")
    ap.add_argument("--pid", type=int, required=True, help="proxy process (root of its tree)")
    ap.add_argument("--backend-port", type=int, required=True,
                    help="port the proxy forwards to (its side is counted)")
    ap.add_argument("--wait", type=float, default=20.0,
                    help="at most this long (s) for the proxy's backend side")
    ap.add_argument("--settle", type=float, default=5.0,
                    help="at most this long (s) for RSS to stop growing (lazy allocations)")
    ap.add_argument("--connect-timeout", type=float, default=10.0)
    args = ap.parse_args()

    # Each connection costs this process one fd: raise the soft limit to the hard one.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.count + 64 > hard:
        print(f"idle_conns: {args.count} connections need more than the fd limit {hard}",
              file=sys.stderr)
        return 1

    before = rss_kb(args.pid)
    if before is None:
        print(f"idle_conns: process {args.pid} not found", file=sys.stderr)
        return 1
    backend_before = established_to(args.backend_port)

    socks = []
    started = time.monotonic()
    try:
        for i in range(args.count):
            s = socket.socket()
            s.settimeout(args.connect_timeout)
            try:
                s.connect(("127.0.0.1", args.port))
            except OSError as e:
                s.close()
                print(f"idle_conns: connection {i + 1}/{args.count} failed: {e}", file=sys.stderr)
                return 1
            socks.append(s)
        opened = time.monotonic() - started

        # The proxy connects to the backend after accepting; wait for all of those (bounded).
        target = backend_before + args.count
        deadline = time.monotonic() + args.wait
        backend = established_to(args.backend_port)
        while backend < target and time.monotonic() < deadline:
            time.sleep(0.2)
            backend = established_to(args.backend_port)
        if backend < target:
            print(f"idle_conns: only {backend - backend_before}/{args.count} backend-side "
                  f"connections after {args.wait:.0f} s; measuring anyway", file=sys.stderr)
        # Lazy allocations land a little after the connections: wait until two readings
        # 200 ms apart agree within 64 kB (bounded by --settle), not for a fixed time.
        deadline = time.monotonic() + args.settle
        last = rss_kb(args.pid)
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = rss_kb(args.pid)
            if now is None or last is None or abs(now - last) <= 64:
                break
            last = now

        # A proxy that closed some of our connections would look cheap: find them without
        # blocking (a closed peer reads as b"" or an error) and divide by those still held.
        # More than 1% closed makes the number meaningless: fail.
        closed = 0
        for s in socks:
            s.setblocking(False)
            try:
                if s.recv(1, socket.MSG_PEEK) == b"":
                    closed += 1
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
        held = args.count - closed
        if closed:
            print(f"idle_conns: the proxy closed {closed}/{args.count} connections",
                  file=sys.stderr)
        if closed * 100 > args.count:
            return 1

        after = rss_kb(args.pid)
        if after is None:
            print(f"idle_conns: process {args.pid} died", file=sys.stderr)
            return 1
        per_conn = (after - before) / held
        print(f"idle_conns: port {args.port}: {args.count} connections opened in {opened:.2f} s, "
              f"{backend - backend_before} backend-side, {held} held; "
              f"RSS {before} kB -> {after} kB", file=sys.stderr)
        print(f"{per_conn:.2f} {held}")
        return 0
    finally:
        for s in socks:
            s.close()


if __name__ == "__main__":
    sys.exit(main())
