"""llhttp strict mode on the live socket (issue 13, "HTTP strictness"): a head
line ended by a bare LF (also a missing CR between two headers), and a chunk
extension with an unbalanced quote or a bare ';' are answered 400
{"detail":"Bad Request"} with connection: close, and the connection is
closed; well-formed extensions still work and the server keeps serving.

uvicorn with httptools (llhttp, not lenient) refuses the same requests;
uvicorn's h11 accepts them, so this is not a differential test."""
import socket

import pytest

from fastrapi import FastrAPI, Request
from fastrapi.testclient import TestClient

app = FastrAPI()


@app.get("/ping")
def ping():
    return {"ok": True}


@app.post("/echo")
async def echo(request: Request):
    return {"got": (await request.body()).decode()}


@pytest.fixture(scope="module")
def client():
    with TestClient(app) as cl:
        yield cl


def exchange(port, raw):
    """Send raw bytes, read until the server closes (bounded by the timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(raw)
        data = b""
        for _ in range(1000):
            try:
                chunk = s.recv(4096)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        return data


def chunked(ext_line, close=b""):
    return (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" + close
            + b"\r\n" + ext_line + b"\r\nhello\r\n0\r\n\r\n")


BAD = [
    b"GET /ping HTTP/1.1\nHost: x\n\n",                     # bare LF everywhere
    b"GET /ping HTTP/1.1\r\nHost: x\nAccept: */*\r\n\r\n",  # missing CR between headers
    b"GET /ping HTTP/1.1\r\nHost: x\r\n\n",                 # bare LF ending the head
    chunked(b"5;"),                                          # bare ';'
    chunked(b"5;a;;b"),
    chunked(b'5;a="b'),                                      # unbalanced quotes
    chunked(b'5;a=b"'),
    chunked(b'5;a="b\\"'),
]


@pytest.mark.parametrize("raw", BAD)
def test_strict_400_and_close(client, raw):
    data = exchange(client.port, raw)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 400 Bad Request", data[:80]
    assert b"connection: close" in [x.lower() for x in lines[1:]], head
    assert body == b'{"detail":"Bad Request"}', data
    assert client.get("/ping").json() == {"ok": True}


def test_wellformed_still_served(client):
    data = exchange(client.port, chunked(b'5 ; a = "q;\\"x" ; b=c ;d', b"Connection: close\r\n"))
    assert data.startswith(b"HTTP/1.1 200 OK\r\n"), data[:80]
    assert data.endswith(b'{"got":"hello"}')
    data = exchange(client.port, b"\r\nGET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b'{"ok":true}')
