#!/usr/bin/env python3
"""fastrapi side by side with the fastest peers, on several workloads.

    python3 bench/bench_peers.py [--rounds 3] [--duration 5] [--only KEYS]
                                 [--servers KEYS] [--skip KEYS] [--json FILE]

Installs nothing. The peers come from PyPI into a virtualenv of their own
(default build/bench-venv, --venv to change), which must not contain this
repository's fastrapi:

    python3 -m venv build/bench-venv
    build/bench-venv/bin/pip install robyn socketify granian blacksheep fastapi \\
        'uvicorn[standard]' orjson msgspec fastrapi jinja2
    apt-get install wrk nginx        # Debian; nginx is optional (a ceiling row)

Each Python peer runs from the first of (that venv, the running Python) where
its modules import; a peer found in neither is reported "skipped: not
installed". fastrapi (this repository) runs from the running Python with the
repository on PYTHONPATH. Servers, one process each on 127.0.0.1 (nginx:
master + CPU-count workers), all started before the first measurement:

  c                fastrapi's C engine, examples/c/hello (CPU-count loop threads)
  nginx            `return 200` of the same body (hello only)
  fastrapi         this repository, bench/apps/app.py, app.serve()
  fastapi          FastAPI on uvicorn (uvloop + httptools), app.py
  fastapi-granian  FastAPI on granian (ASGI, uvloop), app.py
  blacksheep       BlackSheep on granian (ASGI, uvloop), bench/apps/peers.py
  rsgi             granian with a bare RSGI callable, peers.py
  robyn            Robyn (1 process, 1 worker), peers.py
  socketify        socketify.py (one App), peers.py
  fastrapi-pypi    FastrAPI from PyPI (the Rust/Axum project), app.py

Workloads (--only picks some; each is checked once per server, status 200
and the exact JSON (the page: the exact HTML), before it is measured; a failed check is "N/A (why)"):

  hello        GET /hello, a `def` handler where the framework has one
  hello-async  GET /hello-async, `async def`
  params       GET /params/42?q=widget&limit=5 (int path param + query)
  order        POST /order: a ~10 KB JSON document validated by pydantic
  list         GET /list: response_model=List[Row] of 100 objects
  db           GET /db/42: one row from SQLite (stdlib sqlite3) per request
  deps         GET /deps: 3-level dependency chain + OAuth2 bearer (FastAPI-
               style Depends only)
  page         GET /page: a Jinja2 template (a layout, 20 rows, autoescaped)
               as HTML; checked byte for byte. Needs jinja2 in the running
               Python (fastrapi) and in the venv (the peers)

Scale rows for fastrapi (keys for --only as well): `routes` (hello with 10
vs 10,000 routes, two more servers alternating, at least 9 rounds), `c1000` (hello at 1,000
connections: p50/p99), `rss` (server memory per idle keep-alive connection
at 10,000 connections; needs RLIMIT_NOFILE raised, skipped with a message if
not allowed), and `json` (bench_json.py: the engine's JSON codec vs json,
orjson, msgspec). Server CPU per request comes from /proc/<pid>/stat around
every wrk run. With FastAPI measured on `order`, `list` or `page`, a last
table gives the work floor: the CPU of the workload's own work alone
(pydantic; the Jinja2 render), in-process, and FastAPI's CPU per request
over it -- the most x FastAPI any server doing that work can reach.

wrk -t2 -c64 (--connections), keep-alive, no pipelining; each round runs
every (workload, server) once, the server order reversed every other round;
medians over rounds. Not a test: nothing asserts a number.
"""
import argparse
import errno
import json
import os
import selectors
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (BENCH, ROOT, check_json, cmd_version, fmt_ms, fmt_rps,  # noqa: E402
                     free_port, http_get, machine_info, median, raise_nofile, require,
                     run_rounds, run_wrk, stop_group, tree_rss_bytes, wait_ready)

APPS = os.path.join(BENCH, "apps")
SERVE = os.path.join(APPS, "serve.py")
DEFAULT_VENV = os.path.join(ROOT, "build", "bench-venv")
sys.path.insert(0, APPS)
import workload  # noqa: E402

HELLO = {"message": "Hello World"}
try:  # the Jinja2 page's HTML (every server renders the same template)
    PAGE = workload.page_expected()
