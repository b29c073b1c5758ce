"""fr_http_trusts / fr_http_forwarded (src/http.c) against uvicorn's
ProxyHeadersMiddleware, the rule they implement.

tests/c/proxy_driver.c answers batches of records (ASan + UBSan build); each
answer is compared with what uvicorn's middleware does to an ASGI scope with
the same peer, headers and forwarded_allow_ips:
  T  trusted, host      -> host in _TrustedHosts(trusted)
  F  trusted, peer, headers -> is the peer trusted; the client (host, port)
     and the scheme the middleware writes into the scope (or nothing).
Inputs: hand-picked cases plus seeded random ones built from the characters
that matter (digits, hex, '.', ':', '[', ']', ',', '%', '/', '_', signs,
Python whitespace)."""
import asyncio
import os
import random
import struct
import subprocess

import pytest

from cbuild import ROOT, BUILD, WARN, SAN, ahead, compile_c, have

uvicorn_proxy = pytest.importorskip("uvicorn.middleware.proxy_headers")

SEED = 4127
N_RANDOM = 2500
NULL = None


def _build_driver():
    src = os.path.join(ROOT, "tests", "c", "proxy_driver.c")
    out = os.path.join(BUILD, "parity", "proxy_driver")
    cc = "clang" if have("clang") else "gcc"
    return compile_c(out, [src], ["-O1", "-g"] + SAN + WARN + ["-I", ROOT],
                     [os.path.join(ROOT, "fastrapi.h")], cc=cc)


ahead(_build_driver)


@pytest.fixture(scope="module")
def driver():
    return _build_driver()


def _field(b):
    if b is None:
        return struct.pack("<I", 0xFFFFFFFF)
    return struct.pack("<I", len(b)) + b


