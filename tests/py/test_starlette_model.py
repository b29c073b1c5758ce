"""Starlette is fastrapi's object model, as it is FastAPI's.

- what a handler gets (request, response parameter, background tasks, upload
  files, headers, query params, URL, state, form data) are Starlette's classes
  (or subclasses), checked in live handlers;
- a handler returning any of Starlette's own response classes is answered as
  FastAPI answers it (status, headers, body bytes);
- a route annotated ``-> starlette.responses.Response`` registers (no response
  model); a Starlette ``HTTPException`` raised in a handler, and handlers keyed
  on either HTTPException class, behave as in FastAPI;
- ``validation_alias`` of Query/Header/Cookie/Path/Form/Body is honoured;
- the names plugins import from FastAPI exist and behave like FastAPI's.

The differential tests run one app source on FastAPI (its TestClient) and on
fastrapi (the engine over a socket)."""
import asyncio
import warnings
from contextlib import asynccontextmanager
from typing import Annotated, List, Optional

import pytest
import starlette.background
import starlette.datastructures
import starlette.exceptions
import starlette.requests
import starlette.responses
from pydantic import AliasChoices
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import (FileResponse, HTMLResponse, JSONResponse, PlainTextResponse,
                                 RedirectResponse, Response, StreamingResponse)

from conftest import framework

IGNORED_HEADERS = {"date", "server", "connection", "keep-alive", "transfer-encoding"}


def _pair(make_app, raise_server_exceptions=False):
    from fastrapi.testclient import TestClient as FRTC
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient as FATC
        fa = FATC(make_app(framework("fastapi")),
                  raise_server_exceptions=raise_server_exceptions)
    fr = FRTC(make_app(framework("fastrapi")), raise_server_exceptions=raise_server_exceptions)
    return fa, fr


def _answer(r):
    headers = sorted((k, v) for k, v in r.headers.multi_items() if k not in IGNORED_HEADERS)
    return r.status_code, headers, r.content


def same(make_app, steps, raise_server_exceptions=False):
    """Each (method, url, kwargs) on both apps: same status, headers, bytes."""
    fa, fr = _pair(make_app, raise_server_exceptions)
    with fa, fr:
        for method, url, kw in steps:
            ra = fa.request(method, url, follow_redirects=False, **kw)
            rb = fr.request(method, url, follow_redirects=False, **kw)
            assert _answer(rb) == _answer(ra), (method, url)
    return fa, fr


# =====================================================================
# the classes a handler gets
# =====================================================================

def test_handler_objects_are_starlettes(fr):
    from fastrapi.testclient import TestClient
    app = fr.FastAPI()
    seen = {}

    @app.post("/objects/{item}")
    async def objects(item: int, request: fr.Request, response: fr.Response,
                      tasks: fr.BackgroundTasks, upload: fr.UploadFile,
                      name: str = fr.Form()):
        form = await request.form()
        seen.update(
            request=isinstance(request, starlette.requests.Request),
            connection=isinstance(request, starlette.requests.HTTPConnection),
            response=isinstance(response, starlette.responses.Response),
            tasks=isinstance(tasks, starlette.background.BackgroundTasks),
            upload=isinstance(upload, starlette.datastructures.UploadFile),
            form=isinstance(form, starlette.datastructures.FormData),
            form_upload=isinstance(form["upload"], starlette.datastructures.UploadFile),
            headers=isinstance(request.headers, starlette.datastructures.Headers),
            query=isinstance(request.query_params, starlette.datastructures.QueryParams),
            url=isinstance(request.url, starlette.datastructures.URL),
            client=isinstance(request.client, starlette.datastructures.Address),
            state=isinstance(request.state, starlette.datastructures.State),
            path_params=request.path_params == {"item": "3"},
        )
        return {"read": (await upload.read()).decode(), "name": name,
                "url": str(request.url), "base": str(request.base_url),
                "q": request.query_params.getlist("q"), "host": request.url.hostname}

    with TestClient(app) as c:
        r = c.post("/objects/3?q=a&q=b", data={"name": "n"},
                   files={"upload": ("f.txt", b"content", "text/plain")})
    assert r.status_code == 200, r.text
    assert r.json() == {"read": "content", "name": "n",
                        "url": "http://testserver/objects/3?q=a&q=b",
                        "base": "http://testserver/", "q": ["a", "b"], "host": "testserver"}
    assert seen and all(seen.values()), seen


