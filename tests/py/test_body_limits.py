"""FastAPI 0.165's ``max_body_size=`` and ``form_limits=`` on FastAPI(),
APIRouter(), include_router() and path operations (issue 11).

The engine applies them per route (fr_route_opts.max_body in src/server.c;
the multipart/urlencoded decoders' limits in src/multipart.c). The same app
runs on FastAPI and fastrapi, through the TestClients and over live sockets
(uvicorn vs the native server): statuses, content types and bodies must be
identical for bodies under and over each level's limit, sent with a
Content-Length or chunked, and for each form limit (fields, files, part
size) in urlencoded and multipart bodies. Bad limit values are refused as
FastAPI refuses them."""
import textwrap

import httpx
import pytest

from conftest import framework
from helpers import raw_request, serve_both

APP_SOURCE = textwrap.dedent('''
    from typing import List

    from pydantic import BaseModel

    class M(BaseModel):
        s: str

    def make_app(fw):
        app = fw.FastAPI(max_body_size=10, form_limits={"max_fields": 3})
        Form, File, UploadFile = fw.Form, fw.File, fw.UploadFile

        @app.post("/app")
        def on_app(m: M):
            return m

        @app.post("/app-big", max_body_size=100)
        def app_big(m: M):
            return m

        @app.post("/app-zero", max_body_size=0)
        async def app_zero(request: fw.Request):
            return {"len": len(await request.body())}

        @app.post("/raw")
        async def raw(request: fw.Request):
            return {"len": len(await request.body())}

        def needs_request(request: fw.Request):
            return request

        @app.post("/noread")
        def noread(q: int = 0):
            return {"ok": q}

        @app.post("/dep-request")
        async def dep_request(request=fw.Depends(needs_request)):
            return {"len": len(await request.body())}

        r = fw.APIRouter(max_body_size=20, form_limits={"max_fields": 1})

        @r.post("/r")
        def on_router(m: M):
            return m

        @r.post("/rr", max_body_size=5)
        def on_route(m: M):
            return m

        @r.post("/form")
        def router_form(a: List[str] = Form([])):
            return {"a": a}

        app.include_router(r, prefix="/x", form_limits={"max_fields": 10, "max_part_size": 3})

        r2 = fw.APIRouter()

        @r2.post("/r2")
        def on_include(m: M):
            return m

        @r2.post("/form")
        def include_form(a: List[str] = Form([])):
            return {"a": a}

        app.include_router(r2, prefix="/y", max_body_size=30, form_limits={"max_part_size": 3})

        @app.post("/form", max_body_size=10000)
        def app_form(a: List[str] = Form([]), up: List[UploadFile] = File([])):
            return {"a": a, "n": len(up)}

        @app.post("/form-route", max_body_size=10000,
                  form_limits={"max_files": 1, "max_part_size": 5})
        def route_form(a: List[str] = Form([]), up: List[UploadFile] = File([])):
            return {"a": a, "n": len(up)}

        nolimit = fw.FastAPI()

        @nolimit.post("/big")
        def big(m: M):
            return {"len": len(m.s)}

        return app, nolimit
''')

JSON_PATHS = ["/app", "/app-big", "/app-zero", "/raw", "/noread", "/dep-request", "/x/r", "/x/rr",
              "/y/r2", "/nothere"]
SIZES = [1, 12, 25, 40, 95]
FORM_PATHS = ["/form", "/form-route", "/x/form", "/y/form"]


def _body(n):
    return ('{"s":"%s"}' % ("a" * n)).encode()


FORM_CASES = {
    "two": dict(data={"a": ["x", "y"]}),
    "four": dict(data={"a": ["x", "y", "z", "w"]}),
    "long": dict(data={"a": ["x" * 8]}),
    "mp-two-files": dict(data={"a": ["x"]}, files=[("up", ("a.txt", b"1")), ("up", ("b.txt", b"2"))]),
    "mp-four": dict(data={"a": ["x", "y", "z", "w"]}, files=[("up", ("a.txt", b"1"))]),
    "mp-long": dict(data={"a": ["x" * 8]}, files=[("up", ("a.txt", b"1"))]),
    "mp-big-file": dict(data={"a": ["x"]}, files=[("up", ("a.txt", b"F" * 50))]),
}


