"""Many websockets in one process, without a thread per connection.

N idle websockets are opened on one server process, then ONE message is
broadcast to all of them; every client must get it, exactly, and the
server's thread count (/proc/<pid>/status Threads:) must not change while
the N sockets open and the broadcast goes out. Two servers:

  c        examples/c/chat.c (fr_poll game loop: ONE thread serves all),
           subscribers on GET /state, POST /broadcast -> fr_ws_broadcast
  python   a FastAPI-style app on fastrapi's native server: an
           @app.websocket endpoint keeps its sockets in a set, a POST route
           awaits send_text on each (the usual FastAPI broadcast idiom)

The client side is one thread too: raw non-blocking sockets multiplexed
with `selectors` (epoll). RSS per connection is printed, never asserted.
CI opens 2,000 sockets per server (raising RLIMIT_NOFILE towards what
that needs; fewer, with a message, when the hard limit is lower); the
10,000 version is `python3 bench/bench_ws.py --scale 10000` (this file's
main()). Every loop is bounded by a deadline.
"""
import base64
import json
import os
import re
import selectors
import socket
import struct
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from cbuild import BUILD, ROOT, WARN, ahead, compile_c  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "bench"))
from _common import raise_nofile  # noqa: E402  (the benches' one)

CI_CONNECTIONS = 2000
DEADLINE = 120.0  # seconds for any one phase (never reached when things work)
KEY = base64.b64encode(b"0123456789abcdef").decode()

PY_APP = r'''
import sys
from fastrapi import FastAPI, Request, WebSocket, WebSocketDisconnect

app = FastAPI()
subs = set()


@app.websocket("/state")
async def state(websocket: WebSocket):
    await websocket.accept()
    subs.add(websocket)
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        subs.discard(websocket)


@app.get("/subscribers")
async def subscribers():
    return {"state": len(subs)}


@app.post("/broadcast")
async def broadcast(request: Request):
    text = (await request.body()).decode()
    sent = 0
    for ws in list(subs):
        try:
            await ws.send_text(text)
            sent += 1
        except Exception:
            pass
    return {"sent": sent}


if __name__ == "__main__":
    port, conns = int(sys.argv[1]), int(sys.argv[2])
    print("listening on http://127.0.0.1:%d" % port, flush=True)
    app.serve("127.0.0.1", port, threads=2, access_log=False, limit_concurrency=conns)
'''


# ---------------------------------------------------------------- limits and /proc

def usable_connections(want):
    """How many websockets this machine lets us open (client and server are
    separate processes with one fd per socket each, plus some slack)."""
    soft = raise_nofile(want + 200)
    return min(want, soft - 200)


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return {"threads": int(out["Threads"]), "rss": int(out["VmRSS"].split()[0]) * 1024}


# ---------------------------------------------------------------- plain HTTP

def http(port, method, path, body=b""):
    req = ("%s %s HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
           % (method, path, len(body))).encode() + body
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as s:
        s.sendall(req)
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    head, _, payload = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, payload


def http_json(port, method, path, body=b""):
    status, payload = http(port, method, path, body)
    assert status == 200, (status, payload)
    return json.loads(payload)


# ---------------------------------------------------------------- many clients, one thread

