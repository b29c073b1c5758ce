"""``app.mount(path, asgi_app)`` and ``app.host(...)`` as FastAPI has them:
a FastAPI sub-app (its own routes, docs, OpenAPI with the root_path in
``servers``), a Starlette app, ``StaticFiles``, a WSGI app through a2wsgi and
through Starlette's adapter, a raw ASGI app, a mount with path parameters.
The same app source runs on FastAPI (its TestClient and uvicorn) and on
fastrapi -- the native server (fastrapi.testclient) and the ASGI face
(Starlette's TestClient) -- and must give the same answers. On the native
server only requests under a mount run Python ASGI code: the app's own routes
stay on the engine."""
import asyncio
import json
import os
import warnings

import httpx
import pytest

from conftest import framework


class BoomApp:
    """A raw ASGI app that raises: an HTTPException for the parent's handlers,
    or an unhandled error (500 from the parent's ServerErrorMiddleware)."""

    async def __call__(self, scope, receive, send):
        from starlette.exceptions import HTTPException
        if scope["path"].endswith("/http"):
            raise HTTPException(status_code=409, detail="from the mount", headers={"x-m": "1"})
        if scope["path"].endswith("/boom"):
            raise RuntimeError("mounted app failed")
        body = json.dumps({"path": scope["path"], "root_path": scope["root_path"],
                           "app_root_path": scope.get("app_root_path"),
                           "path_params": scope.get("path_params")}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


def wsgi_app(environ, start_response):
    body = environ["wsgi.input"].read()
    out = json.dumps({"method": environ["REQUEST_METHOD"], "script": environ["SCRIPT_NAME"],
                      "path": environ["PATH_INFO"], "qs": environ["QUERY_STRING"],
                      "body": body.decode()}).encode()
    start_response("201 Created", [("Content-Type", "application/json"),
                                   ("Content-Length", str(len(out))), ("X-Wsgi", "yes")])
    return [out]


@pytest.fixture(scope="module")
def static_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("static")
    (d / "a.txt").write_text("hello static")
    (d / "index.html").write_text("<h1>index</h1>")
    (d / "docs").mkdir()
    (d / "docs" / "index.html").write_text("<p>docs</p>")
    (d / "404.html").write_text("<p>custom 404</p>")
    return str(d)


def make_app(fw, static_dir):
    from a2wsgi import WSGIMiddleware
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route
    from starlette.staticfiles import StaticFiles
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fw.name == "fastapi":
            from fastapi.middleware.wsgi import WSGIMiddleware as StarletteWSGI
        else:
            from fastrapi.middleware.wsgi import WSGIMiddleware as StarletteWSGI

    sub = fw.FastAPI(title="Sub API")

    @sub.get("/items/{i}", name="item")
    def item(i: int, request: fw.Request, q: str = "x"):
        return {"i": i, "q": q, "root_path": request.scope.get("root_path"),
                "url": str(request.url), "for": str(request.url_for("sub:item", i=7)),
                "base": str(request.base_url)}

    @sub.post("/echo")
    async def echo(body: dict):
        return body

    @sub.get("/teapot")
    def teapot():
        raise fw.HTTPException(418, "short", headers={"x-pot": "1"})

    def hello(request):
        return PlainTextResponse(f"hello {request.url.path} {request.scope['root_path']}")

    def star_raise(request):
        from starlette.exceptions import HTTPException
        raise HTTPException(status_code=400, detail="star says no")

    def star_params(request):
        return JSONResponse({"pp": request.path_params, "root": request.scope["root_path"]})

    star = Starlette(routes=[Route("/hello", hello), Route("/raise", star_raise),
                             Route("/p/{x}", star_params)])

    app = fw.FastAPI()

    @app.get("/top")
    def top():
        return {"top": True}

    @app.get("/links")
    def links(request: fw.Request):
        return {"static": str(request.url_for("static", path="a.txt")),
                "sub": str(request.url_for("sub", path="/items/1")),
                "item": str(request.app.url_path_for("sub:item", i=2))}

    app.mount("/sub", sub, name="sub")
    app.mount("/static", StaticFiles(directory=static_dir), name="static")
    app.mount("/site", StaticFiles(directory=static_dir, html=True), name="site")
    app.mount("/star", star)
    app.mount("/wsgi", WSGIMiddleware(wsgi_app))
    app.mount("/swsgi", StarletteWSGI(wsgi_app))
    app.mount("/raw", BoomApp())
    app.mount("/u/{uid}", star)
    return app


REQUESTS = [
    ("GET", "/top", {}),
    ("GET", "/top/", {}),
    ("GET", "/nope", {}),
    # a FastAPI sub-app
    ("GET", "/sub/items/3?q=z", {}),
    ("GET", "/sub/items/x", {}),
    ("POST", "/sub/items/3", {}),
    ("GET", "/sub/nope", {}),
    ("GET", "/sub/", {}),
    ("GET", "/sub", {}),
    ("GET", "/sub?a=1&b=2", {}),
    ("POST", "/sub", {}),
    ("GET", "/sub/items/3/", {}),
    ("POST", "/sub/echo", {"json": {"k": [1, 2]}}),
    ("POST", "/sub/echo", {"content": b"{bad", "headers": {"content-type": "application/json"}}),
    ("GET", "/sub/teapot", {}),
    ("GET", "/sub/docs", {}),
    ("GET", "/sub/redoc", {}),
    ("GET", "/sub/docs/oauth2-redirect", {}),
    ("GET", "/sub/openapi.json", {}),
    ("GET", "/openapi.json", {}),
    ("GET", "/links", {}),
    ("GET", "/subway", {}),
    # StaticFiles
    ("GET", "/static/a.txt", {}),
    ("HEAD", "/static/a.txt", {}),
    ("GET", "/static/a.txt", {"headers": {"range": "bytes=0-4"}}),
    ("GET", "/static/missing.txt", {}),
    ("HEAD", "/static/missing.txt", {}),
    ("POST", "/static/a.txt", {}),
    ("GET", "/static/../test_mount.py", {}),
    ("GET", "/static", {}),
    ("GET", "/static/", {}),
    ("GET", "/site/", {}),
    ("GET", "/site/docs", {}),
    ("GET", "/site/docs/", {}),
    ("GET", "/site/nothing", {}),
    # a Starlette app, with its own error handling
    ("GET", "/star/hello", {}),
    ("GET", "/star/nope", {}),
    ("GET", "/star/raise", {}),
    ("GET", "/star/p/abc", {}),
    # mount path parameters
    ("GET", "/u/42/p/abc", {}),
    ("GET", "/u/42/hello", {}),
    # WSGI
    ("GET", "/wsgi/x/y?z=1", {}),
    ("POST", "/wsgi/p", {"content": b"data"}),
    ("PUT", "/swsgi/q", {"content": b"put"}),
    # a raw ASGI app: its exceptions meet the parent's handlers
    ("GET", "/raw/x", {}),
    ("DELETE", "/raw/", {}),
    ("GET", "/raw/http", {}),
    ("GET", "/raw/boom", {}),
]
DROP = {"date", "server", "transfer-encoding"}  # transport framing


def answer(r):
    headers = sorted((k, v) for k, v in r.headers.multi_items() if k not in DROP)
    return r.status_code, headers, r.content


def run_all(client, requests=REQUESTS):
    return [answer(client.request(m, u, **kw)) for m, u, kw in requests]


def fastapi_answers(static_dir, requests=REQUESTS, make=None):
    from fastapi.testclient import TestClient
    app = (make or make_app)(framework("fastapi"), static_dir)
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as c:
        return run_all(c, requests)


def native_answers(static_dir, requests=REQUESTS, make=None):
    from fastrapi.testclient import TestClient
    app = (make or make_app)(framework("fastrapi"), static_dir)
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as c:
        return run_all(c, requests)


def asgi_answers(static_dir, requests=REQUESTS, make=None):
    from starlette.testclient import TestClient
    app = (make or make_app)(framework("fastrapi"), static_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as c:
            return run_all(c, requests)


@pytest.fixture(scope="module")
def reference(static_dir):
    return fastapi_answers(static_dir)


def check(ours, ref, requests=REQUESTS):
    assert len(ours) == len(ref) == len(requests)
    for req, a, b in zip(requests, ref, ours):
        assert b == a, req


def test_reference_is_meaningful(reference):
    """Guard against a reference that would make every comparison trivial."""
    got = {}
    for (m, u, _), a in zip(REQUESTS, reference):
        got.setdefault((m, u), a)
    assert got[("GET", "/sub/items/3?q=z")][0] == 200
    assert json.loads(got[("GET", "/sub/openapi.json")][2])["servers"] == [{"url": "/sub"}]
    assert got[("GET", "/static/a.txt")][2] == b"hello static"
    assert ("content-length", "12") in got[("HEAD", "/static/a.txt")][1]
    assert got[("GET", "/sub")][0] == 307
    assert got[("GET", "/static/missing.txt")][2] == b'{"detail":"Not Found"}'
    assert got[("GET", "/raw/boom")][:1] == (500,)


def test_native_server_same_as_fastapi(static_dir, reference):
    check(native_answers(static_dir), reference)


def test_asgi_face_same_as_fastapi(static_dir, reference):
    check(asgi_answers(static_dir), reference)


def test_httpx_asgi_transport_same_as_fastapi(static_dir, reference):
    app = make_app(framework("fastrapi"), static_dir)

    async def main():
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return [answer(await c.request(m, u, **kw)) for m, u, kw in REQUESTS]
    ours = asyncio.run(main())
    # httpx's transport sends no user-agent/host differences that the apps echo
    check(ours, reference)


# --------------------------------------------------------------------------
# handlers, middleware, Host routes, late mounts


def make_handled(fw, static_dir):
    """Custom handlers of the parent apply inside mounts (FastAPI's
    ExceptionMiddleware wraps its router): StaticFiles' 404 and a raw app's
    HTTPException get them; a raw ASGI middleware wraps mounted answers too."""
    from starlette.exceptions import HTTPException as StarletteHTTPException
    from starlette.staticfiles import StaticFiles
    from test_middleware import TagMiddleware
    app = fw.FastAPI()
    app.add_middleware(TagMiddleware, tag="outer")

    @app.exception_handler(StarletteHTTPException)  # as FastAPI's docs register it
    async def handler(request, exc):
        return fw.responses.JSONResponse({"custom": exc.detail, "path": request.url.path},
                                         status_code=exc.status_code)

    @app.exception_handler(500)
    async def on_500(request, exc):
        return fw.responses.PlainTextResponse(f"handled {exc}", status_code=500)

    @app.get("/top")
    def top():
        return {"top": 1}

    app.mount("/static", StaticFiles(directory=static_dir))
    app.mount("/raw", BoomApp())
    return app


HANDLED = [("GET", "/top", {}), ("GET", "/nope", {}), ("GET", "/static/a.txt", {}),
           ("GET", "/static/none", {}), ("GET", "/static", {}), ("GET", "/raw/http", {}),
           ("GET", "/raw/boom", {}), ("GET", "/raw/ok", {})]


@pytest.mark.parametrize("runner", [native_answers, asgi_answers], ids=["native", "asgi"])
def test_parent_handlers_and_middleware_apply_in_mounts(static_dir, runner):
    ref = fastapi_answers(static_dir, HANDLED, make_handled)
    assert json.loads(ref[3][2]) == {"custom": "Not Found", "path": "/static/none"}
    assert ("x-tag", "outer") in ref[2][1]
    check(runner(static_dir, HANDLED, make_handled), ref, HANDLED)


def make_hosts(fw, static_dir):
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    def who(request):
        return PlainTextResponse(f"{request.path_params} {request.url.path}")

    app = fw.FastAPI()

    @app.get("/shared")
    def shared():
        return "app route first"

    app.host("{sub}.example.org", Starlette(routes=[Route("/shared", who), Route("/only", who)]))

    @app.get("/after")
    def after():
        return "after the host route"
    return app


HOSTS = [("GET", "/shared", {}), ("GET", "/shared", {"headers": {"host": "api.example.org"}}),
         ("GET", "/only", {"headers": {"host": "api.example.org"}}), ("GET", "/only", {}),
         ("GET", "/after", {"headers": {"host": "api.example.org"}}), ("GET", "/after", {}),
         ("POST", "/shared", {})]


@pytest.mark.parametrize("runner", [native_answers, asgi_answers], ids=["native", "asgi"])
def test_host_routes_like_fastapi(static_dir, runner):
    ref = fastapi_answers(static_dir, HOSTS, make_hosts)
    assert ref[2][2] == b"{'sub': 'api'} /only" and ref[4][0] == 404
    check(runner(static_dir, HOSTS, make_hosts), ref, HOSTS)


def test_mount_after_the_client_started_is_served():
    from starlette.responses import PlainTextResponse
    from fastrapi import FastAPI
    from fastrapi.testclient import TestClient
    app = FastAPI()
    with TestClient(app) as c:
        assert c.get("/late/x").status_code == 404
        app.mount("/late", PlainTextResponse("late mount"))
        r = c.get("/late/x")
        assert (r.status_code, r.text) == (200, "late mount")


def test_unhandled_error_in_a_mount_reaches_the_test_like_starlette():
    from fastapi import FastAPI as FaFastAPI
    from fastapi.testclient import TestClient as FaClient
    from fastrapi import FastAPI as FrFastAPI
    from fastrapi.testclient import TestClient as FrClient
    from starlette.testclient import TestClient as StClient
    for cls, client in ((FaFastAPI, FaClient), (FrFastAPI, FrClient), (FrFastAPI, StClient)):
        app = cls()
        app.mount("/raw", BoomApp())
        with pytest.raises(RuntimeError, match="mounted app failed"):
            client(app).get("/raw/boom")


def test_only_mounted_paths_take_the_asgi_bridge_on_the_native_server(static_dir):
    """The app's own routes keep the engine's path: the Python ASGI stack runs
    for requests under a mount only."""
    from fastrapi.testclient import TestClient
    app = make_app(framework("fastrapi"), static_dir)
    calls = []
    real = app._stack

    def counting_stack():
        calls.append(1)
        return real()
    app._stack = counting_stack
    with TestClient(app) as c:
        assert c.get("/top").json() == {"top": True}
        assert c.get("/nope").status_code == 404
        assert c.get("/top/", follow_redirects=False).status_code == 307
        assert calls == []
        assert c.get("/static/a.txt").text == "hello static"
        assert calls == []  # StaticFiles is served by the engine (src/static.c)
        assert c.get("/sub/items/1").json()["i"] == 1
        assert len(calls) == 1


def test_mount_matches_starlettes_route_objects():
    from starlette.routing import Host, Mount
    from starlette.staticfiles import StaticFiles
    from fastrapi import FastAPI
    app = FastAPI()
    sub = FastAPI()
    app.mount("/sub/", sub, name="s")
    app.host("api.example.org", sub, name="h")
    mounts = [r for r in app.routes if isinstance(r, (Mount, Host))]
    assert [type(r) for r in mounts] == [Mount, Host]
    assert mounts[0].path == "/sub" and mounts[0].app is sub and mounts[0].name == "s"
    assert app.url_path_for("s", path="/x") == "/sub/x"
    assert "/sub" not in json.dumps(app.openapi()["paths"])
    with pytest.raises(AssertionError):
        app.mount("no-slash", StaticFiles(directory="."))


def test_uvicorn_serves_fastapi_like_fastrapi_native(static_dir, reference):
    """FastAPI over real HTTP (uvicorn) agrees with the reference for what the
    TestClient cannot show: HEAD and the framing of mounted answers."""
    import threading

    import uvicorn
    app = make_app(framework("fastapi"), static_dir)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="off")
    server = uvicorn.Server(config)
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    try:
        for _ in range(600):
            if server.started:
                break
            t.join(0.05)
        assert server.started
        port = server.servers[0].sockets[0].getsockname()[1]
        picked = [r for r in REQUESTS if r[1].startswith(("/static", "/wsgi", "/sub/items"))]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"host": "testserver"},
                          follow_redirects=False) as c:
            over_http = run_all(c, picked)
    finally:
        server.should_exit = True
        t.join(30)
    native = dict(zip(map(repr, REQUESTS), native_answers(static_dir)))
    for req, a in zip(picked, over_http):
        b = native[repr(req)]
        # httpx sends its own user-agent: the sub-app echoes no headers, so
        # everything must be equal
        assert b == a, req
    assert os.path.exists(static_dir)


