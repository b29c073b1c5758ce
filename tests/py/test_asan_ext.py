"""The Python face's live tests against an AddressSanitizer + UBSan build of
the extension (issue 14): a bounded subset (serving, uploads, WebSockets,
streamed responses, bad input) in a child pytest.

The extension is compiled from fastrapi_py.c with -fsanitize=address,undefined
-fno-sanitize-recover=all into build/asan-ext/ (the in-place release build is
untouched). A sitecustomize.py next to it, on PYTHONPATH, points the import of
``fastrapi._fastrapi`` at that file in the child and in every server the child
spawns (they keep PYTHONPATH). LD_PRELOAD loads the ASan runtime before the
interpreter; detect_leaks=0 because CPython's own allocations outlive exit.
Any sanitizer report aborts the process that hit it: the child pytest fails
(or a spawned server dies and its test fails), and this test also fails on
any report in the output."""
import os
import subprocess
import sys
import sysconfig

import pytest

from helpers import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests"))
from cbuild import ahead, compile_c, have  # noqa: E402

BUILD = os.path.join(ROOT, "build", "asan-ext")
SUBSET = ["tests/py/test_serving.py", "tests/py/test_uploads.py", "tests/py/test_websockets.py",
          "tests/py/test_stream_backpressure.py", "tests/py/test_bad_input.py",
          "tests/py/test_asgi_upload.py", "tests/py/test_request_body_spool.py",
          "tests/py/test_frontend_dependencies.py", "tests/py/test_exception_handler_layers.py",
          "tests/py/test_custom_route_class.py", "tests/py/test_is_disconnected.py",
          "tests/py/test_streaming_body_iterator.py", "tests/py/test_validation_error_context.py"]
# the slowest of the subset (forks, a documentation example, 14 s of generated
# bodies, a 5 s slow reader, the 128 and 32 MiB uploads and bodies) stay in
# the release run only
SKIP = ["tests/py/test_serving.py::test_workers_fork_processes_on_one_port",
        "tests/py/test_serving.py::test_documented_usage_example_in_subprocess",
        "tests/py/test_uploads.py::test_engine_parser_equals_starlettes_on_generated_bodies",
        "tests/py/test_websockets.py::test_slow_reader_gets_everything_in_order",
        "tests/py/test_asgi_upload.py::test_upload_streams_to_disk_in_flat_memory",
        "tests/py/test_asgi_upload.py::test_chunked_upload_streams_too",
        "tests/py/test_request_body_spool.py::test_big_body_in_flat_memory",
        "tests/py/test_request_body_spool.py::test_bridged_requests_spool_big_bodies"]

SITECUSTOMIZE = '''\
# written by tests/py/test_asan_ext.py: import fastrapi._fastrapi from the
# sanitizer build named by FR_ASAN_EXT
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys

_SO = os.environ.get("FR_ASAN_EXT")


class _AsanExt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "fastrapi._fastrapi" or not _SO:
            return None
        return importlib.util.spec_from_file_location(
            name, _SO, loader=importlib.machinery.ExtensionFileLoader(name, _SO))


if _SO:
    sys.meta_path.insert(0, _AsanExt())
'''

# The sanitizer runtime is loaded into the interpreter with LD_PRELOAD of
# clang's libclang_rt.asan-<arch>.so, a Linux (ELF, glibc loader) mechanism;
# macOS would need DYLD_INSERT_LIBRARIES and another runtime. CI is Linux.
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="needs LD_PRELOAD of the Linux ASan runtime into python")


def _runtime():
    r = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True)
    path = r.stdout.strip()
    return path if os.path.isabs(path) and os.path.exists(path) else None


def _build_ext():
    inc = sysconfig.get_paths()["include"]
    so = os.path.join(BUILD, "_fastrapi" + sysconfig.get_config_var("EXT_SUFFIX"))
    tls = os.path.exists("/usr/include/openssl/ssl.h")
    return compile_c(so, [os.path.join(ROOT, "fastrapi_py.c")],
                     ["-shared", "-fPIC", "-g", "-O1", "-std=c11", "-fvisibility=hidden",
                      "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                      "-fno-omit-frame-pointer", "-DFR_ENABLE_ZLIB=1", "-I", ROOT, "-I", inc]
                     + (["-DFR_ENABLE_OPENSSL=1"] if tls else []),
                     deps=[os.path.join(ROOT, "fastrapi.h")],
                     libs=["-lz"] + (["-lssl", "-lcrypto"] if tls else []))


ahead(_build_ext)


@pytest.fixture(scope="module")
def asan_env():
    if not have("gcc") or not _runtime():
        pytest.fail("gcc with libasan missing (Debian: gcc)")
    so = _build_ext()
    site = os.path.join(BUILD, "site")
    os.makedirs(site, exist_ok=True)
    with open(os.path.join(site, "sitecustomize.py"), "w") as f:
        f.write(SITECUSTOMIZE)
    env = dict(os.environ)
    env.update({
        "FR_ASAN_EXT": so,
        "PYTHONPATH": os.pathsep.join([site, ROOT, env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "LD_PRELOAD": _runtime(),
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1:allocator_may_return_null=1",
        "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
        "PYTHONMALLOC": "malloc",  # every object allocation goes through ASan
    })
    return env, so


def test_the_child_imports_the_sanitizer_build(asan_env):
    env, so = asan_env
    code = ("import fastrapi._fastrapi as f; print(f.__file__); "
            "print(f.dumps(f.loads(b'[1,2.5,\"x\",{\"a\":null}]')).decode())")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [so, '[1,2.5,"x",{"a":null}]']
    ldd = subprocess.run(["ldd", so], capture_output=True, text=True).stdout
    assert "libasan" in ldd and "libubsan" in ldd, ldd


def test_live_subset_under_asan_ubsan(asan_env):
    env, _ = asan_env
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                        "-p", "no:randomly"] + SUBSET + ["--deselect=" + t for t in SKIP], env=env, capture_output=True, text=True,
                       timeout=1200, cwd=ROOT)
    out = r.stdout + r.stderr
    for report in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
        assert report not in out, out[-8000:]
    assert r.returncode == 0, out[-8000:]
    assert " passed" in out and " failed" not in out, out[-3000:]
