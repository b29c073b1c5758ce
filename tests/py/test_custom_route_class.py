"""Custom APIRoute classes (FastAPI's "Custom Request and APIRoute class"
recipes), differential against FastAPI.

A subclass's ``get_route_handler()`` is called when the route is made and
its handler serves the route; ``super().get_route_handler()`` runs the
route's own parameters, dependencies and endpoint for the Request it is
given and *raises* their errors (HTTPException, RequestValidationError, the
endpoint's own) for the code around it, then the app's exception handlers.
Before, fastrapi never called the override: the route's plan answered.

Each app runs on FastAPI's TestClient (the reference), fastrapi's
TestClient, fastrapi's native server and fastrapi under uvicorn; answers
and what the app's code logged are compared."""
import gzip
import logging
import time
from typing import Callable, List, Optional

import pytest
from pydantic import BaseModel

from conftest import framework
from helpers import served, wait_until


class Item(BaseModel):
    name: str
    price: float


class ItemOut(BaseModel):
    name: str


def make_app(fw, log):
    Request, Response, HTTPException = fw.Request, fw.Response, fw.HTTPException
    R = fw.responses
    if fw.name == "fastapi":
        from fastapi.exceptions import RequestValidationError
        from fastapi.routing import APIRoute
    else:
        from fastrapi.exceptions import RequestValidationError
        from fastrapi.routing import APIRoute

    class GzipRequest(Request):
        async def body(self) -> bytes:
            if not hasattr(self, "_body"):
                body = await super().body()
                if "gzip" in self.headers.getlist("Content-Encoding"):
                    body = gzip.decompress(body)
                self._body = body
            return self._body

    class GzipRoute(APIRoute):
        def get_route_handler(self) -> Callable:
            original = super().get_route_handler()

            async def handler(request: Request) -> Response:
                return await original(GzipRequest(request.scope, request.receive))
            return handler

    class ValidationErrorLoggingRoute(APIRoute):
        def get_route_handler(self) -> Callable:
            original = super().get_route_handler()

            async def handler(request: Request) -> Response:
                try:
                    return await original(request)
                except RequestValidationError as exc:
                    body = await request.body()
                    raise HTTPException(status_code=422,
                                        detail={"errors": exc.errors(), "body": body.decode()})
            return handler

    class TimedRoute(APIRoute):
        def get_route_handler(self) -> Callable:
            original = super().get_route_handler()
            log.append(("made", self.path))

            async def handler(request: Request) -> Response:
                request.state.who = "timed"
                response = await original(request)
                response.headers["X-Response-Time"] = "1.0"
                log.append(("timed", request.url.path, response.status_code))
                return response
            return handler

    class CatchingRoute(APIRoute):
        def get_route_handler(self) -> Callable:
            original = super().get_route_handler()

            async def handler(request: Request) -> Response:
                try:
                    return await original(request)
                except HTTPException as exc:
                    return R.JSONResponse({"caught": exc.detail}, status_code=418,
                                          headers=exc.headers)
                except ValueError as exc:
                    return R.PlainTextResponse(f"value error: {exc}", status_code=400)
            return handler

    class OwnRoute(APIRoute):
        def get_route_handler(self) -> Callable:
            async def handler(request: Request) -> Response:
                return R.PlainTextResponse(f"own {request.method} {request.url.path}")
            return handler

    app = fw.FastAPI()

    @app.exception_handler(KeyError)
    async def on_key_error(request, exc):
        log.append(("KeyError handler", str(exc)))
        return R.JSONResponse({"key": str(exc)}, status_code=409)

    def dep(q: int = 0):
        log.append(("dep setup", q))
        try:
            yield q * 2
        finally:
            log.append(("dep teardown", q))

    gz = fw.APIRouter(route_class=GzipRoute)

    @gz.post("/sum")
    async def sum_numbers(numbers: List[int] = fw.Body()):
        return {"sum": sum(numbers)}

    logged = fw.APIRouter(route_class=ValidationErrorLoggingRoute)

    @logged.post("/logged")
    def logged_item(item: Item):
        return item

    timed = fw.APIRouter(route_class=TimedRoute, prefix="/t")

    @timed.get("/items/{item_id}", response_model=ItemOut)
    def read_item(item_id: int, request: Request, bg: fw.BackgroundTasks, d: int = fw.Depends(dep)):
        bg.add_task(log.append, ("bg", item_id))
        log.append(("endpoint", item_id, d, request.state.who,
                    type(request.scope["route"]).__name__, request.scope["endpoint"].__name__))
        return {"name": f"item{item_id}", "price": 1.5}

    @timed.get("/key")
    async def key():
        raise KeyError("k")

    @timed.get("/boom")
    async def boom():
        raise RuntimeError("boom")

    @timed.get("/cookie")
    def cookie(response: Response):
        response.set_cookie("c", "v")
        response.status_code = 201
        return {"cookie": True}

    @timed.get("/stream")
    def stream():
        return R.StreamingResponse(iter([b"a", b"b", b"c"]), media_type="text/plain")

    @timed.post("/form")
    def form(a: str = fw.Form(), b: Optional[int] = fw.Form(None)):
        return {"a": a, "b": b}

    catching = fw.APIRouter(route_class=CatchingRoute)

    @catching.get("/http")
    async def http():
        raise HTTPException(404, "nope", headers={"x-why": "because"})

    @catching.get("/value")
    def value():
        raise ValueError("v")

    @catching.get("/deps-http")
    def deps_http(q: int = fw.Depends(dep)):
        if q > 2:
            raise HTTPException(403, "too big")
        return {"q": q}

    own = fw.APIRouter(route_class=OwnRoute)

    @own.get("/own/{anything}")
    def never(anything: int):
        log.append("never runs")

    app.include_router(gz)
    app.include_router(logged)
    app.include_router(timed)
    app.include_router(catching)
    app.include_router(own)

    @app.get("/plain")
    def plain():
        return {"plain": True}

    return app


