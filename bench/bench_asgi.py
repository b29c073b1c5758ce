#!/usr/bin/env python3
"""The same app on fastrapi's native server, on uvicorn through fastrapi's ASGI face, and FastAPI on uvicorn.

    python3 bench/bench_asgi.py [--rounds 3] [--duration 5] [--only hello,params]

The ecosystem issue's benchmark: a fastrapi app is also an ASGI application
(`uvicorn main:app` serves it), and that face must not be slower than FastAPI
on the same ASGI server; the native server keeps its numbers with Starlette
installed (Starlette is a dependency: every fastrapi row here runs with it).
One app source, bench/apps/app.py (see bench_peers.py for the workloads),
served by bench/apps/serve.py as:

  fastrapi (native)       app.serve(): the C engine's server
  fastrapi on uvicorn     uvicorn (uvloop + httptools) calling the app as ASGI
  FastAPI on uvicorn      uvicorn (uvloop + httptools), FastAPI's app

Every server is one process; rounds alternate the server order; medians; the
ratio column is to FastAPI on uvicorn for the same workload.
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (print_footer, print_table, require, run_rounds, stop,  # noqa: E402
                     wait_ready, wrk_parser)
import bench_peers  # noqa: E402  (endpoints, the POST script, the answer checks)
from bench_py import ours_env  # noqa: E402

SERVERS = [  # name, serve.py framework
    ("fastrapi (native)", "fastrapi"),
    ("fastrapi on uvicorn", "fastrapi-uvicorn"),
    ("FastAPI on uvicorn", "fastapi"),
]


def main():
    ap = wrk_parser(__doc__)
    ap.add_argument("--only", default="", help="comma list of endpoint keys (default: all)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    require("wrk")
    import subprocess
    import workload
    tmp = tempfile.mkdtemp(prefix="bench-asgi-")
    db = os.path.join(tmp, "bench.sqlite")
    workload.make_db(db)
    order_body = json.dumps(workload.order_doc(), ensure_ascii=False).encode()
    lua = os.path.join(tmp, "post.lua")
    bench_peers.post_lua(lua, order_body)
    only = set(filter(None, args.only.split(",")))
    endpoints = []
    for key, label, method, path, want, extra in bench_peers.ENDPOINTS:
        if only and key not in only:
            continue
        extra = dict(extra)
        if method == "POST":
            extra["script"] = lua
        endpoints.append((key, label, method, path, want, extra))
    env = ours_env()
    env["BENCH_SQLITE"] = db
    # one interpreter for all three rows: bench_peers' venv (uvloop + httptools,
    # see bench/README.md) when it exists, with this checkout first on the path
    py = os.path.join(bench_peers.DEFAULT_VENV, "bin", "python")
    if not os.path.exists(py):
        py = sys.executable
    servers, failed = {}, {}
    try:
        for name, fw in SERVERS:
            port = bench_peers.free_port()
            log = tempfile.TemporaryFile(mode="w+")
            proc = subprocess.Popen([py, bench_peers.SERVE, fw, str(port)], env=env,
                                    cwd=bench_peers.APPS, stdout=subprocess.DEVNULL, stderr=log)
            why = wait_ready(port, "/hello", proc)
            if why:
                stop(proc)
                log.seek(0)
                failed[name] = "%s: %s" % (why, log.read().strip()[-300:])
                continue
            servers[name] = (proc, port, log)
        results, na = run_rounds(servers, endpoints, bench_peers.make_check(order_body), args,
                                 name_width=22, label_width=24)
    finally:
        for proc, _, _ in servers.values():
            stop(proc)
    print_table([n for n, _ in SERVERS], endpoints, servers, failed, results, na,
                "FastAPI on uvicorn", "× FastAPI on uvicorn", lambda r: "%.1f×" % r)
    print_footer(args, results, na, failed)


if __name__ == "__main__":
    main()
