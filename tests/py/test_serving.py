"""Serving: real sockets, documented usage, threads, several apps, signals, workers."""
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from helpers import ROOT, access_log_records, free_port, raw_request, spawn, wait_port

import fastrapi
from fastrapi import FastrAPI


def test_documented_usage_example_in_subprocess():
    port = free_port()
    src = open(os.path.join(ROOT, "examples/python/hello.py")).read().replace("8080", str(port))
    proc = spawn(src, port)
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/hello")
        r = c.getresponse()
        assert r.status == 200
        assert r.getheader("content-type") == "application/json"
        assert r.read() == b'{"message":"world"}'
        c.request("GET", "/ahello")
        assert c.getresponse().read() == b'{"message":"world"}'
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "INFO:     fastrapi running on http://127.0.0.1:%d (Press CTRL+C to quit)" % port in err


def test_sigterm_stops_cleanly_and_runs_shutdown():
    port = free_port()
    code = f"""
from fastrapi import FastrAPI
app = FastrAPI()
@app.on_event("shutdown")
def bye():
    print("shutdown-ran", flush=True)
@app.get("/x")
def x():
    return 1
app.serve("127.0.0.1", {port}, access_log=False)
"""
    proc = spawn(code, port)
    assert httpx.get(f"http://127.0.0.1:{port}/x").json() == 1
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "shutdown-ran" in out


def test_serve_from_background_thread_and_two_apps():
    a, b = FastrAPI(), FastrAPI()

    @a.get("/who")
    def who_a():
        return "a"

    @b.get("/who")
    def who_b():
        return "b"

    pa, pb = free_port(), free_port()
    ta = threading.Thread(target=a.serve, args=("127.0.0.1", pa), kwargs={"access_log": False})
    tb = threading.Thread(target=b.serve, args=("127.0.0.1", pb), kwargs={"access_log": False})
    ta.start()
    tb.start()
    try:
        wait_port(pa)
        wait_port(pb)
        assert httpx.get(f"http://127.0.0.1:{pa}/who").json() == "a"
        assert httpx.get(f"http://127.0.0.1:{pb}/who").json() == "b"
    finally:
        a.stop()
        b.stop()
        ta.join(20)
        tb.join(20)
    assert not ta.is_alive() and not tb.is_alive()


def test_workers_fork_processes_on_one_port():
    port = free_port()
    code = f"""
import os
from fastrapi import FastrAPI
app = FastrAPI()
@app.get("/pid")
def pid():
    return os.getpid()
app.serve("127.0.0.1", {port}, workers=2, access_log=False)
"""
    proc = spawn(code, port)
    try:
        pids = set()
        deadline = time.time() + 20
        while len(pids) < 2 and time.time() < deadline:
            with httpx.Client() as c:  # new connection each time
                pids.add(c.get(f"http://127.0.0.1:{port}/pid").json())
        assert len(pids) == 2
        assert proc.pid not in pids
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_workers_requires_fixed_port():
    app = FastrAPI()
    with pytest.raises(ValueError):
        app.serve("127.0.0.1", 0, workers=2)


def test_raw_http_keepalive_pipelining_and_404_405():
    app = FastrAPI()

    @app.get("/a")
    def a():
        return {"a": 1}

    run = app._start_background()
    try:
        resp = raw_request(run.port, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                                     b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
                                     b"HEAD /a HTTP/1.1\r\nHost: x\r\n\r\n"
                                     b"GET /zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert resp.count(b"HTTP/1.1 200 OK") == 1
        assert resp.count(b"HTTP/1.1 405") == 2  # FastAPI: HEAD on a GET-only route is 405
        assert b'{"detail":"Method Not Allowed"}' in resp
        assert b"allow: GET" in resp.lower() or b"allow: GET" in resp
        assert resp.endswith(b'{"detail":"Not Found"}')
        # malformed request line: engine answers 400, server keeps serving
        bad = raw_request(run.port, b"BLAH\r\n\r\n")
        assert bad.startswith(b"HTTP/1.1 400")
        assert httpx.get(f"http://127.0.0.1:{run.port}/a").json() == {"a": 1}
    finally:
        run.stop()


def test_access_log_through_logging():
    app = FastrAPI()

    @app.get("/logged")
    def logged():
        return 1

    with access_log_records() as records:
        run = app._start_background(access_log=True)
        try:
            httpx.get(f"http://127.0.0.1:{run.port}/logged?x=1")
            deadline = time.time() + 10
            while not any("/logged" in r for r in records) and time.time() < deadline:
                time.sleep(0.05)
        finally:
            run.stop()
    line = next(r for r in records if "/logged" in r)
    assert '"GET /logged?x=1 HTTP/1.1" 200' in line
    assert line.startswith("127.0.0.1:")


def test_two_io_threads_serve_every_kind_of_route():
    from fastrapi.responses import StreamingResponse
    app = FastrAPI()

    @app.get("/s/{i}")
    def s(i: int, q: str = "d"):
        return {"i": i, "q": q}

    @app.get("/a")
    async def a():
        return "async"

    @app.get("/st")
    def st():
        return StreamingResponse(iter([b"a", b"b"]))

    @app.get("/boom")
    def boom():
        raise RuntimeError("x")

    run = app._start_background(threads=2)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{run.port}") as c:
            for i in range(200):
                assert c.get(f"/s/{i}?q=z").json() == {"i": i, "q": "z"}
            assert c.get("/s/x").status_code == 422
            assert c.get("/a").json() == "async"
            assert c.get("/st").content == b"ab"
            assert c.get("/boom").status_code == 500
            assert c.get("/s/1").status_code == 200
    finally:
        run.stop()


def test_port_in_use_is_a_clear_error():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    app = FastrAPI()
    try:
        with pytest.raises(OSError, match=str(port)):
            app._start_background("127.0.0.1", port)
    finally:
        s.close()
