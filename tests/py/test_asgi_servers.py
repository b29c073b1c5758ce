"""Other ASGI servers serve a fastrapi app (``module:app``) as uvicorn does:
hypercorn and granian (``--interface asgi``) each run the same app source in a
subprocess, and their answers -- GET/POST JSON, a 422, a 404, a streamed body,
the lifespan startup seen by a route and the shutdown logged after the server
stopped, a WebSocket echo (text and JSON) -- equal the same fastrapi app's on
uvicorn and FastAPI's on the same server. Every socket has a timeout; every
server is stopped, bounded."""
import importlib.util
import os
import signal
import subprocess
import sys
import textwrap

import httpx
import pytest

from helpers import ROOT, free_port, wait_port

APP = textwrap.dedent('''
    import os
    from contextlib import asynccontextmanager
    from typing import Optional
    from pydantic import BaseModel
    if os.environ["FW"] == "fastapi":
        from fastapi import Depends, FastAPI, Header, HTTPException, WebSocket, WebSocketDisconnect
        from fastapi.responses import StreamingResponse
    else:
        from fastrapi import Depends, FastAPI, Header, HTTPException, WebSocket, WebSocketDisconnect
        from fastrapi.responses import StreamingResponse

    LOG = os.environ["LIFESPAN_LOG"]
    state = {"started": 0}

    def log(what):
        with open(LOG, "a") as f:
            f.write(what + "\\n")

    @asynccontextmanager
    async def lifespan(app):
        state["started"] += 1
        log("startup")
        yield
        log("shutdown")

    app = FastAPI(lifespan=lifespan)

    class Item(BaseModel):
        name: str
        price: float = 0.0
        tags: list[str] = []

    class Out(BaseModel):
        name: str
        total: float

    def common(q: Optional[str] = None, limit: int = 10):
        return {"q": q, "limit": limit}

    @app.get("/")
    def root():
        return {"hello": "world", "started": state["started"]}

    @app.get("/items/{item_id}")
    async def read_item(item_id: int, c: dict = Depends(common), x_token: str = Header("none")):
        return {"item_id": item_id, **c, "token": x_token}

    @app.post("/items/", response_model=Out, status_code=201)
    def create(item: Item):
        return {"name": item.name, "total": item.price * 2, "secret": "dropped"}

    @app.get("/teapot")
    async def teapot():
        raise HTTPException(418, "short and stout")

    @app.get("/stream")
    def stream():
        return StreamingResponse((f"part{i};" for i in range(3)), media_type="text/plain")

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        await websocket.accept()
        try:
            while True:
                msg = await websocket.receive()
                if msg["type"] == "websocket.disconnect":
                    return
                if msg.get("text", "").startswith("{"):
                    import json
                    await websocket.send_json({"got": json.loads(msg["text"])})
                else:
                    await websocket.send_text("echo:" + msg["text"])
        except WebSocketDisconnect:
            return
''')

