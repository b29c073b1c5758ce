"""fastrapi._fastrapi.dumps writes every finite double exactly as repr() does.

The engine's double formatter (fr_json_format_double, src/json.c) computes the
shortest round-trip digits itself (Schubfach) and lays them out with repr's
switch to exponent notation (below 1e-4, from 1e16 on). The reference is
repr(v), which json.dumps(v) also writes for every finite float (checked
here too), so a document of floats encodes as "[" + ",".join(map(repr, vs))
+ "]". Covered: 0.0 and -0.0, subnormals (smallest, largest, random), the
normal extremes, every power of two and of ten in range and their
neighbours, both notation switches and their neighbours, integral floats up
to 2^53 and just beyond, 200,000 random bit patterns and 100,000 short
decimals parsed from strings. fuzz/float_repr_long.py runs the same check
on tens of millions of values outside CI."""
import json
import math
import random
import struct
import sys

from fastrapi import _fastrapi as fr

BITS_N = 200_000
SHORT_N = 100_000


def from_bits(b):
    return struct.unpack("<d", struct.pack("<Q", b))[0]


def check(values):
    """dumps(values) == the repr of each; on a mismatch, name the first one."""
    values = [v for v in values if math.isfinite(v)]
    want = ("[" + ",".join(map(repr, values)) + "]").encode()
    got = fr.dumps(values)
    if got != want:
        for v in values:
            assert fr.dumps([v]) == ("[%r]" % v).encode(), (v.hex(), repr(v), fr.dumps([v]))
    assert got == want


def with_neighbours(values, ulps=3):
    out = []
    for v in values:
        out.append(v)
        lo = hi = v
        for _ in range(ulps):
            lo = math.nextafter(lo, -math.inf)
            hi = math.nextafter(hi, math.inf)
            out += [lo, hi]
    return out + [-v for v in out]


def test_json_dumps_is_repr():
    rnd = random.Random(7)
    vs = [from_bits(rnd.getrandbits(64)) for _ in range(2000)] + [0.0, -0.0, 5e-324, 1e16, 1e-4]
    for v in vs:
        if math.isfinite(v):
            assert json.dumps(v) == repr(v)


def test_special_classes():
    check(with_neighbours([
        0.0, 5e-324, 1e-323, from_bits(0x000FFFFFFFFFFFFF), from_bits(0x0008000000000000),
        sys.float_info.min, sys.float_info.max, sys.float_info.epsilon, 1.0, 0.1, 0.3, 1 / 3]))
    check([0.0, -0.0, math.nextafter(0.0, 1.0), -math.nextafter(0.0, 1.0)])
    # every exponent: the smallest, largest and a middle mantissa
    vs = []
    for e in range(2047):
        for m in (0, 1, 2, (1 << 51), (1 << 52) - 1, (1 << 52) - 2, 0x5555555555555):
            vs.append(from_bits(e << 52 | m))
    check(vs)
    check([-v for v in vs])


def test_powers_of_two_and_ten():
    check(with_neighbours([math.ldexp(1.0, e) for e in range(-1074, 1024)], ulps=2))
    tens = [float("1e%d" % e) for e in range(-325, 309)]
    check(with_neighbours([v for v in tens if v], ulps=2))
    check([float("%de%d" % (d, e)) for d in range(1, 10) for e in range(-325, 308)])


def test_notation_switches():
    # repr: exponent notation below 1e-4 and from 1e16 on; digits on both sides
    vs = []
    for base in (1e16, 1e-4, 1e15, 1e17, 1e-5, 1e-3):
        for k in range(1, 18):
            for d in ("1", "9" * k, "1" + "0" * (k - 1) + "1", "5" * k):
                vs.append(float("%s.%se%d" % (d[0], d[1:] or "0", round(math.log10(base)))))
                vs.append(float("%se%d" % (d, round(math.log10(base)) - len(d))))
    check(with_neighbours(vs + [1e16, 1e-4, 9999999999999998.0, 0.0001, 9.999999999999999e-05]))


def test_integral_floats():
    check([float(i) for i in range(0, 100_001)])
    check([float(2 ** 53 + d) for d in range(-8, 9)])
    rnd = random.Random(11)
    check([float(rnd.randrange(0, 2 ** 53)) for _ in range(20_000)])
    check([float(rnd.randrange(0, 10 ** k)) * 10.0 ** rnd.randrange(0, 8) for k in range(1, 17)
           for _ in range(300)])


def test_random_bit_patterns():
    rnd = random.Random(2026)
    check([from_bits(rnd.getrandbits(64)) for _ in range(BITS_N)])


def test_random_short_decimals():
    rnd = random.Random(1729)
    vs = []
    for _ in range(SHORT_N):
        digits = rnd.randrange(1, 10 ** rnd.randrange(1, 18))
        vs.append(float("%de%d" % (digits, rnd.randrange(-340, 300))))
    check(vs + [-v for v in vs[:1000]])
