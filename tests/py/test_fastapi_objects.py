"""Real FastAPI objects in a fastrapi app, and Depends(max_concurrency=...).

A project that switched its own import may still import the real fastapi
somewhere (a plugin, a shared module) and declare parameters with
``fastapi.Query/Depends/Security``, security schemes from
``fastapi.security`` and routers from ``fastapi.APIRouter``. The issue asks
that those objects be accepted rather than silently mis-handled: the same
app source -- whose parameters always come from the real fastapi -- must
answer the same bytes on FastAPI (uvicorn) and on fastrapi (native server).

``Depends(dep, max_concurrency=N)`` (FastAPI 0.165) limits how many calls
of that dependency run at once; each server reports the peak it saw."""
import json
import threading
import time

import httpx
import pytest

from helpers import serve_both

APP = '''
import asyncio, threading, time
from typing import Annotated
import fastapi as P                      # parameters: always the REAL fastapi
from fastapi.security import OAuth2PasswordBearer, APIKeyHeader, HTTPBasic
from pydantic import BaseModel
import {name} as F                       # the app: fastapi or fastrapi

class Item(BaseModel):
    name: str
    price: float = 1.5

def q(x: int = P.Query(3, ge=0)):
    return x * 2

oauth = OAuth2PasswordBearer(tokenUrl="tok")
key = APIKeyHeader(name="x-key", auto_error=False)
basic = HTTPBasic(auto_error=False)

router = P.APIRouter(prefix="/r", tags=["real"], dependencies=[P.Depends(q)])

@router.get("/d")
def d(v: Annotated[int, P.Depends(q)], h: str = P.Header("hh"), c: str = P.Cookie(None)):
    return {{"v": v, "h": h, "c": c}}

@router.post("/b", status_code=201)
def b(item: Item = P.Body(embed=True), n: int = P.Query(1, alias="num")):
    return {{"item": item, "n": n}}

@router.get("/items/{{item_id}}")
def item(item_id: int = P.Path(gt=0)):
    return {{"id": item_id}}

@router.post("/form")
def form(user: str = P.Form(), note: str = P.Form("")):
    return {{"user": user, "note": note}}

app = F.FastAPI()
app.include_router(router)

@app.get("/s")
def s(t: str = P.Security(oauth, scopes=["me"]), k: str = P.Depends(key), b=P.Depends(basic)):
    return {{"t": t, "k": k, "basic": b.username if b else None}}

state = {{"cur": 0, "max": 0}}
lock = threading.Lock()

def _enter():
    with lock:
        state["cur"] += 1
        state["max"] = max(state["max"], state["cur"])

def _leave():
    with lock:
        state["cur"] -= 1

async def slow_async():
    _enter(); await asyncio.sleep(0.15); _leave(); return 1

def slow_sync():
    _enter(); time.sleep(0.15); _leave(); return 2

def slow_gen():
    _enter()
    try:
        yield 3
    finally:
        time.sleep(0.05); _leave()

Limited = Annotated[int, F.Depends(slow_async, max_concurrency=2)]

@app.get("/mc/async")
async def mc_async(v: Limited):
    return v

@app.get("/mc/sync")
def mc_sync(v: int = F.Depends(slow_sync, max_concurrency=1)):
    return v

@app.get("/mc/gen")
def mc_gen(v: int = F.Depends(slow_gen, max_concurrency=1)):
    time.sleep(0.05)
    return v

@app.get("/scope")
def scope(request: F.Request):
    sc = request.scope
    return {{"asgi": sc["asgi"], "server": list(sc["server"]), "client_host": sc["client"][0],
             "http_version": sc["http_version"], "scheme": sc["scheme"],
             "root_path": sc["root_path"], "query_string": sc["query_string"].decode(),
             "state": sc.get("state")}}

@app.get("/mc/free")
def mc_free(v: int = F.Depends(slow_sync)):  # the same dependency, no limit: the control
    return v

@app.get("/mc/stats")
def stats():
    return dict(state)

@app.post("/mc/reset")
def reset():
    state.update(cur=0, max=0)
'''


@pytest.fixture(scope="module")
def ports():
    yield from serve_both(lambda name: APP.format(name=name))


CASES = [
    ("GET", "/r/d", {}),
    ("GET", "/r/d?x=5", {"headers": {"h": "z"}, "cookies": {"c": "k"}}),
    ("GET", "/r/d?x=-1", {}),
    ("GET", "/r/d?x=a", {}),
    ("POST", "/r/b?num=4", {"json": {"item": {"name": "a"}}}),
    ("POST", "/r/b", {"json": {"name": "a"}}),
    ("POST", "/r/b", {"content": b"{bad", "headers": {"content-type": "application/json"}}),
    ("GET", "/r/items/3", {}),
    ("GET", "/r/items/0", {}),
    ("POST", "/r/form", {"data": {"user": "u", "note": "n"}}),
    ("POST", "/r/form", {"data": {"note": "n"}}),
    ("GET", "/s", {}),
    ("GET", "/s", {"headers": {"authorization": "Bearer tok1", "x-key": "kk"}}),
    ("GET", "/s", {"headers": {"authorization": "Basic dTpw"}}),
    ("GET", "/openapi.json", {}),
]


