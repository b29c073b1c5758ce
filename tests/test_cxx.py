"""fastrapi.h as C++ (issue 13): a C++ program (a game engine) vendors the
header and compiles the implementation with its own compiler.

- the implementation translation unit compiles with g++ and clang++ for
  -std=c++11/14/17/20 under -Wall -Wextra -Werror -Wundef (also with
  FR_ENABLE_ZLIB=1, FASTRAPI_STATIC, FR_ENABLE_LINES) and with zig's clang
  and libc++ (where C++20 deprecates std::atomic_init), natively and for
  macOS (the kqueue backend);
- its exported symbols keep C linkage (fr_ names, nothing mangled), so a
  C-compiled implementation links with C++ callers and the other way round;
- the public declarations alone are clean even under -pedantic
  -Wold-style-cast, FR_STR included;
- every examples/c/*.c compiles as C++ for each standard and compiler;
- C++ builds run: hello, todo (loop threads, a response from another
  thread) and poll (fr_poll) are served live and hit with http.client, and
  tests/c/test_embed.c (the fr_poll/fr_stop/handler contract) runs built
  as C++.

A missing compiler fails (./run-tests installs g++ and clang), never skips.
"""
import glob
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from cbuild import BUILD, ROOT, ahead, compile_c, have, write_source

HEADER = os.path.join(ROOT, "fastrapi.h")
STDS = ["c++11", "c++14", "c++17", "c++20"]
CXXS = ["g++", "clang++"]
CXXWARN = ["-Wall", "-Wextra", "-Werror", "-Wundef"]
OUT = os.path.join(BUILD, "cxx")
EXAMPLES = sorted(os.path.splitext(os.path.basename(p))[0]
                  for p in glob.glob(os.path.join(ROOT, "examples", "c", "*.c")))
IO_TIMEOUT = 10.0
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0


def _need(cxx):
    if not have(cxx):
        pytest.fail("%s missing: ./run-tests installs it (apt-get install g++ clang)" % cxx)


def _write(name, text):
    return write_source(os.path.join(OUT, name), text)


IMPL = '#define FASTRAPI_IMPLEMENTATION\n#include "fastrapi.h"\n'
MODES = {"plain": [], "zlib": ["-DFR_ENABLE_ZLIB=1"],
         "static-lines": ["-DFASTRAPI_STATIC", "-DFR_ENABLE_LINES=1"]}


def _impl_obj(cxx, std, mode="plain"):
    src = _write("impl.cpp", IMPL)
    out = os.path.join(OUT, "impl-%s-%s-%s.o" % (cxx, std, mode))
    return compile_c(out, [src], ["-std=" + std, "-O1", "-c"] + CXXWARN + MODES[mode] + ["-I", ROOT],
                     [HEADER], cc=cxx)


for _cxx in CXXS:
    for _std in STDS:
        ahead(lambda c=_cxx, s=_std: _impl_obj(c, s))
    for _std in ("c++11", "c++20"):
        ahead(lambda c=_cxx, s=_std: _impl_obj(c, s, "zlib"))
    ahead(lambda c=_cxx: _impl_obj(c, "c++17", "static-lines"))


# --------------------------------------------------------------------------
# the implementation as C++

@pytest.mark.parametrize("std", STDS)
@pytest.mark.parametrize("cxx", CXXS)
def test_implementation_compiles_as_cxx(cxx, std):
    _need(cxx)
    assert os.path.getsize(_impl_obj(cxx, std)) > 0


@pytest.mark.parametrize("std", ["c++11", "c++20"])
@pytest.mark.parametrize("cxx", CXXS)
def test_zlib_build_compiles_as_cxx(cxx, std):
    _need(cxx)
    assert os.path.getsize(_impl_obj(cxx, std, "zlib")) > 0