REQUESTS = [
    ("POST", "/sum", {"content": gzip.compress(b"[1,2,3]"),
                      "headers": {"content-encoding": "gzip", "content-type": "application/json"}}),
    ("POST", "/sum", {"json": [4, 5]}),
    ("POST", "/sum", {"json": ["x"]}),
    ("POST", "/logged", {"json": {"name": "n", "price": "nope"}}),
    ("POST", "/logged", {"json": {"name": "n", "price": 2}}),
    ("POST", "/logged", {"content": b"{broken", "headers": {"content-type": "application/json"}}),
    ("GET", "/t/items/7?q=3", {}),
    ("GET", "/t/items/x", {}),
    ("GET", "/t/key", {}),
    ("GET", "/t/boom", {}),
    ("GET", "/t/cookie", {}),
    ("GET", "/t/stream", {}),
    ("POST", "/t/form", {"data": {"a": "x", "b": "2"}}),
    ("POST", "/t/form", {"data": {"b": "zz"}}),
    ("GET", "/http", {}),
    ("GET", "/value", {}),
    ("GET", "/deps-http?q=1", {}),
    ("GET", "/deps-http?q=5", {}),
    ("GET", "/deps-http?q=z", {}),
    ("GET", "/own/abc", {}),
    ("POST", "/own/abc", {}),
    ("GET", "/plain", {}),
]

HEADERS = ("content-type", "x-response-time", "x-why", "set-cookie", "allow")


def run_all(kind):
    """[(status, body, headers, sorted log)] for each of REQUESTS, and the
    log made while the app was built."""
    log = []
    app = make_app(framework("fastapi" if kind == "fastapi" else "fastrapi"), log)
    made = sorted(set(log))  # fastrapi copies included routes: made twice (README "Not yet")
    log.clear()
    out = []
    with served(app, kind, raise_server_exceptions=False) as client:
        for method, path, kw in REQUESTS:
            log.clear()
            r = client.request(method, path, **kw)
            # what runs after the answer (teardowns, background tasks)
            wait_until(lambda: not any(e[0] == "dep setup" for e in log if isinstance(e, tuple))
                       or any(e[0] == "dep teardown" for e in log if isinstance(e, tuple)), 5)
            time.sleep(0.02)
            # FastAPI 0.165 calls get_route_handler() again for an included
            # route's first request: not what is compared
            out.append((r.status_code, r.content, {h: r.headers.get(h) for h in HEADERS},
                        sorted((e for e in log if e[0] != "made"), key=repr)))
    return made, out


@pytest.fixture(autouse=True)
def quiet():
    logging.disable(logging.CRITICAL)  # the tracebacks these apps log on purpose
    yield
    logging.disable(logging.NOTSET)


@pytest.fixture(scope="module")
def reference():
    return run_all("fastapi")


@pytest.mark.parametrize("kind", ["fastrapi", "native", "uvicorn"])
def test_custom_route_classes_as_in_fastapi(reference, kind):
    made, got = run_all(kind)
    assert made == reference[0]
    for (method, path, _), want, have in zip(REQUESTS, reference[1], got):
        assert have == want, (method, path)


def test_the_reference_shows_what_the_recipes_do(reference):
    """The answers the comparison above holds fastrapi to, spelled out."""
    made, got = reference
    assert made == [("made", "/t/boom"), ("made", "/t/cookie"), ("made", "/t/form"),
                    ("made", "/t/items/{item_id}"), ("made", "/t/key"), ("made", "/t/stream")]
    by = {(m, p): r for (m, p, _), r in zip(REQUESTS, got)}
    assert got[0][:2] == (200, b'{"sum":6}')  # the gzip body, through GzipRequest.body()
    assert got[3][0] == 422 and b'"body":"{\\"name\\":\\"n\\",\\"price\\":\\"nope\\"}"' in got[3][1]
    status, body, headers, log = by[("GET", "/t/items/7?q=3")]
    assert (status, body, headers["x-response-time"]) == (200, b'{"name":"item7"}', "1.0")
    assert ("endpoint", 7, 6, "timed", "TimedRoute", "read_item") in log
    assert {("bg", 7), ("dep teardown", 3), ("timed", "/t/items/7", 200)} <= set(log)
    assert by[("GET", "/t/key")][:2] == (409, b'{"key":"\'k\'"}')
    assert by[("GET", "/t/boom")][0] == 500
    assert by[("GET", "/http")][:3] == (418, b'{"caught":"nope"}', {**dict.fromkeys(HEADERS),
                                        "content-type": "application/json", "x-why": "because"})
    assert by[("GET", "/value")][:2] == (400, b"value error: v")
    assert by[("GET", "/deps-http?q=5")][:2] == (418, b'{"caught":"too big"}')
    assert by[("GET", "/deps-http?q=z")][0] == 422  # not an HTTPException: the app's 422
    # the handler alone: no parameters (`anything: int`), the endpoint never runs
    assert by[("GET", "/own/abc")][:2] == (200, b"own GET /own/abc")
    assert by[("GET", "/own/abc")][3] == []
    assert by[("POST", "/own/abc")][0] == 405  # routing still decides the methods


