#!/usr/bin/env python3
"""Long offline check of the double formatter: fastrapi._fastrapi.dumps of
random doubles against repr(), the rule tests/py/test_json_float_exact.py
checks in CI on a few hundred thousand values. Half the values are random
bit patterns (every exponent, subnormals included), half short decimals
parsed from strings (1..17 digits, every decimal exponent). Bounded by
--count and --seconds, whichever comes first; exit status 1 on the first
mismatch, which is printed.

    PYTHONPATH=. python3 fuzz/float_repr_long.py               # 50 million
    PYTHONPATH=. python3 fuzz/float_repr_long.py --count 1e6 --seed 3
"""
import argparse
import array
import math
import random
import sys
import time

from fastrapi import _fastrapi as fr

CHUNK = 100_000


def bit_patterns(rnd, n):
    a = array.array("d", rnd.randbytes(8 * n))
    return [v for v in a if math.isfinite(v)]


def short_decimals(rnd, n):
    out = []
    for _ in range(n):
        digits = rnd.randrange(1, 10 ** rnd.randrange(1, 18))
        out.append(float("%de%d" % (digits, rnd.randrange(-345, 310))))
    return [v for v in out if math.isfinite(v)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=float, default=50e6, help="values to check")
    ap.add_argument("--seconds", type=float, default=1800, help="stop after this long")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    start = time.monotonic()
    done = 0
    while done < args.count and time.monotonic() - start < args.seconds:
        gen = bit_patterns if (done // CHUNK) % 2 == 0 else short_decimals
        vs = gen(rnd, CHUNK)
        vs += [-v for v in vs[:100]]
        if fr.dumps(vs) != ("[" + ",".join(map(repr, vs)) + "]").encode():
            for v in vs:
                got = fr.dumps([v])
                if got != ("[%r]" % v).encode():
                    print("MISMATCH %s: repr %r, dumps %r" % (v.hex(), v, got))
                    return 1
        done += len(vs)
    print("%d values checked in %.0f s, all equal to repr" % (done, time.monotonic() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
