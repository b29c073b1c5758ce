"""The single header: generated from src/, clean under every compiler, and
exporting only fr_-prefixed symbols (mongoose's prefix check)."""
import os
import subprocess
import sys

import pytest

from cbuild import ROOT, BUILD, WARN, ahead, compile_c, have, write_source

HEADER = os.path.join(ROOT, "fastrapi.h")
IMPL = ('#define FASTRAPI_IMPLEMENTATION\n#include "fastrapi.h"\n'
        "int fr_test_anchor(void);\nint fr_test_anchor(void) { return 0; }\n")
TEXT = {"plain": IMPL, "static": "#define FASTRAPI_STATIC\n" + IMPL,
        "lines": "#define FR_ENABLE_LINES 1\n" + IMPL,
        "declarations-only": '#include "fastrapi.h"\nint fr_x(void);\n'
                             "int fr_x(void) { return (int)sizeof(fr_str); }\n"}


def _obj(mode, out_name, cc="gcc"):
    """The translation unit of `mode` compiled to build/header/<out_name>.o."""
    src = write_source(os.path.join(BUILD, "header", "impl-%s.c" % mode), TEXT[mode])
    out = os.path.join(BUILD, "header", out_name + ".o")
    return compile_c(out, [src], ["-c", "-O1"] + WARN + ["-I", ROOT], [HEADER], cc=cc)


def test_amalgamation_is_current():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "amalgamate"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_amalgamate_detects_stale_header(tmp_path):
    stale = tmp_path / "fastrapi.h"
    stale.write_text(open(HEADER).read() + "/* edited by hand */\n")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "amalgamate"), "--check", "-o", str(stale)],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "stale" in r.stderr


COMPILERS = [("gcc", "gcc"), ("clang", "clang"),
             ("zig", sys.executable + " -m ziglang cc")]


def _have_zig():
    return subprocess.run([sys.executable, "-m", "ziglang", "version"],
                          capture_output=True).returncode == 0


MODES = ["plain", "static", "lines", "declarations-only"]
for _mode in MODES:
    for _name, _cc in COMPILERS:
        ahead(lambda m=_mode, n=_name, c=_cc: _obj(m, "%s-%s" % (n, m), c))


@pytest.mark.parametrize("name,cc", COMPILERS)
@pytest.mark.parametrize("mode", MODES)
def test_header_compiles(name, cc, mode):
    if name == "clang" and not have("clang"):
        pytest.fail("clang missing: .ci/run installs it (apt-get install clang)")
    if name == "zig" and not _have_zig():
        pytest.fail("ziglang missing: .ci/run installs it (pip install ziglang)")
    out = _obj(mode, "%s-%s" % (name, mode), cc)
    assert os.path.getsize(out) > 0


def test_exported_symbols_are_prefixed():
    out = _obj("plain", "gcc-plain")  # the object test_header_compiles checks
    r = subprocess.run(["nm", "-g", "--defined-only", out], capture_output=True, text=True, check=True)
    bad = []
    names = []
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            names.append(parts[2])
            if not parts[2].startswith("fr_"):
                bad.append(parts[2])
    assert names, "no symbols exported at all?"
    assert not bad, "exported without fr_ prefix: %s" % bad


def test_static_build_exports_nothing_but_anchor():
    out = _obj("static", "gcc-static")
    r = subprocess.run(["nm", "-g", "--defined-only", out], capture_output=True, text=True, check=True)
    names = [ln.split()[2] for ln in r.stdout.splitlines() if len(ln.split()) >= 3]
    assert names == ["fr_test_anchor"], names


def test_header_opens_with_docs_and_example():
    head = open(HEADER).read(6000)
    assert "FASTAPI_IMPLEMENTATION" not in head
    assert "#define FASTRAPI_IMPLEMENTATION" in head
    assert "FR_MAX_BODY_BYTES" in head and "fr_app_new" in head


def test_manual_is_sectioned():
    """The manual at the top has sokol_app.h's sections (issue 13)."""
    intro = open(HEADER).read().split("#ifndef FASTRAPI_H", 1)[0]
    for section in ["USAGE", "OPTIONS", "EXAMPLE", "HANDLERS", "THREADING MODEL",
                    "MEMORY AND OWNERSHIP", "ERROR REPORTING", "EMBEDDING IN A HOST'S LOOP",
                    "PLATFORMS", "VERSION"]:
        assert "\n * " + section in intro, section
    for name in ["fr_poll_ex", "fr_app_pollfd", "FR_PENDING", "fr_err", "FASTRAPI_VERSION_MAJOR"]:
        assert name in intro, name


def test_every_option_is_guarded():
    """Every FR_* option default is behind #ifndef (never an unguarded define)."""
    text = open(os.path.join(ROOT, "src", "config.h")).read().splitlines()
    for i, line in enumerate(text):
        s = line.strip()
        if s.startswith("#define FR_") and not s.startswith("#define FR_API"):
            name = s.split()[1].split("(")[0]
            window = "\n".join(text[max(0, i - 3):i])
            assert ("#ifndef " + name) in window or "#ifndef FR_MALLOC" in window or \
                name in ("FR_REALLOC", "FR_FREE"), "unguarded option " + name


def test_feature_macro_order_gives_clear_error(tmp_path):
    """Under -std=c11 the implementation needs POSIX declarations: a system
    header included before fastrapi.h gets a clear #error, not 30 cascades;
    -D_GNU_SOURCE or including fastrapi.h first both work."""
    bad = tmp_path / "bad.c"
    bad.write_text('#include <stdio.h>\n#define FASTRAPI_IMPLEMENTATION\n#include "fastrapi.h"\n'
                   "int main(void) { return 0; }\n")
    r = subprocess.run(["gcc", "-std=c11", "-I", ROOT, "-c", str(bad), "-o", str(tmp_path / "b.o")],
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert "include fastrapi.h before any system header" in r.stderr
    r = subprocess.run(["gcc", "-std=c11", "-D_GNU_SOURCE"] + WARN[1:] + ["-I", ROOT, "-c", str(bad),
                        "-o", str(tmp_path / "b.o")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    good = tmp_path / "good.c"
    good.write_text('#define FASTRAPI_IMPLEMENTATION\n#include "fastrapi.h"\n#include <stdio.h>\n'
                    "int main(void) { puts(fr_http_reason(404)); return 0; }\n")
    exe = tmp_path / "good"
    r = subprocess.run(["gcc"] + WARN + ["-I", ROOT, str(good), "-o", str(exe), "-lpthread"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert subprocess.run([str(exe)], capture_output=True, text=True).stdout == "Not Found\n"
