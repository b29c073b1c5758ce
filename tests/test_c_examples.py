"""Live tests of the C examples (examples/c/*.c) over real sockets.

The examples are compiled once per session (cached in build/examples/), then
started with port 0 on 127.0.0.1 (they print the port the kernel chose). Requests go through raw sockets (to control
every byte: pipelining, split reads, smuggling attempts, slow clients),
http.client and httpx.

  hello  GET /hello, GET /users/{id:int}
  todo   in-memory REST API; its limits/timeouts come from FR_* env vars, and
         GET /slow?ms=N answers from another thread (a deferred response)
  poll   served from a host main loop with fr_poll()
  chat   WebSockets (echo, chat room, game-state broadcast): built here, tested
         in tests/test_ws_live.py
  upload a file drop: big PUT bodies spooled to a temp file by the engine
         (fr_route_opts.body_spool), a POST whose body is dropped (body_drop)

The test_sanitized_* tests replay most scenarios against ASan+UBSan builds
(any report, leak or non-zero exit fails them). FR_LIVE_SANITIZE=1 runs the
whole module against those builds instead; FR_LIVE_INCLUDE=DIR takes
fastrapi.h from DIR for the sanitized builds (to try a patched header).
Every socket has a timeout and every loop is bounded.
"""
import http.client
import json
import os
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import warnings

import httpx
import pytest

from cbuild import BUILD, ROOT, SAN, WARN, ahead, build_example, compile_c

IO_TIMEOUT = 10.0  # seconds, for every socket operation
START_TIMEOUT = 20.0
STOP_TIMEOUT = 20.0
HELLO_BODY = b'{"message":"Hello World"}'

# 500+ simultaneous sockets need file descriptors (inherited by the servers).
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if _soft != resource.RLIM_INFINITY and _soft < 4096:
    _want = 4096 if _hard == resource.RLIM_INFINITY else min(4096, _hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (_want, _hard))


# --------------------------------------------------------------------------
# building and running the examples

def _build(name):
    if os.environ.get("FR_LIVE_SANITIZE") == "1":
        inc = os.environ.get("FR_LIVE_INCLUDE", ROOT)  # to try another fastrapi.h
        out = os.path.join(BUILD, "examples-asan", name)
        src = os.path.join(ROOT, "examples", "c", name + ".c")
        return compile_c(out, [src], ["-O1", "-g"] + SAN + WARN + ["-I", inc],
                         deps=[os.path.join(inc, "fastrapi.h")], cc="clang",
                         libs=["-lpthread", "-lm"])
    return build_example(name)


for _name in ("hello", "todo", "poll", "chat", "upload"):
    ahead(lambda n=_name: _build(n))


@pytest.fixture(scope="session")
def binaries():
    # chat (WebSockets) is built here too; its live suite is tests/test_ws_live.py
    return {name: _build(name) for name in ("hello", "todo", "poll", "chat", "upload")}


