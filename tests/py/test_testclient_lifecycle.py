"""The TestClient's life as Starlette's: ``app_state`` is the lifespan's
state, the client keeps working after its ``with`` block and may enter
again (the lifespan runs per block), and an app that is not a fastrapi app
(a Starlette app, a middleware wrapped around the app, a bare ASGI
callable) is served too -- what ``fastapi.testclient.TestClient`` takes
under ``fastrapi.compat``. fastrapi raised AttributeError, "client has been
closed" and "Cannot reopen a client instance"."""
from contextlib import asynccontextmanager

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from conftest import framework


def client_class(name):
    return __import__(name + ".testclient", fromlist=["x"]).TestClient


def lifecycle(name):
    fw = framework(name)
    TestClient = client_class(name)
    events = []

    @asynccontextmanager
    async def lifespan(app):
        events.append("startup")
        yield {"pool": "POOL"}
        events.append("shutdown")

    app = fw.FastAPI(lifespan=lifespan)

    @app.get("/")
    def root(request: fw.Request):
        return {"pool": getattr(request.state, "pool", None)}

    out = [TestClient(app).app_state]
    c = TestClient(app)
    with c:
        out.append(dict(c.app_state))
        out.append(c.get("/").json())
    out.append((c.get("/").status_code, list(events)))  # after the block
    with c:  # again
        out.append(c.get("/").json())
    out.append(list(events))
    c.close()
    with pytest.raises(RuntimeError):
        c.get("/")
    return out


def test_lifecycle_same_as_fastapi():
    want = lifecycle("fastapi")
    assert want == [{}, {"pool": "POOL"}, {"pool": "POOL"}, (200, ["startup", "shutdown"]), {"pool": "POOL"},
                    ["startup", "shutdown", "startup", "shutdown"]]
    assert lifecycle("fastrapi") == want


async def bare(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"raw"})


class Wrapper:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        await self.app(scope, receive, send)


@pytest.mark.parametrize("name", ["fastapi", "fastrapi"])
def test_apps_that_are_not_fastrapis(name):
    fw = framework(name)
    app = fw.FastAPI()

    @app.get("/")
    def root():
        return {"ok": True}

    star = Starlette(routes=[Route("/", lambda request: PlainTextResponse("hi"))])
    TestClient = client_class(name)
    got = [(r.status_code, r.text) for r in (TestClient(a).get("/") for a in (star, Wrapper(app), bare))]
    assert got == [(200, "hi"), (200, '{"ok":true}'), (200, "raw")]


def two_clients(name):
    fw = framework(name)
    TestClient = client_class(name)
    app = fw.FastAPI()

    @app.get("/boom")
    def boom():
        raise ValueError("kaboom")

    @app.get("/bg")
    def bg(tasks: fw.BackgroundTasks):
        def fail():
            raise RuntimeError("later")
        tasks.add_task(fail)
        return "ok"

    @app.get("/ok")
    def ok():
        return "ok"

    def hit(c, path):
        try:
            return c.get(path).status_code
        except Exception as e:  # noqa: BLE001 -- what the client raised is the point
            return type(e).__name__

    strict = TestClient(app)
    lenient = TestClient(app, raise_server_exceptions=False)
    out = [hit(strict, "/boom"), hit(lenient, "/boom"), hit(strict, "/bg"), hit(lenient, "/bg")]
    strict2 = TestClient(app)
    out += [hit(lenient, "/boom"), hit(strict2, "/ok"), hit(strict, "/ok"), hit(strict2, "/boom")]
    return out


def test_two_clients_keep_their_own_raise_setting():
    """Each client raises (or not) what its own requests raised (fastrapi:
    the client made last decided for all, and a lenient client's error was
    raised later by a strict one on a healthy request)."""
    want = two_clients("fastapi")
    assert want == ["ValueError", 500, "RuntimeError", 200, 500, 200, 200, "ValueError"]
    assert two_clients("fastrapi") == want


def test_clients_never_closed_do_not_leak_descriptors():
    """The common ``return TestClient(app)`` fixture never closes its client:
    once collected, its server (engine app, socket, wake-up fds) must go.
    Every stopped server stayed referenced by the router's route-change
    hooks: one eventfd per client, 'Too many open files' after ~1,000 tests."""
    import gc
    import os
    fw = framework("fastrapi")
    TestClient = client_class("fastrapi")
    app = fw.FastAPI()

    @app.get("/")
    def root():
        return {"ok": True}

    def open_fds():
        return len(os.listdir("/proc/self/fd"))

    assert TestClient(app).get("/").status_code == 200
    gc.collect()
    before = open_fds()
    for _ in range(40):
        assert TestClient(app).get("/").status_code == 200
    gc.collect()
    assert open_fds() - before <= 2
    assert app._servers == [] and not app.router.__dict__.get("_fr_on_routes_changed")
