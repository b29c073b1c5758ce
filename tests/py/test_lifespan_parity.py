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