def test_route_handler_of_a_plain_route_raises_its_errors():
    """``get_route_handler()`` of an ordinary route (what plugins and tests
    call) runs the route and raises what it raises."""
    import asyncio

    from fastrapi import FastAPI, HTTPException, Request
    from fastrapi.exceptions import RequestValidationError
    app = FastAPI()

    @app.get("/n/{n}")
    def n(n: int):
        if n == 0:
            raise HTTPException(404, "zero")
        return {"n": n}

    route = next(r for r in app.routes if getattr(r, "path", "") == "/n/{n}")
    handler = route.get_route_handler()

    def request(path):
        scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
                 "query_string": b"", "headers": [], "client": ("1.2.3.4", 5), "scheme": "http",
                 "server": ("t", 80), "root_path": "", "path_params": {}}

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}
        return Request(scope, receive)

    async def main():
        ok = await handler(request("/n/5"))
        with pytest.raises(HTTPException) as e:
            await handler(request("/n/0"))
        with pytest.raises(RequestValidationError) as v:
            await handler(request("/n/x"))
        return ok, e.value, v.value

    ok, http_exc, val = asyncio.run(main())
    assert (ok.status_code, ok.body) == (200, b'{"n":5}')
    assert (http_exc.status_code, http_exc.detail) == (404, "zero")
    assert val.errors()[0]["loc"] == ("path", "n")


def test_a_route_outside_an_application_says_so():
    import asyncio

    from fastrapi import APIRouter
    router = APIRouter()

    @router.get("/x")
    def x():
        return 1

    handler = router.routes[0].get_route_handler()
    with pytest.raises(RuntimeError, match="not part of an application"):
        asyncio.run(handler(object()))


def make_edge_app(fw):
    if fw.name == "fastapi":
        from fastapi.routing import APIRoute
    else:
        from fastrapi.routing import APIRoute

    class NotAResponse(APIRoute):
        def get_route_handler(self) -> Callable:
            original = super().get_route_handler()

            async def handler(request):
                await original(request)
                return {"not": "a response"}
            return handler

    class Passing(APIRoute):
        def get_route_handler(self) -> Callable:
            original = super().get_route_handler()

            async def handler(request):
                return await original(request)
            return handler

    app = fw.FastAPI()
    app.router.route_class = NotAResponse

    @app.get("/not-a-response")
    def not_a_response():
        return 1

    app.router.route_class = Passing

    def real():
        return "real"

    @app.get("/dep")
    def dep(v: str = fw.Depends(real)):
        return v

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom!")

    def plain(request):
        return {"plain": "not a response either"}

    app.add_route("/plain", plain)
    app.state.real = real
    return app


def edge_answers(kind):
    app = make_edge_app(framework("fastapi" if kind == "fastapi" else "fastrapi"))
    out = []
    with served(app, kind, raise_server_exceptions=False) as client:
        for path in ("/not-a-response", "/plain", "/boom", "/dep"):
            r = client.get(path)
            out.append((path, r.status_code, r.content))
        app.dependency_overrides[app.state.real] = lambda: "override"
        out.append(("override", client.get("/dep").content))
        app.dependency_overrides.clear()
        out.append(("cleared", client.get("/dep").content))
    if kind != "native":  # the TestClients raise the app's error
        with served(app, kind) as c, pytest.raises(RuntimeError, match="boom!"):
            c.get("/boom")
    return out


def test_edges_as_in_fastapi():
    want = edge_answers("fastapi")
    assert want == [("/not-a-response", 500, b"Internal Server Error"),
                    ("/plain", 500, b"Internal Server Error"),
                    ("/boom", 500, b"Internal Server Error"), ("/dep", 200, b'"real"'),
                    ("override", b'"override"'), ("cleared", b'"real"')]
    assert edge_answers("fastrapi") == want
    assert edge_answers("native") == want


def test_one_inner_engine_app_per_route_however_many_requests():
    from fastrapi.testclient import TestClient
    app = make_edge_app(framework("fastrapi"))
    with TestClient(app) as client:
        assert client.get("/dep").status_code == 200
        servers = len(app._servers)
        for i in range(300):
            assert client.get("/dep").content == b'"real"'
        assert len(app._servers) == servers