except ImportError:  # no jinja2 here: the workload is left out (main says so)
    PAGE = None
# key, label, method, path, expected JSON, wrk extras (script/headers; filled in main)
ENDPOINTS = [
    ("hello", "hello", "GET", "/hello", HELLO, {}),
    ("hello-async", "hello (async def)", "GET", "/hello-async", HELLO, {}),
    ("params", "path + query params", "GET", "/params/42?q=widget&limit=5",
     {"item_id": 42, "q": "widget", "limit": 5}, {}),
    ("order", "pydantic POST 10 KB", "POST", "/order",
     workload.order_summary(workload.Order.model_validate(workload.order_doc())), {}),
    ("list", "response_model 100 obj", "GET", "/list", workload.ROWS, {}),
    ("db", "SQLite read", "GET", "/db/%d" % workload.DB_ID,
     workload.db_row_expected(workload.DB_ID), {}),
    ("deps", "3-level deps + OAuth2", "GET", "/deps",
     {"user": "alice", "db": "db", "token": workload.TOKEN},
     {"headers": ["Authorization: Bearer %s" % workload.TOKEN]}),
    ("page", "Jinja2 page", "GET", "/page", PAGE, {}),
]
SCALE_KEYS = ["routes", "c1000", "rss", "json"]
ROUTES_ROUNDS = 9  # the routes row's rounds (at least)

# key, name, label template (distribution versions), serve.py framework,
# modules that must import, distributions whose versions are shown
PEERS = [
    ("fastapi", "FastAPI+uvicorn", "FastAPI {fastapi} + uvicorn {uvicorn}", "fastapi",
     ["fastapi", "uvicorn", "uvloop", "httptools"], ["fastapi", "uvicorn"]),
    ("fastapi-granian", "FastAPI+granian", "FastAPI {fastapi} + granian {granian}",
     "fastapi-granian", ["fastapi", "granian", "uvloop"], ["fastapi", "granian"]),
    ("blacksheep", "BlackSheep+granian", "BlackSheep {blacksheep} + granian {granian}",
     "blacksheep", ["blacksheep", "granian", "uvloop"], ["blacksheep", "granian"]),
    ("rsgi", "granian RSGI", "granian {granian} (bare RSGI)", "rsgi", ["granian", "uvloop"],
     ["granian"]),
    ("robyn", "Robyn", "Robyn {robyn}", "robyn", ["robyn"], ["robyn"]),
    ("socketify", "socketify.py", "socketify.py {socketify}", "socketify", ["socketify"],
     ["socketify"]),
    ("fastrapi-pypi", "FastrAPI (PyPI)", "FastrAPI {fastrapi} (PyPI)", "fastrapi-pypi",
     ["fastrapi"], ["fastrapi"]),
]
ALL_SERVERS = ["c", "nginx", "fastrapi"] + [p[0] for p in PEERS]
NO_DEPENDS = {"blacksheep", "rsgi", "robyn", "socketify"}
BASE = "fastapi"  # ratios are to FastAPI on uvicorn

PROBE = r"""
import importlib, importlib.metadata as md, json, os, sys
mods, dists = sys.argv[1].split(","), sys.argv[2].split(",")
for m in mods:
    importlib.import_module(m)
out = {d: md.version(d) for d in dists}
if "fastrapi" in sys.modules:
    out["fastrapi_file"] = os.path.abspath(sys.modules["fastrapi"].__file__)
print(json.dumps(out))
"""