def make_root_path(fw, static_dir):
    """An app with root_path (FastAPI sets it in the scope; a proxy or
    uvicorn --root-path sends paths with or without the prefix)."""
    app = fw.FastAPI(root_path="/api")

    @app.get("/items")
    def items(request: fw.Request):
        return {"url": str(request.url), "root": request.scope.get("root_path")}

    @app.get("/")
    def root():
        return "root"

    app.mount("/files", BoomApp())
    return app


ROOT_PATH = [("GET", u, {}) for u in ("/items", "/api/items", "/api/items/", "/api", "/api/",
                                      "/api/openapi.json", "/openapi.json", "/api/docs", "/apix",
                                      "/api/files/x", "/files/x", "/api/files")]


def test_root_path_on_the_asgi_face_like_fastapi(static_dir):
    ref = fastapi_answers(static_dir, ROOT_PATH, make_root_path)
    assert ref[3][0] == 307 and ("location", "http://testserver/api/") in ref[3][1]
    assert json.loads(ref[9][2])["root_path"] == "/api/files"
    check(asgi_answers(static_dir, ROOT_PATH, make_root_path), ref, ROOT_PATH)


def test_asgi_face_after_the_native_server_runs_async_handlers_on_its_own_loop():
    """A native server started the engine's own loop; a later ASGI server's
    requests that need the loop (an async exception handler) must run on the
    ASGI server's loop, not wait on the other one forever."""
    import subprocess
    import sys
    from helpers import ROOT
    code = '''
import warnings; warnings.simplefilter("ignore")
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.testclient import TestClient as StClient
from fastrapi import FastAPI
from fastrapi.testclient import TestClient
def make():
    app = FastAPI()
    @app.exception_handler(HTTPException)
    async def handler(request, exc):
        return JSONResponse({"handled": exc.status_code}, status_code=exc.status_code)
    app.mount("/m", JSONResponse({"mounted": 1}))
    return app
with TestClient(make()) as c:
    print(c.get("/nope").json(), c.get("/m/x").json())
for _ in range(2):
    with StClient(make()) as c:
        print(c.get("/nope").json(), c.get("/m/x").json())
'''
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["{'handled': 404} {'mounted': 1}"] * 3


