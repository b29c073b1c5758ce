"""Shared helpers to compile C code from pytest (tests, examples, fuzzers)."""
import os
import shutil
import subprocess
import hashlib

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


def compile_c(out, sources, args, deps=(), cc="gcc", libs=()):
    """Compile sources into `out` unless an identical build exists.
    Raises AssertionError with the compiler output on failure."""
    os.makedirs(os.path.dirname(out), exist_ok=True)
    cmd = cc.split() + list(args) + ["-o", out] + list(sources) + list(libs)
    stamp = _stamp(list(sources) + list(deps), cmd)
    sfile = out + ".stamp"
    if os.path.exists(out) and os.path.exists(sfile):
        with open(sfile) as f:
            if f.read() == stamp:
                return out
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError("compile failed: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    with open(sfile, "w") as f:
        f.write(stamp)
    return out


def src_files(ext):
    d = os.path.join(ROOT, "src")
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(ext))


def build_example(name, cc="gcc", extra=()):
    """Build examples/c/<name>.c against the amalgamated header."""
    src = os.path.join(ROOT, "examples", "c", name + ".c")
    out = os.path.join(BUILD, "examples", name)
    return compile_c(out, [src], ["-O2"] + WARN + ["-I", ROOT] + list(extra),
                     deps=[os.path.join(ROOT, "fastrapi.h")], cc=cc, libs=["-lpthread", "-lm"])
