"""The app is an ASGI application: the same app source answers the same way on
FastAPI and on fastrapi when driven through httpx.ASGITransport, Starlette's
TestClient (with lifespan) and uvicorn, and fastrapi's ASGI answers equal its
native server's (one engine: fr_dispatch runs the same routes)."""
import asyncio
import os
import subprocess
import sys
import textwrap
import time

import httpx
import pytest

from conftest import framework
from helpers import ROOT, free_port, wait_port

APP_SOURCE = textwrap.dedent('''
    from typing import Optional
    from pydantic import BaseModel

    def make_app(fw):
        state = {"started": 0, "stopped": 0, "bg": []}
        from contextlib import asynccontextmanager

        @asynccontextmanager
        async def lifespan(app):
            state["started"] += 1
            yield
            state["stopped"] += 1

        app = fw.FastAPI(lifespan=lifespan)
        app.extra_state = state

        class Item(BaseModel):
            name: str
            price: float = 0.0

        class Out(BaseModel):
            name: str

        def dep(q: Optional[str] = None):
            return q or "none"

        async def adep(x_token: str = fw.Header("t")):
            return x_token

        @app.get("/")
        def root():
            return {"hello": "world"}

        @app.get("/items/{item_id}")
        async def item(item_id: int, d=fw.Depends(dep), t=fw.Depends(adep)):
            return {"item_id": item_id, "d": d, "t": t}

        @app.post("/items/", response_model=Out, status_code=201)
        def create(item: Item):
            return item.model_dump()

        @app.get("/slash/")
        def slash():
            return "slash"

        @app.get("/teapot")
        def teapot():
            raise fw.HTTPException(418, "short and stout", headers={"X-Pot": "1"})

        @app.get("/html", response_class=fw.responses.HTMLResponse)
        def html():
            return "<b>hi</b>"

        @app.get("/stream")
        def stream():
            def gen():
                for i in range(3):
                    yield f"chunk{i};"
            return fw.responses.StreamingResponse(gen(), media_type="text/plain")

        @app.get("/bg")
        def bg(tasks: fw.BackgroundTasks):
            tasks.add_task(state["bg"].append, "ran")
            return "queued"

        @app.get("/state")
        def get_state():
            return {"started": state["started"], "stopped": state["stopped"], "bg": len(state["bg"])}

        @app.get("/boom")
        def boom():
            raise RuntimeError("boom")

        return app
''')

ns = {}
exec(APP_SOURCE, ns)  # noqa: S102 -- the shared app source
make_app = ns["make_app"]

REQUESTS = [
    ("GET", "/", {}),
    ("GET", "/items/5?q=zz", {"headers": {"x-token": "abc"}}),
    ("GET", "/items/x", {}),
    ("GET", "/items/5", {}),
    ("POST", "/items/", {"json": {"name": "a", "price": 2}}),
    ("POST", "/items/", {"json": {"price": "no"}}),
    ("POST", "/items/", {"content": b"{bad", "headers": {"content-type": "application/json"}}),
    ("GET", "/nope", {}),
    ("DELETE", "/", {}),
    ("GET", "/slash", {}),
    ("GET", "/teapot", {}),
    ("GET", "/html", {}),
    ("GET", "/stream", {}),
    ("HEAD", "/", {}),
    ("GET", "/bg", {}),
]
KEEP = ("content-type", "content-length", "location", "allow", "x-pot")


def answer(r):
    hdrs = {k: v for k, v in r.headers.items() if k in KEEP}
    return r.status_code, hdrs, r.content


async def drive_asgi(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 follow_redirects=False) as c:
        return [answer(await c.request(m, u, **kw)) for m, u, kw in REQUESTS]


def test_asgitransport_same_as_fastapi():
    theirs = asyncio.run(drive_asgi(make_app(framework("fastapi"))))
    ours = asyncio.run(drive_asgi(make_app(framework("fastrapi"))))
    for req, a, b in zip(REQUESTS, theirs, ours):
        assert b == a, req