@pytest.mark.parametrize("kind", ["fastrapi", "native", "fastrapi-uvicorn"])
def test_a_route_under_an_earlier_mount_is_shadowed(kind):
    """Starlette matches in registration order: a route added under a mount's
    prefix after the mount is never reached (fastapi-versioning adds such
    placeholder /v1_0/docs routes after mounting each version's app; fastrapi
    served the placeholders). A route added before the mount, or at the
    mount's bare path, still wins."""
    from conftest import framework
    from helpers import served

    def make(name):
        fw = framework(name)
        app, sub = fw.FastAPI(), fw.FastAPI()

        @sub.get("/x")
        def x():
            return "sub x"

        @sub.get("/early")
        def sub_early():
            return "sub early"

        @app.get("/m/early")
        def early():
            return "parent early"

        app.mount("/m", sub)

        @app.get("/m/x")
        def late():
            return "parent late"

        @app.get("/m")
        def bare():
            return "bare"
        return app

    def answers(name, k):
        with served(make(name), k) as c:
            return [(r.status_code, r.text) for r in (c.get(p) for p in ("/m/x", "/m/early", "/m", "/m/y"))]

    want = answers("fastapi", "fastapi")
    assert want == [(200, '"sub x"'), (200, '"parent early"'), (200, '"bare"'), (404, '{"detail":"Not Found"}')]
    assert answers("fastrapi", kind) == want


