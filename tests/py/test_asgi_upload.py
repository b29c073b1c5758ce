"""Request bodies on the ASGI face: fastrapi served by uvicorn (the app
called as an ASGI application), FastAPI under the same uvicorn beside it.

The body is fed to the engine as uvicorn's http.request messages arrive
(fr_dispatch_begin/feed/end): an upload to an UploadFile route streams to a
temp file, so a 128 MiB upload grows the server by a few MiB, not by the
upload (before, the whole body was read into memory first); a client that
leaves mid-upload leaves no temp file open and the server serves on; bodies
sent in many tiny chunks (JSON, invalid JSON, a form, raw bytes) get
exactly FastAPI's answers.

Real uvicorn processes on 127.0.0.1, real sockets; every wait is bounded."""
import hashlib
import socket
import time

import httpx
import pytest

from helpers import PeakRss, deleted_fds, free_port, rss_kib, spawn, stop_spawned

UPLOAD_MB = 128

APP = '''
import hashlib
from typing import List
from pydantic import BaseModel
from {fw} import FastAPI, File, Form, Request, UploadFile

app = FastAPI()


class Item(BaseModel):
    name: str
    tags: List[str]


@app.post("/up")
async def up(f: UploadFile = File(...), note: str = Form(...)):
    h, n = hashlib.sha256(), 0
    while True:
        chunk = await f.read(1 << 20)
        if not chunk:
            break
        h.update(chunk)
        n += len(chunk)
    return {{"size": n, "sha256": h.hexdigest(), "note": note, "name": f.filename}}


@app.post("/item")
def item(it: Item):
    return it


@app.post("/raw")
async def raw(request: Request):
    body = await request.body()
    return {{"n": len(body), "sha256": hashlib.sha256(body).hexdigest()}}


@app.get("/ping")
def ping():
    return "pong"


import uvicorn
uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning")
'''


@pytest.fixture(scope="module", params=["fastapi", "fastrapi"])
def server(request):
    port = free_port()
    proc = spawn(APP.format(fw=request.param, port=port), port)
    yield request.param, port, proc
    err = stop_spawned(proc)
    assert "Traceback" not in err, err


@pytest.fixture(scope="module")
def both():
    """Both servers at once, for byte-for-byte comparisons."""
    procs, ports = [], {}
    for fw in ("fastapi", "fastrapi"):
        port = free_port()
        procs.append(spawn(APP.format(fw=fw, port=port), port))
        ports[fw] = port
    yield ports
    for proc in procs:
        stop_spawned(proc)


BND = b"b0undaryXyZ"


