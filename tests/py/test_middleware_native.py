"""Starlette's built-in middlewares run by the engine (fastrapi._native_mw):
the same app source, with CORSMiddleware / GZipMiddleware /
TrustedHostMiddleware / HTTPSRedirectMiddleware and their options, served by
FastAPI under uvicorn and by fastrapi's native server, both over real HTTP,
must answer the same: status, headers (Vary, Access-Control-*,
Content-Encoding, Content-Length, Location, ...) and the body bytes as sent
(gzip included: same zlib, same bytes) -- and fastrapi must really run them
in C: no Python middleware stack is ever built, the engine app reports them.
The ASGI face (httpx.ASGITransport) is checked against FastAPI's the same way."""
import asyncio
import os
import tempfile
import threading

import httpx
import pytest

from conftest import framework
from helpers import Uvicorn

BIG = "".join(chr(97 + (i * 7 + i // 13) % 26) for i in range(3000))
FILE_SMALL = (BIG * 3)[:5000].encode()
FILE_BIG = (BIG * 50)[:150000].encode()


class TagMiddleware:
    """A raw ASGI middleware: an app that has one keeps Starlette's stack."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def tagged(message):
            if message["type"] == "http.response.start":
                message = dict(message, headers=list(message["headers"]) + [(b"x-tag", b"1")])
            await send(message)
        await self.app(scope, receive, tagged)


def routes(app, fw, files):
    R = fw.responses

    @app.get("/")
    def root():
        return {"hello": "world"}

    @app.get("/big")
    def big():
        return {"data": BIG}

    @app.post("/big")
    def big_post():
        return {"posted": BIG[:800]}

    @app.get("/text")
    def text():
        return R.PlainTextResponse(BIG)

    @app.get("/stream")
    def stream():
        return R.StreamingResponse(iter([BIG[:700].encode(), BIG[700:1500].encode(), BIG[1500:].encode()]),
                                   media_type="text/plain")

    @app.get("/stream-async")
    async def stream_async():
        async def gen():
            for i in range(4):
                yield BIG[i * 200:(i + 1) * 200]
        return R.StreamingResponse(gen(), media_type="text/csv")

    @app.get("/stream-one")
    def stream_one():
        return R.StreamingResponse(iter([b"tiny"]), media_type="text/plain")

    @app.get("/png")
    def png():
        return R.Response(BIG.encode(), media_type="image/png")

    @app.get("/encoded")
    def encoded():
        return R.Response(BIG.encode(), media_type="text/plain", headers={"content-encoding": "br"})

    @app.get("/vary")
    def vary():
        return R.PlainTextResponse(BIG, headers={"vary": "Cookie"})

    @app.get("/file-small")
    def file_small():
        return R.FileResponse(files["small"], media_type="text/plain")

    @app.get("/file-big")
    def file_big():
        return R.FileResponse(files["big"], media_type="text/plain")

    @app.get("/items/{i}")
    def item(i: int):
        return {"i": i}

    @app.get("/nocontent", status_code=204)
    def nocontent():
        return None

    @app.get("/boom")
    def boom():
        raise ValueError("boom")

    @app.get("/http-error")
    def http_error():
        raise fw.HTTPException(status_code=418, detail="teapot", headers={"x-err": "1"})

    @app.get("/slash/")
    def slash():
        return "slash"


def cors_gzip_app(fw, files):
    """CORS outermost (added last), GZip inside it."""
    from fastrapi.middleware.gzip import GZipMiddleware
    from starlette.middleware.cors import CORSMiddleware
    app = fw.FastAPI()
    app.add_middleware(GZipMiddleware, minimum_size=100, compresslevel=6)
    app.add_middleware(CORSMiddleware, allow_origins=["https://a.example"],
                       allow_origin_regex=r"https://[a-z]+\.example\.org", allow_methods=["GET", "POST"],
                       allow_headers=["x-custom"], allow_credentials=True, expose_headers=["x-order"],
                       max_age=123)
    routes(app, fw, files)
    return app


def gzip_outer_app(fw, files):
    """middleware=[...]: GZip outermost (default options but minimum_size), CORS
    for any origin inside, the default exclude list."""
    from fastapi.middleware.cors import CORSMiddleware
    from starlette.middleware import Middleware
    from starlette.middleware.gzip import GZipMiddleware
    app = fw.FastAPI(middleware=[Middleware(GZipMiddleware, minimum_size=0),
                                 Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"],
                                            allow_headers=["*"])])
    routes(app, fw, files)
    return app


def gzip_options_app(fw, files):
    from starlette.middleware.gzip import GZipMiddleware
    app = fw.FastAPI()
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=1,
                       exclude_content_types=("text/csv", "application/*"))
    routes(app, fw, files)
    return app


def hosts_app(fw, files):
    from starlette.middleware.cors import CORSMiddleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    app = fw.FastAPI()
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True)
    app.add_middleware(TrustedHostMiddleware,
                       allowed_hosts=["testserver", "*.example.com", "www.example.org"])

    @app.exception_handler(Exception)  # ServerErrorMiddleware's: outside the user middleware
    def on_error(request, exc):
        return fw.responses.PlainTextResponse("handled", status_code=500)
    routes(app, fw, files)
    return app


def https_app(fw, files):
    from fastapi.middleware.httpsredirect import HTTPSRedirectMiddleware
    from starlette.middleware.gzip import GZipMiddleware
    app = fw.FastAPI()
    app.add_middleware(GZipMiddleware)
    app.add_middleware(HTTPSRedirectMiddleware)
    routes(app, fw, files)
    return app


def mixed_app(fw, files):
    """A class the engine does not have: Starlette's stack, as before."""
    from starlette.middleware.cors import CORSMiddleware
    app = fw.FastAPI()
    app.add_middleware(CORSMiddleware, allow_origins=["*"])
    app.add_middleware(TagMiddleware)
    routes(app, fw, files)
    return app


GZ = {"accept-encoding": "gzip, deflate"}
ORIGIN = {"origin": "https://a.example"}
COMMON = [
    ("GET", "/", {}),
    ("GET", "/big", GZ),
    ("GET", "/big", {"accept-encoding": "br"}),
    ("GET", "/big", {"accept-encoding": "GZIP"}),
    ("GET", "/big", dict(GZ, **ORIGIN)),
    ("POST", "/big", dict(GZ, **ORIGIN)),
    ("GET", "/text", GZ),
    ("GET", "/stream", GZ),
    ("GET", "/stream", {}),
    ("GET", "/stream-async", GZ),
    ("GET", "/stream-one", GZ),
    ("GET", "/png", GZ),
    ("GET", "/encoded", GZ),
    ("GET", "/vary", GZ),
    ("GET", "/file-small", GZ),
    ("GET", "/file-big", GZ),
    ("GET", "/file-small", {}),
    ("GET", "/items/3", GZ),
    ("GET", "/items/x", dict(GZ, **ORIGIN)),
    ("GET", "/nope", ORIGIN),
    ("PUT", "/", ORIGIN),
    ("GET", "/nocontent", dict(GZ, **ORIGIN)),
    ("GET", "/boom", dict(GZ, **ORIGIN)),
    ("GET", "/http-error", ORIGIN),
    ("GET", "/slash", ORIGIN),
    ("HEAD", "/text", GZ),
]
CORS = [
    ("GET", "/", {"origin": "https://b.example.org"}),
    ("GET", "/", {"origin": "https://evil.example"}),
    ("GET", "/", {"origin": "https://B.example.org"}),
    ("OPTIONS", "/", {"origin": "https://a.example", "access-control-request-method": "POST",
                      "access-control-request-headers": "X-Custom, Content-Type"}),
    ("OPTIONS", "/big", {"origin": "https://x.example.org", "access-control-request-method": "GET"}),
    ("OPTIONS", "/", {"origin": "https://a.example", "access-control-request-method": "PUT"}),
    ("OPTIONS", "/", {"origin": "https://evil.example", "access-control-request-method": "GET",
                      "access-control-request-headers": "x-other"}),
    ("OPTIONS", "/", {"origin": "https://a.example", "access-control-request-method": "GET",
                      "access-control-request-private-network": "true"}),
    ("OPTIONS", "/", {"origin": "https://a.example"}),
]
HOSTS = [
    ("GET", "/", {"host": "evil.com"}),
    ("GET", "/", {"host": "api.example.com:8443"}),
    ("GET", "/big", dict(GZ, host="example.com")),
    ("GET", "/items/1?x=%C3%A9&y=2", {"host": "example.org"}),
    ("GET", "/big", {"host": "www.example.org", "origin": "https://z"}),
    ("GET", "/", {"host": "[::1]"}),
]
HTTPS = [
    ("GET", "/items/1?a=b", {"host": "example.com"}),
    ("GET", "/big", dict(GZ, host="example.com:80")),
    ("POST", "/big", {"host": "example.com:8080"}),
    ("GET", "/caf%C3%A9/x%20y", {"host": "example.com"}),
]

APPS = {
    "cors_gzip": (cors_gzip_app, COMMON + CORS, 2),
    # minimum_size=0 compresses a 204's empty body too: uvicorn then sends
    # "content-length: 20" on the 204, the engine never frames a 204 body
    "gzip_outer": (gzip_outer_app, [r for r in COMMON if r[1] != "/nocontent"] + CORS[:5], 2),
    "gzip_options": (gzip_options_app, COMMON, 1),
    "hosts": (hosts_app, COMMON + HOSTS, 2),
    "https": (https_app, HTTPS, 2),
    "mixed": (mixed_app, COMMON[:8], 0),
}

DROP = {"date", "server", "connection", "keep-alive"}


@pytest.fixture(scope="module")
def files():
    d = tempfile.mkdtemp(prefix="frmw")
    out = {}
    for name, data in (("small", FILE_SMALL), ("big", FILE_BIG)):
        p = os.path.join(d, name + ".txt")
        with open(p, "wb") as f:
            f.write(data)
        os.utime(p, (1700000000, 1700000000))
        out[name] = p
    return out


def raw(client, method, url, headers):
    """One request; the answer as sent: status, headers, body bytes undecoded."""
    h = {"host": "testserver", "accept-encoding": "identity"}
    h.update(headers)
    with client.stream(method, url, headers=h) as r:
        body = b"".join(r.iter_raw())
        items = [(k.lower(), v) for k, v in r.headers.multi_items() if k.lower() not in DROP]
        return r.status_code, sorted(items), body


_servers = {}


def servers(name, files):
    if name not in _servers:
        make = APPS[name][0]
        fa_app = make(framework("fastapi"), files)
        fr_app = make(framework("fastrapi"), files)
        fa = Uvicorn(fa_app)
        fr = fr_app._start_background("127.0.0.1", 0)
        _servers[name] = (fa, fr, fr_app)
    return _servers[name]


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    for fa, fr, _ in _servers.values():
        fa.close()
        fr.stop()
    _servers.clear()


def cases():
    for name, (_, reqs, _) in APPS.items():
        for i, (m, u, h) in enumerate(reqs):
            yield pytest.param(name, m, u, h, id=f"{name}-{i}-{m}-{u}")


@pytest.mark.parametrize("name,method,url,headers", list(cases()))
def test_same_answer_over_http(files, name, method, url, headers):
    fa, fr, _ = servers(name, files)
    with httpx.Client(base_url=f"http://127.0.0.1:{fa.port}", timeout=30) as ca, \
            httpx.Client(base_url=f"http://127.0.0.1:{fr.port}", timeout=30) as cb:
        a = raw(ca, method, url, headers)
        b = raw(cb, method, url, headers)
    assert b[0] == a[0], (a, b)
    assert b[1] == a[1]
    assert b[2] == a[2]


@pytest.mark.parametrize("name", list(APPS))
def test_fast_path_is_taken(files, name):
    """The known classes run in the engine app: it reports them, and the app
    never built Starlette's Python stack; any other class keeps the stack."""
    fa, fr, fr_app = servers(name, files)
    want = APPS[name][2]
    with httpx.Client(base_url=f"http://127.0.0.1:{fr.port}", timeout=30) as c:
        assert c.get("/", headers={"host": "testserver"}).status_code in (200, 307)
    srv = fr_app._servers[-1]
    assert srv.middleware_count() == want
    if want:
        assert fr_app.middleware_stack is None
    else:
        assert fr_app.middleware_stack is not None  # the bridge ran Starlette's classes


def test_gzip_really_compresses(files):
    """Not only equal to FastAPI: the compressed bytes decode to the body."""
    import gzip
    fa, fr, _ = servers("cors_gzip", files)
    with httpx.Client(base_url=f"http://127.0.0.1:{fr.port}", timeout=30) as c:
        for url, body in (("/text", BIG.encode()), ("/file-big", FILE_BIG),
                          ("/stream", BIG.encode())):
            status, headers, data = raw(c, "GET", url, GZ)
            assert status == 200
            assert ("content-encoding", "gzip") in headers
            assert gzip.decompress(data) == body
            assert len(data) < len(body)


async def _asgi(app, reqs):
    out = []
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        for m, u, h in reqs:
            hh = {"accept-encoding": "identity"}
            hh.update(h)
            r = await c.request(m, u, headers=hh)
            items = sorted((k, v) for k, v in r.headers.multi_items() if k not in DROP)
            out.append((r.status_code, items, r.content))
    return out


@pytest.mark.parametrize("name", ["cors_gzip", "hosts", "https"])
def test_asgi_face_same_as_fastapi(files, name):
    make, reqs, want = APPS[name]
    # ASGITransport collects the body: no file or stream framing to compare
    reqs = [r for r in reqs if not r[1].startswith(("/file", "/stream"))]
    fa_app = make(framework("fastapi"), files)
    fr_app = make(framework("fastrapi"), files)
    a = asyncio.run(_asgi(fa_app, reqs))
    b = asyncio.run(_asgi(fr_app, reqs))
    for req, x, y in zip(reqs, a, b):
        assert y == x, req
    assert fr_app.middleware_stack is None
    assert fr_app._asgi_server().middleware_count() == want


def test_unknown_options_keep_starlettes_class(files):
    """Options the engine does not take leave the app on Starlette's stack,
    which then answers as FastAPI does."""
    from starlette.middleware.cors import CORSMiddleware
    from starlette.middleware.gzip import GZipMiddleware
    from fastrapi import _native_mw
    fw = framework("fastrapi")
    app = fw.FastAPI()
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_origin_regex=r"(?i)https://x")
    assert _native_mw.plan(app) is None
    app = fw.FastAPI()
    app.add_middleware(GZipMiddleware, compresslevel=12)
    assert _native_mw.plan(app) is None

    class MyCORS(CORSMiddleware):
        pass
    app = fw.FastAPI()
    app.add_middleware(MyCORS, allow_origins=["*"])
    assert _native_mw.plan(app) is None
    app = fw.FastAPI()

    @app.middleware("http")
    async def mw(request, call_next):
        return await call_next(request)
    app.add_middleware(GZipMiddleware)
    # @app.middleware is an around layer of the native server's chain (GZip
    # outermost); the ASGI face keeps Starlette's stack for it
    assert [name for name, _ in _native_mw.plan(app)] == ["GZipMiddleware", "http"]
    assert _native_mw.plan(app)[1][1] == (mw,)
    assert _native_mw.asgi_plan(app) is None
    from starlette.middleware.base import BaseHTTPMiddleware

    class MyBase(BaseHTTPMiddleware):  # a subclass (its own dispatch): Starlette's stack
        async def dispatch(self, request, call_next):
            return await call_next(request)
    app = fw.FastAPI()
    app.add_middleware(MyBase)
    assert _native_mw.plan(app) is None
    app = fw.FastAPI()
    app.add_middleware(CORSMiddleware, allow_origins="*")  # a str, not a list: Starlette's quirks
    assert _native_mw.plan(app) is None
    app = fw.FastAPI()
    app.add_middleware(GZipMiddleware, minimum_size=10)
    app.add_middleware(CORSMiddleware, allow_origins=["https://a.example"], max_age=5)
    p = _native_mw.plan(app)
    assert [n for n, _ in p] == ["CORSMiddleware", "GZipMiddleware"]  # outermost first


def test_bad_options_fail_like_starlette():
    """TrustedHost's assertions: Starlette raises when the stack is built (the
    first request); fastrapi keeps the class, so the request fails the same."""
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from fastrapi import _native_mw
    results = []
    for name in ("fastapi", "fastrapi"):
        fw = framework(name)
        app = fw.FastAPI()
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=["a*.example.com"])

        @app.get("/")
        def root():
            return 1

        if name == "fastrapi":
            assert _native_mw.plan(app) is None

        async def go():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                await c.get("/")
        with pytest.raises(AssertionError) as e:
            asyncio.run(go())
        results.append(str(e.value))
    assert results[0] == results[1]


def test_https_redirect_behind_a_trusted_proxy(files):
    """X-Forwarded-Proto from a trusted proxy (uvicorn's --proxy-headers, the
    native server's forwarded_allow_ips) decides the scheme the C
    HTTPSRedirectMiddleware sees."""
    fa_app = https_app(framework("fastapi"), files)
    fr_app = https_app(framework("fastrapi"), files)
    fa = Uvicorn(fa_app, proxy_headers=True, forwarded_allow_ips="127.0.0.1")
    srv = fr_app._build_server(access_log=False, no_signals=True, threads=1,
                               net={"forwarded_allow_ips": "127.0.0.1", "root_path": None})
    port = srv.listen("127.0.0.1", 0)
    t = threading.Thread(target=srv.serve, daemon=True)
    t.start()
    try:
        assert srv.middleware_count() == 2
        reqs = [("GET", "/items/1?a=b", {"host": "example.com", "x-forwarded-proto": "https"}),
                ("GET", "/big", dict(GZ, host="example.com", **{"x-forwarded-proto": "https"})),
                ("GET", "/items/1", {"host": "example.com", "x-forwarded-proto": "http"}),
                ("GET", "/items/1", {"host": "example.com:8000"})]
        with httpx.Client(base_url=f"http://127.0.0.1:{fa.port}", timeout=30) as ca, \
                httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as cb:
            statuses = []
            for m, u, h in reqs:
                a, b = raw(ca, m, u, h), raw(cb, m, u, h)
                assert b == a, (u, h)
                statuses.append(b[0])
        assert statuses == [200, 200, 307, 307]
    finally:
        srv.stop()
        t.join(10)
        fa.close()
    assert fr_app.middleware_stack is None


def test_add_middleware_after_start_still_refused(files):
    from starlette.middleware.gzip import GZipMiddleware
    fa, fr, fr_app = servers("cors_gzip", files)
    with pytest.raises(RuntimeError, match="after an application has started"):
        fr_app.add_middleware(GZipMiddleware)
