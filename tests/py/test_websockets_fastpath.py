"""The native server's WebSocket fast path (fastrapi/_ws.py _NativeWebSocket:
receive_text/bytes/json and send_text/bytes/json straight to the engine)
against FastAPI on uvicorn, differentially: the same endpoint code on both,
the same client frames, and what each side saw compared -- the replies and
the exceptions (type and message) the endpoint caught, in every state the
fast path checks: before accept, a frame of the other kind, bad JSON and
modes, after the app's close, after the client's close, iter_* loops,
receive() mixed in, and an ASGI middleware rewriting messages (which the
fast path must not go around). Every socket has a timeout; loops are bounded.
"""
import asyncio
import json
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from conftest import framework
from helpers import Uvicorn

IO_TIMEOUT = 10


def _out(e):
    """An exception as comparable data: type, message, and a disconnect's code/reason."""
    return [type(e).__name__, str(e), getattr(e, "code", None), getattr(e, "reason", None)]


def make_app(ns, log):
    WebSocket = ns.WebSocket
    app = ns.FastAPI()

    async def attempt(coro):
        try:
            r = await coro
            return ["ok", r.decode("latin-1") if isinstance(r, bytes) else r]
        except Exception as e:  # what the endpoint sees is what is compared
            return _out(e)

    @app.websocket("/before/{what}")
    async def before(websocket: WebSocket, what: str):
        calls = {"receive_text": websocket.receive_text, "receive_bytes": websocket.receive_bytes,
                 "receive_json": websocket.receive_json,
                 "send_text": lambda: websocket.send_text("x"),
                 "send_bytes": lambda: websocket.send_bytes(b"x"),
                 "send_json": lambda: websocket.send_json({"x": 1})}
        r = await attempt(calls[what]())
        await websocket.accept()
        await websocket.send_json([r, websocket.client_state.name, websocket.application_state.name])
        await websocket.close()

    @app.websocket("/kinds")
    async def kinds(websocket: WebSocket):
        await websocket.accept()
        steps = [
            websocket.receive_text,                            # bytes frame: KeyError
            websocket.receive_bytes,                           # text frame: KeyError
            websocket.receive_json,                            # bytes frame: KeyError
            lambda: websocket.receive_json(mode="binary"),     # text frame: KeyError
            lambda: websocket.receive_json(mode="binary"),     # bytes JSON
            websocket.receive_json,                            # text, not JSON
            lambda: websocket.receive_json(mode="x"),          # no frame read
            lambda: websocket.send_json(1, mode="bad"),
            websocket.receive_text,                            # "é"
            websocket.receive_bytes,                           # b"\xff\x00"
            websocket.receive,                                 # generic, a text frame
            websocket.receive,                                 # generic, a bytes frame
            websocket.receive_json,                            # text JSON
        ]
        for step in steps:
            r = await attempt(step())
            if isinstance(r[1], dict) and "type" in r[1] and "bytes" in r[1]:
                r[1] = dict(r[1], bytes=r[1]["bytes"].decode("latin-1"))
            await websocket.send_text(json.dumps(r, sort_keys=True))
        await websocket.send_json({"k": "é", "n": [1, 2.5]}, mode="binary")
        await websocket.send_json({"k": "é"})
        await websocket.send_bytes(bytearray(b"ba"))
        await websocket.send_bytes(b"")
        await websocket.send_text("")
        await websocket.close(code=4000, reason="kinds done")

    @app.websocket("/after-app-close")
    async def after_app_close(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_text("ready")
        await websocket.close(code=4001, reason="app closed")
        out = []
        for call in (lambda: websocket.send_text("x"), websocket.receive_text,
                     lambda: websocket.send_bytes(b"x"), websocket.receive_bytes,
                     websocket.receive_json, lambda: websocket.send_json([1])):
            out.append(await attempt(call()))
        log.append(("after-app-close", out, websocket.client_state.name,
                    websocket.application_state.name))

    @app.websocket("/after-client-close/{how}")
    async def after_client_close(websocket: WebSocket, how: str):
        await websocket.accept()
        await websocket.send_text("ready")
        first = {"text": websocket.receive_text, "bytes": websocket.receive_bytes,
                 "json": websocket.receive_json}[how]
        out = [await attempt(first())]
        for call in (websocket.receive_text, websocket.receive_bytes,
                     lambda: websocket.send_text("x"), lambda: websocket.send_bytes(b"x"),
                     lambda: websocket.send_json(1), websocket.receive_json):
            out.append(await attempt(call()))
        log.append(("after-client-close", how, out, websocket.client_state.name,
                    websocket.application_state.name))

    @app.websocket("/iter")
    async def iterate(websocket: WebSocket):
        await websocket.accept()
        texts, blobs, docs = [], [], []
        async for t in websocket.iter_text():
            texts.append(t)
            if t == "stop":
                break
        async for b in websocket.iter_bytes():
            blobs.append(b.decode("latin-1"))
            if b == b"stop":
                break
        await websocket.send_json([texts, blobs])
        async for d in websocket.iter_json():
            docs.append(d)
            await websocket.send_json({"got": d})
        log.append(("iter", texts, blobs, docs, websocket.client_state.name,
                    websocket.application_state.name))

    @app.websocket("/iter-wrong")
    async def iter_wrong(websocket: WebSocket):
        await websocket.accept()
        got = []
        try:
            async for t in websocket.iter_text():
                got.append(t)
        except Exception as e:
            got.append(_out(e))
        await websocket.send_json(got)
        await websocket.close()

    return app


@pytest.fixture(scope="module")
def servers():
    fa_log, fr_log = [], []
    fa = Uvicorn(make_app(framework("fastapi"), fa_log))
    fr_app = make_app(framework("fastrapi"), fr_log)
    fr = fr_app._start_background("127.0.0.1", 0)
    yield {"fastapi": (fa.port, fa_log), "fastrapi": (fr.port, fr_log)}
    fr.stop()
    fa.close()


def _run(coro):
    return asyncio.run(asyncio.wait_for(coro, IO_TIMEOUT * 3))


async def _recv(ws):
    return await asyncio.wait_for(ws.recv(), IO_TIMEOUT)


async def _rest(ws):
    """Everything until the close, then the close code and reason."""
    out = []
    for _ in range(100):
        try:
            out.append(await _recv(ws))
        except ConnectionClosed as e:
            out.append(("closed", e.rcvd.code, e.rcvd.reason) if e.rcvd else ("closed", None))
            return out
    return out


def _wait_log(log, pred, rounds=500):
    for _ in range(rounds):  # bounded: the endpoint finishes on the server's own thread
        hits = [x for x in log if pred(x)]
        if hits:
            return hits[-1]
        time.sleep(0.01)
    return None


def _both(servers, path, body):
    out = {}
    for fw, (port, _) in servers.items():
        async def go():
            async with connect(f"ws://127.0.0.1:{port}{path}", open_timeout=IO_TIMEOUT,
                               close_timeout=IO_TIMEOUT) as ws:
                return await body(ws)
        out[fw] = _run(go())
    return out


@pytest.mark.parametrize("what", ["receive_text", "receive_bytes", "receive_json",
                                  "send_text", "send_bytes", "send_json"])
def test_before_accept(servers, what):
    out = _both(servers, f"/before/{what}", _rest)
    assert out["fastrapi"] == out["fastapi"]
    r, client, app = json.loads(out["fastrapi"][0])
    assert r[0] in ("WebSocketDisconnected", "RuntimeError")
    assert "accept" in r[1]


def test_wrong_kinds_modes_and_json(servers):
    async def body(ws):
        for frame in (b"\x01", "t", b'{"a":1}', '{"a":1}', b'{"a":[1,2]}', "nope"):
            await ws.send(frame)
        for frame in ("é", b"\xff\x00", "g", b"h", '{"z": null}'):
            await ws.send(frame)
        return await _rest(ws)

    out = _both(servers, "/kinds", body)
    assert out["fastrapi"] == out["fastapi"]
    got = out["fastrapi"]
    replies = [json.loads(x) for x in got[:13]]
    assert replies[0] == ["KeyError", "'text'", None, None]
    assert replies[1] == ["KeyError", "'bytes'", None, None]
    assert replies[2][0] == "KeyError" and replies[3][0] == "KeyError"
    assert replies[4] == ["ok", {"a": [1, 2]}]
    assert replies[5][0] == "JSONDecodeError"
    assert replies[6][0] == "RuntimeError" and replies[7][0] == "RuntimeError"
    assert replies[8] == ["ok", "é"] and replies[9] == ["ok", "\xff\x00"]
    assert replies[10] == ["ok", {"type": "websocket.receive", "text": "g"}]
    assert replies[12] == ["ok", {"z": None}]
    assert got[13] == '{"k":"é","n":[1,2.5]}'.encode("utf-8")
    assert got[14:] == ['{"k":"é"}', b"ba", b"", "", ("closed", 4000, "kinds done")]


def test_after_app_close(servers):
    async def body(ws):
        return await _rest(ws)

    for _, log in servers.values():
        del log[:]
    out = _both(servers, "/after-app-close", body)
    assert out["fastrapi"] == out["fastapi"] == ["ready", ("closed", 4001, "app closed")]
    seen = {fw: _wait_log(log, lambda x: x[0] == "after-app-close") for fw, (_, log) in servers.items()}
    assert seen["fastrapi"] is not None
    assert seen["fastrapi"] == seen["fastapi"]
    assert all(r[0] == "WebSocketDisconnected" for r in seen["fastrapi"][1])


@pytest.mark.parametrize("how", ["text", "bytes", "json"])
def test_after_client_close(servers, how):
    async def body(ws):
        got = await _recv(ws)
        await ws.close(code=4002, reason="client bye")
        return got

    for _, log in servers.values():
        del log[:]
    out = _both(servers, f"/after-client-close/{how}", body)
    assert out["fastrapi"] == out["fastapi"] == "ready"
    seen = {fw: _wait_log(log, lambda x: x[0] == "after-client-close") for fw, (_, log) in servers.items()}
    assert seen["fastrapi"] is not None
    assert seen["fastrapi"] == seen["fastapi"]
    first = seen["fastrapi"][2][0]
    assert first == ["WebSocketDisconnect", "(4002, 'client bye')", 4002, "client bye"]


def test_iter_text_bytes_json(servers):
    async def body(ws):
        for frame in ("a", "é", "stop", b"x", b"\x00", b"stop"):
            await ws.send(frame)
        first = await _recv(ws)
        docs = []
        for doc in ('{"n": 1}', "[2, 3]", '"s"'):
            await ws.send(doc)
            docs.append(await _recv(ws))
        await ws.close(code=4003)
        return first, docs

    for _, log in servers.values():
        del log[:]
    out = _both(servers, "/iter", body)
    assert out["fastrapi"] == out["fastapi"]
    assert json.loads(out["fastrapi"][0]) == [["a", "é", "stop"], ["x", "\x00", "stop"]]
    seen = {fw: _wait_log(log, lambda x: x[0] == "iter") for fw, (_, log) in servers.items()}
    assert seen["fastrapi"] is not None
    assert seen["fastrapi"] == seen["fastapi"]
    assert seen["fastrapi"][3] == [{"n": 1}, [2, 3], "s"]


def test_iter_text_on_a_bytes_frame(servers):
    async def body(ws):
        await ws.send("one")
        await ws.send(b"two")
        return await _rest(ws)

    out = _both(servers, "/iter-wrong", body)
    assert out["fastrapi"] == out["fastapi"]
    assert json.loads(out["fastrapi"][0]) == ["one", ["KeyError", "'text'", None, None]]


def test_native_websocket_is_starlettes():
    """The endpoint's object on the native server is a Starlette WebSocket."""
    from starlette.websockets import WebSocket as StarletteWebSocket
    fr = framework("fastrapi")
    app = fr.FastAPI()
    kinds = []

    @app.websocket("/t")
    async def t(websocket: fr.WebSocket):
        kinds.append((isinstance(websocket, StarletteWebSocket), type(websocket).__name__,
                      "fastrapi.channel" in websocket.scope))
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())

    running = app._start_background("127.0.0.1", 0)
    try:
        async def go():
            async with connect(f"ws://127.0.0.1:{running.port}/t", open_timeout=IO_TIMEOUT) as ws:
                await ws.send("hi")
                return await _recv(ws)
        assert _run(go()) == "hi"
    finally:
        running.stop()
    assert kinds == [(True, "_NativeWebSocket", False)]  # the fast path is the one measured


