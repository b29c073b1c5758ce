"""Run every libFuzzer harness in fuzz/ (clang -fsanitize=fuzzer,address,undefined).

Each harness runs FR_FUZZ_SECONDS (default 60 under CI=true, else 10) and
must finish without a crash, leak or sanitizer report; the empty input is
always run first."""
import os
import subprocess

import pytest

from cbuild import ROOT, BUILD, compile_c, have

FUZZ = os.path.join(ROOT, "fuzz")
HARNESSES = sorted(f[:-2] for f in os.listdir(FUZZ) if f.startswith("fuzz_") and f.endswith(".c")) \
    if os.path.isdir(FUZZ) else []
SECONDS = int(os.environ.get("FR_FUZZ_SECONDS", "60" if os.environ.get("CI") else "10"))


@pytest.mark.parametrize("name", HARNESSES)
def test_fuzz(name, tmp_path):
    if not have("clang"):
        pytest.fail("clang missing: .ci/run installs clang and libclang-rt-14-dev")
    exe = os.path.join(BUILD, "fuzz", name)
    compile_c(exe, [os.path.join(FUZZ, name + ".c")],
              ["-g", "-O1", "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all",
               "-I", ROOT], [os.path.join(ROOT, "fastrapi.h")], cc="clang")
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    r = subprocess.run([exe, str(empty)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-4000:]
    corpus = os.path.join(BUILD, "fuzz", "corpus-" + name)
    os.makedirs(corpus, exist_ok=True)
    seeds = os.path.join(FUZZ, "seeds", name)
    dirs = [corpus] + ([seeds] if os.path.isdir(seeds) else [])
    r = subprocess.run([exe, "-max_total_time=%d" % SECONDS, "-timeout=10", "-rss_limit_mb=2048",
                        "-artifact_prefix=%s/" % tmp_path, "-print_final_stats=1"] + dirs,
                       capture_output=True, text=True, timeout=SECONDS + 120, cwd=str(tmp_path))
    assert r.returncode == 0, "fuzzer found a problem:\n" + r.stderr[-6000:]
    assert "stat::number_of_executed_units" in r.stderr
    execs = int(r.stderr.split("stat::number_of_executed_units:")[1].split()[0])
    assert execs > 1000, "fuzzer barely ran (%d inputs)" % execs
