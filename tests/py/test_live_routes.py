"""Routes changed while the native server runs are served as changed.

The ecosystem issue: "Routes and dependants changed at any time before or
after a server or TestClient started are served as changed." A running
native server gets path operations added by a handler, by include_router
and by a plugin that appends to ``app.router.routes`` and bumps the
version; the engine swaps in a new routing table (fr_route while serving,
tests/c/test_server.c test_route_while_serving) while other requests keep
being answered on keep-alive connections."""
import logging
import threading

import httpx
import pytest


@pytest.fixture()
def running(fr):
    app = fr.FastAPI()

    @app.get("/hello")
    def hello():
        return {"message": "Hello World"}

    @app.post("/add/{n}")
    def add(n: int):
        @app.get(f"/late/{n}")
        def late(q: int = 0):
            return {"late": n, "q": q}
        return {"added": n}

    run = app._start_background("127.0.0.1", 0)
    try:
        yield app, f"http://127.0.0.1:{run.port}"
    finally:
        run.stop()


def test_route_added_by_a_handler_is_served(running):
    app, base = running
    assert httpx.get(base + "/late/1").status_code == 404
    assert httpx.post(base + "/add/1").json() == {"added": 1}
    r = httpx.get(base + "/late/1?q=5")
    assert r.status_code == 200 and r.json() == {"late": 1, "q": 5}
    # its parameters are compiled like any route's: bad input is a 422
    r = httpx.get(base + "/late/1?q=x")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "q"]
    # and it is in the OpenAPI document
    assert "/late/1" in httpx.get(base + "/openapi.json").json()["paths"]


def test_include_router_and_plugin_append_while_serving(running, fr):
    app, base = running
    router = fr.APIRouter(prefix="/api")

    @router.get("/items/{item_id}")
    def item(item_id: int):
        return {"item_id": item_id}

    app.include_router(router)
    assert httpx.get(base + "/api/items/3").json() == {"item_id": 3}
    assert httpx.get(base + "/api/items/x").status_code == 422

    # a plugin-style change: append an APIRoute and bump the version
    from fastrapi.routing import APIRoute

    def plugin():
        return {"plugin": True}

    app.router.routes.append(APIRoute("/plugin", plugin, methods=["GET"]))
    app.router._routes_version += 1
    assert httpx.get(base + "/plugin").json() == {"plugin": True}
    # the first registration of a path keeps winning, as Starlette's order
    app.router.routes.append(APIRoute("/hello", lambda: {"shadow": True}, methods=["GET"]))
    app.router._routes_version += 1
    assert httpx.get(base + "/hello").json() == {"message": "Hello World"}


def test_requests_in_flight_while_routes_are_added(running):
    app, base = running
    errors, oks = [], []

    def hammer():
        with httpx.Client(base_url=base) as c:  # one keep-alive connection
            for _ in range(300):
                r = c.get("/hello")
                (oks if r.status_code == 200 else errors).append(r.status_code)

    t = threading.Thread(target=hammer)
    t.start()
    for n in range(40):
        assert httpx.post(f"{base}/add/{n + 100}").status_code == 200
    t.join(60)
    assert errors == [] and len(oks) == 300
    for n in range(40):
        assert httpx.get(f"{base}/late/{n + 100}").json()["late"] == n + 100


def test_mount_added_while_serving_is_logged_not_served(running, fr, caplog):
    app, base = running
    sub = fr.FastAPI()

    @sub.get("/x")
    def x():
        return {"sub": True}

    with caplog.at_level(logging.WARNING, logger="fastrapi.error"):
        app.mount("/sub", sub)
        app.router._routes_version += 1
    assert any("served from the next start" in r.getMessage() for r in caplog.records)
    assert httpx.get(base + "/sub/x").status_code == 404
    assert httpx.get(base + "/hello").status_code == 200


def test_stopped_server_is_forgotten(fr):
    app = fr.FastAPI()

    @app.get("/a")
    def a():
        return 1

    run = app._start_background("127.0.0.1", 0)
    hooks = app.router.__dict__.get("_fr_on_routes_changed", [])
    assert len(hooks) == 1
    run.stop()  # dropped at once: the hook kept the stopped server (and its fds) alive
    assert app.router.__dict__.get("_fr_on_routes_changed") == [] and app._servers == []

    @app.get("/b")  # a later change finds no stopped server to tell
    def b():
        return 2

    assert app.router.__dict__.get("_fr_on_routes_changed") == []