class Server:
    """An example process; started with port 0 (the kernel picks a free one,
    no race) and ready once it printed "listening on http://127.0.0.1:PORT"."""

    def __init__(self, exe, env=None):
        self.out = tempfile.TemporaryFile()
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen([exe, "0"], stdout=self.out, stderr=subprocess.STDOUT,
                                     env=full_env)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            m = re.search(rb"listening on http://127\.0\.0\.1:(\d+)\n", self.output_bytes())
            if m:
                self.port = int(m.group(1))
                assert self.port > 0, self.output()
                return
            if self.proc.poll() is not None:
                raise AssertionError("%s exited with %s before listening:\n%s"
                                     % (exe, self.proc.returncode, self.output()))
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
                raise AssertionError("%s never said where it listens:\n%s" % (exe, self.output()))
            time.sleep(0.02)

    def output_bytes(self):
        self.out.seek(0)
        return self.out.read()

    def output(self):
        return self.output_bytes().decode("utf-8", "replace")

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        """Signal and wait; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT)
            raise AssertionError("did not stop within %ss after %s:\n%s"
                                 % (STOP_TIMEOUT, sig, self.output()))


def _served(server):
    """Fixture body: yield the server, then check it survived and stops cleanly."""
    yield server
    assert server.alive(), "server died:\n" + server.output()
    rc = server.stop()
    assert rc == 0, "exit status %s:\n%s" % (rc, server.output())


@pytest.fixture(scope="module")
def hello(binaries):
    yield from _served(Server(binaries["hello"]))


@pytest.fixture(scope="module")
def todo(binaries):
    yield from _served(Server(binaries["todo"], {"FR_MAX_BODY_BYTES": "4096"}))


@pytest.fixture(scope="module")
def todo_short(binaries):
    """Short timeouts for the 408 / idle tests."""
    yield from _served(Server(binaries["todo"], {
        "FR_HEADER_TIMEOUT_MS": "300", "FR_IDLE_TIMEOUT_MS": "300",
        "FR_BODY_TIMEOUT_MS": "300"}))


@pytest.fixture
def poll(binaries):
    server = Server(binaries["poll"])
    yield server
    if server.alive():
        assert server.stop(signal.SIGINT) == 0, server.output()


# --------------------------------------------------------------------------
# a raw HTTP/1.1 client: exact bytes in, parsed responses out

class Resp:
    def __init__(self, version, status, reason, headers, body):
        self.version, self.status, self.reason = version, status, reason
        self.header_list = headers
        self.headers = {k: v for k, v in headers}
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<Resp %s %r %r>" % (self.status, self.header_list, self.body[:200])


class Raw:
    def __init__(self, port, timeout=IO_TIMEOUT):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def close(self):
        self.s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        data = self.s.recv(262144)
        if not data:
            raise EOFError("connection closed; unparsed: %r" % bytes(self.buf[:200]))
        self.buf += data

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def _line(self):
        start = 0
        for _ in range(100000):
            i = self.buf.find(b"\r\n", start)
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return out
            start = max(0, len(self.buf) - 1)
            self._fill()
        raise AssertionError("line too long")

    def read_response(self, head=False):
        for _ in range(100000):
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            self._fill()
        raw_head = bytes(self.buf[:end])
        del self.buf[:end + 4]
        lines = raw_head.split(b"\r\n")
        version, status, reason = (lines[0].decode("latin-1").split(" ", 2) + [""])[:3]
        headers = []
        for ln in lines[1:]:
            name, _, value = ln.decode("latin-1").partition(":")
            headers.append((name.lower(), value.strip()))
        hd = dict(headers)
        status = int(status)
        if head or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "chunked" in hd.get("transfer-encoding", ""):
            parts = []
            for _ in range(1000000):
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():
                        pass
                    break
                parts.append(self._take(size))
                assert self._take(2) == b"\r\n"
            body = b"".join(parts)
        elif "content-length" in hd:
            body = self._take(int(hd["content-length"]))
        else:  # until close
            for _ in range(100000):
                try:
                    self._fill()
                except EOFError:
                    break
            body = bytes(self.buf)
            self.buf = bytearray()
        return Resp(version, status, reason, headers, body)

    def request(self, method, path, headers=(), body=b"", head=None):
        self.send(req(method, path, headers, body))
        return self.read_response(head=method == "HEAD" if head is None else head)

    def closed(self):
        """True once the server closed the connection (EOF or reset)."""
        assert not self.buf, "unexpected extra bytes: %r" % bytes(self.buf[:200])
        try:
            data = self.s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        assert data == b"", "unexpected bytes instead of close: %r" % data[:200]
        return True

    def is_open(self):
        """True if nothing arrived and the connection is not closed (non-blocking peek)."""
        r, _, _ = select.select([self.s], [], [], 0)
        return not r


def req(method, path, headers=(), body=b"", host=True, version="HTTP/1.1"):
    if isinstance(body, str):
        body = body.encode()
    lines = ["%s %s %s" % (method, path, version)]
    if host:
        lines.append("Host: 127.0.0.1")
    lines += ["%s: %s" % h for h in headers]
    if body and not any(h[0].lower() in ("content-length", "transfer-encoding")
                        for h in headers):
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def expect_error_and_close(port, raw_bytes, status):
    with Raw(port) as c:
        try:
            c.send(raw_bytes)
        except (ConnectionResetError, BrokenPipeError):
            pass  # the server may close before we finished sending; reading still shows
        r = c.read_response()
        assert r.status == status, (raw_bytes[:120], r)
        assert r.headers.get("connection") == "close", r
        assert c.closed(), "connection left open after %d" % status
        return r


def jpost(url, body, ct="application/json"):
    return httpx.post(url, content=body, headers={"content-type": ct}, timeout=IO_TIMEOUT)


# --------------------------------------------------------------------------
# hello: routing basics

def test_hello_json(hello):
    r = httpx.get(hello.url + "/hello", timeout=IO_TIMEOUT)
    assert r.status_code == 200
    assert r.content == HELLO_BODY
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["content-length"] == str(len(HELLO_BODY))
    assert "date" in r.headers


def test_users_int(hello):
    for i in (0, 1, 42, 9223372036854775807):
        r = httpx.get("%s/users/%d" % (hello.url, i), timeout=IO_TIMEOUT)
        assert r.status_code == 200 and r.json() == {"id": i}
    r = httpx.get(hello.url + "/users/abc", timeout=IO_TIMEOUT)
    # {id:int} is a convertor as in Starlette: "abc" matches no route
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}


def test_404_405_307(hello):
    with Raw(hello.port) as c:
        r = c.request("GET", "/nope")
        assert r.status == 404 and r.json() == {"detail": "Not Found"}
        r = c.request("POST", "/hello", body=b"{}")
        assert r.status == 405 and r.json() == {"detail": "Method Not Allowed"}
        assert "GET" in [m.strip() for m in r.headers["allow"].split(",")]
        r = c.request("GET", "/hello/")
        assert r.status == 307
        assert r.headers["location"].endswith("/hello")
        # all on one connection: errors from the router keep it alive
        r = c.request("GET", "/hello")
        assert r.status == 200 and r.body == HELLO_BODY


def test_head(hello):
    with Raw(hello.port) as c:
        r = c.request("HEAD", "/hello")
        assert r.status == 200
        assert r.headers["content-length"] == str(len(HELLO_BODY))
        assert r.body == b""
        # had a body been sent after the HEAD answer, this would read it as a head
        r = c.request("GET", "/users/7")
        assert r.status == 200 and r.json() == {"id": 7}


# --------------------------------------------------------------------------
# connection management

def test_keep_alive_raw(hello):
    with Raw(hello.port) as c:
        for i in range(200):
            r = c.request("GET", "/users/%d" % i)
            assert r.status == 200 and r.json() == {"id": i}
            assert r.headers.get("connection", "").lower() != "close"
        assert c.is_open()
        r = c.request("GET", "/hello")
        assert r.body == HELLO_BODY


def test_keep_alive_http_client(hello):
    conn = http.client.HTTPConnection("127.0.0.1", hello.port, timeout=IO_TIMEOUT)
    try:
        conn.request("GET", "/hello")
        r = conn.getresponse()
        assert r.status == 200 and r.read() == HELLO_BODY
        sock = conn.sock
        for i in range(50):
            conn.request("GET", "/users/%d" % i)
            r = conn.getresponse()
            assert r.status == 200 and json.loads(r.read()) == {"id": i}
        assert conn.sock is sock, "http.client had to reconnect: keep-alive broken"
    finally:
        conn.close()


def test_keep_alive_httpx_threads(hello):
    errors = []

    def worker(k):
        try:
            with httpx.Client(base_url=hello.url, timeout=IO_TIMEOUT) as cl:
                for i in range(50):
                    r = cl.get("/users/%d" % (k * 1000 + i))
                    assert r.status_code == 200 and r.json() == {"id": k * 1000 + i}
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors


def test_connection_close(hello):
    with Raw(hello.port) as c:
        r = c.request("GET", "/hello", headers=[("Connection", "close")])
        assert r.status == 200 and r.body == HELLO_BODY
        assert r.headers.get("connection") == "close"
        assert c.closed()


def test_http10(hello):
    with Raw(hello.port) as c:
        c.send(b"GET /hello HTTP/1.0\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and r.body == HELLO_BODY
        assert r.version == "HTTP/1.0"
        assert c.closed()
    with Raw(hello.port) as c:
        for _ in range(3):
            c.send(b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            r = c.read_response()
            assert r.status == 200 and r.body == HELLO_BODY
            assert r.headers.get("connection", "").lower() == "keep-alive"


def test_pipelining(hello):
    with Raw(hello.port) as c:
        blob = b"".join(req("GET", "/users/%d" % i) if i % 2 else req("GET", "/hello")
                        for i in range(64))
        c.send(blob)
        for i in range(64):
            r = c.read_response()
            assert r.status == 200
            if i % 2:
                assert r.json() == {"id": i}
            else:
                assert r.body == HELLO_BODY
        # a HEAD in the middle of a pipeline must not desynchronise it
        c.send(req("GET", "/users/1") + req("HEAD", "/hello") + req("GET", "/users/2"))
        assert c.read_response().json() == {"id": 1}
        assert c.read_response(head=True).body == b""
        assert c.read_response().json() == {"id": 2}


def test_pipelining_split_bytes(hello):
    """Requests dribbled one byte per send are reassembled across reads."""
    with Raw(hello.port) as c:
        blob = b"".join(req("GET", "/users/%d" % i) for i in range(5))
        for k in range(len(blob)):
            c.send(blob[k:k + 1])
        for i in range(5):
            assert c.read_response().json() == {"id": i}


def test_many_concurrent_connections(hello):
    n = 500
    socks = []
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", hello.port), timeout=IO_TIMEOUT)
            socks.append(s)
        for s in socks:
            s.sendall(req("GET", "/hello"))
        ok = 0
        for s in socks:
            c = Raw.__new__(Raw)
            c.s, c.buf = s, bytearray()
            r = c.read_response()
            ok += r.status == 200 and r.body == HELLO_BODY
        assert ok == n
    finally:
        for s in socks:
            s.close()
    # and the server still answers afterwards
    assert httpx.get(hello.url + "/hello", timeout=IO_TIMEOUT).content == HELLO_BODY


# --------------------------------------------------------------------------
# limits and request smuggling: each status, and the connection is closed

def test_431_oversized_head(hello):
    expect_error_and_close(hello.port, req("GET", "/hello", [("X-Big", "a" * 20000)]), 431)


def test_431_too_many_headers(hello):
    hdrs = [("X-H%d" % i, "v") for i in range(150)]
    expect_error_and_close(hello.port, req("GET", "/hello", hdrs), 431)


def test_414_long_uri(hello):
    expect_error_and_close(hello.port, req("GET", "/hello?x=" + "a" * 9000), 414)


def test_413_content_length(todo):
    # refused on the head alone: the 5000 bytes are never sent
    raw = req("POST", "/todos", [("Content-Type", "application/json"),
                                 ("Content-Length", "5000")])
    expect_error_and_close(todo.port, raw, 413)


def test_413_chunked(todo):
    chunk = b"a" * 1000
    body = b"".join(b"3e8\r\n" + chunk + b"\r\n" for _ in range(5)) + b"0\r\n\r\n"
    raw = req("POST", "/todos", [("Content-Type", "application/json"),
                                 ("Transfer-Encoding", "chunked")]) + body
    expect_error_and_close(todo.port, raw, 413)


def test_body_at_limit_accepted(todo):
    title = "x" * (4096 - len('{"title":""}'))
    body = json.dumps({"title": title}, separators=(",", ":")).encode()
    assert len(body) == 4096
    r = jpost(todo.url + "/todos", body)
    assert r.status_code == 201 and r.json()["title"] == title


SMUGGLING = {
    "cl_and_te": b"POST /todos HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "te_and_cl": b"POST /todos HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                 b"Content-Length: 5\r\n\r\n0\r\n\r\n",
    "two_different_cl": b"POST /todos HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                        b"Content-Length: 6\r\n\r\nabcdef",
    "cl_list_different": b"POST /todos HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nabcdef",
    "cl_not_a_number": b"POST /todos HTTP/1.1\r\nHost: a\r\nContent-Length: 5x\r\n\r\nabcde",
    "cl_negative": b"POST /todos HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
    "cl_plus": b"POST /todos HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nabcde",
    "cl_overflow": b"POST /todos HTTP/1.1\r\nHost: a\r\nContent-Length: "
                   b"99999999999999999999999\r\n\r\n",
    "te_not_last_chunked": b"POST /todos HTTP/1.1\r\nHost: a\r\n"
                           b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
    "te_gzip_only": b"POST /todos HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
    "obs_fold": b"GET /hello HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n",
    "space_before_colon": b"GET /hello HTTP/1.1\r\nHost : a\r\n\r\n",
    "tab_before_colon": b"GET /hello HTTP/1.1\r\nHost: a\r\nX-A\t: b\r\n\r\n",
    "nul_in_value": b"GET /hello HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n",
    "ctl_in_value": b"GET /hello HTTP/1.1\r\nHost: a\r\nX-A: b\x01c\r\n\r\n",
    "nul_in_name": b"GET /hello HTTP/1.1\r\nHost: a\r\nX\x00A: b\r\n\r\n",
    "missing_host_11": b"GET /hello HTTP/1.1\r\nAccept: */*\r\n\r\n",
    "bad_method_chars": b"G(T /hello HTTP/1.1\r\nHost: a\r\n\r\n",
    "bad_method_slash": b"GE/T /hello HTTP/1.1\r\nHost: a\r\n\r\n",
    "ctl_in_target": b"GET /hel\x01lo HTTP/1.1\r\nHost: a\r\n\r\n",
    "space_in_target": b"GET /hel lo HTTP/1.1\r\nHost: a\r\n\r\n",
    "bad_chunk_size": b"POST /todos HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                      b"Content-Type: application/json\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
    "chunk_size_overflow": b"POST /todos HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                           b"Content-Type: application/json\r\n\r\n"
                           b"fffffffffffffffffffff\r\nab\r\n0\r\n\r\n",
    "chunk_missing_crlf": b"POST /todos HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                          b"Content-Type: application/json\r\n\r\n2\r\nabXY0\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(SMUGGLING))
def test_smuggling_400(todo, name):
    expect_error_and_close(todo.port, SMUGGLING[name], 400)


def test_smuggling_no_second_request(todo):
    """The classic CL.TE attack: nothing after the refused request is served."""
    raw = (b"POST /todos HTTP/1.1\r\nHost: a\r\nContent-Length: 44\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
           b"GET /todos/1 HTTP/1.1\r\nHost: a\r\n\r\n")
    r = expect_error_and_close(todo.port, raw, 400)
    assert b"Todo" not in r.body


GARBAGE = [
    (b"\x00" * 100, 400),
    (b"GET\r\n\r\n", 400),
    (b"\xff\xfe" * 50 + b"\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n\r\n", 400),  # no Host
    (b"GET / HTTP/9.9\r\nHost: a\r\n\r\n", 505),
    (b"GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n", 400),
]


@pytest.mark.parametrize("blob,status", GARBAGE)
def test_garbage_refused(todo, blob, status):
    expect_error_and_close(todo.port, blob, status)


def test_lenient_where_rfc9112_allows(todo):
    """Empty lines before the request line are skipped; a bare LF ending a
    head line is a 400 + close (llhttp strict, issue 13)."""
    with Raw(todo.port) as c:
        c.send(b"\r\n\r\nGET /stats HTTP/1.1\r\nHost: a\r\n\r\n")
        assert c.read_response().status == 200
    expect_error_and_close(todo.port, b"GET /stats HTTP/1.1\nHost: a\n\n", 400)
    expect_error_and_close(todo.port, b"GET /stats HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n", 400)
    assert httpx.get(todo.url + "/todos", timeout=IO_TIMEOUT).status_code == 200


# --------------------------------------------------------------------------
# timeouts (todo_short: 300 ms header / idle / body timeouts)

def test_408_slow_head(todo_short):
    with Raw(todo_short.port) as c:
        c.send(b"GET /todos HTTP/1.1\r\nHost: a\r\n")  # never finished
        r = c.read_response()
        assert r.status == 408
        assert c.closed()


def test_408_slow_body(todo_short):
    with Raw(todo_short.port) as c:
        c.send(b"POST /todos HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
               b"Content-Length: 50\r\n\r\n{\"title\":")
        r = c.read_response()
        assert r.status == 408
        assert c.closed()


def test_idle_keep_alive_closed(todo_short):
    with Raw(todo_short.port) as c:
        r = c.request("GET", "/todos")
        assert r.status == 200
        assert c.closed()  # the 300 ms idle timeout fires well inside IO_TIMEOUT


def test_silent_connection_closed(todo_short):
    with Raw(todo_short.port) as c:
        # no byte ever sent: closed (a 408 first is allowed)
        try:
            r = c.read_response()
            assert r.status == 408
        except (EOFError, ConnectionResetError):
            return
        assert c.closed()


def test_max_connections(binaries):
    server = Server(binaries["todo"], {"FR_MAX_CONNECTIONS": "8", "FR_THREADS": "2"})
    held = []
    try:
        for _ in range(8):
            c = Raw(server.port)
            assert c.request("GET", "/stats").status == 200
            held.append(c)
        # beyond the limit: answered 503 (as uvicorn's --limit-concurrency)
        # and closed at once, never served
        # (a reset may overtake the 503 if the request lands after the close;
        # at least one of the five must read it, none may read anything else)
        answered = 0
        for _ in range(5):
            with Raw(server.port) as extra:
                try:
                    extra.send(req("GET", "/stats"))
                except (ConnectionResetError, BrokenPipeError):
                    pass
                try:
                    r = extra.read_response()
                except (ConnectionResetError, EOFError):
                    continue
                assert (r.status, r.body) == (503, b'{"detail":"Service Unavailable"}')
                assert dict(r.headers).get("connection") == "close"
                assert extra.closed()
                answered += 1
        assert answered >= 1
        # the held connections still work
        for c in held:
            assert c.request("GET", "/stats").status == 200
        for c in held:
            c.close()
        held = []
        # once they are gone, new connections are served again (the server
        # may need a moment to notice the closes: bounded retries)
        ok = False
        for _ in range(100):
            try:
                with Raw(server.port) as c:
                    c.send(req("GET", "/stats"))
                    ok = c.read_response().status == 200
            except (EOFError, ConnectionResetError, BrokenPipeError):
                ok = False
            if ok:
                break
            time.sleep(0.05)
        assert ok
        assert server.alive()
    finally:
        for c in held:
            c.close()
        assert server.stop() == 0, server.output()


# --------------------------------------------------------------------------
# todo: the REST API

def test_todo_crud(todo):
    u = todo.url
    r = jpost(u + "/todos", b'{"title":"buy milk"}')
    assert r.status_code == 201
    t = r.json()
    assert t["title"] == "buy milk" and t["done"] is False and isinstance(t["id"], int)
    tid = t["id"]
    r = jpost(u + "/todos", '{"title":"write tests","done":true}')
    assert r.status_code == 201 and r.json()["done"] is True
    tid2 = r.json()["id"]
    assert tid2 != tid

    r = httpx.get("%s/todos/%d" % (u, tid), timeout=IO_TIMEOUT)
    assert r.status_code == 200 and r.json() == t

    listing = httpx.get(u + "/todos", timeout=IO_TIMEOUT).json()
    ids = [x["id"] for x in listing]
    assert tid in ids and tid2 in ids

    r = httpx.put("%s/todos/%d" % (u, tid), content=b'{"title":"buy oat milk","done":true}',
                  headers={"content-type": "application/json"}, timeout=IO_TIMEOUT)
    assert r.status_code == 200 and r.json() == {"id": tid, "title": "buy oat milk", "done": True}
    r = httpx.put("%s/todos/%d" % (u, tid), content=b'{"title":"buy oat milk"}',
                  headers={"content-type": "application/json"}, timeout=IO_TIMEOUT)
    assert r.json()["done"] is False  # PUT replaces: the default applies again
    r = httpx.patch("%s/todos/%d" % (u, tid), content=b'{"done":true}',
                    headers={"content-type": "application/json"}, timeout=IO_TIMEOUT)
    assert r.status_code == 200 and r.json() == {"id": tid, "title": "buy oat milk", "done": True}

    r = httpx.delete("%s/todos/%d" % (u, tid), timeout=IO_TIMEOUT)
    assert r.status_code == 204 and r.content == b""
    # like Starlette's Response(status_code=204): neither header
    assert "content-type" not in r.headers and "content-length" not in r.headers
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        r = httpx.request(method, "%s/todos/%d" % (u, tid), content=b'{"title":"x"}',
                          headers={"content-type": "application/json"}, timeout=IO_TIMEOUT)
        assert r.status_code == 404 and r.json() == {"detail": "Todo not found"}, method
    r = httpx.get("%s/todos/%d" % (u, tid2), timeout=IO_TIMEOUT)
    assert r.status_code == 200


def test_todo_filters(todo):
    u = todo.url
    a = jpost(u + "/todos", '{"title":"filter-alpha zebra","done":true}').json()
    b = jpost(u + "/todos", '{"title":"filter-beta zebra"}').json()
    c = jpost(u + "/todos", '{"title":"filter-gamma","done":false}').json()

    def ids(query):
        r = httpx.get(u + "/todos", params=query, timeout=IO_TIMEOUT)
        assert r.status_code == 200
        return {x["id"] for x in r.json()}

    assert {a["id"], b["id"], c["id"]} <= ids({})
    assert ids({"q": "zebra"}) >= {a["id"], b["id"]} and c["id"] not in ids({"q": "zebra"})
    assert ids({"q": "filter-", "done": "true"}) == {a["id"]}
    assert ids({"q": "filter-", "done": "false"}) == {b["id"], c["id"]}
    assert ids({"q": "filter-", "done": "1"}) == {a["id"]}
    assert ids({"q": "filter-gam"}) == {c["id"]}
    assert ids({"q": "no such title anywhere"}) == set()
    assert ids({"q": "filter-alpha zebra"}) == {a["id"]}  # '+' / %20 decoding
    r = httpx.get(u + "/todos", params={"done": "maybe"}, timeout=IO_TIMEOUT)
    assert r.status_code == 422
    assert r.json() == {"detail": [{
        "type": "bool_parsing", "loc": ["query", "done"],
        "msg": "Input should be a valid boolean, unable to interpret input", "input": "maybe"}]}


def test_todo_unicode_and_escapes(todo):
    title = 'caf\u00e9 \u2603 "quoted" \\ back\nnew \U0001f600'
    r = jpost(todo.url + "/todos", json.dumps({"title": title}))
    assert r.status_code == 201 and r.json()["title"] == title
    # UTF-8 kept as is in the output, like FastAPI
    assert "caf\u00e9".encode() in r.content


def test_todo_unknown_id_and_bad_path(todo):
    r = httpx.get(todo.url + "/todos/999999999", timeout=IO_TIMEOUT)
    assert r.status_code == 404 and r.json() == {"detail": "Todo not found"}
    r = httpx.get(todo.url + "/todos/abc", timeout=IO_TIMEOUT)
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}  # no route matched
    r = httpx.post(todo.url + "/todos/1", timeout=IO_TIMEOUT)
    assert r.status_code == 405


BODY_CORPUS = [
    # (body, content-type)
    ('{"title":1}', "application/json"),
    ('{"done":"x"}', "application/json"),
    ('{"title":"a","done":2}', "application/json"),
    ('{"title":"a","done":"yes"}', "application/json"),
    ('{"title":"a","done":"OFF"}', "application/json"),
    ('{"title":"a","done":null}', "application/json"),
    ('{"title":"a","done":1.0}', "application/json"),
    ('{"title":"a","done":0}', "application/json"),
    ('{"title":"a","done":1.5}', "application/json"),
    ('{"title":"a","done":[]}', "application/json"),
    ('{"title":"a","done":{"x":[1,{}]}}', "application/json"),
    ('{"title":"a","done":"maybe"}', "application/json"),
    ('{"title":null}', "application/json"),
    ('{"title":true,"done":"nope"}', "application/json"),
    ('{"title":12345678901234567890123}', "application/json"),
    ('{"title":2.5e3}', "application/json"),
    ('{"title":-0.0}', "application/json"),
    ('{"title":1e-7}', "application/json"),
    ('{"title":["x",{"k":"v"}]}', "application/json"),
    ('{}', "application/json"),
    ('{"other":1,"x":[1,2.5,{"y":null}],"a":"\\u00e9"}', "application/json"),
    ('{"a":1,"b":2,"a":3}', "application/json"),
    ('[1]', "application/json"),
    ('1', "application/json"),
    ('null', "application/json"),
    ('"str"', "application/json"),
    ('{"title":"ok"}', "application/json; charset=utf-8"),
    ('{"title":"ok"}', "application/vnd.api+json"),
    ('{"title":"ok"}', "text/plain"),
    ('{"title":"\\u00e9\\n"}', "application/json"),
    ('  {"title" : "spaced" , "done" : true }  ', "application/json"),
]


def _fastapi_client():
    import fastapi  # a [test] extra
    from pydantic import BaseModel
    with warnings.catch_warnings():  # starlette's note about httpx versions
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    class TodoIn(BaseModel):
        title: str
        done: bool = False

    app = fastapi.FastAPI()

    @app.post("/todos", status_code=201)
    def create(t: TodoIn):
        return {"id": 1, **t.model_dump()}

    return TestClient(app)


def test_todo_validation_matches_fastapi(todo):
    """Same status and JSON as FastAPI (pydantic 2) for the same model."""
    ref = _fastapi_client()
    for body, ct in BODY_CORPUS:
        want = ref.post("/todos", content=body.encode(), headers={"content-type": ct})
        got = jpost(todo.url + "/todos", body.encode(), ct)
        assert got.status_code == want.status_code, (body, ct, got.text, want.text)
        gj, wj = got.json(), want.json()
        if got.status_code == 201:
            gj.pop("id")
            wj.pop("id")
        assert gj == wj, (body, ct)


def test_todo_missing_and_malformed_bodies(todo):
    r = jpost(todo.url + "/todos", b"")
    assert r.status_code == 422
    assert r.json() == {"detail": [{"type": "missing", "loc": ["body"],
                                    "msg": "Field required", "input": None}]}
    for bad in (b"{", b'{"title":"a",}', b'{"title":"a"} x', b"{'title':'a'}",
                b'{"title":"\xff"}', b'{"title":01}', b"[" * 1000 + b"]" * 1000,
                b'{"title":"a\x01"}', b"/* c */ {}"):
        r = jpost(todo.url + "/todos", bad)
        assert r.status_code == 422, bad
        d = r.json()["detail"]
        assert len(d) == 1
        assert d[0]["type"] == "json_invalid" and d[0]["loc"][0] == "body"
        assert isinstance(d[0]["loc"][1], int) and 0 <= d[0]["loc"][1] <= len(bad)
        assert d[0]["msg"] == "JSON decode error" and d[0]["input"] == {}
        assert isinstance(d[0]["ctx"]["error"], str) and d[0]["ctx"]["error"]
    # nothing half-created by all that
    r = httpx.get(todo.url + "/todos", params={"q": "\x01"}, timeout=IO_TIMEOUT)
    assert r.status_code == 200 and r.json() == []


def test_todo_concurrent_creates(todo):
    """The store is shared by fr_serve's loop threads: no id is lost or doubled."""
    got = []
    errors = []
    lock = threading.Lock()

    def worker(k):
        try:
            with httpx.Client(base_url=todo.url, timeout=IO_TIMEOUT) as cl:
                for i in range(40):
                    r = cl.post("/todos", json={"title": "conc-%d-%d" % (k, i)})
                    assert r.status_code == 201
                    with lock:
                        got.append(r.json()["id"])
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(got) == 320 and len(set(got)) == 320
    listed = httpx.get(todo.url + "/todos", params={"q": "conc-"}, timeout=IO_TIMEOUT).json()
    assert {x["id"] for x in listed} == set(got)