class Clients:
    """N websocket clients in this thread: non-blocking sockets + epoll."""

    def __init__(self, port, path):
        self.port, self.path = port, path
        self.socks = []
        self.sel = selectors.DefaultSelector()

    def open(self, n, batch=250):
        """Open n websockets (handshakes in batches of `batch` in flight)."""
        request = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n" % (self.path, KEY)).encode()
        deadline = time.monotonic() + DEADLINE
        while len(self.socks) < n:
            pending = {}
            for _ in range(min(batch, n - len(self.socks) - len(pending))):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", self.port))
                pending[s.fileno()] = [s, b"", False]
                self.sel.register(s, selectors.EVENT_WRITE)
            while pending:
                assert time.monotonic() < deadline, "handshakes did not finish"
                for key, _ in self.sel.select(1.0):
                    st = pending[key.fd]
                    s = st[0]
                    if not st[2]:
                        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        assert err == 0, os.strerror(err)
                        assert s.send(request) == len(request)
                        st[2] = True
                        self.sel.modify(s, selectors.EVENT_READ)
                        continue
                    b = s.recv(4096)
                    assert b, "closed during the handshake"
                    st[1] += b
                    if b"\r\n\r\n" in st[1]:
                        head, _, rest = st[1].partition(b"\r\n\r\n")
                        assert head.startswith(b"HTTP/1.1 101 "), head
                        assert rest == b"", rest  # nothing is sent before the broadcast
                        self.sel.unregister(s)
                        del pending[key.fd]
                        self.socks.append(s)
        return self

    def receive_one_each(self, want):
        """Every socket must get exactly one unmasked text frame `want`."""
        bufs = {s.fileno(): b"" for s in self.socks}
        done = {}
        for s in self.socks:
            self.sel.register(s, selectors.EVENT_READ)
        deadline = time.monotonic() + DEADLINE
        try:
            while len(done) < len(self.socks):
                assert time.monotonic() < deadline, "%d of %d got the broadcast" % (
                    len(done), len(self.socks))
                for key, _ in self.sel.select(1.0):
                    b = key.fileobj.recv(65536)
                    assert b, "a client was closed instead of getting the broadcast"
                    buf = bufs[key.fd] + b
                    bufs[key.fd] = buf
                    payload = _frame(buf)
                    if payload is not None:
                        done[key.fd] = payload
                        self.sel.unregister(key.fileobj)
        finally:
            for s in self.socks:
                if s.fileno() not in done:
                    self.sel.unregister(s)
        bad = [p for p in done.values() if p != want]
        assert not bad, "%d clients got something else, e.g. %r" % (len(bad), bad[0][:80])
        return len(done)

    def close(self):
        for s in self.socks:
            s.close()
        self.socks = []
        self.sel.close()


def _frame(buf):
    """The payload of one complete unmasked FIN text frame (nothing after it),
    or None while incomplete."""
    if len(buf) < 2:
        return None
    assert buf[0] == 0x81, "not a FIN text frame: %r" % buf[:2]
    assert buf[1] & 0x80 == 0, "a server frame must not be masked"
    n, off = buf[1] & 0x7F, 2
    if n == 126:
        if len(buf) < 4:
            return None
        n, off = struct.unpack("!H", buf[2:4])[0], 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n, off = struct.unpack("!Q", buf[2:10])[0], 10
    if len(buf) < off + n:
        return None
    assert len(buf) == off + n, "more than one message"
    return buf[off:off + n]


# ---------------------------------------------------------------- servers

class Proc:
    def __init__(self, argv, env=None):
        self.out = tempfile.TemporaryFile()
        e = dict(os.environ)
        e["PYTHONPATH"] = ROOT + os.pathsep + e.get("PYTHONPATH", "")
        e.update(env or {})
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT, env=e)
        deadline = time.monotonic() + 60
        while True:
            self.out.seek(0)
            m = re.search(rb"listening on http://127\.0\.0\.1:(\d+)", self.out.read())
            assert self.proc.poll() is None, self.output()
            if m and int(m.group(1)):
                self.port = int(m.group(1))
                break
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.05)
        while True:  # the Python server prints before it listens
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                assert self.proc.poll() is None and time.monotonic() < deadline, self.output()
                time.sleep(0.05)

    def output(self):
        self.out.seek(0)
        return self.out.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)


def build_chat():
    src = os.path.join(ROOT, "examples", "c", "chat.c")
    return compile_c(os.path.join(BUILD, "examples", "chat"), [src], ["-O2"] + WARN + ["-I", ROOT],
                     deps=[os.path.join(ROOT, "fastrapi.h")], libs=["-lpthread", "-lm"])


ahead(build_chat)


def start(kind, conns):
    if kind == "c":
        return Proc([build_chat(), "0"], {"CHAT_TICK_MS": "0", "FR_MAX_CONNECTIONS": str(conns)})
    path = os.path.join(tempfile.mkdtemp(prefix="fr-ws-scale-"), "scale_app.py")
    with open(path, "w") as f:
        f.write(PY_APP)
    from helpers import free_port
    return Proc([sys.executable, path, str(free_port()), str(conns)])