def test_declared_classes_are_starlettes():
    import fastrapi
    from fastrapi import background, datastructures, exceptions, requests, responses
    assert issubclass(fastrapi.Request, starlette.requests.Request)
    assert requests.HTTPConnection is starlette.requests.HTTPConnection
    assert issubclass(fastrapi.HTTPException, starlette.exceptions.HTTPException)
    assert issubclass(exceptions.WebSocketException, starlette.exceptions.WebSocketException)
    assert issubclass(fastrapi.UploadFile, starlette.datastructures.UploadFile)
    assert issubclass(fastrapi.BackgroundTasks, starlette.background.BackgroundTasks)
    assert background.BackgroundTask is starlette.background.BackgroundTask
    for name in ("URL", "Address", "FormData", "Headers", "QueryParams", "State"):
        assert getattr(datastructures, name) is getattr(starlette.datastructures, name), name
    for name in ("Response", "HTMLResponse", "PlainTextResponse", "JSONResponse",
                 "RedirectResponse", "FileResponse"):
        assert getattr(responses, name) is getattr(starlette.responses, name), name
    assert issubclass(responses.StreamingResponse, starlette.responses.StreamingResponse)
    e = fastrapi.HTTPException(404)
    assert (e.status_code, e.detail, e.headers, str(e)) == (404, "Not Found", None,
                                                            "404: Not Found")


def _body_order_app(ns):
    app = ns.FastAPI()

    async def attempt(coro):
        try:
            return await coro
        except RuntimeError as e:  # Starlette's "Stream consumed"
            return f"RuntimeError: {e}"

    async def form_fields(request):
        async with request.form() as form:
            return list(form.multi_items())

    @app.post("/stream-first")
    async def stream_first(request: ns.Request):
        chunks = [c async for c in request.stream()]
        return {"chunks": [c.decode() for c in chunks], "body": await attempt(request.body()),
                "form": await attempt(form_fields(request)),
                "disconnected": await request.is_disconnected()}

    @app.post("/body-first")
    async def body_first(request: ns.Request):
        body = (await request.body()).decode()
        chunks = [c async for c in request.stream()]  # the cached body
        return {"body": body, "chunks": [c.decode() for c in chunks], "form": await form_fields(request)}

    @app.post("/receive")
    async def receive(request: ns.Request):
        message = await request.receive()
        return [message["type"], message["body"].decode(), message.get("more_body", False)]

    @app.post("/form-then-body")
    async def form_then_body(request: ns.Request):
        fields = await form_fields(request)
        return {"form": fields, "body": (await request.body()).decode()}
    return app


def test_request_body_stream_receive_and_form_orders(fr, fa):
    """stream(), body(), form() and receive() in the orders an app uses them
    answer as on FastAPI: the body once from the stream (body() and form()
    after it: "Stream consumed"), or cached by body() for any later call."""
    from starlette.testclient import TestClient
    out = {}
    for name, ns in (("fastapi", fa), ("fastrapi", fr)):
        with TestClient(_body_order_app(ns), raise_server_exceptions=False) as c:
            out[name] = {p: (lambda r: (r.status_code, r.json() if r.status_code == 200 else r.text))(
                c.post(p, data={"a": "1", "b": "2"}))
                for p in ("/stream-first", "/body-first", "/receive", "/form-then-body")}
    assert out["fastapi"]["/stream-first"] == (200, {
        "chunks": ["a=1&b=2", ""], "body": "RuntimeError: Stream consumed",
        "form": "RuntimeError: Stream consumed", "disconnected": False})
    assert out["fastapi"]["/body-first"][1]["chunks"] == ["a=1&b=2", ""]
    assert out["fastapi"]["/receive"] == (200, ["http.request", "a=1&b=2", False])
    assert out["fastrapi"] == out["fastapi"]


# =====================================================================
# Starlette's response classes returned from a handler
# =====================================================================