# --------------------------------------------------------------------------
# chunked request bodies and Expect: 100-continue

def test_chunked_body_raw(todo):
    payload = b'{"title":"chunked \xe2\x98\x83 body","done":true}'
    parts = [payload[:5], payload[5:6], payload[6:30], payload[30:]]
    body = b""
    for i, p in enumerate(parts):
        ext = b";name=value" if i == 1 else b""
        body += b"%x%s\r\n%s\r\n" % (len(p), ext, p)
    body += b"0\r\nX-Trailer: yes\r\n\r\n"
    head = req("POST", "/todos", [("Content-Type", "application/json"),
                                  ("Transfer-Encoding", "chunked")])
    with Raw(todo.port) as c:
        # split everywhere: head and body across many sends
        blob = head + body
        for k in range(0, len(blob), 7):
            c.send(blob[k:k + 7])
        r = c.read_response()
        assert r.status == 201, r
        assert r.json()["title"] == "chunked \u2603 body" and r.json()["done"] is True
        # keep-alive after a chunked request: the next request parses cleanly
        r = c.request("GET", "/todos/%d" % r.json()["id"])
        assert r.status == 200 and r.json()["title"] == "chunked \u2603 body"


def test_chunked_body_pipelined(todo):
    body = b'{"title":"pipe-chunk"}'
    one = req("POST", "/todos", [("Content-Type", "application/json"),
                                 ("Transfer-Encoding", "chunked")]) + \
        b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    with Raw(todo.port) as c:
        c.send(one * 3 + req("GET", "/stats"))
        ids = [c.read_response().json()["id"] for _ in range(3)]
        assert len(set(ids)) == 3
        assert c.read_response().status == 200


