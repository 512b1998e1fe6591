#!/usr/bin/env python3
"""Soak the `lb`: bytes, connection churn and memory under slow peers. Prints figures; it is
a benchmark, not a test: it never fails on time, and every phase is bounded.

1. --gb GiB through the lb over --streams connections at a time, each a random size, sent in
   random chunks (1..65536 bytes) to an echo backend; each connection either half-closes
   after sending (and reads the echo to EOF) or reads the whole echo first and then closes.
   Reports bytes lost (sent but not echoed back intact) and MiB/s.
2. --conns connections opened, used for one byte and closed; reports the lb's open fds
   before and after (after waits, bounded, for the sessions to end).
3. --slow slowloris clients (a byte every second) plus --slow slow readers (send what the
   socket takes, read nothing); reports the lb's RSS growth per held session (the limit the
   issue sets is 512 KiB) and its RSS after they leave.

Usage: bench/soak.py --lb PATH [--gb 1] [--streams 8] [--conns 100000] [--slow 1000]
"""

import argparse
import hashlib
import os
import random
import resource
import socket
import socketserver
import subprocess
import sys
import threading
import time

CHUNK_MAX = 65536
POOL = os.urandom(4 << 20)


class Echo(socketserver.BaseRequestHandler):
    """Echoes every byte; forwards the client's half-close as its own."""

    def handle(self):
        s = self.request
        try:
            while True:
                data = s.recv(CHUNK_MAX)
                if not data:
                    break
                s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 4096


def lb_status(pid):
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return fds, rss


def wait_for(cond, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.2)
    return cond()


def one_stream(port, size, rng, results):
    """Sends `size` random bytes in random chunks, reads the echo, compares hashes."""
    sent, got = hashlib.blake2b(), hashlib.blake2b()
    received = [0]
    half_close = rng.random() < 0.5
    s = socket.create_connection(("127.0.0.1", port), timeout=60)

    def reader():
        try:
            while True:
                data = s.recv(CHUNK_MAX)
                if not data:
                    break
                got.update(data)
                received[0] += len(data)
                if not half_close and received[0] >= size:
                    break
        except OSError:
            pass

    t = threading.Thread(target=reader)
    t.start()
    left = size
    try:
        while left > 0:
            n = min(left, rng.randint(1, CHUNK_MAX))
            off = rng.randint(0, len(POOL) - n)
            piece = POOL[off:off + n]
            s.sendall(piece)
            sent.update(piece)
            left -= n
        if half_close:
            s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    t.join(120)
    s.close()
    ok = received[0] == size and sent.digest() == got.digest()
    results.append((size, received[0] if ok else 0))


def phase_bytes(port, gib, streams, seed):
    rng = random.Random(seed)
    total = int(gib * (1 << 30))
    sizes = []
    while sum(sizes) < total:
        sizes.append(min(rng.randint(1 << 20, 64 << 20), total - sum(sizes)))
    results = []
    start = time.monotonic()
    for i in range(0, len(sizes), streams):
        threads = [threading.Thread(target=one_stream,
                                    args=(port, n, random.Random(rng.random()), results))
                   for n in sizes[i:i + streams]]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
    secs = time.monotonic() - start
    sent = sum(r[0] for r in results)
    back = sum(r[1] for r in results)
    print(f"bytes: {len(sizes)} connections, {sent / (1 << 30):.2f} GiB sent, "
          f"{sent - back} bytes lost, {sent / (1 << 20) / secs:.0f} MiB/s through lb (echoed)")


def phase_churn(port, pid, count, budget):
    base_fds, _ = lb_status(pid)
    start = time.monotonic()
    done = failed = 0
    while done < count and time.monotonic() - start < budget:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"x")
            if s.recv(1) != b"x":
                failed += 1
            s.close()
        except OSError:
            failed += 1
        done += 1
    secs = time.monotonic() - start
    wait_for(lambda: lb_status(pid)[0] <= base_fds, 30)
    after_fds, _ = lb_status(pid)
    print(f"churn: {done} connections in {secs:.1f}s ({done / secs:.0f}/s), {failed} failed; "
          f"lb fds {base_fds} before, {after_fds} after")


def phase_slow(port, pid, count):
    time.sleep(1)
    _, base_rss = lb_status(pid)
    base_fds, _ = lb_status(pid)
    held = []
    for i in range(count):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.setblocking(False)
            held.append(("loris", s))
            s2 = socket.create_connection(("127.0.0.1", port), timeout=10)
            s2.setblocking(False)
            try:
                s2.send(POOL[:1 << 20])  # what fits; the echo comes back and is never read
            except OSError:
                pass
            held.append(("reader", s2))
        except OSError:
            break
    # Let the lb open every backend side and fill its buffers (bounded).
    wait_for(lambda: lb_status(pid)[0] >= base_fds + 4 * len(held) * 0.95, 60)
    for _ in range(5):
        for kind, s in held:
            if kind == "loris":
                try:
                    s.send(b"x")
                except OSError:
                    pass
        time.sleep(1)
    fds, rss = lb_status(pid)
    n = len(held)
    print(f"slow: {n // 2} slowloris + {n // 2} slow readers held; lb RSS {base_rss} KiB -> "
          f"{rss} KiB, {(rss - base_rss) / max(n, 1):.1f} KiB per session (limit 512); "
          f"fds {fds}")
    for _, s in held:
        s.close()
    wait_for(lambda: lb_status(pid)[0] <= base_fds, 60)
    time.sleep(2)
    fds, rss = lb_status(pid)
    print(f"slow: after they left, lb RSS {rss} KiB, fds {fds} (baseline {base_fds})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lb", required=True)
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--streams", type=int, default=8)
    ap.add_argument("--conns", type=int, default=100000)
    ap.add_argument("--churn-budget", type=float, default=300, help="seconds at most")
    ap.add_argument("--slow", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    backend = Server(("127.0.0.1", 0), Echo)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    bport = backend.server_address[1]
    env = dict(os.environ, LB_PORT="0", LB_ID="soak", LB_HOST="127.0.0.1",
               LB_BACKENDS=f"127.0.0.1:{bport}", LB_HEALTH_INTERVAL="0", LB_STATS_INTERVAL="0")
    log = open(os.path.join(os.environ.get("TMPDIR", "/tmp"), f"soak-lb-{os.getpid()}.log"), "w+")
    lb = subprocess.Popen([args.lb], env=env, stdout=log, stderr=subprocess.STDOUT,
                          stdin=subprocess.PIPE)
    try:
        port = 0
        for _ in range(100):
            log.seek(0)
            text = log.read()
            if "ready on port " in text:
                port = int(text.split("ready on port ")[1].split()[0])
                break
            time.sleep(0.1)
        if not port:
            print("soak: lb did not start", file=sys.stderr)
            return 1
        if args.gb > 0:
            phase_bytes(port, args.gb, args.streams, args.seed)
        if args.conns > 0:
            phase_churn(port, lb.pid, args.conns, args.churn_budget)
        if args.slow > 0:
            phase_slow(port, lb.pid, args.slow)
    finally:
        lb.terminate()
        try:
            lb.wait(10)
        except subprocess.TimeoutExpired:
            lb.kill()
        backend.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