def test_fastrapi_app_is_callable_asgi():
    app = make_app(framework("fastrapi"))
    import inspect
    assert callable(app) and inspect.iscoroutinefunction(type(app).__call__)


def test_starlette_testclient_with_lifespan_same_as_fastapi():
    from starlette.testclient import TestClient
    results = []
    for name in ("fastapi", "fastrapi"):
        app = make_app(framework(name))
        with TestClient(app, follow_redirects=False) as c:
            got = [answer(c.request(m, u, **kw)) for m, u, kw in REQUESTS]
            got.append(c.get("/state").json())
        got.append(dict(app.extra_state, bg=len(app.extra_state["bg"])))
        results.append(got)
    assert results[1] == results[0]
    assert results[0][-1] == {"started": 1, "stopped": 1, "bg": 1}


def test_unhandled_exception_reaches_starlette_testclient():
    from starlette.testclient import TestClient
    for name in ("fastapi", "fastrapi"):
        app = make_app(framework(name))
        with pytest.raises(RuntimeError, match="boom"):
            TestClient(app).get("/boom")
        r = TestClient(app, raise_server_exceptions=False).get("/boom")
        assert (r.status_code, r.text) == (500, "Internal Server Error")


def test_routes_added_after_the_client_was_created_are_served():
    from starlette.testclient import TestClient
    fr = framework("fastrapi")
    app = make_app(fr)
    c = TestClient(app)
    assert c.get("/late").status_code == 404

    @app.get("/late")
    def late():
        return "late"

    assert c.get("/late").json() == "late"


def test_asgi_answers_equal_native_server():
    from fastrapi.testclient import TestClient as Native
    app = make_app(framework("fastrapi"))
    ours = asyncio.run(drive_asgi(app))
    with Native(app, follow_redirects=False) as c:
        native = [answer(c.request(m, u, **kw)) for m, u, kw in REQUESTS]
    for req, a, b in zip(REQUESTS, native, ours):
        assert b == a, req


UVICORN_APP = APP_SOURCE + textwrap.dedent('''
    import os, sys
    if os.environ["FW"] == "fastapi":
        import fastapi as fwmod, fastapi.responses as resp
    else:
        import fastrapi as fwmod, fastrapi.responses as resp
    import types
    fw = types.SimpleNamespace(**{k: getattr(fwmod, k) for k in dir(fwmod) if not k.startswith("_")})
    fw.responses = resp
    app = make_app(fw)
''')


def test_uvicorn_serves_fastrapi_like_fastapi(tmp_path):
    (tmp_path / "uvapp.py").write_text(UVICORN_APP)
    answers = {}
    for name in ("fastapi", "fastrapi"):
        port = free_port()
        env = dict(os.environ, FW=name, PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}")
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "uvapp:app", "--port", str(port),
                                 "--log-level", "warning"], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_port(port, proc=proc)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10,
                              follow_redirects=False) as c:
                answers[name] = [answer(c.request(m, u, **kw)) for m, u, kw in REQUESTS]
                for st, hdrs, body in answers[name]:  # the redirect names this server's port
                    if "location" in hdrs:
                        hdrs["location"] = hdrs["location"].replace(f":{port}/", ":PORT/")
                # uvicorn answers the next request while the last one's background
                # task may still run (ASGI orders nothing between them): wait, bounded
                for _ in range(100):
                    state = c.get("/state").json()
                    if state["bg"]:
                        break
                    time.sleep(0.02)
                answers[name].append(state)
        finally:
            proc.terminate()
            out, err = proc.communicate(timeout=20)
        # uvicorn re-raises SIGTERM after a clean shutdown (exit by the signal)
        assert proc.returncode == -15 and "Traceback" not in err, err
    for req, a, b in zip(REQUESTS + [("GET", "/state", {})], answers["fastapi"], answers["fastrapi"]):
        assert b == a, req