def _make(name):
    ns = {}
    exec(APP_SOURCE, ns)
    return ns["make_app"](framework(name))


def _answer(r):
    return r.status_code, r.headers.get("content-type"), r.content


@pytest.fixture(scope="module")
def clients():
    from fastapi.testclient import TestClient as FATestClient
    from fastrapi.testclient import TestClient as FRTestClient
    fa, fa_nolimit = _make("fastapi")
    fr, fr_nolimit = _make("fastrapi")
    return {"fastapi": (FATestClient(fa), FATestClient(fa_nolimit)),
            "fastrapi": (FRTestClient(fr), FRTestClient(fr_nolimit))}


def _both(clients, fn):
    return {name: fn(c) for name, c in clients.items()}


@pytest.mark.parametrize("path", JSON_PATHS)
@pytest.mark.parametrize("n", SIZES)
def test_content_length_limits(clients, path, n):
    got = _both(clients, lambda c: _answer(c[0].post(path, content=_body(n),
                                                   headers={"content-type": "application/json"})))
    assert got["fastrapi"] == got["fastapi"]


@pytest.mark.parametrize("path", [p for p in JSON_PATHS])
@pytest.mark.parametrize("n", [1, 30, 95])
def test_chunked_limits(clients, path, n):
    """No Content-Length: the body turns out too large while it is read
    (413 {"detail": "Content Too Large"} through the exception handlers)."""
    body = _body(n)
    got = _both(clients, lambda c: _answer(c[0].post(path, content=iter([body[:5], body[5:]]),
                                                   headers={"content-type": "application/json"})))
    assert got["fastrapi"] == got["fastapi"]


def test_expected_statuses(clients):
    c = clients["fastrapi"][0]
    big = _body(40)
    r = c.post("/app", content=big, headers={"content-type": "application/json"})
    assert (r.status_code, r.text, r.headers["content-type"]) == (
        413, "Content Too Large", "text/plain; charset=utf-8")
    r = c.post("/app", content=iter([big[:5], big[5:]]), headers={"content-type": "application/json"})
    assert (r.status_code, r.json()) == (413, {"detail": "Content Too Large"})
    # the route's own limit replaces the app's, even when larger
    assert c.post("/app-big", content=big, headers={"content-type": "application/json"}).status_code == 200
    # 0 is a limit: an empty body passes, one byte does not
    assert c.post("/app-zero").json() == {"len": 0}
    assert c.post("/app-zero", content=b"x").status_code == 413
    # unmatched paths: the app's limit for a Content-Length, a chunked body is not read
    r = c.post("/nothere", content=big)
    assert (r.status_code, r.text) == (413, "Content Too Large")
    r = c.post("/nothere", content=iter([big[:5], big[5:]]))
    assert (r.status_code, r.json()) == (404, {"detail": "Not Found"})
    assert c.post("/nothere", content=b"x").status_code == 404
    # an endpoint that cannot read the body: only a Content-Length is refused
    assert c.post("/noread", content=iter([big[:5], big[5:]])).json() == {"ok": 0}
    assert c.post("/noread", content=big).status_code == 413
    # a Request in a dependency can read it: a chunked body over the limit is refused
    assert c.post("/dep-request", content=iter([big[:5], big[5:]])).status_code == 413
    # no limit anywhere (FastAPI's default): a large body passes
    r = clients["fastrapi"][1].post("/big", json={"s": "b" * 3_000_000})
    assert r.status_code == 200 and r.json() == {"len": 3_000_000}


@pytest.mark.parametrize("path", FORM_PATHS)
@pytest.mark.parametrize("case", sorted(FORM_CASES))
def test_form_limits(clients, path, case):
    got = _both(clients, lambda c: _answer(c[0].post(path, **FORM_CASES[case])))
    assert got["fastrapi"] == got["fastapi"]


def test_form_limit_messages(clients):
    c = clients["fastrapi"][0]
    assert c.post("/form", data={"a": ["1", "2", "3", "4"]}).json() == {
        "detail": "Too many fields. Maximum number of fields is 3."}
    assert c.post("/x/form", data={"a": ["1", "2"]}).json() == {
        "detail": "Too many fields. Maximum number of fields is 1."}
    assert c.post("/form-route", data={"a": ["x"]},
                  files=[("up", ("a", b"1")), ("up", ("b", b"2"))]).json() == {
        "detail": "Too many files. Maximum number of files is 1."}
    assert c.post("/y/form", data={"a": ["long"]}).json() == {
        "detail": "Field exceeded maximum size of 0KB."}