def test_chunked_body_httpx(todo):
    def gen():
        yield b'{"title":'
        yield b'"from a generator"'
        yield b"}"

    r = httpx.post(todo.url + "/todos", content=gen(),
                   headers={"content-type": "application/json"}, timeout=IO_TIMEOUT)
    assert r.status_code == 201 and r.json()["title"] == "from a generator"


def test_chunked_body_http_client(todo):
    conn = http.client.HTTPConnection("127.0.0.1", todo.port, timeout=IO_TIMEOUT)
    try:
        conn.request("POST", "/todos", body=iter([b'{"title":"stdlib', b' chunked"}']),
                     headers={"Content-Type": "application/json"}, encode_chunked=True)
        r = conn.getresponse()
        assert r.status == 201 and json.loads(r.read())["title"] == "stdlib chunked"
    finally:
        conn.close()


def test_expect_100_continue(todo):
    body = b'{"title":"after continue"}'
    with Raw(todo.port) as c:
        c.send(req("POST", "/todos", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body))),
                                      ("Expect", "100-continue")]))
        r = c.read_response()
        assert r.status == 100
        c.send(body)
        r = c.read_response()
        assert r.status == 201 and r.json()["title"] == "after continue"


def test_expect_100_continue_too_large(todo):
    """An over-limit body is refused before the client sends it."""
    with Raw(todo.port) as c:
        c.send(req("POST", "/todos", [("Content-Type", "application/json"),
                                      ("Content-Length", "100000"),
                                      ("Expect", "100-continue")]))
        r = c.read_response()
        assert r.status == 413
        assert c.closed()


