#!/usr/bin/env python3
"""Python frameworks: fastrapi vs FastAPI+uvicorn vs FastrAPI (PyPI, Rust).

    python3 bench/bench_py.py [--rounds 3] [--duration 10] [--connections 64]
                              [--only hello,post] [--skip fastrapi-pypi]

The same app source (bench/apps/app.py) runs under every framework:
  fastrapi           this repository (C engine), app.serve(), 1 process
  fastrapi w=2       the same with serve(workers=2) (SO_REUSEPORT, 2 processes)
  FastAPI+uvicorn    uvicorn, 1 worker, uvloop + httptools, access log off
  FastrAPI (PyPI)    `pip install fastrapi` (the Rust/Axum project) in its own
                     venv, build/bench-venv, so it cannot clash with ours
All servers run side by side; each endpoint is checked once per server (right
status and JSON) before it is measured — a failed check is reported as
"N/A: <why>", a server that does not start as "failed: <why>". Then wrk
(-t2, keep-alive, no pipelining) alternates between the servers round by
round. Prints median requests/s, median p99 and ratios. Not a test.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (BENCH, ROOT, check_json, fmt_ms, fmt_rps, free_port,  # noqa: E402
                     machine_info, median, require, run_rounds, stop, wait_ready)

VENV = os.path.join(ROOT, "build", "bench-venv")
SERVE = os.path.join(BENCH, "apps", "serve.py")
TOKEN = "benchtoken"
POST_BODY = {"name": "widget", "price": 9.99, "tags": ["a", "b"]}

# key: (label, method, path, expected JSON, wrk extras)
ENDPOINTS = [
    ("hello", "hello JSON (sync)", "GET", "/hello", {"message": "Hello World"}, {}),
    ("hello-async", "hello (async)", "GET", "/hello-async", {"message": "Hello World"}, {}),
    ("path", "path param (int)", "GET", "/items/42", {"item_id": 42}, {}),
    ("query", "query params", "GET", "/search?q=widget&limit=5", {"q": "widget", "limit": 5},
     {}),
    ("post", "pydantic POST echo", "POST", "/echo", POST_BODY,
     {"script": os.path.join(BENCH, "post.lua")}),
    ("deps", "3-level deps + OAuth2", "GET", "/deps",
     {"user": "alice", "db": "db", "token": TOKEN},
     {"headers": ["Authorization: Bearer %s" % TOKEN]}),
]


def ensure_pypi_venv():
    """build/bench-venv with FastrAPI from PyPI. Returns (python, version) or raises."""
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True,
                       capture_output=True, timeout=300)
    # -I (isolated): neither PYTHONPATH nor the working directory (whose
    # fastrapi.egg-info / fastrapi/ are OURS) may leak into the probe
    probe = [py, "-I", "-c", "import importlib.metadata as m; print(m.version('fastrapi'))"]
    r = subprocess.run(probe, capture_output=True, text=True, cwd=BENCH)
    if r.returncode != 0:
        inst = subprocess.run([py, "-I", "-m", "pip", "install", "-q", "fastrapi"],
                              capture_output=True, text=True, timeout=900, cwd=BENCH)
        if inst.returncode != 0:
            raise RuntimeError("pip install fastrapi: " + (inst.stderr.strip().splitlines()
                                                           or ["?"])[-1])
        r = subprocess.run(probe, capture_output=True, text=True, cwd=BENCH)
    return py, r.stdout.strip()


def ours_env():
    """Environment that imports this repository's fastrapi (built in place if needed)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    probe = [sys.executable, "-c", "import fastrapi, fastrapi._fastrapi"]
    if subprocess.run(probe, env=env, capture_output=True, cwd=BENCH).returncode != 0 and \
            os.path.exists(os.path.join(ROOT, "setup.py")):
        subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace", "-q"], cwd=ROOT,
                       capture_output=True, timeout=900)
    r = subprocess.run(probe, env=env, capture_output=True, text=True, cwd=BENCH)
    if r.returncode != 0:
        raise RuntimeError("import fastrapi: " + (r.stderr.strip().splitlines() or ["?"])[-1])
    return env


