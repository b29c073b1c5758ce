"""Run every libFuzzer harness in fuzz/ (clang -fsanitize=fuzzer,address,undefined).

All harnesses start together (the machine has 2 cores; running them side by
side keeps CI short) and each runs FR_FUZZ_SECONDS of wall time (default 60
under CI=true, else 10). Each must finish without a crash, leak or sanitizer
report; the empty input is run first, alone."""
import os
import re
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from cbuild import ROOT, BUILD, HEADER, LINKED, ahead, compile_c, engine_object, flags_tag, have

FUZZ = os.path.join(ROOT, "fuzz")
HARNESSES = sorted(f[:-2] for f in os.listdir(FUZZ) if f.startswith("fuzz_") and f.endswith(".c")) \
    if os.path.isdir(FUZZ) else []
SECONDS = int(os.environ.get("FR_FUZZ_SECONDS", "60" if os.environ.get("CI") else "10"))


def _flags(src):
    """A harness may declare `FUZZ_FLAGS: -DFR_ENABLE_ZLIB=1 -lz` in a comment;
    -l options go to the link line, the rest to the compiler."""
    flags = sum((m.split() for m in re.findall(r"FUZZ_FLAGS:([^\n*]*)", open(src).read())), [])
    return [f for f in flags if not f.startswith("-l")], [f for f in flags if f.startswith("-l")]


OPT = ["-g", "-O1", "-fno-sanitize-recover=all"]


def _engine(cflags):
    """The engine for the harnesses with these FUZZ_FLAGS: instrumented for
    coverage like the harness (fuzzer-no-link: no libFuzzer main in it)."""
    return engine_object(os.path.join(BUILD, "fuzz", "engine-%s.o" % flags_tag(cflags)),
                         OPT + ["-fsanitize=fuzzer-no-link,address,undefined"] + cflags, cc="clang")


def _build(name):
    """The harness linked with the engine compiled once (_engine): the same
    program as the one-file build in the harness's comment, without
    compiling fastrapi.h's implementation again for each harness."""
    exe = os.path.join(BUILD, "fuzz", name)
    src = os.path.join(FUZZ, name + ".c")
    cflags, libs = _flags(src)
    return compile_c(exe, [src, _engine(cflags)],
                     OPT + ["-fsanitize=fuzzer,address,undefined", "-I", LINKED] + cflags,
                     [HEADER, os.path.join(LINKED, "fastrapi.h")], cc="clang", libs=libs)


for _cf in sorted({tuple(_flags(os.path.join(FUZZ, n + ".c"))[0]) for n in HARNESSES}):
    ahead(lambda c=list(_cf): _engine(c))
for _name in HARNESSES:
    ahead(lambda n=_name: _build(n))


@pytest.fixture(scope="module")
def campaign():
    """Build every harness, check the empty input, then start all campaigns."""
    if not have("clang"):
        pytest.fail("clang missing: .ci/run installs clang and libclang-rt-14-dev")
    work = tempfile.mkdtemp(prefix="frfuzz-")
    empty = os.path.join(work, "empty")
    open(empty, "wb").close()
    runs = {}
    # every harness built first, one compiler per core (a campaign started
    # while others compile would slow the builds and shorten its own run)
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        builds = {name: pool.submit(_build, name) for name in HARNESSES}
        for f in builds.values():
            f.exception()
    for name in HARNESSES:
        try:
            exe = builds[name].result()
        except AssertionError as e:
            runs[name] = ("build", str(e))
            continue
        r = subprocess.run([exe, empty], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            runs[name] = ("empty", r.stderr[-4000:])
            continue
        corpus = os.path.join(BUILD, "fuzz", "corpus-" + name)
        os.makedirs(corpus, exist_ok=True)
        seeds = os.path.join(FUZZ, "seeds", name)
        dirs = [corpus] + ([seeds] if os.path.isdir(seeds) else [])
        art = os.path.join(work, name)
        os.makedirs(art)
        log = open(os.path.join(work, name + ".log"), "w+")
        p = subprocess.Popen([exe, "-max_total_time=%d" % SECONDS, "-timeout=10", "-rss_limit_mb=1536",
                              "-artifact_prefix=%s/" % art, "-print_final_stats=1"] + dirs,
                             stdout=log, stderr=subprocess.STDOUT, cwd=art)
        runs[name] = ("run", (p, log))
    yield runs
    for kind, data in runs.values():
        if kind == "run" and data[0].poll() is None:
            data[0].kill()
            data[0].wait()


@pytest.mark.parametrize("name", HARNESSES)
def test_fuzz(name, campaign):
    kind, data = campaign[name]
    if kind == "build":
        pytest.fail(data)
    assert kind == "run", "the empty input failed:\n" + data
    p, log = data
    try:
        rc = p.wait(timeout=SECONDS + 180)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        pytest.fail("fuzzer did not stop after %d s" % (SECONDS + 180))
    log.seek(0)
    out = log.read()
    assert rc == 0, "fuzzer found a problem:\n" + out[-6000:]
    assert "stat::number_of_executed_units" in out
    execs = int(out.split("stat::number_of_executed_units:")[1].split()[0])
    assert execs > 1000, "fuzzer barely ran (%d inputs)" % execs


ATHERIS_SECONDS = int(os.environ.get("FR_ATHERIS_SECONDS", "5"))


def test_atheris_json_builder(tmp_path):
    """fuzz/atheris_json.py (the Python-object JSON builder: loads, dumps, a
    request body into a handler) for a few seconds from its seeds; long runs:
    fuzz/run_long.sh."""
    import sys
    try:
        import atheris  # noqa: F401
    except ImportError:
        pytest.fail("atheris missing: run-tests installs it (pip install atheris)")
    corpus = os.path.join(BUILD, "fuzz", "corpus-atheris_json")
    os.makedirs(corpus, exist_ok=True)
    r = subprocess.run([sys.executable, os.path.join(FUZZ, "atheris_json.py"),
                        "-max_total_time=%d" % ATHERIS_SECONDS, "-timeout=10", "-print_final_stats=1",
                        "-artifact_prefix=%s/" % tmp_path, corpus,
                        os.path.join(FUZZ, "seeds", "atheris_json")],
                       capture_output=True, text=True, timeout=ATHERIS_SECONDS + 180, cwd=str(tmp_path))
    out = r.stdout + r.stderr
    assert r.returncode == 0, "atheris found a problem:\n" + out[-6000:]
    execs = int(out.split("stat::number_of_executed_units:")[1].split()[0])
    assert execs > 100, "atheris barely ran (%d inputs)" % execs
