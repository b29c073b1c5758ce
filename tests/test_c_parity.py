"""The C decoders against the Python they stand in for.

tests/c/parity_driver.c answers batches of records; each answer is compared
with what FastAPI's stack gives for the same input:

  FR_KV_QUERY  split + decode   urllib.parse.parse_qsl(s, keep_blank_values=True)
  FR_KV_COOKIE split + decode   starlette.requests.cookie_parser
  fr_kv_find LAST / count       dict(pairs)[key] / number of pairs with key
  fr_parse_int/float/bool/uuid  pydantic TypeAdapter(...).validate_python(str)
                                (OK: same value; INVALID: pydantic raises with
                                that error type and message; DEFER: no claim)
  fr_media_is_json              email.message.Message, as fastapi.routing does

Inputs: hand-picked edge cases plus a few thousand seeded random ones built
from the characters that matter to each parser. One driver process per
batch; the whole module runs in a few seconds."""
import email.message
import http.cookies
import math
import os
import random
import struct
import subprocess
import uuid
from urllib.parse import parse_qsl

import pytest
from pydantic import TypeAdapter, ValidationError
from starlette.requests import cookie_parser

from cbuild import ROOT, BUILD, WARN, SAN, ahead, compile_c, have

SEED = 20260
N_RANDOM = 3000


def _build_driver():
    src = os.path.join(ROOT, "tests", "c", "parity_driver.c")
    out = os.path.join(BUILD, "parity", "parity_driver")
    cc = "clang" if have("clang") else "gcc"
    return compile_c(out, [src], ["-O1", "-g"] + SAN + WARN + ["-I", ROOT],
                     [os.path.join(ROOT, "fastrapi.h")], cc=cc)


ahead(_build_driver)


@pytest.fixture(scope="module")
def driver():
    return _build_driver()