def plan(args):
    """[(name, argv, env)] or (name, None, reason) for servers that cannot run."""
    out = []
    skip = set(args.skip)
    if "fastrapi" not in skip:
        try:
            env = ours_env()
            out.append(("fastrapi", [sys.executable, SERVE, "fastrapi"], env, []))
            if args.workers2:
                out.append(("fastrapi w=2", [sys.executable, SERVE, "fastrapi"], env, ["2"]))
        except Exception as e:  # noqa: BLE001
            out.append(("fastrapi", None, str(e), None))
    if "fastapi" not in skip:
        r = subprocess.run([sys.executable, "-c", "import fastapi, uvicorn, uvloop, httptools"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            env = dict(os.environ)
            env.pop("PYTHONPATH", None)
            out.append(("FastAPI+uvicorn", [sys.executable, SERVE, "fastapi"], env, []))
        else:
            out.append(("FastAPI+uvicorn", None,
                        (r.stderr.strip().splitlines() or ["?"])[-1], None))
    if "fastrapi-pypi" not in skip:
        try:
            py, ver = ensure_pypi_venv()
            env = dict(os.environ)
            env.pop("PYTHONPATH", None)
            out.append(("FastrAPI %s (PyPI)" % ver, [py, "-I", SERVE, "fastrapi-pypi"], env, []))
        except Exception as e:  # noqa: BLE001
            out.append(("FastrAPI (PyPI)", None, str(e), None))
    return out


def check(port, method, path, want):
    """None if the endpoint answers 200 with the expected JSON, else a reason."""
    body = headers = None
    if method == "POST":
        body = json.dumps(POST_BODY).encode()
        headers = {"Content-Type": "application/json"}
    if path == "/deps":
        headers = {"Authorization": "Bearer " + TOKEN}
    return check_json(port, method, path, want, body, headers)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--only", default="", help="comma list of endpoint keys: " +
                    ",".join(e[0] for e in ENDPOINTS))
    ap.add_argument("--skip", default="", help="comma list of: fastrapi,fastapi,fastrapi-pypi")
    ap.add_argument("--no-workers2", dest="workers2", action="store_false",
                    help="skip the fastrapi workers=2 row")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    args.skip = [s for s in args.skip.split(",") if s]
    require("wrk")
    load_at_start = "%.2f %.2f %.2f" % os.getloadavg()
    endpoints = [e for e in ENDPOINTS if not args.only or e[0] in args.only.split(",")]

    servers = {}   # name -> (proc, port, logfile)
    plan_rows = []
    na = {}        # (name, key) -> why the check failed
    results = {}   # (name, key) -> [wrk runs]
    failed = {}    # name -> reason
    logs = tempfile.mkdtemp(prefix="fr-bench-py-")
    try:
        plan_rows = plan(args)
        for name, argv, env, extra in plan_rows:
            if argv is None:
                failed[name] = env
                continue
            port = free_port()
            log = open(os.path.join(logs, name.split()[0] + "-%d.log" % port), "wb")
            proc = subprocess.Popen(argv + [str(port)] + extra, env=env, stdout=log,
                                    stderr=subprocess.STDOUT, cwd=os.path.join(BENCH, "apps"))
            why = wait_ready(port, "/hello", proc)
            if why:
                log.flush()
                with open(log.name, "rb") as f:
                    tail = f.read().decode("utf-8", "replace").strip().splitlines()[-1:]
                failed[name] = why + (": " + tail[0][:120] if tail else "")
                stop(proc)
                continue
            servers[name] = (proc, port, log)

        results, na = run_rounds(servers, endpoints, check, args, name_width=22, label_width=20)
        for name, (proc, _, _) in servers.items():
            if proc.poll() is not None:
                failed.setdefault(name, "died during the run (status %s)" % proc.returncode)
    finally:
        for proc, _, log in servers.values():
            stop(proc)
            log.close()

    names = [n for n, *_ in plan_rows]
    ours = "fastrapi" if "fastrapi" in servers else None
    others = [n for n in names if n.startswith("FastAPI") or n.startswith("FastrAPI")]

    def cell(name, key, metric):
        if name in failed:
            return "failed"
        if (name, key) in na:
            return "N/A (%s)" % na[(name, key)]
        v = median(r[metric] for r in results.get((name, key), []))
        return fmt_rps(v) if metric == "rps" else fmt_ms(v)

    def rps(name, key):
        return median(r["rps"] for r in results.get((name, key), []))

    print("## Python frameworks (requests/s, median of %d runs)\n" % args.rounds)
    head = ["endpoint"] + names + ["fastrapi / %s" % o for o in others]
    if "fastrapi w=2" in servers:
        head.append("w=2 / w=1")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * 1 + "---:|" * (len(head) - 1))
    for key, label, *_ in endpoints:
        row = [label] + [cell(n, key, "rps") for n in names]
        for o in others:
            a, b = rps(ours, key) if ours else None, rps(o, key)
            row.append("%.1f×" % (a / b) if a and b else "-")
        if "fastrapi w=2" in servers:
            a, b = rps("fastrapi w=2", key), rps("fastrapi", key)
            row.append("%.2f×" % (a / b) if a and b else "-")
        print("| " + " | ".join(row) + " |")
    print("\n## p99 latency (median of %d runs)\n" % args.rounds)
    print("| endpoint | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for key, label, *_ in endpoints:
        print("| " + " | ".join([label] + [cell(n, key, "p99_ms") for n in names]) + " |")
    if failed:
        print()
        for name, why in failed.items():
            print("- %s failed: %s" % (name, why))
    info = machine_info()
    print("\nwrk -t%d -c%d -d%ds --latency, keep-alive, no pipelining, %d rounds alternating "
          "between servers; all servers on 127.0.0.1 sharing the machine with wrk; one process "
          "each unless w=2." % (args.wrk_threads, args.connections, args.duration, args.rounds))
    print("Machine: %s, %s CPUs, Linux %s, Python %s, %s, %s, load average at start %s." % (
        info["cpu"], info["nproc"], info["kernel"], info["python"], info["wrk"], info["date"],
        load_at_start))
    print("Server logs: %s" % logs)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "failed": failed,
                       "na": {"%s|%s" % k: v for k, v in na.items()},
                       "results": {"%s|%s" % k: v for k, v in results.items()}}, f, indent=2)


if __name__ == "__main__":
    main()