def make_middleware_app(ns):
    """An ASGI middleware that rewrites the endpoint's texts and the
    client's: the native server must not go around it."""
    app = ns.FastAPI()

    class Upper:
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            if scope["type"] != "websocket":
                return await self.app(scope, receive, send)

            async def receive2():
                m = await receive()
                if m["type"] == "websocket.receive" and m.get("text") is not None:
                    m = dict(m, text=m["text"] + "!")
                return m

            async def send2(m):
                if m["type"] == "websocket.send" and m.get("text") is not None:
                    m = dict(m, text=m["text"].upper())
                await send(m)

            await self.app(scope, receive2, send2)

    app.add_middleware(Upper)

    @app.websocket("/mw")
    async def mw(websocket: ns.WebSocket):
        await websocket.accept()
        for _ in range(2):
            await websocket.send_text(await websocket.receive_text())
        await websocket.send_json({"k": "v"})
        await websocket.close()

    return app


def test_asgi_middleware_sees_every_message():
    fa = Uvicorn(make_middleware_app(framework("fastapi")))
    fr = make_middleware_app(framework("fastrapi"))._start_background("127.0.0.1", 0)
    try:
        async def body(ws):
            await ws.send("ab")
            await ws.send("cd")
            return await _rest(ws)
        out = _both({"fastapi": (fa.port, None), "fastrapi": (fr.port, None)}, "/mw", body)
    finally:
        fr.stop()
        fa.close()
    assert out["fastrapi"] == out["fastapi"]
    assert out["fastrapi"] == ["AB!", "CD!", '{"K":"V"}', ("closed", 1000, "")]
