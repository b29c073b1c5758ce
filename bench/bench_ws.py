#!/usr/bin/env python3
"""WebSockets: fastrapi side by side with FastAPI, FastrAPI and socketify.

    python3 bench/bench_ws.py [--rounds 3] [--duration 5] [--echo-conns 64]
                              [--fanout-conns 1000] [--size 32] [--servers KEYS]
    python3 bench/bench_ws.py --scale 10000   # idle sockets + one broadcast

Two workloads, each run once per server per round (server order reversed
every other round), medians over rounds:

  echo     --echo-conns connections (default 64), each sends a --size byte
           text message and waits for it to come back before sending the
           next (one in flight per connection): round-trips per second.
           --echo-kind bytes|json|iter: the endpoint is the receive_bytes/
           send_bytes, receive_json/send_json or `async for t in
           iter_text()` variant (binary frames for bytes; for json each
           message is a JSON string); the C and socketify servers echo
           those frames on their one /echo.
  fanout   --fanout-conns connections (default 1,000) in one room where
           every message is sent to every member; one of them publishes,
           keeping 8 messages in flight (its own copies are the acks):
           messages delivered per second (all clients together).

Servers (one process each on 127.0.0.1, all started before the first run):

  fastrapi       this repository: @app.websocket endpoints (the FastAPI code
                 below), app.serve() on the native server
  c              examples/c/chat.c, CHAT_MODE=serve (fr_serve, 2 loop
                 threads): /echo, and /state (a subscriber's text goes to
                 every subscriber through fr_ws_broadcast)
  fastapi        the same FastAPI code on uvicorn (uvloop, ws="websockets")
  fastrapi-pypi  FastrAPI from PyPI (Rust), its @app.websocket, same code
  socketify      socketify.py: app.ws() with its pub/sub for the room

The Python peers run from build/bench-venv (see bench_peers.py for how it is
made; --venv to change); a peer that does not import is "skipped". The load
generator is bench/ws_load.c (compiled here): C, one thread, epoll, raw RFC
6455 frames -- far cheaper per message than any server measured, so the
servers, not the client, are what is measured (its CPU is printed too).

The fastrapi/FastAPI/FastrAPI app broadcasts the FastAPI way: the endpoint
that receives a message awaits send_text on every socket of the room.
Not a test: nothing asserts a number. --scale N runs
tests/py/test_ws_scale.py's measurement (N idle websockets on the C example
and on a Python @app.websocket app, one broadcast, threads and RSS).
"""
import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (BENCH, ROOT, free_port, machine_info, median,  # noqa: E402
                     raise_nofile, stop_group, tree_cpu_seconds)

DEFAULT_VENV = os.path.join(ROOT, "build", "bench-venv")
BUILD = os.path.join(ROOT, "build", "bench")

APP = r'''
import sys

FW, PORT = sys.argv[1], int(sys.argv[2])

if FW == "socketify":
    from socketify import App, CompressOptions, OpCode

    app = App()

    def echo_message(ws, message, opcode):
        ws.send(message, opcode)

    def room_open(ws):
        ws.subscribe("room")

    def room_message(ws, message, opcode):
        app.publish("room", message, opcode)

    common = {"compression": CompressOptions.DISABLED, "max_payload_length": 16 * 1024 * 1024,
              "idle_timeout": 0}
    app.ws("/echo", dict(common, message=echo_message))
    app.ws("/bcast", dict(common, open=room_open, message=room_message))
    app.listen(PORT, lambda config: print("listening", flush=True))
    app.run()
    sys.exit(0)

if FW == "fastapi":
    from fastapi import FastAPI as App, WebSocket
elif FW == "fastrapi":
    from fastrapi import FastAPI as App, WebSocket
else:  # fastrapi-pypi
    from fastrapi import FastrAPI as App
    from fastrapi.websocket import WebSocket

app = App()
room = set()


@app.websocket("/echo")
async def echo(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except Exception:
        pass


@app.websocket("/echo-bytes")
async def echo_bytes(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            await websocket.send_bytes(await websocket.receive_bytes())
    except Exception:
        pass


@app.websocket("/echo-json")
async def echo_json(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            await websocket.send_json(await websocket.receive_json())
    except Exception:
        pass


@app.websocket("/echo-iter")
async def echo_iter(websocket: WebSocket):
    await websocket.accept()
    try:
        async for text in websocket.iter_text():
            await websocket.send_text(text)
    except Exception:
        pass


@app.websocket("/bcast")
async def bcast(websocket: WebSocket):
    await websocket.accept()
    room.add(websocket)
    try:
        while True:
            message = await websocket.receive_text()
            for ws in list(room):
                try:
                    await ws.send_text(message)
                except Exception:
                    room.discard(ws)
    except Exception:
        pass
    finally:
        room.discard(websocket)


if FW == "fastapi":
    import uvicorn
    try:
        import uvloop  # noqa: F401
        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    uvicorn.run(app, host="127.0.0.1", port=PORT, ws="websockets", loop=loop,
                log_level="warning", access_log=False)
elif FW == "fastrapi":
    app.serve("127.0.0.1", PORT, access_log=False, limit_concurrency=20000)
else:
    app.serve("127.0.0.1", PORT)
'''