def form_head(size, note=b"hello"):
    head = (b"--" + BND + b'\r\nContent-Disposition: form-data; name="note"\r\n\r\n' + note + b"\r\n"
            b"--" + BND + b'\r\nContent-Disposition: form-data; name="f"; filename="big.bin"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n")
    tail = b"\r\n--" + BND + b"--\r\n"
    return head, tail


def pattern(i):
    """1 MiB block number i: differs from block to block."""
    seed = hashlib.sha256(i.to_bytes(4, "big")).digest()
    return seed * (1 << 15)


def recv_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int([line.split(b":")[1] for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:")][0])
    while len(body) < length:
        chunk = s.recv(65536)
        assert chunk
        body += chunk
    return head, body


def test_upload_streams_to_disk_in_flat_memory(server):
    fw, port, proc = server
    head, tail = form_head(UPLOAD_MB << 20)
    total = len(head) + (UPLOAD_MB << 20) + len(tail)
    want = hashlib.sha256()
    for i in range(UPLOAD_MB):
        want.update(pattern(i))
    assert httpx.get(f"http://127.0.0.1:{port}/ping", timeout=10).status_code == 200
    rss0 = rss_kib(proc.pid)
    with PeakRss(proc.pid) as rss:
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        s.sendall(b"POST /up HTTP/1.1\r\nhost: t\r\ncontent-type: multipart/form-data; boundary=" + BND +
                  b"\r\ncontent-length: " + str(total).encode() + b"\r\n\r\n" + head)
        for i in range(UPLOAD_MB):
            s.sendall(pattern(i))
        s.sendall(tail)
        status, body = recv_response(s)
        s.close()
    assert status.startswith(b"HTTP/1.1 200"), (status, body)
    assert body == (b'{"size":%d,"sha256":"%s","note":"hello","name":"big.bin"}'
                    % (UPLOAD_MB << 20, want.hexdigest().encode()))
    # the whole upload in memory would be >= 128 MiB; a streamed one holds
    # the parser's buffers and the handler's 1 MiB reads
    assert rss.peak - rss0 < 40 * 1024, (fw, rss0, rss.peak)


def test_chunked_upload_streams_too(server):
    fw, port, proc = server
    mb = 32
    head, tail = form_head(mb << 20, b"chunked")

    def body():
        yield head
        for i in range(mb):
            yield pattern(i)
        yield tail

    rss0 = rss_kib(proc.pid)
    with PeakRss(proc.pid) as rss:
        r = httpx.post(f"http://127.0.0.1:{port}/up", content=body(), timeout=60,
                       headers={"content-type": "multipart/form-data; boundary=" + BND.decode()})
    want = hashlib.sha256(b"".join(pattern(i) for i in range(mb))).hexdigest()
    assert r.status_code == 200, r.text
    assert r.json() == {"size": mb << 20, "sha256": want, "note": "chunked", "name": "big.bin"}
    assert rss.peak - rss0 < 24 * 1024, (fw, rss0, rss.peak)


def test_client_leaving_mid_upload_leaves_no_temp_file(server):
    fw, port, proc = server
    head, tail = form_head(64 << 20)
    fds0 = deleted_fds(proc.pid)
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"POST /up HTTP/1.1\r\nhost: t\r\ncontent-type: multipart/form-data; boundary=" + BND +
              b"\r\ncontent-length: " + str(len(head) + (64 << 20) + len(tail)).encode() + b"\r\n\r\n" + head)
    for i in range(16):
        s.sendall(pattern(i))
    deadline = time.time() + 10
    while deleted_fds(proc.pid) == fds0 and time.time() < deadline:
        time.sleep(0.02)
    assert deleted_fds(proc.pid) == fds0 + 1, fw  # the upload is on disk, not in memory
    s.close()
    deadline = time.time() + 10
    while deleted_fds(proc.pid) != fds0 and time.time() < deadline:
        time.sleep(0.05)
    assert deleted_fds(proc.pid) == fds0, fw
    assert httpx.get(f"http://127.0.0.1:{port}/ping", timeout=10).json() == "pong"


def chunked(path, body, step, ctype):
    """A request whose body goes in chunks of `step` bytes (each its own
    http.request message under uvicorn)."""
    out = [b"POST " + path + b" HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n"
           b"content-type: " + ctype + b"\r\nconnection: close\r\n\r\n"]
    for i in range(0, len(body), step):
        piece = body[i:i + step]
        out.append(b"%x\r\n%s\r\n" % (len(piece), piece))
    out.append(b"0\r\n\r\n")
    return out


def exchange(port, parts):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    for part in parts:
        s.sendall(part)
        time.sleep(0.001)  # separate segments: separate messages
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = sorted(line.lower() for line in lines[1:]
                     if not line.lower().startswith((b"date:", b"server:")))
    return lines[0], headers, body


FORM = (b"--" + BND + b'\r\nContent-Disposition: form-data; name="note"\r\n\r\nn\xc3\xa9\r\n'
        b"--" + BND + b'\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\n" + b"0123456789" * 50 + b"\r\n--" + BND + b"--\r\n")
CASES = [
    ("item", b"/item", b'{"name": "n\xc3\xa9", "tags": ["a", "b", "c"]}', b"application/json"),
    ("item-invalid", b"/item", b'{"name": 1, "tags": "x"}', b"application/json"),
    ("item-broken", b"/item", b'{"name": "x", "tags": [', b"application/json"),
    ("form", b"/up", FORM, b"multipart/form-data; boundary=" + BND),
    ("form-truncated", b"/up", FORM[:-30], b"multipart/form-data; boundary=" + BND),
    ("raw", b"/raw", bytes(range(256)) * 40, b"application/octet-stream"),
]


@pytest.mark.parametrize("step", [1, 7, 4096])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bodies_in_pieces_as_fastapi(both, case, step):
    _, path, body, ctype = case
    if step == 1 and len(body) > 2000:
        step = 3  # bounded: ~3,000 messages at most
    got = {fw: exchange(port, chunked(path, body, step, ctype)) for fw, port in both.items()}
    assert got["fastrapi"] == got["fastapi"]
    assert got["fastrapi"][0].startswith(b"HTTP/1.1 ")