def _responses_app(tmp_path):
    path = tmp_path / "data.txt"
    path.write_bytes(b"file content\n" * 100)

    def make(fw):
        app = fw.FastAPI()

        @app.get("/plain")
        def plain():
            return Response("raw text", media_type="text/x-thing", headers={"X-A": "1"})

        @app.get("/empty")
        def empty():
            return Response(status_code=204)

        @app.get("/html")
        def html():
            return HTMLResponse("<h1>hé</h1>", status_code=201)

        @app.get("/text")
        def text():
            r = PlainTextResponse("text")
            r.set_cookie("k", "v", max_age=10)
            return r

        @app.get("/json")
        def json_():
            return JSONResponse({"b": [1, 2.5, None, "é"], "a": True}, status_code=202)

        @app.get("/redirect")
        def redirect():
            return RedirectResponse("/json?x=1 2")

        @app.get("/redirect301")
        async def redirect301():
            return RedirectResponse("https://example.com/", status_code=301)

        @app.get("/stream")
        def stream():
            return StreamingResponse(iter([b"a", "b", b"c"]), media_type="text/plain")

        @app.get("/astream")
        async def astream():
            async def gen():
                for i in range(3):
                    yield f"{i},"
            return StreamingResponse(gen(), media_type="text/csv", headers={"X-S": "s"})

        @app.get("/file")
        def file():
            return FileResponse(path, filename="dl.txt")

        @app.get("/file-inline")
        async def file_inline():
            return FileResponse(str(path), media_type="text/plain",
                                content_disposition_type="inline", filename="é.txt")

        @app.get("/annotated")
        def annotated() -> Response:
            return Response(b"\x00\x01", media_type="application/octet-stream")

        @app.get("/annotated-json")
        async def annotated_json() -> JSONResponse:
            return JSONResponse([1, 2])

        return app
    return make


RESPONSE_URLS = ["/plain", "/empty", "/html", "/text", "/json", "/redirect", "/redirect301",
                 "/stream", "/astream", "/file", "/file-inline", "/annotated",
                 "/annotated-json"]


def test_starlette_responses_returned_like_fastapi(tmp_path):
    same(_responses_app(tmp_path), [("GET", u, {}) for u in RESPONSE_URLS]
         + [("HEAD", "/file", {}), ("POST", "/plain", {})])


def test_response_annotation_means_no_response_model():
    import fastrapi
    app = fastrapi.FastAPI()

    @app.get("/r")
    def r() -> starlette.responses.Response:
        return Response("x")

    @app.get("/s")
    def s() -> StreamingResponse:
        return StreamingResponse(iter([b"x"]))

    assert [rt.response_model for rt in app.routes if rt.path in ("/r", "/s")] == [None, None]
    assert "200" in app.openapi()["paths"]["/r"]["get"]["responses"]


def test_file_response_missing_or_directory_gives_500(tmp_path):
    from fastrapi.testclient import TestClient
    import fastrapi
    app = fastrapi.FastAPI()

    @app.get("/missing")
    def missing():
        return FileResponse(tmp_path / "nope")

    @app.get("/dir")
    def directory():
        return FileResponse(tmp_path)

    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get("/missing").status_code == 500
        assert c.get("/dir").status_code == 500


def test_file_open_sets_starlettes_stat_headers(tmp_path):
    import os
    from fastrapi import _runtime
    p = tmp_path / "f.bin"
    p.write_bytes(b"x" * 10)
    resp = FileResponse(p)
    fd, size = _runtime.file_open(resp)
    os.close(fd)
    assert size == 10 and resp.headers["content-length"] == "10"
    assert resp.headers["etag"] and resp.headers["last-modified"]
    with pytest.raises(RuntimeError, match="does not exist"):
        _runtime.file_open(FileResponse(tmp_path / "nope"))
    with pytest.raises(RuntimeError, match="is not a file"):
        _runtime.file_open(FileResponse(tmp_path))


# =====================================================================
# HTTPException: Starlette's and fastrapi's
# =====================================================================

