"""Streamed responses on the native server vs clients that do not read.

Issue 14 item 1: a client that stops reading a StreamingResponse must not
stall anyone. A write never blocks the asyncio loop or holds a pool thread:
above the engine's high-water mark an async generator awaits the drain, a
sync one is parked and resumed by a worker when the client takes more. A
trickling reader is ended by the min_send_rate knob, a client that leaves
stops the generator (its finally runs, as under Starlette), and a reader
that does read gets every byte.

Live servers on 127.0.0.1 (one engine loop thread, so anything blocking
stalls every route); every socket has a timeout, every loop is bounded.
"Answered within 5 s" is the acceptance bound: before the fix these
requests took the engine's 30 s write timeout."""
import asyncio
import socket
import threading
import time

import pytest

from fastrapi import FastAPI
from fastrapi.responses import StreamingResponse
from helpers import wait_until

PIECE = 65536
MAX_PIECES = 2000  # 125 MiB: "endless" for a client that reads nothing, but bounded


def pat(n):
    """n bytes of a 251-periodic pattern (a shifted piece shows up)."""
    return (bytes(range(251)) * (n // 251 + 1))[:n]


class PassThrough:
    """A raw ASGI middleware: the native server then runs the app's Python
    ASGI stack (the bridge) for every request."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        await self.app(scope, receive, send)


def make_app(bridge=False):
    app = FastAPI()
    if bridge:
        app.add_middleware(PassThrough)
    state = {"started": set(), "finally": set(), "lock": threading.Lock()}

    def mark(kind, key):
        with state["lock"]:
            state[kind].add(key)

    @app.get("/ping_async")
    async def ping_async():
        return {"pong": "async"}

    @app.get("/ping_sync")
    def ping_sync():
        return {"pong": "sync"}

    @app.get("/async_stream/{key}")
    async def async_stream(key: str):
        async def gen():
            mark("started", key)
            try:
                chunk = b"a" * PIECE
                for _ in range(MAX_PIECES):
                    yield chunk
            finally:
                mark("finally", key)
        return StreamingResponse(gen(), media_type="application/octet-stream")

    @app.get("/sync_stream/{key}")
    def sync_stream(key: str):
        def gen():
            mark("started", key)
            try:
                chunk = b"s" * PIECE
                for _ in range(MAX_PIECES):
                    yield chunk
            finally:
                mark("finally", key)
        return StreamingResponse(gen(), media_type="application/octet-stream")

    @app.get("/async_sleepy/{key}")
    async def async_sleepy(key: str):
        async def gen():
            mark("started", key)
            try:
                yield b"first"
                await asyncio.sleep(60)  # a client that leaves must not wait for this
                yield b"never"
            finally:
                mark("finally", key)
        return StreamingResponse(gen(), media_type="text/plain")

    @app.get("/async_exact/{n}")
    async def async_exact(n: int):
        data = pat(n)

        async def gen():
            for i in range(0, n, 50000):  # odd-sized pieces
                yield data[i:i + 50000]
        return StreamingResponse(gen(), media_type="application/octet-stream")

    @app.get("/sync_exact/{n}")
    def sync_exact(n: int):
        data = pat(n)

        def gen():
            for i in range(0, n, 50000):
                yield data[i:i + 50000]
        return StreamingResponse(gen(), media_type="application/octet-stream")

    return app, state


class Live:
    def __init__(self, app, **net):
        self.srv = app._build_server(access_log=False, no_signals=True, threads=1, net=net)
        self.app = app
        self.port = self.srv.listen("127.0.0.1", 0)
        self.thread = threading.Thread(target=self.srv.serve, daemon=True)
        self.thread.start()

    def stop(self):
        self.srv.stop()
        self.thread.join(30)
        try:
            self.app._servers.remove(self.srv)
        except ValueError:
            pass


@pytest.fixture
def live():
    made = []

    def start(bridge=False, **net):
        app, state = make_app(bridge)
        lv = Live(app, **net)
        lv.state = state
        made.append(lv)
        return lv
    yield start
    for lv in made:
        lv.stop()


def connect(port, rcvbuf=0, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


def get(s, path):
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())


def ping(port, path, timeout=5.0):
    """GET path on a fresh connection; the body, or raise (socket timeout)."""
    t0 = time.monotonic()
    with connect(port, timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        buf = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            buf += b
    assert time.monotonic() - t0 < timeout
    assert buf.startswith(b"HTTP/1.1 200"), buf[:200]
    return buf.split(b"\r\n\r\n", 1)[1]


def read_head(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = s.recv(4096)
        assert b, "closed before the head"
        buf += b
        assert len(buf) < 65536
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def read_chunked(s, rest, limit):
    """The de-chunked body (the server frames streams with chunked encoding)."""
    buf, out = rest, bytearray()
    while True:
        while b"\r\n" not in buf:
            b = s.recv(65536)
            assert b, "closed inside the body"
            buf += b
        line, buf = buf.split(b"\r\n", 1)
        size = int(line.split(b";")[0], 16)
        while len(buf) < size + 2:
            b = s.recv(1 << 20)
            assert b, "closed inside a chunk"
            buf += b
        assert buf[size:size + 2] == b"\r\n"
        if size == 0:
            return bytes(out)
        out += buf[:size]
        buf = buf[size + 2:]
        assert len(out) <= limit


def open_nonreading(lv, path_fmt, n):
    socks = []
    for i in range(n):
        s = connect(lv.port, rcvbuf=4096)
        get(s, path_fmt.format(i))
        socks.append(s)
    return socks


def both_pings_answer(port):
    for path, word in (("/ping_async", b"async"), ("/ping_sync", b"sync")):
        for _ in range(3):
            assert word in ping(port, path)


def test_one_nonreading_async_stream_does_not_stall_routes(live):
    lv = live()
    socks = open_nonreading(lv, "/async_stream/a{}", 1)
    try:
        assert wait_until(lambda: "a0" in lv.state["started"], 5)
        time.sleep(0.5)  # its queue is far above high water by now
        both_pings_answer(lv.port)
    finally:
        for s in socks:
            s.close()
    assert wait_until(lambda: "a0" in lv.state["finally"], 5)


def test_forty_nonreading_sync_streams_do_not_stall_routes(live):
    lv = live()
    n = 45  # more than the 40 worker threads: parked generators hold none
    socks = open_nonreading(lv, "/sync_stream/s{}", n)
    try:
        assert wait_until(lambda: len(lv.state["started"]) == n, 5), len(lv.state["started"])
        time.sleep(0.5)
        both_pings_answer(lv.port)
    finally:
        for s in socks:
            s.close()
    # the clients left: every parked generator is closed (its finally runs)
    assert wait_until(lambda: len(lv.state["finally"]) == n, 5), len(lv.state["finally"])


def test_forty_nonreading_async_streams_do_not_stall_routes(live):
    lv = live()
    n = 40
    socks = open_nonreading(lv, "/async_stream/b{}", n)
    try:
        assert wait_until(lambda: len(lv.state["started"]) == n, 5), len(lv.state["started"])
        time.sleep(0.5)
        both_pings_answer(lv.port)
    finally:
        for s in socks:
            s.close()
    assert wait_until(lambda: len(lv.state["finally"]) == n, 5), len(lv.state["finally"])


def trickle(s, seconds):
    """Read 4 KiB every 10 ms; seconds until the server ended it, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        try:
            b = s.recv(4096)
        except (ConnectionResetError, socket.timeout):
            return time.monotonic() - t0
        if not b:
            return time.monotonic() - t0
        time.sleep(0.01)
    return None


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_trickle_reader_is_ended_by_min_send_rate(live, kind):
    # 1 MB/s judged over 1 s windows; the reader takes ~400 KB/s
    lv = live(send_timeout_ms=1000, min_send_rate=1_000_000)
    s = connect(lv.port, rcvbuf=4096)
    get(s, f"/{kind}_stream/t")
    try:
        t = trickle(s, 8)
        assert t is not None and t < 6, t
    finally:
        s.close()
    assert wait_until(lambda: "t" in lv.state["finally"], 5)
    both_pings_answer(lv.port)


def test_async_generator_finally_runs_on_disconnect(live):
    lv = live()
    s = connect(lv.port)
    get(s, "/async_sleepy/d")
    head, rest = read_head(s)
    assert head.startswith(b"HTTP/1.1 200")
    assert wait_until(lambda: "d" in lv.state["started"], 5)
    s.close()  # while the generator sleeps between chunks
    assert wait_until(lambda: "d" in lv.state["finally"], 5)


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_full_content_for_a_reader_that_starts_late(live, kind):
    n = 24 * 1024 * 1024 + 12345
    lv = live()
    s = connect(lv.port, rcvbuf=8192, timeout=10)
    get(s, f"/{kind}_exact/{n}")
    try:
        time.sleep(0.5)  # the producer runs into high water first
        both_pings_answer(lv.port)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        head, rest = read_head(s)
        assert head.startswith(b"HTTP/1.1 200")
        assert b"transfer-encoding: chunked" in head.lower()
        body = read_chunked(s, rest, n)
    finally:
        s.close()
    assert len(body) == n
    assert body == pat(n)


def test_nonreading_stream_through_the_asgi_bridge(live):
    """With an ASGI middleware the response comes through the bridge's
    send(): it awaits the drain too instead of blocking the loop."""
    lv = live(bridge=True)
    socks = open_nonreading(lv, "/async_stream/m{}", 2)
    try:
        assert wait_until(lambda: len(lv.state["started"]) == 2, 5)
        time.sleep(0.5)
        both_pings_answer(lv.port)
    finally:
        for s in socks:
            s.close()
    assert wait_until(lambda: len(lv.state["finally"]) == 2, 5), lv.state["finally"]