def probe(python, mods, dists):
    """(versions dict, None) if mods import in python (isolated), else (None, why)."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    try:
        r = subprocess.run([python, "-I", "-c", PROBE, ",".join(mods), ",".join(dists)],
                           capture_output=True, text=True, env=env, cwd="/", timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, str(e)
    if r.returncode != 0:
        return None, (r.stderr.strip().splitlines() or ["?"])[-1]
    got = json.loads(r.stdout)
    if got.get("fastrapi_file", "").startswith(os.path.join(ROOT, "fastrapi")):
        return None, "only this repository's fastrapi is importable there"
    return got, None


def pythons(args):
    out = []
    venv_py = os.path.join(args.venv, "bin", "python")
    if os.path.exists(venv_py):
        out.append(venv_py)
    out.append(sys.executable)
    return out


def plan(args, tmp):
    """[(key, label, argv or None, env or why, cwd)] in ALL_SERVERS order."""
    from bench_py import ours_env
    wanted = [k for k in ALL_SERVERS if k in args.servers and k not in args.skip]
    rows = []
    base_env = dict(os.environ)
    base_env.pop("PYTHONPATH", None)
    base_env["BENCH_SQLITE"] = args.db
    for key in wanted:
        if key == "c":
            import bench_c
            try:
                exe, _ = bench_c.build_hello(args.cc, "-O2")
                rows.append((key, "fastrapi C engine (hello.c)", [exe], base_env, ROOT))
            except SystemExit as e:
                rows.append((key, "fastrapi C engine (hello.c)", None, "build failed: %s" % e,
                             None))
        elif key == "nginx":
            if not shutil.which("nginx"):
                rows.append((key, "nginx", None, "skipped: not installed (apt-get install "
                             "nginx)", None))
                continue
            ver = cmd_version(["nginx", "-v"]).split("/")[-1]
            rows.append((key, "nginx %s" % ver, "nginx", base_env, tmp))
        elif key == "fastrapi":
            try:
                env = ours_env()
                env["BENCH_SQLITE"] = args.db
                rows.append((key, "fastrapi", [sys.executable, SERVE, "fastrapi"], env, APPS))
            except Exception as e:  # noqa: BLE001
                rows.append((key, "fastrapi", None, str(e), None))
        else:
            _, name, template, fw, mods, dists = next(p for p in PEERS if p[0] == key)
            vers = why = None
            for py in pythons(args):
                vers, why = probe(py, mods, dists)
                if vers:
                    break
            if not vers:
                rows.append((key, name, None, "skipped: not installed (%s; install line in "
                             "bench/README.md)" % why, None))
                continue
            label = template.format(**vers)
            argv = [py] + (["-I"] if key == "fastrapi-pypi" else []) + [SERVE, fw]
            rows.append((key, label, argv, base_env, APPS))
    return rows


def start(key, argv, env, cwd, logs, tmp, args):
    """Start one server; returns (proc, port, log) or raises RuntimeError(why)."""
    log = open(os.path.join(logs, "%s.log" % key), "wb")
    if argv == "nginx":
        proc, port = start_nginx(os.path.join(tmp, "nginx-" + key), args.nginx_workers, log)
    else:
        port = free_port()
        proc = subprocess.Popen(argv + [str(port)] + (args.extra.get(key, [])), env=env,
                                cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    why = wait_ready(port, "/hello", proc)
    if why:
        log.flush()
        with open(log.name, "rb") as f:
            tail = f.read().decode("utf-8", "replace").strip().splitlines()[-1:]
        stop_any(proc)
        log.close()
        raise RuntimeError(why + (": " + tail[0][:160] if tail else ""))
    return proc, port, log


def start_nginx(prefix, workers, log):
    """bench_c.py's nginx configuration (return 200 of the hello body), with
    room for the idle-connection row's 10,000 connections."""
    import getpass
    import bench_c
    os.makedirs(prefix, exist_ok=True)
    port = free_port()
    conf = os.path.join(prefix, "nginx.conf")
    user = "user %s;\n" % getpass.getuser() if os.geteuid() == 0 else ""
    text = bench_c.NGINX_CONF.replace("worker_connections 4096", "worker_connections 20000")
    with open(conf, "w") as f:
        f.write(text.format(user=user, workers=workers, prefix=prefix, port=port,
                            body=bench_c.BODY.decode()))
    proc = subprocess.Popen(["nginx", "-c", conf, "-p", prefix, "-g", "daemon off;"],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, port


def stop_any(proc):
    try:
        same = os.getpgid(proc.pid) == proc.pid
    except OSError:
        same = False
    if same:
        stop_group(proc)
    elif proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def make_check(order_body):
    def check(port, method, path, want):
        body = headers = None
        if method == "POST":
            body, headers = order_body, {"Content-Type": "application/json"}
        if path == "/deps":
            headers = {"Authorization": "Bearer " + workload.TOKEN}
        return check_json(port, method, path, want, body, headers)
    return check


def post_lua(path, body):
    lua_str = body.decode().replace("\\", "\\\\").replace("'", "\\'")
    with open(path, "w") as f:
        f.write("wrk.method = 'POST'\nwrk.body = '%s'\n"
                "wrk.headers['Content-Type'] = 'application/json'\n" % lua_str)


# ---- idle keep-alive connections ------------------------------------------
def hold_connections(port, n, timeout):
    """Open n connections to port, one GET /hello on each, keep them open.
    Returns (list of sockets whose response came back, number that failed)."""
    req = b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    sel = selectors.DefaultSelector()
    pending, done, failed, opened = {}, [], 0, 0
    deadline = time.monotonic() + timeout

    def drop(s):
        nonlocal failed
        failed += 1
        pending.pop(s, None)
        try:
            sel.unregister(s)
        except (KeyError, ValueError):
            pass
        s.close()

    while (opened < n or pending) and time.monotonic() < deadline:
        while opened < n and len(pending) < 512:
            opened += 1
            s = socket.socket()
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            err = s.connect_ex(("127.0.0.1", port))
            if err not in (0, errno.EINPROGRESS):
                failed += 1
                s.close()
                continue
            pending[s] = b""
            sel.register(s, selectors.EVENT_WRITE, "connect")
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            if key.data == "connect":
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    drop(s)
                    continue
                try:
                    s.send(req)
                except OSError:
                    drop(s)
                    continue
                sel.modify(s, selectors.EVENT_READ, "read")
            else:
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    drop(s)
                    continue
                pending[s] += data
                if b'"Hello World"}' in pending[s]:
                    sel.unregister(s)
                    del pending[s]
                    done.append(s)
    for s in list(pending):
        drop(s)
    sel.close()
    return done, failed


def still_open(socks):
    n = 0
    for s in socks:
        try:
            n += s.recv(1, socket.MSG_PEEK) != b""  # b"" = closed by the server
        except BlockingIOError:
            n += 1
        except OSError:
            pass
    return n


def rss_per_conn(key, argv, env, cwd, logs, tmp, args, n):
    """Fresh server; RSS before and after n idle keep-alive connections."""
    proc, port, log = start(key + "-rss", argv, env, cwd, logs, tmp, args)
    try:
        for _ in range(200):
            http_get(port, "/hello")
        time.sleep(0.5)
        before = tree_rss_bytes(proc.pid)
        t0 = time.monotonic()
        socks, failed = hold_connections(port, n, timeout=30)
        opened_s = time.monotonic() - t0
        time.sleep(0.2)
        after = tree_rss_bytes(proc.pid)
        held = still_open(socks)
        for s in socks:
            s.close()
        return {"before": before, "after": after, "held": held, "failed": failed,
                "open_s": opened_s,
                "per_conn": (after - before) / held if held else None}
    finally:
        stop_any(proc)
        log.close()


# ---- main ----------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1, help="seconds of hello per server first")
    ap.add_argument("--only", default="", help="comma list of workloads and scale rows: " +
                    ",".join([e[0] for e in ENDPOINTS] + SCALE_KEYS))
    ap.add_argument("--servers", default=",".join(ALL_SERVERS), help="comma list of servers")
    ap.add_argument("--skip", default="", help="comma list of servers to leave out")
    ap.add_argument("--venv", default=DEFAULT_VENV, help="virtualenv holding the peers")
    ap.add_argument("--cc", default="gcc")
    ap.add_argument("--nginx-workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--idle-conns", type=int, default=10000)
    ap.add_argument("--json-mb", type=float, default=30)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    only = [k for k in args.only.split(",") if k]
    known = [e[0] for e in ENDPOINTS] + SCALE_KEYS
    bad = [k for k in only + args.servers.split(",") + args.skip.split(",")
           if k and k not in known + ALL_SERVERS]
    if bad:
        ap.error("unknown key(s): %s" % ", ".join(bad))
    args.servers = [k for k in args.servers.split(",") if k]
    args.skip = [k for k in args.skip.split(",") if k]
    args.extra = {}
    require("wrk")
    endpoints = [e for e in ENDPOINTS if not only or e[0] in only]
    if PAGE is None and any(e[0] == "page" for e in endpoints):
        print("page: left out, jinja2 does not import in this Python (pip install jinja2)",
              file=sys.stderr)
        endpoints = [e for e in endpoints if e[0] != "page"]
    scale = [k for k in SCALE_KEYS if not only or k in only]
    nofile = raise_nofile(args.idle_conns + 2048)
    load_at_start = "%.2f %.2f %.2f" % os.getloadavg()

    tmp = tempfile.mkdtemp(prefix="fr-bench-peers-")
    logs = os.path.join(tmp, "logs")
    os.makedirs(logs)
    args.db = os.path.join(tmp, "bench.sqlite")
    workload.make_db(args.db)
    order_body = json.dumps(workload.order_doc(), ensure_ascii=False).encode()
    lua = os.path.join(tmp, "order.lua")
    post_lua(lua, order_body)
    endpoints = [(k, l, m, p, w, dict(x, script=lua) if k == "order" else x)
                 for k, l, m, p, w, x in endpoints]
    check = make_check(order_body)

    rows = plan(args, tmp)
    labels = {k: lab for k, lab, *_ in rows}
    failed, servers, na, died = {}, {}, {}, {}
    results, scale_out = {}, {}
    try:
        for key, label, argv, env, cwd in rows:
            if argv is None:
                failed[key] = env
                print("%s: %s" % (label, env), file=sys.stderr)
                continue
            try:
                servers[key] = start(key, argv, env, cwd, logs, tmp, args)
            except RuntimeError as e:
                failed[key] = "failed: %s" % e
                print("%s: failed: %s" % (label, e), file=sys.stderr)
        for key in servers:
            for ekey, *_ in endpoints:
                if key in ("c", "nginx") and ekey != "hello":
                    na[(key, ekey)] = "hello only"
                elif key in NO_DEPENDS and ekey == "deps":
                    na[(key, ekey)] = "no Depends-style DI"
                elif key == "rsgi" and ekey == "hello-async":
                    na[(key, ekey)] = "its one callable is async: see hello"
        if endpoints and servers:
            ncells = sum(1 for k in servers for e in endpoints if (k, e[0]) not in na)
            print("%d servers, %d cells, %d rounds of %d s: about %.0f min" % (
                len(servers), ncells, args.rounds, args.duration,
                (ncells * args.rounds * (args.duration + 0.5) + len(servers) * args.warmup)
                / 60), file=sys.stderr)
            if args.warmup:
                for key, (proc, port, _) in servers.items():
                    run_wrk("http://127.0.0.1:%d/hello" % port, args.warmup, args.connections,
                            args.wrk_threads)
            results, na = run_rounds(servers, endpoints, check, args, name_width=16,
                                     label_width=22, na=na)
            for key, (proc, _, _) in servers.items():
                if proc.poll() is not None:
                    died[key] = "exited with status %s during the run (log: %s)" % (
                        proc.returncode, os.path.join(logs, key + ".log"))
        by_key = {k: (a, e, c) for k, _, a, e, c in rows}

        if "routes" in scale and "fastrapi" in servers:
            rsrv = {}
            for n in (10, 10000):
                k = "routes-%d" % n
                args.extra[k] = [str(n)]
                argv = by_key["fastrapi"][0][:-1] + ["fastrapi-routes"]
                try:
                    rsrv["%d routes" % n] = start(k, argv, by_key["fastrapi"][1], APPS, logs,
                                                  tmp, args)
                except RuntimeError as e:
                    scale_out["routes_error"] = str(e)
            try:
                if len(rsrv) == 2:
                    # hello's rate moves between two levels from one wrk run
                    # to the next (cross-CPU wake-ups): more rounds here, so
                    # that the medians compare route counts, not those levels
                    rargs = argparse.Namespace(**vars(args))
                    rargs.rounds = max(args.rounds, ROUTES_ROUNDS)
                    r, _ = run_rounds(rsrv, [e for e in ENDPOINTS if e[0] == "hello"], check,
                                      rargs, name_width=16, label_width=22)
                    scale_out["routes"] = {name: runs for (name, _), runs in r.items()}
            finally:
                for proc, _, log in rsrv.values():
                    stop_any(proc)
                    log.close()

        if "c1000" in scale:
            if nofile < 1200:
                scale_out["c1000_error"] = "RLIMIT_NOFILE is %d, cannot raise it" % nofile
            else:
                sub = {k: servers[k] for k in ("fastrapi", "c") if k in servers}
                a2 = argparse.Namespace(**vars(args))
                a2.connections = 1000
                r, _ = run_rounds(sub, [e for e in ENDPOINTS if e[0] == "hello"], check, a2,
                                  name_width=16, label_width=22)
                scale_out["c1000"] = {name: runs for (name, _), runs in r.items()}

        if "rss" in scale:
            if nofile < args.idle_conns + 100:
                scale_out["rss_error"] = ("skipped: RLIMIT_NOFILE is %d, %d needed and raising "
                                          "it was not allowed" % (nofile, args.idle_conns + 100))
                print(scale_out["rss_error"], file=sys.stderr)
            else:
                scale_out["rss"] = {}
                for key in ("fastrapi", "c", "nginx"):
                    if key not in servers:
                        continue
                    argv, env, cwd = by_key[key]
                    try:
                        r = rss_per_conn(key, argv, env, cwd, logs, tmp, args, args.idle_conns)
                    except (RuntimeError, OSError) as e:
                        r = {"error": str(e)}
                    scale_out["rss"][key] = r
                    print("rss %s: %s" % (key, r), file=sys.stderr)
    finally:
        for proc, _, log in servers.values():
            stop_any(proc)
            log.close()

    if "json" in scale:
        scale_out["json"] = json_bench(args, tmp)
    floor = work_floor([e[0] for e in endpoints])

    report(args, rows, labels, endpoints, failed, died, na, results, scale_out,
           load_at_start, tmp, floor)


FLOOR_SCRIPT = r"""
import json, sys, time
from typing import List
from pydantic import TypeAdapter
import workload
doc = workload.order_doc()  # the decoded body: which JSON decoder is the server's choice
order_ta = TypeAdapter(workload.Order)
rows_ta = TypeAdapter(List[workload.Row])
def order():  # FastAPI: validate the decoded body, the handler, JSON bytes out
    o = order_ta.validate_python(doc, from_attributes=True)
    return json.dumps(workload.order_summary(o), separators=(",", ":")).encode()
def rows():  # response_model: validate the return value, then dump_json
    return rows_ta.dump_json(rows_ta.validate_python(workload.ROWS, from_attributes=True))
def page():  # the template looked up (Starlette does it per request) and rendered
    return env.get_template("page.html").render(workload.PAGE_CONTEXT).encode()
env = workload.page_env() if "page" in sys.argv[1:] else None
out = {}
for key, fn in (("order", order), ("list", rows), ("page", page)):
    if key not in sys.argv[1:]:
        continue
    best = None
    for _ in range(7):
        t0 = time.process_time()
        for _ in range(500):
            fn()
        t = (time.process_time() - t0) / 500 * 1e6
        best = t if best is None else min(best, t)
    out[key] = best
print(json.dumps(out))
"""


def work_floor(keys):
    """CPU µs per request of the workload's own work alone (the pydantic
    calls every server with FastAPI's semantics makes; the Jinja2 render),
    in-process, best of 7; {} when there is nothing to measure or it fails."""
    keys = [k for k in keys if k in ("order", "list", "page")]
    if not keys:
        return {}
    env = dict(os.environ, PYTHONPATH=APPS)
    r = subprocess.run([sys.executable, "-c", FLOOR_SCRIPT] + keys, env=env, cwd=APPS,
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        print("work floor: failed: %s" % (r.stderr.strip().splitlines() or ["?"])[-1],
              file=sys.stderr)
        return {}
    return json.loads(r.stdout)


def json_bench(args, tmp):
    """bench_json.py in the Python that has this repository's fastrapi importable
    and the most of orjson/msgspec (the peers' venv first)."""
    out = os.path.join(tmp, "json.json")
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT
    best = None
    for py in pythons(args):
        r = subprocess.run([py, "-c", "import fastrapi, fastrapi._fastrapi, sys; "
                            "sys.exit(0 if fastrapi.__file__.startswith(%r) else 1)" % ROOT],
                           env=env, capture_output=True, cwd="/")
        if r.returncode == 0:
            best = py
            break
    if best is None:
        return {"error": "this repository's fastrapi does not import"}
    r = subprocess.run([best, os.path.join(BENCH, "bench_json.py"), "--mb", str(args.json_mb),
                        "--json", out], env=env, cwd="/", capture_output=True, text=True,
                       timeout=1800)
    sys.stderr.write(r.stderr)
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["?"])[-1]}
    with open(out) as f:
        res = json.load(f)
    res["python"] = best
    return res


