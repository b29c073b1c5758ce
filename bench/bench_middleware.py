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
  ... +@app.middleware      FastAPI's documented X-Process-Time
                            `@app.middleware("http")` alone (the issue's
                            target: fastrapi >= 10x FastAPI here); fastrapi
                            runs it as an around layer of the engine's chain
  ... cors+gzip+@app.middleware  both of the above plus the same middleware,
                            outermost
FastrAPI (PyPI) has no row: its `@app.middleware("http")` calls the function
with a dict of the request and no call_next (a before-hook that cannot see or
edit the response), so it cannot run the timing middleware.
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
import gzip
import http.client
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (SERVE_APP, free_port, print_footer, print_table, python_env,  # noqa: E402
                     require, run_rounds, start_server, stop, wrk_parser)

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
if variant not in ("plain", "timing_only"):
    if variant == "python":  # subclasses: the engine keeps Starlette's stack for them
        class CORSMiddleware(CORSMiddleware):
            pass
        class GZipMiddleware(GZipMiddleware):
            pass
    app.add_middleware(GZipMiddleware)
    app.add_middleware(CORSMiddleware, allow_origins=["*"])
if variant in ("timing", "timing_only"):  # FastAPI's documented timing middleware, outermost
    import time

    @app.middleware("http")
    async def add_process_time_header(request, call_next):
        start = time.perf_counter()
        response = await call_next(request)
        response.headers["X-Process-Time"] = str(time.perf_counter() - start)
        return response

@app.get("/hello")
def hello():
    return {"message": "Hello World"}

ITEMS = [{"id": i, "name": "item %d" % i, "price": i * 1.5} for i in range(60)]

@app.get("/big")
def big():
    return ITEMS

""" + SERVE_APP

SERVERS = [  # name, framework, variant
    ("fastrapi", "fastrapi", "plain"),
    ("fastrapi cors+gzip", "fastrapi", "native"),
    ("fastrapi cors+gzip (py)", "fastrapi", "python"),
    ("FastAPI+uvicorn cors+gzip", "fastapi", "native"),
    ("fastrapi +@app.middleware", "fastrapi", "timing_only"),
    ("FastAPI+uvicorn +@app.middleware", "fastapi", "timing_only"),
    ("fastrapi cors+gzip+@app.middleware", "fastrapi", "timing"),
    ("FastAPI+uvicorn cors+gzip+@app.middleware", "fastapi", "timing"),
]
HEADERS = ("Origin: https://bench.example", "Accept-Encoding: gzip")
BIG = [{"id": i, "name": "item %d" % i, "price": i * 1.5} for i in range(60)]
ENDPOINTS = [  # key, label, method, path, want, extra (run_rounds' shape)
    ("hello", "GET /hello", "GET", "/hello", {"message": "Hello World"}, {"headers": HEADERS}),
    ("big", "GET /big (gzip)", "GET", "/big", BIG, {"headers": HEADERS}),
]


def make_check(with_mw, timing):
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
        if timing and "x-process-time" not in hdrs:
            return "no X-Process-Time header"
        return None if json.loads(data) == want else "wrong answer"
    return check


def main():
    ap = wrk_parser(__doc__)
    ap.add_argument("--skip", default="", help="comma list of: fastapi,python")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    require("wrk")
    skip = set(filter(None, args.skip.split(",")))
    servers, failed = {}, {}
    for name, fw, variant in SERVERS:
        if fw in skip or variant in skip:
            continue
        port = free_port()
        start_server(servers, failed, name, [sys.executable, "-c", APP, fw, variant, str(port)], port,
                     "/hello", env=python_env())
    try:
        na = {}
        variants = {n: v for n, _, v in SERVERS}
        for name in servers:  # each server has its own check (with or without middleware)
            chk = make_check(variants[name] not in ("plain", "timing_only"),
                             variants[name] in ("timing", "timing_only"))
            for key, _, method, path, want, _ in ENDPOINTS:
                why = chk(servers[name][1], method, path, want)
                if why:
                    na[(name, key)] = why
                    print("%s %s: N/A (%s)" % (name, key, why), file=sys.stderr)
        results, na = run_rounds(servers, ENDPOINTS, lambda *a: None, args, name_width=40, na=na)
    finally:
        for proc, _, _ in servers.values():
            stop(proc)
    print_table([n for n, _, _ in SERVERS], ENDPOINTS, servers, failed, results, na, "fastrapi",
                "vs plain fastrapi", lambda r: "%.0f %%" % (100.0 * r))
    print_footer(args, results, na, failed, note="; headers %s" % ", ".join(HEADERS))


if __name__ == "__main__":
    main()
