"""fastrapi._fastrapi.dumps/loads used before any app was served.

The codec needs classes the Python face registers on first serve; calling it
first used to crash the interpreter (a NULL class pointer: SIGSEGV on
dumps(b"x"), dumps(object()), dumps([set()])). Each call runs in a fresh
interpreter, as the crash needs a module nobody has set up."""
import subprocess
import sys

import pytest

from helpers import ROOT

CASES = [
    ("dumps({'a': [1, 2.5, None, True]})", "b'{\"a\":[1,2.5,null,true]}'"),
    ("dumps(b'x')", "b'\"x\"'"),
    ("loads(b'[1,{\"k\":\"v\"}]')", "[1, {'k': 'v'}]"),
    ("dumps(bytearray(b'ab'))", None),
    ("dumps(object())", None),
    ("dumps([set()])", "b'[[]]'"),
    ("loads(b'[1,')", None),
]


@pytest.mark.parametrize("expr,want", CASES, ids=[c[0] for c in CASES])
def test_codec_before_setup(expr, want):
    code = ("import fastrapi._fastrapi as f\n"
            f"try:\n    print(repr(f.{expr}))\n"
            "except Exception as e:\n    print('raised', type(e).__name__)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       cwd=ROOT)
    assert p.returncode == 0, (p.returncode, p.stderr[-2000:])  # -11 was the crash
    out = p.stdout.strip()
    if want is not None:
        assert out == want
    else:
        assert out  # a value or a Python exception, never a crash
