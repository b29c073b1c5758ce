"""Static files served by the engine (src/static.c), differential against
FastAPI 0.165 + Starlette 1.10 under uvicorn: ``app.mount(..., StaticFiles)``
(plain, html=True, follow_symlink=True), ``app.frontend`` and a handler's
``FileResponse``. The same app source runs on both; every request goes over
a raw socket (so ``..``, ``%2e%2e``, NUL and backslashes reach the server as
written) and status, headers (minus date/server/connection) and body bytes
must be equal -- a multipart boundary, random on both sides, is the only
thing normalised. Also: the engine answers with no Python per request, and
an unusual mount (a StaticFiles subclass) keeps Starlette's code."""
import os
import re

import pytest

from conftest import framework
from helpers import Uvicorn
from helpers import raw_request as send_raw

MTIME = 1700000000


def _write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, (MTIME, MTIME))


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("static")
    plain, site, spa, admin, outside = (str(root / n) for n in ("plain", "site", "spa", "admin", "outside"))
    big = bytes(range(256)) * 800  # 200 KiB: more than one sendfile/read chunk
    for name, data in {
        "a.txt": b"hello static", "big.bin": big, "app.js": b"console.log(1)", "style.css": b"p{}",
        "data.json": b'{"a":1}', "img.png": b"\x89PNG\r\n", "icon.svg": b"<svg/>",
        "font.woff2": b"wOF2", "page.html": b"<p>page</p>", "noext": b"raw", "x.tar.gz": b"tgz",
        "UPPER.TXT": b"upper", "sp ace.txt": b"space", "docs/index.html": b"<p>docs</p>",
        "empty.txt": b"",
    }.items():
        _write(os.path.join(plain, name), data)
    for name, ns in (("frac.txt", 1700000000_123456789), ("round.txt", 1700000000_999999600)):
        _write(os.path.join(plain, name), b"fractional mtime")  # etag from repr(st_mtime)
        os.utime(os.path.join(plain, name), ns=(ns, ns))
    _write(os.path.join(outside, "secret.txt"), b"top secret")
    os.symlink(os.path.join(outside, "secret.txt"), os.path.join(plain, "escape.txt"))
    os.symlink(os.path.join(plain, "a.txt"), os.path.join(plain, "inside.txt"))
    os.symlink(outside, os.path.join(plain, "outdir"))
    os.mkfifo(os.path.join(plain, "pipe"))  # never opened: stat says it is no file (404)
    os.symlink(plain, str(root / "linked"))  # a mount directory that is a symlink
    for name, data in {"index.html": b"<h1>site</h1>", "docs/index.html": b"<p>site docs</p>",
                       "404.html": b"<p>site 404</p>", "a.txt": b"site a"}.items():
        _write(os.path.join(site, name), data)
    for name, data in {"index.html": b"<h1>spa</h1>", "assets/app.js": b"spa()",
                       "about/index.html": b"<p>about</p>"}.items():
        _write(os.path.join(spa, name), data)
    for name, data in {"index.html": b"<h1>admin</h1>", "404.html": b"<p>admin 404</p>",
                       "main.js": b"admin()"}.items():
        _write(os.path.join(admin, name), data)
    return {"plain": plain, "site": site, "spa": spa, "admin": admin, "outside": outside,
            "linked": str(root / "linked")}


def make_app(fw, d):
    from importlib import import_module
    StaticFiles = import_module(fw.name + ".staticfiles").StaticFiles
    app = fw.FastAPI()

    @app.get("/api/items")
    def items():
        return {"ok": True}

    @app.api_route("/file", methods=["GET", "HEAD", "POST"])
    def file():
        return fw.responses.FileResponse(os.path.join(d["plain"], "a.txt"))

    @app.get("/file404")
    def file404():
        return fw.responses.FileResponse(os.path.join(d["plain"], "a.txt"), status_code=404)

    app.mount("/static", StaticFiles(directory=d["plain"]), name="static")
    app.mount("/site", StaticFiles(directory=d["site"], html=True))
    app.mount("/follow", StaticFiles(directory=d["plain"], follow_symlink=True))
    app.mount("/linked", StaticFiles(directory=d["linked"]))
    app.frontend("/", directory=d["spa"])
    app.frontend("/admin", directory=d["admin"], fallback="index.html")
    return app


