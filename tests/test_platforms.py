"""Other platforms, cross-compiled with zig (pip's ziglang):

- Windows (x86_64-windows-gnu, mingw-w64): the C examples build with
  -Wall -Wextra -Werror -pedantic, and hello.exe / todo.exe really serve
  under wine (Debian's wine64): keep-alive, 404, 405 after a POST body, a
  malformed request -> 400, many concurrent connections, a deferred answer
  from another thread (the loop's loopback-socket wake-up), a stream
  written from a worker thread, Ctrl-C -> a clean exit 0.
- macOS and FreeBSD: the kqueue backend is compiled (never run here).
- aarch64 Linux (epoll) compiles.
Everything is built at -O0: each zig build of the whole implementation
costs seconds of CPU, and this file must stay cheap in CI.
"""
import http.client
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from cbuild import ROOT, BUILD, WARN, ahead, compile_c, write_source

HEADER = os.path.join(ROOT, "fastrapi.h")
OUT = os.path.join(BUILD, "platforms")
ZIG = sys.executable + " -m ziglang cc"
WIN = "x86_64-windows-gnu"
WIN_EXAMPLES = ["hello", "todo", "di", "poll", "chat"]


def _need_zig():
    if subprocess.run([sys.executable, "-m", "ziglang", "version"], capture_output=True).returncode != 0:
        pytest.fail("ziglang missing: ./run-tests installs it (pip install ziglang)")


def _win_build(name):
    _need_zig()
    src = os.path.join(ROOT, "examples", "c", name + ".c")
    out = os.path.join(OUT, name + ".exe")
    return compile_c(out, [src], ["-target", WIN, "-O0"] + WARN + ["-I", ROOT], [HEADER],
                     cc=ZIG, libs=["-lws2_32"])


for _name in WIN_EXAMPLES:
    ahead(lambda n=_name: _win_build(n))


@pytest.mark.parametrize("name", WIN_EXAMPLES)
def test_windows_example_builds(name):
    exe = _win_build(name)
    with open(exe, "rb") as f:
        assert f.read(2) == b"MZ"  # a PE executable


def _tu(name, check):
    return write_source(os.path.join(OUT, name),
                        '#define FASTRAPI_IMPLEMENTATION\n#include "fastrapi.h"\n%s\n'
                        "int fr_test_anchor(void);\nint fr_test_anchor(void) { return 0; }\n" % check)


# target -> the backend the implementation must have picked
TARGETS = [("x86_64-macos", "FR__KQUEUE"), ("x86_64-freebsd", "FR__KQUEUE"),
           ("aarch64-linux-gnu", "FR__EPOLL"), (WIN, "FR__POLLFD")]


@pytest.mark.parametrize("target,backend", TARGETS)
def test_implementation_compiles_for_target(target, backend):
    _need_zig()
    assert os.path.getsize(_target_obj(target, backend)) > 0


def _target_obj(target, backend):
    src = _tu("impl-%s.c" % target, "#if !defined(%s)\n#error \"expected %s\"\n#endif" % (backend, backend))
    out = os.path.join(OUT, "impl-%s.o" % target)
    return compile_c(out, [src], ["-target", target, "-O0", "-c"] + WARN + ["-I", ROOT], [HEADER], cc=ZIG)


def test_windows_implementation_compiles_as_cxx():
    _need_zig()
    assert os.path.getsize(_win_cxx_obj()) > 0


def _win_cxx_obj():
    src = _tu("impl-win.cc", "")
    out = os.path.join(OUT, "impl-win-cxx.o")
    return compile_c(out, [src], ["-target", WIN, "-std=c++17", "-O0", "-c", "-Wall", "-Wextra", "-Werror",
                                  "-I", ROOT], [HEADER], cc=sys.executable + " -m ziglang c++")


for _target, _backend in TARGETS:
    ahead(lambda t=_target, b=_backend: _target_obj(t, b))
ahead(_win_cxx_obj)


# ---------------------------------------------------------------- wine ----

