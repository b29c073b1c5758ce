#!/usr/bin/env python3
"""
Reliability scenarios (issue 14), long versions: fastrapi vs FastAPI+uvicorn.

One command; prints a Markdown table (one column per server) of:
  - slowloris: --slow clients dribble a request head one byte a second while
    wrk measures GET /hello (p99); how many slow clients the server ended
    (408 or close) within 15 s;
  - idle connections: --idle connections open (each sent one request and
    keeps the connection), RSS growth / connection in KiB, and /hello still
    answering;
  - soak: wrk on /hello and POST /echo for --soak seconds, RSS sampled every
    second: the curve (every --soak/6 s), growth after the first 10 %;
  - aborts: --aborts clients leave in each phase (head sent, body partly sent,
    1 MiB response unread, 32 MiB stream unread then closed): the server's
    fds above its baseline 2 s after the last one left, and RSS growth
    (for the 1 MiB response: RSS before, at the peak, and 2 s after);
  - non-reading / trickle streams: 40 sync + 1 async clients that never read
    a streamed response and 4 that read 1 KiB/s, while wrk measures /hello
    and /hello-async (p99);
  - SIGTERM under load: 32 client threads send requests on new connections;
    SIGTERM mid-run; an accepted request answered by a reset (ECONNRESET /
    EOF before the answer) is a drop; refused connections are not.
Nothing here asserts a number; tests/py/test_reliability.py and
tests/c/test_reliability.c hold the bounded versions that run in CI.

    python3 bench/bench_reliability.py            # ~6 min
    python3 bench/bench_reliability.py --idle 10000 --aborts 2000 --soak 300
    python3 bench/bench_reliability.py --only sigterm --sigterm-rounds 30
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (ROOT, free_port, machine_info, python_env, raise_nofile, require,  # noqa: E402
                     run_wrk, stop, tree_rss_bytes, wait_ready)

APP = r'''
import json, logging, sys, asyncio
framework, port, opts = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
if framework == "fastapi":
    from fastapi import FastAPI, Request
    from fastapi.responses import Response, StreamingResponse
else:
    from fastrapi import FastAPI, Request
    from fastrapi.responses import Response, StreamingResponse
app = FastAPI()
BIG = b"x" * (1 << 20)
PIECE = b"s" * 65536

@app.get("/hello")
def hello():
    return {"hello": 1}

@app.get("/hello-async")
async def hello_async():
    return {"hello": 1}

@app.post("/echo")
async def echo(request: Request):
    return {"n": len(await request.body())}

@app.get("/big")
def big():
    return Response(BIG, media_type="application/octet-stream")

@app.get("/stream")
def stream():
    def gen():
        for _ in range(512):  # 32 MiB
            yield PIECE
    return StreamingResponse(gen(), media_type="application/octet-stream")

@app.get("/astream")
async def astream():
    async def gen():
        for _ in range(512):
            yield PIECE
    return StreamingResponse(gen(), media_type="application/octet-stream")

if framework == "fastapi":
    import uvicorn
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False,
                timeout_keep_alive=opts.get("keep_alive", 5),
                timeout_graceful_shutdown=opts.get("graceful", 10))
else:
    logging.getLogger("fastrapi.access").disabled = True
    app.serve("127.0.0.1", port, access_log=False, log_level="error",
              timeout_keep_alive=opts.get("keep_alive"), timeout_header=opts.get("header"),
              timeout_graceful_shutdown=opts.get("graceful"),
              limit_concurrency=opts.get("limit"))
'''

SERVERS = ("fastrapi", "FastAPI+uvicorn")


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


class Server:
    def __init__(self, name, **opts):
        self.name = name
        self.port = free_port()
        self.src = tempfile.NamedTemporaryFile("w", suffix=".py", delete=False)
        self.src.write(APP)
        self.src.close()
        self.err = tempfile.TemporaryFile("w+")
        fw = "fastrapi" if name == "fastrapi" else "fastapi"
        self.proc = subprocess.Popen([sys.executable, self.src.name, fw, str(self.port), json.dumps(opts)],
                                     env=python_env(), stdout=subprocess.DEVNULL, stderr=self.err)
        why = wait_ready(self.port, "/hello", self.proc)
        if why:
            self.close()
            raise RuntimeError("%s: %s" % (name, why))

    def fds(self):
        try:
            return len(os.listdir("/proc/%d/fd" % self.proc.pid))
        except OSError:
            return None

    def rss(self):
        return tree_rss_bytes(self.proc.pid)

    def close(self):
        stop(self.proc)
        os.unlink(self.src.name)


def connect(port, timeout=10.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_response(s):
    """One content-length response (head + body) or b'' on EOF/reset first."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = s.recv(65536)
        if not b:
            return b""
        buf += b
    head = buf.split(b"\r\n\r\n", 1)[0].lower()
    n = 0
    for line in head.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            n = int(line.split(b":")[1])
    while len(buf) - len(head) - 4 < n:
        b = s.recv(65536)
        if not b:
            return b""
        buf += b
    return buf


