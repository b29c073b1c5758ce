"""``await request.is_disconnected()`` on the native server, against FastAPI
on uvicorn.

Long-poll handlers check it to stop work for a client that left. On fastrapi's native server it always answered False:
the engine had read the body and the Request had no way to ask whether the
connection was still there. It now asks the engine (``fr_req_client_gone``).
Each case runs the same app on fastrapi's native server and on FastAPI
under uvicorn; a raw socket sends the request and leaves."""
import asyncio
import socket
import threading
import time

import pytest

from conftest import framework
from helpers import Uvicorn, wait_until


def make_app(fw, seen, middleware):
    app = fw.FastAPI()
    if middleware == "asgi":  # a raw ASGI class: the Python stack (the native server's bridge)
        class Passthrough:
            def __init__(self, app):
                self.app = app

            async def __call__(self, scope, receive, send):
                await self.app(scope, receive, send)
        app.add_middleware(Passthrough)
    elif middleware:
        @app.middleware("http")
        async def passthrough(request, call_next):
            return await call_next(request)

    @app.get("/poll")
    async def poll(request: fw.Request):
        seen["first"] = await request.is_disconnected()
        for i in range(1, 101):  # at most 5 s
            await asyncio.sleep(0.05)
            if await request.is_disconnected():
                seen["gone_after"] = i
                return {"gone": i}
        seen["gone_after"] = None
        return {"never": True}

    @app.post("/poll-body")
    async def poll_body(request: fw.Request):
        seen["body"] = len(await request.body())
        for i in range(1, 101):
            await asyncio.sleep(0.05)
            if await request.is_disconnected():
                seen["gone_after"] = i
                return {}
        seen["gone_after"] = None
        return {}

    @app.get("/kept")
    async def kept(request: fw.Request, bg: fw.BackgroundTasks):
        seen["during"] = await request.is_disconnected()

        async def later():
            seen["after"] = await request.is_disconnected()
        bg.add_task(later)
        return {"ok": True}

    return app


def serve(kind, seen, middleware):
    app = make_app(framework("fastapi" if kind == "fastapi" else "fastrapi"), seen, middleware)
    if kind in ("fastapi", "fastrapi-uvicorn"):  # fastrapi's ASGI face under uvicorn too
        server = Uvicorn(app)
        return server.port, server.close
    server = app._start_background("127.0.0.1", 0)
    return server.port, server.stop


def leave_after(port, raw, seconds):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(raw)
    time.sleep(seconds)
    s.close()


# FastAPI with an @app.middleware function never reports the disconnect
# (BaseHTTPMiddleware's call_next hands the endpoint a receive channel that
# has delivered the body and then waits); fastrapi's Request asks the
# engine there too, so that case runs on fastrapi only.
@pytest.mark.parametrize("kind,middleware", [("fastapi", False), ("fastrapi", False),
                                             ("fastrapi", True), ("fastrapi", "asgi"),
                                             ("fastapi", "asgi"), ("fastrapi-uvicorn", False),
                                             ("fastrapi-uvicorn", "asgi")],
                         ids=["fastapi", "fastrapi", "fastrapi-app.middleware", "fastrapi-asgi-class",
                              "fastapi-asgi-class", "fastrapi-uvicorn", "fastrapi-uvicorn-asgi-class"])
def test_a_handler_sees_its_client_leave(kind, middleware):
    seen = {}
    port, stop = serve(kind, seen, middleware)
    try:
        leave_after(port, b"GET /poll HTTP/1.1\r\nHost: t\r\n\r\n", 0.3)
        assert wait_until(lambda: "gone_after" in seen, 10)
        assert seen["first"] is False
        assert seen["gone_after"] is not None and seen["gone_after"] <= 40, seen

        seen.clear()
        leave_after(port, b"POST /poll-body HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello", 0.3)
        assert wait_until(lambda: "gone_after" in seen, 10)
        assert seen["body"] == 5
        assert seen["gone_after"] is not None and seen["gone_after"] <= 40, seen
    finally:
        stop()


@pytest.mark.parametrize("kind", ["fastapi", "fastrapi", "fastrapi-uvicorn"])
def test_connected_while_handled_and_disconnected_after_the_answer(kind):
    import httpx
    seen = {}
    port, stop = serve(kind, seen, False)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            assert client.get("/kept").json() == {"ok": True}
            assert wait_until(lambda: "after" in seen, 5)
        assert seen == {"during": False, "after": True}
    finally:
        stop()


def test_a_request_kept_after_its_context_is_gone_is_disconnected():
    """The Request outlives the engine's request: the scope's callable
    answers True instead of reading freed memory (ASan run)."""
    import httpx
    fw = framework("fastrapi")
    kept = []
    app = fw.FastAPI()

    @app.get("/keep")
    def keep(request: fw.Request):
        kept.append(request)
        return {}

    server = app._start_background("127.0.0.1", 0)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client:
            for _ in range(20):
                assert client.get("/keep").status_code == 200
    finally:
        server.stop()
    results = []
    threading.Thread(target=lambda: results.extend(
        asyncio.run(r.is_disconnected()) for r in kept)).start()
    assert wait_until(lambda: len(results) == 20, 10)
    assert all(results)