SERVERS = [
    # key, label, modules the interpreter must import
    ("fastrapi", "fastrapi (Python, native server)", []),
    ("fastrapi-baseline", "fastrapi, --baseline checkout", []),
    ("c", "fastrapi C engine (examples/c/chat.c)", []),
    ("fastapi", "FastAPI on uvicorn (websockets)", ["fastapi", "uvicorn", "websockets"]),
    ("fastrapi-pypi", "FastrAPI (PyPI)", ["fastrapi"]),
    ("socketify", "socketify.py", ["socketify"]),
]


def compile_tools():
    os.makedirs(BUILD, exist_ok=True)
    out = {}
    for name, src, extra in (("ws_load", os.path.join(BENCH, "ws_load.c"), []),
                             ("chat", os.path.join(ROOT, "examples", "c", "chat.c"),
                              ["-I", ROOT, "-lpthread", "-lm"])):
        exe = os.path.join(BUILD, name)
        subprocess.run(["cc", "-O2", "-std=c11", src, "-o", exe] + extra, check=True)
        out[name] = exe
    return out


def find_python(key, mods, venv):
    """The interpreter to run a peer with, or None (not installed)."""
    if key in ("fastrapi", "c", "fastrapi-baseline"):
        return sys.executable
    cands = [os.path.join(venv, "bin", "python")]
    if key != "fastrapi-pypi":
        cands.append(sys.executable)
    for py in cands:
        if not os.path.exists(py):
            continue
        flags = ["-I"] if key == "fastrapi-pypi" else []
        code = "import %s" % ", ".join(mods)
        if key == "fastrapi-pypi":
            code += "; from fastrapi import FastrAPI; from fastrapi.websocket import WebSocket"
        r = subprocess.run([py] + flags + ["-c", code], capture_output=True, cwd=tempfile.gettempdir())
        if r.returncode == 0:
            return py
    return None


def version(py, key):
    if key in ("c",):
        return "this checkout"
    if key == "fastrapi-baseline":
        return "from --baseline"
    mod = {"fastrapi": "fastrapi", "fastapi": "fastapi", "fastrapi-pypi": "fastrapi",
           "socketify": "socketify"}[key]
    code = ("import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" if key != "fastrapi"
            else "print('this checkout')")
    flags = ["-I"] if key == "fastrapi-pypi" else []
    r = subprocess.run([py] + flags + ["-c", code, mod], capture_output=True, text=True,
                       cwd=tempfile.gettempdir())
    v = r.stdout.strip() or "?"
    if key == "fastapi":
        r = subprocess.run([py, "-c", "import importlib.metadata as m; print(m.version('uvicorn'),"
                            " m.version('websockets'))"], capture_output=True, text=True)
        v += " (uvicorn %s, websockets %s)" % tuple((r.stdout.split() + ["?", "?"])[:2])
    return v