@pytest.mark.parametrize("cxx", CXXS)
def test_static_and_lines_build_as_cxx(cxx):
    _need(cxx)
    obj = _impl_obj(cxx, "c++17", "static-lines")
    r = subprocess.run(["nm", "-g", "--defined-only", obj], capture_output=True, text=True, check=True)
    strong = [ln.split()[2] for ln in r.stdout.splitlines()
              if len(ln.split()) >= 3 and ln.split()[1] in "TDBR"]
    assert strong == [], strong  # FASTRAPI_STATIC: nothing exported


@pytest.mark.parametrize("cxx", CXXS)
def test_cxx_build_exports_c_linkage_fr_names_only(cxx):
    _need(cxx)
    obj = _impl_obj(cxx, "c++17")
    r = subprocess.run(["nm", "-g", "--defined-only", obj], capture_output=True, text=True, check=True)
    names = [ln.split()[2] for ln in r.stdout.splitlines() if len(ln.split()) >= 3]
    assert "fr_app_new" in names and "fr_poll" in names and "fr_str_eq" in names, names[:20]
    bad = [n for n in names if not n.startswith("fr_")]
    assert not bad, "exported without the fr_ prefix or with C++ linkage: %s" % bad


@pytest.mark.parametrize("target,std", [("native", "c++20"), ("x86_64-macos", "c++11")])
def test_zig_libcxx_compiles_implementation(target, std):
    """zig c++ uses LLVM's libc++, which marks std::atomic_init deprecated in
    C++20 (the implementation must not use it); the macOS target compiles
    the kqueue backend as C++."""
    if subprocess.run([sys.executable, "-m", "ziglang", "version"], capture_output=True).returncode != 0:
        pytest.fail("ziglang missing: ./run-tests installs it (pip install ziglang)")
    assert os.path.getsize(_zig_obj(target, std)) > 0


def _zig_obj(target, std):
    src = _write("impl.cpp", IMPL)
    out = os.path.join(OUT, "impl-zig-%s-%s.o" % (target, std))
    return compile_c(out, [src], ["-target", target, "-std=" + std, "-O1", "-c"] + CXXWARN + ["-I", ROOT],
                     [HEADER], cc=sys.executable + " -m ziglang c++")


ahead(lambda: _zig_obj("native", "c++20"))
ahead(lambda: _zig_obj("x86_64-macos", "c++11"))


# --------------------------------------------------------------------------
# the public declarations, for C++ callers with strict flags

USER_CXX = r'''#include "fastrapi.h"
#include <cstdio>
#include <cstring>
static const fr_str k_name = FR_STR("fastrapi");  // a constant, no compound literal
int main() {
    fr_str s = FR_STR("fastrapi");
    fr_buf b = {nullptr, 0, 0};
    int ok = fr_str_eq(s, k_name) && fr_str_eq_c(FR_STR("x"), "x") && s.len == 8;
    ok = ok && fr_buf_printf(&b, "%s/%d", "v", 1) == 0 && b.len == 3 && std::memcmp(b.buf, "v/1", 3) == 0;
    fr_buf_free(&b);
    std::puts(fr_http_reason(404));
    return ok ? 0 : 1;
}
'''
USER_C = r'''#include "fastrapi.h"
#include <stdio.h>
int main(void) {
    fr_str s = FR_STR("fastrapi");
    puts(fr_http_reason(404));
    return fr_str_eq_c(s, "fastrapi") ? 0 : 1;
}
'''


@pytest.mark.parametrize("std", STDS)
@pytest.mark.parametrize("cxx", CXXS)
def test_declarations_strict_cxx(cxx, std):
    _need(cxx)
    assert os.path.getsize(_decl_obj(cxx, std)) > 0


def _decl_obj(cxx, std):
    src = _write("decl.cpp", USER_CXX)
    out = os.path.join(OUT, "decl-%s-%s.o" % (cxx, std))
    return compile_c(out, [src], ["-std=" + std, "-c", "-pedantic", "-Wold-style-cast"] + CXXWARN
                     + ["-I", ROOT], [HEADER], cc=cxx)


for _cxx in CXXS:
    for _std in STDS:
        ahead(lambda c=_cxx, s=_std: _decl_obj(c, s))