def report(args, rows, labels, endpoints, failed, died, na, results, scale_out, load, tmp,
           floor):
    order = [k for k, *_ in rows]

    def med(key, ekey, metric, src=results):
        return median(r[metric] for r in src.get((key, ekey), []))

    def ratio(key, ekey):
        a, b = med(key, ekey, "rps"), med(BASE, ekey, "rps")
        if ekey != "hello" and key in ("c", "nginx"):
            return None
        return a / b if a and b else None

    def cell(key, ekey, fmt):
        if key in failed:
            return "—"
        if (key, ekey) in na:
            why = na[(key, ekey)]
            return "–" if why in ("hello only", "no Depends-style DI") or why.startswith(
                "its one") else "N/A (%s)" % why
        return fmt()

    def rps_cell(key, ekey):
        def f():
            v = med(key, ekey, "rps")
            r = ratio(key, ekey)
            if not v:
                return "died" if key in died else "-"
            return "%s (%s)" % (fmt_rps(v), "%.1f×" % r if r else "-")
        return cell(key, ekey, f)

    def lat_cell(key, ekey):
        def f():
            a, b = med(key, ekey, "p50_ms"), med(key, ekey, "p99_ms")
            return "%s / %s" % (("%.2f" % a) if a else "-", fmt_ms(b))
        return cell(key, ekey, f)

    shown = [k for k in order if k not in failed or not failed[k].startswith("skipped")]
    if endpoints:
        print("## Requests/s (× FastAPI+uvicorn), median of %d rounds\n" % args.rounds)
        print("| server | " + " | ".join(e[1] for e in endpoints) + " |")
        print("|---|" + "---:|" * len(endpoints))
        for k in shown:
            print("| %s | %s |" % (labels[k], " | ".join(rps_cell(k, e[0]) for e in endpoints)))
        print("\n## Latency p50 / p99 (ms), median of %d rounds\n" % args.rounds)
        print("| server | " + " | ".join(e[1] for e in endpoints) + " |")
        print("|---|" + "---:|" * len(endpoints))
        for k in shown:
            print("| %s | %s |" % (labels[k], " | ".join(lat_cell(k, e[0]) for e in endpoints)))
        print("\n## Every cell: req/s, p50, p99, vs FastAPI, server CPU per request\n")
        print("| workload | server | req/s | p50 | p99 | vs FastAPI | CPU µs/req |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for e in endpoints:
            for k in shown:
                if (k, e[0]) in na or k in failed:
                    continue
                r = ratio(k, e[0])
                cpu = med(k, e[0], "cpu_us_per_req")
                print("| %s | %s | %s | %s | %s | %s | %s |" % (
                    e[1], labels[k], fmt_rps(med(k, e[0], "rps")), fmt_ms(med(k, e[0], "p50_ms")),
                    fmt_ms(med(k, e[0], "p99_ms")), "%.1f×" % r if r else "-",
                    "%.1f" % cpu if cpu else "-"))
        notes = sorted({(labels[k], e, why) for (k, e), why in na.items()
                        if why not in ("hello only", "no Depends-style DI")
                        and not why.startswith("its one") and k not in failed})
        if notes:
            print()
            for lab, e, why in notes:
                print("- %s, %s: %s" % (lab, e, why))
    base_cpu = {k: med(BASE, k, "cpu_us_per_req") for k in floor}
    if any(base_cpu.values()):
        print("\n## The work floor\n")
        print("The workload's own work alone (in-process, no server: for pydantic, validate, "
              "the handler, serialize, the request body's JSON decoding left out, as the "
              "decoder is each server's choice; for the page, the template's lookup and "
              "render), and FastAPI's server CPU per request for the same workload: their "
              "ratio is the most × FastAPI that any server doing this work can reach when "
              "both are CPU-bound.\n")
        print("| workload | the work alone | FastAPI+uvicorn CPU | most possible × FastAPI |")
        print("|---|---:|---:|---:|")
        for e in endpoints:
            if base_cpu.get(e[0]):
                print("| %s | %.1f µs | %.1f µs | %.1f× |" % (
                    e[1], floor[e[0]], base_cpu[e[0]], base_cpu[e[0]] / floor[e[0]]))
    if failed or died:
        print()
        for k, why in list(failed.items()) + list(died.items()):
            print("- %s: %s" % (labels.get(k, k), why))

    if scale_out:
        print("\n## Scale (fastrapi)\n")
        print("| row | value |")
        print("|---|---|")
        if "routes" in scale_out:
            rr = scale_out["routes"]
            a = median(r["rps"] for r in rr.get("10 routes", []))
            b = median(r["rps"] for r in rr.get("10000 routes", []))
            pairs = [y["rps"] / x["rps"] for x, y in zip(rr.get("10 routes", []),
                                                         rr.get("10000 routes", []))
                     if x["rps"] and y["rps"]]
            print("| hello, 10 routes | %s req/s, p99 %s |" % (
                fmt_rps(a), fmt_ms(median(r["p99_ms"] for r in rr.get("10 routes", [])))))
            print("| hello, 10,000 routes | %s req/s, p99 %s (%s of 10 routes; paired %s) |" % (
                fmt_rps(b), fmt_ms(median(r["p99_ms"] for r in rr.get("10000 routes", []))),
                "%.2f×" % (b / a) if a and b else "-",
                "%.2f×" % median(pairs) if pairs else "-"))
        elif "routes_error" in scale_out:
            print("| 10 vs 10,000 routes | failed: %s |" % scale_out["routes_error"])
        if "c1000" in scale_out:
            for k, runs in scale_out["c1000"].items():
                print("| hello at 1,000 connections, %s | %s req/s, p50 %s, p99 %s, socket "
                      "errors %d |" % (labels[k], fmt_rps(median(r["rps"] for r in runs)),
                                       fmt_ms(median(r["p50_ms"] for r in runs)),
                                       fmt_ms(median(r["p99_ms"] for r in runs)),
                                       max(r["errors"] for r in runs)))
        elif "c1000_error" in scale_out:
            print("| 1,000 connections | %s |" % scale_out["c1000_error"])
        if "rss" in scale_out:
            for k, r in scale_out["rss"].items():
                if "error" in r:
                    print("| memory per idle connection, %s | failed: %s |" % (labels[k],
                                                                             r["error"]))
                    continue
                per = r["per_conn"]
                print("| memory per idle keep-alive connection, %s | %s (RSS %.1f → %.1f MiB "
                      "with %d of %d connections open%s) |" % (
                          labels[k], "%.2f KiB" % (per / 1024) if per is not None else "-",
                          r["before"] / 2 ** 20, r["after"] / 2 ** 20, r["held"],
                          args.idle_conns, ", %d failed to open" % r["failed"]
                          if r["failed"] else ""))
        elif "rss_error" in scale_out:
            print("| memory per idle connection | %s |" % scale_out["rss_error"])
        for k in ("fastrapi", "c", "nginx", BASE):
            for ekey in ("hello", "hello-async"):
                cpu = med(k, ekey, "cpu_us_per_req")
                if cpu:
                    print("| server CPU per request, %s, %s | %.1f µs |" % (
                        labels[k], ekey, cpu))
    if "json" in scale_out:
        js = scale_out["json"]
        print("\n## JSON codecs\n")
        if "error" in js:
            print("failed: %s" % js["error"])
        else:
            from bench_json import table
            print(table(js, 3))

    info = machine_info()
    print("\nwrk -t%d -c%d -d%ds --latency, keep-alive, no pipelining; %d rounds alternating "
          "between servers, %d s hello warm-up each; medians. All servers and wrk share the "
          "machine over 127.0.0.1; one process per server (nginx: %d workers; the C engine "
          "and fastrapi: one I/O thread per CPU)." % (
              args.wrk_threads, args.connections, args.duration, args.rounds, args.warmup,
              args.nginx_workers))
    print("Machine: %s, %s CPUs, Linux %s, Python %s, %s, %s, load average at start %s, "
          "at end %.2f %.2f %.2f." % ((info["cpu"], info["nproc"], info["kernel"],
                                       info["python"], info["wrk"], info["date"], load)
                                      + os.getloadavg()))
    print("Server logs: %s" % os.path.join(tmp, "logs"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "labels": labels, "failed": failed, "died": died,
                       "na": {"%s|%s" % k: v for k, v in na.items()},
                       "results": {"%s|%s" % k: v for k, v in results.items()},
                       "scale": scale_out}, f, indent=2, default=str)


if __name__ == "__main__":
    main()