GET = b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n"


def ok(port, path="/hello"):
    try:
        with connect(port, 5) as s:
            s.sendall(GET % path.encode())
            return read_response(s).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


# ---------------------------------------------------------------- scenarios

def slowloris(name, args):
    srv = Server(name)
    try:
        slow = []
        for _ in range(args.slow):
            try:
                s = connect(srv.port)
                s.setblocking(False)
                slow.append(s)
            except OSError:
                break
        head = b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 4096
        stop_ev = threading.Event()
        ended = [0]
        start = time.monotonic()
        ended_at = {}

        def dribble():
            i = 0
            while not stop_ev.is_set() and time.monotonic() - start < 15:
                for k, s in enumerate(slow):
                    if k in ended_at:
                        continue
                    try:
                        s.send(head[i:i + 1])
                        if s.recv(4096, socket.MSG_PEEK) == b"":
                            ended_at[k] = time.monotonic() - start
                    except BlockingIOError:
                        pass
                    except OSError:
                        ended_at[k] = time.monotonic() - start
                i = (i + 1) % len(head)
                stop_ev.wait(1.0)

        t = threading.Thread(target=dribble)
        t.start()
        time.sleep(1.5)
        res = run_wrk("http://127.0.0.1:%d/hello" % srv.port, args.wrk_seconds, 16, 2)
        t.join(30)
        stop_ev.set()
        for k, s in enumerate(slow):  # answered 408 or closed, after the dribble
            try:
                if k not in ended_at and (s.recv(4096, socket.MSG_PEEK) or b"x")[:12] in (b"", b"HTTP/1.1 408"):
                    ended_at[k] = 15.0
            except OSError:
                pass
            s.close()
        ended[0] = len(ended_at)
        return {"p99_ms": res["p99_ms"], "rps": res["rps"], "slow": len(slow), "ended": ended[0],
                "errors": res["errors"],
                "ended_by_s": round(max(ended_at.values()), 1) if ended_at else None}
    finally:
        srv.close()


def idle(name, args):
    srv = Server(name, keep_alive=120, header=120, limit=args.idle + 1000)
    socks = []
    try:
        for _ in range(20):  # warm
            ok(srv.port)
        time.sleep(0.5)
        rss0, fd0 = srv.rss(), srv.fds()
        failed = 0
        for _ in range(args.idle):
            try:
                s = connect(srv.port)
                s.sendall(GET % b"/hello")
                socks.append(s)
            except OSError:
                failed += 1
        answered = 0
        for s in socks:
            try:
                answered += read_response(s).startswith(b"HTTP/1.1 200")
            except OSError:  # not answered within the socket timeout (10 s)
                pass
        time.sleep(1.0)
        rss1, fd1 = srv.rss(), srv.fds()
        alive = ok(srv.port)
        return {"conns": answered, "failed": failed, "fds": fd1 - fd0,
                "kib_each": (rss1 - rss0) / 1024.0 / max(1, answered), "still_serving": alive}
    finally:
        for s in socks:
            s.close()
        srv.close()


