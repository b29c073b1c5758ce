"""FileResponse goes out through the engine's sendfile path (fr_res_file):
same headers and bytes as FastAPI's, HEAD without a body, background tasks
after the file, no fd left open, errors as 500."""
import os
import socket
import threading
import time

from fastapi.testclient import TestClient as FastAPIClient

from fastrapi import FastrAPI, BackgroundTasks
from fastrapi.responses import FileResponse
from fastrapi.testclient import TestClient


def _fds():
    return len(os.listdir("/proc/self/fd"))


def _make(fw_app, FileResponseCls, path):
    @fw_app.get("/f")
    def f():
        return FileResponseCls(path, filename="data.bin")

    @fw_app.get("/fa")
    async def fa():
        return FileResponseCls(path, media_type="text/plain")

    @fw_app.get("/named")
    def named():
        return FileResponseCls(path, filename="résumé.txt")
    return fw_app


def test_file_bytes_and_headers_match_fastapi(tmp_path):
    import fastapi
    from fastapi.responses import FileResponse as FastAPIFile
    data = os.urandom(5 * 1024 * 1024 + 17)
    p = tmp_path / "data.bin"
    p.write_bytes(data)
    ours = _make(FastrAPI(), FileResponse, p)
    theirs = _make(fastapi.FastAPI(), FastAPIFile, p)
    with TestClient(ours) as a, FastAPIClient(theirs) as b:
        for url in ("/f", "/fa", "/named"):
            ra, rb = a.get(url), b.get(url)
            assert ra.status_code == rb.status_code == 200
            assert ra.content == rb.content == data
            for h in ("content-length", "content-type", "content-disposition", "etag",
                      "last-modified", "accept-ranges"):
                assert ra.headers.get(h) == rb.headers.get(h), (url, h)


def test_head_sends_headers_only_and_keeps_connection(tmp_path):
    p = tmp_path / "d.bin"
    p.write_bytes(b"z" * 100000)
    app = FastrAPI()

    @app.api_route("/f", methods=["GET", "HEAD"])
    def f():
        return FileResponse(p)

    with TestClient(app) as c:
        r = c.head("/f")
        assert r.status_code == 200
        assert r.headers["content-length"] == "100000"
        assert r.content == b""
        assert c.get("/f").content == b"z" * 100000


def test_background_task_runs_after_file_and_no_fd_leak(tmp_path):
    p = tmp_path / "d.bin"
    p.write_bytes(b"q" * 300000)
    done = []
    app = FastrAPI()

    @app.get("/f")
    def f(bg: BackgroundTasks):
        bg.add_task(done.append, 1)
        return FileResponse(p)

    @app.get("/missing")
    def missing():
        return FileResponse(tmp_path / "nope")

    with TestClient(app, raise_server_exceptions=False) as c:
        c.get("/f")  # warm up threads and sockets before counting
        deadline = time.time() + 10
        while len(done) < 1 and time.time() < deadline:
            time.sleep(0.01)
        base = _fds()
        for _ in range(50):
            assert c.get("/f").content == b"q" * 300000
        assert c.get("/missing").status_code == 500
        deadline = time.time() + 10
        while len(done) < 51 and time.time() < deadline:
            time.sleep(0.01)
        assert len(done) == 51
        assert _fds() <= base + 2  # the engine closed every file fd


def test_client_leaving_mid_file_leaks_nothing(tmp_path):
    p = tmp_path / "big.bin"
    p.write_bytes(b"b" * (8 * 1024 * 1024))
    app = FastrAPI()

    @app.get("/f")
    def f():
        return FileResponse(p)

    ready = threading.Event()
    port_box = []

    def run():
        import socket as s
        sock = s.socket()
        sock.bind(("127.0.0.1", 0))
        port_box.append(sock.getsockname()[1])
        sock.close()
        ready.set()
        app.serve("127.0.0.1", port_box[0], access_log=False)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    ready.wait(10)
    port = port_box[0]
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    base = _fds()
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"GET /f HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
        s.close()  # leave with most of the file unsent
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /f HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    got = b""
    while True:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        got += chunk
    s.close()
    assert got.endswith(b"b" * 1000) and len(got.split(b"\r\n\r\n", 1)[1]) == 8 * 1024 * 1024
    deadline = time.time() + 10
    while _fds() > base + 1 and time.time() < deadline:
        time.sleep(0.05)
    assert _fds() <= base + 1
    app.stop()
    t.join(10)
    assert not t.is_alive()