# --------------------------------------------------------------------------
# deferred responses (FR_PENDING + fr_res_send from another thread)

def test_deferred_response(todo):
    r = httpx.get(todo.url + "/slow", params={"ms": "50"}, timeout=IO_TIMEOUT)
    assert r.status_code == 200 and r.json() == {"slept_ms": 50}
    r = httpx.get(todo.url + "/slow", params={"ms": "nope"}, timeout=IO_TIMEOUT)
    assert r.status_code == 422


def test_deferred_keeps_pipeline_order(todo):
    """A pending request blocks the responses behind it on its connection."""
    with Raw(todo.port) as c:
        c.send(req("GET", "/slow?ms=300") + req("GET", "/stats") + req("GET", "/slow?ms=0"))
        r1 = c.read_response()
        assert r1.json() == {"slept_ms": 300}
        assert "slow_in_flight" in c.read_response().json()
        assert c.read_response().json() == {"slept_ms": 0}


def test_deferred_does_not_block_others(todo):
    """While one connection waits for its deferred answer, others are served."""
    with Raw(todo.port) as slow:
        slow.send(req("GET", "/slow?ms=3000"))
        in_flight = 0
        for _ in range(200):
            in_flight = httpx.get(todo.url + "/stats", timeout=IO_TIMEOUT).json()["slow_in_flight"]
            if in_flight:
                break
            time.sleep(0.01)
        assert in_flight >= 1
        for i in range(20):
            assert httpx.get(todo.url + "/todos", timeout=IO_TIMEOUT).status_code == 200
        assert slow.read_response().json() == {"slept_ms": 3000}


