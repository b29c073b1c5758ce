#!/usr/bin/env python3
"""A C route inside a Python app vs the C engine alone vs the route in Python.

    python3 bench/bench_native.py [--rounds 3] [--duration 10] [--skip fastapi]

The same GET /hello ({"message":"Hello World"}) served, side by side, by:
  C engine (hello.c)        examples/c/hello, the ceiling
  fastrapi app: C route     a pydantic CRUD-style fastrapi app whose /hello is
                            an fr_handler loaded at run time from a library
                            built with `fastrapi build-native`
                            (app.add_native_route)
  fastrapi app: def route   the same app with /hello as a Python `def`
  FastAPI+uvicorn: def      the Python route on FastAPI (uvloop + httptools
                            when installed), access log off
Each server is one process; wrk (-t2, keep-alive, no pipelining) alternates
between them, the order reversed every other round; medians of the rounds.
"server CPU µs/req" is the process's user + system CPU per request. Not a
test: nothing asserts a number.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_c  # noqa: E402
from _common import (ROOT, check_json, fmt_ms, fmt_rps, free_port, machine_info, median,  # noqa: E402
                     require, run_rounds, stop, wait_ready)

HELLO = {"message": "Hello World"}

HANDLER = r"""
#include "fastrapi.h"
#include <string.h>

FR_NATIVE_MODULE();

FR_NATIVE_EXPORT int hello(fr_req *req, void *ud) {
    static const char body[] = "{\"message\":\"Hello World\"}";
    (void)ud;
    return fr_res_json(req, 200, body, sizeof body - 1);
}
"""

APP = r"""
import logging, sys
framework, variant, port, lib = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if framework == "fastapi":
    from fastapi import FastAPI
else:
    from fastrapi import FastAPI
from pydantic import BaseModel

app = FastAPI()

class Item(BaseModel):
    name: str
    price: float

ITEMS = {}

@app.post("/items", status_code=201)
def create(item: Item):
    ITEMS[len(ITEMS)] = item
    return {"id": len(ITEMS) - 1}

@app.get("/items/{item_id}")
def read(item_id: int):
    return ITEMS[item_id]

if variant == "c":
    app.add_native_route("GET", "/hello", lib, "hello")
else:
    @app.get("/hello")
    def hello():
        return {"message": "Hello World"}

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
    ("C engine (hello.c)", "c", ""),
    ("fastrapi app: C route", "fastrapi", "c"),
    ("fastrapi app: def route", "fastrapi", "py"),
    ("FastAPI+uvicorn: def", "fastapi", "py"),
]
ENDPOINTS = [("hello", "GET /hello", "GET", "/hello", HELLO, {})]


def build_lib(tmp):
    src = os.path.join(tmp, "handlers.c")
    out = os.path.join(tmp, "handlers.so")
    with open(src, "w") as f:
        f.write(HANDLER)
    r = subprocess.run([sys.executable, "-m", "fastrapi", "build-native", src, "-o", out],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("fastrapi build-native failed:\n%s%s" % (r.stdout, r.stderr))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--cc", default="gcc")
    ap.add_argument("--skip", default="", help="comma list of: c,fastapi")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    require("wrk")
    skip = set(filter(None, args.skip.split(",")))
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    tmp = tempfile.mkdtemp(prefix="bench-native-")
    lib = build_lib(tmp)
    servers, failed = {}, {}
    for name, fw, variant in SERVERS:
        if fw in skip:
            continue
        log = tempfile.TemporaryFile(mode="w+")
        if fw == "c":
            exe, _ = bench_c.build_hello(args.cc, "-O2")
            port = free_port()
            proc = subprocess.Popen([exe, str(port)], stdout=subprocess.DEVNULL, stderr=log)
        else:
            port = free_port()
            proc = subprocess.Popen([sys.executable, "-c", APP, fw, variant, str(port), lib], env=env,
                                    stdout=subprocess.DEVNULL, stderr=log)
        why = wait_ready(port, "/hello", proc)
        if why:
            stop(proc)
            log.seek(0)
            failed[name] = "%s: %s" % (why, log.read().strip()[-300:])
            continue
        servers[name] = (proc, port, None)
    try:
        results, na = run_rounds(servers, ENDPOINTS, check_json, args, name_width=26)
    finally:
        for proc, _, _ in servers.values():
            stop(proc)
    base = median([r["rps"] for r in results.get(("C engine (hello.c)", "hello"), [])])
    print("| server | req/s | p99 | server CPU µs/req | vs C engine |")
    print("|---|---:|---:|---:|---:|")
    for name, _, _ in SERVERS:
        if name in failed:
            print("| %s | failed | | | |" % name)
            continue
        if name not in servers:
            continue
        if (name, "hello") in na:
            print("| %s | N/A (%s) | | | |" % (name, na[(name, "hello")]))
            continue
        rs = results.get((name, "hello"), [])
        rps = median([r["rps"] for r in rs])
        cpu = median([r["cpu_us_per_req"] for r in rs])
        ratio = "%.2f×" % (rps / base) if rps and base else "-"
        print("| %s | %s | %s | %s | %s |" % (name, fmt_rps(rps), fmt_ms(median([r["p99_ms"] for r in rs])),
                                              "%.1f" % cpu if cpu is not None else "-", ratio))
    info = machine_info()
    print("\nwrk -t%d -c%d -d%ds, keep-alive, no pipelining, median of %d rounds." %
          (args.wrk_threads, args.connections, args.duration, args.rounds))
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
