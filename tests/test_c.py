"""Build and run the C unit tests (tests/c/test_*.c) in several variants.

Each C test case becomes one pytest item per variant, so counts are real:
  gcc      -O2, amalgamated fastrapi.h
  asan     clang (gcc if no clang), -O1, AddressSanitizer + UBSan, amalgamated
  src      gcc -O0, the unamalgamated src/*.c compiled file by file
In gcc and asan, a test that uses only the public API is compiled against
the declarations (tests/c/linked/fastrapi.h) and linked with one object of
the implementation, compiled from fastrapi.h with the same compiler and
flags (one per variant and FRT_CFLAGS: 6 objects) instead of compiling the
engine into each file. A test that reaches into the engine (OWN_TU: it
replaces FR_MALLOC, or reads internals under FASTRAPI_IMPLEMENTATION_DONE)
keeps it in its own TU (5 files: 16 engine compiles for the two variants
where there were 68).
Cases are discovered from the FRT(name) entries in each file (no compile at
collection time); each binary runs once per session and items read the result.
The binaries are compiled ahead (cbuild.ahead: from the start of the
session, in the order the items run, by as many niced compilers as the
machine has cores), so compiling overlaps the tests that run before.
"""
import os
import re
import subprocess
import threading

import pytest

from cbuild import ROOT, BUILD, WARN, SAN, ahead, compile_c, have, src_files, engine_object, flags_tag, LINKED, HEADER

CDIR = os.path.join(ROOT, "tests", "c")
ASAN_CC = "clang" if have("clang") else "gcc"
VARIANTS = ["gcc", "asan", "src"]


def discover():
    out = []
    for fn in sorted(os.listdir(CDIR)):
        if fn.startswith("test_") and fn.endswith(".c"):
            text = open(os.path.join(CDIR, fn)).read()
            m = re.search(r"frt_cases\[\]\s*=\s*\{(.*?)\};", text, re.S)
            names = re.findall(r"FRT\((\w+)\)", m.group(1)) if m else []
            out.append((fn[:-2], names))
    return out


CASES = discover()


def _file_flags(src):
    """A test may declare `FRT_CFLAGS: ...` / `FRT_LIBS: ...` comment lines
    (e.g. -DFR_ENABLE_ZLIB=1 / -lz); the amalgamated variants use them, the
    src variant keeps the defaults src/ is built with."""
    text = open(src).read()
    get = lambda key: sum((m.split() for m in re.findall(r"%s:([^\n*]*)" % key, text)), [])  # noqa: E731
    return get("FRT_CFLAGS"), get("FRT_LIBS")


# what a test that needs the implementation in its own translation unit uses
OWN_TU = ("FR_MALLOC", "FASTRAPI_IMPLEMENTATION_DONE", "FRT_UNAMALGAMATED", "frt_wake_sets",
          "frt_own_wake_set")
FLAGS = {"gcc": (["-O2", "-g"], "gcc"), "asan": (["-O1", "-g"] + SAN, ASAN_CC)}


def _own_tu(src):
    text = open(src).read()
    return any(word in text for word in OWN_TU)


def _impl(variant, cflags):
    """The implementation, compiled from fastrapi.h alone with the variant's
    compiler and flags plus a test's FRT_CFLAGS."""
    opt, cc = FLAGS[variant]
    return engine_object(os.path.join(BUILD, "ctests", variant + "-engine", flags_tag(cflags) + ".o"),
                         opt + WARN + cflags, cc=cc)