REQUESTS = [
    ("GET", "/", {}),
    ("GET", "/items/7?q=zz&limit=3", {"headers": {"x-token": "abc"}}),
    ("GET", "/items/seven", {}),
    ("GET", "/items/7?limit=x", {}),
    ("POST", "/items/", {"json": {"name": "pen", "price": 1.5, "tags": ["a"]}}),
    ("POST", "/items/", {"json": {"price": "cheap"}}),
    ("POST", "/items/", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
    ("GET", "/teapot", {}),
    ("GET", "/stream", {}),
    ("GET", "/nope", {}),
    ("DELETE", "/", {}),
]
KEEP = ("content-type", "content-length", "allow")

SERVERS = {
    "uvicorn": lambda port: ["-m", "uvicorn", "srvapp:app", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning"],
    "hypercorn": lambda port: ["-m", "hypercorn", "srvapp:app", "--bind", f"127.0.0.1:{port}",
                               "--log-level", "warning"],
    "granian": lambda port: ["-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "1", "--log-level", "warning",
                             "srvapp:app"],
}


def answer(r):
    return r.status_code, {k: v for k, v in r.headers.items() if k in KEEP}, r.content


def ws_echo(port):
    from websockets.sync.client import connect
    with connect(f"ws://127.0.0.1:{port}/ws", open_timeout=10, close_timeout=5) as ws:
        ws.send("hi")
        a = ws.recv(timeout=10)
        ws.send('{"n": [1, 2]}')
        b = ws.recv(timeout=10)
    return [a, b]


def serve(server, fw, tmp_path, http2=False):
    """Run the app for framework `fw` on `server`; return its answers and
    the lifespan log written by the time the stopped server exited. With
    `http2` the requests go over cleartext HTTP/2 (prior knowledge)."""
    if not importlib.util.find_spec(server):
        pytest.fail(f"{server} missing: pip install -e '.[test]'")
    (tmp_path / "srvapp.py").write_text(APP)
    log = tmp_path / f"{server}-{fw}.log"
    port = free_port()
    env = dict(os.environ, FW=fw, LIFESPAN_LOG=str(log),
               PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}")
    proc = subprocess.Popen([sys.executable] + SERVERS[server](port), env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port, proc=proc)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10,
                          http1=not http2, http2=http2) as c:
            rs = [c.request(m, u, **kw) for m, u, kw in REQUESTS]
        assert {r.http_version for r in rs} == {"HTTP/2" if http2 else "HTTP/1.1"}
        got = [answer(r) for r in rs]
        got.append(ws_echo(port))
    finally:
        proc.send_signal(signal.SIGINT)  # every server's graceful stop (Ctrl-C)
        try:
            out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate(timeout=10)
            pytest.fail(f"{server} ({fw}) did not stop on SIGINT:\n{err}")
    assert "Traceback" not in err, err
    return got, log.read_text().split()


@pytest.fixture(scope="module")
def on_uvicorn(tmp_path_factory):
    return serve("uvicorn", "fastrapi", tmp_path_factory.mktemp("uvicorn"))


@pytest.mark.parametrize("server", ["hypercorn", "granian"])
def test_server_serves_fastrapi_like_uvicorn(server, tmp_path, on_uvicorn):
    ref, ref_log = on_uvicorn
    # the reference itself is meaningful
    assert ref[0] == (200, {"content-type": "application/json", "content-length": "29"},
                      b'{"hello":"world","started":1}')
    assert ref[2][0] == ref[3][0] == ref[5][0] == ref[6][0] == 422
    assert ref[-1] == ["echo:hi", '{"got":{"n":[1,2]}}']
    assert ref_log == ["startup", "shutdown"]
    ours, our_log = serve(server, "fastrapi", tmp_path)
    for req, a, b in zip(REQUESTS + [("WS", "/ws", {})], ref, ours):
        assert b == a, req
    assert our_log == ["startup", "shutdown"]


@pytest.mark.parametrize("server", ["hypercorn", "granian"])
def test_server_serves_fastrapi_like_fastapi(server, tmp_path):
    theirs, their_log = serve(server, "fastapi", tmp_path)
    ours, our_log = serve(server, "fastrapi", tmp_path)
    for req, a, b in zip(REQUESTS + [("WS", "/ws", {})], theirs, ours):
        assert b == a, req
    assert our_log == their_log == ["startup", "shutdown"]


@pytest.mark.parametrize("server", ["hypercorn", "granian"])
def test_server_serves_fastrapi_over_http2(server, tmp_path, on_uvicorn):
    """What those servers bring: HTTP/2 (h2c), with the same answers."""
    if not importlib.util.find_spec("h2"):
        pytest.fail("h2 missing (hypercorn's dependency): pip install -e '.[test]'")
    ref, _ = on_uvicorn
    ours, our_log = serve(server, "fastrapi", tmp_path, http2=True)
    for req, a, b in zip(REQUESTS + [("WS", "/ws", {})], ref, ours):
        assert b == a, req
    assert our_log == ["startup", "shutdown"]
