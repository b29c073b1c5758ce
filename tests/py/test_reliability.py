"""Reliability of the Python face (issue 14), against live servers in
subprocesses (their fds read from /proc/PID/fd):

- a client that goes away in any phase (head, body, handler running) has its
  socket closed at once: the server's fds are back to the baseline within a
  bounded wait of 2 s (the head/body timeouts are 10/30 s). Each client sends
  its bytes with MSG_MORE and closes, so its FIN travels in the same segment
  as the data (the edge-triggered case the engine used to miss);
- on SIGTERM new clients are refused (ECONNREFUSED) or answered, never
  accepted and then reset; the request in flight is answered;
- the uvicorn-style options of ``fastrapi run`` / ``serve()`` take effect:
  --timeout-keep-alive, --timeout-header, --timeout-body,
  --timeout-graceful-shutdown, --limit-concurrency (503 above it);
- {id:int} path parameters beyond int64 answer as FastAPI does.
Waits are bounded; no test measures a duration."""
import os
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from helpers import ROOT, free_port, raw_request, rss_kib, spawn, wait_port

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/PID/fd")

APP = textwrap.dedent("""
    import threading
    import time
    from fastrapi import FastAPI, Request
    from fastrapi.responses import Response, StreamingResponse

    app = FastAPI()
    PIECE = b"s" * 65536
    release = threading.Event()

    @app.get("/hello")
    def hello():
        return {"hello": 1}

    @app.get("/held")
    def held():  # a worker thread holds the request until /release (bounded)
        release.wait(20)
        return {"held": 1}

    @app.get("/nap")
    def nap():
        time.sleep(1.5)
        return {"nap": 1}

    @app.get("/release")
    async def do_release():  # on the event loop: the held ones fill the thread pool
        release.set()
        return {"released": 1}

    @app.post("/body")
    async def body(request: Request):
        return {"n": len(await request.body())}

    @app.get("/big")
    def big():
        return Response(b"x" * (1 << 20), media_type="application/octet-stream")

    BIG = b"y" * (1 << 20)

    @app.get("/big-shared")
    def big_shared():  # the engine's copy is the only 1 MiB allocation
        return Response(BIG, media_type="application/octet-stream")

    @app.get("/stream")
    def stream():  # 32 MiB from a sync generator (a pool thread)
        def gen():
            for _ in range(512):
                yield PIECE
        return StreamingResponse(gen(), media_type="application/octet-stream")

    @app.get("/astream")
    async def astream():  # 32 MiB from an async generator (the event loop)
        async def gen():
            for _ in range(512):
                yield PIECE
        return StreamingResponse(gen(), media_type="application/octet-stream")
""")


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def fds_settled(pid):
    """The fd count once the last answered connection is closed (the
    smallest of 10 samples 20 ms apart)."""
    n = fd_count(pid)
    for _ in range(9):
        time.sleep(0.02)
        n = min(n, fd_count(pid))
    return n


def back_to(read, bound, wait, step):
    """read() once it is at most bound, or after `wait` s."""
    deadline = time.monotonic() + wait
    while True:
        n = read()
        if n <= bound or time.monotonic() >= deadline:
            return n
        time.sleep(step)


def fds_back_to(pid, base, wait=2.0):
    return back_to(lambda: fd_count(pid), base, wait, 0.01)


def get(port, path="/hello", timeout=5.0):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        return read_all(s)


def read_all(s):
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            return out
        out += b


def leave_with(port, data, n):
    """n clients send `data` and close; the FIN rides with the data."""
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.send(data, socket.MSG_MORE)
        s.close()


@pytest.fixture
def server():
    port = free_port()
    proc = spawn(APP + f"app.serve('127.0.0.1', {port}, access_log=False, threads=1)\n", port)
    try:
        yield proc, port
    finally:
        stop_proc(proc)


PHASES = {
    "head": b"GET /hello HTTP/1.1\r\nHost: x\r\n",
    "body": b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789",
    "chunked-body": b"POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    "handler": b"GET /held HTTP/1.1\r\nHost: x\r\n\r\n",
    "response": b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n",  # 1 MiB never read
}