def test_route_and_router_attributes():
    fa, _ = _make("fastapi")
    fr, _ = _make("fastrapi")
    assert fr.max_body_size == fa.max_body_size == 10
    for path in ("/app", "/app-big", "/app-zero", "/form-route"):
        fa_r = next(r for r in fa.routes if getattr(r, "path", None) == path)
        fr_r = next(r for r in fr.routes if getattr(r, "path", None) == path)
        assert fr_r.max_body_size == fa_r.max_body_size, path
    fr_r = next(r for r in fr.routes if getattr(r, "path", None) == "/form-route")
    assert fr_r.form_limits == {"max_fields": 3, "max_files": 1, "max_part_size": 5}


@pytest.mark.parametrize("bad", [-1, True, 1.5, "3"])
def test_bad_max_body_size(fr, fa, bad):
    msgs = []
    for fw in (fa, fr):
        with pytest.raises(ValueError) as ei:
            fw.FastAPI(max_body_size=bad)
        msgs.append(str(ei.value))
        with pytest.raises(ValueError):
            fw.APIRouter(max_body_size=bad)
        app = fw.FastAPI()
        with pytest.raises(ValueError):
            app.post("/x", max_body_size=bad)(lambda: None)
        with pytest.raises(ValueError):
            app.include_router(fw.APIRouter(), max_body_size=bad)
    assert msgs[0] == msgs[1] == "max_body_size must be a non-negative integer or None"


@pytest.mark.parametrize("bad", [{"max_fields": -1}, {"nope": 1}, {"max_fields": "3"},
                                 {"max_fields": True}, {"max_part_size": 1.5}])
def test_bad_form_limits(fr, fa, bad):
    from pydantic import ValidationError
    errs = []
    for fw in (fa, fr):
        with pytest.raises(ValidationError) as ei:
            fw.FastAPI(form_limits=bad)
        errs.append([(e["type"], e["loc"]) for e in ei.value.errors()])
        with pytest.raises(ValidationError):
            fw.APIRouter(form_limits=bad)
        with pytest.raises(ValidationError):
            fw.FastAPI().post("/x", form_limits=bad)(lambda: None)
    assert errs[0] == errs[1]


# ---- live sockets: uvicorn vs the native server

def _app_code(name):
    return (APP_SOURCE + f"\nimport {name} as fwmod, types\n"
            "fw = types.SimpleNamespace(**{k: getattr(fwmod, k) for k in dir(fwmod) "
            "if not k.startswith('_')})\napp, _ = make_app(fw)\n")


@pytest.fixture(scope="module")
def servers():
    yield from serve_both(_app_code)


@pytest.mark.parametrize("path", JSON_PATHS)
@pytest.mark.parametrize("n", [1, 25, 95])
def test_live_limits(servers, path, n):
    got = {}
    for name, port in servers.items():
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            got[name] = _answer(c.post(path, content=_body(n),
                                       headers={"content-type": "application/json"}))
    assert got["fastrapi"] == got["fastapi"]


def _raw_chunked(port, path, body):
    req = (f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
           "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    for i in range(0, len(body), 7):
        part = body[i:i + 7]
        req += b"%x\r\n%s\r\n" % (len(part), part)
    req += b"0\r\n\r\n"
    data = raw_request(port, req, timeout=30)
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    ctype = [ln.split(b":", 1)[1].strip() for ln in head.split(b"\r\n")[1:]
             if ln.lower().startswith(b"content-type:")]
    return status, ctype, rest


@pytest.mark.parametrize("path", ["/app", "/x/r", "/x/rr", "/y/r2", "/app-big", "/nothere", "/noread",
                                  "/dep-request"])
@pytest.mark.parametrize("n", [1, 25, 95])
def test_live_chunked_limits(servers, path, n):
    got = {}
    for name, port in servers.items():
        status, ctype, rest = _raw_chunked(port, path, _body(n))
        got[name] = (status, ctype, rest)
        assert (b"Content Too Large" in rest) == (status == 413)
    assert got["fastrapi"] == got["fastapi"]