def _exc_app(handler_key):
    def make(fw):
        app = fw.FastAPI()
        key = {"starlette": StarletteHTTPException, "framework": fw.HTTPException,
               None: None}[handler_key]
        if key is not None:
            @app.exception_handler(key)
            async def handler(request, exc):
                from starlette.responses import JSONResponse
                return JSONResponse({"handled": exc.detail, "by": handler_key},
                                    status_code=exc.status_code)

        @app.get("/starlette")
        def raise_starlette():
            raise StarletteHTTPException(418, "teapot", headers={"X-E": "1"})

        @app.get("/starlette-default")
        async def raise_starlette_default():
            raise StarletteHTTPException(409)

        @app.get("/starlette-204")
        def raise_starlette_204():
            raise StarletteHTTPException(204)

        @app.get("/framework")
        def raise_framework():
            raise fw.HTTPException(status_code=400, detail={"k": ["v"]})

        @app.post("/only-post")
        def only_post():
            return 1

        return app
    return make


EXC_STEPS = [("GET", "/starlette", {}), ("GET", "/starlette-default", {}),
             ("GET", "/framework", {}), ("GET", "/no-such-route", {}),
             ("GET", "/only-post", {})]


@pytest.mark.parametrize("handler_key", [None, "starlette", "framework"])
def test_http_exceptions_like_fastapi(handler_key):
    # (a custom handler answering 204 with a body: the engine drops the body)
    extra = [("GET", "/starlette-204", {})] if handler_key is None else []
    same(_exc_app(handler_key), EXC_STEPS + extra)


def test_default_exception_handlers_as_functions_like_fastapi():
    def make(fw):
        app = fw.FastAPI()
        if fw.name == "fastapi":
            from fastapi import exception_handlers as eh
            from fastapi.exceptions import RequestValidationError
        else:
            from fastrapi import exception_handlers as eh
            from fastrapi.exceptions import RequestValidationError

        @app.exception_handler(StarletteHTTPException)
        async def http_handler(request, exc):
            return await eh.http_exception_handler(request, exc)

        @app.exception_handler(RequestValidationError)
        async def validation_handler(request, exc):
            return await eh.request_validation_exception_handler(request, exc)

        @app.get("/e")
        def e():
            raise fw.HTTPException(401, "no", headers={"WWW-Authenticate": "Bearer"})

        @app.get("/e304")
        def e304():
            raise fw.HTTPException(304)

        @app.get("/v")
        def v(n: int):
            return n

        return app
    same(make, [("GET", "/e", {}), ("GET", "/e304", {}), ("GET", "/v?n=x", {}),
                ("GET", "/v", {}), ("GET", "/missing", {})])


# =====================================================================
# validation_alias
# =====================================================================

def _alias_app(fw):
    app = fw.FastAPI()

    @app.get("/q")
    def q(v: Annotated[str, fw.Query(validation_alias="vee")],
          w: Annotated[Optional[int], fw.Query(validation_alias="dbl")] = None):
        return [v, w]

    @app.get("/ql")
    def ql(v: Annotated[List[int], fw.Query(validation_alias="vee")] = []):
        return v

    @app.get("/qa")
    def qa(c: Annotated[int, fw.Query(alias="al", validation_alias="va")]):
        return c

    @app.get("/qc")
    def qc(c: Annotated[Optional[str], fw.Query(validation_alias=AliasChoices("cee", "see"))]
           = None):
        return c

    @app.get("/h")
    def h(x_tok: Annotated[int, fw.Header(validation_alias="X_Tok_V")]):
        return x_tok

    @app.get("/hl")
    def hl(x_tok: Annotated[List[str], fw.Header(validation_alias="x-many")] = []):
        return x_tok

    @app.get("/c")
    def c(sid: Annotated[int, fw.Cookie(validation_alias="session-id")]):
        return sid

    @app.get("/p/{item}")
    def p(item: Annotated[int, fw.Path(validation_alias="item")]):
        return item

    @app.post("/f")
    def f(a: Annotated[int, fw.Form(validation_alias="aa")]):
        return a

    @app.post("/b")
    def b(a: Annotated[int, fw.Body(validation_alias="aa")], z: Annotated[int, fw.Body()] = 0):
        return [a, z]

    @app.post("/be")
    def be(a: Annotated[int, fw.Body(validation_alias="aa", embed=True)]):
        return a

    def dep(t: Annotated[str, fw.Query(validation_alias="tee")]):
        return t

    @app.get("/d")
    def d(t: Annotated[str, fw.Depends(dep)]):
        return t

    return app


