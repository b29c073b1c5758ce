"""Production behaviour of the native server, from the outside (subprocesses,
raw sockets, real signals):

- graceful stop: SIGTERM answers the request in flight with
  "connection: close" and closes an idle keep-alive connection with a FIN
  (no reset);
- workers=N (fastrapi._workers): a worker killed with SIGKILL under load is
  logged and replaced and requests keep succeeding; SIGHUP replaces every
  worker one by one under load without one failed request; SIGTERM drains
  all (the request in flight is answered) and the master exits 0; a worker
  whose startup fails stops the master with exit code 3.

Load is bounded (a fixed number of client threads, each stopping on a flag
or after a fixed number of requests); every wait has a deadline."""
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from helpers import ROOT, free_port, wait_port

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and fork")

APP = """\
import os, time
from fastrapi import FastrAPI
app = FastrAPI()

@app.get("/pid")
def pid():
    return os.getpid()

@app.get("/slow")
def slow(marker: str = ""):
    if marker:
        open(marker, "w").close()
    time.sleep(1.0)
    return "slow"
"""


class Proc:
    def __init__(self, code, port, tmp_path):
        self.port = port
        self.log = tmp_path / f"server-{port}.log"
        self._f = open(self.log, "w")
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=self._f,
                                     stderr=subprocess.STDOUT)
        try:
            wait_port(port, timeout=30, proc=self.proc)
        except Exception:
            self.kill()
            raise AssertionError("server did not start:\n" + self.text())

    def text(self):
        return self.log.read_text()

    def wait_log(self, pattern, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.text())
            if m:
                return m
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} in the log:\n" + self.text())

    def stop(self, sig=signal.SIGTERM, timeout=40):
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self.kill()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._f.close()


def get(port, path="/pid", timeout=10):
    """One request on a new connection (closed after it, as nginx does upstream)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path, headers={"Connection": "close"})
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            raise AssertionError(f"status {r.status}: {body!r}")
        return body
    finally:
        c.close()


class Load:
    """`clients` threads sending GET /pid until stopped (at most `limit` each)."""

    def __init__(self, port, clients=4, limit=3000):
        self.port = port
        self.results = []  # (ok, pid or error text), in completion order
        self.lock = threading.Lock()
        self.stop_flag = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(limit,), daemon=True)
                        for _ in range(clients)]
        for t in self.threads:
            t.start()

    def _run(self, limit):
        for _ in range(limit):
            if self.stop_flag.is_set():
                return
            try:
                item = (True, int(get(self.port)))
            except Exception as e:  # noqa: BLE001 -- any failure is counted
                item = (False, repr(e))
            with self.lock:
                self.results.append(item)

    def count(self):
        with self.lock:
            return len(self.results)

    def wait_more(self, n, timeout=30):
        target = self.count() + n
        deadline = time.monotonic() + timeout
        while self.count() < target and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.count() >= target, "the load made no progress"

    def finish(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(30)
        assert not any(t.is_alive() for t in self.threads)
        return self.results


def worker_pids(port, want, timeout=30):
    pids = set()
    deadline = time.monotonic() + timeout
    while len(pids) < want and time.monotonic() < deadline:
        pids.add(int(get(port)))
    assert len(pids) == want, pids
    return pids


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purpose
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return False


def wait_gone(pid, timeout=30):
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def serve_code(port, workers=1, extra=""):
    return APP + textwrap.dedent(extra) + (
        f'\napp.serve("127.0.0.1", {port}, workers={workers}, access_log=False)\n')


# ---- graceful stop, one process

def _read_response(sock):
    """One content-length framed response; raises on reset or early EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        b = sock.recv(65536)
        if not b:
            raise AssertionError(f"EOF before a response: {data!r}")
        data += b
    head, _, body = data.partition(b"\r\n\r\n")
    n = int(re.search(rb"content-length: (\d+)", head).group(1))
    while len(body) < n:
        b = sock.recv(65536)
        if not b:
            raise AssertionError("EOF inside the body")
        body += b
    return head.decode("latin-1"), body


def test_sigterm_in_flight_gets_connection_close_idle_gets_fin(tmp_path):
    port = free_port()
    p = Proc(serve_code(port), port, tmp_path)
    marker = tmp_path / "slow-started"
    idle = socket.create_connection(("127.0.0.1", port), timeout=10)
    busy = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        idle.sendall(b"GET /pid HTTP/1.1\r\nHost: h\r\n\r\n")
        head, _ = _read_response(idle)
        assert "connection: close" not in head  # kept alive, now idle
        busy.sendall(b"GET /slow?marker=" + str(marker).encode() + b" HTTP/1.1\r\nHost: h\r\n\r\n")
        deadline = time.monotonic() + 20
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists()
        p.proc.send_signal(signal.SIGTERM)
        assert idle.recv(100) == b""  # FIN, not ConnectionResetError
        head, body = _read_response(busy)
        assert head.startswith("HTTP/1.1 200")
        assert "connection: close" in head
        assert body == b'"slow"'
        assert busy.recv(100) == b""
        assert p.proc.wait(30) == 0, p.text()
    finally:
        idle.close()
        busy.close()
        p.kill()