@pytest.mark.parametrize("phase", sorted(PHASES))
def test_aborted_clients_are_closed_at_once(server, phase):
    proc, port = server
    assert get(port).startswith(b"HTTP/1.1 200")
    base = fd_count(proc.pid)
    n = 64 if phase == "handler" else 300
    leave_with(port, PHASES[phase], n)
    left = fds_back_to(proc.pid, base)
    get(port, "/release")
    assert left <= base, f"{left - base} sockets of aborted clients still open"
    assert get(port).startswith(b"HTTP/1.1 200")  # and the server goes on


def test_memory_of_aborted_big_responses_is_returned(server):
    """500 clients (4 at a time) ask for a 1 MiB response and close without
    reading it; once they are gone the server's RSS comes back near its
    baseline. Growth 3 s after, measured on the 2-core dev machine: before
    the fix +51 and +56 MiB (the engine's copies of the bodies stayed in the
    glibc heaps of the pool threads that made them, each keeping ~2 MiB at
    its top, and every finished request stayed cached with its ~10 KiB, up
    to 1,024 per loop); after it +2.3 MiB (big arena chunks are mapped and
    unmapped, spares are bounded by the open connections, malloc_trim).
    The route returns a shared bytes object so that the engine's copy is
    the only 1 MiB allocation (a body built per request also leaves
    Python's own 1 MiB bytes in those heaps, +14 to +26 MiB, as before)."""
    proc, port = server
    bound = 12 * 1024  # KiB
    for _ in range(3):
        assert get(port, "/big-shared").endswith(b"y" * 64)
    base = rss_kib(proc.pid)
    req = b"GET /big-shared HTTP/1.1\r\nHost: x\r\n\r\n"
    ths = [threading.Thread(target=leave_with, args=(port, req, 125)) for _ in range(4)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    got = back_to(lambda: rss_kib(proc.pid), base + bound, 3.0, 0.05)
    assert got - base <= bound, f"RSS +{(got - base) / 1024:.1f} MiB after the clients left"
    assert get(port).startswith(b"HTTP/1.1 200")  # and the server goes on


def start(**opts):
    """APP served with serve(**opts) in a subprocess: (proc, port)."""
    port = free_port()
    args = "".join(f", {k}={v!r}" for k, v in opts.items())
    return spawn(APP + f"app.serve('127.0.0.1', {port}, access_log=False, threads=1{args})\n", port), port


def read_head(s):
    got = b""
    while b"\r\n\r\n" not in got:
        b = s.recv(65536)
        if not b:
            break
        got += b
    return got


@pytest.mark.parametrize("path", ["/stream", "/astream"])
def test_clients_leaving_a_stream_are_closed_at_once(server, path):
    """The stream phase: each client reads the head of a 32 MiB streamed
    response and leaves (100 with a FIN, then 100 with a reset); the
    generators stop and every socket is closed at once (a sync generator
    does not park a pool thread, an async one does not hold the loop)."""
    proc, port = server
    assert get(port).startswith(b"HTTP/1.1 200")
    for how in ("fin", "rst"):
        base = fds_settled(proc.pid)
        heads = 0
        for _ in range(100):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            heads += read_head(s).startswith(b"HTTP/1.1 200")
            if how == "rst":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        assert heads == 100
        left = fds_back_to(proc.pid, base)
        assert left <= base, f"{left - base} sockets of clients that left a stream ({how}) still open"
        assert get(port).startswith(b"HTTP/1.1 200")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:  # a whole stream still flows
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        parts = []
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            parts.append(b)
    whole = b"".join(parts)
    assert whole.endswith(b"s\r\n0\r\n\r\n") and whole.count(b"s") >= 512 * 65536


def test_slowloris_is_ended_by_the_header_timeout_while_others_are_served():
    """50 clients dribble a request head a byte every 0.2 s for 3 s: the
    header timeout (1 s here) counts from the first byte, so sending more
    does not extend it; each is answered 408 or closed, and /hello is
    answered all along."""
    proc, port = start(timeout_header=1)
    slow = []
    try:
        head = b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 100
        for _ in range(50):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            slow.append(s)
        ended, answered = set(), 0
        for i in range(15):
            for k, s in enumerate(slow):
                if k in ended:
                    continue
                try:
                    s.send(head[i:i + 1])
                except OSError:  # reset after the 408
                    ended.add(k)
            answered += get(port).startswith(b"HTTP/1.1 200")
            time.sleep(0.2)
        assert answered == 15
        for k, s in enumerate(slow):
            if k in ended:
                continue
            s.settimeout(2)
            try:
                r = read_all(s)
            except socket.timeout:
                continue  # still open: not ended
            except OSError:
                r = b""
            if r == b"" or r.startswith(b"HTTP/1.1 408"):
                ended.add(k)
        assert len(ended) == 50, f"{50 - len(ended)} slow clients still connected after 3 s"
    finally:
        for s in slow:
            s.close()
        stop_proc(proc)


def test_a_thousand_idle_connections_keep_their_fds_and_others_are_served():
    """1,000 keep-alive connections, each answered once and then idle: the
    server holds them (keep-alive 60 s here) and still answers; when they
    close, its fds are back to the baseline within 2 s. (bench/
    bench_reliability.py opens 10,000 and reports KiB each.)"""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200 and hard >= 1200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    proc, port = start(timeout_keep_alive=60, timeout_header=60)
    socks = []
    try:
        assert get(port).startswith(b"HTTP/1.1 200")
        base = fds_settled(proc.pid)
        for _ in range(1000):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            socks.append(s)
        answered = sum(read_head(s).startswith(b"HTTP/1.1 200") for s in socks)
        assert answered == 1000
        assert fd_count(proc.pid) >= base + 1000
        assert get(port).startswith(b"HTTP/1.1 200")
        for s in socks:
            s.close()
        socks = []
        left = fds_back_to(proc.pid, base)
        assert left <= base, f"{left - base} closed idle connections still open on the server"
    finally:
        for s in socks:
            s.close()
        stop_proc(proc)


def test_sigterm_under_load_drops_no_accepted_request():
    """16 clients send requests on new connections, SIGTERM comes mid-run:
    every connection the server accepted is answered (never a reset, never
    closed unanswered); the others are refused; exit status 0."""
    proc, port = start()
    counts = {"answered": 0, "refused": 0}
    dropped = []
    lock = threading.Lock()
    term = threading.Event()

    def client():
        refused = 0
        deadline = time.monotonic() + 15
        while refused < 5 and time.monotonic() < deadline:
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
            except ConnectionRefusedError:
                refused += 1
                with lock:
                    counts["refused"] += 1
                if not term.is_set():
                    dropped.append("refused before SIGTERM")
                time.sleep(0.01)
                continue
            try:
                s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                r = read_all(s)
                ok = r.startswith(b"HTTP/1.1 200")
            except OSError as e:
                r, ok = repr(e).encode(), False
            finally:
                s.close()
            with lock:
                if ok:
                    counts["answered"] += 1
                else:
                    dropped.append(r[:80])

    ths = [threading.Thread(target=client) for _ in range(16)]
    try:
        for t in ths:
            t.start()
        time.sleep(1.0)
        term.set()
        proc.send_signal(signal.SIGTERM)
        for t in ths:
            t.join(30)
        assert proc.wait(20) == 0
    finally:
        stop_proc(proc)
    assert dropped == [], f"{len(dropped)} accepted requests dropped: {dropped[:5]}"
    assert counts["answered"] > 0 and counts["refused"] >= 16 * 5


def stop_proc(proc):
    """SIGTERM (if still running), wait (bounded), fail on a logged traceback."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    assert "Traceback" not in err, err


def test_sigterm_refuses_new_connections_and_answers_in_flight(server):
    proc, port = server
    result = {}

    def in_flight():
        try:
            result["r"] = get(port, "/nap", timeout=15)
        except OSError as e:
            result["r"] = e

    t = threading.Thread(target=in_flight)
    t.start()
    time.sleep(0.3)  # /nap is running (not an assertion: a late start only shifts things)
    proc.send_signal(signal.SIGTERM)
    refused = answered = 0
    other = []
    deadline = time.monotonic() + 5
    while refused < 20 and time.monotonic() < deadline:
        try:
            r = get(port, timeout=5)
        except ConnectionRefusedError:
            refused += 1
            continue
        except OSError as e:  # a reset or a timeout: accepted, then dropped
            other.append(repr(e))
            continue
        if r.startswith(b"HTTP/1.1 200"):
            answered += 1
        else:
            other.append(r[:80])
    t.join(30)
    assert other == [], other  # never accepted and then reset
    assert refused == 20
    # the request in flight is still answered (the drain waits for it)
    assert isinstance(result.get("r"), bytes) and result["r"].startswith(b"HTTP/1.1 200"), result
    assert b'{"nap":1}' in result["r"]
    assert proc.wait(20) == 0


CLI_APP = textwrap.dedent("""
    import time
    from fastrapi import FastAPI

    app = FastAPI()

    @app.get("/hello")
    def hello():
        return {"hello": 1}

    @app.get("/slow")
    def slow():
        open("slow-started", "w").close()  # the connection was accepted and counted
        time.sleep(30)
        return {"slow": 1}
""")


def run_cli(tmp_path, *opts):
    (tmp_path / "main.py").write_text(CLI_APP)
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen([sys.executable, "-m", "fastrapi", "run", "main.py", "--host",
                             "127.0.0.1", "--port", str(port), "--no-access-log", *opts],
                            cwd=str(tmp_path), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port, proc=proc)
    except Exception:
        proc.kill()
        raise AssertionError(proc.communicate()[1])
    return proc, port


def stop(proc, timeout=20):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


def test_cli_timeouts_take_effect(tmp_path):
    # defaults: keep-alive 5 s, head 10 s, body 30 s; each wait below is 3 s
    proc, port = run_cli(tmp_path, "--timeout-keep-alive", "1", "--timeout-header", "1",
                         "--timeout-body", "1")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            r = s.recv(65536)
            assert r.startswith(b"HTTP/1.1 200")
            assert s.recv(1) == b""  # the idle keep-alive connection is closed
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
            assert read_all(s).startswith(b"HTTP/1.1 408")
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123")
            assert read_all(s).startswith(b"HTTP/1.1 408")
    finally:
        stop(proc)


def server_side_conns(port):
    """The server's accepted sockets on `port` still open (any state but
    LISTEN, TIME_WAIT and CLOSE), from /proc/net/tcp."""
    n = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if int(local.rsplit(":", 1)[1], 16) == port and state not in ("0A", "06", "07"):
                n += 1
    return n


def test_cli_limit_concurrency_and_graceful_shutdown(tmp_path):
    proc, port = run_cli(tmp_path, "--limit-concurrency", "2", "--timeout-graceful-shutdown", "1")
    held = []
    try:
        # wait_port's probe counts as a connection until the server has seen
        # it close (with two I/O loops, held[1] may be accepted before held[0])
        deadline = time.time() + 10
        while server_side_conns(port) and time.time() < deadline:
            time.sleep(0.02)
        assert server_side_conns(port) == 0
        for path in ("/hello", "/slow"):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            held.append(s)
        assert held[0].recv(65536).startswith(b"HTTP/1.1 200")
        while not (tmp_path / "slow-started").exists() and time.time() < deadline + 10:
            time.sleep(0.02)  # each I/O loop accepts on its own: held[1] may come late
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:  # the third
            s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            r = read_all(s)
        assert r.startswith(b"HTTP/1.1 503"), r
        # /slow sleeps 30 s: the stop gives up on it after 1 s (default 10 s)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=6)
        assert proc.returncode == 0
    finally:
        for s in held:
            s.close()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_serve_options_are_checked_and_mapped():
    from fastrapi._runtime import server_limits
    assert server_limits(timeout_keep_alive=1, timeout_header=2.5, timeout_body=30,
                         timeout_graceful_shutdown=0.5, limit_concurrency=7) == {
        "idle_timeout_ms": 1000, "header_timeout_ms": 2500, "body_timeout_ms": 30000,
        "drain_timeout_ms": 500, "max_connections": 7}
    assert server_limits() == {}
    for bad in ({"timeout_keep_alive": -1}, {"timeout_header": "5"}, {"limit_concurrency": 0},
                {"limit_concurrency": 1.5}):
        with pytest.raises(ValueError):
            server_limits(**bad)


def test_int_path_param_overflow_matches_fastapi():
    """Python ints are unbounded: FastAPI answers 200 with the big number (and
    422 past pydantic's 4300 digits); the engine's C-side int check must not
    turn that into a 404 on the Python face."""
    import fastapi
    from fastapi.testclient import TestClient as FTestClient
    import fastrapi
    from fastrapi.testclient import TestClient

    def build(mod):
        app = mod.FastAPI()

        @app.get("/a/{id}")
        def a(id: int):
            return {"id": id}

        @app.get("/b/{id:int}")
        def b(id: int):
            return {"id": id}

        @app.get("/b/{name}")
        def b_str(name: str):
            return {"name": name}
        return app

    paths = ["/a/9223372036854775807", "/a/9223372036854775808", "/a/-9223372036854775809",
             "/a/99999999999999999999999999999", "/a/" + "9" * 4301,
             "/b/9223372036854775807", "/b/9223372036854775808", "/b/18446744073709551616"]
    theirs, ours = FTestClient(build(fastapi)), TestClient(build(fastrapi))
    for p in paths:
        a, b = theirs.get(p), ours.get(p)
        assert (b.status_code, b.json()) == (a.status_code, a.json()), p


# ---- hostile inputs: every one answered 4xx, as FastAPI answers it ----

HOSTILE_APP = textwrap.dedent("""
    from typing import List, Optional
    from pydantic import BaseModel
    import {name} as fw
    from {name} import Cookie, File, Form, Header, Query, UploadFile

    class M(BaseModel):
        x: int
        y: List[float] = []

    app = fw.FastAPI()

    @app.post("/json")
    def post_json(m: M):
        return m

    @app.post("/dict")
    def post_dict(payload: dict):
        return payload

    @app.get("/query")
    def query(i: int, f: float = 0.0, b: bool = False, l: List[int] = Query([]), s: str = ""):
        return [i, f, b, l, s]

    @app.get("/cookie")
    def cookie(k: int = Cookie(), s: Optional[str] = Cookie(None)):
        return [k, s]

    @app.get("/header")
    def header(x_n: int = Header(), x_s: Optional[str] = Header(None)):
        return [x_n, x_s]

    @app.post("/form")
    def form(a: int = Form(), f: Optional[UploadFile] = File(None)):
        return [a, f and f.filename]
""")


def _post(path, body, ctype=b"application/json", extra=b""):
    return (b"POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: %s\r\n"
            b"Content-Length: %d\r\n%s\r\n%s" % (path, ctype, len(body), extra, body))


def _get(target, extra=b""):
    return b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n" % (target, extra)


MP = b"multipart/form-data; boundary=XyZ"
# app-level: FastAPI defines the answer (status and body must be equal; where
# FastAPI itself fails with a 5xx, fastrapi must answer 4xx)
HOSTILE = {
    "json-truncated": _post(b"/json", b'{"x":1'),
    "json-wrong-type": _post(b"/json", b'{"x":"a"}'),
    "json-array-for-model": _post(b"/json", b"[1,2]"),
    "json-bad-utf8": _post(b"/json", b'{"x":1,"z":"\xff"}'),
    "json-deep": _post(b"/dict", b"[" * 100000 + b"]" * 100000),
    "json-nan": _post(b"/json", b'{"x":1,"y":[NaN]}'),
    "json-inf-for-int": _post(b"/json", b'{"x":1e999}'),
    "json-empty": _post(b"/json", b""),
    "json-duplicate-keys": _post(b"/json", b'{"x":1,"x":"a"}'),
    "json-trailing-garbage": _post(b"/json", b'{"x":1} x'),
    "json-control-char": _post(b"/json", b'{"x":1,"z":"a\x01b"}'),
    "json-lone-surrogate": _post(b"/dict", b'{"a":"\\ud800"}'),
    "json-not-json-type": _post(b"/json", b'{"x":1}', ctype=b"text/plain"),
    "query-bad-percent": _get(b"/query?i=%zz"),
    "query-non-utf8": _get(b"/query?i=%ff"),
    "query-bool": _get(b"/query?i=1&b=maybe"),
    "query-list-item": _get(b"/query?i=1&l=1&l=x"),
    "query-missing": _get(b"/query"),
    "query-many-empty": _get(b"/query?" + b"&" * 5000 + b"i=x"),
    "query-int-overflow-float": _get(b"/query?i=1e400"),
    "cookie-not-int": _get(b"/cookie", b"Cookie: k=abc\r\n"),
    "cookie-garbage": _get(b"/cookie", b"Cookie: ;;;=;k\r\n"),
    "cookie-missing": _get(b"/cookie", b"Cookie: \r\n"),
    "cookie-quoted": _get(b"/cookie", b'Cookie: k="x"\r\n'),
    "header-not-int": _get(b"/header", b"X-N: abc\r\n"),
    "header-missing": _get(b"/header"),
    "header-empty": _get(b"/header", b"X-N:\r\n"),
    "form-not-multipart": _post(b"/form", b"a=x", ctype=b"application/x-www-form-urlencoded"),
    "form-missing": _post(b"/form", b"", ctype=b"application/x-www-form-urlencoded"),
    "multipart-no-boundary": _post(b"/form", b"--XyZ--", ctype=b"multipart/form-data"),
    "multipart-garbage": _post(b"/form", b"garbage", ctype=MP),
    "multipart-no-name": _post(b"/form", b"--XyZ\r\nContent-Type: text/plain\r\n\r\nv\r\n--XyZ--\r\n", ctype=MP),
}
# protocol-level: the server (uvicorn, not FastAPI) decides; fastrapi must
# answer 4xx and keep serving
PROTOCOL = {
    "header-no-colon": b"GET /query?i=1 HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
    "header-space-before-colon": b"GET /query?i=1 HTTP/1.1\r\nHost: x\r\nX-N : 1\r\n\r\n",
    "header-nul": b"GET /query?i=1 HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
    "header-obs-fold": b"GET /query?i=1 HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
    "header-huge": b"GET /query?i=1 HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 200000 + b"\r\n\r\n",
    "cl-and-te": b"POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two-content-lengths": b"POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n{}xx",
    "negative-content-length": b"POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    "bad-chunk-size": b"POST /json HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "bad-method": b"G(T /query?i=1 HTTP/1.1\r\nHost: x\r\n\r\n",
    "bad-version": b"GET /query?i=1 HTTP/9.9\r\nHost: x\r\n\r\n",
    "uri-huge": b"GET /query?i=1&s=" + b"a" * 200000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "control-in-target": b"GET /query?i=1\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
}


@pytest.fixture(scope="module")
def hostile_servers():
    from helpers import serve_both
    yield from serve_both(lambda name: HOSTILE_APP.replace("{name}", name))


def _answer(port, data):
    try:
        r = raw_request(port, data)
    except OSError as e:  # reset before any answer
        return None, repr(e).encode()
    if not r.startswith(b"HTTP/1.1 "):
        return None, r[:100]
    return int(r[9:12]), r.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in r else b""


def _json_or_bytes(b):
    import json
    try:
        return json.loads(b)
    except ValueError:
        return b


# A JSON body whose value cannot be written back (NaN, 1e999 -> inf, a lone
# surrogate): Python's json reads it, the 422 (or the echo) cannot be rendered
# and FastAPI answers 500. fastrapi answers exactly as FastAPI there (the
# issue's "equal to FastAPI's where FastAPI defines them"); the others are 4xx.
FASTAPI_500 = {"json-nan", "json-inf-for-int", "json-lone-surrogate"}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_input_is_4xx_as_fastapi(hostile_servers, case):
    theirs = _answer(hostile_servers["fastapi"], HOSTILE[case])
    ours = _answer(hostile_servers["fastrapi"], HOSTILE[case])
    if case in FASTAPI_500:
        assert theirs[0] == 500 and ours[0] == 500, (ours, theirs)
        return
    assert ours[0] is not None and 400 <= ours[0] < 500, (ours, theirs)
    if theirs[0] is not None and theirs[0] < 500:
        assert ours[0] == theirs[0], (ours, theirs)
        assert _json_or_bytes(ours[1]) == _json_or_bytes(theirs[1]), (ours, theirs)


@pytest.mark.parametrize("case", sorted(PROTOCOL))
def test_hostile_request_is_4xx_and_the_server_goes_on(hostile_servers, case):
    port = hostile_servers["fastrapi"]
    st, body = _answer(port, PROTOCOL[case])
    want = range(505, 506) if case == "bad-version" else range(400, 500)  # 505: RFC 9110 15.6.6
    assert st in want, (st, body)
    assert _answer(port, _get(b"/query?i=1"))[0] == 200
