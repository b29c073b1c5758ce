"""A StreamingResponse whose app set a content-length: uvicorn frames the
stream with it (no chunked encoding) and keeps the connection; a stream that
produces more raises "Response content longer than Content-Length" before
the excess is written, one that produces less raises "... shorter ..." at
its end, and in both cases the connection is closed after what was written
(the client sees a truncated body, never bytes it would read as the next
response). The native server must answer the same bytes."""
import textwrap

import pytest

from helpers import raw_request, serve_both

APP = textwrap.dedent('''
    from {fw} import FastAPI
    from {fw}.responses import StreamingResponse

    app = FastAPI()

    def pieces(*chunks):
        def gen():
            for c in chunks:
                yield c
        return gen()

    @app.api_route("/exact", methods=["GET", "HEAD"])
    def exact():
        return StreamingResponse(pieces(b"hello ", b"world"), headers={"content-length": "11"})

    @app.get("/exact-async")
    async def exact_async():
        async def gen():
            yield b"hello "
            yield b"world"
        return StreamingResponse(gen(), headers={"content-length": "11"})

    @app.get("/longer-first")
    def longer_first():
        return StreamingResponse(pieces(b"hello world"), headers={"content-length": "5"})

    @app.get("/longer-later")
    def longer_later():
        return StreamingResponse(pieces(b"hel", b"lo world"), headers={"content-length": "5"})

    @app.get("/shorter")
    def shorter():
        return StreamingResponse(pieces(b"hello ", b"world"), headers={"content-length": "20"})

    @app.get("/ok")
    def ok():
        return {"ok": True}
''')

DROP = (b"date:", b"server:")


def answer(port, target, method="GET", keep_alive=False):
    extra = b"" if keep_alive else b"Connection: close\r\n"
    data = raw_request(port, b"%s %s HTTP/1.1\r\nHost: t\r\n%s\r\n" % (method.encode(), target.encode(), extra))
    head, _, body = data.partition(b"\r\n\r\n")
    lines = [ln.lower() for ln in head.split(b"\r\n")[1:] if not ln.lower().startswith(DROP)]
    return head.split(b"\r\n")[0], sorted(lines), body


@pytest.fixture(scope="module")
def servers():
    logs = {}
    yield from serve_both(lambda name: APP.replace("{fw}", name), logs)
    for how in ("longer", "shorter"):
        assert f"{how} than Content-Length" in logs.get("fastrapi", ""), logs.get("fastrapi")


@pytest.mark.parametrize("path", ["/exact", "/exact-async", "/longer-first", "/longer-later", "/shorter"])
def test_same_bytes_as_uvicorn(servers, path):
    got = {name: answer(port, path) for name, port in servers.items()}
    assert got["fastrapi"] == got["fastapi"]
    status, headers, body = got["fastrapi"]
    assert status == b"HTTP/1.1 200 OK"
    assert not any(h.startswith(b"transfer-encoding") for h in headers), headers
    want = {"/exact": b"hello world", "/exact-async": b"hello world", "/longer-first": b"",
            "/longer-later": b"hel", "/shorter": b"hello world"}[path]
    assert body == want


def test_exact_stream_keeps_the_connection(servers):
    """Two requests on one connection: the declared length ends the first
    answer and the second follows (a raw_request reads until the close)."""
    for name, port in servers.items():
        data = raw_request(port, b"GET /exact HTTP/1.1\r\nHost: t\r\n\r\n"
                                 b"GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        assert data.count(b"HTTP/1.1 200 OK") == 2, (name, data)
        assert b"hello world" in data and data.endswith(b'{"ok":true}'), (name, data)


@pytest.mark.parametrize("path", ["/longer-first", "/longer-later", "/shorter"])
def test_broken_length_closes_the_connection(servers, path):
    """Asked with keep-alive and a second request behind it: the server
    closes after the broken answer (raw_request would time out on an open
    connection), and the excess is never read as the next response."""
    for name, port in servers.items():
        data = raw_request(port, f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\nGET /ok HTTP/1.1\r\nHost: t\r\n\r\n"
                           .encode())
        assert data.count(b"HTTP/1.1 ") == 1, (name, data)
        assert b"world" not in data.partition(b"\r\n\r\n")[2] or path == "/shorter", (name, data)
        assert answer(port, "/ok")[2] == b'{"ok":true}', name  # and goes on serving


def test_head_keeps_the_declared_length(servers):
    got = {name: answer(port, "/exact", method="HEAD") for name, port in servers.items()}
    assert got["fastrapi"] == got["fastapi"]
    assert b"content-length: 11" in got["fastrapi"][1] and got["fastrapi"][2] == b""