def run(driver, records):
    """records: (op, [bytes fields]). One answer line per record."""
    data = b"".join(op.encode() + struct.pack("<I", len(f)) + b"".join(map(_field, f))
                    for op, f in records)
    r = subprocess.run([driver], input=data, capture_output=True, timeout=120,
                       env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1"))
    assert r.returncode == 0, r.stderr.decode(errors="replace")[-4000:]
    lines = r.stdout.decode("ascii").split("\n")
    assert lines[-1] == "" and len(lines) == len(records) + 1
    return lines[:-1]


def py_trusts(trusted: str, host: str) -> str:
    return "1" if host in uvicorn_proxy._TrustedHosts(trusted) else "0"


def py_forwarded(trusted: str, peer: str, headers):
    """(trusted?, client or None, scheme or None) as uvicorn's middleware sets them."""
    seen = {}

    async def inner(scope, receive, send):
        seen.update(scope)

    mw = uvicorn_proxy.ProxyHeadersMiddleware(inner, trusted_hosts=trusted)
    client = (peer, 50000) if peer else None
    scope = {"type": "http", "client": client, "scheme": "orig",
             "headers": [(n.lower(), v) for n, v in headers]}
    asyncio.run(mw(dict(scope), None, None))
    ok = (peer or None) in mw.trusted_hosts
    new_client = seen["client"] if seen["client"] is not client else None
    new_scheme = seen["scheme"] if seen["scheme"] != "orig" else None
    return ok, new_client, new_scheme


def expected_f(trusted: str, peer: str, headers) -> str:
    ok, client, scheme = py_forwarded(trusted, peer, headers)
    host, port = client if client else ("", 0)
    return "%d %s %d %s" % (ok, host.encode("latin-1").hex() or "-", port if client else 0,
                            scheme or "-")


def rec_f(trusted, peer, headers):
    fields = [None if trusted is None else trusted.encode("latin-1"), peer.encode("latin-1")]
    for n, v in headers:
        fields += [n, v]
    return ("F", fields)


# ---- hand-picked

TRUST_CASES = [
    ("127.0.0.1", "127.0.0.1"), ("127.0.0.1", "127.0.0.2"), ("127.0.0.1", "127.000.0.1"),
    ("127.000.0.1", "127.000.0.1"), ("*", ""), ("*", "anything"), ("", ""), (" *", "*"),
    ("127.0.0.1,*", "*"), ("127.0.0.1,*", "1.2.3.4"), ("10.0.0.0/8", "10.255.1.2"),
    ("10.0.0.0/8", "11.0.0.1"), ("10.0.0.1/8", "10.0.0.1"), ("10.0.0.1/8", "10.0.0.1/8"),
    ("10.0.0.0/255.0.0.0", "10.9.9.9"), ("10.0.0.0/0.255.255.255", "10.9.9.9"),
    ("10.0.0.0/255.0.255.0", "10.9.9.9"), ("10.0.0.0/08", "10.1.1.1"), ("0.0.0.0/0", "8.8.8.8"),
    ("0.0.0.0/0", "::1"), ("::/0", "1.2.3.4"), ("::/0", "::1"), ("::1", "::1"),
    ("::1", "0:0:0:0:0:0:0:1"), ("::1", "::01"), ("::1", "::00001"), ("fe80::/10", "fe80::1%eth0"),
    ("fe80::1%eth0", "fe80::1%eth0"), ("fe80::1%eth0", "fe80::1"), ("fe80::1", "fe80::1%eth0"),
    ("fe80::%eth0/64", "fe80::5"), ("::ffff:127.0.0.1", "127.0.0.1"),
    ("::ffff:127.0.0.1", "::ffff:7f00:1"), ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
    ("::1:2:3:4:5:6:7:8", "::1:2:3:4:5:6:7:8"), ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
    ("::1.2.3.4", "::102:304"), ("unix.sock", "unix.sock"), ("unix.sock", "unix.sockx"),
    (" 127.0.0.1 , 10.0.0.0/8 ", "10.1.2.3"), ("127.0.0.1,", ""), ("1.2.3.4/33", "1.2.3.4"),
    ("::/129", "::"), ("1.2.3.4/", "1.2.3.4"), ("1.2.3.4/8/8", "1.2.3.4"),
    ("1.2.3.0/24", "1.2.3.0/24"), ("[::1]", "::1"), ("[::1]", "[::1]"),
]


def test_trusts_hand_picked(driver):
    recs = [("T", [t.encode(), h.encode()]) for t, h in TRUST_CASES]
    got = run(driver, recs)
    for (t, h), g in zip(TRUST_CASES, got):
        assert g == py_trusts(t, h), (t, h, g)


XFF = b"x-forwarded-for"
XFP = b"x-forwarded-proto"

FORWARD_CASES = [
    ("127.0.0.1", "127.0.0.1", [(XFF, b"1.2.3.4"), (XFP, b"https")]),
    ("127.0.0.1", "10.0.0.9", [(XFF, b"1.2.3.4"), (XFP, b"https")]),  # untrusted peer
    ("127.0.0.1", "127.0.0.1", [(b"X-Forwarded-For", b"1.2.3.4:5678")]),
    ("127.0.0.1", "127.0.0.1", [(XFF, b"[::1]:8080")]),
    ("127.0.0.1", "127.0.0.1", [(XFF, b"[::1]")]),
    ("127.0.0.1", "127.0.0.1", [(XFF, b"[::1")]),
    ("127.0.0.1", "127.0.0.1", [(XFF, b"[::1]x")]),
    ("127.0.0.1", "127.0.0.1", [(XFF, b"[::1]:port")]),
    ("127.0.0.1", "127.0.0.1", [(XFF, b"host:port")]),
    ("127.0.0.1", "127.0.0.1", [(XFF, b"1.2.3.4: 80 ")]),
    ("127.0.0.1", "127.0.0.1", [(XFF, b"1.2.3.4:-80")]),
    ("127.0.0.1", "127.0.0.1", [(XFF, b"1.2.3.4:1_000")]),
    ("127.0.0.1", "127.0.0.1", [(XFF, b"1.2.3.4:1__0")]),
    ("127.0.0.1", "127.0.0.1", [(XFF, b"::1")]),
    ("127.0.0.1", "127.0.0.1", [(XFF, b"")]),
    ("127.0.0.1", "127.0.0.1", [(XFF, b" , ")]),
    ("127.0.0.1", "127.0.0.1", [(XFF, b"1.1.1.1, 2.2.2.2, 127.0.0.1")]),
    ("127.0.0.1", "127.0.0.1", [(XFF, b"1.1.1.1, 127.0.0.1, 127.0.0.1")]),
    ("127.0.0.1", "127.0.0.1", [(XFF, b"127.0.0.1, 127.0.0.1")]),
    ("127.0.0.1, 10.0.0.0/8", "127.0.0.1", [(XFF, b"9.9.9.9, 10.1.1.1"), (XFF, b"10.2.2.2")]),
    ("127.0.0.1", "127.0.0.1", [(XFF, b"1.1.1.1"), (XFF, b"2.2.2.2")]),
    ("*", "203.0.113.7", [(XFF, b"1.1.1.1, 2.2.2.2"), (XFF, b"3.3.3.3")]),
    ("*", "", [(XFF, b"1.1.1.1"), (XFP, b"wss")]),
    ("127.0.0.1", "", [(XFF, b"1.1.1.1")]),
    ("127.0.0.1", "127.0.0.1", [(XFP, b"http"), (XFP, b"https")]),
    ("127.0.0.1", "127.0.0.1", [(XFP, b"https"), (XFP, b"ftp")]),
    ("127.0.0.1", "127.0.0.1", [(XFP, b"HTTPS")]),
    ("127.0.0.1", "127.0.0.1", [(XFP, b" https\xa0")]),
    ("127.0.0.1", "127.0.0.1", [(XFP, b"ws")]),
    ("127.0.0.1", "127.0.0.1", [(XFF, b"\xa01.2.3.4\x85")]),
    ("", "127.0.0.1", [(XFF, b"1.2.3.4")]),
    ("127.0.0.1", "127.0.0.1", [(b"x-forwarded-host", b"evil.example")]),
]


def test_forwarded_hand_picked(driver):
    recs = [rec_f(t, p, h) for t, p, h in FORWARD_CASES]
    got = run(driver, recs)
    for (t, p, h), g in zip(FORWARD_CASES, got):
        assert g == expected_f(t, p, h), (t, p, h, g)


def test_forwarded_null_list_trusts_nobody(driver):
    got = run(driver, [rec_f(NULL, "127.0.0.1", [(XFF, b"1.2.3.4"), (XFP, b"https")]),
                       rec_f(NULL, "", [(XFF, b"1.2.3.4")]),
                       ("T", [None, b"127.0.0.1"])])
    assert got == ["0 - 0 -", "0 - 0 -", "0"]


# ---- seeded random

ADDR_CHARS = "0123456789abcdefABCDEF:.%"
ITEM_CHARS = "0123456789abcdef:.[],/% _+-"


def _rand_addr(rnd):
    k = rnd.random()
    if k < 0.25:
        return ".".join(str(rnd.choice([0, 1, 7, 10, 127, 255, 256, "01", "00"]))
                        for _ in range(rnd.choice([3, 4, 4, 4, 5])))
    if k < 0.5:
        groups = [rnd.choice(["", "0", "1", "ff", "FFFF", "12345", "fe80", "a"])
                  for _ in range(rnd.randint(1, 9))]
        s = ":".join(groups)
        if rnd.random() < 0.3:
            s = rnd.choice(["::", ":", ""]) + s
        if rnd.random() < 0.2:
            s += rnd.choice(["::", ":", ":1.2.3.4", "%eth0", "%", "%a%b"])
        return s
    return "".join(rnd.choice(ADDR_CHARS) for _ in range(rnd.randint(0, 18)))


def _canon(s):
    import ipaddress
    try:
        return str(ipaddress.ip_address(s))
    except ValueError:
        return None


def test_address_parsing_random(driver):
    """Random address-like text: trusted (or host) parsed as Python's
    ipaddress parses it -- the canonical form matches iff both read it."""
    rnd = random.Random(SEED)
    cases = []
    for _ in range(N_RANDOM):
        s = _rand_addr(rnd)
        canon = _canon(s) or "1.1.1.1"
        cases.append((s, canon))
        cases.append((canon, s))
    recs = [("T", [t.encode(), h.encode()]) for t, h in cases]
    got = run(driver, recs)
    for (t, h), g in zip(cases, got):
        assert g == py_trusts(t, h), (t, h, g)


def _rand_net(rnd):
    base = rnd.choice(["10.0.0.0", "10.1.0.0", "0.0.0.0", "192.168.1.0", "::", "fe80::", "fd00::",
                       "fe80::%eth0", "1.2.3.4"])
    mask = rnd.choice(["8", "08", "16", "24", "32", "33", "0", "", "255.0.0.0", "0.255.255.255",
                       "255.255.0.0", "255.0.255.0", "10", "64", "128", "129", "x", "8/8"])
    return base + "/" + mask


def _rand_host(rnd):
    return rnd.choice(["10.1.2.3", "10.0.0.1", "11.0.0.1", "192.168.1.77", "192.168.2.1",
                       "fe80::1", "fe80::1%eth0", "fd00::5", "::1", "1.2.3.4", "127.0.0.1",
                       "::ffff:10.1.2.3", "unix", ""])


def test_networks_random(driver):
    rnd = random.Random(SEED + 1)
    cases = []
    for _ in range(N_RANDOM):
        items = [_rand_net(rnd) if rnd.random() < 0.7 else _rand_host(rnd)
                 for _ in range(rnd.randint(1, 3))]
        cases.append((rnd.choice([",", ", ", " ,"]).join(items), _rand_host(rnd)))
    recs = [("T", [t.encode(), h.encode()]) for t, h in cases]
    got = run(driver, recs)
    for (t, h), g in zip(cases, got):
        assert g == py_trusts(t, h), (t, h, g)


def _rand_item(rnd):
    k = rnd.random()
    if k < 0.5:
        h = _rand_host(rnd)
        if rnd.random() < 0.4:
            h = ("[%s]" % h if ":" in h else h) + ":" + rnd.choice(["80", "-1", "1_0", " 9 ", "x", ""])
        return h
    return "".join(rnd.choice(ITEM_CHARS) for _ in range(rnd.randint(0, 12)))


def test_forwarded_random(driver):
    rnd = random.Random(SEED + 2)
    cases = []
    for _ in range(N_RANDOM):
        trusted = rnd.choice(["127.0.0.1", "*", "127.0.0.1, 10.0.0.0/8", "10.0.0.0/8,fe80::/10",
                              "::1", "unix", "", "127.0.0.1,unix,192.168.1.0/24"])
        peer = rnd.choice(["127.0.0.1", "10.9.9.9", "::1", "unix", "", "8.8.8.8"])
        headers = []
        for _ in range(rnd.randint(0, 4)):
            if rnd.random() < 0.6:
                name = rnd.choice([XFF, b"X-Forwarded-For", b"X-FORWARDED-FOR"])
                value = ",".join(_rand_item(rnd) for _ in range(rnd.randint(1, 4)))
            else:
                name = rnd.choice([XFP, b"X-Forwarded-Proto", b"x-forwarded-host"])
                value = rnd.choice(["http", "https", "ws", "wss", "HTTPS", " https ", "ftp", ""])
            headers.append((name, value.encode("latin-1")))
        cases.append((trusted, peer, headers))
    got = run(driver, [rec_f(t, p, h) for t, p, h in cases])
    for (t, p, h), g in zip(cases, got):
        assert g == expected_f(t, p, h), (t, p, h, g)