def test_many_deferred_at_once(todo):
    socks = [Raw(todo.port) for _ in range(40)]
    try:
        for i, c in enumerate(socks):
            c.send(req("GET", "/slow?ms=%d" % (100 + i)))
        for i, c in enumerate(socks):
            r = c.read_response()
            assert r.status == 200 and r.json() == {"slept_ms": 100 + i}
    finally:
        for c in socks:
            c.close()


# --------------------------------------------------------------------------
# streamed (chunked) responses written from a worker thread

def _wait_streams_done(server):
    for _ in range(500):
        st = httpx.get(server.url + "/stats", timeout=IO_TIMEOUT).json()
        if st["streams_in_flight"] == 0:
            return True
        time.sleep(0.01)
    return False


def test_stream_export(todo):
    made = {jpost(todo.url + "/todos", json.dumps({"title": "export-%d" % i})).json()["id"]
            for i in range(5)}
    with Raw(todo.port) as c:
        r = c.request("GET", "/export")
        assert r.status == 200
        assert r.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in r.headers
        assert r.headers["content-type"] == "application/x-ndjson"
        lines = [json.loads(x) for x in r.body.decode().splitlines()]
        assert lines[-1] == {"count": len(lines) - 1}
        assert made <= {x["id"] for x in lines[:-1]}
        # the connection stays usable after a chunked response
        r = c.request("HEAD", "/export")
        assert r.status == 200 and r.body == b""
        r = c.request("GET", "/stats")
        assert r.status == 200


def test_stream_backpressure(todo):
    """~20 MB through the 1 MiB high-water mark to a client that reads late.
    (A tiny SO_RCVBUF would make TCP itself crawl: 200 ms persist timers.)"""
    todos = httpx.get(todo.url + "/stats", timeout=IO_TIMEOUT).json()["todos"]
    with Raw(todo.port) as c:
        c.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        c.send(req("GET", "/export?filler=20000"))
        time.sleep(0.5)  # let the writer block on the full queue
        r = c.read_response()
        lines = r.body.decode().splitlines()
        # every todo line, then the filler lines, then the count of todos
        assert len(lines) == todos + 20000 + 1
        assert all('"title"' in x for x in lines[:todos])
        assert json.loads(lines[-1]) == {"count": todos}
        filler = [json.loads(x) for x in lines[todos:-1]]
        assert [x["filler"] for x in filler] == list(range(20000))
    assert _wait_streams_done(todo)


def test_stream_client_disconnects(todo):
    """The worker sees write() fail once the client is gone, and ends cleanly."""
    for _ in range(3):
        c = Raw(todo.port)
        c.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.send(req("GET", "/export?filler=100000"))
        c.s.recv(1000)  # the stream has started
        c.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        c.close()  # reset, with 100 MB still to come
    assert _wait_streams_done(todo)
    assert httpx.get(todo.url + "/stats", timeout=IO_TIMEOUT).status_code == 200