def _wine():
    if platform.machine() not in ("x86_64", "AMD64"):
        return None
    for w in ("wine", "wine64", "/usr/lib/wine/wine64"):
        p = shutil.which(w)
        if p:
            return p
    return None


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class _WineServer:
    def __init__(self, exe):
        wine = _wine()
        if not wine:
            if platform.machine() in ("x86_64", "AMD64"):  # run-tests installs it there
                pytest.fail("wine missing: ./run-tests installs wine64 (apt-get)")
            # the Windows builds are x86_64 PE files; wine runs them natively only
            # on an x86_64 host (the compile checks above still run everywhere)
            pytest.skip("wine runs x86_64 Windows programs only on an x86_64 machine")
        self.env = dict(os.environ, WINEPREFIX=os.path.join(BUILD, "wine-prefix"), WINEDEBUG="-all",
                        WINEDLLOVERRIDES="mscoree,mshtml=")  # no Mono/Gecko install prompts
        self.port = _free_port()
        self.proc = subprocess.Popen([wine, exe, str(self.port)], env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.wine = wine
        line = [None]
        t = threading.Thread(target=lambda: line.__setitem__(0, self.proc.stdout.readline()), daemon=True)
        t.start()
        t.join(120)  # the first start creates the prefix (~20 s)
        if not line[0] or "listening" not in line[0]:
            self.kill()
            pytest.fail("%s did not start under wine: %r" % (exe, line[0]))

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)

    def raw(self, data):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=15)
        s.sendall(data)
        got = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
        s.close()
        return got

    def stop(self):
        """Ctrl-C (wine turns SIGINT into CTRL_C_EVENT): fr_serve returns, exit 0."""
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def test_windows_hello_serves_under_wine():
    srv = _WineServer(_win_build("hello"))
    try:
        c = srv.conn()
        for path, status, body in [("/hello", 200, b'{"message":"Hello World"}'),
                                   ("/users/42", 200, b'{"id":42}'),
                                   ("/nope", 404, b'{"detail":"Not Found"}'),
                                   ("/users/x", 404, None)]:  # {id:int} does not match
            c.request("GET", path)
            r = c.getresponse()
            data = r.read()
            assert r.status == status, (path, r.status, data)
            if body is not None:
                assert data == body
        sock1 = c.sock
        # a POST with a body on the same keep-alive connection: 405, body consumed
        c.request("POST", "/hello", body=b"x" * 5000, headers={"content-type": "text/plain"})
        r = c.getresponse()
        assert r.status == 405 and r.getheader("allow") == "GET" and r.read() == b'{"detail":"Method Not Allowed"}'
        c.request("GET", "/hello")
        r = c.getresponse()
        assert r.status == 200 and r.read() == b'{"message":"Hello World"}'
        assert c.sock is sock1  # still the first connection
        c.close()

        # pipelined requests in one write
        got = srv.raw(b"GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"GET /users/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert got.count(b"HTTP/1.1 200 OK") == 2 and got.endswith(b'{"id":2}')

        # malformed requests -> 400, then the server closes
        for bad in (b"GARBAGE\r\n\r\n", b"GET /hello HTTP/1.1\r\nBad Header\r\n\r\n"):
            got = srv.raw(bad)
            assert got.startswith(b"HTTP/1.1 400 "), got

        # many concurrent connections, each with two requests
        errors, oks = [], []

        def client(i):
            try:
                cc = srv.conn()
                for _ in range(2):
                    cc.request("GET", "/users/%d" % i)
                    rr = cc.getresponse()
                    assert rr.status == 200 and rr.read() == b'{"id":%d}' % i
                cc.close()
                oks.append(i)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        ts = [threading.Thread(target=client, args=(i,)) for i in range(48)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        assert not errors, errors[:3]
        assert sorted(oks) == list(range(48))
        assert srv.stop() == 0
    finally:
        srv.kill()


def test_windows_todo_threads_under_wine():
    """Deferred answers completed on other threads wake the loop through the
    loopback socket pair; a stream written from a worker thread; JSON POST."""
    srv = _WineServer(_win_build("todo"))
    try:
        c = srv.conn()
        c.request("POST", "/todos", body=b'{"title":"win"}', headers={"content-type": "application/json"})
        r = c.getresponse()
        assert r.status == 201 and r.read() == b'{"id":1,"title":"win","done":false}'
        c.request("POST", "/todos", body=b'{"title":', headers={"content-type": "application/json"})
        r = c.getresponse()
        assert r.status == 422 and b"json_invalid" in r.read()
        c.request("GET", "/todos/1")
        r = c.getresponse()
        assert r.status == 200 and r.read() == b'{"id":1,"title":"win","done":false}'
        c.close()

        results, errors = [], []

        def slow(i):
            try:
                cc = srv.conn()
                cc.request("GET", "/slow?ms=%d" % (10 + i))
                rr = cc.getresponse()
                results.append((rr.status, rr.read()))
                cc.close()
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

        ts = [threading.Thread(target=slow, args=(i,)) for i in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        assert not errors, errors
        assert sorted(results) == sorted((200, b'{"slept_ms":%d}' % (10 + i)) for i in range(8))

        c = srv.conn()
        c.request("GET", "/export?filler=300")  # ~300 KiB, chunked, from a worker thread
        r = c.getresponse()
        data = r.read()
        assert r.status == 200 and r.getheader("transfer-encoding") == "chunked"
        lines = data.splitlines()
        assert len(lines) == 1 + 300 + 1 and lines[-1] == b'{"count":1}'
        c.close()
        assert srv.stop() == 0
    finally:
        srv.kill()
