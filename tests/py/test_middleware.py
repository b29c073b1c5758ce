"""Middleware as FastAPI has it: ``@app.middleware("http")`` (call_next),
``app.add_middleware(cls, **options)`` / ``FastAPI(middleware=[...])`` with
Starlette's classes and any raw ASGI middleware. The same app source runs on
FastAPI and on fastrapi -- on fastrapi's native server (its TestClient) and
through the ASGI face (httpx.ASGITransport) -- and must answer the same."""
import asyncio

import httpx
import pytest

from conftest import framework


class TagMiddleware:
    """A raw ASGI middleware (what slowapi, Sentry, OpenTelemetry add)."""

    def __init__(self, app, tag="raw"):
        self.app = app
        self.tag = tag

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_tagged(message):
            if message["type"] == "http.response.start":
                message = dict(message, headers=list(message["headers"]) + [(b"x-tag", self.tag.encode())])
            await send(message)
        await self.app(scope, receive, send_tagged)


def make_app(fw):
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    app = fw.FastAPI(middleware=[Middleware(TagMiddleware, tag="ctor")])
    app.add_middleware(GZipMiddleware, minimum_size=100)
    app.add_middleware(CORSMiddleware, allow_origins=["https://a.example"], allow_credentials=True,
                       allow_methods=["GET", "POST"], allow_headers=["x-custom"], expose_headers=["x-order"])
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["testserver", "*.example.org"])

    @app.middleware("http")
    async def order(request, call_next):
        request.state.seen = "yes"
        if request.url.path == "/short":
            return fw.responses.JSONResponse({"short": True}, status_code=299)
        response = await call_next(request)
        response.headers["x-order"] = "outer"
        if request.url.path == "/status":
            response.status_code = 203
        return response

    @app.middleware("http")
    async def inner(request, call_next):
        try:
            response = await call_next(request)
        except ValueError:
            return fw.responses.PlainTextResponse("caught", status_code=500)
        response.headers["x-inner"] = request.state.seen
        return response

    @app.get("/")
    def root():
        return {"hello": "world"}

    @app.get("/big")
    def big():
        return {"data": "x" * 1000}

    @app.get("/items/{i}")
    async def item(i: int):
        return {"i": i}

    @app.get("/status")
    def status():
        return "s"

    @app.get("/value-error")
    def value_error():
        raise ValueError("v")

    @app.get("/stream")
    def stream():
        return fw.responses.StreamingResponse(iter([b"a" * 60, b"b" * 60]), media_type="text/plain")

    return app


REQUESTS = [
    ("GET", "/", {}),
    ("GET", "/big", {"headers": {"accept-encoding": "gzip"}}),
    ("GET", "/big", {"headers": {"accept-encoding": "identity"}}),
    ("GET", "/items/3", {}),
    ("GET", "/items/x", {}),
    ("GET", "/nope", {}),
    ("POST", "/", {}),
    ("GET", "/short", {}),
    ("GET", "/status", {}),
    ("GET", "/value-error", {}),
    ("GET", "/stream", {"headers": {"accept-encoding": "gzip"}}),
    ("GET", "/", {"headers": {"origin": "https://a.example"}}),
    ("GET", "/", {"headers": {"origin": "https://evil.example"}}),
    ("OPTIONS", "/", {"headers": {"origin": "https://a.example", "access-control-request-method": "POST",
                                   "access-control-request-headers": "x-custom"}}),
    ("OPTIONS", "/", {"headers": {"origin": "https://a.example", "access-control-request-method": "PUT"}}),
    ("GET", "/", {"headers": {"host": "bad.host"}}),
    ("GET", "/", {"headers": {"host": "api.example.org"}}),
]
DROP = {"date", "server", "transfer-encoding"}  # transport framing (hop-by-hop)


def answer(r):
    headers = sorted((k, v) for k, v in r.headers.multi_items() if k not in DROP)
    return r.status_code, headers, r.content


async def via_asgi(app):
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 follow_redirects=False) as c:
        return [answer(await c.request(m, u, **kw)) for m, u, kw in REQUESTS]


@pytest.fixture(scope="module")
def reference():
    from fastapi.testclient import TestClient
    with TestClient(make_app(framework("fastapi")), follow_redirects=False,
                    raise_server_exceptions=False) as c:
        return [answer(c.request(m, u, **kw)) for m, u, kw in REQUESTS]


def test_native_server_same_as_fastapi(reference):
    from fastrapi.testclient import TestClient
    with TestClient(make_app(framework("fastrapi")), follow_redirects=False,
                    raise_server_exceptions=False) as c:
        ours = [answer(c.request(m, u, **kw)) for m, u, kw in REQUESTS]
    for req, a, b in zip(REQUESTS, reference, ours):
        assert b == a, req