@pytest.mark.parametrize("method,path,kw", CASES, ids=[f"{m} {p}" for m, p, _ in CASES])
def test_real_fastapi_objects_same_answers(ports, method, path, kw):
    out = {}
    for name, port in ports.items():
        r = httpx.request(method, f"http://127.0.0.1:{port}{path}", timeout=10, **kw)
        out[name] = (r.status_code, r.headers.get("content-type"), r.content)
    if path == "/openapi.json":
        fa, fr = (json.loads(out[n][2]) for n in ("fastapi", "fastrapi"))
        assert fr == fa
        assert "/r/d" in fr["paths"] and "OAuth2PasswordBearer" in fr["components"]["securitySchemes"]
    else:
        assert out["fastrapi"] == out["fastapi"]


def test_real_objects_are_not_taken_as_values(ports):
    # before: fastapi.Depends(q) was passed to the handler as the value itself
    r = httpx.get(f"http://127.0.0.1:{ports['fastrapi']}/r/d?x=4", timeout=10)
    assert r.status_code == 200 and r.json()["v"] == 8


def _peak(base, path, n=5):
    """n concurrent requests to path; the peak number of dependency calls the
    server saw running at once."""
    results = []

    def hit():
        results.append(httpx.get(base + path, timeout=30))

    httpx.post(base + "/mc/reset", timeout=10)
    threads = [threading.Thread(target=hit) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [r.status_code for r in results] == [200] * n
    # a generator's teardown may still run after its response was sent
    for _ in range(100):
        peak = httpx.get(base + "/mc/stats", timeout=10).json()
        if peak["cur"] == 0:
            break
        time.sleep(0.05)
    assert peak["cur"] == 0, peak
    return peak["max"], {r.json() for r in results}


def test_unlimited_dependency_overlaps(ports):
    # the control: without max_concurrency, the 5 requests' calls overlap (so
    # the limited routes below are limited by the limit, not by a server that
    # happens to run one request at a time)
    for name, port in ports.items():
        peak, values = _peak(f"http://127.0.0.1:{port}", "/mc/free")
        assert values == {2} and peak >= 2, (name, peak)


@pytest.mark.parametrize("path,limit,value", [("/mc/async", 2, 1), ("/mc/sync", 1, 2),
                                              ("/mc/gen", 1, 3)])
def test_max_concurrency_limits_calls(ports, path, limit, value):
    for name, port in ports.items():
        peak, values = _peak(f"http://127.0.0.1:{port}", path)
        assert values == {value}, name
        # at most `limit` calls at once (the control above reaches >= 2 with
        # the same 5 requests, so this fails for limit 1 without the limit)
        assert peak <= limit, (name, peak)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_max_concurrency_rejects_bad_values(fr, fa, bad):
    msgs = []
    for ns in (fa, fr):
        with pytest.raises(ValueError) as e:
            ns.Depends(lambda: 1, max_concurrency=bad)
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1] == "max_concurrency must be a positive integer or None"


def test_max_concurrency_keeps_the_dependency_cache(fr):
    # FastAPI keys the request's cache by the dependency, not the Depends
    # object: the limited and the plain declaration share one call
    from fastrapi.testclient import TestClient
    calls = []

    def dep():
        calls.append(1)
        return len(calls)

    app = fr.FastAPI()

    @app.get("/")
    def root(a: int = fr.Depends(dep, max_concurrency=1), b: int = fr.Depends(dep)):
        return [a, b]

    r = TestClient(app).get("/")
    assert r.json() == [1, 1] and calls == [1]


def test_scope_has_the_servers_keys(ports):
    # uvicorn's scope has "asgi" and "server" (the local address); so does
    # the native server's (plugins and url building read them)
    out = {}
    for name, port in ports.items():
        r = httpx.get(f"http://127.0.0.1:{port}/scope?a=1", timeout=10)
        assert r.status_code == 200, r.text
        out[name] = r.json()
        assert out[name]["server"] == ["127.0.0.1", port]
    fa, fr = out["fastapi"], out["fastrapi"]
    fa["server"][1] = fr["server"][1] = None
    assert fr == fa


@pytest.mark.parametrize("kind", ["fastrapi", "native"])
def test_fastapis_request_validation_error_is_answered(kind):
    """A dependency from a plugin that imports fastapi itself (fastapi-filter)
    raises FastAPI's RequestValidationError: answered as FastAPI answers it,
    by the default 422 or by the app's handler (fastrapi: a 500)."""
    import fastapi.exceptions as real
    from conftest import framework
    from helpers import served

    def make(name, handled):
        fw = framework(name)
        own = __import__(name + ".exceptions", fromlist=["x"])
        app = fw.FastAPI()

        def plugin_dep():
            raise real.RequestValidationError([{"type": "x", "loc": ("query", "q"), "msg": "bad"}], body={"b": 1})

        if handled:
            @app.exception_handler(own.RequestValidationError)
            async def h(request, exc):
                return fw.responses.JSONResponse({"seen": exc.errors(), "body": exc.body}, status_code=418)

        @app.get("/f", dependencies=[fw.Depends(plugin_dep)])
        def f():
            return "ok"
        return app

    for handled in (False, True):
        got = {}
        for name, k in (("fastapi", "fastapi"), ("fastrapi", kind)):
            with served(make(name, handled), k, raise_server_exceptions=False) if k != "native" \
                    else served(make(name, handled), k) as c:
                r = c.get("/f")
                got[name] = (r.status_code, r.json())
        assert got["fastrapi"] == got["fastapi"]
        assert got["fastapi"][0] == (418 if handled else 422)
