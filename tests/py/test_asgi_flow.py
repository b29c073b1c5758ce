"""Flow control on the ASGI face: fastrapi served by uvicorn (the app called
as an ASGI application), FastAPI under the same uvicorn beside it.

A client that stops reading pauses what produces its response, as
FastAPI's `await send` does: an `async` or a sync generator (its count of
pieces stops moving, well short of its end) and a FileResponse (the server
process holds about the engine's high-water mark of it, not the file).
Once the client leaves, the generator is closed (its finally runs) and the
file is closed. A client that reads gets every byte, identical.

Real uvicorn processes on 127.0.0.1, real sockets; every wait is bounded."""
import hashlib
import os
import socket
import time

import httpx
import pytest

from helpers import free_port, rss_kib, spawn, stop_spawned

PIECES = 2000  # 125 MiB of 64 KiB pieces: "endless" for a client that reads nothing
FILE_MB = 48

APP = '''
import os
from {fw} import FastAPI
from {fw}.responses import FileResponse, StreamingResponse

app = FastAPI()
PIECE = 65536
made = {{"sync": 0, "async": 0}}
closed = {{"sync": 0, "async": 0}}


@app.get("/count/{{kind}}")
async def count(kind: str):
    return {{"made": made[kind], "closed": closed[kind]}}


@app.get("/sync")
def sync_stream():
    def gen():
        try:
            for _ in range({pieces}):
                made["sync"] += 1
                yield b"s" * PIECE
        finally:
            closed["sync"] += 1
    return StreamingResponse(gen(), media_type="application/octet-stream")


@app.get("/async")
async def async_stream():
    async def gen():
        try:
            for _ in range({pieces}):
                made["async"] += 1
                yield b"a" * PIECE
        finally:
            closed["async"] += 1
    return StreamingResponse(gen(), media_type="application/octet-stream")


@app.get("/file")
def file():
    return FileResponse(os.environ["FLOW_FILE"], media_type="application/octet-stream")


import uvicorn
uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning")
'''


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("flow") / "big.bin")
    block = hashlib.sha256(b"flow").digest() * 2048  # 64 KiB, not one repeated byte
    with open(path, "wb") as f:
        for i in range(FILE_MB * 16):
            f.write(i.to_bytes(4, "big") + block[4:])
    return path


@pytest.fixture(scope="module", params=["fastapi", "fastrapi"])
def server(request, big_file):
    port = free_port()
    proc = spawn(APP.format(fw=request.param, pieces=PIECES, port=port), port, env={"FLOW_FILE": big_file})
    yield request.param, port, proc
    err = stop_spawned(proc)
    assert "Traceback" not in err, err


def stalled_client(port, path):
    """A client that sends GET path and then reads nothing but the status
    line (a 4 KiB receive buffer)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nhost: t\r\n\r\n")
    assert s.recv(12) == b"HTTP/1.1 200"
    return s


def counts(port, kind):
    return httpx.get(f"http://127.0.0.1:{port}/count/{kind}", timeout=10).json()


def settled(read, samples=15, step=0.05, bound=400):
    """read() once it has not changed for `samples` reads `step` s apart
    (at most `bound` reads): (value, settled?)."""
    last, still = None, 0
    for _ in range(bound):
        v = read()
        still = still + 1 if v == last else 0
        if still >= samples:
            return v, True
        last = v
        time.sleep(step)
    return last, False


def open_files(pid, path):
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}") == path
        except OSError:
            pass
    return n


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_generator_is_paused_then_closed(server, kind):
    """The generator stops producing while the client reads nothing (at
    most a few MiB ahead: the engine's high-water mark, uvicorn's and the
    kernel's buffers), on both, and is not closed meanwhile. Once the client
    leaves, fastrapi closes it (its finally runs) without running it to its
    end, as its native server does. FastAPI 0.165 on uvicorn 0.55 does
    neither (uvicorn's send() returns silently once the client is gone and
    Starlette, on ASGI spec 2.4, waits for it to raise): an async generator
    runs to its end, a sync one stays parked; that part is not compared."""
    name, port, _ = server
    before = counts(port, kind)
    s = stalled_client(port, "/" + kind)
    try:
        made, ok = settled(lambda: counts(port, kind)["made"])
        assert ok, (name, "still producing", made)
        ahead = made - before["made"]
        assert 0 < ahead < 200, (name, ahead)  # < 12.5 MiB of the 125
        assert counts(port, kind)["closed"] == before["closed"], name
    finally:
        s.close()
    if name == "fastapi":
        return
    after, ok = settled(lambda: counts(port, kind)["closed"], samples=5)
    assert ok and after == before["closed"] + 1, (name, after)
    assert counts(port, kind)["made"] - before["made"] < PIECES, name  # not run to its end


def test_file_is_paused_not_held_in_memory(server, big_file):
    """A 48 MiB FileResponse to a client that reads nothing: the server's
    memory grows by well under the file (FastAPI reads it as it sends; the
    ASGI face pauses the engine's reads at its high-water mark); the file
    is closed once the client leaves."""
    name, port, proc = server
    for _ in range(2):  # warm: the route, the response classes, the allocator
        assert httpx.get(f"http://127.0.0.1:{port}/count/sync", timeout=10).status_code == 200
    base = rss_kib(proc.pid)
    s = stalled_client(port, "/file")
    try:
        grown, ok = settled(lambda: rss_kib(proc.pid) - base)
        assert ok, (name, "still growing", grown)
        assert grown < 16 * 1024, (name, "KiB grown", grown)
    finally:
        s.close()
    n, ok = settled(lambda: open_files(proc.pid, big_file), samples=5)
    assert ok and n == 0, (name, "the file is still open", n)


def test_file_reader_gets_every_byte(server, big_file):
    """A client that stops reading for a while and then reads everything
    gets the file, byte for byte (the pause loses nothing)."""
    name, port, _ = server
    with open(big_file, "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()
    s = stalled_client(port, "/file")
    try:
        time.sleep(1.0)
        buf = b"HTTP/1.1 200"
        while b"\r\n\r\n" not in buf:
            d = s.recv(65536)
            assert d, name
            buf += d
        head, body = buf.split(b"\r\n\r\n", 1)
        size = FILE_MB << 20
        assert b"content-length: %d" % size in head.lower(), (name, head)
        h = hashlib.sha256(body)
        got = len(body)
        while got < size:
            d = s.recv(1 << 20)
            assert d, (name, "closed at", got)
            h.update(d)
            got += len(d)
        assert got == size and h.hexdigest() == want, name
    finally:
        s.close()


def test_stream_reader_gets_every_piece(server):
    """The same for a paused sync generator: every piece arrives, in order,
    after a stall (counted over the whole body, de-chunked by httpx)."""
    name, port, _ = server
    with httpx.stream("GET", f"http://127.0.0.1:{port}/sync", timeout=30) as r:
        assert r.status_code == 200
        chunks = r.iter_bytes(65536)
        total = len(next(chunks))
        time.sleep(1.0)
        for b in chunks:
            assert b.count(b"s") == len(b), name
            total += len(b)
    assert total == PIECES * 65536, (name, total)
