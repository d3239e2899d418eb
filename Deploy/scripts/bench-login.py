#!/usr/bin/env python3
"""Login storm against a running platform: N clients sign in as fast as they can for D seconds.

Prints good logins per second, how many were turned away (503 + Retry-After when the bcrypt
queue is full, 429 for throttled usernames) and latency percentiles. Each client uses its own
demo-style account so the per-username slow-down does not interfere.

    Deploy/scripts/bench-login.py --url http://127.0.0.1:8080 --clients 32 --seconds 20 \
        --users pupil --password cloudclass
Accounts pupil001..pupilNNN must exist: `cloudclass up --demo` seeds 200 of them.
"""
import argparse, http.client, json, threading, time, urllib.parse
from collections import Counter

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", default="http://127.0.0.1:8080")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=15)
    p.add_argument("--users", default="pupil")
    p.add_argument("--password", default="cloudclass")
    a = p.parse_args()
    target = urllib.parse.urlparse(a.url)
    statuses, latencies, retry_after = Counter(), [], []
    lock = threading.Lock()
    deadline = time.monotonic() + a.seconds

    def client(index):
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        body = json.dumps({"username": f"{a.users}{index + 1:03d}", "password": a.password})
        while time.monotonic() < deadline:
            start = time.monotonic()
            try:
                conn.request("POST", "/api/v1/auth/login", body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                status, ra = response.status, response.getheader("Retry-After")
            except Exception as error:  # a refused or dropped connection counts as such
                status, ra = type(error).__name__, None
                conn.close()
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            elapsed = time.monotonic() - start
            with lock:
                statuses[status] += 1
                latencies.append((status, elapsed))
                if ra: retry_after.append(int(ra))
            if status == 503 and ra:
                time.sleep(min(int(ra), 5))  # a well-behaved client honours Retry-After

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(a.clients)]
    for t in threads: t.start()
    for t in threads: t.join()
    wall = time.monotonic() - started

    def pct(values, q):
        values = sorted(values)
        return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")

    ok = [l for s, l in latencies if s == 200]
    print(f"clients {a.clients}, {wall:.1f} s: good logins {len(ok)} = {len(ok) / wall:.1f}/s")
    print("statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items(), key=str)))
    print(f"200 latency ms: p50 {pct(ok, .5):.0f}, p90 {pct(ok, .9):.0f}, p99 {pct(ok, .99):.0f}, max {pct(ok, 1):.0f}")
    busy = [l for s, l in latencies if s == 503]
    if busy:
        print(f"503 latency ms: p50 {pct(busy, .5):.1f}, p99 {pct(busy, .99):.1f}; Retry-After s: min {min(retry_after)}, max {max(retry_after)}")

if __name__ == "__main__":
    main()