@pytest.mark.parametrize("sub_kind", ["fastapi-app", "starlette-route"])
def test_unhandled_error_of_a_mounted_app_after_its_500_reaches_the_test(sub_kind):
    """A mounted FastAPI app (or a Starlette app's route) answers its own
    500 and then raises: FastAPI's TestClient raises it; fastrapi's returned
    the 500 (the error went only to the log)."""
    from conftest import framework
    from starlette.applications import Starlette
    from starlette.routing import Route

    def boom(request):
        raise ValueError("subboom")

    for name in ("fastapi", "fastrapi"):
        fw = framework(name)
        TestClient = __import__(name + ".testclient", fromlist=["x"]).TestClient
        app = fw.FastAPI()
        if sub_kind == "fastapi-app":
            sub = fw.FastAPI()
            sub.get("/err")(lambda: boom(None))
        else:
            sub = Starlette(routes=[Route("/err", boom)])
        app.mount("/sub", sub)
        with pytest.raises(ValueError, match="subboom"):
            TestClient(app).get("/sub/err")
        r = TestClient(app, raise_server_exceptions=False).get("/sub/err")
        assert (r.status_code, r.text) == (500, "Internal Server Error")


@pytest.mark.parametrize("kind", ["fastrapi", "native", "fastrapi-uvicorn"])
def test_mount_and_host_parameters_reach_the_mounted_app(kind):
    """A mount's or host's own path parameters (``/tenant/{tid}``,
    ``{sub}.example.com``) start the mounted app's ``request.path_params``,
    as Starlette's Route.matches starts from the scope's (fastrapi's mounted
    apps saw only their route's)."""
    from conftest import framework
    from helpers import served
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def make(name):
        fw = framework(name)
        app, sub, api = fw.FastAPI(), fw.FastAPI(), fw.FastAPI()

        @sub.get("/info/{n}")
        def info(n: int, request: fw.Request):
            return {"pp": request.path_params, "n": n}

        @api.get("/h")
        def h(request: fw.Request):
            return {"pp": request.path_params}

        async def star(request):
            return JSONResponse({"pp": request.path_params})

        app.mount("/tenant/{tid}", sub)
        app.mount("/s/{sid}", Starlette(routes=[Route("/x/{y}", star)]))
        app.host("{sub}.example.com", api)
        return app

    def answers(name, k):
        with served(make(name), k) as c:
            return [c.get("/tenant/42/info/7").json(), c.get("/s/7/x/8").json(),
                    c.get("/h", headers={"host": "foo.example.com"}).json()]

    want = answers("fastapi", "fastapi")
    assert want == [{"pp": {"tid": "42", "n": "7"}, "n": 7}, {"pp": {"sid": "7", "y": "8"}},
                    {"pp": {"sub": "foo"}}]
    assert answers("fastrapi", kind) == want
