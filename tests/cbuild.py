"""Shared helpers to compile C code from pytest (tests, examples, fuzzers)."""
import os
import shutil
import subprocess
import sys
import threading
import hashlib
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")

WARN = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-Wundef"]
SAN = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]


def have(tool):
    return shutil.which(tool) is not None


def _stamp(paths, args):
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            h.update(f.read())
    h.update(repr(args).encode())
    return h.hexdigest()


_locks = {}                  # out path -> lock held while it is checked or built
_locks_guard = threading.Lock()
_ahead = []                  # (module, want(items), thunk), in import order
_pool = None
_in_pool = threading.local()


def compile_c(out, sources, args, deps=(), cc="gcc", libs=()):
    """Compile sources into `out` unless an identical build exists.
    Raises AssertionError with the compiler output on failure.
    A build of the same `out` already running (ahead, below) is waited for."""
    os.makedirs(os.path.dirname(out), exist_ok=True)
    cmd = cc.split() + list(args) + ["-o", out] + list(sources) + list(libs)
    with _locks_guard:
        lock = _locks.setdefault(out, threading.Lock())
    with lock:
        stamp = _stamp(list(sources) + list(deps), cmd)
        sfile = out + ".stamp"
        if os.path.exists(out) and os.path.exists(sfile):
            with open(sfile) as f:
                if f.read() == stamp:
                    return out
        # a build ahead yields the CPU to the tests running meanwhile
        run = (["nice", "-n", "19"] if getattr(_in_pool, "on", False) and have("nice") else []) + cmd
        r = subprocess.run(run, cwd=ROOT, capture_output=True, text=True)
        if r.returncode != 0:
            raise AssertionError("compile failed: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
        with open(sfile, "w") as f:
            f.write(stamp)
    return out


def ahead(thunk, want=None):
    """Register a build (a call of compile_c's callers) that a test module
    will need: tests/conftest.py starts every wanted one when collection ends,
    in import order, on as many niced compilers as the machine has cores, so
    the C builds overlap the Python tests instead of running one by one
    after them. want(items) says whether the session's items need it (by
    default: any item of the registering module). A build that fails here is
    built again, and reported, by the test that needs it."""
    module = sys._getframe(1).f_globals["__name__"]
    _ahead.append((module, want, thunk))


def _run_ahead(thunk):
    _in_pool.on = True
    try:
        thunk()
    except BaseException:  # noqa: B036 - the test that needs it reports it
        pass


def start_ahead(items):
    global _pool
    modules = {it.module.__name__ for it in items if getattr(it, "module", None) is not None}
    todo = [t for m, want, t in _ahead if (want(items) if want else m in modules)]
    if not todo or _pool is not None:
        return
    _pool = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="cbuild")
    for t in todo:
        _pool.submit(_run_ahead, t)


def stop_ahead():
    """At the session's end: drop what has not started (an interrupted or
    partial run), let a running compiler finish."""
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)


def write_source(path, text):
    """Write a generated source file unless it already holds text; atomically
    (a build ahead may be compiling it meanwhile). Returns path."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        with open(path) as f:
            if f.read() == text:
                return path
    except OSError:
        pass
    tmp = "%s.%d.%d.tmp" % (path, os.getpid(), threading.get_ident())
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    return path


HEADER = os.path.join(ROOT, "fastrapi.h")
# a directory whose "fastrapi.h" gives the declarations even where the file
# including it defines FASTRAPI_IMPLEMENTATION (tests/c/linked/fastrapi.h)
LINKED = os.path.join(ROOT, "tests", "c", "linked")


def flags_tag(flags):
    """A file name part for a set of -D flags ("default" for none)."""
    import re
    return "-".join(re.sub(r"\W+", "_", f).strip("_") for f in flags) or "default"


def engine_object(out, args, cc="gcc"):
    """fastrapi.h's implementation alone, compiled with args into the object
    `out`. A test compiled with -I LINKED links it instead of compiling the
    engine into its own translation unit (the way a program of several files
    uses the header): one engine build serves every test with the same flags."""
    src = write_source(os.path.join(BUILD, "engine", "engine.c"),
                       '#define FASTRAPI_IMPLEMENTATION\n#include "fastrapi.h"\n')
    return compile_c(out, [src], ["-c"] + list(args) + ["-I", ROOT], [HEADER], cc=cc)


def src_files(ext):
    d = os.path.join(ROOT, "src")
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(ext))


def build_example(name, cc="gcc", extra=()):
    """Build examples/c/<name>.c against the amalgamated header."""
    src = os.path.join(ROOT, "examples", "c", name + ".c")
    out = os.path.join(BUILD, "examples", name)
    return compile_c(out, [src], ["-O2"] + WARN + ["-I", ROOT] + list(extra),
                     deps=[os.path.join(ROOT, "fastrapi.h")], cc=cc, libs=["-lpthread", "-lm"])
