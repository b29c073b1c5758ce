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
import argparse
import getpass
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (ROOT, fmt_ms, fmt_rps, free_port, http_get, machine_info,  # noqa: E402
                     median, require, run_rounds, stop, wait_ready)

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

if framework == "fastapi":
    import importlib.util, uvicorn
    fast = importlib.util.find_spec("uvloop") and importlib.util.find_spec("httptools")
    uvicorn.run(app, host="127.0.0.1", port=port, workers=1, loop="uvloop" if fast else "asyncio",
                http="httptools" if fast else "h11", access_log=False, log_level="warning")
else:
    logging.getLogger("fastrapi.access").disabled = True
    app.serve("127.0.0.1", port, access_log=False, log_level="warning")
"""

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


def start_nginx(tmp, directory):
    port = free_port()
    conf = os.path.join(tmp, "nginx.conf")
    user = "user %s;\n" % getpass.getuser() if os.geteuid() == 0 else ""
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(user=user, workers=os.cpu_count() or 1, prefix=tmp, port=port,
                                  directory=directory))
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(["nginx", "-c", conf, "-p", tmp, "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=log)
    return proc, port, log


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--skip", default="", help="comma list of: fastapi,nginx")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    require("wrk")
    skip = set(filter(None, args.skip.split(",")))
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
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
                    proc, port, log = start_nginx(tmp, directory)
                else:
                    port = free_port()
                    log = tempfile.TemporaryFile(mode="w+")
                    proc = subprocess.Popen([sys.executable, "-c", APP, kind, directory, str(port)],
                                            env=env, stdout=subprocess.DEVNULL, stderr=log)
                why = wait_ready(port, "/ready", proc)
                if why:
                    stop(proc)
                    log.seek(0)
                    failed[name] = "%s: %s" % (why, log.read().strip()[-300:])
                    continue
                servers[name] = (proc, port, log)
            results, na = run_rounds(servers, ENDPOINTS, check, args, name_width=16,
                                     label_width=24)
        finally:
            for proc, _, _ in servers.values():
                stop(proc)
    base = {key: median([r["rps"] for r in results.get(("nginx", key), [])])
            for key, *_ in ENDPOINTS}
    print("| server | endpoint | req/s | p99 | server CPU µs/req | vs nginx |")
    print("|---|---|---:|---:|---:|---:|")
    for name, _ in plan:
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
            ratio = "%.2fx" % (rps / base[key]) if rps and base.get(key) else "-"
            cpu = median([r["cpu_us_per_req"] for r in rs])
            print("| %s | %s | %s | %s | %s | %s |" % (
                name, label, fmt_rps(rps), fmt_ms(median([r["p99_ms"] for r in rs])),
                "%.1f" % cpu if cpu is not None else "-", ratio))
    fr = {key: median([r["rps"] for r in results.get(("fastrapi", key), [])]) for key, *_ in ENDPOINTS}
    fa = {key: median([r["rps"] for r in results.get(("FastAPI+uvicorn", key), [])])
          for key, *_ in ENDPOINTS}
    for key, label, *_ in ENDPOINTS:
        if fr.get(key) and fa.get(key):
            print("fastrapi / FastAPI+uvicorn, %s: %.1fx" % (label, fr[key] / fa[key]))
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
