"""Big request bodies that only user code reads, and ones nobody reads, on
three servers: fastrapi's native server, fastrapi under uvicorn (the ASGI
face) and FastAPI under the same uvicorn.

A route whose body is read through its Request (stream(), body(), json(),
form()) and has no body parameter gets a body over 1 MiB in a temp file
that the engine wrote as it arrived (fr_route_opts.body_spool), read back in
64 KiB pieces; a route that cannot read its body drops a big one as it
arrives (body_unread). Checked: the answers are FastAPI's for bodies around
the 1 MiB edge, by Content-Length and chunked; a 128 MiB body to either kind
of route grows the server by a few MiB (it held the whole body, twice for a
Request, before); temp files are closed after each request and after a
client that leaves mid-upload. Real processes on 127.0.0.1; every wait is
bounded."""
import hashlib
import socket

import httpx
import pytest

from helpers import PeakRss, deleted_fds, free_port, rss_kib, spawn, stop_spawned, wait_until

APP = '''
import hashlib
from {fw} import FastAPI, Request

app = FastAPI()


def digest(data):
    return {{"n": len(data), "sha": hashlib.sha256(data).hexdigest()[:16]}}


@app.post("/stream")
async def stream(request: Request):
    h, n, last = hashlib.sha256(), 0, None
    async for chunk in request.stream():
        h.update(chunk)
        n += len(chunk)
        last = chunk
    return {{"n": n, "sha": h.hexdigest()[:16], "ends_empty": last == b""}}


@app.post("/body")
async def body(request: Request):
    return digest(await request.body())


@app.post("/body-twice")
async def body_twice(request: Request):
    first = await request.body()
    again = b"".join([c async for c in request.stream()])  # the cached body again
    return {{"same": first == again, **digest(again)}}


@app.post("/stream-then-body")
async def stream_then_body(request: Request):
    async for _ in request.stream():
        pass
    await request.body()  # Starlette: "Stream consumed"
    return "unreachable"


@app.post("/json")
async def json_(request: Request):
    data = await request.json()
    return {{"items": len(data), "last": data[-1]}}


@app.post("/form")
async def form(request: Request):
    async with request.form() as f:
        up = f["file"]
        data = await up.read()
        return {{"note": f["note"], "name": up.filename, **digest(data)}}


def dep_reads(request: Request):
    return request


@app.post("/dep")
async def dep(r: Request = __import__("{fw}").Depends(dep_reads)):
    return digest(await r.body())


@app.post("/ping")
def ping():
    return {{"pong": True}}


async def plain_route(request):  # a Starlette endpoint (app.add_route)
    from starlette.responses import JSONResponse
    h, n = hashlib.sha256(), 0
    async for chunk in request.stream():
        h.update(chunk)
        n += len(chunk)
    return JSONResponse({{"n": n, "sha": h.hexdigest()[:16]}})


app.add_route("/plain-route", plain_route, methods=["POST"])


{serve}
'''

SERVE = {
    "native": "app.serve('127.0.0.1', {port}, access_log=False)",
    "asgi": "import uvicorn\nuvicorn.run(app, host='127.0.0.1', port={port}, log_level='warning')",
}
SERVERS = {"fastapi": ("fastapi", "asgi"), "fastrapi": ("fastrapi", "native"),
           "fastrapi-uvicorn": ("fastrapi", "asgi")}


@pytest.fixture(scope="module")
def servers():
    procs = {}
    try:
        for name, (fw, how) in SERVERS.items():
            port = free_port()
            code = APP.format(fw=fw, serve=SERVE[how].format(port=port))
            procs[name] = (spawn(code, port), port)
        yield {name: (port, proc) for name, (proc, port) in procs.items()}
    finally:
        errs = {name: stop_spawned(proc) for name, (proc, _) in procs.items()}  # every one stopped
    for name, err in errs.items():  # the tracebacks are "Stream consumed"
        assert err.count("Traceback") <= err.count("RuntimeError: Stream consumed"), (name, err)