def test_stream_http10(todo):
    """An HTTP/1.0 client gets the stream close-delimited (no chunked coding)."""
    with Raw(todo.port) as c:
        c.send(b"GET /export?filler=3 HTTP/1.0\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and "transfer-encoding" not in r.headers
        assert r.body.decode().splitlines()[-1].startswith('{"count":')


# --------------------------------------------------------------------------
# graceful stop

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_graceful_stop_drains_in_flight(binaries, sig):
    server = Server(binaries["todo"])
    try:
        with Raw(server.port) as c:
            c.send(req("GET", "/slow?ms=2000"))
            in_flight = 0
            for _ in range(500):
                in_flight = httpx.get(server.url + "/stats",
                                      timeout=IO_TIMEOUT).json()["slow_in_flight"]
                if in_flight:
                    break
                time.sleep(0.01)
            assert in_flight == 1
            server.proc.send_signal(sig)
            r = c.read_response()  # the in-flight request still completes
            assert r.status == 200 and r.json() == {"slept_ms": 2000}
        rc = server.proc.wait(STOP_TIMEOUT)
        assert rc == 0, server.output()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=IO_TIMEOUT).close()
    finally:
        if server.alive():
            server.proc.kill()
            server.proc.wait(STOP_TIMEOUT)


def test_stop_idle_server(binaries):
    server = Server(binaries["hello"])
    with Raw(server.port) as c:  # an idle keep-alive connection does not hold it up
        assert c.request("GET", "/hello").status == 200
        assert server.stop(signal.SIGTERM) == 0, server.output()


# --------------------------------------------------------------------------
# poll: a host main loop driving fr_poll()

def _state(server):
    r = httpx.get(server.url + "/state", timeout=IO_TIMEOUT)
    assert r.status_code == 200
    return r.json()


def test_poll_state_ticks(poll):
    s1 = _state(poll)
    assert {"tick", "uptime_ms", "x", "y", "queued", "applied", "last"} <= set(s1)
    assert s1["last"] is None and s1["x"] == 0 and s1["y"] == 0
    s2 = s1
    for _ in range(500):  # the loop ticks every ~10 ms, between requests
        s2 = _state(poll)
        if s2["tick"] > s1["tick"]:
            break
        time.sleep(0.005)
    assert s2["tick"] > s1["tick"] and s2["uptime_ms"] >= s1["uptime_ms"]


def test_poll_command_applied_next_tick(poll):
    r = jpost(poll.url + "/command", b'{"cmd":"right"}')
    assert r.status_code == 202
    queued = r.json()["queued_tick"]
    s = _state(poll)
    for _ in range(500):
        if s["applied"] >= 1:
            break
        time.sleep(0.005)
        s = _state(poll)
    assert s["applied"] == 1 and s["queued"] == 0
    assert s["x"] == 1 and s["y"] == 0
    assert s["last"] == {"cmd": "right", "queued_tick": queued, "applied_tick": queued + 1}
    # several commands in one pipelined send are all queued, then applied
    with Raw(poll.port) as c:
        c.send(b"".join(req("POST", "/command", [("Content-Type", "application/json")], b)
                        for b in (b'{"cmd":"up"}', b'{"cmd":"up"}', b'{"cmd":"left"}')))
        for _ in range(3):
            assert c.read_response().status == 202
    for _ in range(500):
        s = _state(poll)
        if s["applied"] >= 4:
            break
        time.sleep(0.005)
    assert (s["x"], s["y"], s["applied"]) == (0, 2, 4)


def test_poll_bad_commands(poll):
    r = jpost(poll.url + "/command", b'{"cmd":"jump"}')
    assert r.status_code == 422
    assert r.json() == {"detail": [{
        "type": "enum", "loc": ["body", "cmd"],
        "msg": "Input should be 'up', 'down', 'left', 'right' or 'reset'", "input": "jump",
        "ctx": {"expected": "'up', 'down', 'left', 'right' or 'reset'"}}]}
    r = jpost(poll.url + "/command", b'{"command":"up","n":[1,2.5,null]}')
    assert r.status_code == 422
    assert r.json() == {"detail": [{
        "type": "missing", "loc": ["body", "cmd"], "msg": "Field required",
        "input": {"command": "up", "n": [1, 2.5, None]}}]}
    r = jpost(poll.url + "/command", b'{"cmd":["up"]}')
    assert r.status_code == 422 and r.json()["detail"][0]["input"] == ["up"]
    r = jpost(poll.url + "/command", b"{")
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"
    r = jpost(poll.url + "/command", b"[]")
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "model_attributes_type"
    r = jpost(poll.url + "/command", b"")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"]
    assert _state(poll)["applied"] == 0
    assert httpx.get(poll.url + "/command", timeout=IO_TIMEOUT).status_code == 405
    assert httpx.get(poll.url + "/nope", timeout=IO_TIMEOUT).status_code == 404


def test_poll_keep_alive_and_limits(poll):
    s0 = _state(poll)
    with Raw(poll.port) as c:
        for _ in range(50):
            assert c.request("GET", "/state").status == 200
        assert c.is_open()
    expect_error_and_close(poll.port, SMUGGLING["cl_and_te"], 400)
    expect_error_and_close(poll.port, req("GET", "/state", [("X-Big", "a" * 20000)]), 431)
    s1 = _state(poll)
    # the loop kept ticking (update_world runs after every fr_poll) and the
    # rejected requests changed nothing in the world
    assert s1["tick"] > s0["tick"], (s0, s1)
    assert {k: s1[k] for k in ("x", "y", "queued", "applied", "last")} == \
        {k: s0[k] for k in ("x", "y", "queued", "applied", "last")}


def test_poll_quit(poll):
    r = httpx.get(poll.url + "/quit", timeout=IO_TIMEOUT)
    assert r.status_code == 200 and r.json() == {"bye": True}
    assert poll.proc.wait(STOP_TIMEOUT) == 0
    assert "stopped after" in poll.output()


def test_poll_sigint(poll):
    _state(poll)
    assert poll.stop(signal.SIGINT) == 0
    assert "stopped after" in poll.output()


# --------------------------------------------------------------------------
# the examples also compile warning-free with clang

@pytest.mark.parametrize("name", ["hello", "todo", "poll"])
def test_examples_compile_clang(name):
    if not shutil.which("clang"):
        pytest.fail("clang missing: ./run-tests installs the Debian package")
    cmd = ["clang", "-fsyntax-only"] + WARN + ["-I", ROOT,
                                              os.path.join(ROOT, "examples", "c", name + ".c")]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and not r.stderr, r.stderr


# --------------------------------------------------------------------------
# the same scenarios against ASan+UBSan builds (leaks and UB abort the server)

@pytest.fixture(scope="session")
def asan_binaries():
    if os.environ.get("FR_LIVE_SANITIZE") == "1":
        pytest.skip("FR_LIVE_SANITIZE=1: every test of this module already ran against the sanitized build, this replay would repeat it")
    if not shutil.which("clang"):
        pytest.fail("clang missing: ./run-tests installs the Debian package")
    return {name: _asan_build(name) for name in ("hello", "todo", "poll", "upload")}