def run(driver, records):
    """records: list of (op, bytes). Returns one answer line (str) per record."""
    data = b"".join(op.encode() + struct.pack("<I", len(d)) + d for op, d in records)
    r = subprocess.run([driver], input=data, capture_output=True, timeout=120,
                       env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1"))
    assert r.returncode == 0, r.stderr.decode(errors="replace")[-4000:]
    lines = r.stdout.decode("ascii").split("\n")
    assert lines[-1] == "" and len(lines) == len(records) + 1, (len(lines), len(records))
    return lines[:-1]


def unhex(h):
    return bytes.fromhex(h).decode("utf-8")  # raises if the C output is not UTF-8


def c_pairs(line):
    out = []
    for item in line.split(",")[:-1]:
        k, v = item.split(":")
        out.append((unhex(k), unhex(v)))
    return out


# ---- random inputs ----

KV_TOKENS = (["%", "+", "=", "&", ";", '"', "\\", " ", "\t", "a", "b", "k", "0", "1", "7", "3", "8",
              "A", "c", "C", "e", "E", "f", "F", "%2", "%C3", "%c3", "%A9", "%a9", "%E2%82", "%AC",
              "%F0", "%9F", "%98", "%80", "%BF", "%ED%A0", "%ff", "%00", "%3D", "%26", "%2B", "%20",
              "%g", "%%", "\\0", "\\1", "\\3", "\\4", "\\7", '\\"', "\\\\", "\n", "\r", "\x0b",
              "\x1c", "\x1f", "\x85", "\xa0", "\x84"]
             + [chr(c) for c in range(0x80, 0x100, 7)])
KV_BYTES = [b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b"\xc3", b"\x82", b"\xed\xa0\x80"]


def rand_kv(rng):
    parts = []
    for _ in range(rng.randrange(0, 24)):
        if rng.random() < 0.1:
            parts.append(rng.choice(KV_BYTES))
        else:
            parts.append(rng.choice(KV_TOKENS).encode("latin-1"))
    return b"".join(parts)


INT_TOKENS = ["0", "1", "7", "9", "-", "+", ".", "_", "e", "E", " ", "00", "5", "a", "x", "inf",
              "nan", ",", "\u00a0", "\u0663", "\t", "9223372036854775807", "9223372036854775808",
              "1.0", "0", "\n", "\x00", "__"]
FLOAT_TOKENS = ["0", "1", "2", "9", "-", "+", ".", "e", "E", "_", " ", "inf", "infinity", "nan", "NaN",
                "INF", "i", "n", "f", "a", "t", "y", "x", "0x", "308", "400", "324", "17976931348623157",
                "\u00a0", "\u0661", "\t", "1.5", "e-", "e+", "00", "d", "p"]
BOOL_TOKENS = ["0", "1", "t", "T", "f", "F", "y", "n", "N", "yes", "no", "on", "off", "ON", "Of",
               "true", "TRUE", "false", "fAlse", "tr", "ue", " ", "\t", "\u00a0", "x", "2", ".", "-"]


def rand_from(rng, tokens, hi=6):
    return "".join(rng.choice(tokens) for _ in range(rng.randrange(0, hi)))


def rand_uuid(rng):
    u = uuid.UUID(int=rng.getrandbits(128))
    s = rng.choice([str(u), u.hex, str(u).upper(), u.hex.upper(), "{%s}" % u, "urn:uuid:%s" % u])
    if rng.random() < 0.5:
        s = list(s)
        for _ in range(rng.randrange(1, 3)):
            i = rng.randrange(0, len(s) + 1)
            what = rng.random()
            if what < 0.3 and i < len(s):
                del s[i]
            elif what < 0.6:
                s.insert(i, rng.choice("-0aFg {}_ "))
            elif i < len(s):
                s[i] = rng.choice("-0aFg {}_ x")
        s = "".join(s)
    return s


MEDIA_TOKENS = ["application", "APPLICATION", "Application", "json", "JSON", "/", "+json", "+JSON", "+",
                ";", " ", "\t", "\x85", "\xa0", "\x1c", "\n", "\r", "\x0b", "\x00", "x", "vnd.api",
                "text", "=", '"', "charset=utf-8", "\xc1", "jso", "n", "\x84"]


MEDIA_SPACE = ["", "", " ", "\t", "\x85", "\xa0", "\x1c", "\n", "\x0b", "\x84", "\x00"]


def rand_media(rng):
    if rng.random() < 0.3:  # anything
        return "".join(rng.choice(MEDIA_TOKENS) for _ in range(rng.randrange(0, 9))).encode("latin-1")
    # shaped like a media type, one part possibly off
    parts = [rng.choice(MEDIA_SPACE),
             rng.choice(["application", "APPLICATION", "Application", "applicatio", "text", ""]),
             rng.choice(["/", "/", "/", "//", " /", "/ ", ""]),
             rng.choice(["json", "JSON", "vnd.api+json", "x+JSON", "+json", "x y+json", "jsonx", "x+jso",
                         "a/b+json", ""]),
             rng.choice(MEDIA_SPACE),
             rng.choice(["", "", ";", "; charset=utf-8", ";a/b", "; x=\"a;b\""])]
    return "".join(parts).encode("latin-1")


# ---- hand-picked cases ----

KV_EDGE = [b"", b"&", b"&&", b"=", b"==", b"a", b"a=", b"=a", b"a=b=c", b"a=1&a=2", b"a+b=c+d",
           b"%", b"%2", b"%zz", b"%%41", b"%C3%A9", b"%C3", b"%C3%28", b"%E2%82", b"%E0%80%80",
           b"%ED%A0%80", b"%F0%90%80%41", b"%F4%90%80%80", b"%C3\xa9", b"\xe9=\xff",
           b"\xc3\xa9=%c3%a9", b"a;b=c", b"k=%00", b" a = b ", b"a=1;a=2", b'"q"="v"',
           b'a="x\\"y"', b'a="\\101\\400"', b'a="\\\n"', b'a="', b'a=""', b"\x85a\xa0=\x1cb\x0b",
           b"; ;;", b"a%3Db=c%26d"]
INT_EDGE = ["", " ", "0", "-0", "1", "-1", "+1", "007", "00", "1.0", "1.5", "1.", ".5", "1e3", "abc",
            "1_000", "_1", "1__0", "0-1", "--1", "1-", "inf", "nan", "9223372036854775807",
            "-9223372036854775808", "9223372036854775808", "-9223372036854775809", "1,0", "0x10",
            "\u00a01", "1\u2003", "\u0663", "1.50", "-1.05", "+.5", "1" * 4300, "1" * 4301,
            "a" * 4300, "a" * 4301, "." + "1" * 4299, "NaN", "Infinity", "-Infinity", "1\x00"]
FLOAT_EDGE = ["", " ", "0", "-0", "-0.0", "0.0", "1", "1.5", "-2", "3e8", "3E+8", "2.5e-3", "0.1",
              "1.", ".5", "+1", "01", "1e400", "-1e400", "1e-400", "5e-324", "2.4e-324",
              "1.7976931348623157e308", "1.7976931348623159e308", "9007199254740993",
              "9223372036854775807", "9223372036854775808", "inf", "-inf", "Infinity", "nan", "-NaN",
              "infinit", "nan1", "1_0", "1__0", " 1.5", "1.5 ", "abc", ".", "-", "e5", "1e", "1e+",
              "1.2.3", "--1", "1,5", "0x10", "1" * 64, "1." + "1" * 62, "1." + "1" * 63,
              "0.30000000000000004", "123456789012345678", "2.2250738585072011e-308",
              "4.9406564584124654e-324", "1" * 400, "+1e5", ".5E-3", "1.e+07", "1e5.", "+1e5e5", "+e5"]
BOOL_EDGE = ["", "0", "1", "2", "t", "T", "f", "y", "n", "yes", "YES", "no", "on", "off", "true",
             "False", " true", "true ", "1.0", "01", "-0", "tru", "truex", "\u00a0true", "\uff54rue",
             "true\x00"]
UUID_EDGE = ["", "x", "12345678123456781234567812345678", "12345678-1234-5678-1234-567812345678",
             "{12345678-1234-5678-1234-567812345678}",
             "urn:uuid:12345678-1234-5678-1234-567812345678",
             "ABCDEF78-1234-5678-1234-567812345678", " 12345678-1234-5678-1234-567812345678",
             "12345678-1234-5678-1234-56781234567", "1234567812345678",
             "12345678123456781234-567812345678", "00000000-0000-0000-0000-000000000000",
             "g2345678123456781234567812345678", "123456781234567812345678123456789"]
MEDIA_EDGE = [b"", b" ", b"application", b"application/", b"/json", b"application/json",
              b" Application/JSON ; x=1", b"application /json", b"application/ json", b"application/+json",
              b"application/a/b+json", b"application/json\x85", b"\xa0application/json",
              b"application/json\r\n", b"application/json\n x", b"application/json\x00",
              b"application/x y+json", b";application/json", b"application/json;", b"APPLICATION/X+JSON",
              b"application/json\x1c", b"application\x0b/json", b"text/json", b"application/jsonx"]


# ---- references ----

def py_cookie_pairs(s):
    """starlette.requests.cookie_parser's loop, keeping every pair in order
    (cookie_parser itself returns a dict; it is compared too)."""
    out = []
    for chunk in s.split(";"):
        if "=" in chunk:
            key, val = chunk.split("=", 1)
        else:
            key, val = "", chunk
        key, val = key.strip(), val.strip()
        if key or val:
            out.append((key, http.cookies._unquote(val)))
    return out


def py_is_json(raw):
    m = email.message.Message()
    m["content-type"] = raw.decode("latin-1")
    if m.get_content_maintype() != "application":
        return 0
    sub = m.get_content_subtype()
    return int(sub == "json" or sub.endswith("+json"))


ADAPTERS = {"I": TypeAdapter(int), "F": TypeAdapter(float), "B": TypeAdapter(bool),
            "U": TypeAdapter(uuid.UUID)}


def check_scalar(op, s, line, stats):
    """Compare one driver answer with pydantic. Returns an error text or None."""
    try:
        want, err = ADAPTERS[op].validate_python(s), None
    except ValidationError as e:
        want, err = None, e.errors()[0]
    stats[op, line.split(" ")[0]] += 1
    if line == "DEFER":
        return None
    if line.startswith("INVALID "):
        etype, msg = line[len("INVALID "):].split("|", 1)
        if err is None:
            return "C says invalid, pydantic accepts %r" % (want,)
        if (err["type"], err["msg"]) != (etype, msg):
            return "pydantic says %s / %s, C says %s / %s" % (err["type"], err["msg"], etype, msg)
        return None
    if not line.startswith("OK "):
        return "bad answer %r" % line
    if err is not None:
        return "C accepts, pydantic rejects with %s" % err["type"]
    got = line[3:]
    if op == "I":
        ok = type(want) is int and int(got) == want
    elif op == "F":
        g = float.fromhex(got)
        ok = g == want and math.copysign(1, g) == math.copysign(1, want)
    elif op == "B":
        ok = int(got) == int(want) and type(want) is bool
    else:
        ok = bytes.fromhex(got) == want.bytes
    return None if ok else "C gives %s, pydantic %r" % (got, want)


# ---- tests ----

def test_query_split_decode(driver):
    rng = random.Random(SEED)
    inputs = KV_EDGE + [rand_kv(rng) for _ in range(N_RANDOM)]
    lines = run(driver, [("Q", s) for s in inputs])
    bad = []
    for s, line in zip(inputs, lines):
        want = parse_qsl(s.decode("latin-1"), keep_blank_values=True)
        got = c_pairs(line)
        if got != want:
            bad.append((s, got, want))
    assert not bad, "%d mismatches, first: %r" % (len(bad), bad[0])


def test_cookie_split_decode(driver):
    rng = random.Random(SEED + 1)
    inputs = KV_EDGE + [rand_kv(rng) for _ in range(N_RANDOM)]
    lines = run(driver, [("C", s) for s in inputs])
    bad = []
    for s, line in zip(inputs, lines):
        text = s.decode("latin-1")
        got = c_pairs(line)
        if got != py_cookie_pairs(text) or dict(got) != cookie_parser(text):
            bad.append((s, got, cookie_parser(text)))
    assert not bad, "%d mismatches, first: %r" % (len(bad), bad[0])


def _find_cases(rng, kind):
    cases = []
    for s in KV_EDGE + [rand_kv(rng) for _ in range(N_RANDOM // 2)]:
        text = s.decode("latin-1")
        pairs = parse_qsl(text, keep_blank_values=True) if kind == "q" else py_cookie_pairs(text)
        if pairs:
            cases.append((rng.choice(pairs)[0], s, pairs))
        cases.append((rng.choice(["a", "", "k", "zz", "\u00e9", " "]), s, pairs))
    return cases


@pytest.mark.parametrize("kind", ["q", "c"])
def test_find_last_and_count(driver, kind):
    rng = random.Random(SEED + 2)
    cases = _find_cases(rng, kind)
    recs = [(kind, struct.pack("<I", len(k.encode())) + k.encode() + s) for k, s, _ in cases]
    lines = run(driver, recs)
    bad = []
    found = 0
    for (key, s, pairs), line in zip(cases, lines):
        flag, value, count = line.split(" ")
        d = dict(pairs)
        want_count = sum(1 for k, _ in pairs if k == key)
        if kind == "c":
            assert d == cookie_parser(s.decode("latin-1"))
        if key in d:
            found += 1
            ok = flag == "1" and unhex(value) == d[key]
        else:
            ok = flag == "0"
        if not ok or int(count) != want_count:
            bad.append((key, s, line, d.get(key), want_count))
    assert not bad, "%d mismatches, first: %r" % (len(bad), bad[0])
    assert found > len(cases) // 3  # most keys do get found


def test_scalars(driver):
    rng = random.Random(SEED + 3)
    cases = [("I", s) for s in INT_EDGE] + [("F", s) for s in FLOAT_EDGE] + \
            [("B", s) for s in BOOL_EDGE] + [("U", s) for s in UUID_EDGE]
    for _ in range(N_RANDOM):
        cases.append(("I", rand_from(rng, INT_TOKENS)))
        cases.append(("F", rand_from(rng, FLOAT_TOKENS)))
        cases.append(("B", rand_from(rng, BOOL_TOKENS, 3)))
        cases.append(("U", rand_uuid(rng)))
    lines = run(driver, [(op, s.encode("utf-8")) for op, s in cases])
    stats = {}
    for op in "IFBU":
        for v in ("OK", "INVALID", "DEFER"):
            stats[op, v] = 0
    bad = []
    for (op, s), line in zip(cases, lines):
        e = check_scalar(op, s, line, stats)
        if e:
            bad.append((op, s, line, e))
    assert not bad, "%d mismatches, first: %r" % (len(bad), bad[0])
    # every verdict is exercised (UUID never answers INVALID by design)
    for op in "IFBU":
        assert stats[op, "OK"] > 50, stats
        assert stats[op, "DEFER"] > 5 or op == "B", stats
        assert stats[op, "INVALID"] > 50 or op == "U", stats
    assert stats["U", "INVALID"] == 0


def test_media_is_json(driver):
    rng = random.Random(SEED + 4)
    inputs = MEDIA_EDGE + [rand_media(rng) for _ in range(N_RANDOM)]
    lines = run(driver, [("J", s) for s in inputs])
    bad = [(s, line) for s, line in zip(inputs, lines) if int(line) != py_is_json(s)]
    assert not bad, "%d mismatches, first: %r" % (len(bad), bad[0])
    assert len(inputs) // 25 < sum(int(x) for x in lines) < len(inputs) // 2  # both answers occur