def test_native_testclient_serves_routes_added_after_it_started():
    from fastrapi.testclient import TestClient as Native
    app = make_app(framework("fastrapi"))
    with Native(app) as c:
        assert c.get("/later").status_code == 404

        @app.get("/later")
        def later():
            return "later"

        assert c.get("/later").json() == "later"
        assert c.get("/").json() == {"hello": "world"}


def _bg_app(fw):
    app = fw.FastAPI()
    app.extra_state = done = []

    async def slow(tag):
        await asyncio.sleep(0.2)
        done.append(tag)

    def fail():
        raise ValueError("bg failed")

    @app.get("/slow")
    def slow_route(tasks: fw.BackgroundTasks):
        tasks.add_task(slow, "a")
        return "ok"

    @app.get("/fail")
    async def fail_route(tasks: fw.BackgroundTasks):
        tasks.add_task(fail)
        return "ok"

    return app


def test_asgi_call_returns_after_background_tasks():
    """Starlette runs background tasks inside the app call: when
    ASGITransport hands back the response, they have run."""
    async def go(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.get("/slow")
            return r.json(), list(app.extra_state)
    for name in ("fastapi", "fastrapi"):
        assert asyncio.run(go(_bg_app(framework(name)))) == ("ok", ["a"]), name


def test_background_task_exception_reaches_starlette_testclient():
    from starlette.testclient import TestClient
    for name in ("fastapi", "fastrapi"):
        app = _bg_app(framework(name))
        with pytest.raises(ValueError, match="bg failed"):
            TestClient(app).get("/fail")
        r = TestClient(app, raise_server_exceptions=False).get("/fail")
        assert (r.status_code, r.json()) == (200, "ok"), name


def _endless_app(fw, made, closed):
    app = fw.FastAPI()

    async def gen():
        try:
            while True:
                made.append(1)
                yield b"x" * 1024
                await asyncio.sleep(0)  # the loop runs on (the test, with it)
        finally:
            closed.append(1)

    @app.get("/endless")
    async def endless():
        return fw.responses.StreamingResponse(gen())
    return app


def test_asgi_stream_is_paced_by_send():
    """The ASGI server's `await send` is a stream's backpressure, as under
    FastAPI: a client that stops reading pauses the generator (fastrapi: at
    most the engine's high-water mark ahead), instead of a queue that grows
    as fast as the generator runs; when send then fails, the generator is
    closed and the app call ends."""
    from fastrapi._fastrapi import STREAM_HIGH_WATER
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"},
             "http_version": "1.1", "method": "GET", "scheme": "http", "path": "/endless",
             "raw_path": b"/endless", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"t")], "client": ("127.0.0.1", 5000), "server": ("t", 80)}
    for name in ("fastapi", "fastrapi"):
        made, closed = [], []
        app = _endless_app(framework(name), made, closed)

        async def go():
            release, asked = asyncio.Event(), []
            bodies = []

            async def receive():
                asked.append(1)
                if len(asked) == 1:
                    return {"type": "http.request", "body": b"", "more_body": False}
                await asyncio.Event().wait()

            async def send(msg):
                if msg["type"] == "http.response.body":
                    bodies.append(len(msg.get("body", b"")))
                    if len(bodies) == 3:
                        await release.wait()  # the client stops reading...
                        raise OSError("the client is gone")  # ...and leaves

            task = asyncio.ensure_future(app(scope, receive, send))
            await asyncio.sleep(1.0)
            paused_at = len(made)
            await asyncio.sleep(0.3)
            still = len(made)
            release.set()
            try:
                await asyncio.wait_for(task, 10)
            except Exception:  # FastAPI: ClientDisconnect; fastrapi: the OSError
                pass
            return paused_at, still
        paused_at, still = asyncio.run(go())
        assert paused_at == still, (name, paused_at, still)  # paused, not running on
        assert paused_at * 1024 <= STREAM_HIGH_WATER + 8 * 1024, (name, paused_at)
        assert closed == [1], name