def soak(name, args):
    srv = Server(name)
    curve, stop_ev = [], threading.Event()
    try:
        t0 = time.monotonic()

        def sample():
            while not stop_ev.wait(1.0):
                curve.append((time.monotonic() - t0, srv.rss()))

        th = threading.Thread(target=sample)
        th.start()
        script = os.path.join(ROOT, "bench", "post.lua")
        half = max(1, args.soak // 2)
        r1 = run_wrk("http://127.0.0.1:%d/hello" % srv.port, half, 32, 2)
        r2 = run_wrk("http://127.0.0.1:%d/echo" % srv.port, half, 32, 2, script=script)
        stop_ev.set()
        th.join()
        if not curve:
            return {}
        warm = [r for t, r in curve if t >= args.soak * 0.1] or [curve[-1][1]]
        step = max(1, len(curve) // 6)
        points = [curve[i] for i in range(0, len(curve), step)] + [curve[-1]]
        return {"requests": (r1["requests"] or 0) + (r2["requests"] or 0),
                "errors": r1["errors"] + r2["errors"],
                "start_mib": curve[0][1] / 2**20, "growth_kib": (curve[-1][1] - warm[0]) / 1024.0,
                "curve": ["%ds %.1f" % (t, r / 2**20) for t, r in points]}
    finally:
        stop_ev.set()
        srv.close()


PHASES = [
    ("head", b"GET /hello HTTP/1.1\r\nHost: x\r\n", None),
    ("body", b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"0" * 1000, None),
    ("response", GET % b"/big", None),
    ("stream", GET % b"/stream", 65536),  # read the head and some, then leave
]


def aborts(name, args):
    srv = Server(name)
    out = {}
    try:
        for _ in range(20):
            ok(srv.port)
        for phase, data, read_some in PHASES:
            time.sleep(0.5)
            fd0, rss0 = srv.fds(), srv.rss()
            done = [0]
            peak = [rss0]
            sampling = threading.Event()

            def sample():
                while not sampling.wait(0.05):
                    peak[0] = max(peak[0], srv.rss() or 0)

            sampler = threading.Thread(target=sample)
            sampler.start()

            def client(n):
                for _ in range(n):
                    try:
                        s = connect(srv.port)
                        s.sendall(data)
                        if read_some:
                            got = 0
                            while got < read_some:
                                b = s.recv(65536)
                                if not b:
                                    break
                                got += len(b)
                        s.close()
                        done[0] += 1
                    except OSError:
                        pass

            per = args.aborts // 8
            ths = [threading.Thread(target=client, args=(per,)) for _ in range(8)]
            for t in ths:
                t.start()
            for t in ths:
                t.join()
            t_end = time.monotonic()
            fds_at = None
            while time.monotonic() - t_end < 2.0:
                fds_at = srv.fds() - fd0
                if fds_at <= 0:
                    break
                time.sleep(0.01)
            back_in = time.monotonic() - t_end if fds_at is not None and fds_at <= 0 else None
            time.sleep(max(0.0, 2.0 - (time.monotonic() - t_end)))
            sampling.set()
            sampler.join()
            rss2 = srv.rss()
            out[phase] = {"clients": done[0], "fds_after_2s": srv.fds() - fd0,
                          "back_in_s": back_in, "rss_kib": (rss2 - rss0) / 1024.0,
                          "rss_mib": [rss0 / 1048576.0, peak[0] / 1048576.0, rss2 / 1048576.0],
                          "still_serving": ok(srv.port)}
        return out
    finally:
        srv.close()


def streams(name, args):
    srv = Server(name)
    socks = []
    stop_ev = threading.Event()
    try:
        for path, n in (("/stream", 40), ("/astream", 1)):
            for _ in range(n):
                s = connect(srv.port)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.sendall(GET % path.encode())
                socks.append(s)
        trick = []
        for _ in range(4):
            s = connect(srv.port)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(GET % b"/astream")
            trick.append(s)

        def trickle():
            while not stop_ev.wait(1.0):
                for s in trick:
                    try:
                        s.recv(1024, socket.MSG_DONTWAIT)
                    except OSError:
                        pass

        th = threading.Thread(target=trickle)
        th.start()
        time.sleep(1.0)
        r1 = run_wrk("http://127.0.0.1:%d/hello" % srv.port, args.wrk_seconds, 16, 2)
        r2 = run_wrk("http://127.0.0.1:%d/hello-async" % srv.port, args.wrk_seconds, 16, 2)
        stop_ev.set()
        th.join()
        socks += trick
        return {"p99_sync_ms": r1["p99_ms"], "p99_async_ms": r2["p99_ms"], "rps_sync": r1["rps"],
                "rps_async": r2["rps"], "errors": r1["errors"] + r2["errors"]}
    finally:
        stop_ev.set()
        for s in socks:
            s.close()
        srv.close()


def sigterm(name, args):
    """--sigterm-rounds servers in turn, each stopped under the same churn;
    the counts summed (a reset at the stop is a race: one round rarely
    shows it, 30 rounds did before the listener's SYN-only filter)."""
    total = {}
    for _ in range(max(1, args.sigterm_rounds)):
        r = sigterm_once(name)
        for k, v in r.items():
            if k != "exit":
                total[k] = total.get(k, 0) + v
            elif total.get("exit") in (None, 0):
                total["exit"] = v  # the first non-zero exit status is kept
    return total


def sigterm_once(name):
    srv = Server(name, graceful=10)
    counts = {"answered": 0, "refused": 0, "reset": 0, "eof": 0, "other": 0}
    lock = threading.Lock()
    stop_ev = threading.Event()

    def client():
        while not stop_ev.is_set():
            try:
                s = connect(srv.port, 10)
            except ConnectionRefusedError:
                with lock:
                    counts["refused"] += 1
                time.sleep(0.01)
                continue
            except OSError:
                with lock:
                    counts["other"] += 1
                continue
            try:
                s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                r = read_response(s)
                key = "answered" if r.startswith(b"HTTP/1.1 ") else "eof"
            except (ConnectionResetError, BrokenPipeError):
                key = "reset"
            except OSError:
                key = "other"
            finally:
                s.close()
            with lock:
                counts[key] += 1

    ths = [threading.Thread(target=client) for _ in range(32)]
    try:
        for t in ths:
            t.start()
        time.sleep(3.0)
        srv.proc.send_signal(signal.SIGTERM)
        rc = srv.proc.wait(30)
        time.sleep(0.5)
        stop_ev.set()
        for t in ths:
            t.join(15)
        return dict(counts, exit=rc)
    finally:
        stop_ev.set()
        srv.close()


SCENARIOS = [("slowloris", slowloris), ("idle", idle), ("soak", soak), ("aborts", aborts),
             ("streams", streams), ("sigterm", sigterm)]


def fmt(v, f="%.1f"):
    return "-" if v is None else f % v


def table(results, names):
    print("| scenario | %s |" % " | ".join(names))
    print("|---|%s" % ("---|" * len(names)))

    def row(label, fn, key):
        if all(key not in results.get(n, {}) and key not in results.get(n, {}).get("_error", "")
               for n in names):
            return  # not run (--only)
        cells = []
        for n in names:
            r = results.get(n, {})
            try:
                cells.append(fn(r))
            except (KeyError, TypeError):
                err = r.get("_error", "")
                cells.append("failed (%s)" % err if err.startswith(key) else "not run")
        print("| %s | %s |" % (label, " | ".join(cells)))

    row("slowloris: /hello p99 (req/s) with %d slow clients" % ARGS.slow,
        lambda r: "%s ms (%s)" % (fmt(r["slowloris"]["p99_ms"], "%.2f"), fmt(r["slowloris"]["rps"], "%.0f")), "slowloris")
    row("slowloris: slow clients ended by the server within 15 s",
        lambda r: "%d of %d" % (r["slowloris"]["ended"], r["slowloris"]["slow"]), "slowloris")
    row("%d idle keep-alive connections: KiB each" % ARGS.idle,
        lambda r: "%s KiB (%d open, serving: %s)" % (fmt(r["idle"]["kib_each"]), r["idle"]["conns"],
                                                   "yes" if r["idle"]["still_serving"] else "NO"), "idle")
    row("soak %d s, %s requests: RSS growth after warm-up" % (ARGS.soak, "/".join(
        str(results[n].get("soak", {}).get("requests", "?")) for n in names)),
        lambda r: "%+.0f KiB (start %.1f MiB, %d errors)" % (r["soak"]["growth_kib"], r["soak"]["start_mib"],
                                                             r["soak"]["errors"]), "soak")
    row("soak RSS curve (MiB)", lambda r: ", ".join(r["soak"]["curve"]), "soak")
    for phase, _, _ in PHASES:
        row("%d aborts in %s: fds over baseline after 2 s (RSS)" % (ARGS.aborts, phase),
            lambda r, p=phase: "%d (%+.0f KiB)%s" % (
                r["aborts"][p]["fds_after_2s"], r["aborts"][p]["rss_kib"],
                "" if r["aborts"][p]["still_serving"] else ", NOT serving"), "aborts")
    row("%d clients leave 1 MiB responses unread: RSS before / peak / 2 s after (MiB)" % ARGS.aborts,
        lambda r: "%.1f / %.1f / %.1f" % tuple(r["aborts"]["response"]["rss_mib"]), "aborts")
    row("40 non-reading + 1 async + 4 trickle stream clients: /hello p99",
        lambda r: "%s ms sync, %s ms async" % (fmt(r["streams"]["p99_sync_ms"], "%.2f"),
                                               fmt(r["streams"]["p99_async_ms"], "%.2f")), "streams")
    row("SIGTERM under load (32 clients): accepted requests dropped (reset / EOF unanswered)",
        lambda r: "%d / %d (answered %d, refused %d, other %d, exit %s)" % (
            r["sigterm"]["reset"], r["sigterm"]["eof"], r["sigterm"]["answered"], r["sigterm"]["refused"],
            r["sigterm"]["other"], r["sigterm"]["exit"]), "sigterm")


ARGS = None


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--slow", type=int, default=1000, help="slowloris clients")
    ap.add_argument("--idle", type=int, default=10000, help="idle connections")
    ap.add_argument("--soak", type=int, default=120, help="soak seconds")
    ap.add_argument("--aborts", type=int, default=2000, help="aborting clients per phase")
    ap.add_argument("--wrk-seconds", type=int, default=10)
    ap.add_argument("--sigterm-rounds", type=int, default=1,
                    help="servers stopped under load (counts summed)")
    ap.add_argument("--servers", default=",".join(SERVERS))
    ap.add_argument("--only", default="", help="comma-separated scenarios")
    ap.add_argument("--json", default="")
    ARGS = args = ap.parse_args()
    require("wrk")
    limit = raise_nofile(4 * args.idle + 4096)
    if limit < 2 * args.idle + 1024:
        log("RLIMIT_NOFILE is %d: fewer idle connections than asked" % limit)
    names = [n for n in args.servers.split(",") if n]
    only = set(args.only.split(",")) if args.only else None
    results = {n: {} for n in names}
    for key, fn in SCENARIOS:
        if only and key not in only:
            continue
        for n in names:
            log("%s: %s" % (n, key))
            try:
                results[n][key] = fn(n, args)
            except Exception as e:  # a scenario that cannot run is a row that says so
                results[n]["_error"] = "%s: %s" % (key, e)
                log("%s %s failed: %r" % (n, key, e))
            log(json.dumps(results[n].get(key), default=str)[:400])
    table(results, names)
    info = machine_info()
    print("\n%s, %s cores, Linux %s, Python %s, %s, %s. Load average: %s." % (
        info["cpu"], info["nproc"], info["kernel"], info["python"], info["wrk"], info["date"],
        " ".join("%.2f" % x for x in os.getloadavg())))
    print("Every scenario on 127.0.0.1, one server process each (fastrapi: default threads; "
          "uvicorn: one worker), clients in this process and wrk -t2 -c16 -d%ds." % args.wrk_seconds)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "machine": info}, f, indent=1, default=str)


if __name__ == "__main__":
    main()
