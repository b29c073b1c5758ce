"""A GZipMiddleware INSIDE an @app.middleware("http") (added before it) on
fastrapi's native server, against FastAPI + uvicorn: the handler returns a
StreamingResponse it does not declare (a plain `def` route, no annotation,
no streaming response_class). Starlette's GZip compresses a streamed body
whatever its size and flushes every piece (Z_SYNC_FLUSH), so call_next
returns at the compressed stream's head and the pieces flow through. On
fastrapi the engine's streamed capture takes the head GZip decided and the
pieces GZip makes (middleware.h, STREAMED CAPTURE): an endless stream reaches
the client (passed on, or re-wrapped through body_iterator) and its generator
is closed when the client leaves; a finite one gives FastAPI's bytes; a
client without Accept-Encoding gets the plain stream. The app stays on the
engine's chain (fastrapi._native_mw: no fallback to Starlette's stack)."""
import random
import threading
import zlib

import httpx
import pytest

from conftest import framework
from helpers import Uvicorn, assert_paused_then_closed

DROP = {"date", "server", "connection", "keep-alive"}
N = 3000  # decompressed bytes read from an endless stream


def piece(i):
    return b"%08d" % i + b"x" * 92


# (no empty piece: the glue drops an empty chunk that Starlette's GZip would
# flush as a 5-byte empty block -- the same body, other bytes; not this test's)
FINITE = [b"first piece;", b"y" * 700, b"".join(piece(i) for i in range(40)), b"last"]


def gz_app(fw, closed):
    from starlette.middleware.gzip import GZipMiddleware
    R = fw.responses
    app = fw.FastAPI()
    app.add_middleware(GZipMiddleware, minimum_size=10)  # added first: inside the decorator
    for p in ("/endless", "/wrap", "/replace", "/big", "/big-wrap"):
        closed[p] = threading.Event()
    closed["pieces"] = {"/big": 0, "/big-wrap": 0}
    noise = random.Random(7).randbytes(65536)  # incompressible: gzip's output is as big

    @app.middleware("http")
    async def timing(request, call_next):
        response = await call_next(request)
        if request.url.path == "/replace":  # its own response: the inner stream is closed
            return R.PlainTextResponse("replaced", status_code=203)
        if request.url.path in ("/wrap", "/big-wrap"):  # the logging pattern: re-wrap body_iterator
            async def wrap(it):
                async for chunk in it:
                    yield chunk
            return R.StreamingResponse(wrap(response.body_iterator), status_code=response.status_code,
                                       headers=dict(response.headers))
        response.headers["x-t"] = "1"
        return response

    def endless(path):
        def gen():
            i = 0
            try:
                while True:
                    yield piece(i)
                    i += 1
            finally:
                closed[path].set()
        return gen()

    @app.get("/endless")
    def endless_route():
        return R.StreamingResponse(endless("/endless"))

    @app.get("/wrap")
    def wrap_route():
        return R.StreamingResponse(endless("/wrap"))

    @app.get("/replace")
    def replace_route():
        return R.StreamingResponse(endless("/replace"))

    @app.get("/finite")
    def finite():
        return R.StreamingResponse(iter(FINITE), media_type="text/plain")

    @app.get("/finite-cl")  # a declared length: GZip drops it when it compresses
    def finite_cl():
        return R.StreamingResponse(iter(FINITE), media_type="text/plain",
                                   headers={"content-length": str(len(b"".join(FINITE)))})

    def big(path):
        def gen():
            try:
                for _ in range(2000):  # 125 MiB: endless for a client that reads nothing
                    closed["pieces"][path] += 1
                    yield noise
            finally:
                closed[path].set()
        return R.StreamingResponse(gen(), media_type="application/octet-stream")

    @app.get("/big")
    def big_pass():
        return big("/big")

    @app.get("/big-wrap")
    def big_wrap():
        return big("/big-wrap")

    @app.get("/raise-mid")
    def raise_mid():
        def gen():
            yield b"data: 0\n\n"
            yield b"data: 1\n\n"
            raise RuntimeError("mid-stream")
        return R.StreamingResponse(gen())

    @app.get("/plain")
    def plain():
        return {"ok": True}
    return app


_servers = {}


def servers():
    if not _servers:
        fa_closed, fr_closed = {}, {}
        fa_app = gz_app(framework("fastapi"), fa_closed)
        fr_app = gz_app(framework("fastrapi"), fr_closed)
        from fastrapi import _native_mw
        assert [name for name, _ in _native_mw.plan(fr_app)] == ["http", "GZipMiddleware"]  # outermost first
        _servers.update(fa=Uvicorn(fa_app), fr=fr_app._start_background("127.0.0.1", 0),
                        fa_closed=fa_closed, fr_closed=fr_closed, app=fr_app)
    return _servers


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    if _servers:
        _servers["fa"].close()
        _servers["fr"].stop()
        _servers.clear()


def _head(r):
    return r.status_code, sorted((k.lower(), v) for k, v in r.headers.multi_items() if k.lower() not in DROP)