def _asan_build(name):
    inc = os.environ.get("FR_LIVE_INCLUDE", ROOT)
    exe = os.path.join(BUILD, "examples-asan", name)
    return compile_c(exe, [os.path.join(ROOT, "examples", "c", name + ".c")],
                     ["-O1", "-g"] + SAN + WARN + ["-I", inc],
                     deps=[os.path.join(inc, "fastrapi.h")], cc="clang",
                     libs=["-lpthread", "-lm"])


if os.environ.get("FR_LIVE_SANITIZE") != "1":
    for _name in ("hello", "todo", "poll", "upload"):
        ahead(lambda n=_name: _asan_build(n))


def _run_sanitized(exe, scenarios, env=None):
    server = Server(exe, env)
    try:
        for fn in scenarios:
            fn(server)
            assert server.alive(), "died in %s:\n%s" % (fn.__name__, server.output())
        rc = server.stop(signal.SIGTERM)
    finally:
        if server.alive():
            server.proc.kill()
            server.proc.wait(STOP_TIMEOUT)
    out = server.output()
    assert rc == 0 and "Sanitizer" not in out and "runtime error" not in out, out


def test_sanitized_hello(asan_binaries):
    def smuggling(s):
        for name in sorted(SMUGGLING):
            expect_error_and_close(s.port, SMUGGLING[name], 400)
        for blob, status in GARBAGE:
            expect_error_and_close(s.port, blob, status)

    _run_sanitized(asan_binaries["hello"], [
        test_hello_json, test_users_int, test_404_405_307, test_head, test_keep_alive_raw,
        test_http10, test_pipelining, test_pipelining_split_bytes,
        test_many_concurrent_connections, test_431_oversized_head, test_431_too_many_headers,
        test_414_long_uri, smuggling, test_keep_alive_httpx_threads])


def test_sanitized_todo(asan_binaries):
    _run_sanitized(asan_binaries["todo"], [
        test_todo_crud, test_todo_filters, test_todo_unicode_and_escapes,
        test_todo_validation_matches_fastapi, test_todo_missing_and_malformed_bodies,
        test_todo_concurrent_creates, test_413_content_length, test_413_chunked,
        test_body_at_limit_accepted, test_chunked_body_raw, test_chunked_body_pipelined,
        test_expect_100_continue, test_expect_100_continue_too_large, test_deferred_response,
        test_deferred_keeps_pipeline_order, test_many_deferred_at_once, test_stream_export,
        test_stream_backpressure, test_stream_client_disconnects, test_stream_http10,
        test_lenient_where_rfc9112_allows],
        {"FR_MAX_BODY_BYTES": "4096"})
    _run_sanitized(asan_binaries["todo"], [
        test_408_slow_head, test_408_slow_body, test_idle_keep_alive_closed,
        test_silent_connection_closed],
        {"FR_HEADER_TIMEOUT_MS": "300", "FR_IDLE_TIMEOUT_MS": "300",
         "FR_BODY_TIMEOUT_MS": "300"})


def test_sanitized_poll(asan_binaries):
    for fn in (test_poll_state_ticks, test_poll_command_applied_next_tick, test_poll_bad_commands,
               test_poll_keep_alive_and_limits):
        _run_sanitized(asan_binaries["poll"], [fn])
    server = Server(asan_binaries["poll"])
    test_poll_quit(server)
    out = server.output()
    assert "Sanitizer" not in out and "runtime error" not in out, out


# --------------------------------------------------------------------------
# upload: big bodies through a temp file (body_spool), dropped ones (body_drop)

@pytest.fixture(scope="module")
def upload(binaries, tmp_path_factory):
    d = str(tmp_path_factory.mktemp("upload"))
    yield from _served(Server(binaries["upload"], {"UPLOAD_DIR": d}))


def _hwm_kib(pid):
    """The process's peak RSS so far (VmHWM), KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def _pieces(data, size=1 << 20):
    for i in range(0, len(data), size):
        yield data[i:i + size]


def test_upload_put_get(upload):
    small, big = os.urandom(100), os.urandom(3 << 20)
    for name, data, chunked, spooled in (("small.bin", small, False, False), ("big.bin", big, False, True),
                                         ("chunked.bin", big, True, True), ("empty", b"", False, False)):
        r = httpx.put(upload.url + "/files/" + name, timeout=IO_TIMEOUT,
                      content=_pieces(data) if chunked else data)
        assert r.status_code == 201, r.text
        assert r.json() == {"name": name, "size": len(data), "spooled": spooled}
        g = httpx.get(upload.url + "/files/" + name, timeout=IO_TIMEOUT)
        assert (g.status_code, g.content == data) == (200, True)
    # a new upload replaces the file whole
    r = httpx.put(upload.url + "/files/big.bin", content=small, timeout=IO_TIMEOUT)
    assert r.status_code == 201
    assert httpx.get(upload.url + "/files/big.bin", timeout=IO_TIMEOUT).content == small


def test_upload_refusals(upload):
    for name in (".hidden", "a%20b", "x" * 65, "%2e%2e"):
        r = httpx.put(upload.url + "/files/" + name, content=b"data", timeout=IO_TIMEOUT)
        assert (name, r.status_code, r.json()) == (name, 400, {"detail": "bad file name"})
    r = httpx.put(upload.url + "/files/..%2Fescape", content=b"data", timeout=IO_TIMEOUT)
    assert r.status_code == 404  # a "/" in the name: no route matches
    assert httpx.get(upload.url + "/files/absent", timeout=IO_TIMEOUT).status_code == 404
    # over the route's 1 GiB: refused at the head, before any byte of the body
    with Raw(upload.port) as c:
        c.send(req("PUT", "/files/huge", [("Content-Length", str(2 << 30))]))
        r = c.read_response()
    assert r.status == 413


def test_upload_and_dropped_bodies_in_flat_memory(upload):
    """96 MiB through the file drop, and 96 MiB to the route that drops its
    body, raise the server's peak RSS by a few MiB, not by the body."""
    data = os.urandom(1 << 20) * 96
    before = _hwm_kib(upload.proc.pid)
    r = httpx.put(upload.url + "/files/large.bin", content=_pieces(data), timeout=60)
    assert r.json() == {"name": "large.bin", "size": len(data), "spooled": True}
    r = httpx.post(upload.url + "/ping", content=data, timeout=60)
    assert (r.status_code, r.json()) == (200, {"ok": True})
    assert _hwm_kib(upload.proc.pid) - before < 16 * 1024
    g = httpx.get(upload.url + "/files/large.bin", timeout=60)
    assert len(g.content) == len(data) and g.content == data


def test_sanitized_upload(asan_binaries, tmp_path):
    _run_sanitized(asan_binaries["upload"], [test_upload_put_get, test_upload_refusals],
                   {"UPLOAD_DIR": str(tmp_path)})