ALIAS_STEPS = [
    ("GET", "/q?vee=1&dbl=2", {}), ("GET", "/q?v=1&w=2", {}), ("GET", "/q?vee=1&dbl=x", {}),
    ("GET", "/ql?vee=1&vee=2", {}), ("GET", "/ql?vee=x", {}), ("GET", "/ql?v=1", {}),
    ("GET", "/qa?va=1", {}), ("GET", "/qa?al=1", {}), ("GET", "/qa?c=1", {}),
    ("GET", "/qc?cee=1", {}), ("GET", "/qc?c=3", {}),
    ("GET", "/h", {"headers": {"X_Tok_V": "5"}}), ("GET", "/h", {"headers": {"x_tok_v": "x"}}),
    ("GET", "/h", {"headers": {"x-tok-v": "5"}}), ("GET", "/h", {"headers": {"x-tok": "5"}}),
    ("GET", "/hl", {"headers": [("x-many", "a"), ("x-many", "b")]}),
    ("GET", "/c", {"headers": {"cookie": "session-id=3"}}),
    ("GET", "/c", {"headers": {"cookie": "sid=3"}}),
    ("GET", "/p/4", {}), ("GET", "/p/x", {}),
    ("POST", "/f", {"data": {"aa": "1"}}), ("POST", "/f", {"data": {"a": "1"}}),
    ("POST", "/b", {"json": {"aa": 1, "z": 2}}), ("POST", "/b", {"json": {"a": 1}}),
    ("POST", "/b", {"json": {"aa": "x"}}), ("POST", "/be", {"json": {"aa": 7}}),
    ("POST", "/be", {"json": {"a": 7}}),
    ("GET", "/d?tee=t", {}), ("GET", "/d?t=t", {}),
]


def test_validation_alias_like_fastapi():
    same(_alias_app, ALIAS_STEPS)


# =====================================================================
# url_for, state, lifespan
# =====================================================================

def test_url_for_and_lifespan_state_like_fastapi():
    def make(fw):
        @asynccontextmanager
        async def lifespan(app):
            yield {"db": "conn"}

        app = fw.FastAPI(lifespan=lifespan)
        router = fw.APIRouter(prefix="/r")

        @router.get("/items/{item_id}", name="item")
        def item(item_id: int, request: fw.Request):
            return {"url": str(request.url_for("item", item_id=item_id + 1)),
                    "path": str(request.app.url_path_for("item", item_id=2)),
                    "state": request.state.db}

        @app.get("/missing")
        def missing(request: fw.Request):
            try:
                request.url_for("nope")
            except Exception as e:
                return type(e).__name__
        app.include_router(router)
        return app
    same(make, [("GET", "/r/items/1", {}), ("GET", "/missing", {})])


def test_default_lifespan_wrapped_like_fastapi_pagination():
    """fastapi-pagination wraps ``router.lifespan_context``; the default one
    runs the startup/shutdown handlers."""
    from fastrapi.testclient import TestClient
    log = []

    def make(fw):
        app = fw.FastAPI(on_startup=[lambda: log.append("startup")],
                         on_shutdown=[lambda: log.append("shutdown")])
        original = app.router.lifespan_context

        @asynccontextmanager
        async def lifespan(a):
            log.append("enter")
            async with original(a) as state:
                yield state
            log.append("exit")
        app.router.lifespan_context = lifespan
        return app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient as FATC
        with FATC(make(framework("fastapi"))):
            pass
    theirs, log[:] = list(log), []
    with TestClient(make(framework("fastrapi"))):
        pass
    assert log == theirs == ["enter", "startup", "shutdown", "exit"]
    from fastrapi.routing import _DefaultLifespan
    assert isinstance(framework("fastrapi").FastAPI().router.lifespan_context, _DefaultLifespan)


# =====================================================================
# the names plugins import
# =====================================================================