def test_asgi_face_same_as_fastapi(reference):
    ours = asyncio.run(via_asgi(make_app(framework("fastrapi"))))
    for req, a, b in zip(REQUESTS, reference, ours):
        assert b == a, req


def test_add_middleware_after_start_is_refused_like_fastapi():
    from starlette.middleware.gzip import GZipMiddleware
    for name in ("fastapi", "fastrapi"):
        fw = framework(name)
        app = make_app(fw)
        asyncio.run(via_asgi(app))
        with pytest.raises(RuntimeError, match="after an application has started"):
            app.add_middleware(GZipMiddleware)


def test_unhandled_exception_in_handler_reaches_the_test_like_starlette():
    from fastapi.testclient import TestClient as FaClient
    from fastrapi.testclient import TestClient as FrClient
    for fw, client in ((framework("fastapi"), FaClient), (framework("fastrapi"), FrClient)):
        app = fw.FastAPI()

        @app.middleware("http")
        async def passthrough(request, call_next):
            return await call_next(request)

        @app.get("/boom")
        def boom():
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            client(app).get("/boom")
        r = client(app, raise_server_exceptions=False).get("/boom")
        assert (r.status_code, r.text) == (500, "Internal Server Error")


def test_fastapi_and_seed_import_paths_give_starlettes_classes():
    import importlib
    import starlette.middleware.cors as s_cors
    import starlette.middleware.gzip as s_gzip
    import starlette.middleware.httpsredirect as s_https
    import starlette.middleware.sessions as s_sessions
    import starlette.middleware.trustedhost as s_th
    from fastrapi import middleware as m
    assert m.CORSMiddleware is s_cors.CORSMiddleware
    assert m.GZipMiddleware is s_gzip.GZipMiddleware
    assert m.SessionMiddleware is s_sessions.SessionMiddleware
    assert m.TrustedHostMiddleware is s_th.TrustedHostMiddleware
    assert m.HTTPSRedirectMiddleware is s_https.HTTPSRedirectMiddleware
    for sub, name, ref in (("cors", "CORSMiddleware", s_cors), ("gzip", "GZipMiddleware", s_gzip),
                           ("trustedhost", "TrustedHostMiddleware", s_th),
                           ("httpsredirect", "HTTPSRedirectMiddleware", s_https)):
        ours = importlib.import_module(f"fastrapi.middleware.{sub}")
        assert getattr(ours, name) is getattr(ref, name)
    with pytest.raises(AttributeError):
        m.NoSuchMiddleware  # noqa: B018


def test_session_middleware_cookie_round_trip_like_fastapi():
    from starlette.middleware.sessions import SessionMiddleware
    results = []
    for name in ("fastapi", "fastrapi"):
        fw = framework(name)
        app = fw.FastAPI()
        app.add_middleware(SessionMiddleware, secret_key="k" * 32)

        @app.get("/login")
        def login(request: fw.Request):
            request.session["user"] = "ann"
            return "ok"

        @app.get("/me")
        def me(request: fw.Request):
            return request.session.get("user")

        if name == "fastapi":
            from fastapi.testclient import TestClient
        else:
            from fastrapi.testclient import TestClient
        with TestClient(app) as c:
            r1 = c.get("/login")
            r2 = c.get("/me")
            results.append((r1.json(), "session=" in r1.headers["set-cookie"], r2.json()))
    assert results[0] == results[1] == ("ok", True, "ann")


def test_raw_middleware_code_after_the_app_runs_before_the_next_request():
    """A raw ASGI middleware's code after ``await app(...)`` (where
    prometheus-fastapi-instrumentator records its metrics) runs before the
    client's next request reaches the app, as on uvicorn: the face's call
    returns with its last body, not whenever the engine thread that
    finished the response is next scheduled."""
    import sys

    from fastrapi import FastAPI
    from fastrapi.testclient import TestClient

    events = []

    class Order:
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            if scope["type"] != "http":
                return await self.app(scope, receive, send)
            events.append(("in", scope["path"]))
            await self.app(scope, receive, send)
            events.append(("out", scope["path"]))

    app = FastAPI()
    app.add_middleware(Order)

    @app.get("/i/{n}")
    def item(n: int):
        return n

    @app.post("/a")
    async def create(body: dict):
        return body

    sent = []
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # a GIL switch at every chance: a race would show
    try:
        with TestClient(app) as c:
            for i in range(100):
                for method, url, status in (("GET", f"/i/{i}", 200), ("GET", "/i/x", 422),
                                            ("POST", "/a", 200)):
                    r = c.request(method, url, json={"i": i} if method == "POST" else None)
                    assert r.status_code == status, r.text
                    sent.append(url)
    finally:
        sys.setswitchinterval(old)
    assert events == [e for url in sent for e in (("in", url), ("out", url))]