def _read_endless(port, path, gz):
    """status + headers, and the first N body bytes (decompressed when gz);
    then the client leaves."""
    headers = {"accept-encoding": "gzip" if gz else "identity"}
    with httpx.stream("GET", f"http://127.0.0.1:{port}{path}", headers=headers, timeout=10) as r:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS) if gz else None
        out = b""
        for chunk in r.iter_raw():  # bounded: an endless body, read until N bytes
            out += d.decompress(chunk) if gz else chunk
            if len(out) >= N:
                break
        return _head(r), out[:N]


def _expect():
    return b"".join(piece(i) for i in range(N // 100 + 1))[:N]


@pytest.mark.parametrize("path,gz", [("/endless", True), ("/wrap", True), ("/endless", False)])
def test_endless_stream_flows_through_gzip_and_the_decorator(path, gz):
    s = servers()
    fa_head, fa_body = _read_endless(s["fa"].port, path, gz)
    fr_head, fr_body = _read_endless(s["fr"].port, path, gz)
    assert fr_body == fa_body == _expect()
    assert fr_head == fa_head
    h = dict(fr_head[1])
    assert fr_head[0] == 200 and "content-length" not in h and h["vary"] == "Accept-Encoding"
    assert h.get("content-encoding") == ("gzip" if gz else None)
    assert h.get("x-t") == ("1" if path == "/endless" else None)
    assert s["fr_closed"][path].wait(10)  # the client left: the generator was closed
    s["fr_closed"][path].clear()
    with httpx.Client(timeout=10) as c:  # the server goes on serving
        r = c.get(f"http://127.0.0.1:{s['fr'].port}/plain")
        assert r.status_code == 200 and r.json() == {"ok": True} and r.headers["x-t"] == "1"
    assert s["app"].middleware_stack is None  # the engine's chain, not Starlette's stack


# (/finite-cl without gzip is not here: fastrapi sends any StreamingResponse
# chunked, a declared content-length dropped, with or without middleware --
# uvicorn sends the length; not this test's)
@pytest.mark.parametrize("path,gz", [("/finite", True), ("/finite", False), ("/finite-cl", True)])
def test_finite_stream_same_as_fastapi(path, gz):
    s = servers()
    got = []
    for port in (s["fa"].port, s["fr"].port):
        headers = {"accept-encoding": "gzip, deflate" if gz else "identity"}
        with httpx.stream("GET", f"http://127.0.0.1:{port}{path}", headers=headers, timeout=10) as r:
            got.append((_head(r), b"".join(r.iter_raw())))
    (fa_head, fa_raw), (fr_head, fr_raw) = got
    assert fr_head == fa_head
    h = dict(fr_head[1])
    assert "content-length" not in h and h["vary"] == "Accept-Encoding" and h["x-t"] == "1"
    if gz:
        assert h["content-encoding"] == "gzip"
        assert zlib.decompress(fr_raw, 16 + zlib.MAX_WBITS) == b"".join(FINITE)
        assert fr_raw == fa_raw  # piece by piece, each flushed: the same deflate bytes
    else:
        assert "content-encoding" not in h and fr_raw == fa_raw == b"".join(FINITE)


def test_replaced_stream_is_closed():
    """dispatch answers with its own response: the inner gzip'd endless
    stream is closed and the answer goes out whole (GZip is inside)."""
    s = servers()
    got = []
    for port in (s["fa"].port, s["fr"].port):
        with httpx.Client(timeout=10) as c:
            r = c.get(f"http://127.0.0.1:{port}/replace", headers={"accept-encoding": "gzip"})
            got.append((_head(r), r.content))
    assert got[1] == got[0] and got[0][0][0] == 203 and got[0][1] == b"replaced"
    assert s["fr_closed"]["/replace"].wait(10)


def test_generator_raising_mid_stream():
    """The generator raises after two pieces: the body stops there without
    the gzip end (Starlette's GZip never sees the last message) and the
    response ends; the same head and compressed bytes from both servers."""
    s = servers()
    got = []
    for port in (s["fa"].port, s["fr"].port):
        with httpx.stream("GET", f"http://127.0.0.1:{port}/raise-mid", headers={"accept-encoding": "gzip"},
                          timeout=10) as r:
            got.append((_head(r), b"".join(r.iter_raw())))
    assert got[1] == got[0]
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert d.decompress(got[1][1]) == b"data: 0\n\ndata: 1\n\n" and not d.eof


@pytest.mark.parametrize("path", ["/big", "/big-wrap"])
def test_backpressure_through_gzip_and_the_decorator(path):
    """A client that reads nothing: the generator under GZip and the
    decorator is paused (passed: the socket's backpressure; re-wrapped: the
    engine holds a bounded amount), not run to its 125 MiB end; the client
    leaves and the generator is closed."""
    s = servers()
    request = b"GET " + path.encode() + b" HTTP/1.1\r\nhost: t\r\naccept-encoding: gzip\r\n\r\n"
    assert_paused_then_closed(s["fr"].port, request, s["fr_closed"], path)
