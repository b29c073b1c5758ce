"""``app.frontend`` / ``APIRouter.frontend`` with dependencies, differential
against FastAPI 0.165.

FastAPI runs a frontend's dependencies -- the app's, the router's (at its
first ``frontend()``), ``include_router(dependencies=...)`` and the
including routers' -- before a GET or HEAD is answered from the files: an
auth dependency refuses, a dependency's ``Response`` headers join the file
answer (not a Range error's), its background tasks run after it (not
after a refusal or a Range error), and other methods get their 405 / 404
without running them. The engine serves the files
(``fr_frontend_opts.guard``, ``fr_frontend_serve``); the same app source runs
on FastAPI + uvicorn, on fastrapi's native server and on fastrapi under
uvicorn, compared over raw sockets."""
import os
import time

import pytest

from conftest import framework
from helpers import Uvicorn, raw_request as send_raw, wait_until
from test_static import MTIME, _write

DROP = {"date", "server", "connection", "keep-alive"}
NAV = ("Accept", "text/html,application/xhtml+xml")
TOKEN = ("X-Token", "ok")


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    root = tmp_path_factory.mktemp("frontdeps")
    spa, docs = str(root / "spa"), str(root / "docs")
    for name, data in {"index.html": b"<h1>spa</h1>", "assets/app.js": b"spa()",
                       "sub/index.html": b"<p>sub</p>", "big.txt": b"0123456789" * 10}.items():
        _write(os.path.join(spa, name), data)
    for name, data in {"index.html": b"<h1>docs</h1>", "404.html": b"<p>docs 404</p>"}.items():
        _write(os.path.join(docs, name), data)
    return {"spa": spa, "docs": docs}


def make_app(fw, d, log):
    """App-level auth, a router with a header-setting yield dependency and a
    background task, included with a query dependency; a second router
    nested one level deeper; an app-level frontend and two included ones."""

    def auth(x_token: str = fw.Header(None)):
        log.append("auth")
        if x_token != "ok":
            raise fw.HTTPException(401, "Not authenticated", headers={"WWW-Authenticate": "Bearer"})

    async def stamp(response: fw.Response, background: fw.BackgroundTasks):
        log.append("stamp in")
        response.headers["x-stamp"] = "1"
        response.set_cookie("seen", "yes")
        background.add_task(log.append, "background")
        try:
            yield
        except fw.HTTPException as e:
            log.append(f"stamp saw {e.status_code}")
            raise
        finally:
            log.append("stamp out")

    def version(v: int = 1):
        log.append(f"version {v}")

    def inner():
        log.append("inner")

    app = fw.FastAPI(dependencies=[fw.Depends(auth)])

    @app.get("/api/log")
    def read_log():
        out = list(log)
        log.clear()
        return out

    app.frontend("/", directory=d["spa"])
    router = fw.APIRouter(dependencies=[fw.Depends(stamp)])
    router.frontend("/ui", directory=d["spa"], fallback="index.html")
    router.frontend("/ui/docs", directory=d["docs"])
    nested = fw.APIRouter(dependencies=[fw.Depends(inner)])
    nested.frontend("/n", directory=d["spa"])
    router.include_router(nested, prefix="/deep")
    app.include_router(router, prefix="/r", dependencies=[fw.Depends(version)])
    return app


@pytest.fixture(scope="module")
def servers(dist):
    logs = {k: [] for k in ("fastapi", "native", "asgi")}
    fa = Uvicorn(make_app(framework("fastapi"), dist, logs["fastapi"]))
    fr = make_app(framework("fastrapi"), dist, logs["native"])._start_background("127.0.0.1", 0)
    asgi = Uvicorn(make_app(framework("fastrapi"), dist, logs["asgi"]))
    yield [("fastapi", fa.port, logs["fastapi"]), ("native", fr.port, logs["native"]),
           ("asgi", asgi.port, logs["asgi"])]
    fa.close()
    fr.stop()
    asgi.close()


def request(port, method, target, headers=(), ordered=True):
    """(status, headers without DROP -- in order, or sorted -- , body) over a
    fresh socket. The engine writes content-length last, Starlette often
    first: answers are compared sorted, and the place of the dependencies'
    headers on its own."""
    lines = [f"{method} {target} HTTP/1.1", "Host: testserver", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers]
    resp = send_raw(port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), timeout=30)
    head, _, body = resp.partition(b"\r\n\r\n")
    status_line, *hl = head.decode("latin-1").split("\r\n")
    items = []
    for line in hl:
        k, _, v = line.partition(":")
        if k.lower() not in DROP:
            items.append((k.lower(), v.strip()))
    return int(status_line.split()[1]), items if ordered else sorted(items), body


