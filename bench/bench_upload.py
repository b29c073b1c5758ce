#!/usr/bin/env python3
"""Upload throughput and memory: one multipart/form-data file part, POSTed
over one keep-alive-less connection (Content-Length, 1 MiB writes) to a
route that takes it as an UploadFile and reads it through in 1 MiB pieces
into a SHA-256 (the answer's hash is checked), and to a route that only
answers the UploadFile's size (what the framework costs without the app's
reading and hashing).

    python bench/bench_upload.py [--size-mb 100] [--big-mb 1024] [--rounds 3]
                                 [--servers fastrapi,fastapi,fastrapi-pypi,nginx]

Rows:
    fastrapi        this repository (native server; the engine streams the
                    body to an fr_form, the file part to a temp file)
    fastapi         FastAPI + uvicorn (uvloop, httptools), 1 worker
    fastrapi-pypi   FastrAPI from PyPI (the Rust/Axum project), from
                    build/bench-venv (see bench_peers.py); "fails" when it
                    cannot take the upload
    nginx           `return 200` on the location: nginx reads and discards
                    the body (a ceiling for the socket path, not an app)

Columns: MB/s for --size-mb (median of --rounds uploads, time from the first
byte sent to the last byte of the answer) and the server's CPU time per
upload (its process tree, from /proc), for both routes, the ratios to
FastAPI, and the server's peak RSS (its process tree, sampled every 10 ms) during one
--big-mb upload next to its RSS before it."""
import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (ROOT, free_port, machine_info, median, python_env, stop_group,  # noqa: E402
                     tree_cpu_seconds, tree_rss_bytes, wait_ready)

VENV = os.path.join(ROOT, "build", "bench-venv")

APP = r'''
import hashlib, os, sys
fw = sys.argv[1]
if fw == "fastrapi-pypi":
    from fastrapi import FastrAPI as App, File, UploadFile
elif fw == "fastapi":
    from fastapi import FastAPI as App, File, UploadFile
else:
    from fastrapi import FastAPI as App, File, UploadFile
app = App()

@app.get("/hello")
def hello():
    return {"ok": True}

@app.post("/upload")
async def upload(up: UploadFile = File(...)):
    h, n = hashlib.sha256(), 0
    while True:
        b = await up.read(1 << 20)
        if not b:
            break
        h.update(b)
        n += len(b)
    return {"n": n, "sha": h.hexdigest()}

@app.post("/size")
async def size(up: UploadFile = File(...)):
    return {"n": up.size}

port = int(sys.argv[2])
if fw == "fastapi":
    import importlib.util, uvicorn
    have = lambda m: importlib.util.find_spec(m) is not None  # noqa: E731
    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop" if have("uvloop") else "auto",
                http="httptools" if have("httptools") else "auto", log_level="warning",
                access_log=False)
elif fw == "fastrapi":
    import logging
    logging.getLogger("fastrapi.access").disabled = True
    app.serve("127.0.0.1", port, access_log=False)
else:
    app.serve("127.0.0.1", port)
'''

NGINX_CONF = """{user}worker_processes 1;
daemon off;
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        location / {{ return 200 '{{"ok":true}}'; }}
    }}
}}
"""

BND = b"benchb0undary"
BLOCK = b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(32768))  # 1 MiB, not constant


_SHAS = {}


def _sha(size):
    """SHA-256 of the size bytes upload() sends (BLOCK repeated), cached."""
    if size not in _SHAS:
        h, left = hashlib.sha256(), size
        while left:
            b = BLOCK if left >= len(BLOCK) else BLOCK[:left]
            h.update(b)
            left -= len(b)
        _SHAS[size] = h.hexdigest()
    return _SHAS[size]


def upload(port, size, sample_pid=None, path="/upload"):
    """POST size bytes as one file to path; returns (seconds, peak tree RSS or None)."""
    pre = (b"--" + BND + b'\r\nContent-Disposition: form-data; name="up"; filename="f.bin"\r\n'
           b"Content-Type: application/octet-stream\r\n\r\n")
    tail = b"\r\n--" + BND + b"--\r\n"
    head = (b"POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n"
            b"Content-Type: multipart/form-data; boundary=%s\r\n\r\n"
            % (path.encode(), len(pre) + size + len(tail), BND))
    want = _sha(size)  # before the clock starts
    peak, done = [0], threading.Event()

    def sampler():
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_bytes(sample_pid) or 0)
            time.sleep(0.01)
    th = threading.Thread(target=sampler, daemon=True) if sample_pid else None
    if th:
        th.start()
    t0 = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=600) as s:
            s.sendall(head + pre)
            left = size
            while left:
                b = BLOCK if left >= len(BLOCK) else BLOCK[:left]
                s.sendall(b)
                left -= len(b)
            s.sendall(tail)
            resp = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                resp += b
    finally:
        dt = time.perf_counter() - t0
        done.set()
        if th:
            th.join()
    status, _, body = resp.partition(b"\r\n\r\n")
    if not status.startswith(b"HTTP/1.1 200"):
        raise RuntimeError("answer: %r" % resp[:200])
    if sample_pid is not None and b'"n"' in body:
        got = json.loads(body)
        if got.get("n") != size or ("sha" in got and got["sha"] != want):
            raise RuntimeError("wrong hash/size in the answer: %r" % body[:200])
    return dt, (peak[0] or None)


