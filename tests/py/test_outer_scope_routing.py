"""What the middleware around the app sees in the scope once the app has
answered, differential against FastAPI.

Starlette's router writes the matched route into the scope it was given
(``scope["route"]``, ``["endpoint"]``, ``["path_params"]``, ``["router"]``):
a raw ASGI middleware or an ``@app.middleware`` function reads them after
``call_next`` -- metrics and tracing middleware label requests with the
route's path template that way. fastrapi's engine routes in C and wrote
them only into the handler's own copy; an ``{id:int}`` path parameter was
the string ``"3"`` in ``request.path_params`` where Starlette's convertor
gives ``3``. Runs on FastAPI's TestClient (the reference), fastrapi's
TestClient, its native server and uvicorn."""
import time

import pytest

from conftest import framework
from helpers import served


def make_app(fw, seen, raw):
    def desc(scope):
        route = scope.get("route")
        return (getattr(route, "path", None), scope.get("path_params"),
                getattr(scope.get("endpoint"), "__name__", None),
                type(scope.get("router")).__name__)

    class Raw:
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            await self.app(scope, receive, send)
            if scope["type"] == "http":
                seen.append(("raw",) + desc(scope))

    app = fw.FastAPI()
    if raw:
        app.add_middleware(Raw)

    @app.middleware("http")
    async def mw(request, call_next):
        seen.append(("before",) + desc(request.scope))
        response = await call_next(request)
        seen.append(("after",) + desc(request.scope))
        return response

    @app.get("/items/{item_id:int}/{ratio:float}/{rest:path}")
    def item(item_id: int, ratio: float, rest: str, request: fw.Request):
        return repr(request.path_params)

    @app.get("/users/{name}")
    async def user(name: str):
        return name

    @app.post("/bad/{n:int}")
    def bad(n: int, q: int):
        return n

    router = fw.APIRouter(prefix="/r")

    @router.get("/{slug}")
    def routed(slug: str):
        return slug

    app.include_router(router)
    return app


PATHS = [("GET", "/items/3/1.5/a/b"), ("GET", "/users/x%20y"), ("POST", "/bad/7?q=no"),
         ("GET", "/r/s"), ("GET", "/nowhere")]


def run(kind, raw):
    seen = []
    app = make_app(framework("fastapi" if kind == "fastapi" else "fastrapi"), seen, raw)
    out = []
    with served(app, kind) as client:
        for method, path in PATHS:
            seen.clear()
            r = client.request(method, path)
            for _ in range(200):  # the outer middleware's line comes after the answer
                if len(seen) == (3 if raw else 2):
                    break
                time.sleep(0.01)
            out.append((path, r.status_code, r.content, list(seen)))
    return out


@pytest.mark.parametrize("raw", [False, True], ids=["app.middleware", "asgi-class"])
def test_middleware_sees_the_route_after_the_app_as_in_fastapi(raw):
    want = run("fastapi", raw)
    assert want[0][2] == b"\"{'item_id': 3, 'ratio': 1.5, 'rest': 'a/b'}\""
    assert want[0][3][-1][1:4] == ("/items/{item_id:int}/{ratio:float}/{rest:path}",
                                  {"item_id": 3, "ratio": 1.5, "rest": "a/b"}, "item")
    assert want[3][3][-1][1:4] == ("/r/{slug}", {"slug": "s"}, "routed")
    for kind in ("fastrapi", "native", "uvicorn"):
        got = run(kind, raw)
        for w, g in zip(want, got):
            # before call_next: no route and no endpoint, as in FastAPI (the
            # engine's scope may already name the router and path_params {})
            assert [e[1:4:2] for e in g[3] if e[0] == "before"] == [(None, None)]
            w = w[:3] + ([e for e in w[3] if e[0] != "before"],)
            g = g[:3] + ([e for e in g[3] if e[0] != "before"],)
            if g[0] == "/nowhere":
                # unmatched: no route and no endpoint in either; fastrapi may
                # leave path_params {} (FastAPI: absent) and its native server
                # answers in C without naming the router
                assert g[1:3] == w[1:3], kind
                assert [e[1:4:2] for e in g[3]] == [e[1:4:2] for e in w[3]], kind
                assert all(e[1:4:2] == (None, None) for e in w[3])
                continue
            assert g == w, (kind, g[0])