def _build(mod, variant):
    src = os.path.join(CDIR, mod + ".c")
    deps = [os.path.join(CDIR, "frtest.h")]
    libs = ["-lpthread", "-lm"]
    out = os.path.join(BUILD, "ctests", variant, mod)
    cflags, extra_libs = _file_flags(src)
    if variant in FLAGS:
        opt, cc = FLAGS[variant]
        if _own_tu(src):
            return compile_c(out, [src], opt + WARN + cflags + ["-I", ROOT], deps + [HEADER], cc=cc,
                             libs=libs + extra_libs)
        impl = _impl(variant, cflags)
        return compile_c(out, [src, impl], opt + WARN + cflags + ["-I", LINKED],
                         deps + [HEADER, os.path.join(LINKED, "fastrapi.h")], cc=cc,
                         libs=libs + extra_libs)
    # src: compile every src/*.c separately (once: the builds run in parallel), then link
    objs = []
    with _SRC_OBJS:
        for c in src_files(".c"):
            o = os.path.join(BUILD, "ctests", "src-obj", os.path.basename(c)[:-2] + ".o")
            compile_c(o, [c], ["-c", "-O0", "-g"] + WARN + ["-I", os.path.join(ROOT, "src")],
                      src_files(".h"))
            objs.append(o)
    inc = ["-DFRT_UNAMALGAMATED", "-I", os.path.join(CDIR, "unamalg"), "-I", os.path.join(ROOT, "src")]
    return compile_c(out, [src] + objs, ["-O0", "-g"] + WARN + inc,
                     deps + src_files(".h"), libs=libs)


_results = {}
_SRC_OBJS = threading.Lock()


def _wanted(key):
    """Whether the session runs an item of this file built from key."""
    def want(items):
        return any(getattr(it, "module", None) is _THIS and getattr(it, "callspec", None) is not None
                   and (it.callspec.params["mod"], it.callspec.params["variant"]) == key for it in items)
    return want


def results(mod, variant):
    key = (mod, variant)
    if key not in _results:
        try:
            exe = _build(mod, variant)  # built ahead (cbuild.ahead) or now
        except AssertionError as e:
            _results[key] = ("build", str(e))
            return _results[key]
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
                   UBSAN_OPTIONS="print_stacktrace=1")
        try:
            r = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
            out, err, rc = r.stdout, r.stderr, r.returncode
        except subprocess.TimeoutExpired as e:
            out, err, rc = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or ""), "timeout", -1
        per = {}
        for line in out.splitlines():
            m = re.match(r"(PASS|FAIL) (\w+)(?:: (.*))?$", line)
            if m:
                per[m.group(2)] = (m.group(1), m.group(3) or "")
        _results[key] = ("ran", (per, out, err, rc))
    return _results[key]


PARAMS = [pytest.param(mod, case, variant, id="%s-%s-%s" % (variant, mod, case))
          for variant in VARIANTS for mod, names in CASES for case in names]


_THIS = __import__("sys").modules[__name__]


def _wanted_impl(variant, cflags):
    def want(items):
        return any(_wanted((mod, variant))(items) for mod, _ in CASES
                   if _file_flags(os.path.join(CDIR, mod + ".c"))[0] == cflags
                   and not _own_tu(os.path.join(CDIR, mod + ".c")))
    return want


for _variant in VARIANTS:  # in the order the items run
    if _variant in FLAGS:  # the implementation objects first: most files link one
        for _cf in sorted({tuple(_file_flags(os.path.join(CDIR, m + ".c"))[0]) for m, _ in CASES}):
            ahead(lambda v=_variant, c=list(_cf): _impl(v, c), _wanted_impl(_variant, list(_cf)))
    for _mod, _names in CASES:
        ahead(lambda m=_mod, v=_variant: _build(m, v), _wanted((_mod, _variant)))


@pytest.mark.parametrize("mod,case,variant", PARAMS)
def test_c_case(mod, case, variant):
    kind, data = results(mod, variant)
    if kind == "build":
        pytest.fail(data)
    per, out, err, rc = data
    if case not in per:
        # the binary died before reporting this case (crash / sanitizer abort)
        pytest.fail("case did not report (exit %s)\nstdout tail:\n%s\nstderr tail:\n%s"
                    % (rc, out[-2000:], err[-4000:]))
    status, msg = per[case]
    assert status == "PASS", msg


@pytest.mark.parametrize("mod", [m for m, _ in CASES])
@pytest.mark.parametrize("variant", VARIANTS)
def test_c_binary_clean_exit(mod, variant):
    """Whole binary: exit status 0 and no sanitizer report (leaks at exit)."""
    kind, data = results(mod, variant)
    if kind == "build":
        pytest.fail(data)
    per, out, err, rc = data
    assert rc == 0, "exit %s\n%s\n%s" % (rc, out[-2000:], err[-4000:])
    assert "Sanitizer" not in err, err[-4000:]