@pytest.fixture(scope="module")
def servers(dirs):
    fa = Uvicorn(make_app(framework("fastapi"), dirs))
    fr_app = make_app(framework("fastrapi"), dirs)
    fr = fr_app._start_background("127.0.0.1", 0)
    yield fa, fr, fr_app
    fa.close()
    fr.stop()


DROP = {"date", "server", "connection", "keep-alive"}


def raw_request(port, method, target, headers=()):
    """One request over a fresh socket, exactly as written; the answer as
    (status, sorted headers without DROP, body bytes)."""
    lines = [f"{method} {target} HTTP/1.1", "Host: testserver", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    resp = send_raw(port, data, timeout=30)
    head, _, body = resp.partition(b"\r\n\r\n")
    status_line, *hl = head.decode("latin-1").split("\r\n")
    status = int(status_line.split()[1])
    items = []
    for line in hl:
        k, _, v = line.partition(":")
        if k.lower() not in DROP:
            items.append((k.lower(), v.strip()))
    if any(k == "transfer-encoding" for k, _ in items):
        body = dechunk(body)
    return status, sorted(items), body


def dechunk(body):
    """A chunked body's bytes (the last chunk ends it)."""
    out, rest = b"", body
    while rest:
        size, _, rest = rest.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            break
        out, rest = out + rest[:n], rest[n + 2:]
    return out


def normalise(answer):
    """The multipart boundary is random on both sides."""
    status, items, body = answer
    m = re.search(r"boundary=([0-9a-f]+)", dict(items).get("content-type", ""))
    if m:
        b = m.group(1)
        items = [(k, v.replace(b, "B" * len(b))) for k, v in items]
        body = body.replace(b.encode(), b"B" * len(b))
    return status, items, body


def etag_of(size):
    import hashlib
    base = f"{float(MTIME)}-{size}"
    return '"' + hashlib.md5(base.encode()).hexdigest() + '"'


LM = "Tue, 14 Nov 2023 22:13:20 GMT"
ETAG = etag_of(12)  # a.txt
NAV = ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")

CASES = [
    # files and content types
    ("GET", "/static/a.txt", ()),
    ("GET", "/static/big.bin", ()),
    ("GET", "/static/app.js", ()),
    ("GET", "/static/style.css", ()),
    ("GET", "/static/data.json", ()),
    ("GET", "/static/img.png", ()),
    ("GET", "/static/icon.svg", ()),
    ("GET", "/static/font.woff2", ()),
    ("GET", "/static/page.html", ()),
    ("GET", "/static/noext", ()),
    ("GET", "/static/x.tar.gz", ()),
    ("GET", "/static/UPPER.TXT", ()),
    ("GET", "/static/sp%20ace.txt", ()),
    ("GET", "/static/empty.txt", ()),
    ("GET", "/static/frac.txt", ()),
    ("GET", "/static/round.txt", ()),
    ("GET", "/static/round.txt", (("If-Modified-Since", "Tue, 14 Nov 2023 22:13:21 GMT"),)),
    ("HEAD", "/static/a.txt", ()),
    ("HEAD", "/static/big.bin", ()),
    ("GET", "/static/a.txt?v=1", ()),
    # conditional requests
    ("GET", "/static/a.txt", (("If-None-Match", ETAG),)),
    ("GET", "/static/a.txt", (("If-None-Match", "W/" + ETAG),)),
    ("GET", "/static/a.txt", (("If-None-Match", '"nope", ' + ETAG),)),
    ("GET", "/static/a.txt", (("If-None-Match", "*"),)),
    ("GET", "/static/a.txt", (("If-None-Match", '"nope"'),)),
    ("GET", "/static/a.txt", (("If-None-Match", '"nope"'), ("If-Modified-Since", LM))),
    ("GET", "/static/a.txt", (("If-Modified-Since", LM),)),
    ("GET", "/static/a.txt", (("If-Modified-Since", "Tue, 14 Nov 2023 22:13:19 GMT"),)),
    ("GET", "/static/a.txt", (("If-Modified-Since", "Wed, 15 Nov 2023 00:00:00 GMT"),)),
    ("GET", "/static/a.txt", (("If-Modified-Since", "14 Nov 2023 22:13:20"),)),
    ("GET", "/static/a.txt", (("If-Modified-Since", "garbage"),)),
    ("HEAD", "/static/a.txt", (("If-None-Match", ETAG),)),
    # ranges
    ("GET", "/static/a.txt", (("Range", "bytes=0-4"),)),
    ("GET", "/static/a.txt", (("Range", "bytes=6-"),)),
    ("GET", "/static/a.txt", (("Range", "bytes=-3"),)),
    ("GET", "/static/a.txt", (("Range", "bytes=0-1000"),)),
    ("GET", "/static/big.bin", (("Range", "bytes=1000-150000"),)),
    ("GET", "/static/a.txt", (("Range", "bytes=100-"),)),
    ("GET", "/static/a.txt", (("Range", "bytes=4-2"),)),
    ("GET", "/static/a.txt", (("Range", "lines=0-2"),)),
    ("GET", "/static/a.txt", (("Range", "bytes"),)),
    ("GET", "/static/a.txt", (("Range", "bytes=x-y"),)),
    ("GET", "/static/a.txt", (("Range", "bytes=0-1,4-5"),)),
    ("GET", "/static/a.txt", (("Range", "bytes=4-5,0-1,1-2"),)),
    ("GET", "/static/a.txt", (("Range", "bytes=0-3,2-5"),)),
    ("GET", "/static/empty.txt", (("Range", "bytes=0-"),)),
    ("HEAD", "/static/a.txt", (("Range", "bytes=0-4"),)),
    ("HEAD", "/static/a.txt", (("Range", "bytes=0-1,4-5"),)),
    ("GET", "/static/a.txt", (("Range", "bytes=0-4"), ("If-Range", ETAG))),
    ("GET", "/static/a.txt", (("Range", "bytes=0-4"), ("If-Range", LM))),
    ("GET", "/static/a.txt", (("Range", "bytes=0-4"), ("If-Range", '"other"'))),
    ("GET", "/static/a.txt", (("Range", "bytes=0-4"), ("If-Range", "W/" + ETAG))),
    ("GET", "/static/a.txt", (("Range", "bytes=0-4"), ("If-None-Match", ETAG))),
    # methods
    ("POST", "/static/a.txt", ()),
    ("DELETE", "/static/missing.txt", ()),
    ("OPTIONS", "/static/a.txt", ()),
    # not found, traversal, symlinks
    ("GET", "/static/missing.txt", ()),
    ("GET", "/static", ()),
    ("GET", "/static/", ()),
    ("GET", "/static/docs", ()),
    ("GET", "/static/docs/", ()),
    ("GET", "/static/../../../../etc/passwd", ()),
    ("GET", "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd", ()),
    ("GET", "/static/..%2f..%2f..%2f..%2fetc%2fpasswd", ()),
    ("GET", "/static/%2fetc%2fpasswd", ()),
    ("GET", "/static//etc/passwd", ()),
    ("GET", "/static/%5c..%5c..%5cetc%5cpasswd", ()),
    ("GET", "/static/a.txt%00.png", ()),
    ("GET", "/static/docs/../a.txt", ()),
    ("GET", "/static/./a.txt", ()),
    ("GET", "/static/escape.txt", ()),
    ("GET", "/static/outdir/secret.txt", ()),
    ("GET", "/static/inside.txt", ()),
    ("GET", "/static/" + "x" * 300, ()),
    ("GET", "/static/pipe", ()),
    ("GET", "/static/pipe/x", ()),
    ("GET", "/linked/a.txt", ()),
    ("GET", "/linked/docs/index.html", ()),
    ("GET", "/linked/escape.txt", ()),
    ("GET", "/linked/inside.txt", ()),
    ("GET", "/linked/missing.txt", ()),
    ("GET", "/linked/%2e%2e/outside/secret.txt", ()),
    ("GET", "/follow/escape.txt", ()),
    ("GET", "/follow/outdir/secret.txt", ()),
    ("GET", "/follow/%2e%2e/outside/secret.txt", ()),
    # html mode
    ("GET", "/site/", ()),
    ("GET", "/site", ()),
    ("GET", "/site/docs", ()),
    ("GET", "/site/docs?x=1&y=%20", ()),
    ("GET", "/site/docs/", ()),
    ("HEAD", "/site/docs", ()),
    ("GET", "/site/a.txt", ()),
    ("GET", "/site/missing", ()),
    ("GET", "/site/missing", (("Range", "bytes=0-2"),)),
    ("GET", "/site/%2e%2e/%2e%2e/etc/passwd", ()),
    ("GET", "/site/a.txt%00", ()),
    ("POST", "/site/missing", ()),
    ("GET", "/site/", (("If-None-Match", etag_of(13)),)),
    # FileResponse from a handler
    ("GET", "/file", ()),
    ("HEAD", "/file", ()),
    ("GET", "/file", (("Range", "bytes=0-4"),)),
    ("GET", "/file", (("Range", "bytes=-5"),)),
    ("GET", "/file", (("Range", "bytes=50-"),)),
    ("GET", "/file", (("Range", "bytes=3-1"),)),
    ("GET", "/file", (("Range", "bytes=0-1,3-4"),)),
    ("GET", "/file", (("Range", "bytes=0-4"), ("If-Range", ETAG))),
    ("GET", "/file", (("Range", "bytes=0-4"), ("If-Range", '"x"'))),
    ("POST", "/file", (("Range", "bytes=0-4"), ("Content-Length", "0"))),
    ("GET", "/file", (("If-None-Match", ETAG),)),
    ("GET", "/file404", (("Range", "bytes=0-4"),)),
    # app.frontend: API first, assets, client-side routes, fallbacks
    ("GET", "/api/items", ()),
    ("POST", "/api/items", ()),
    ("GET", "/api/items/", ()),
    ("GET", "/", ()),
    ("GET", "/assets/app.js", ()),
    ("GET", "/assets/app.js", (("Range", "bytes=0-1"),)),
    ("GET", "/assets/missing.js", ()),
    ("GET", "/assets/missing.js", (NAV,)),
    ("GET", "/users/42", (NAV,)),
    ("GET", "/users/42", (("Accept", "application/json"),)),
    ("GET", "/users/42", (("Accept", "text/html;q=0"),)),
    ("GET", "/users/42", (("Accept", "TEXT/HTML ; q=0.5"),)),
    ("GET", "/users/42", ()),
    ("HEAD", "/users/42", (NAV,)),
    ("GET", "/about", ()),
    ("GET", "/about/", ()),
    ("POST", "/assets/app.js", ()),
    ("POST", "/users/42", ()),
    ("GET", "/%2e%2e/%2e%2e/etc/passwd", (NAV,)),
    ("GET", "/%2e%2e/%2e%2e/etc/passwd", ()),
    ("GET", "/admin", ()),
    ("GET", "/admin/", ()),
    ("GET", "/admin/main.js", ()),
    ("GET", "/admin/settings", (NAV,)),
    ("GET", "/admin/settings", ()),
    ("GET", "/administrator", (NAV,)),
]


@pytest.mark.parametrize("method,target,headers", CASES,
                         ids=[f"{i}-{m}-{t[:40]}" for i, (m, t, _) in enumerate(CASES)])
def test_same_answer_as_fastapi(servers, method, target, headers):
    fa, fr, _ = servers
    want = normalise(raw_request(fa.port, method, target, headers))
    got = normalise(raw_request(fr.port, method, target, headers))
    assert got == want


def make_root_app(fw, d):
    """The common single-page layout: API routes, then StaticFiles(html=True) on "/"."""
    from importlib import import_module
    StaticFiles = import_module(fw.name + ".staticfiles").StaticFiles
    app = fw.FastAPI()

    @app.get("/api/ping")
    def ping():
        return {"pong": True}

    app.mount("/", StaticFiles(directory=d["site"], html=True), name="root")
    return app


ROOT_CASES = [
    ("GET", "/", ()), ("GET", "/api/ping", ()), ("POST", "/api/ping", ()), ("GET", "/a.txt", ()),
    ("GET", "/docs", ()), ("GET", "/docs/", ()), ("GET", "/nope", ()), ("GET", "/api/nope", ()),
    ("GET", "/%2e%2e/%2e%2e/etc/passwd", ()), ("HEAD", "/", ()), ("PUT", "/a.txt", ()),
]


@pytest.fixture(scope="module")
def root_servers(dirs):
    fa = Uvicorn(make_root_app(framework("fastapi"), dirs))
    fr = make_root_app(framework("fastrapi"), dirs)._start_background("127.0.0.1", 0)
    yield fa, fr
    fa.close()
    fr.stop()


@pytest.mark.parametrize("method,target,headers", ROOT_CASES,
                         ids=[f"{i}-{m}-{t[:30]}" for i, (m, t, _) in enumerate(ROOT_CASES)])
def test_root_mount_same_answer(root_servers, method, target, headers):
    fa, fr = root_servers
    assert raw_request(fr.port, method, target, headers) == raw_request(fa.port, method, target, headers)


def test_secret_never_leaks(servers):
    _, fr, _ = servers
    for target in ("/static/escape.txt", "/static/outdir/secret.txt",
                   "/static/%2e%2e/outside/secret.txt", "/site/%2e%2e/outside/secret.txt"):
        status, _, body = raw_request(fr.port, "GET", target)
        assert status == 404 and b"top secret" not in body, target


def test_directory_symlink_swapped_while_serving(tmp_path):
    """A deploy that points a `current` symlink at a new release while the
    server runs: Starlette resolves the directory on every request, so the
    next request serves the new release -- the engine's one-walk lookup
    (which stops at a symlink) must too, on both faces' answers."""
    for rel, text in (("r1", b"release one"), ("r2", b"release two")):
        _write(str(tmp_path / rel / "a.txt"), text)
    cur = str(tmp_path / "current")
    os.symlink(str(tmp_path / "r1"), cur)

    def app_for(fw):
        from importlib import import_module
        app = fw.FastAPI()
        app.mount("/s", import_module(fw.name + ".staticfiles").StaticFiles(directory=cur))
        return app

    fa = Uvicorn(app_for(framework("fastapi")))
    fr = app_for(framework("fastrapi"))._start_background("127.0.0.1", 0)
    try:
        for want in (b"release one", b"release two"):
            for port in (fa.port, fr.port):
                status, _, body = raw_request(port, "GET", "/s/a.txt")
                assert (status, body) == (200, want), port
            os.symlink(str(tmp_path / "r2"), cur + ".new")
            os.replace(cur + ".new", cur)  # atomic swap
    finally:
        fa.close()
        fr.stop()


def test_engine_serves_without_python(servers, monkeypatch):
    """Starlette's StaticFiles code is never called for the engine's mounts
    (and the router hands no Mount to the ASGI bridge for them)."""
    from starlette.staticfiles import StaticFiles
    _, fr, fr_app = servers

    def boom(*a, **k):
        raise AssertionError("Python ran for a static file")

    monkeypatch.setattr(StaticFiles, "get_response", boom)
    monkeypatch.setattr(StaticFiles, "__call__", boom)
    for target in ("/static/a.txt", "/site/docs/", "/site/missing", "/users/1"):
        status, _, _ = raw_request(fr.port, "GET", target, (NAV,))
        assert status in (200, 404), target
    assert raw_request(fr.port, "GET", "/static/a.txt")[2] == b"hello static"
    srv = fr_app._asgi_server()
    assert srv.route_for("GET", "/static/a.txt") == (200, None)


def test_asgi_face_serves_static_too(dirs):
    """Starlette's TestClient drives the fastrapi app as ASGI: the same
    engine answers."""
    from starlette.testclient import TestClient
    app = make_app(framework("fastrapi"), dirs)
    with TestClient(app) as c:
        r = c.get("/static/a.txt", headers={"range": "bytes=0-4"})
        assert r.status_code == 206 and r.content == b"hello"
        assert r.headers["content-range"] == "bytes 0-4/12"
        r = c.get("/static/a.txt", headers={"if-none-match": ETAG})
        assert r.status_code == 304 and r.content == b""
        assert c.get("/users/1", headers={"accept": "text/html"}).content == b"<h1>spa</h1>"
        assert c.get("/static/%2e%2e/outside/secret.txt").status_code == 404


def test_subclass_keeps_starlette(dirs):
    """A StaticFiles subclass that overrides behaviour runs its own code."""
    from starlette.staticfiles import StaticFiles
    from starlette.responses import PlainTextResponse

    class Custom(StaticFiles):
        async def get_response(self, path, scope):
            return PlainTextResponse("custom:" + path)

    fw = framework("fastrapi")
    app = fw.FastAPI()
    app.mount("/c", Custom(directory=dirs["plain"]))
    app.mount("/s", StaticFiles(directory=dirs["plain"]))
    run = app._start_background("127.0.0.1", 0)
    try:
        assert raw_request(run.port, "GET", "/c/a.txt")[2] == b"custom:a.txt"
        assert raw_request(run.port, "GET", "/s/a.txt")[2] == b"hello static"
    finally:
        run.stop()


def test_custom_404_handler_keeps_starlette(dirs):
    """An exception handler for 404 sees the mount's 404 (as in FastAPI):
    such a mount stays on Starlette's code."""
    from starlette.staticfiles import StaticFiles
    fw = framework("fastrapi")
    app = fw.FastAPI()

    @app.exception_handler(404)
    async def nf(request, exc):
        return fw.responses.PlainTextResponse("custom 404", status_code=404)

    app.mount("/s", StaticFiles(directory=dirs["plain"]))
    run = app._start_background("127.0.0.1", 0)
    try:
        status, _, body = raw_request(run.port, "GET", "/s/missing")
        assert (status, body) == (404, b"custom 404")
        assert raw_request(run.port, "GET", "/s/a.txt")[2] == b"hello static"
    finally:
        run.stop()


def test_frontend_checks_like_fastapi(dirs, tmp_path):
    fa, fr = framework("fastapi"), framework("fastrapi")
    for bad in ({"path": "", "directory": dirs["spa"]}, {"path": "x", "directory": dirs["spa"]},
                {"path": "/", "directory": str(tmp_path / "nope")},
                {"path": "/", "directory": dirs["spa"], "fallback": "404.html"},
                {"path": "/", "directory": dirs["spa"], "fallback": "bogus"}):
        errors = []
        for f in (fa, fr):
            app = f.FastAPI()
            kw = dict(bad)
            try:
                app.frontend(kw.pop("path"), **kw)
                errors.append(None)
            except Exception as e:  # noqa: BLE001 -- the class and text must match
                errors.append((type(e), str(e)))
        assert errors[0] is not None and errors[0] == errors[1], bad


def make_handler_app(fw, d):
    """app.frontend on an app with its own 404 and 405 handlers: the
    frontend's 404s and 405s reach them, as FastAPI's HTTPException(404 /
    405) do."""
    app = fw.FastAPI()

    @app.exception_handler(404)
    async def nf(request, exc):
        return fw.responses.PlainTextResponse("custom 404: " + request.url.path, status_code=404)

    @app.exception_handler(405)
    def na(request, exc):
        return fw.responses.PlainTextResponse(f"custom 405: {exc.headers}", status_code=405)

    @app.get("/api/ping")
    def ping():
        return {"pong": True}

    app.frontend("/", directory=d["spa"], fallback="index.html")
    return app


HANDLER_CASES = [("GET", "/assets/missing.js", ()), ("GET", "/users/1", (NAV,)),
                 ("GET", "/users/1", ()), ("POST", "/nothing", ()), ("GET", "/assets/app.js", ()),
                 ("GET", "/api/ping", ()), ("POST", "/assets/app.js", ())]


def test_frontend_404_reaches_the_apps_handler(dirs):
    fa = Uvicorn(make_handler_app(framework("fastapi"), dirs))
    fr = make_handler_app(framework("fastrapi"), dirs)._start_background("127.0.0.1", 0)
    try:
        for method, target, headers in HANDLER_CASES:
            want = raw_request(fa.port, method, target, headers)
            assert raw_request(fr.port, method, target, headers) == want, target
        assert raw_request(fr.port, "GET", "/assets/missing.js")[2] == b"custom 404: /assets/missing.js"
        # a file's 405 is FastAPI's HTTPException(405) too: an app's handler for it answers
        assert raw_request(fr.port, "POST", "/assets/app.js")[2] == b"custom 405: None"
    finally:
        fa.close()
        fr.stop()


def make_gzip_app(fw, d):
    """StaticFiles under Starlette's GZipMiddleware (run by the engine in C
    on fastrapi): the compressed answers must match."""
    from importlib import import_module
    from starlette.middleware.gzip import GZipMiddleware
    StaticFiles = import_module(fw.name + ".staticfiles").StaticFiles
    app = fw.FastAPI()
    app.add_middleware(GZipMiddleware, minimum_size=10)
    app.mount("/static", StaticFiles(directory=d["plain"]))
    return app


GZIP_CASES = [("GET", "/static/a.txt", (("Accept-Encoding", "gzip"),)),
              ("GET", "/static/big.bin", (("Accept-Encoding", "gzip"),)),
              ("GET", "/static/a.txt", (("Accept-Encoding", "gzip"), ("Range", "bytes=0-4"))),
              ("HEAD", "/static/a.txt", (("Accept-Encoding", "gzip"),)),
              ("GET", "/static/a.txt", ())]


def test_static_under_gzip_middleware(dirs):
    import gzip
    fa = Uvicorn(make_gzip_app(framework("fastapi"), dirs))
    fr = make_gzip_app(framework("fastrapi"), dirs)._start_background("127.0.0.1", 0)
    try:
        for method, target, headers in GZIP_CASES:
            want = raw_request(fa.port, method, target, headers)
            got = raw_request(fr.port, method, target, headers)
            assert got[0] == want[0], (target, headers)
            assert got[1] == want[1], (target, headers)  # framing included
            wh, gh = dict(want[1]), dict(got[1])
            dec = (lambda b, h: gzip.decompress(b) if h.get("content-encoding") == "gzip" else b)
            assert dec(got[2], gh) == dec(want[2], wh), (target, headers)
    finally:
        fa.close()
        fr.stop()


def test_304_under_gzip_middleware(dirs):
    fa = Uvicorn(make_gzip_app(framework("fastapi"), dirs))
    fr = make_gzip_app(framework("fastrapi"), dirs)._start_background("127.0.0.1", 0)
    try:
        h = (("Accept-Encoding", "gzip"), ("If-None-Match", ETAG))
        want = raw_request(fa.port, "GET", "/static/a.txt", h)
        assert want == (304, [("etag", ETAG)], b"")
        assert raw_request(fr.port, "GET", "/static/a.txt", h) == want
    finally:
        fa.close()
        fr.stop()