def _imports(py, mods):
    if not os.path.exists(py):
        return False
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return subprocess.run([py, "-I", "-c", "import " + mods], env=env, cwd="/",
                          capture_output=True).returncode == 0


def start(name, tmp):
    port = free_port()
    if name == "nginx":
        prefix = os.path.join(tmp, "nginx")
        os.makedirs(prefix, exist_ok=True)
        user = "user %s;\n" % __import__("getpass").getuser() if os.geteuid() == 0 else ""
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(user=user, prefix=prefix, port=port))
        argv, env = ["nginx", "-c", conf, "-p", prefix], dict(os.environ)
    else:
        app = os.path.join(tmp, "upload_app.py")
        with open(app, "w") as f:
            f.write(APP)
        venv_py = os.path.join(VENV, "bin", "python")
        if name == "fastrapi-pypi":
            if not os.path.exists(venv_py):
                raise RuntimeError("skipped: %s missing (see bench_peers.py)" % venv_py)
            argv, env = [venv_py, "-I", app, name, str(port)], dict(os.environ)
            env.pop("PYTHONPATH", None)
        elif name == "fastapi" and _imports(venv_py, "fastapi,uvicorn,uvloop,httptools,python_multipart"):
            argv, env = [venv_py, "-I", app, name, str(port)], dict(os.environ)
            env.pop("PYTHONPATH", None)
        else:
            argv, env = [sys.executable, app, name, str(port)], python_env()
            if name == "fastapi":
                env.pop("PYTHONPATH", None)
    proc = subprocess.Popen(argv, env=env, cwd=tmp, stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(tmp, name + ".log"), "wb"), start_new_session=True)
    why = wait_ready(port, "/hello", proc)
    if why:
        stop_group(proc)
        with open(os.path.join(tmp, name + ".log"), "rb") as f:
            tail = f.read().decode("utf-8", "replace").strip().splitlines()[-1:]
        raise RuntimeError(why + (": " + tail[0][:200] if tail else ""))
    return proc, port


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=int, default=100)
    ap.add_argument("--big-mb", type=int, default=1024, help="the peak-RSS upload (0: skip)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--servers", default="fastrapi,fastapi,fastrapi-pypi,nginx")
    args = ap.parse_args()
    names = [n for n in args.servers.split(",") if n]
    if "nginx" in names and not shutil.which("nginx"):
        names.remove("nginx")
    rows, versions = {}, {}
    tmp = tempfile.mkdtemp(prefix="bench-upload-")
    size, big = args.size_mb << 20, args.big_mb << 20
    for name in names:
        try:
            proc, port = start(name, tmp)
        except RuntimeError as e:
            rows[name] = {"fails": str(e)}
            continue
        try:
            row = {}
            for path, key in (("/upload", "mbs"), ("/size", "mbs_size")):
                upload(port, 1 << 20, proc.pid, path)  # warm up
                cpu0 = tree_cpu_seconds(proc.pid)
                times = [upload(port, size, proc.pid, path)[0] for _ in range(args.rounds)]
                row[key] = size / median(times) / 1e6
                row[key + "_cpu"] = (tree_cpu_seconds(proc.pid) - cpu0) * 1000 / args.rounds
            if big:
                before = tree_rss_bytes(proc.pid)
                _, peak = upload(port, big, proc.pid)
                row.update(rss_before=before, rss_peak=peak)
            rows[name] = row
        except (RuntimeError, OSError, ValueError) as e:
            rows[name] = {"fails": str(e)[:200]}
        finally:
            stop_group(proc)
    base = rows.get("fastapi", {})
    print("| server | hashed: MB/s | vs FastAPI | CPU ms | size only: MB/s | vs FastAPI | CPU ms "
          "| CPU vs FastAPI | RSS before | peak RSS during %d MB upload |" % args.big_mb)
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

    def ratio(a, b):
        return "%.2fx" % (a / b) if a and b else "-"
    for name in names:
        r = rows[name]
        if "fails" in r:
            print("| %s | fails | | | | | | | | |" % name)
            continue
        mb = lambda x: "%.0f MB" % (x / 1e6) if x else "-"  # noqa: E731
        print("| %s | %.0f | %s | %.0f | %.0f | %s | %.0f | %s | %s | %s |"
              % (name, r["mbs"], ratio(r["mbs"], base.get("mbs")), r["mbs_cpu"], r["mbs_size"],
                 ratio(r["mbs_size"], base.get("mbs_size")), r["mbs_size_cpu"],
                 ratio(base.get("mbs_size_cpu"), r["mbs_size_cpu"]),
                 mb(r.get("rss_before")), mb(r.get("rss_peak"))))
    info = machine_info()
    print("\n%d MB per upload over one connection, Content-Length body in 1 MiB writes, median of %d "
          "uploads per route; CPU ms: the server's process tree per upload (CPU vs FastAPI: FastAPI's "
          "CPU per size-only upload over this server's); peak RSS sampled every 10 ms over the "
          "server's process tree." % (args.size_mb, args.rounds))
    print("%s, %s cores, Linux %s, Python %s, %s. Load average: %s."
          % (info["cpu"], info["nproc"], info["kernel"], info["python"], info["date"],
             " ".join("%.2f" % x for x in os.getloadavg())))
    for name in names:
        if "fails" in rows[name]:
            print("%s fails: %s" % (name, rows[name]["fails"]))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