def settled_log(port, log):
    """The app's log once its background tasks ran (read in-process, then
    cleared through /api/log as the app itself does)."""
    time.sleep(0.05)
    out = list(log)
    assert request(port, "GET", "/api/log", (TOKEN,))[0] == 200
    return out


def etag_of(size):
    import hashlib
    return '"' + hashlib.md5(f"{float(MTIME)}-{size}".encode()).hexdigest() + '"'


CASES = [
    # the app's frontend: the app's dependency only
    ("GET", "/assets/app.js", ()),
    ("GET", "/assets/app.js", (TOKEN,)),
    ("HEAD", "/assets/app.js", (TOKEN,)),
    ("GET", "/assets/app.js", (TOKEN, ("If-None-Match", etag_of(5)))),
    ("GET", "/sub", (TOKEN,)),
    ("GET", "/big.txt", (TOKEN, ("Range", "bytes=3-7"))),
    ("GET", "/big.txt", (TOKEN, ("Range", "bytes=500-"))),
    ("GET", "/nothing.js", (TOKEN,)),
    ("GET", "/client/route", (TOKEN, NAV)),
    ("GET", "/client/route", (NAV,)),
    ("POST", "/assets/app.js", ()),
    ("DELETE", "/nothing", ()),
    # a router's, included with a query dependency: auth, version, stamp
    ("GET", "/r/ui/assets/app.js", (TOKEN,)),
    ("GET", "/r/ui/assets/app.js?v=7", (TOKEN,)),
    ("GET", "/r/ui/assets/app.js?v=x", (TOKEN,)),
    ("GET", "/r/ui/assets/app.js?v=x", ()),
    ("HEAD", "/r/ui/assets/app.js", (TOKEN,)),
    ("GET", "/r/ui/assets/app.js", (TOKEN, ("If-None-Match", etag_of(5)))),
    ("GET", "/r/ui/sub", (TOKEN,)),
    ("GET", "/r/ui/big.txt", (TOKEN, ("Range", "bytes=3-7"))),
    ("GET", "/r/ui/big.txt", (TOKEN, ("Range", "bytes=500-"))),
    ("GET", "/r/ui/big.txt", (TOKEN, ("Range", "bytes=7-3"))),
    ("GET", "/r/ui/missing.js", (TOKEN,)),
    ("GET", "/r/ui/a/client/route", (TOKEN, NAV)),
    ("GET", "/r/ui/docs/nowhere", (TOKEN, NAV)),
    ("GET", "/r/ui/docs/", (TOKEN,)),
    ("POST", "/r/ui/assets/app.js", (TOKEN,)),
    ("PUT", "/r/ui/nothing", (TOKEN,)),
    # nested one level deeper: auth, version, stamp, inner
    ("GET", "/r/deep/n/assets/app.js", (TOKEN,)),
    ("GET", "/r/deep/n/assets/nope.js", (TOKEN,)),
]


@pytest.mark.parametrize("method,target,headers", CASES,
                         ids=[f"{i}-{m}-{t[:40]}" for i, (m, t, _) in enumerate(CASES)])
def test_same_answer_and_dependencies_as_fastapi(servers, method, target, headers):
    results = []
    for name, port, log in servers:
        log.clear()
        status, items, body = request(port, method, target, headers)
        results.append((name, status, sorted(items), body, settled_log(port, log), [k for k, _ in items]))
    _, *want = results[0]
    for name, *got in results[1:]:
        assert got[:4] == want[:4], name
        # the dependencies' headers come after the file answer's own
        for k in ("x-stamp", "set-cookie"):
            if k in want[4] and "etag" in want[4]:
                assert got[4].index(k) > got[4].index("etag"), name


def test_dependencies_ran_in_fastapis_order(servers):
    """The cases above compare logs; here the expected log is spelled out
    so that a server running no dependency at all cannot agree by luck."""
    for name, port, log in servers:
        log.clear()
        assert request(port, "GET", "/r/deep/n/assets/app.js?v=3", (TOKEN,))[0] == 200
        assert settled_log(port, log) == ["auth", "version 3", "stamp in", "inner", "background",
                                          "stamp out"], name
        assert request(port, "GET", "/r/ui/missing.js", (TOKEN,))[0] == 404
        # the files' 404 is raised after the dependencies' exit stack closed
        # in FastAPI: the yield dependency does not see it
        assert settled_log(port, log) == ["auth", "version 1", "stamp in", "stamp out"], name
        assert request(port, "GET", "/r/ui/assets/app.js", ())[0] == 401
        assert settled_log(port, log) == ["auth"], name
        assert request(port, "POST", "/r/ui/assets/app.js", (TOKEN,))[0] == 405
        assert settled_log(port, log) == [], name
        status, items, body = request(port, "GET", "/r/ui/assets/app.js", (TOKEN,))
        assert (status, body) == (200, b"spa()")
        assert ("x-stamp", "1") in items and ("set-cookie", "seen=yes; Path=/; SameSite=lax") in items


