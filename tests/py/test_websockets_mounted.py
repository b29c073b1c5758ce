"""Websocket routes of mounted apps and Host routes on the native server,
against FastAPI on uvicorn with the same app code.

The engine takes an upgrade only on a websocket route; a Mount registers its
prefix as one, a Host route every path, and the Python side routes the
connection in Starlette's order (the mounted app is called through ASGI).
Covered: a mounted FastAPI app (parameters, a validation error, an unknown
path, messages both ways, a client's close reaching the endpoint, its own
middleware), a mounted Starlette app, order against the parent's own
websocket routes, a Host route, a StaticFiles mount, the mount's plain HTTP
routes unchanged, and no task or fd left after many connections. Every
socket has a timeout; loops are bounded.
"""
import asyncio
import socket
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from conftest import framework
from helpers import Uvicorn, open_fds, wait_until

IO_TIMEOUT = 10


class _Tag:
    """A raw ASGI middleware: adds x-tag to the websocket's accept."""

    def __init__(self, app, tag):
        self.app, self.tag = app, tag

    async def __call__(self, scope, receive, send):
        async def tagged(msg):
            if msg["type"] == "websocket.accept":
                msg = dict(msg)
                msg["headers"] = list(msg.get("headers") or []) + [(b"x-tag", self.tag)]
            await send(msg)
        await self.app(scope, receive, tagged if scope["type"] == "websocket" else send)


