"""Changing ``app.dependency_overrides`` (a fixture's ``.clear()``) and then
calling the app through ASGI (``httpx.ASGITransport``, Starlette's
TestClient): the request still belongs to its ASGI call. fastrapi's first
request after the change recompiled its route's plan and lost the call's
channel on the way: the response came back before its background task ran
(later cancelled) and an unhandled exception was only logged."""
import asyncio

import httpx
import pytest

from conftest import framework


def make_app(fw):
    app = fw.FastAPI()
    done = []

    def get_settings():
        return "prod"

    @app.get("/ping")
    def ping(s: str = fw.Depends(get_settings)):
        return {"s": s}

    @app.post("/bg")
    async def bg(tasks: fw.BackgroundTasks, s: str = fw.Depends(get_settings)):
        async def slow():
            await asyncio.sleep(0.05)
            done.append(s)
        tasks.add_task(slow)
        return {}

    @app.get("/boom")
    def boom(s: str = fw.Depends(get_settings)):
        raise ValueError("kaboom")

    return app, done, get_settings


async def session(app, done):
    out = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        done.clear()
        out.append((await c.get("/ping")).json())
        await c.post("/bg")
        out.append(list(done))  # the call returned after its background task
        with pytest.raises(ValueError, match="kaboom"):
            await c.get("/boom")
    return out


@pytest.mark.parametrize("name", ["fastapi", "fastrapi"])
def test_asgi_calls_after_overrides_change(name):
    app, done, dep = make_app(framework(name))
    results = [asyncio.run(session(app, done))]
    app.dependency_overrides.clear()
    results.append(asyncio.run(session(app, done)))
    app.dependency_overrides[dep] = lambda: "test"
    results.append(asyncio.run(session(app, done)))
    assert results == [[{"s": "prod"}, ["prod"]], [{"s": "prod"}, ["prod"]], [{"s": "test"}, ["test"]]]

    from starlette.testclient import TestClient
    app.dependency_overrides.clear()
    c = TestClient(app)
    done.clear()
    c.post("/bg")
    assert done == ["prod"]
    with pytest.raises(ValueError, match="kaboom"):
        c.get("/boom")
