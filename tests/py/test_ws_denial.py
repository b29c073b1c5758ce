"""A websocket refused before accept with an HTTP response, on the native
server against FastAPI on uvicorn.

Starlette answers an ``HTTPException`` raised before ``accept()`` (a
dependency's, FastAPI's security schemes' when credentials are missing) and
``websocket.send_denial_response()`` with the ASGI "websocket.http.response"
extension: the upgrade request gets that HTTP response. The native server
did not offer the extension, so each of these was a 500 and a logged
RuntimeError. Compared over raw sockets: status line, headers the app set,
body."""
import base64
import os
import socket

import pytest

from conftest import framework
from helpers import Uvicorn, raw_request
from test_static import dechunk


def make_app(fw):
    if fw.name == "fastapi":
        from fastapi.security import OAuth2PasswordBearer
    else:
        from fastrapi.security import OAuth2PasswordBearer
    app = fw.FastAPI()
    oauth2 = OAuth2PasswordBearer(tokenUrl="token")

    def checked(token: str = ""):
        if token != "ok":
            raise fw.HTTPException(401, "unauth", headers={"x-why": "token"})
        return token

    @app.websocket("/dep")
    async def dep(websocket: fw.WebSocket, t: str = fw.Depends(checked)):
        await websocket.accept()
        await websocket.send_text(t)
        await websocket.close()

    @app.websocket("/oauth2")
    async def secured(websocket: fw.WebSocket, token: str = fw.Depends(oauth2)):
        await websocket.accept()
        await websocket.close()

    @app.websocket("/deny")
    async def deny(websocket: fw.WebSocket):
        await websocket.send_denial_response(
            fw.responses.JSONResponse({"no": 1}, status_code=418, headers={"x-deny": "yes"}))

    @app.websocket("/stream-deny")
    async def stream_deny(websocket: fw.WebSocket):
        async def parts():
            yield b"part one, "
            yield b"part two"
        await websocket.send_denial_response(
            fw.responses.StreamingResponse(parts(), status_code=403, media_type="text/plain"))

    return app


def upgrade(path):
    key = base64.b64encode(os.urandom(16)).decode()
    return (f"GET {path} HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()


def answer(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":  # uvicorn streams
        body = dechunk(body)
    keep = ("content-type", "www-authenticate", "x-why", "x-deny")
    return lines[0].split(" ")[1], {k: headers.get(k) for k in keep}, body


PATHS = ["/dep?token=bad", "/dep", "/oauth2", "/deny", "/stream-deny"]


@pytest.fixture(scope="module")
def reference():
    server = Uvicorn(make_app(framework("fastapi")))
    try:
        return [answer(raw_request(server.port, upgrade(p))) for p in PATHS]
    finally:
        server.close()


def test_reference(reference):
    by = dict(zip(PATHS, reference))
    assert by["/dep"] == ("401", {"content-type": "application/json", "www-authenticate": None,
                                  "x-why": "token", "x-deny": None}, b'{"detail":"unauth"}')
    assert by["/oauth2"][0] == "401" and by["/oauth2"][1]["www-authenticate"] == "Bearer"
    assert by["/deny"][0] == "418" and by["/deny"][2] == b'{"no":1}'
    assert by["/stream-deny"] == ("403", {"content-type": "text/plain; charset=utf-8",
                                          "www-authenticate": None, "x-why": None,
                                          "x-deny": None}, b"part one, part two")


def test_denial_responses_as_on_uvicorn(reference):
    app = make_app(framework("fastrapi"))
    server = app._start_background("127.0.0.1", 0)
    try:
        got = [answer(raw_request(server.port, upgrade(p))) for p in PATHS]
        # an accepted websocket still works next to them
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(upgrade("/dep?token=ok"))
            assert s.recv(12) == b"HTTP/1.1 101"
    finally:
        server.stop()
    assert got == reference


def test_https_redirect_of_a_websocket_upgrade_as_on_uvicorn():
    """HTTPSRedirectMiddleware sends a websocket upgrade to wss://, as
    Starlette reads a websocket scope's scheme (the engine's layer gave
    https://, which websocket clients refuse)."""
    got = {}
    for name in ("fastapi", "fastrapi"):
        fw = framework(name)
        from importlib import import_module
        mw = import_module(name + ".middleware.httpsredirect").HTTPSRedirectMiddleware
        app = fw.FastAPI()
        app.add_middleware(mw)

        @app.websocket("/ws")
        async def ws(websocket: fw.WebSocket):
            await websocket.accept()

        server = Uvicorn(app) if name == "fastapi" else app._start_background("127.0.0.1", 0)
        try:
            raw = raw_request(server.port, upgrade("/ws?a=1").replace(b"Host: t", b"Host: example.com"))
        finally:
            server.close() if name == "fastapi" else server.stop()
        got[name] = [ln for ln in raw.split(b"\r\n") if ln.startswith((b"HTTP/", b"location"))]
    assert got["fastapi"] == [b"HTTP/1.1 307 Temporary Redirect", b"location: wss://example.com/ws?a=1"]
    assert got["fastrapi"] == got["fastapi"]