def wait_port(port, proc, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return "exited with %s" % proc.returncode
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return None
        except OSError:
            time.sleep(0.1)
    return "not listening after %ss" % timeout


def start(key, py, tools, app_path, baseline=None):
    port = free_port()
    log = tempfile.TemporaryFile(mode="w+")
    if key == "c":
        env = dict(os.environ, CHAT_MODE="serve", FR_THREADS="2", CHAT_TICK_MS="0",
                   FR_MAX_CONNECTIONS="20000")
        cmd = [tools["chat"], str(port)]
    else:
        env = dict(os.environ)
        if key in ("fastrapi", "fastrapi-baseline"):
            env["PYTHONPATH"] = (baseline if key == "fastrapi-baseline" else ROOT) + os.pathsep + \
                env.get("PYTHONPATH", "")
        else:
            env.pop("PYTHONPATH", None)
        fw = "fastrapi" if key == "fastrapi-baseline" else key
        cmd = [py] + (["-I"] if key == "fastrapi-pypi" else []) + [app_path, fw, str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log,
                            cwd=tempfile.gettempdir(), start_new_session=True)
    why = wait_port(port, proc)
    if why:
        stop_group(proc)
        log.seek(0)
        return None, "%s: %s" % (why, log.read().strip()[-300:])
    return (proc, port, log), None


ECHO_KINDS = {"text": ("/echo", "text"), "bytes": ("/echo-bytes", "binary"),
              "json": ("/echo-json", "json"), "iter": ("/echo-iter", "text")}


def load(tools, mode, port, path, conns, millis, size, kind="text"):
    """Run ws_load; returns (rate, detail dict) or (None, why)."""
    t_cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run([tools["ws_load"], mode, str(port), path, str(conns), str(millis), str(size), kind],
                       capture_output=True, text=True, timeout=millis / 1000 + 120)
    t_cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        return None, (r.stdout + r.stderr).strip()[-200:] or "exit %d" % r.returncode
    d = dict(kv.split("=") for kv in r.stdout.split())
    d = {k: float(v) for k, v in d.items()}
    d["client_cpu"] = (t_cpu1.ru_utime + t_cpu1.ru_stime) - (t_cpu0.ru_utime + t_cpu0.ru_stime)
    if d["errors"]:
        return None, "%d client errors" % d["errors"]
    if mode == "echo":
        return d["roundtrips"] / d["seconds"], d
    if d["delivered"] < d["published"] * conns:
        return None, "only %d of %d deliveries" % (d["delivered"], d["published"] * conns)
    return d["delivered"] / d["seconds"], d


def server_path(key, workload, path):
    """The path a server serves the workload on: the C example's room is
    /state; the C and socketify servers echo every kind on /echo."""
    if key == "c" and workload == "fanout":
        return "/state"
    if key in ("c", "socketify") and workload == "echo":
        return "/echo"
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5, help="seconds per run")
    ap.add_argument("--echo-conns", type=int, default=64)
    ap.add_argument("--fanout-conns", type=int, default=1000)
    ap.add_argument("--size", type=int, default=32, help="message bytes")
    ap.add_argument("--echo-kind", choices=sorted(ECHO_KINDS), default="text",
                    help="the echo endpoint: send_text/receive_text (default), bytes, json, iter_text")
    ap.add_argument("--servers", default=",".join(k for k, _, _ in SERVERS if k != "fastrapi-baseline"))
    ap.add_argument("--baseline", help="another fastrapi checkout (built in place) to run as "
                    "fastrapi-baseline, for before/after numbers")
    ap.add_argument("--venv", default=DEFAULT_VENV)
    ap.add_argument("--scale", type=int, default=0, help="run the N-idle-sockets measurement instead")
    args = ap.parse_args()
    if args.scale:
        sys.path.insert(0, os.path.join(ROOT, "tests", "py"))
        sys.path.insert(0, os.path.join(ROOT, "tests"))
        import test_ws_scale
        test_ws_scale.main(["--n", str(args.scale)])
        return
    nofile = raise_nofile(args.fanout_conns * 2 + 512)
    if nofile < args.fanout_conns + 256:
        sys.exit("RLIMIT_NOFILE is %d: too low for %d connections" % (nofile, args.fanout_conns))
    tools = compile_tools()
    app_path = os.path.join(tempfile.mkdtemp(prefix="fr-bench-ws-"), "ws_app.py")
    with open(app_path, "w") as f:
        f.write(APP)
    wanted = args.servers.split(",") + (["fastrapi-baseline"] if args.baseline else [])
    servers, skipped, versions = {}, {}, {}
    for key, label, mods in SERVERS:
        if key not in wanted:
            continue
        py = find_python(key, mods, args.venv)
        if not py:
            skipped[key] = "not installed"
            continue
        versions[key] = version(py, key)
        if key == "fastrapi-baseline" and not args.baseline:
            continue
        srv, why = start(key, py, tools, app_path, args.baseline)
        if why:
            skipped[key] = why
            continue
        servers[key] = srv
    echo_path, frames = ECHO_KINDS[args.echo_kind]
    kind_label = "" if args.echo_kind == "text" else ", %s" % args.echo_kind
    workloads = [("echo", "echo round-trips/s (%d conns%s)" % (args.echo_conns, kind_label), echo_path,
                  args.echo_conns),
                 ("fanout", "fan-out deliveries/s (%d conns)" % args.fanout_conns, "/bcast",
                  args.fanout_conns)]
    results, na = {}, {}
    try:
        for key, (proc, port, _) in servers.items():  # a check: one short run each
            for wk, _, path, _ in workloads:
                for _ in range(5):  # a server may listen a moment before it serves
                    rate, why = load(tools, wk, port, server_path(key, wk, path), min(4, args.echo_conns),
                                     300, args.size, frames if wk == "echo" else "text")
                    if rate is not None or proc.poll() is not None:
                        break
                    time.sleep(1)
                if rate is None:
                    servers[key][2].seek(0)
                    panic = [ln for ln in servers[key][2].read().splitlines() if "panicked" in ln or
                             "Cannot" in ln or "Error" in ln]
                    why += ("; server: " + " ".join(panic)[:160]) if panic else ""
                    na[(key, wk)] = why
                    print("%s %s: N/A (%s)" % (key, wk, why), file=sys.stderr)
        order = list(servers)
        for rnd in range(args.rounds):
            for wk, label, path, conns in workloads:
                for key in (order if rnd % 2 == 0 else order[::-1]):
                    proc, port, _ = servers[key]
                    if (key, wk) in na or proc.poll() is not None:
                        continue
                    cpu0 = tree_cpu_seconds(proc.pid)
                    rate, d = load(tools, wk, port, server_path(key, wk, path), conns,
                                   int(args.duration * 1000), args.size, frames if wk == "echo" else "text")
                    cpu1 = tree_cpu_seconds(proc.pid)
                    if rate is None:
                        print("round %d %s %s: failed (%s)" % (rnd + 1, key, wk, d), file=sys.stderr)
                        results.setdefault((key, wk), []).append(None)
                        continue
                    n = d.get("roundtrips") or d.get("delivered")
                    cpu = (cpu1 - cpu0) * 1e6 / n if cpu0 is not None and cpu1 is not None else None
                    results.setdefault((key, wk), []).append((rate, cpu, d["client_cpu"] * 1e6 / n))
                    print("round %d %-32s %-14s %10.0f/s  server CPU %s µs/msg, client %.1f µs/msg"
                          % (rnd + 1, label, key, rate, "%.1f" % cpu if cpu is not None else "-",
                             d["client_cpu"] * 1e6 / n), file=sys.stderr)
    finally:
        for proc, _, _ in servers.values():
            stop_group(proc)
    print("| server | workload | median | server CPU µs/msg | client CPU µs/msg | vs FastAPI |")
    print("|---|---|---:|---:|---:|---:|")
    for wk, label, _, _ in workloads:
        base = median([r[0] for r in results.get(("fastapi", wk), []) if r])
        for key, name, _ in SERVERS:
            if key not in wanted:
                continue
            if key in skipped:
                print("| %s | %s | skipped: %s | | | |" % (name, label, skipped[key][:80]))
                continue
            if (key, wk) in na:
                print("| %s | %s | N/A (%s) | | | |" % (name, label, na[(key, wk)][:80]))
                continue
            rs = [r for r in results.get((key, wk), []) if r]
            rate = median([r[0] for r in rs])
            cpu = median([r[1] for r in rs])
            ccpu = median([r[2] for r in rs])
            print("| %s | %s | %s | %s | %s | %s |" % (
                name, label, "%.0f" % rate if rate else "failed",
                "%.1f" % cpu if cpu is not None else "-", "%.1f" % ccpu if ccpu is not None else "-",
                "%.2fx" % (rate / base) if rate and base else "-"))
    info = machine_info()
    print("\nws_load (C, epoll, 1 thread), %d-byte text messages, %.0f s per run, median of %d "
          "rounds (server order reversed every other round)." % (args.size, args.duration, args.rounds))
    print("%s, %s cores, Linux %s, Python %s, %s. Load average: %s."
          % (info["cpu"], info["nproc"], info["kernel"], info["python"], info["date"],
             " ".join("%.2f" % x for x in os.getloadavg())))
    print("Versions: " + "; ".join("%s %s" % (k, v) for k, v in versions.items()))
    for key, why in skipped.items():
        print("%s skipped: %s" % (key, why))


if __name__ == "__main__":
    main()