def make_override_app(fw, d):
    """dependency_overrides reach a frontend's dependencies; a custom
    HTTPException handler answers their refusals and the files' 404."""
    from starlette.exceptions import HTTPException as StarletteHTTPException

    def auth():
        raise fw.HTTPException(403, "locked")

    app = fw.FastAPI(dependencies=[fw.Depends(auth)])

    @app.exception_handler(StarletteHTTPException)
    async def handler(request, exc):
        return fw.responses.PlainTextResponse(f"handled {exc.status_code} {request.url.path}",
                                              status_code=exc.status_code)

    app.frontend("/", directory=d["spa"], fallback=None)
    return app, auth


def test_overrides_and_exception_handlers(dist):
    fa_app, fa_auth = make_override_app(framework("fastapi"), dist)
    fr_app, fr_auth = make_override_app(framework("fastrapi"), dist)
    fa = Uvicorn(fa_app)
    fr = fr_app._start_background("127.0.0.1", 0)
    try:
        cases = [("GET", "/assets/app.js"), ("GET", "/missing.js"), ("POST", "/assets/app.js")]
        for method, target in cases:
            want = request(fa.port, method, target, ordered=False)
            assert request(fr.port, method, target, ordered=False) == want, target
        assert request(fr.port, "GET", "/assets/app.js")[2] == b"handled 403 /assets/app.js"
        fa_app.dependency_overrides[fa_auth] = lambda: None
        fr_app.dependency_overrides[fr_auth] = lambda: None
        for method, target in cases:
            want = request(fa.port, method, target, ordered=False)
            assert request(fr.port, method, target, ordered=False) == want, target
        assert request(fr.port, "GET", "/assets/app.js")[2] == b"spa()"
        assert request(fr.port, "GET", "/missing.js")[2] == b"handled 404 /missing.js"
    finally:
        fa.close()
        fr.stop()


def test_testclients_agree(dist):
    """Starlette's TestClient over both apps (the ASGI face)."""
    from starlette.testclient import TestClient
    got = []
    for name in ("fastapi", "fastrapi"):
        log = []
        with TestClient(make_app(framework(name), dist, log)) as c:
            r1 = c.get("/r/ui/assets/app.js?v=2", headers=dict([TOKEN]))
            r2 = c.get("/r/ui/assets/app.js")
            r3 = c.get("/r/ui/gone.js", headers=dict([TOKEN]))
            wait_until(lambda: "background" in log, 5)
            got.append([(r.status_code, r.content, r.headers.get("x-stamp")) for r in (r1, r2, r3)]
                       + [log[:]])
    assert got[0] == got[1]
    assert got[1][0] == (200, b"spa()", "1")


def test_a_vanished_directory_is_a_500_after_the_dependencies(tmp_path):
    """The directory is checked at the first request (Starlette's
    check_config): gone by then, FastAPI's RuntimeError is a 500 raised
    inside the dependencies -- a yield dependency sees it."""
    results = []
    for name in ("fastapi", "fastrapi"):
        fw = framework(name)
        d = tmp_path / name
        _write(str(d / "index.html"), b"x")
        log = []

        async def watch():
            try:
                yield
            except Exception as e:  # noqa: BLE001 -- what the dependency sees is compared
                log.append(type(e).__name__)
                raise

        app = fw.FastAPI(dependencies=[fw.Depends(watch)])
        app.frontend("/", directory=str(d))
        (d / "index.html").unlink()
        d.rmdir()
        if name == "fastapi":
            srv = Uvicorn(app)
            port, stop = srv.port, srv.close
        else:
            srv = app._start_background("127.0.0.1", 0)
            port, stop = srv.port, srv.stop
        try:
            status, items, body = request(port, "GET", "/index.html")
            wait_until(lambda: log, 5)
            results.append((status, body, log[:]))
        finally:
            stop()
    assert results[0] == results[1]
    assert results[1] == (500, b"Internal Server Error", ["RuntimeError"])
