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
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (check_json, free_port, print_footer, print_table, python_env,  # noqa: E402
                     require, run_rounds, start_server, stop, wrk_parser)

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
    ap = wrk_parser(__doc__)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    require("wrk")
    servers, failed = {}, {}
    for name, variant in SERVERS:
        port = free_port()
        start_server(servers, failed, name, [sys.executable, "-c", APP, variant, str(port)], port,
                     "/hello", env=python_env())
    try:
        results, na = run_rounds(servers, ENDPOINTS, check_json, args, name_width=22)
    finally:
        for proc, _, _ in servers.values():
            stop(proc)
    print_table([n for n, _ in SERVERS], ENDPOINTS, servers, failed, results, na, "fastrapi",
                "vs plain fastrapi", lambda r: "%.0f %%" % (100.0 * r))
    print_footer(args, results, na, failed)


if __name__ == "__main__":
    main()
