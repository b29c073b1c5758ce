"""Lifespan details against FastAPI's TestClient:
- the state a lifespan yields reaches ``websocket.state`` under fastrapi's
  TestClient too (its websocket session had an empty state);
- a synchronous context manager given as ``lifespan=`` fails with the
  TypeError ``async with`` raises (fastrapi raised AttributeError)."""
import contextlib

import pytest

from conftest import framework


def make_state_app(fw):
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield {"db": "conn"}

    app = fw.FastAPI(lifespan=lifespan)

    @app.websocket("/ws")
    async def ws(websocket: fw.WebSocket):
        await websocket.accept()
        await websocket.send_json({"db": getattr(websocket.state, "db", "MISSING")})
        await websocket.close()

    @app.get("/http")
    def http(request: fw.Request):
        return {"db": getattr(request.state, "db", "MISSING")}

    return app


def client_of(name):
    if name == "fastapi":
        from fastapi.testclient import TestClient
    else:
        from fastrapi.testclient import TestClient
    return TestClient


@pytest.mark.parametrize("name", ["fastapi", "fastrapi"])
def test_lifespan_state_reaches_websockets(name):
    with client_of(name)(make_state_app(framework(name))) as c:
        with c.websocket_connect("/ws") as ws:
            assert ws.receive_json() == {"db": "conn"}
        assert c.get("/http").json() == {"db": "conn"}


@pytest.mark.parametrize("name", ["fastapi", "fastrapi"])
def test_a_sync_context_manager_lifespan_is_a_type_error(name):
    @contextlib.contextmanager
    def lifespan(app):
        yield

    app = framework(name).FastAPI(lifespan=lifespan)
    with pytest.raises(TypeError, match="does not support the asynchronous context manager protocol"):
        with client_of(name)(app):
            pass


def _state_app(fw):
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app):
        yield {"db": "conn"}

    app = fw.FastAPI(lifespan=lifespan)

    @app.get("/")
    def read(request: fw.Request):
        return {"app.state": sorted(vars(app.state).get("_state", {})),
                "request.state.db": getattr(request.state, "db", "MISSING")}

    @app.websocket("/ws")
    async def ws(websocket: fw.WebSocket, tasks: fw.BackgroundTasks):
        await websocket.accept()
        await websocket.send_text(type(tasks).__name__)
        await websocket.close()

    return app


@pytest.mark.parametrize("name", ["fastapi", "fastrapi"])
def test_lifespan_state_only_in_the_requests_and_gone_after_shutdown(name):
    """The lifespan's dict reaches request.state, not app.state (fastrapi
    copied it there), and a TestClient used after the lifespan ended sees
    none of it (fastrapi kept it); a websocket endpoint may take
    BackgroundTasks (fastrapi raised TypeError)."""
    from importlib import import_module
    TestClient = import_module(name + ".testclient").TestClient
    app = _state_app(framework(name))
    with TestClient(app) as client:
        assert client.get("/").json() == {"app.state": [], "request.state.db": "conn"}
        with client.websocket_connect("/ws") as ws:
            assert ws.receive_text() == "BackgroundTasks"
    client = TestClient(app)  # no lifespan this time
    assert client.get("/").json() == {"app.state": [], "request.state.db": "MISSING"}
    client.close()


@pytest.mark.parametrize("name", ["fastapi", "fastrapi"])
def test_lifespan_state_under_uvicorn(name):
    """Under uvicorn the state a lifespan yields reaches every request's
    `request.state` and `websocket.state` through the lifespan scope's
    "state" (fastrapi kept it to itself: AttributeError, a 500)."""
    import httpx
    from websockets.sync.client import connect
    from helpers import Uvicorn
    server = Uvicorn(make_state_app(framework(name)), lifespan="on")
    try:
        r = httpx.get(f"http://127.0.0.1:{server.port}/http")
        assert (r.status_code, r.json()) == (200, {"db": "conn"})
        with connect(f"ws://127.0.0.1:{server.port}/ws") as ws:
            assert ws.recv(timeout=10) == '{"db":"conn"}'
    finally:
        server.close()


@pytest.mark.parametrize("name", ["fastapi", "fastrapi"])
def test_lifespan_state_without_server_support_fails_startup(name):
    """A server whose lifespan scope has no "state" cannot carry the
    lifespan's dict: startup fails with Starlette's RuntimeError."""
    import asyncio
    app = make_state_app(framework(name))
    sent = []
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive():
        return next(messages)

    async def send(message):
        sent.append(message)

    async def run():
        with pytest.raises(RuntimeError, match='The server does not support "state" in the lifespan scope.'):
            await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)

    asyncio.run(run())
    assert [m["type"] for m in sent] == ["lifespan.startup.failed"]
    assert 'The server does not support "state" in the lifespan scope.' in sent[0]["message"]
