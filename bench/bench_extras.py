#!/usr/bin/env python3
"""fastrapi's seed extras: cache_resp hello and metrics-enabled hello vs plain hello.

    python3 bench/bench_extras.py [--rounds 3] [--duration 10]

One app source (below), served as:
  fastrapi                plain hello (the handler runs per request)
  fastrapi cache_resp     @app.get("/hello", cache_resp=True): answered by the
                          engine from the stored response, no Python per request
  fastrapi metrics        plain hello + Instrumentator().instrument(app): every
                          request counted in C (counter + histogram)
  fastrapi rate_limit     @app.get("/hello", rate_limit=10**9): the limiter is
                          consulted per request but never refuses (its cost only)
each with app.serve() in one process, side by side. Every answer is checked
once (status and JSON) before wrk (-t2, keep-alive, no pipelining) alternates
between the servers, the order reversed every other round. "server CPU
µs/req" is the server process's user + system CPU over a run divided by its
requests (median of the rounds). Not a test: nothing asserts a number.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (ROOT, check_json, fmt_ms, fmt_rps, free_port, machine_info,  # noqa: E402
                     median, require, run_rounds, stop, wait_ready)

APP = r"""
import logging, sys
variant, port = sys.argv[1], int(sys.argv[2])
from fastrapi import FastAPI, Instrumentator

app = FastAPI()
kw = {}
if variant == "cache":
    kw = {"cache_resp": True}
elif variant == "ratelimit":
    kw = {"rate_limit": 10 ** 9}
elif variant == "metrics":
    Instrumentator().instrument(app).expose(app)

@app.get("/hello", **kw)
def hello():
    return {"message": "Hello World"}

logging.getLogger("fastrapi.access").disabled = True
app.serve("127.0.0.1", port, access_log=False, log_level="warning")
"""

SERVERS = [  # name, variant
    ("fastrapi", "plain"),
    ("fastrapi cache_resp", "cache"),
    ("fastrapi metrics", "metrics"),
    ("fastrapi rate_limit", "ratelimit"),
]
ENDPOINTS = [  # key, label, method, path, want, extra (run_rounds' shape)
    ("hello", "GET /hello", "GET", "/hello", {"message": "Hello World"}, {}),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    require("wrk")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    servers, failed = {}, {}
    for name, variant in SERVERS:
        port = free_port()
        log = tempfile.TemporaryFile(mode="w+")
        proc = subprocess.Popen([sys.executable, "-c", APP, variant, str(port)], env=env,
                                stdout=subprocess.DEVNULL, stderr=log)
        why = wait_ready(port, "/hello", proc)
        if why:
            stop(proc)
            log.seek(0)
            failed[name] = "%s: %s" % (why, log.read().strip()[-300:])
            continue
        servers[name] = (proc, port, None)
    try:
        results, na = run_rounds(servers, ENDPOINTS, check_json, args, name_width=22)
    finally:
        for proc, _, _ in servers.values():
            stop(proc)
    base = median([r["rps"] for r in results.get(("fastrapi", "hello"), [])])
    print("| server | endpoint | req/s | p99 | server CPU µs/req | vs plain fastrapi |")
    print("|---|---|---:|---:|---:|---:|")
    for name, _ in SERVERS:
        for key, label, *_ in ENDPOINTS:
            if name in failed:
                print("| %s | %s | failed | | | |" % (name, label))
                continue
            if (name, key) in na:
                print("| %s | %s | N/A (%s) | | | |" % (name, label, na[(name, key)]))
                continue
            rs = results.get((name, key), [])
            rps = median([r["rps"] for r in rs])
            ratio = "%.0f %%" % (100.0 * rps / base) if rps and base else "-"
            cpu = median([r["cpu_us_per_req"] for r in rs])
            print("| %s | %s | %s | %s | %s | %s |" % (
                name, label, fmt_rps(rps), fmt_ms(median([r["p99_ms"] for r in rs])),
                "%.1f" % cpu if cpu is not None else "-", ratio))
    info = machine_info()
    print("\nwrk -t%d -c%d -d%ds, keep-alive, no pipelining, median of %d rounds.  "
          % (args.wrk_threads, args.connections, args.duration, args.rounds))
    print("%s, %s cores, Linux %s, Python %s, %s, %s. Load average: %s."
          % (info["cpu"], info["nproc"], info["kernel"], info["python"], info["wrk"], info["date"],
             " ".join("%.2f" % x for x in os.getloadavg())))
    for name, why in failed.items():
        print("\n%s failed: %s" % (name, why))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": {"%s|%s" % k: v for k, v in results.items()},
                       "na": {"%s|%s" % k: v for k, v in na.items()}, "machine": info}, f, indent=1)


if __name__ == "__main__":
    main()