def test_plugin_facing_names_importable():
    from fastrapi.concurrency import (contextmanager_in_threadpool,  # noqa: F401
                                      iterate_in_threadpool, run_in_threadpool,
                                      run_until_first_complete)
    from fastrapi.dependencies.utils import (_get_body_field, _get_flat_body_params,  # noqa
                                             get_parameterless_sub_dependant,
                                             get_typed_return_annotation, get_typed_signature,
                                             get_validation_alias, lenient_issubclass)
    from fastrapi.exception_handlers import (http_exception_handler,  # noqa: F401
                                             request_validation_exception_handler,
                                             websocket_request_validation_exception_handler)
    from fastrapi.exceptions import FastAPIDeprecationWarning
    from fastrapi.routing import APIRoute, _IncludedRouter, request_response  # noqa: F401
    import starlette.concurrency
    import starlette.routing
    assert run_in_threadpool is starlette.concurrency.run_in_threadpool
    assert iterate_in_threadpool is starlette.concurrency.iterate_in_threadpool
    assert issubclass(FastAPIDeprecationWarning, UserWarning)
    assert issubclass(APIRoute, starlette.routing.Route)
    assert issubclass(_IncludedRouter, starlette.routing.BaseRoute)
    assert callable(APIRoute.get_route_handler)


def test_concurrency_helpers_behave():
    from fastrapi.concurrency import (contextmanager_in_threadpool, iterate_in_threadpool,
                                      run_in_threadpool)
    import threading
    from contextlib import contextmanager
    log = []

    @contextmanager
    def cm():
        log.append(("enter", threading.current_thread() is threading.main_thread()))
        yield 5
        log.append("exit")

    async def main():
        async with contextmanager_in_threadpool(cm()) as v:
            log.append(v)
        items = [x async for x in iterate_in_threadpool(iter([1, 2]))]
        return items, await run_in_threadpool(lambda a: a * 2, 21)

    assert asyncio.run(main()) == ([1, 2], 42)
    assert log == [("enter", False), 5, "exit"]


def test_dependency_utils_like_fastapi():
    def build(fw):
        app = fw.FastAPI()

        class Item(__import__("pydantic").BaseModel):
            x: int

        def dep(extra: int = fw.Body()):
            return extra

        @app.post("/items", dependencies=[fw.Depends(lambda: None)])
        def create(item: Item, d: int = fw.Depends(dep), q: int = 0):
            return item
        return [r for r in app.routes if getattr(r, "path", None) == "/items"][0]

    import fastapi.dependencies.utils as fu
    import fastrapi.dependencies.utils as ru
    theirs, ours = build(framework("fastapi")), build(framework("fastrapi"))
    tb = fu._get_flat_body_params(theirs.dependant)
    ob = ru._get_flat_body_params(ours.dependant)
    assert [f.name for f in ob] == [f.name for f in tb] == ["item", "extra"]
    tf = fu._get_body_field(body_params=tb, name=theirs.unique_id,
                            embed_body_fields=theirs._embed_body_fields)
    of = ru._get_body_field(body_params=ob, name=ours.unique_id,
                            embed_body_fields=ours._embed_body_fields)
    assert (of.name, of.alias, type(of.field_info).__name__) == \
        (tf.name, tf.alias, type(tf.field_info).__name__)
    assert set(of.field_info.annotation.model_fields) == set(tf.field_info.annotation.model_fields)
    td = fu.get_parameterless_sub_dependant(depends=framework("fastapi").Depends(build), path="/p")
    od = ru.get_parameterless_sub_dependant(depends=framework("fastrapi").Depends(build), path="/p")
    assert od.call is td.call is build and od.path == td.path == "/p"

    def f() -> Optional[int]:
        return 1
    assert ru.get_typed_return_annotation(f) == fu.get_typed_return_annotation(f)


def test_route_matches_like_fastapi():
    import starlette.routing
    for fw in (framework("fastapi"), framework("fastrapi")):
        app = fw.FastAPI()

        @app.get("/items/{item_id:int}")
        def item(item_id: int):
            return item_id

        route = [r for r in app.routes if getattr(r, "name", "") == "item"][0]
        base = {"type": "http", "path": "/items/3", "root_path": "", "method": "GET",
                "headers": []}
        match, child = route.matches(base)
        assert match == starlette.routing.Match.FULL
        assert child["route"] is route and child["path_params"] == {"item_id": 3}
        assert route.matches({**base, "method": "POST"})[0] == starlette.routing.Match.PARTIAL
        assert route.matches({**base, "path": "/items/x"})[0] == starlette.routing.Match.NONE
        assert route.path_format == "/items/{item_id}"
        assert app.url_path_for("item", item_id=4) == "/items/4"
        docs = [r for r in app.routes if getattr(r, "path", "") == "/docs"][0]
        assert isinstance(docs, starlette.routing.Route)


