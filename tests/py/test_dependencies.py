"""Dependency injection semantics (issue 4's Python side, as far as covered)."""
import asyncio
import logging
import time
from typing import Annotated, Optional

import pytest

from fastrapi import (APIRouter, Body, Depends, FastrAPI, Header, HTTPException, Query, Request,
                      Response, Security)
from fastrapi.testclient import TestClient


def wait_for(pred, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_cache_order_and_use_cache_false():
    order = []
    app = FastrAPI()

    def a():
        order.append("a")
        return "a"

    def b(x=Depends(a)):
        order.append("b")
        return "b" + x

    async def c(x=Depends(a), y=Depends(b), z=Depends(a, use_cache=False)):
        order.append("c")
        return x + y + z

    @app.get("/o")
    def o(v=Depends(c), w=Depends(b)):
        return v + "|" + w

    with TestClient(app) as cl:
        assert cl.get("/o").json() == "abaa|ba"
    assert order == ["a", "b", "a", "c"]


def test_yield_teardown_reverse_order_after_response():
    events = []
    app = FastrAPI()

    def outer():
        events.append("outer-in")
        yield "o"
        events.append("outer-out")

    async def inner(o=Depends(outer)):
        events.append("inner-in")
        yield o + "i"
        events.append("inner-out")

    @app.get("/t")
    async def t(v=Depends(inner)):
        events.append("handler")
        return v

    with TestClient(app) as cl:
        assert cl.get("/t").json() == "oi"
        assert wait_for(lambda: "outer-out" in events)
    assert events == ["outer-in", "inner-in", "handler", "inner-out", "outer-out"]


def test_http_exception_before_yield_is_the_response():
    app = FastrAPI()

    def guard(x_key: Optional[str] = Header(None)):
        if x_key != "k":
            raise HTTPException(status_code=401, detail="no key", headers={"WWW-Authenticate": "Key"})
        yield x_key

    @app.get("/g")
    def g(k=Depends(guard)):
        return k

    with TestClient(app) as cl:
        r = cl.get("/g")
        assert (r.status_code, r.json(), r.headers["www-authenticate"]) == (401, {"detail": "no key"}, "Key")
        assert cl.get("/g", headers={"x-key": "k"}).json() == "k"


def test_dependency_params_errors_collected_with_endpoint_errors():
    app = FastrAPI()

    def dep(a: int, b: int = Body(embed=True)):
        return a + b

    @app.post("/e")
    def e(v=Depends(dep), c: int = Query()):
        return v + c

    with TestClient(app) as cl:
        r = cl.post("/e?a=x&c=y", json={"b": "z"})
        assert r.status_code == 422
        assert [d["loc"] for d in r.json()["detail"]] == [["query", "a"], ["body", "b"], ["query", "c"]]
        assert cl.post("/e?a=1&c=2", json={"b": 3}).json() == 6


def test_app_router_and_decorator_dependencies_order():
    seen = []

    def mk(name):
        def d():
            seen.append(name)
        return d

    router = APIRouter(dependencies=[Depends(mk("router"))])

    @router.get("/x", dependencies=[Depends(mk("decorator"))])
    def x():
        seen.append("handler")
        return 1

    app = FastrAPI(dependencies=[Depends(mk("app"))])
    app.include_router(router, dependencies=[Depends(mk("include"))])
    with TestClient(app) as cl:
        assert cl.get("/x").json() == 1
    assert seen == ["app", "include", "router", "decorator", "handler"]


def test_class_callable_instance_and_annotated_alias():
    app = FastrAPI()

    class Pager:
        def __init__(self, page: int = 1):
            self.page = page

    class Multiplier:
        def __init__(self, k):
            self.k = k

        def __call__(self, n: int = 2):
            return n * self.k

    PageDep = Annotated[Pager, Depends()]
    Times3 = Annotated[int, Depends(Multiplier(3))]

    @app.get("/p")
    def p(pg: PageDep, t: Times3):
        return [pg.page, t]

    with TestClient(app) as cl:
        assert cl.get("/p?page=4&n=5").json() == [4, 15]
        assert cl.get("/p?page=x").status_code == 422


def test_override_with_different_signature_and_request_response_in_deps():
    app = FastrAPI()

    def real(q: int):
        return q

    @app.get("/r")
    def r(v=Depends(real)):
        return v

    def fake(request: Request, response: Response, other: str = "o"):
        response.headers["x-fake"] = "1"
        return f"{other}:{request.url.path}"

    with TestClient(app) as cl:
        assert cl.get("/r").status_code == 422
        app.dependency_overrides[real] = fake
        res = cl.get("/r?other=z")
        assert res.json() == "z:/r"
        assert res.headers["x-fake"] == "1"
        del app.dependency_overrides[real]
        assert cl.get("/r?q=3").json() == 3


def test_dependency_raising_keeps_server_serving(caplog):
    app = FastrAPI()

    def broken():
        raise ZeroDivisionError("dep broke")

    @app.get("/b")
    def b(v=Depends(broken)):
        return v

    @app.get("/ok")
    def ok():
        return "ok"

    with caplog.at_level(logging.ERROR, logger="fastrapi.error"):
        with TestClient(app, raise_server_exceptions=False) as cl:
            r = cl.get("/b")
            assert (r.status_code, r.text) == (500, "Internal Server Error")
            assert cl.get("/ok").json() == "ok"
    assert "dep broke" in caplog.text


def test_security_scopes_are_passed():
    from fastrapi.security import SecurityScopes
    app = FastrAPI()

    def needs(scopes: SecurityScopes):
        return scopes.scopes

    def mid(s=Security(needs, scopes=["b"])):
        return s

    @app.get("/s")
    def s(v=Security(mid, scopes=["a"])):
        return v

    with TestClient(app) as cl:
        assert cl.get("/s").json() == ["a", "b"]


def test_blocking_sync_dependency_does_not_stall_async_routes():
    import threading
    import httpx
    gate = threading.Event()
    app = FastrAPI()

    def blocking():
        return gate.wait(10)

    @app.get("/slow")
    async def slow(v: bool = Depends(blocking)):
        return v

    @app.get("/fast")
    async def fast():
        return "fast"

    with TestClient(app) as cl:
        out = {}
        t = threading.Thread(target=lambda: out.setdefault(
            "slow", httpx.get(f"http://127.0.0.1:{cl.port}/slow", timeout=20).json()))
        t.start()
        time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{cl.port}/fast", timeout=5).json() == "fast"
        gate.set()
        t.join(20)
        assert out["slow"] is True


@pytest.mark.parametrize("name", ["fastapi", "fastrapi"])
def test_request_scoped_generator_over_a_function_scoped_one_is_refused_at_declaration(name):
    """FastAPI's DependencyScopeError, raised when the route is declared
    (fastrapi raised a RuntimeError about a dependency cycle at startup)."""
    from conftest import framework
    fw = framework(name)
    exceptions = __import__(name + ".exceptions", fromlist=["DependencyScopeError"])

    def f():
        yield 1

    def r(x=fw.Depends(f, scope="function")):
        yield x

    app = fw.FastAPI()
    with pytest.raises(exceptions.DependencyScopeError,
                       match='The dependency "r" has a scope of "request", it cannot depend on '
                             'dependencies with scope "function".'):
        @app.get("/")
        def endpoint(v=fw.Depends(r)):
            return v

    def ok(x=fw.Depends(f, scope="function")):  # a plain function may depend on it
        return x

    @app.get("/ok")
    def fine(v=fw.Depends(ok)):
        return v