# ---- workers

def test_worker_killed_is_restarted_and_requests_keep_succeeding(tmp_path):
    port = free_port()
    p = Proc(serve_code(port, workers=2), port, tmp_path)
    load = None
    try:
        old = worker_pids(port, 2)
        victim = min(old)
        load = Load(port, clients=4)
        load.wait_more(100)
        os.kill(victim, signal.SIGKILL)
        p.wait_log(rf"Child process \[{victim}\] died")
        deadline = time.monotonic() + 30
        new = set()
        while not new and time.monotonic() < deadline:
            load.wait_more(20)
            with load.lock:
                new = {v for ok, v in load.results if ok} - old
        assert new, "no replacement worker answered"
        mark = load.count()
        load.wait_more(200)
        results = load.finish()
        load = None
        after = results[mark:]
        assert all(ok for ok, _ in after), [r for r in after if not r[0]][:5]
        failures = [v for ok, v in results if not ok]
        # only what was in flight on the killed worker: one request per client at most
        assert len(failures) <= 4, failures
        assert not alive(victim)
        assert {v for _, v in after} <= (old - {victim}) | new
        assert len(re.findall(r"Started server process", p.text())) == 3
    finally:
        if load:
            load.finish()
        assert p.stop() == 0, p.text()


def test_sighup_replaces_workers_without_a_failed_request(tmp_path):
    port = free_port()
    p = Proc(serve_code(port, workers=2), port, tmp_path)
    load = None
    try:
        old = worker_pids(port, 2)
        load = Load(port, clients=4)
        load.wait_more(100)
        p.proc.send_signal(signal.SIGHUP)
        p.wait_log(r"Received SIGHUP, restarting processes")
        for pid in old:
            p.wait_log(rf"Waiting for child process \[{pid}\]")
            assert wait_gone(pid), f"old worker {pid} still running"
        mark = load.count()
        load.wait_more(200)
        results = load.finish()
        load = None
        failures = [v for ok, v in results if not ok]
        assert failures == []
        served_after = {v for _, v in results[mark:]}
        assert served_after and not served_after & old  # only new workers now
        assert "died" not in p.text()
    finally:
        if load:
            load.finish()
        assert p.stop() == 0, p.text()


def test_sigterm_drains_all_workers_and_exits_cleanly(tmp_path):
    port = free_port()
    p = Proc(serve_code(port, workers=2), port, tmp_path)
    kids = worker_pids(port, 2)
    marker = tmp_path / "slow-started"
    got = {}

    def slow():
        try:
            got["body"] = get(port, f"/slow?marker={marker}", timeout=30)
        except Exception as e:  # noqa: BLE001
            got["error"] = repr(e)

    t = threading.Thread(target=slow)
    t.start()
    deadline = time.monotonic() + 20
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.exists()
    rc = p.stop(signal.SIGTERM)
    t.join(30)
    assert rc == 0, p.text()
    assert got == {"body": b'"slow"'}  # the request in flight was answered
    for k in kids:
        assert wait_gone(k), f"worker {k} left behind"
    text = p.text()
    assert "Received SIGTERM, exiting." in text
    assert re.search(rf"Stopping parent process \[{p.proc.pid}\]", text)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


@pytest.mark.parametrize("workers", [1, 2])
def test_failing_startup_exits_3(tmp_path, workers):
    """uvicorn's STARTUP_FAILURE: one process (app.serve(), like uvicorn.run)
    logs the traceback and "Application startup failed. Exiting." and exits
    with code 3 (it exited 1 with a bare traceback); with workers, a worker
    that fails to start stops the master, also with code 3."""
    port = free_port()
    code = serve_code(port, workers=workers, extra="""
        @app.on_event("startup")
        def boom():
            raise RuntimeError("startup boom")
        """)
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert "startup boom" in proc.stderr
    assert "Application startup failed. Exiting." in proc.stderr
    if workers > 1:
        assert "failed to start" in proc.stderr and "stopping the parent process" in proc.stderr


def test_sigttin_sigttou_add_and_remove_a_worker(tmp_path):
    port = free_port()
    p = Proc(serve_code(port, workers=2), port, tmp_path)
    try:
        old = worker_pids(port, 2)
        p.proc.send_signal(signal.SIGTTIN)
        p.wait_log(r"Received SIGTTIN, increasing the number of processes")
        three = worker_pids(port, 3)
        assert old < three
        p.proc.send_signal(signal.SIGTTOU)
        m = p.wait_log(r"Received SIGTTOU, decreasing number of processes\.\n"
                       r".*Terminated child process \[(\d+)\]")
        retired = int(m.group(1))
        assert retired in three and wait_gone(retired)
        assert {int(get(port)) for _ in range(30)} <= three - {retired}
    finally:
        assert p.stop() == 0, p.text()