def test_request_response_is_an_asgi_app():
    from fastrapi.routing import request_response

    async def endpoint(request):
        return PlainTextResponse(f"{request.method} {request.url.path}")

    sent = []

    async def main():
        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(m):
            sent.append(m)
        scope = {"type": "http", "method": "GET", "path": "/x", "query_string": b"",
                 "headers": [], "root_path": ""}
        await request_response(endpoint)(scope, receive, send)
        await request_response(lambda r: Response(b"sync"))(scope, receive, send)
    asyncio.run(main())
    assert sent[0]["status"] == 200 and sent[1]["body"] == b"GET /x"
    assert sent[3]["body"] == b"sync"


def test_dependant_changed_by_a_plugin_takes_effect_after_start():
    """fastapi-pagination's _update_route: append to route.dependant.dependencies,
    then route.app = request_response(route.get_route_handler())."""
    from fastrapi import Depends, FastAPI, HTTPException
    from fastrapi.dependencies.utils import get_parameterless_sub_dependant
    from fastrapi.routing import APIRoute, request_response
    from fastrapi.testclient import TestClient
    app = FastAPI()

    @app.get("/x")
    def x():
        return "ok"

    def guard():
        raise HTTPException(418, "added later")

    with TestClient(app) as c:
        assert c.get("/x").json() == "ok"
        route = [r for r in app.routes if isinstance(r, APIRoute) and r.path == "/x"][0]
        dep = Depends(guard)
        route.dependencies.append(dep)
        route.dependant.dependencies.append(
            get_parameterless_sub_dependant(depends=dep, path=route.path_format))
        route.app = request_response(route.get_route_handler())
        r = c.get("/x")
        assert (r.status_code, r.json()) == (418, {"detail": "added later"})


def test_security_errors_reach_a_handler_for_frameworks_httpexception():
    """FastAPI's security classes raise fastapi's HTTPException: a handler keyed
    on it answers their 401/403 (not the router's 404)."""
    def make(fw):
        if fw.name == "fastapi":
            from fastapi.security import APIKeyHeader, HTTPBearer, OAuth2PasswordBearer
        else:
            from fastrapi.security import APIKeyHeader, HTTPBearer, OAuth2PasswordBearer
        app = fw.FastAPI()

        @app.exception_handler(fw.HTTPException)
        async def handler(request, exc):
            from starlette.responses import JSONResponse
            return JSONResponse({"caught": exc.detail}, status_code=exc.status_code,
                                headers=exc.headers)

        @app.get("/oauth")
        def oauth(token: str = fw.Depends(OAuth2PasswordBearer(tokenUrl="t"))):
            return token

        @app.get("/bearer")
        def bearer(creds=fw.Depends(HTTPBearer())):
            return creds.credentials

        @app.get("/key")
        def key(k: str = fw.Depends(APIKeyHeader(name="x-key"))):
            return k
        return app
    same(make, [("GET", "/oauth", {}), ("GET", "/oauth", {"headers": {"Authorization": "Bearer t"}}),
                ("GET", "/bearer", {"headers": {"Authorization": "Basic x"}}),
                ("GET", "/key", {}), ("GET", "/key", {"headers": {"x-key": "k"}}),
                ("GET", "/none", {})])


# =====================================================================
# plugins (each run in a subprocess: on FastAPI, then on fastrapi through
# fastrapi.compat; the test extras install them)
# =====================================================================

