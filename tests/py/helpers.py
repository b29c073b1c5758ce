"""Shared helpers: run an app in a subprocess, raw HTTP, wait for ports."""
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=30.0, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"port {port} not listening")


def spawn(code, port, env=None):
    """Start `code` (python source that serves on `port`) in a subprocess."""
    e = dict(os.environ)
    e["PYTHONPATH"] = ROOT + os.pathsep + e.get("PYTHONPATH", "")
    e.update(env or {})
    proc = subprocess.Popen([sys.executable, "-c", code], env=e, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port, proc=proc)
    except Exception:
        proc.kill()
        out, err = proc.communicate(timeout=10)
        raise RuntimeError(f"server failed: {out}\n{err}")
    return proc


def stop_spawned(proc, timeout=20):
    """SIGINT to a spawn()ed server, then its stderr (killed after `timeout`
    seconds); the caller asserts on it."""
    proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[1]


def rss_kib(pid):
    """The resident memory of process pid, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_fds():
    """How many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


def wait_until(pred, timeout, interval=0.01):
    """Poll pred until it is true or timeout seconds passed (bounded);
    returns its last value."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(interval)
    return pred()


def deleted_fds(pid):
    """Open unlinked files (temp files) of process pid."""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if "(deleted)" in os.readlink(f"/proc/{pid}/fd/{fd}"):
                n += 1
        except OSError:
            pass
    return n


class PeakRss:
    """The highest RSS of process pid while the block runs (sampled every
    5 ms on a thread), in KiB."""

    def __init__(self, pid):
        self.pid, self.peak, self._stop = pid, rss_kib(pid), threading.Event()

    def _run(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_kib(self.pid))

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)
        self.peak = max(self.peak, rss_kib(self.pid))


def read_to_close(s):
    """Everything the peer sends on socket s until it closes."""
    chunks = []
    while True:
        b = s.recv(65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def raw_request(port, data, timeout=10.0):
    """Send raw bytes, return the whole response (until close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        return read_to_close(s)


# How a differential test serves one app on each framework: FastAPI on
# uvicorn, fastrapi on its native server.
SERVE = {
    "fastapi": ("import uvicorn\nuvicorn.run(app, host='127.0.0.1', port={port}, "
                "log_level='warning')\n"),
    "fastrapi": "app.serve('127.0.0.1', {port}, access_log=False)\n",
}


def serve_both(app_code, logs=None):
    """Generator for a pytest fixture: app_code(name) is python source that
    defines `app` for framework `name`; yields {name: port} while both
    servers run, then stops them and fails if fastrapi logged a traceback.
    With a `logs` dict, each server's stderr goes there instead and the
    caller checks it (an app whose errors are the point of the test)."""
    procs = {}
    try:
        for name in ("fastapi", "fastrapi"):
            port = free_port()
            procs[name] = (spawn(app_code(name) + SERVE[name].format(port=port), port), port)
        yield {name: port for name, (_, port) in procs.items()}
    finally:
        errs = {}
        for name, (proc, _) in procs.items():
            proc.send_signal(signal.SIGINT)
            try:
                errs[name] = proc.communicate(timeout=20)[1]
            except subprocess.TimeoutExpired:
                proc.kill()
                errs[name] = proc.communicate()[1]
    if logs is not None:
        logs.update(errs)
        return
    assert "Traceback" not in errs.get("fastrapi", ""), errs["fastrapi"]


class Uvicorn:
    """An ASGI app under uvicorn in a thread on 127.0.0.1:`port` (a free
    port). `config` goes to uvicorn.Config; the defaults are quiet, no
    lifespan, and proxy headers off (the native servers of these tests take
    the scheme and client from the socket too)."""

    def __init__(self, app, **config):
        import threading
        import uvicorn
        self.port = free_port()
        opts = dict(log_level="critical", lifespan="off", proxy_headers=False)
        opts.update(config)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, **opts))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        for _ in range(400):
            if self.server.started:
                return
            time.sleep(0.025)
        raise RuntimeError("uvicorn did not start")

    def close(self):
        self.server.should_exit = True
        self.thread.join(10)


@contextlib.contextmanager
def access_log_records():
    """The messages of the "fastrapi.access" logger (set to INFO) while the
    block runs, in a list that fills as they come."""
    records = []

    class H(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    lg = logging.getLogger("fastrapi.access")
    h = H()
    old = lg.level
    lg.addHandler(h)
    lg.setLevel(logging.INFO)
    try:
        yield records
    finally:
        lg.removeHandler(h)
        lg.setLevel(old)


def assert_paused_then_closed(port, request, closed, path):
    """A client that sends `request` and reads nothing more than the status
    line (a 4 KiB receive buffer): the endless producer behind `path` is
    paused -- closed["pieces"][path] (its count of pieces made) stops
    moving, well under 200 -- and not closed (closed[path], an Event set by
    its finally); once the client leaves, it is closed."""
    import time
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    try:
        sock.sendall(request)
        assert sock.recv(64).startswith(b"HTTP/1.1 200")
        last, still = -1, 0
        for _ in range(500):  # until the producer stops producing
            n = closed["pieces"][path]
            still = still + 1 if n == last else 0
            if still >= 20:
                break
            last = n
            time.sleep(0.01)
        assert still >= 20 and 0 < closed["pieces"][path] < 200
        assert not closed[path].is_set()
    finally:
        sock.close()
    assert closed[path].wait(10)


@contextlib.contextmanager
def served(app, kind, **testclient_options):
    """A client for `app` as one side of a differential test: "fastapi" /
    "fastrapi" -- that framework's TestClient (`testclient_options` go to
    it); "native" -- fastrapi's native server on 127.0.0.1 and httpx;
    "uvicorn" (or any kind ending with it) -- the app under uvicorn and
    httpx. The server stops when the block ends."""
    import httpx
    stop = None
    if kind == "native":
        server = app._start_background("127.0.0.1", 0)
        stop = server.stop
    elif kind.endswith("uvicorn"):
        server = Uvicorn(app)
        stop = server.close
    if stop is not None:
        client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
    elif kind == "fastapi":
        from fastapi.testclient import TestClient
        client = TestClient(app, **testclient_options)
    else:
        from fastrapi.testclient import TestClient
        client = TestClient(app, **testclient_options)
    try:
        yield client
    finally:
        client.close()
        if stop is not None:
            stop()
