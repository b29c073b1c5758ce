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
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_c  # noqa: E402
from _common import (SERVE_APP, check_json, free_port, print_footer, print_table,  # noqa: E402
                     python_env, require, run_rounds, start_server, stop, wrk_parser)

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

""" + SERVE_APP

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
    ap = wrk_parser(__doc__)
    ap.add_argument("--cc", default="gcc")
    ap.add_argument("--skip", default="", help="comma list of: c,fastapi")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    require("wrk")
    skip = set(filter(None, args.skip.split(",")))
    tmp = tempfile.mkdtemp(prefix="bench-native-")
    lib = build_lib(tmp)
    servers, failed = {}, {}
    for name, fw, variant in SERVERS:
        if fw in skip:
            continue
        port = free_port()
        if fw == "c":
            exe, _ = bench_c.build_hello(args.cc, "-O2")
            start_server(servers, failed, name, [exe, str(port)], port, "/hello")
        else:
            start_server(servers, failed, name, [sys.executable, "-c", APP, fw, variant, str(port), lib],
                         port, "/hello", env=python_env())
    try:
        results, na = run_rounds(servers, ENDPOINTS, check_json, args, name_width=26)
    finally:
        for proc, _, _ in servers.values():
            stop(proc)
    print_table([n for n, _, _ in SERVERS], ENDPOINTS, servers, failed, results, na,
                "C engine (hello.c)", "vs C engine", lambda r: "%.2f×" % r, endpoint_column=False)
    print_footer(args, results, na, failed)


if __name__ == "__main__":
    main()
