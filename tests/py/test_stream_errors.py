"""A streamed response whose producer raises after it began: FastAPI on
uvicorn sends the chunks made so far and closes the connection with no
terminal chunk, so the client sees a truncated body (httpx raises), never a
complete one (also for a yielded item that fails its declared type). The native server must do the same (fr_res_stream_abort), for
async and sync generators and a yielding path operation; under an
@app.middleware, Starlette's BaseHTTPMiddleware ends its own response
normally, and so does ours (tests/py/test_middleware_http_native.py)."""
import textwrap

import httpx
import pytest

from helpers import raw_request, serve_both

APP = textwrap.dedent('''
    from typing import AsyncIterable
    from pydantic import BaseModel
    from {fw} import FastAPI
    from {fw}.responses import StreamingResponse

    app = FastAPI()

    class Item(BaseModel):
        name: str

    async def boom_after_two():
        yield b"one\\n"
        yield b"two\\n"
        raise RuntimeError("boom")

    def boom_after_two_sync():
        yield b"one\\n"
        yield b"two\\n"
        raise RuntimeError("boom")

    @app.get("/raise/stream")
    def raise_stream():
        return StreamingResponse(boom_after_two())

    @app.get("/raise/stream-sync")
    def raise_stream_sync():
        return StreamingResponse(boom_after_two_sync())

    @app.get("/raise/jsonl")
    async def raise_jsonl() -> AsyncIterable[Item]:
        yield Item(name="a")
        raise RuntimeError("boom")

    @app.get("/raise/item")
    async def raise_item() -> AsyncIterable[Item]:
        yield {"name": "a"}
        yield {"nope": 1}  # fails its type mid-stream

    @app.get("/ok")
    def ok():
        return StreamingResponse(iter([b"fine\\n"]))
''')


@pytest.fixture(scope="module")
def servers():
    logs = {}
    yield from serve_both(lambda name: APP.replace("{fw}", name), logs)
    # the application error is logged once per failed stream, as uvicorn does
    assert "RuntimeError: boom" in logs.get("fastrapi", ""), logs.get("fastrapi")


@pytest.mark.parametrize("path", ["/raise/stream", "/raise/stream-sync", "/raise/jsonl", "/raise/item"])
def test_raising_stream_is_cut_without_terminal_chunk(servers, path):
    # asked with keep-alive: a server that kept the connection open would
    # time the read out (raw_request reads until the server closes)
    got = {}
    for name, port in servers.items():
        data = raw_request(port, f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), (name, head)
        assert b"transfer-encoding: chunked" in head.lower(), (name, head)
        got[name] = body
    assert got["fastrapi"] == got["fastapi"]
    assert got["fastrapi"] and not got["fastrapi"].endswith(b"0\r\n\r\n")


@pytest.mark.parametrize("path", ["/raise/stream", "/raise/stream-sync", "/raise/jsonl", "/raise/item"])
def test_raising_stream_is_an_error_for_a_real_client(servers, path):
    for name, port in servers.items():
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            with pytest.raises(httpx.RemoteProtocolError):
                c.get(path)
            # the next request on a fresh connection is served normally
            r = c.get("/ok")
            assert (r.status_code, r.content) == (200, b"fine\n"), name


def test_complete_stream_keeps_its_terminal_chunk_and_connection(servers):
    port = servers["fastrapi"]
    data = raw_request(port, b"GET /ok HTTP/1.1\r\nHost: t\r\n\r\nGET /ok HTTP/1.1\r\nHost: t\r\n"
                             b"Connection: close\r\n\r\n")
    assert data.count(b"HTTP/1.1 200") == 2  # kept alive after the first stream
    assert data.count(b"5\r\nfine\n\r\n0\r\n\r\n") == 2