@pytest.mark.parametrize("impl_lang", ["c", "c++"])
def test_c_and_cxx_objects_link(impl_lang):
    """The implementation built by one language, called from the other."""
    _need("g++")
    exe = _link_exe(impl_lang)
    r = subprocess.run([exe], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "Not Found\n", (r.returncode, r.stdout, r.stderr)


def _link_exe(impl_lang):
    impl = _write("impl-link.%s" % ("c" if impl_lang == "c" else "cpp"), IMPL)
    user = _write("user-link.%s" % ("cpp" if impl_lang == "c" else "c"), USER_CXX if impl_lang == "c" else USER_C)
    cflags = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-c", "-I", ROOT]
    cxxflags = ["-std=c++11", "-O1", "-c"] + CXXWARN + ["-I", ROOT]
    tag = impl_lang.replace("+", "x")
    impl_o = compile_c(os.path.join(OUT, "link-impl-%s.o" % tag), [impl],
                       cflags if impl_lang == "c" else cxxflags, [HEADER], cc="gcc" if impl_lang == "c" else "g++")
    user_o = compile_c(os.path.join(OUT, "link-user-%s.o" % tag), [user],
                       cxxflags if impl_lang == "c" else cflags, [HEADER], cc="g++" if impl_lang == "c" else "gcc")
    return compile_c(os.path.join(OUT, "link-%s" % tag), [impl_o, user_o], [], [impl_o, user_o], cc="g++",
                     libs=["-lpthread", "-lm"])


ahead(lambda: _link_exe("c"))
ahead(lambda: _link_exe("c++"))


# --------------------------------------------------------------------------
# the C examples as C++

def test_examples_found():
    assert {"hello", "todo", "poll", "di"} <= set(EXAMPLES), EXAMPLES


@pytest.mark.parametrize("std", STDS)
@pytest.mark.parametrize("cxx", CXXS)
@pytest.mark.parametrize("name", EXAMPLES)
def test_example_compiles_as_cxx(name, cxx, std):
    _need(cxx)
    src = os.path.join(ROOT, "examples", "c", name + ".c")
    cmd = [cxx, "-x", "c++", "-std=" + std, "-fsyntax-only"] + CXXWARN + ["-I", ROOT, src]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and not r.stderr, r.stderr


LIVE = {"hello": ("g++", "c++11"), "todo": ("clang++", "c++20"), "poll": ("g++", "c++17")}


def _build_live(name):
    cxx, std = LIVE[name]
    _need(cxx)
    src = os.path.join(ROOT, "examples", "c", name + ".c")
    out = os.path.join(OUT, "examples", "%s-%s-%s" % (name, cxx, std))
    return compile_c(out, [src], ["-x", "c++", "-std=" + std, "-O2"] + CXXWARN + ["-I", ROOT],
                     [HEADER], cc=cxx, libs=["-lpthread", "-lm"])


for _name in LIVE:
    ahead(lambda n=_name: _build_live(n))


class Server:
    """A C++-built example started on port 0; ready once it printed the port."""

    def __init__(self, exe, env=None):
        self.out = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([exe, "0"], stdout=self.out, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, **(env or {})))
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)\n", self.output())
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError("%s did not start:\n%s" % (exe, self.output()))
            time.sleep(0.02)

    def output(self):
        self.out.seek(0)
        return self.out.read().decode("utf-8", "replace")

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=IO_TIMEOUT)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def json(self, method, path, body=None):
        hdrs = {"content-type": "application/json"} if body is not None else {}
        status, _, data = self.request(method, path, body, hdrs)
        return status, (json.loads(data) if data else None)

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("did not stop after %s:\n%s" % (sig, self.output()))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT)


@pytest.fixture
def serve():
    started = []

    def start(name, env=None):
        s = Server(_build_live(name), env)
        started.append(s)
        return s
    yield start
    for s in started:
        s.kill()