PLUGIN_APPS = {
    "fastapi_pagination": '''
from fastapi import FastAPI
from fastapi_pagination import Page, add_pagination, paginate
from pydantic import BaseModel
class User(BaseModel):
    name: str
app = FastAPI()
users = [User(name=f"u{i}") for i in range(25)]
@app.get("/users")
def get_users() -> Page[User]:
    return paginate(users)
add_pagination(app)
with TestClient(app) as c:
    for u in ("/users?page=2&size=10", "/users?size=0", "/users"):
        r = c.get(u)
        print(r.status_code, r.json())
print([p["name"] for p in app.openapi()["paths"]["/users"]["get"]["parameters"]])
''',
    "fastapi_cache": '''
from contextlib import asynccontextmanager
from fastapi import FastAPI
from fastapi_cache import FastAPICache
from fastapi_cache.backends.inmemory import InMemoryBackend
from fastapi_cache.decorator import cache
n = {"calls": 0}
class FrozenClock(InMemoryBackend):
    # max-age is the entry's time left in whole seconds: a clock that ticks
    # between the two requests makes it 59 on one framework, 60 on the other
    _now = 1_700_000_000
@asynccontextmanager
async def lifespan(_):
    FastAPICache.init(FrozenClock(), prefix="c")
    yield
app = FastAPI(lifespan=lifespan)
@app.get("/")
@cache(expire=60)
async def index(q: int = 0):
    n["calls"] += 1
    return {"q": q, "calls": n["calls"]}
with TestClient(app) as c:
    for _ in range(2):
        r = c.get("/?q=1")
        print(r.status_code, r.json(), r.headers.get("x-fastapi-cache"),
              r.headers.get("cache-control"))
    r = c.get("/?q=1", headers={"If-None-Match": r.headers.get("etag")})
    print(r.status_code, r.content)
''',
    "slowapi": '''
from fastapi import FastAPI, Request, Response
from slowapi import Limiter, _rate_limit_exceeded_handler
from slowapi.errors import RateLimitExceeded
from slowapi.util import get_remote_address
from starlette.responses import PlainTextResponse
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)
app = FastAPI()
app.state.limiter = limiter
app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)
@app.get("/home")
@limiter.limit("2/minute")
async def homepage(request: Request, response: Response):
    return {"ok": 1}
@app.get("/plain")
@limiter.limit("1/minute")
def plain(request: Request):
    return PlainTextResponse("test")
with TestClient(app) as c:
    for u in ["/home"] * 3 + ["/plain"] * 2:
        r = c.get(u)
        print(r.status_code, r.text, sorted((k, v) for k, v in r.headers.items()
                                            if k in ("x-ratelimit-limit", "x-ratelimit-remaining")))
''',
}

_PLUGIN_PRELUDE = {
    "fastapi": "import warnings; warnings.simplefilter('ignore')\n"
               "from fastapi.testclient import TestClient\n",
    "fastrapi": "import warnings; warnings.simplefilter('ignore')\n"
                "import fastrapi.compat; fastrapi.compat.install()\n"
                "from fastrapi.testclient import TestClient\n",
}


@pytest.mark.parametrize("plugin", sorted(PLUGIN_APPS))
def test_plugin_like_fastapi(plugin):
    import os
    import subprocess
    import sys
    import importlib.util
    assert importlib.util.find_spec(plugin), f"{plugin} missing: pip install -e '.[test]'"
    from helpers import ROOT
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = {}
    for fw in ("fastapi", "fastrapi"):
        p = subprocess.run([sys.executable, "-c", _PLUGIN_PRELUDE[fw] + PLUGIN_APPS[plugin]],
                           env=env, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        out[fw] = p.stdout
    assert out["fastrapi"] == out["fastapi"] and out["fastapi"]


def test_route_app_and_router_are_asgi_apps():
    """``route.app`` (FastAPI: request_response(route.get_route_handler())) and
    ``app.router`` serve through the app's ASGI face."""
    import httpx
    from fastrapi import FastAPI
    app = FastAPI()

    @app.get("/items/{i}")
    def item(i: int, q: str = "x"):
        return {"i": i, "q": q}

    route = [r for r in app.routes if getattr(r, "path", "") == "/items/{i}"][0]

    async def main():
        out = []
        for asgi in (route.app, app.router):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi),
                                         base_url="http://t") as c:
                r = await c.get("/items/3?q=z")
                out.append((r.status_code, r.json()))
        return out
    assert asyncio.run(main()) == [(200, {"i": 3, "q": "z"})] * 2