def make_app(ns, log, static_dir):
    from starlette.applications import Starlette
    from starlette.routing import Host, WebSocketRoute
    from starlette.staticfiles import StaticFiles
    WebSocket, WebSocketDisconnect = ns.WebSocket, ns.WebSocketDisconnect
    app = ns.FastAPI()

    @app.websocket("/first/ws")  # declared before the mount on its prefix: wins
    async def first(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_text("parent first")
        await websocket.close()

    sub = ns.FastAPI()
    sub.add_middleware(_Tag, tag=b"sub")

    @sub.websocket("/items/{item_id}")
    async def items(websocket: WebSocket, item_id: int, q: str = "-"):
        await websocket.accept()
        await websocket.send_text(f"{item_id} {q} {websocket.scope['root_path']} {websocket.url.path}")
        await websocket.close(code=4001, reason="done")

    @sub.websocket("/echo")
    async def echo(websocket: WebSocket):
        await websocket.accept()
        try:
            while True:
                msg = await websocket.receive()
                if msg["type"] == "websocket.disconnect":
                    log.append(("sub-echo-disconnect", msg.get("code")))
                    return
                if msg.get("text") is not None:
                    await websocket.send_text(msg["text"].upper())
                else:
                    await websocket.send_bytes(msg["bytes"][::-1])
        except WebSocketDisconnect as e:  # pragma: no cover - receive() returns it
            log.append(("sub-echo-raised", e.code))

    @sub.websocket("/shadowed")
    async def shadowed(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_text("sub shadowed")
        await websocket.close()

    @sub.get("/page")
    def page():
        return {"sub": True}

    app.mount("/sub", sub)
    app.mount("/first", sub)  # /first/ws: the parent's route above comes first

    @app.websocket("/sub/shadowed")  # after the mount: the mount's route wins
    async def late(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_text("parent late")
        await websocket.close()

    async def star(websocket):
        await websocket.accept()
        await websocket.send_text("star " + websocket.url.path + " " + websocket.path_params["name"])
        await websocket.close()

    app.mount("/star", Starlette(routes=[WebSocketRoute("/hi/{name}", star)]))
    app.mount("/files", StaticFiles(directory=static_dir))

    async def host_ws(websocket):
        await websocket.accept()
        await websocket.send_text("host " + websocket.url.path)
        await websocket.close()

    app.router.routes.append(Host("ws.example", app=Starlette(routes=[WebSocketRoute("/h", host_ws)])))

    @app.websocket("/top")
    async def top(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_text("top")
        await websocket.close()
    return app


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    static_dir = tmp_path_factory.mktemp("static")
    (static_dir / "a.txt").write_text("static a")
    fa_log, fr_log = [], []
    fa = Uvicorn(make_app(framework("fastapi"), fa_log, str(static_dir)))
    fr_app = make_app(framework("fastrapi"), fr_log, str(static_dir))
    fr = fr_app._start_background("127.0.0.1", 0)
    yield {"fastapi": (fa.port, fa_log, None), "fastrapi": (fr.port, fr_log, fr_app)}
    fr.stop()
    fa.close()


def _run(coro):
    return asyncio.run(asyncio.wait_for(coro, IO_TIMEOUT * 3))


async def _recv(ws):
    return await asyncio.wait_for(ws.recv(), IO_TIMEOUT)


async def _first_and_close(ws):
    first = await _recv(ws)
    try:
        await _recv(ws)
        return first, "more"
    except ConnectionClosed as e:
        return first, (e.rcvd.code, e.rcvd.reason) if e.rcvd else None


async def _outcome(port, path, body, **kw):
    try:
        async with connect(f"ws://127.0.0.1:{port}{path}", open_timeout=IO_TIMEOUT,
                           close_timeout=IO_TIMEOUT, **kw) as ws:
            return ("ok", await body(ws), ws.response.headers.get("x-tag"))
    except InvalidStatus as e:
        return ("refused", e.response.status_code)


async def _echo(ws):
    out = []
    for msg in ("abc", "héllo", b"\x01\x02\x03", "x" * 70000):
        await ws.send(msg)
        out.append(await _recv(ws))
    return out


SCENARIOS = {
    "items": ("/sub/items/5?q=z", _first_and_close),
    "items_bad_param": ("/sub/items/abc", _first_and_close),
    "sub_unknown": ("/sub/nowhere", _first_and_close),
    "sub_prefix_only": ("/sub", _first_and_close),
    "echo": ("/sub/echo", _echo),
    "parent_first": ("/first/ws", _first_and_close),
    "mount_first": ("/sub/shadowed", _first_and_close),
    "starlette": ("/star/hi/ann", _first_and_close),
    "starlette_unknown": ("/star/nope", _first_and_close),
    "static_files": ("/files/a.txt", _first_and_close),
    "top": ("/top", _first_and_close),
    "unknown": ("/nowhere", _first_and_close),
}

EXPECTED = {
    "items": ("ok", ("5 z /sub /sub/items/5", (4001, "done")), "sub"),
    "items_bad_param": ("refused", 403),
    "sub_unknown": ("refused", 403),
    "sub_prefix_only": ("refused", 403),
    "echo": ("ok", ["ABC", "HÉLLO", b"\x03\x02\x01", "X" * 70000], "sub"),
    "parent_first": ("ok", ("parent first", (1000, "")), None),
    "mount_first": ("ok", ("sub shadowed", (1000, "")), "sub"),
    "starlette": ("ok", ("star /star/hi/ann ann", (1000, "")), None),
    "starlette_unknown": ("refused", 403),
    "static_files": ("refused", 403),
    "top": ("ok", ("top", (1000, "")), None),
    "unknown": ("refused", 403),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_mounted_websocket_same_as_uvicorn(servers, name):
    path, body = SCENARIOS[name]
    got = {fw: _run(_outcome(port, path, body)) for fw, (port, _, _) in servers.items()}
    assert got["fastapi"] == EXPECTED[name]
    assert got["fastrapi"] == got["fastapi"]


def _raw_upgrade(port, path, host):
    """A hand-written upgrade with its own Host header: the status line and
    the first frame's text (a server text frame below 126 bytes), or None."""
    req = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT) as s:
        s.sendall(req.encode())
        data = b""
        deadline = time.monotonic() + IO_TIMEOUT
        while b"\r\n\r\n" not in data and time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            return status.split(b" ")[1], None
        while len(rest) < 2 or len(rest) < 2 + (rest[1] & 0x7F):
            if time.monotonic() >= deadline:
                break
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        assert rest[0] == 0x81 and rest[1] < 126, rest[:4]
        return b"101", rest[2:2 + rest[1]].decode()


def test_host_route_websocket_same_as_uvicorn(servers):
    out = {}
    for fw, (port, _, _) in servers.items():
        out[fw] = (_raw_upgrade(port, "/h", "ws.example"), _raw_upgrade(port, "/h", "other.example"),
                   _raw_upgrade(port, "/top", "other.example"), _raw_upgrade(port, "/top", "ws.example"))
    # the Host route comes before /top: on its host it takes every path
    assert out["fastapi"] == ((b"101", "host /h"), (b"403", None), (b"101", "top"), (b"403", None))
    assert out["fastrapi"] == out["fastapi"]


def test_mount_http_routes_unchanged(servers):
    """The mount's websocket registration leaves its plain requests alone:
    a page under it is served, a plain GET on its websocket path is 404."""
    import httpx
    out = {}
    for fw, (port, _, _) in servers.items():
        a = httpx.get(f"http://127.0.0.1:{port}/sub/page", timeout=IO_TIMEOUT)
        b = httpx.get(f"http://127.0.0.1:{port}/sub/echo", timeout=IO_TIMEOUT)
        c = httpx.get(f"http://127.0.0.1:{port}/files/a.txt", timeout=IO_TIMEOUT)
        out[fw] = (a.status_code, a.json(), b.status_code, b.json(), c.status_code, c.text)
    assert out["fastapi"] == (200, {"sub": True}, 404, {"detail": "Not Found"}, 200, "static a")
    assert out["fastrapi"] == out["fastapi"]


def test_client_close_reaches_mounted_endpoint_and_nothing_is_left(servers):
    port, log, app = servers["fastrapi"]

    async def one(i):
        async with connect(f"ws://127.0.0.1:{port}/sub/echo", open_timeout=IO_TIMEOUT) as ws:
            await ws.send(f"m{i}")
            return await _recv(ws)

    async def many():
        out = []
        for start in range(0, 40, 20):  # 20 at a time, 40 in all
            out += await asyncio.gather(*(one(i) for i in range(start, start + 20)))
        return out

    def settled(n):  # the server side has finished closing
        return wait_until(lambda: log.count(("sub-echo-disconnect", 1000)) == n
                          and not app.__dict__.get("_fr_ws_tasks"), 20)

    del log[:]
    assert _run(one(-1)) == "M-1"
    assert settled(1)
    before = open_fds()
    del log[:]
    assert _run(many()) == [f"M{i}" for i in range(40)]
    assert settled(40)
    assert wait_until(lambda: open_fds() <= before, 20)
