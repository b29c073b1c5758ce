"""Per-feature tests through fastrapi's TestClient (real sockets)."""
import asyncio
import logging
import os
import threading
import time
from contextlib import asynccontextmanager
from typing import List, Optional

import httpx
import pytest
from pydantic import BaseModel

from fastrapi import (APIRouter, BackgroundTasks, Body, Cookie, Depends, FastAPI, FastrAPI, File,
                      Form, Header, HTTPException, Path, Query, Request, Response, UploadFile)
from fastrapi.exceptions import RequestValidationError
from fastrapi.responses import (FileResponse, HTMLResponse, JSONResponse, ORJSONResponse,
                                PlainTextResponse, RedirectResponse, StreamingResponse,
                                UJSONResponse)
from fastrapi.testclient import TestClient


def wait_for(pred, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_lifespan_and_events_and_state():
    log = []

    @asynccontextmanager
    async def lifespan(app):
        log.append("enter")
        app.state.ready = True
        yield
        log.append("exit")

    app = FastrAPI(lifespan=lifespan)

    @app.on_event("startup")
    async def s():
        log.append("startup")

    @app.on_event("shutdown")
    def d():
        log.append("shutdown")

    @app.get("/s")
    def st(request: Request):
        return {"ready": request.app.state.ready}

    with TestClient(app) as c:
        assert log == ["enter", "startup"]
        assert c.get("/s").json() == {"ready": True}
    assert log == ["enter", "startup", "shutdown", "exit"]


def test_fastapi_alias_defaults():
    assert FastAPI().title == "FastAPI"
    assert FastrAPI().title == "FastrAPI"
    assert issubclass(FastAPI, FastrAPI)


def test_background_tasks_run_after_response_and_errors_are_logged(caplog):
    done = threading.Event()
    order = []
    app = FastrAPI()

    def task(x):
        order.append(x)
        done.set()

    def bad_task():
        raise RuntimeError("bg failure")

    @app.post("/bg")
    def bg(tasks: BackgroundTasks):
        tasks.add_task(task, "ran")
        return {"queued": True}

    @app.post("/bgbad")
    def bgbad(tasks: BackgroundTasks):
        tasks.add_task(bad_task)
        return 1

    @app.get("/respbg")
    def respbg():
        from fastrapi.background import BackgroundTask
        return JSONResponse({"x": 1}, background=BackgroundTask(task, "resp"))

    # as Starlette's TestClient: it returns once the background tasks ran,
    # and raises what they raised
    with TestClient(app) as c:
        with pytest.raises(RuntimeError, match="bg failure"):
            c.post("/bgbad")
        assert c.post("/bg").json() == {"queued": True}  # and the server serves on
    done.clear()
    order.clear()
    with caplog.at_level(logging.ERROR, logger="fastrapi.error"):
        with TestClient(app, raise_server_exceptions=False) as c:
            assert c.post("/bg").json() == {"queued": True}
            assert done.wait(10)
            assert order == ["ran"]
            assert c.post("/bgbad").json() == 1
            assert wait_for(lambda: "bg failure" in caplog.text)
            assert c.get("/respbg").json() == {"x": 1}
            assert wait_for(lambda: order == ["ran", "resp"])
            # server keeps serving
            assert c.post("/bg").status_code == 200


def test_yield_dependency_teardown_after_response_bytes_left():
    gate = threading.Event()
    tore_down = threading.Event()
    app = FastrAPI()

    def dep():
        yield "v"
        gate.wait(10)  # teardown blocked until the client has the full response
        tore_down.set()

    @app.get("/y")
    def y(v=Depends(dep)):
        return {"v": v}

    # a real client: the TestClient, as Starlette's, returns only once the
    # teardown has run
    running = app._start_background("127.0.0.1", 0)
    try:
        r = httpx.get(f"http://127.0.0.1:{running.port}/y", timeout=10)
        assert r.json() == {"v": "v"}
        assert not tore_down.is_set()
        gate.set()
        assert tore_down.wait(10)
    finally:
        running.stop()


def test_exception_thrown_into_generator_dependency():
    seen = []
    app = FastrAPI()

    async def dep():
        try:
            yield 1
        except ValueError as e:
            seen.append(("caught", str(e)))
            raise
        finally:
            seen.append("finally")

    @app.get("/fail")
    async def fail(d=Depends(dep)):
        raise ValueError("boom")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/fail")
        assert r.status_code == 500
        assert r.text == "Internal Server Error"
        assert wait_for(lambda: "finally" in seen)
        assert seen == [("caught", "boom"), "finally"]


def test_dependency_overrides_and_clear():
    app = FastrAPI()

    def real():
        return "real"

    @app.get("/d")
    def d(v: str = Depends(real)):
        return v

    with TestClient(app) as c:
        assert c.get("/d").json() == "real"
        app.dependency_overrides[real] = lambda: "fake"
        assert c.get("/d").json() == "fake"
        app.dependency_overrides.clear()
        assert c.get("/d").json() == "real"


def test_dependency_cycle_is_a_clear_error():
    app = FastrAPI()

    def a(x=Depends(lambda: 1)):
        return x

    def cyc(v=None):
        return v

    # build a real cycle through a default that refers back to the function
    cyc.__defaults__ = (Depends(cyc),)
    with pytest.raises(RuntimeError, match="cycle"):
        @app.get("/c")
        def c(v=Depends(cyc)):
            return v


def test_generator_yielding_twice_is_logged_not_fatal(caplog):
    app = FastrAPI()

    def twice():
        yield 1
        yield 2

    @app.get("/t")
    def t(v=Depends(twice)):
        return v

    with caplog.at_level(logging.ERROR, logger="fastrapi.error"):
        with TestClient(app, raise_server_exceptions=False) as c:
            assert c.get("/t").json() == 1
            assert wait_for(lambda: "didn't stop" in caplog.text)
            assert c.get("/t").json() == 1


def test_router_prefix_tags_dependencies_nested():
    calls = []

    def outer():
        calls.append("outer")

    def inner():
        calls.append("inner")

    sub = APIRouter(prefix="/sub", dependencies=[Depends(inner)], tags=["sub"])

    @sub.get("/leaf/{x}")
    def leaf(x: int):
        return {"x": x}

    mid = APIRouter(prefix="/mid")
    mid.include_router(sub)
    app = FastrAPI()
    app.include_router(mid, prefix="/api", dependencies=[Depends(outer)], tags=["api"])
    route = [r for r in app.routes if getattr(r, "path", "") == "/api/mid/sub/leaf/{x}"][0]
    assert route.tags == ["api", "sub"]
    with TestClient(app) as c:
        assert c.get("/api/mid/sub/leaf/3").json() == {"x": 3}
        assert calls == ["outer", "inner"]
        assert c.get("/api/mid/sub/leaf/q").status_code == 422


def test_request_object():
    app = FastrAPI()

    @app.post("/r/{a}")
    async def r(a: str, request: Request):
        return {
            "method": request.method, "path": request.url.path, "a": request.path_params["a"],
            "q": request.query_params.getlist("q"), "h": request.headers.get("X-Thing"),
            "cookies": request.cookies, "json": await request.json(),
            "body": (await request.body()).decode(), "client": request.client.host,
        }

    with TestClient(app) as c:
        got = c.post("/r/v?q=1&q=2", json={"k": 1}, headers={"x-thing": "T"},
                     cookies={"ck": "cv"}).json()
    assert got == {"method": "POST", "path": "/r/v", "a": "v", "q": ["1", "2"], "h": "T",
                   "cookies": {"ck": "cv"}, "json": {"k": 1}, "body": '{"k":1}',
                   "client": "127.0.0.1"}


def test_response_injection_status_headers_cookies():
    app = FastrAPI()

    @app.get("/i")
    def i(response: Response):
        response.status_code = 202
        response.headers["x-a"] = "1"
        response.set_cookie("s", "v", httponly=True)
        return {"ok": 1}

    with TestClient(app) as c:
        r = c.get("/i")
    assert r.status_code == 202
    assert r.headers["x-a"] == "1"
    assert r.headers["set-cookie"] == "s=v; HttpOnly; Path=/; SameSite=lax"


def test_streaming_sync_async_and_file(tmp_path):
    p = tmp_path / "data.bin"
    p.write_bytes(os.urandom(300_000))
    app = FastrAPI()

    @app.get("/s")
    def s():
        return StreamingResponse((f"{i}," for i in range(1000)), media_type="text/csv")

    @app.get("/as")
    async def a_s():
        async def g():
            for i in range(5):
                await asyncio.sleep(0)
                yield b"x" * 1000
        return StreamingResponse(g())

    @app.get("/f")
    def f():
        return FileResponse(p, filename="data.bin")

    @app.get("/missing")
    def missing():
        return FileResponse(tmp_path / "nope")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/s")
        assert r.text == "".join(f"{i}," for i in range(1000))
        assert r.headers["content-type"].startswith("text/csv")
        assert r.headers.get("transfer-encoding") == "chunked"
        assert c.get("/as").content == b"x" * 5000
        r = c.get("/f")
        assert r.content == p.read_bytes()
        assert r.headers["content-length"] == "300000"
        assert r.headers["content-disposition"] == 'attachment; filename="data.bin"'
        assert r.headers["content-type"] == "application/octet-stream"
        assert c.get("/missing").status_code == 500


@pytest.mark.parametrize("cls,lib", [("ORJSONResponse", "orjson"), ("UJSONResponse", "ujson")])
def test_response_classes_need_their_library(cls, lib):
    """ORJSONResponse / UJSONResponse render with their library, and without
    it fail as FastAPI's do (AssertionError, a 500), not quietly as JSON."""
    import importlib.util
    import warnings
    from conftest import framework
    installed = importlib.util.find_spec(lib) is not None
    seen = {}
    for name in ("fastapi", "fastrapi"):
        fw = framework(name)
        tc = __import__(name + ".testclient", fromlist=["TestClient"]).TestClient
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            klass = getattr(__import__(name + ".responses", fromlist=[cls]), cls)
        app = fw.FastAPI()

        @app.get("/cls", response_class=klass)
        def by_class():
            return {"a": "é"}

        @app.get("/ret")
        def returned():
            return klass({"a": "é"})

        c = tc(app, raise_server_exceptions=False)
        got = [(r.status_code, r.content) for r in (c.get("/cls"), c.get("/ret"))]
        try:
            tc(app).get("/ret")
            raised = None
        except AssertionError as e:
            raised = str(e)
        seen[name] = (got, raised)
    assert seen["fastrapi"] == seen["fastapi"]
    if installed:
        assert seen["fastrapi"] == ([(200, '{"a":"é"}'.encode())] * 2, None)
    else:
        assert seen["fastrapi"] == ([(500, b"Internal Server Error")] * 2,
                                    f"{lib} must be installed to use {cls}")


def test_unencodable_return_gives_500_and_names_route(caplog):
    app = FastrAPI()

    @app.get("/bad")
    def bad():
        return {"x": object()}

    @app.get("/nan")
    def nan():
        return {"x": float("nan")}

    @app.get("/ok")
    def ok():
        return 1

    with caplog.at_level(logging.ERROR, logger="fastrapi.error"):
        with TestClient(app, raise_server_exceptions=False) as c:
            assert c.get("/bad").status_code == 500
            assert c.get("/nan").status_code == 500
            assert c.get("/ok").json() == 1
    assert "GET /bad" in caplog.text
    assert "GET /nan" in caplog.text


def test_exception_handlers_custom_and_status_code():
    class E(Exception):
        pass

    app = FastrAPI()

    @app.exception_handler(E)
    def handle_e(request, exc):
        return PlainTextResponse("handled E", status_code=418)

    @app.exception_handler(RequestValidationError)
    async def handle_val(request, exc):
        return JSONResponse({"n": len(exc.errors())}, status_code=400)

    @app.exception_handler(404)
    async def nf(request, exc):
        return JSONResponse({"nf": request.url.path}, status_code=404)

    @app.get("/e")
    def e():
        raise E()

    @app.get("/v")
    def v(x: int, y: int):
        return 1

    @app.get("/h")
    def h():
        raise HTTPException(404, "inner")

    with TestClient(app) as c:
        r = c.get("/e")
        assert (r.status_code, r.text) == (418, "handled E")
        assert c.get("/v?x=a").json() == {"n": 2}
        assert c.get("/v?x=a").status_code == 400
        assert c.get("/nowhere").json() == {"nf": "/nowhere"}
        assert c.get("/h").json() == {"nf": "/h"}


def test_debug_returns_traceback():
    app = FastrAPI(debug=True)

    @app.get("/x")
    def x():
        raise KeyError("dbg")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/x")
    assert r.status_code == 500
    assert "KeyError" in r.text and "dbg" in r.text


def test_multipart_upload_and_form():
    app = FastrAPI()

    @app.post("/up")
    async def up(files: List[UploadFile] = File(), note: str = Form()):
        return [{"n": f.filename, "size": len(await f.read()), "note": note} for f in files]

    @app.post("/form")
    def form(a: int = Form(), b: List[str] = Form([])):
        return {"a": a, "b": b}

    with TestClient(app) as c:
        r = c.post("/up", files=[("files", ("a.txt", b"aaa")), ("files", ("b.txt", b"bb"))],
                   data={"note": "hi"})
        assert r.json() == [{"n": "a.txt", "size": 3, "note": "hi"},
                            {"n": "b.txt", "size": 2, "note": "hi"}]
        assert c.post("/up", data={"note": "x"}).status_code == 422
        assert c.post("/form", data={"a": "1", "b": ["x", "y"]}).json() == {"a": 1, "b": ["x", "y"]}
        r = c.post("/form", data={"a": "q"})
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["body", "a"]


def test_sync_handlers_do_not_block_each_other():
    app = FastrAPI()
    ev = threading.Event()

    @app.get("/wait")
    def wait():
        return ev.wait(10)

    @app.get("/fast")
    def fast():
        return "fast"

    with TestClient(app) as c:
        port = c.port
        out = {}
        t = threading.Thread(target=lambda: out.setdefault("w", httpx.get(
            f"http://127.0.0.1:{port}/wait", timeout=20).json()))
        t.start()
        time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{port}/fast", timeout=10).json() == "fast"
        ev.set()
        t.join(20)
        assert out["w"] is True


def test_async_handler_that_suspends_and_cancellation_safe():
    app = FastrAPI()

    @app.get("/a")
    async def a(n: int = 3):
        total = 0
        for i in range(n):
            await asyncio.sleep(0.001)
            total += i
        return {"total": total, "task": asyncio.current_task() is not None}

    @app.get("/araise")
    async def araise():
        await asyncio.sleep(0.001)
        raise HTTPException(409, "late")

    with TestClient(app) as c:
        assert c.get("/a?n=4").json() == {"total": 6, "task": True}
        assert c.get("/a?n=0").json()["total"] == 0
        r = c.get("/araise")
        assert (r.status_code, r.json()) == (409, {"detail": "late"})


def test_async_handlers_run_inside_a_task_from_their_first_line():
    import anyio  # installed with httpx, a test dependency
    app = FastrAPI()

    @app.get("/timeout")
    async def t():
        assert asyncio.current_task() is not None
        async with asyncio.timeout(5):
            await asyncio.sleep(0.001)
        return "timeout-ok"

    @app.get("/expires")
    async def expires():
        try:
            async with asyncio.timeout(0.01):
                await asyncio.sleep(5)
        except TimeoutError:
            return "timed-out"
        return "not"

    @app.get("/anyio")
    async def a():
        with anyio.fail_after(5):
            await anyio.sleep(0.001)
        async with anyio.Lock():
            return "anyio-ok"

    async def adep():
        return asyncio.current_task() is not None

    @app.get("/dep")
    async def d(v: bool = Depends(adep)):
        return v

    with TestClient(app) as c:
        assert c.get("/timeout").json() == "timeout-ok"
        assert c.get("/expires").json() == "timed-out"
        assert c.get("/anyio").json() == "anyio-ok"
        assert c.get("/dep").json() is True