def run_scale(kind, n, report=print):
    """Open n idle websockets on a `kind` server, broadcast one message, check
    every client got it and that the server's threads did not grow. Returns
    a dict of measurements."""
    srv = start(kind, n + 64)
    warm = None
    try:
        pid = srv.proc.pid
        # warm up: a few sockets and one broadcast, so pools exist before we count
        warm = Clients(srv.port, "/state").open(8)
        _wait_subscribers(srv.port, 8)
        assert http_json(srv.port, "POST", "/broadcast", b"warm") == {"sent": 8}
        assert warm.receive_one_each(b"warm") == 8
        warm.close()
        _wait_subscribers(srv.port, 0)
        before = proc_status(pid)
        t0 = time.monotonic()
        clients = Clients(srv.port, "/state").open(n)
        t_open = time.monotonic() - t0
        try:
            _wait_subscribers(srv.port, n)
            opened = proc_status(pid)
            msg = ("tick %d: " % n).encode() + b"x" * 100
            t0 = time.monotonic()
            got = http_json(srv.port, "POST", "/broadcast", msg)
            assert got == {"sent": n}, got
            received = clients.receive_one_each(msg)
            t_bcast = time.monotonic() - t0
            after = proc_status(pid)
        finally:
            clients.close()
        assert srv.proc.poll() is None, srv.output()
        out = {"kind": kind, "n": n, "received": received, "threads": before["threads"],
               "threads_open": opened["threads"], "threads_after": after["threads"],
               "rss_per_conn": (opened["rss"] - before["rss"]) / n,
               "rss_mb": opened["rss"] / 2**20, "open_s": t_open, "broadcast_s": t_bcast}
        report("%-6s %6d websockets: all %d got the broadcast; threads %d -> %d -> %d; "
               "RSS %.1f MB, %.1f KB per connection; open %.2fs, broadcast+receive %.3fs"
               % (kind, n, received, out["threads"], out["threads_open"], out["threads_after"],
                  out["rss_mb"], out["rss_per_conn"] / 1024, t_open, t_bcast))
        return out
    finally:
        if warm is not None:
            warm.close()
        srv.stop()


def _wait_subscribers(port, n):
    deadline = time.monotonic() + DEADLINE
    while True:
        got = http_json(port, "GET", "/subscribers")["state"]
        if got == n:
            return
        assert time.monotonic() < deadline, "%d subscribers, want %d" % (got, n)
        time.sleep(0.05)


@pytest.mark.parametrize("kind", ["c", "python"])
def test_many_idle_websockets_and_one_broadcast(kind):
    n = usable_connections(CI_CONNECTIONS)
    if n < CI_CONNECTIONS:
        print("RLIMIT_NOFILE allows only %d websockets (wanted %d)" % (n, CI_CONNECTIONS))
    assert n >= 100, "RLIMIT_NOFILE is too low to test anything"
    out = run_scale(kind, n)
    assert out["received"] == n
    # no thread per connection: the same threads before, with n open, after the broadcast
    assert out["threads_open"] == out["threads"], out
    assert out["threads_after"] == out["threads"], out


def test_broadcast_reaches_nobody_when_no_one_listens():
    """The trigger itself: an empty room broadcasts to 0 (the C example)."""
    srv = start("c", 64)
    try:
        assert http_json(srv.port, "POST", "/broadcast", b"x") == {"sent": 0}
        status, body = http(srv.port, "POST", "/broadcast", b"\xff\xfe")
        assert status == 400 and b"UTF-8" in body
    finally:
        assert srv.stop() == 0


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--servers", default="c,python")
    a = ap.parse_args(argv)
    n = usable_connections(a.n)
    if n < a.n:
        print("RLIMIT_NOFILE allows only %d websockets (wanted %d)" % (n, a.n))
    return [run_scale(k, n) for k in a.servers.split(",")]


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    main()
