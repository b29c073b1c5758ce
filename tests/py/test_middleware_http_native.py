"""@app.middleware("http") on fastrapi's NATIVE server: an around layer of the
engine's C middleware chain (middleware.h, AROUND LAYERS; fastrapi._native_mw),
never Starlette's Python stack. The same app source served by FastAPI under
uvicorn and by fastrapi's native server, both over real HTTP, must answer the
same (status, headers, body bytes): a timing header, a short-circuit 401, an
edited status, the body read in the middleware and again in the handler,
request.state, handler exceptions (500, a custom handler inside the
middleware, the Exception handler outside it, an exception caught around
call_next), dispatch raising, 404/405/422, a streamed response, a background
task, a replaced body, two decorators' order, and the decorator with
CORSMiddleware + GZipMiddleware in both orders (a CORS preflight passing
through an outer @app.middleware). Streams (the engine's streamed capture):
call_next returns at the head of an endless stream the handler does not
declare, passed on, re-wrapped through body_iterator or replaced (the
generator is closed), sync and async, with backpressure, and a generator
raising mid-stream."""
import asyncio
import gzip
import time

import httpx
import pytest

from conftest import framework
from helpers import Uvicorn, assert_paused_then_closed, open_fds

BIG = "".join(chr(97 + (i * 7 + i // 13) % 26) for i in range(3000))
DROP = {"date", "server", "connection", "keep-alive"}


def routes(app, fw, log):
    R = fw.responses

    class MyError(Exception):
        pass

    @app.exception_handler(MyError)  # ExceptionMiddleware's: inside the user middleware
    def on_my_error(request, exc):
        return R.JSONResponse({"handled": str(exc)}, status_code=418)

    @app.get("/")
    def root():
        return {"hello": "world"}

    @app.get("/async")
    async def root_async(request: fw.Request):
        return {"state": getattr(request.state, "user", None)}

    @app.post("/echo")
    async def echo(request: fw.Request):
        return {"got": (await request.body()).decode()}

    @app.get("/items/{i}")
    def item(i: int):
        return {"i": i}

    @app.get("/boom")
    def boom():
        raise ValueError("boom")

    @app.get("/boom-async")
    async def boom_async():
        raise ValueError("boom")

    @app.get("/my-error")
    def my_error():
        raise MyError("mine")

    @app.get("/http-error")
    def http_error():
        raise fw.HTTPException(status_code=409, detail="conflict", headers={"x-err": "1"})

    @app.get("/stream")
    def stream():
        return R.StreamingResponse(iter([BIG[:700].encode(), BIG[700:1500].encode(), BIG[1500:].encode()]),
                                   media_type="text/plain")

    @app.get("/big")
    def big():
        return {"data": BIG}

    @app.get("/bg")
    def bg(tasks: fw.BackgroundTasks):
        tasks.add_task(log.append, "bg ran")
        return {"bg": "queued"}

    @app.get("/bg-log")
    def bg_log():
        return {"log": list(log)}

    @app.get("/nocontent", status_code=204)
    def nocontent():
        return None


def timing_app(fw, log):
    """FastAPI's documented X-Process-Time middleware, plus the cases the
    docs show (short-circuit, editing, state, reading the body)."""
    R = fw.responses
    app = fw.FastAPI()

    @app.middleware("http")
    async def mw(request: fw.Request, call_next):
        path = request.url.path
        if request.headers.get("x-deny"):
            return R.JSONResponse({"detail": "denied"}, status_code=401)
        if path == "/mw-raise":
            raise RuntimeError("dispatch failed")
        if path == "/mw-bg":  # its own response, with a background task
            from starlette.background import BackgroundTask
            return R.PlainTextResponse("mw", background=BackgroundTask(log.append, "mw bg ran"))
        request.state.user = "alice"
        body_len = None
        if request.method == "POST":
            body_len = len(await request.body())
        start = time.perf_counter()
        if path == "/slow":  # dispatch gives up on call_next (wait_for cancels it)
            try:
                return await asyncio.wait_for(call_next(request), 0.05)
            except asyncio.TimeoutError:
                return R.PlainTextResponse("gave up", status_code=504)
        if path == "/boom-caught":
            try:
                await call_next(request)
            except ValueError as e:
                return R.PlainTextResponse("caught " + str(e), status_code=503)
        response = await call_next(request)
        elapsed = time.perf_counter() - start
        assert elapsed >= 0
        response.headers["x-process-time"] = "t"  # the docs' str(elapsed), made comparable
        response.headers["x-mw-path"] = path
        if body_len is not None:
            response.headers["x-body-len"] = str(body_len)
        if path == "/":
            response.status_code = 202
        if request.query_params.get("replace"):
            chunks = [c async for c in response.body_iterator]
            return R.Response(b"[" + b"".join(chunks).upper() + b"]", status_code=response.status_code,
                              headers={"x-replaced": "1", "x-cl-seen": response.headers.get("content-length", "-")},
                              media_type=response.headers.get("content-type"))
        return response

    @app.get("/boom-caught")
    def boom_caught():
        raise ValueError("inner")

    @app.get("/slow")
    async def slow():
        await asyncio.sleep(0.3)
        return {"slow": True}

    @app.get("/mw-raise")
    def mw_raise():
        return {"never": True}

    routes(app, fw, log)
    return app


def handler_500_app(fw, log):
    """An Exception handler is ServerErrorMiddleware's: outside the middleware."""
    app = timing_app(fw, log)

    @app.exception_handler(Exception)
    def on_error(request, exc):
        return fw.responses.PlainTextResponse("server error handled", status_code=500)
    return app


def two_app(fw, log):
    app = fw.FastAPI()

    @app.middleware("http")
    async def inner(request, call_next):
        request.state.order = ["inner"]
        response = await call_next(request)
        response.headers.append("x-order", "inner")
        return response

    @app.middleware("http")
    async def outer(request, call_next):
        response = await call_next(request)
        response.headers.append("x-order", "outer")
        return response
    routes(app, fw, log)
    return app


def _cors_gzip(app):
    from starlette.middleware.cors import CORSMiddleware
    from starlette.middleware.gzip import GZipMiddleware
    app.add_middleware(GZipMiddleware, minimum_size=100)
    app.add_middleware(CORSMiddleware, allow_origins=["https://a.example"], allow_methods=["GET", "POST"],
                       allow_headers=["x-custom"], expose_headers=["x-process-time"])


async def _mark(request, call_next):
    response = await call_next(request)
    response.headers["x-process-time"] = "t"
    response.headers["x-saw-encoding"] = response.headers.get("content-encoding", "none")
    response.headers["x-saw-acao"] = response.headers.get("access-control-allow-origin", "none")
    return response


def mw_outer_app(fw, log):
    """CORS + GZip inside, @app.middleware outermost (added last)."""
    app = fw.FastAPI()
    _cors_gzip(app)
    app.middleware("http")(_mark)
    routes(app, fw, log)
    return app


def mw_inner_app(fw, log):
    """@app.middleware innermost, then GZip and CORS outside it."""
    app = fw.FastAPI()
    app.middleware("http")(_mark)
    _cors_gzip(app)
    routes(app, fw, log)
    return app


GZ = {"accept-encoding": "gzip"}
ORIGIN = {"origin": "https://a.example"}
PREFLIGHT = {"origin": "https://a.example", "access-control-request-method": "POST",
             "access-control-request-headers": "x-custom"}
BASIC = [
    ("GET", "/", {}, None),
    ("GET", "/async", {}, None),
    ("GET", "/", {"x-deny": "1"}, None),
    ("POST", "/echo", {"content-type": "text/plain"}, b"hello body"),
    ("GET", "/items/3", {}, None),
    ("GET", "/items/x", {}, None),
    ("GET", "/nope", {}, None),
    ("PUT", "/", {}, None),
    ("GET", "/boom", {}, None),
    ("GET", "/boom-async", {}, None),
    ("GET", "/boom-caught", {}, None),
    ("GET", "/my-error", {}, None),
    ("GET", "/http-error", {}, None),
    ("GET", "/mw-raise", {}, None),
    ("GET", "/slow", {}, None),
    ("GET", "/big?replace=1", {}, None),
    ("GET", "/stream", {}, None),
    ("GET", "/stream?replace=1", {}, None),
    ("GET", "/nocontent", {}, None),
    ("HEAD", "/big", {}, None),
]
LAYERED = [
    ("GET", "/", ORIGIN, None),
    ("GET", "/big", dict(GZ, **ORIGIN), None),
    ("GET", "/big", GZ, None),
    ("GET", "/stream", dict(GZ, **ORIGIN), None),
    ("OPTIONS", "/", PREFLIGHT, None),
    ("OPTIONS", "/", dict(PREFLIGHT, origin="https://evil.example"), None),
    ("GET", "/nope", ORIGIN, None),
    ("GET", "/boom", ORIGIN, None),
]
APPS = {
    "timing": (timing_app, BASIC),
    "handler500": (handler_500_app, [r for r in BASIC if r[1] in ("/boom", "/mw-raise", "/my-error", "/")]),
    "two": (two_app, BASIC[:2] + BASIC[4:9] + [r for r in BASIC if r[1].startswith("/stream")] * 2),
    "mw_outer": (mw_outer_app, LAYERED),
    "mw_inner": (mw_inner_app, LAYERED),
}

# Two decorators: the engine would hand the outer one a stream whole (it
# holds one per request), so the app keeps Starlette's stack
# (fastrapi/_native_mw.py _compute), where streams flow
# (test_endless_stream_under_two_layers below). A GZip inside the decorator
# runs in the engine: its compressed pieces flow through the held stream
# (tests/py/test_middleware_stream_gzip.py).
PY_STACK = {"two"}

_servers = {}


def servers(name):
    if name not in _servers:
        make = APPS[name][0]
        logs = ([], [])
        fa_app = make(framework("fastapi"), logs[0])
        fr_app = make(framework("fastrapi"), logs[1])
        _servers[name] = (Uvicorn(fa_app), fr_app._start_background("127.0.0.1", 0), fr_app)
    return _servers[name]


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    for fa, fr, _ in _servers.values():
        fa.close()
        fr.stop()
    _servers.clear()


def raw(client, method, url, headers, body):
    h = {"host": "testserver", "accept-encoding": "identity"}
    h.update(headers)
    with client.stream(method, url, headers=h, content=body) as r:
        data = b"".join(r.iter_raw())
        items = [(k.lower(), v) for k, v in r.headers.multi_items() if k.lower() not in DROP]
        return r.status_code, items, data


def cases():
    for name, (_, reqs) in APPS.items():
        for i, (m, u, h, b) in enumerate(reqs):
            yield pytest.param(name, m, u, h, b, id=f"{name}-{i}-{m}-{u}")


@pytest.mark.parametrize("name,method,url,headers,body", list(cases()))
def test_same_answer_as_fastapi(name, method, url, headers, body):
    fa, fr, fr_app = servers(name)
    with httpx.Client(base_url=f"http://127.0.0.1:{fa.port}", timeout=30) as ca, \
            httpx.Client(base_url=f"http://127.0.0.1:{fr.port}", timeout=30) as cb:
        a = raw(ca, method, url, headers, body)
        b = raw(cb, method, url, headers, body)
    assert b[0] == a[0], (a, b)
    ha, hb = a[1], b[1]
    assert sorted(hb) == sorted(ha), (a, b)
    if name == "mw_inner" and url == "/stream" and "gzip" in headers.get("accept-encoding", ""):
        # GZip outside the layer compresses the stream call_next collected as one
        # piece (Starlette: piece by piece): other deflate blocks, the same bytes
        assert gzip.decompress(b[2]) == gzip.decompress(a[2]) == BIG.encode()
        return
    assert b[2] == a[2]
    if name in PY_STACK:  # streams would reach the outer layer whole: Starlette's stack
        assert fr_app.middleware_stack is not None
    else:
        assert fr_app.middleware_stack is None  # the engine's chain, not Starlette's stack


def test_background_tasks_run():
    """The handler's background task (its response went through call_next)
    and one on the response dispatch returns itself both run."""
    fa, fr, _ = servers("timing")
    for port in (fa.port, fr.port):
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            r = c.get("/bg")
            assert r.status_code == 200 and r.headers["x-process-time"] == "t"
            r = c.get("/mw-bg")
            assert r.status_code == 200 and r.text == "mw"
            for _ in range(200):
                log = c.get("/bg-log").json()["log"]
                if "bg ran" in log and "mw bg ran" in log:
                    break
                time.sleep(0.01)
            assert "bg ran" in log and "mw bg ran" in log


def test_state_and_timing_header():
    fa, fr, _ = servers("timing")
    with httpx.Client(base_url=f"http://127.0.0.1:{fr.port}", timeout=30) as c:
        r = c.get("/async")
        assert r.json() == {"state": "alice"}  # request.state set in dispatch, seen by the handler
        assert r.headers["x-mw-path"] == "/async"
        r = c.post("/echo", content=b"x" * 5000)
        assert r.json() == {"got": "x" * 5000} and r.headers["x-body-len"] == "5000"


@pytest.mark.parametrize("name", ["mw_inner", "mw_outer"])
def test_the_decorator_layer_is_in_the_engine(name):
    _, fr, fr_app = servers(name)
    srv = fr_app._servers[-1]
    assert srv.middleware_count() == 3  # GZip, CORS and the around layer, all in the chain


@pytest.mark.parametrize("name", sorted(PY_STACK))
def test_apps_whose_streams_the_engine_would_hold_keep_starlettes_stack(name):
    from fastrapi import _native_mw
    _, fr, fr_app = servers(name)
    assert _native_mw.plan(fr_app) is None
    assert fr_app._servers[-1].middleware_count() == 0


def session_app(fw, log):
    from starlette.middleware.sessions import SessionMiddleware
    app = fw.FastAPI()

    @app.middleware("http")
    async def mw(request, call_next):
        request.session["seen"] = request.session.get("seen", 0) + 1
        response = await call_next(request)
        response.headers["x-session"] = ",".join(sorted(request.session))
        return response
    app.add_middleware(SessionMiddleware, secret_key="k")  # outside the decorator

    @app.get("/sess")
    def sess(request: fw.Request):
        request.session["handler"] = "yes"
        return {"seen": request.session["seen"]}
    return app


def test_session_shared_with_the_handler():
    """SessionMiddleware outside: dispatch and the handler edit one session,
    the engine signs it once, and it comes back on the next request."""
    app = session_app(framework("fastrapi"), [])
    run = app._start_background("127.0.0.1", 0)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{run.port}", timeout=30) as c:
            r1 = c.get("/sess")
            assert r1.status_code == 200 and r1.json() == {"seen": 1}
            assert r1.headers["x-session"] == "handler,seen"
            assert "session=" in r1.headers["set-cookie"]
            r2 = c.get("/sess")
            assert r2.json() == {"seen": 2}
    finally:
        run.stop()
    assert app.middleware_stack is None


def test_declared_endless_stream_flows_through_the_decorator():
    """An app with an SSE route (a path operation that yields, FastAPI 0.134)
    runs its @app.middleware as the engine's around layer too: call_next
    returns at the stream's head. The first events arrive through the
    middleware, with its header."""
    fw = framework("fastrapi")
    from fastrapi.sse import EventSourceResponse

    app = fw.FastAPI()

    @app.middleware("http")
    async def mw(request, call_next):
        response = await call_next(request)
        response.headers["x-mw"] = "1"
        return response

    @app.get("/events", response_class=EventSourceResponse)
    async def events():
        i = 0
        while True:  # endless, as a live feed is
            yield {"n": i}
            i += 1
            await asyncio.sleep(0.01)

    @app.get("/plain")
    def plain():
        return {"ok": True}

    from fastrapi import _native_mw
    assert [name for name, _ in _native_mw.plan(app)] == ["http"]  # the engine's layer
    run = app._start_background("127.0.0.1", 0)
    try:
        base = f"http://127.0.0.1:{run.port}"
        with httpx.stream("GET", base + "/events", timeout=10) as r:
            assert r.status_code == 200 and r.headers["x-mw"] == "1"
            got = []
            for line in r.iter_lines():
                if line.startswith("data:"):
                    got.append(line)
                if len(got) == 3:
                    break
        assert got == ['data: {"n": 0}', 'data: {"n": 1}', 'data: {"n": 2}']  # FastAPI's bytes
        assert httpx.get(base + "/plain").headers["x-mw"] == "1"
    finally:
        run.stop()
    assert app.middleware_stack is None


# ---- streams through the decorator: call_next returns at the head ----------

def stream_app(fw, log, closed):
    """Endless streams a handler returns WITHOUT declaring them (no yield path
    operation, no streaming response_class, no annotation) under an
    @app.middleware: call_next must return at the head (Starlette's
    BaseHTTPMiddleware) and the body flow through; `closed[path]` is set by
    each generator's finally."""
    import threading
    R = fw.responses
    app = fw.FastAPI()
    for p in ("/sse", "/replace", "/wrap", "/sync", "/raise-mid", "/raise-first", "/big", "/big-wrap"):
        closed[p] = threading.Event()
    closed["pieces"] = {"/big": 0, "/big-wrap": 0}

    @app.middleware("http")
    async def mw(request, call_next):
        response = await call_next(request)
        path = request.url.path
        if path == "/replace":  # its own response: the inner stream is closed
            return R.PlainTextResponse("replaced", status_code=203)
        if path in ("/wrap", "/big-wrap"):  # the timing / logging pattern: re-wrap body_iterator
            async def wrap(it):
                async for chunk in it:
                    yield chunk.upper()
            return R.StreamingResponse(wrap(response.body_iterator), status_code=response.status_code,
                                       headers={"x-wrapped": "1"}, media_type="text/event-stream")
        response.headers["x-mw"] = "1"
        return response

    def agen(path, fail_after=None):
        async def gen():
            i = 0
            try:
                while True:
                    if fail_after is not None and i == fail_after:
                        raise RuntimeError("mid-stream")
                    yield f"data: {i}\n\n"
                    i += 1
                    await asyncio.sleep(0.005)
            finally:
                closed[path].set()
        return gen()

    def sgen():
        i = 0
        try:
            while True:
                yield f"data: {i}\n\n"
                i += 1
                time.sleep(0.005)
        finally:
            closed["/sync"].set()

    @app.get("/sse")
    async def sse():
        return R.StreamingResponse(agen("/sse"), media_type="text/event-stream")

    @app.get("/replace")
    async def replace():
        return R.StreamingResponse(agen("/replace"), media_type="text/event-stream")

    @app.get("/wrap")
    async def wrapped():
        return R.StreamingResponse(agen("/wrap"), media_type="text/event-stream")

    @app.get("/sync")
    def sync():
        return R.StreamingResponse(sgen(), media_type="text/event-stream")

    @app.get("/raise-mid")
    async def raise_mid():
        return R.StreamingResponse(agen("/raise-mid", fail_after=2), media_type="text/event-stream")

    def big(path):
        async def gen():
            try:
                for _ in range(2000):  # 125 MiB: endless for a client that reads nothing
                    closed["pieces"][path] += 1
                    yield b"a" * 65536
            finally:
                closed[path].set()
        return R.StreamingResponse(gen(), media_type="application/octet-stream")

    @app.get("/big")
    async def big_pass():
        return big("/big")

    @app.get("/big-wrap")
    async def big_wrap():
        return big("/big-wrap")

    @app.get("/raise-first")
    async def raise_first():
        return R.StreamingResponse(agen("/raise-first", fail_after=0), media_type="text/event-stream")

    @app.get("/plain")
    def plain():
        return {"ok": True}
    return app


_stream_servers = {}


def stream_servers():
    if not _stream_servers:
        fa_closed, fr_closed = {}, {}
        fa_app = stream_app(framework("fastapi"), [], fa_closed)
        fr_app = stream_app(framework("fastrapi"), [], fr_closed)
        from fastrapi import _native_mw
        assert _native_mw.plan(fr_app) == [("http", (fr_app.user_middleware[0].kwargs["dispatch"],))]
        _stream_servers.update(fa=(Uvicorn(fa_app), fa_closed), fr=(fr_app._start_background("127.0.0.1", 0),
                                                                     fr_closed), app=fr_app)
    return _stream_servers


@pytest.fixture(scope="module", autouse=True)
def _stream_cleanup():
    yield
    if _stream_servers:
        _stream_servers["fa"][0].close()
        _stream_servers["fr"][0].stop()
        _stream_servers.clear()




def _first_events(port, path, n=3):
    """status, headers (minus DROP), the first n SSE events; then disconnect."""
    with httpx.stream("GET", f"http://127.0.0.1:{port}{path}", timeout=10,
                      headers={"accept-encoding": "identity"}) as r:
        got = []
        for line in r.iter_lines():
            if line:
                got.append(line)
            if len(got) == n:
                break
        head = sorted((k.lower(), v) for k, v in r.headers.multi_items() if k.lower() not in DROP)
        return r.status_code, head, got


@pytest.mark.parametrize("path,events", [
    ("/sse", ["data: 0", "data: 1", "data: 2"]),
    ("/sync", ["data: 0", "data: 1", "data: 2"]),
    ("/wrap", ["DATA: 0", "DATA: 1", "DATA: 2"]),
])
def test_endless_stream_flows_through_and_is_closed(path, events):
    """The head (with the middleware's header) and the first events arrive
    while the generator still runs; the client leaves; the generator's
    finally runs on both servers; no descriptor is left open."""
    s = stream_servers()
    (fa, fa_closed), (fr, fr_closed) = s["fa"], s["fr"]
    a = _first_events(fa.port, path)
    if path != "/sync":  # Starlette leaves a sync iterator to the garbage collector
        assert fa_closed[path].wait(10)
    fds = open_fds()
    b = _first_events(fr.port, path)
    assert b == a and a[2] == events
    assert fr_closed[path].wait(10)  # the generator was closed (its finally ran)
    for _ in range(500):  # the connection's descriptor is released
        if open_fds() <= fds:
            break
        time.sleep(0.01)
    assert open_fds() <= fds
    fa_closed[path].clear()
    fr_closed[path].clear()
    with httpx.Client(timeout=10) as c:  # the server goes on serving
        assert c.get(f"http://127.0.0.1:{fr.port}/plain").headers["x-mw"] == "1"


def test_replaced_stream_is_closed():
    """dispatch answers with its own response: the inner (endless) stream is
    closed, as Starlette closes it, and the answer goes out whole."""
    s = stream_servers()
    (fa, fa_closed), (fr, fr_closed) = s["fa"], s["fr"]
    with httpx.Client(timeout=10) as ca, httpx.Client(timeout=10) as cb:
        a = raw(ca, "GET", f"http://127.0.0.1:{fa.port}/replace", {}, None)
        b = raw(cb, "GET", f"http://127.0.0.1:{fr.port}/replace", {}, None)
    assert b[0] == a[0] == 203 and sorted(b[1]) == sorted(a[1]) and b[2] == a[2] == b"replaced"
    assert fa_closed["/replace"].wait(10) and fr_closed["/replace"].wait(10)


def _raw_exchange(port, path):
    """The raw bytes a server sends for one keep-alive GET, up to the moment
    it closes the connection (bounded: None when it keeps it open)."""
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nhost: testserver\r\n\r\n")
        data = b""
        try:
            while True:
                d = sock.recv(65536)
                if not d:
                    break
                data += d
        except socket.timeout:
            return None
    head, _, body = data.partition(b"\r\n\r\n")
    lines = [ln for ln in head.lower().split(b"\r\n")[1:] if not ln.startswith((b"date:", b"server:"))]
    return head.split(b"\r\n")[0], sorted(lines), body


@pytest.mark.parametrize("path,body", [
    ("/raise-mid", b"9\r\ndata: 0\n\n\r\n9\r\ndata: 1\n\n\r\n0\r\n\r\n"),
    ("/raise-first", b"0\r\n\r\n"),
])
def test_generator_raising_mid_stream(path, body):
    """The generator raises (after two events, or before the first): the
    body stops there, ends with the last chunk (Starlette's
    BaseHTTPMiddleware ends its own response), and the server closes the
    connection (uvicorn after an application error) -- the head is the usual
    keep-alive one --, the same bytes from both servers."""
    s = stream_servers()
    (fa, fa_closed), (fr, fr_closed) = s["fa"], s["fr"]
    a = _raw_exchange(fa.port, path)
    b = _raw_exchange(fr.port, path)
    assert a is not None and a[2] == body and b"connection: close" not in a[1]
    assert b == a
    assert fr_closed[path].wait(10)


@pytest.mark.parametrize("path", ["/big", "/big-wrap"])
def test_stream_through_the_decorator_has_backpressure(path):
    """A client that reads nothing: the generator under the middleware is
    paused (the engine holds a bounded amount, passed or re-wrapped), not
    run to its 125 MiB end; the client leaves and the generator is closed."""
    s = stream_servers()
    fr, fr_closed = s["fr"]
    request = b"GET " + path.encode() + b" HTTP/1.1\r\nhost: t\r\n\r\n"
    assert_paused_then_closed(fr.port, request, fr_closed, path)


def two_layer_stream_app(fw, kind, closed):
    """An endless stream under two decorators (undeclared; Starlette's stack
    on fastrapi too), or under one with GZipMiddleware inside it (added
    before it; the engine's layers) in an app that declares the stream (its
    return annotation)."""
    import threading
    R = fw.responses
    app = fw.FastAPI()
    closed["/sse"] = threading.Event()
    if kind == "gzip-inside":
        from starlette.middleware.gzip import GZipMiddleware
        app.add_middleware(GZipMiddleware, minimum_size=10)

    @app.middleware("http")
    async def inner(request, call_next):
        response = await call_next(request)
        response.headers["x-inner"] = "1"
        return response
    if kind == "two":
        @app.middleware("http")
        async def outer(request, call_next):
            response = await call_next(request)
            response.headers["x-outer"] = "1"
            return response

    async def gen():
        i = 0
        try:
            while True:
                yield f"data: {i}\n\n"
                i += 1
                await asyncio.sleep(0.005)
        finally:
            closed["/sse"].set()

    if kind == "gzip-inside":
        @app.get("/sse")
        async def sse() -> R.StreamingResponse:
            return R.StreamingResponse(gen(), media_type="text/event-stream")
    else:
        @app.get("/sse")
        async def sse():
            return R.StreamingResponse(gen(), media_type="text/event-stream")
    return app


@pytest.mark.parametrize("kind", ["two", "gzip-inside"])
def test_endless_stream_under_two_layers(kind):
    fa_closed, fr_closed = {}, {}
    fa_app = two_layer_stream_app(framework("fastapi"), kind, fa_closed)
    fr_app = two_layer_stream_app(framework("fastrapi"), kind, fr_closed)
    fa, fr = Uvicorn(fa_app), fr_app._start_background("127.0.0.1", 0)
    try:
        a = _first_events(fa.port, "/sse")
        b = _first_events(fr.port, "/sse")
        assert b == a and a[2] == ["data: 0", "data: 1", "data: 2"]
        assert ("x-inner", "1") in b[1]
        # Not asserted: that the generator is closed when the client leaves -
        # under two BaseHTTPMiddleware layers FastAPI on uvicorn does not
        # close it either (checked: not within 10 s); the two-decorator app
        # runs Starlette's own stack on fastrapi too.
        with httpx.Client(timeout=10) as c:  # the server goes on serving
            assert c.get(f"http://127.0.0.1:{fr.port}/docs").status_code == 200
    finally:
        fa.close()
        fr.stop()
