#!/usr/bin/env python3
"""fastrapi with Starlette's CORSMiddleware + GZipMiddleware vs plain hello.

    python3 bench/bench_middleware.py [--rounds 3] [--duration 10] [--skip fastapi]

One app source (below) with the same two routes, served as:
  fastrapi                  no middleware
  fastrapi cors+gzip        app.add_middleware(GZipMiddleware) then
                            (CORSMiddleware, allow_origins=["*"]): both run by
                            the engine in C (fastrapi._native_mw)
  fastrapi cors+gzip (py)   the same classes through Starlette's Python stack
                            (subclasses, which the engine never takes): what
                            every middleware app paid before
  FastAPI+uvicorn cors+gzip uvicorn, uvloop + httptools (asyncio + h11 when
                            they are not installed), access log off
each with app.serve() / uvicorn.run in one process, side by side. Requests
carry `Origin: https://bench.example` and `Accept-Encoding: gzip`:
  hello   GET /hello  {"message":"Hello World"} (25 bytes: below GZip's
          minimum_size, so CORS headers + Vary only)
  big     GET /big    a 2.6 KB JSON list (compressed by GZip, level 9)
Every answer is checked once (status, decoded JSON; Content-Encoding and
Access-Control-Allow-Origin where the app has the middleware) before wrk
(-t2, keep-alive, no pipelining) alternates between the servers, the order
reversed every other round. "server CPU µs/req" is the server process's
user + system CPU over a run divided by its requests (median of the rounds):
steadier than req/s on a shared machine. Not a test: nothing asserts a
number.
"""
import argparse
import gzip
import http.client
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (ROOT, fmt_ms, fmt_rps, free_port, machine_info, median,  # noqa: E402
                     require, run_rounds, stop, wait_ready)

APP = r"""
import logging, sys
framework, variant, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if framework == "fastapi":
    from fastapi import FastAPI
else:
    from fastrapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

app = FastAPI()
if variant != "plain":
    if variant == "python":  # subclasses: the engine keeps Starlette's stack for them
        class CORSMiddleware(CORSMiddleware):
            pass
        class GZipMiddleware(GZipMiddleware):
            pass
    app.add_middleware(GZipMiddleware)
    app.add_middleware(CORSMiddleware, allow_origins=["*"])

@app.get("/hello")
def hello():
    return {"message": "Hello World"}

ITEMS = [{"id": i, "name": "item %d" % i, "price": i * 1.5} for i in range(60)]

@app.get("/big")
def big():
    return ITEMS

if framework == "fastapi":
    import importlib.util, uvicorn
    fast = importlib.util.find_spec("uvloop") and importlib.util.find_spec("httptools")
    uvicorn.run(app, host="127.0.0.1", port=port, workers=1, loop="uvloop" if fast else "asyncio",
                http="httptools" if fast else "h11", access_log=False, log_level="warning")
else:
    logging.getLogger("fastrapi.access").disabled = True
    app.serve("127.0.0.1", port, access_log=False, log_level="warning")
"""

SERVERS = [  # name, framework, variant
    ("fastrapi", "fastrapi", "plain"),
    ("fastrapi cors+gzip", "fastrapi", "native"),
    ("fastrapi cors+gzip (py)", "fastrapi", "python"),
    ("FastAPI+uvicorn cors+gzip", "fastapi", "native"),
]
HEADERS = ("Origin: https://bench.example", "Accept-Encoding: gzip")
BIG = [{"id": i, "name": "item %d" % i, "price": i * 1.5} for i in range(60)]
ENDPOINTS = [  # key, label, method, path, want, extra (run_rounds' shape)
    ("hello", "GET /hello", "GET", "/hello", {"message": "Hello World"}, {"headers": HEADERS}),
    ("big", "GET /big (gzip)", "GET", "/big", BIG, {"headers": HEADERS}),
]


def make_check(with_mw):
    def check(port, method, path, want):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request(method, path, headers=dict(h.split(": ", 1) for h in HEADERS))
            r = conn.getresponse()
            data, hdrs = r.read(), {k.lower(): v for k, v in r.getheaders()}
        except OSError as e:
            return "error: %s" % e
        finally:
            conn.close()
        if r.status != 200:
            return "status %d" % r.status
        if hdrs.get("content-encoding") == "gzip":
            data = gzip.decompress(data)
        elif with_mw and path == "/big":
            return "not compressed"
        if with_mw and hdrs.get("access-control-allow-origin") != "*":
            return "no CORS header"
        return None if json.loads(data) == want else "wrong answer"
    return check


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--skip", default="", help="comma list of: fastapi,python")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    require("wrk")
    skip = set(filter(None, args.skip.split(",")))
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    servers, failed = {}, {}
    for name, fw, variant in SERVERS:
        if fw in skip or variant in skip:
            continue
        port = free_port()
        log = tempfile.TemporaryFile(mode="w+")
        proc = subprocess.Popen([sys.executable, "-c", APP, fw, variant, str(port)], env=env,
                                stdout=subprocess.DEVNULL, stderr=log)
        why = wait_ready(port, "/hello", proc)
        if why:
            stop(proc)
            log.seek(0)
            failed[name] = "%s: %s" % (why, log.read().strip()[-300:])
            continue
        servers[name] = (proc, port, None)
    try:
        na = {}
        variants = {n: v for n, _, v in SERVERS}
        for name in servers:  # each server has its own check (with or without middleware)
            chk = make_check(variants[name] != "plain")
            for key, _, method, path, want, _ in ENDPOINTS:
                why = chk(servers[name][1], method, path, want)
                if why:
                    na[(name, key)] = why
                    print("%s %s: N/A (%s)" % (name, key, why), file=sys.stderr)
        results, na = run_rounds(servers, ENDPOINTS, lambda *a: None, args, name_width=26, na=na)
    finally:
        for proc, _, _ in servers.values():
            stop(proc)
    base = {key: median([r["rps"] for r in results.get(("fastrapi", key), [])])
            for key, *_ in ENDPOINTS}
    print("| server | endpoint | req/s | p99 | server CPU µs/req | vs plain fastrapi |")
    print("|---|---|---:|---:|---:|---:|")
    for name, _, _ in SERVERS:
        for key, label, *_ in ENDPOINTS:
            if name in failed:
                print("| %s | %s | failed | | | |" % (name, label))
                continue
            if name not in servers:
                continue
            if (name, key) in na:
                print("| %s | %s | N/A (%s) | | | |" % (name, label, na[(name, key)]))
                continue
            rs = results.get((name, key), [])
            rps = median([r["rps"] for r in rs])
            ratio = "%.0f %%" % (100.0 * rps / base[key]) if rps and base.get(key) else "-"
            cpu = median([r["cpu_us_per_req"] for r in rs])
            print("| %s | %s | %s | %s | %s | %s |" % (
                name, label, fmt_rps(rps), fmt_ms(median([r["p99_ms"] for r in rs])),
                "%.1f" % cpu if cpu is not None else "-", ratio))
    info = machine_info()
    print("\nwrk -t%d -c%d -d%ds, keep-alive, no pipelining, median of %d rounds; headers %s.  "
          % (args.wrk_threads, args.connections, args.duration, args.rounds, ", ".join(HEADERS)))
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
