#!/usr/bin/env python3
"""Static files: fastrapi (StaticFiles served by the engine) vs FastAPI+uvicorn vs nginx.

    python3 bench/bench_static.py [--rounds 3] [--duration 10] [--skip fastapi,nginx]

One directory with two files, served as:
  fastrapi          app.mount("/static", StaticFiles(directory=...)), app.serve()
                    (threads = CPU count): src/static.c answers, sendfile(2)
  FastAPI+uvicorn   the same app source on FastAPI (Starlette's StaticFiles,
                    FileResponse read in 64 KiB chunks), uvloop + httptools
                    when installed, access log off
  nginx             `location /static/ { alias ...; }` with sendfile on,
                    worker_processes = CPU count, access log off
Endpoints:
  small   GET /static/small.txt   1 KiB
  big     GET /static/big.bin     1 MiB
Every answer is checked once (status 200, the exact file bytes) before wrk
(-t2, keep-alive, no pipelining) alternates between the servers, the order
reversed every other round. Prints req/s, p99, server CPU µs/req (the
server process tree's user + system CPU over a run divided by its requests)
and the ratio to nginx (issue 11's target for the small file: >= 0.8x).
Not a test: nothing asserts a number.
"""
import getpass
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (SERVE_APP, free_port, http_get, median, print_footer,  # noqa: E402
                     print_table, python_env, require, run_rounds, start_server, stop,
                     wrk_parser)

APP = r"""
import logging, sys
framework, directory, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if framework == "fastapi":
    from fastapi import FastAPI
    from fastapi.staticfiles import StaticFiles
else:
    from fastrapi import FastAPI
    from fastrapi.staticfiles import StaticFiles

app = FastAPI()
app.mount("/static", StaticFiles(directory=directory))

@app.get("/ready")
def ready():
    return {"ok": True}

""" + SERVE_APP

NGINX_CONF = """\
{user}worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000000;
    keepalive_timeout 65;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    types {{ text/plain txt; application/octet-stream bin; }}
    server {{
        listen 127.0.0.1:{port};
        location /static/ {{
            alias {directory}/;
        }}
        location = /ready {{
            return 200 'ok';
        }}
    }}
}}
"""

FILES = {"small.txt": (b"0123456789abcdef" * 64), "big.bin": bytes(range(256)) * 4096}
ENDPOINTS = [  # key, label, method, path, want, extra (run_rounds' shape)
    ("small", "GET small file (1 KiB)", "GET", "/static/small.txt", FILES["small.txt"], {}),
    ("big", "GET big file (1 MiB)", "GET", "/static/big.bin", FILES["big.bin"], {}),
]


def check(port, method, path, want):
    try:
        status, data = http_get(port, path, method=method, timeout=10)
    except OSError as e:
        return "error: %s" % e
    if status != 200:
        return "status %d" % status
    return None if data == want else "wrong bytes (%d)" % len(data)


def nginx_command(tmp, directory):
    """Write nginx.conf into tmp; returns (command, port)."""
    port = free_port()
    conf = os.path.join(tmp, "nginx.conf")
    user = "user %s;\n" % getpass.getuser() if os.geteuid() == 0 else ""
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(user=user, workers=os.cpu_count() or 1, prefix=tmp, port=port,
                                  directory=directory))
    return ["nginx", "-c", conf, "-p", tmp, "-g", "daemon off;"], port

def main():
    ap = wrk_parser(__doc__)
    ap.add_argument("--skip", default="", help="comma list of: fastapi,nginx")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    require("wrk")
    skip = set(filter(None, args.skip.split(",")))
    servers, failed = {}, {}
    with tempfile.TemporaryDirectory(prefix="fr-bench-static-") as tmp:
        directory = os.path.join(tmp, "files")
        os.makedirs(directory)
        os.chmod(tmp, 0o755)
        for name, data in FILES.items():
            with open(os.path.join(directory, name), "wb") as f:
                f.write(data)
        plan = [("fastrapi", "fastrapi"), ("FastAPI+uvicorn", "fastapi"), ("nginx", "nginx")]
        try:
            for name, kind in plan:
                if kind in skip:
                    continue
                if kind == "nginx":
                    require("nginx")
                    cmd, port = nginx_command(tmp, directory)
                else:
                    port = free_port()
                    cmd = [sys.executable, "-c", APP, kind, directory, str(port)]
                start_server(servers, failed, name, cmd, port, "/ready",
                             env=None if kind == "nginx" else python_env())
            results, na = run_rounds(servers, ENDPOINTS, check, args, name_width=16,
                                     label_width=24)
        finally:
            for proc, _, _ in servers.values():
                stop(proc)
    print_table([n for n, _ in plan], ENDPOINTS, servers, failed, results, na, "nginx", "vs nginx",
                lambda r: "%.2fx" % r)
    fr = {key: median([r["rps"] for r in results.get(("fastrapi", key), [])]) for key, *_ in ENDPOINTS}
    fa = {key: median([r["rps"] for r in results.get(("FastAPI+uvicorn", key), [])])
          for key, *_ in ENDPOINTS}
    for key, label, *_ in ENDPOINTS:
        if fr.get(key) and fa.get(key):
            print("fastrapi / FastAPI+uvicorn, %s: %.1fx" % (label, fr[key] / fa[key]))
    print_footer(args, results, na, failed)

if __name__ == "__main__":
    main()