def test_cxx_hello_live(serve):
    s = serve("hello")
    status, headers, body = s.request("GET", "/hello")
    assert status == 200 and body == b'{"message":"Hello World"}'
    assert headers["content-type"] == "application/json"
    assert s.json("GET", "/users/42") == (200, {"id": 42})
    assert s.json("GET", "/users/x")[0] == 404  # {id:int} does not match: no route
    assert s.json("GET", "/nope") == (404, {"detail": "Not Found"})
    assert s.json("POST", "/hello", b"") == (405, {"detail": "Method Not Allowed"})
    assert s.stop() == 0, s.output()


def test_cxx_todo_live(serve):
    """Several loop threads (atomics), FR_PENDING answered from a worker
    thread, JSON parse/encode and FastAPI-shaped 422s, all built as C++20."""
    s = serve("todo", {"FR_THREADS": "2"})
    status, t = s.json("POST", "/todos", b'{"title":"c++ build"}')
    assert status == 201 and t["title"] == "c++ build" and t["done"] is False
    assert s.json("GET", "/todos/%d" % t["id"]) == (200, t)
    status, t2 = s.json("PATCH", "/todos/%d" % t["id"], b'{"done":true}')
    assert status == 200 and t2 == dict(t, done=True)
    assert s.json("GET", "/todos/999999") == (404, {"detail": "Todo not found"})
    status, err = s.json("POST", "/todos", b'{"done":true}')
    assert status == 422 and err["detail"][0]["type"] == "missing"
    assert err["detail"][0]["loc"] == ["body", "title"]
    assert s.json("GET", "/slow?ms=20") == (200, {"slept_ms": 20})
    status, headers, _ = s.request("DELETE", "/todos/%d" % t["id"])
    assert status == 204
    assert s.json("GET", "/todos") == (200, [])
    assert s.stop() == 0, s.output()


def test_cxx_poll_live(serve):
    """fr_poll from a host main loop, built as C++17."""
    s = serve("poll")
    status, st = s.json("GET", "/state")
    assert status == 200 and st["x"] == 0 and st["last"] is None
    status, q = s.json("POST", "/command", b'{"cmd":"right"}')
    assert status == 202 and "queued_tick" in q
    for _ in range(500):  # applied at a later tick of the host loop
        st = s.json("GET", "/state")[1]
        if st["applied"] >= 1:
            break
        time.sleep(0.01)
    assert st["applied"] == 1 and st["x"] == 1
    assert s.json("POST", "/command", b'{"cmd":"jump"}')[0] == 422
    assert s.json("GET", "/quit") == (200, {"bye": True})
    assert s.proc.wait(STOP_TIMEOUT) == 0, s.output()
    assert "stopped after" in s.output()


# --------------------------------------------------------------------------
# the embedder contract test, built as C++

EMBED = os.path.join(ROOT, "tests", "c", "test_embed.c")


EMBED_BUILDS = [("g++", "c++11"), ("clang++", "c++20")]


def _embed_exe(cxx, std):
    return compile_c(os.path.join(OUT, "test_embed-%s-%s" % (cxx, std)), [EMBED],
                     ["-x", "c++", "-std=" + std, "-O1", "-g"] + CXXWARN + ["-I", ROOT],
                     [HEADER, os.path.join(ROOT, "tests", "c", "frtest.h")], cc=cxx,
                     libs=["-lpthread", "-lm"])


for _cxx, _std in EMBED_BUILDS:
    ahead(lambda c=_cxx, s=_std: _embed_exe(c, s))


@pytest.mark.parametrize("cxx,std", EMBED_BUILDS)
def test_embed_contract_as_cxx(cxx, std):
    _need(cxx)
    cases = re.findall(r"FRT\((\w+)\)", open(EMBED).read())
    assert len(cases) >= 6
    exe = _embed_exe(cxx, std)
    r = subprocess.run([exe], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(re.findall(r"^PASS (\w+)$", r.stdout, re.M)) == sorted(cases), r.stdout
    assert "%d passed, 0 failed" % len(cases) in r.stdout