def _pattern(n):
    return bytes((i * 7 + 3) % 251 for i in range(min(n, 251 * 64))) * (n // (251 * 64) + 1)


def _body(n):
    return _pattern(n)[:n]


def _chunks(data, size=50000):
    for i in range(0, len(data), size):
        yield data[i:i + size]


def _post(port, path, data, chunked, headers=None):
    content = _chunks(data) if chunked else data
    r = httpx.post(f"http://127.0.0.1:{port}{path}", content=content, headers=headers or {},
                   timeout=60)
    ct = r.headers.get("content-type", "")
    return r.status_code, (r.json() if ct.startswith("application/json") else r.text)


SIZES = [100, 1 << 20, (1 << 20) + 1, 5 << 20]


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
@pytest.mark.parametrize("path", ["/stream", "/body", "/body-twice", "/dep", "/ping", "/plain-route"])
def test_same_answers_as_fastapi(servers, path, chunked):
    for n in SIZES:
        data = _body(n)
        got = {name: _post(port, path, data, chunked) for name, (port, _) in servers.items()}
        want = got["fastapi"]
        assert want[0] == 200, want
        assert got["fastrapi"] == want, (path, n, chunked)
        assert got["fastrapi-uvicorn"] == want, (path, n, chunked)


@pytest.mark.parametrize("n", [100, 3 << 20])
def test_stream_consumed_then_body_is_fastapis_error(servers, n):
    data = _body(n)
    got = {name: _post(port, "/stream-then-body", data, False)[0] for name, (port, _) in servers.items()}
    assert got == {"fastapi": 500, "fastrapi": 500, "fastrapi-uvicorn": 500}


def test_big_json_and_form_through_the_request(servers):
    import json
    doc = json.dumps([{"i": i, "name": "é" * 10} for i in range(60000)]).encode()
    assert len(doc) > (2 << 20)
    blob = _body(3 << 20)
    files = {"file": ("blob.bin", blob, "application/octet-stream")}
    for name, (port, _) in servers.items():
        r = httpx.post(f"http://127.0.0.1:{port}/json", content=doc,
                       headers={"content-type": "application/json"}, timeout=60)
        assert (name, r.status_code, r.json()) == (name, 200, {"items": 60000,
                                                               "last": {"i": 59999, "name": "é" * 10}})
        r = httpx.post(f"http://127.0.0.1:{port}/form", data={"note": "hi"}, files=files, timeout=60)
        assert (name, r.status_code) == (name, 200)
        assert r.json() == {"note": "hi", "name": "blob.bin", "n": len(blob),
                            "sha": hashlib.sha256(blob).hexdigest()[:16]}


def _send_big(port, path, total, pid, leave_after=None):
    """POST `total` bytes by Content-Length in 1 MiB writes while the
    server's RSS is sampled; leave_after: close after that many bytes.
    Returns (peak RSS KiB, the answer's status line or None)."""
    piece = b"a" * (1 << 20)
    with PeakRss(pid) as rss, socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: {total}\r\n\r\n".encode())
        sent = 0
        while sent < total:
            if leave_after is not None and sent >= leave_after:
                return rss.peak, None
            s.sendall(piece)
            sent += len(piece)
        status = s.recv(65536).split(b"\r\n", 1)[0]
    return rss.peak, status


@pytest.mark.parametrize("name", ["fastrapi", "fastrapi-uvicorn"])
@pytest.mark.parametrize("path", ["/stream", "/ping", "/plain-route"])
def test_big_body_in_flat_memory(servers, name, path):
    """128 MiB to a Request route (spooled) and to a route that reads no
    body (dropped): the server grows by a few MiB, not by the body (before:
    +128 MiB for /ping, +256 MiB for /stream on the native server)."""
    port, proc = servers[name]
    _post(port, path, _body(3 << 20), False)  # warm up (buffers, pool)
    base = rss_kib(proc.pid)
    peak, status = _send_big(port, path, 128 << 20, proc.pid)
    assert status == b"HTTP/1.1 200 OK"
    assert peak - base < 32 * 1024, (name, path, base, peak)


@pytest.mark.parametrize("name", ["fastrapi", "fastrapi-uvicorn"])
def test_temp_files_closed(servers, name):
    """After spooled requests, and after a client that leaves halfway
    through a spooled body, no temp file stays open in the server."""
    port, proc = servers[name]
    base = deleted_fds(proc.pid)
    for _ in range(3):
        assert _post(port, "/body", _body(3 << 20), True)[0] == 200
    _send_big(port, "/stream", 32 << 20, proc.pid, leave_after=8 << 20)
    assert wait_until(lambda: deleted_fds(proc.pid) <= base, 20), (deleted_fds(proc.pid), base)
    assert _post(port, "/stream", _body(2 << 20), False)[0] == 200  # serves on


MW_APP = '''
import hashlib
from {fw} import FastAPI, Request

app = FastAPI()


@app.middleware("http")
async def digest_body(request: Request, call_next):
    body = await request.body()
    response = await call_next(request)
    response.headers["x-body"] = f"{{len(body)}}:{{hashlib.sha256(body).hexdigest()[:16]}}"
    return response


@app.post("/ping")
def ping():
    return {{"pong": True}}


{serve}
'''


def test_middleware_sees_the_body_a_route_does_not_read():
    """An @app.middleware function may read any body: a route that does not
    read its own then keeps it (nothing is dropped), as on FastAPI."""
    data = _body(3 << 20)
    want = f"{len(data)}:{hashlib.sha256(data).hexdigest()[:16]}"
    for fw, how in (("fastapi", "asgi"), ("fastrapi", "native"), ("fastrapi", "asgi")):
        port = free_port()
        proc = spawn(MW_APP.format(fw=fw, serve=SERVE[how].format(port=port)), port)
        try:
            for chunked in (False, True):
                r = httpx.post(f"http://127.0.0.1:{port}/ping", content=_chunks(data) if chunked else data,
                               timeout=60)
                assert (fw, how, r.status_code, r.headers.get("x-body")) == (fw, how, 200, want)
        finally:
            err = stop_spawned(proc)
        assert "Traceback" not in err, err


BRIDGE_APP = '''
import hashlib
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.responses import JSONResponse
from {fw} import FastAPI, File, Request, UploadFile


class Tag:  # a raw ASGI middleware: the native server runs every request through the Python stack
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def tagged(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + [(b"x-tag", b"1")]
            await send(message)
        await self.app(scope, receive, tagged)


async def digest_stream(request):
    h, n = hashlib.sha256(), 0
    async for chunk in request.stream():
        h.update(chunk)
        n += len(chunk)
    return {{"n": n, "sha": h.hexdigest()[:16]}}


async def sub_stream(request):
    return JSONResponse(await digest_stream(request))


app = FastAPI()
{middleware}
app.mount("/sub", Starlette(routes=[Route("/stream", sub_stream, methods=["POST"])]))


@app.post("/stream")
async def stream(request: Request):
    return await digest_stream(request)


@app.post("/up")
async def up(f: UploadFile = File(...)):
    h, n = hashlib.sha256(), 0
    while chunk := await f.read(1 << 20):
        h.update(chunk)
        n += len(chunk)
    return {{"n": n, "sha": h.hexdigest()[:16]}}


{serve}
'''


@pytest.mark.parametrize("middleware", [True, False], ids=["asgi-middleware", "mount-only"])
def test_bridged_requests_spool_big_bodies(middleware):
    """On the native server, requests that run through the app's Python
    ASGI stack (an app with a raw ASGI middleware: every request; an app
    with a mount: the requests under it) get a big body from a temp file
    in pieces, not held whole: answers as FastAPI's, and 128 MiB grows the
    server by a few MiB (before: by the body, twice)."""
    data = _body(5 << 20)
    mw = "app.add_middleware(Tag)" if middleware else ""
    procs = {}
    try:
        for fw, how in (("fastapi", "asgi"), ("fastrapi", "native")):
            port = free_port()
            procs[fw] = (spawn(BRIDGE_APP.format(fw=fw, middleware=mw, serve=SERVE[how].format(port=port)),
                               port), port)
        out = {}
        for fw, (proc, port) in procs.items():
            got = []
            for path in ("/stream", "/sub/stream"):
                for chunked in (False, True):
                    r = httpx.post(f"http://127.0.0.1:{port}{path}", timeout=60,
                                   content=_chunks(data) if chunked else data)
                    got.append((path, chunked, r.status_code, r.headers.get("x-tag"), r.json()))
            r = httpx.post(f"http://127.0.0.1:{port}/up", files={"f": ("b.bin", data)}, timeout=60)
            got.append(("/up", r.status_code, r.json()))
            out[fw] = got
        assert out["fastapi"][0][2:] == (200, "1" if middleware else None,
                                         {"n": len(data), "sha": hashlib.sha256(data).hexdigest()[:16]})
        assert out["fastrapi"] == out["fastapi"]
        proc, port = procs["fastrapi"]
        for path in ("/stream", "/sub/stream", "/up"):
            if path == "/up":
                continue  # multipart: its own test (test_upload_stream.py)
            base = rss_kib(proc.pid)
            peak, status = _send_big(port, path, 128 << 20, proc.pid)
            assert status == b"HTTP/1.1 200 OK"
            assert peak - base < 32 * 1024, (path, base, peak)
        assert wait_until(lambda: deleted_fds(proc.pid) == 0, 20)
    finally:
        errs = {fw: stop_spawned(proc) for fw, (proc, _) in procs.items()}  # every one stopped
    for fw, err in errs.items():
        assert "Traceback" not in err, (fw, err)
