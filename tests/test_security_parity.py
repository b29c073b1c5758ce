"""fr_security_decide (src/security.c) against REAL FastAPI's security classes.

A small C driver (tests/c/security_driver.c, built against the amalgamated
fastrapi.h) decides every case; the same request is given to FastAPI's own
class: a starlette.requests.Request built from an ASGI scope with the same
headers and query string, `await scheme(request)`. Both must agree on the
value (str, HTTPAuthorizationCredentials scheme + credentials,
HTTPBasicCredentials username + password), on None, or on the
HTTPException (status, detail, headers).

Inputs: hand-picked edge cases plus seeded random ones assembled from
pieces (schemes in various cases, spaces/tabs/Latin-1 whitespace, base64 of
random user:password with non-ASCII and corrupted encodings, percent
escapes, quoted cookies, repeated keys, several Authorization/Cookie/API-key
headers). For several Authorization or API-key headers the C side gets the
first (what fr_security_check reads); for several Cookie headers it gets
them joined with ';' (as security.h documents)."""
import asyncio
import base64
import os
import random
import subprocess

import pytest

from cbuild import ROOT, BUILD, WARN, SAN, ahead, compile_c, have

import fastapi.security as fs
from fastapi import HTTPException as FastAPIHTTPException
from fastapi.security.http import HTTPBase
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

DRIVER = os.path.join(ROOT, "tests", "c", "security_driver.c")
HEADER = os.path.join(ROOT, "fastrapi.h")
SEED = int(os.environ.get("FR_SECURITY_SEED", "20240607"))
N_RANDOM = 400

# kind numbers from security.h (FR_SEC_*)
OAUTH2, OAUTH2_BEARER, OPENID, HTTP_BASE, HTTP_BEARER, HTTP_DIGEST, HTTP_BASIC, \
    APIKEY_HEADER, APIKEY_QUERY, APIKEY_COOKIE = range(1, 11)
OK, NONE, DENY = 0, 1, 2

KEY_HEADER = "x-api-key"
QUERY_NAMES = ["api_key", "k", "\u00e9t\u00e9"]
COOKIE_NAMES = ["session", "sid"]
BASE_SCHEMES = ["bearer", "x509cert", "my-scheme", "Custom", "mIxEd cAsE", ""]
REALMS = [None, "", "my realm", 'q"uote\\']


def schemes():
    """(id, FastAPI instance factory(auto_error), fr_security fields)."""
    out = [
        ("OAuth2PasswordBearer", lambda ae: fs.OAuth2PasswordBearer(tokenUrl="token", auto_error=ae),
         dict(kind=OAUTH2_BEARER)),
        ("OAuth2AuthorizationCodeBearer",
         lambda ae: fs.OAuth2AuthorizationCodeBearer(authorizationUrl="auth", tokenUrl="token",
                                                     auto_error=ae),
         dict(kind=OAUTH2_BEARER)),
        ("OAuth2", lambda ae: fs.OAuth2(auto_error=ae), dict(kind=OAUTH2)),
        ("OpenIdConnect", lambda ae: fs.OpenIdConnect(openIdConnectUrl="/oidc", auto_error=ae),
         dict(kind=OPENID)),
        ("HTTPBearer", lambda ae: fs.HTTPBearer(auto_error=ae), dict(kind=HTTP_BEARER)),
        ("HTTPDigest", lambda ae: fs.HTTPDigest(auto_error=ae), dict(kind=HTTP_DIGEST)),
        ("APIKeyHeader", lambda ae: fs.APIKeyHeader(name=KEY_HEADER, auto_error=ae),
         dict(kind=APIKEY_HEADER, name=KEY_HEADER)),
    ]
    for sc in BASE_SCHEMES:
        out.append(("HTTPBase[%s]" % sc, lambda ae, sc=sc: HTTPBase(scheme=sc, auto_error=ae),
                    dict(kind=HTTP_BASE, scheme=sc)))
    for realm in REALMS:
        out.append(("HTTPBasic[%r]" % (realm,),
                    lambda ae, realm=realm: fs.HTTPBasic(realm=realm, auto_error=ae),
                    dict(kind=HTTP_BASIC, realm=realm)))
    for name in QUERY_NAMES:
        out.append(("APIKeyQuery[%s]" % name.encode("unicode_escape").decode(),
                    lambda ae, name=name: fs.APIKeyQuery(name=name, auto_error=ae),
                    dict(kind=APIKEY_QUERY, name=name)))
    for name in COOKIE_NAMES:
        out.append(("APIKeyCookie[%s]" % name,
                    lambda ae, name=name: fs.APIKeyCookie(name=name, auto_error=ae),
                    dict(kind=APIKEY_COOKIE, name=name)))
    return out


SCHEMES = schemes()

# ---------------------------------------------------------------------------
# inputs: dicts with lists of raw header values (bytes) and a query string


def inp(auth=(), key=(), query=b"", cookie=()):
    return {"auth": [a if isinstance(a, bytes) else a.encode("latin-1") for a in auth],
            "key": [k if isinstance(k, bytes) else k.encode("latin-1") for k in key],
            "query": query if isinstance(query, bytes) else query.encode("latin-1"),
            "cookie": [c if isinstance(c, bytes) else c.encode("latin-1") for c in cookie]}


def b64(s):
    return base64.b64encode(s).decode("ascii")


FIXED = [
    inp(),
    inp(auth=[""]), inp(auth=[" "]), inp(auth=["Bearer"]), inp(auth=["Bearer "]),
    inp(auth=["Bearer tok"]), inp(auth=["bearer tok"]), inp(auth=["BEARER  tok  "]),
    inp(auth=["Bearer\ttok"]), inp(auth=[" Bearer tok"]), inp(auth=["Bearer \xa0tok\x85"]),
    inp(auth=["Digest x"]), inp(auth=["digest"]), inp(auth=["Custom  a b "]),
    inp(auth=["Basic " + b64(b"aladdin:opensesame")]), inp(auth=["basic " + b64(b"u:p:q")]),
    inp(auth=["Basic"]), inp(auth=["Basic "]), inp(auth=["Basic " + b64(b"nocolon")]),
    inp(auth=["Basic " + b64(b"caf\xc3\xa9:x")]), inp(auth=["Basic Og==\xe9"]),
    inp(auth=["Basic Og==trailing"]), inp(auth=["Basic YWxh!ZGRp bjpvcGVu*c2VzYW1l"]),
    inp(auth=["Basic Y"]), inp(auth=["Basic =Og=="]), inp(auth=["Basic O=g="]),
    inp(auth=["Bearer first", "Basic Og=="]), inp(auth=["Basic !!", "Basic Og=="]),
    inp(key=[""]), inp(key=["v"]), inp(key=[" v "]), inp(key=["first", "second"]),
    inp(key=["", "second"]), inp(key=["\xe9\xff"]),
    inp(query="api_key=abc"), inp(query="api_key=1&api_key=2"), inp(query="api_key=1&api_key="),
    inp(query="api_key"), inp(query="api%5Fkey=v"), inp(query="api_key=%C3%A9+%zz%4"),
    inp(query="api_key=%FF%C3"), inp(query=b"api_key=\xe9"), inp(query="&&k=1&&k=+&"),
    inp(query="%C3%A9t%C3%A9=x"), inp(query=b"\xe9t\xe9=y"), inp(query="k=a=b;c"),
    inp(cookie=["session=abc; other=1"]), inp(cookie=["session=1; session=2"]),
    inp(cookie=["session=x; session="]), inp(cookie=["session"]), inp(cookie=['session="a\\"b\\101"']),
    inp(cookie=['session=""']), inp(cookie=["  session  =  v w  "]), inp(cookie=["session=a%20b"]),
    inp(cookie=["sid=a", "sid=b"]), inp(cookie=["sid=a", "sid="]), inp(cookie=["sid=a", "x=1"]),
    inp(cookie=["sid=\xe9"]), inp(cookie=['sid="\\777\\400"']), inp(cookie=['sid="\\\n"']),
]


class Gen:
    """Random inputs from interesting pieces."""

    SCHEME_WORDS = ["Bearer", "bearer", "BEARER", "BeArEr", "Basic", "basic", "BASIC", "bAsIc",
                    "Digest", "digest", "DIGEST", "Custom", "x509cert", "", "Bearer\t", "B\xe9arer",
                    "Bearers", "Basi", "Token"]
    SPACES = ["", " ", "  ", "\t", " \t ", "\xa0", "\x85", "\x1c", "\x0b"]
    LATIN = "abcXYZ019-._~+/=:;,\"'\\ \t\xa0\xe9\xff\x85"
    UTF8_BITS = ["\u00e9", "\u00fc", "\u20ac", "\U0001f600", "\u00ff"]

    def __init__(self, seed):
        self.r = random.Random(seed)

    def pick(self, seq):
        return self.r.choice(seq)

    def text(self, alphabet, lo=0, hi=8):
        return "".join(self.r.choice(alphabet) for _ in range(self.r.randint(lo, hi)))

    def userpass(self):
        parts = []
        for _ in range(2):
            s = self.text("abcXYZ019 :!-", 0, 6)
            if self.r.random() < 0.1:
                s += self.pick(self.UTF8_BITS)
            parts.append(s)
        sep = self.pick([":", ":", ":", "", "::"])
        raw = (parts[0] + sep + parts[1]).encode("utf-8")
        if self.r.random() < 0.05:
            raw += bytes([self.r.randint(0x80, 0xff)])
        return raw

    def basic_param(self):
        enc = b64(self.userpass())
        c = self.r.random()
        if c < 0.6:
            return enc
        ops = [
            lambda e: e.rstrip("="),                                      # padding dropped
            lambda e: e + "=",                                            # extra padding
            lambda e: e[:-1],                                             # truncated
            lambda e: e[:2] + self.pick(["!", " ", "*", "\t", "-", "_"]) + e[2:],  # junk inside
            lambda e: e + self.pick(["==", "junk", "!!", "=x"]),          # after the end
            lambda e: e[:1] + self.pick(["\xe9", "\xff", "\xa0"]) + e[1:],  # non-ASCII
            lambda e: "=" + e,                                            # leading pad
            lambda e: e.lower(),
        ]
        return self.pick(ops)(enc)

    def credential(self):
        c = self.r.random()
        if c < 0.35:
            return self.basic_param()
        if c < 0.45:
            return ""
        return self.text(self.LATIN, 0, 10)

    def authorization(self):
        c = self.r.random()
        if c < 0.1:
            return self.text(self.LATIN, 0, 12)
        lead = self.pick(self.SPACES[:2] + [""] * 10)
        sep = self.pick([" ", " ", " ", "  ", "", "\t"]) + self.pick(self.SPACES[:3])
        if c < 0.5:  # mostly HTTP Basic, mostly well formed
            scheme = self.pick(["Basic", "basic", "BASIC", "bAsIc", "Basic", "Basic", "Basi", "Bearer"])
            sep = self.pick([" "] * 6 + ["  ", "", "\t"])
            return lead + scheme + sep + self.basic_param() + self.pick(self.SPACES)
        return lead + self.pick(self.SCHEME_WORDS) + sep + self.credential() + self.pick(self.SPACES)

    def header_list(self, make, absent=0.25):
        if self.r.random() < absent:
            return []
        return [make() for _ in range(self.pick([1, 1, 1, 2, 3]))]

    def kv_value(self, query):
        bits = ["", "v", "abc", "+", "a+b", "%41", "%c3%a9", "%C3", "%ff", "%zz", "%", "%4", "=",
                "\xe9", "x y", ";"] if query else \
            ["", "v", "abc", '"q"', '"a\\"b"', '"\\101\\060"', '"\\777"', '""', '"', "a b",
             "\xe9", "=", "%41", '"\\\\"', "'s'"]
        return "".join(self.pick(bits) for _ in range(self.r.randint(0, 3)))

    def query(self):
        keys = QUERY_NAMES + ["api%5Fkey", "API_KEY", "%6b", "k+", "%C3%A9t%C3%A9", "\xe9t\xe9", "x",
                              ""]
        parts = []
        for _ in range(self.r.randint(0, 5)):
            k = self.pick(keys)
            if k == "\u00e9t\u00e9":
                k = "%C3%A9t%C3%A9"  # the UTF-8 form as a client sends it
            form = self.r.random()
            if form < 0.1:
                parts.append(k)
            elif form < 0.15:
                parts.append("")
            else:
                parts.append(k + "=" + self.kv_value(True))
        return "&".join(parts)

    def cookie(self):
        keys = COOKIE_NAMES + ["Session", "other", '"sid"', "", "s id"]
        parts = []
        for _ in range(self.r.randint(0, 5)):
            k = self.pick(keys)
            if self.r.random() < 0.1:
                parts.append(self.pick(self.SPACES[:3]) + self.kv_value(False))
            else:
                parts.append(self.pick(self.SPACES[:3]) + k + self.pick(["", " "]) + "=" +
                             self.pick(["", " "]) + self.kv_value(False) + self.pick(self.SPACES[:3]))
        return self.pick([";", "; ", " ;"]).join(parts)

    def one(self):
        return inp(auth=self.header_list(self.authorization),
                   key=self.header_list(lambda: self.pick(["", "v", " x ", "\xe9"]) +
                                        self.text(self.LATIN, 0, 4)),
                   query=self.query() if self.r.random() < 0.8 else "",
                   cookie=self.header_list(self.cookie))


_GEN = Gen(SEED)
CASES = FIXED + [_GEN.one() for _ in range(N_RANDOM)]

# ---------------------------------------------------------------------------
# the C side


def enc(b):
    if b is None:
        return "-"
    if isinstance(b, str):
        b = b.encode("utf-8")
    return "x" + b.hex()


def dec(f):
    return None if f == "-" else bytes.fromhex(f[1:])


def _build_driver():
    exe = os.path.join(BUILD, "security", "security_driver")
    return compile_c(exe, [DRIVER], ["-O1", "-g"] + SAN + WARN + ["-I", ROOT], deps=[HEADER])


ahead(_build_driver)


@pytest.fixture(scope="module")
def driver():
    if not have("gcc"):
        pytest.fail("gcc missing")
    return _build_driver()


def c_inputs(case):
    auth = case["auth"][0] if case["auth"] else None
    key = case["key"][0] if case["key"] else None
    cookie = b";".join(case["cookie"]) if case["cookie"] else None
    return auth, key, case["query"], cookie


@pytest.fixture(scope="module")
def c_results(driver):
    lines, index = [], []
    for sid, _, fields in SCHEMES:
        for ae in (0, 1):
            for ci, case in enumerate(CASES):
                auth, key, query, cookie = c_inputs(case)
                lines.append(" ".join([enc(str(fields["kind"])), enc(str(ae)), enc(fields.get("name")),
                                       enc(fields.get("scheme")), enc(fields.get("realm")),
                                       enc(auth), enc(key), enc(query), enc(cookie)]))
                index.append((sid, ae, ci))
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1", UBSAN_OPTIONS="print_stacktrace=1")
    r = subprocess.run([driver], input="\n".join(lines) + "\n", capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 0, r.stderr[-4000:]
    out = r.stdout.splitlines()
    assert len(out) == len(lines), "driver answered %d of %d lines\n%s" % (len(out), len(lines),
                                                                         r.stderr[-2000:])
    res = {}
    for key, line in zip(index, out):
        rc, a, b, status, detail, ch = line.split(" ")
        res[key] = (int(rc), dec(a), dec(b), int(status), dec(detail), dec(ch))
    return res


# ---------------------------------------------------------------------------
# the FastAPI side


def request_for(case, fields):
    headers = [(b"host", b"test")]
    headers += [(b"authorization", v) for v in case["auth"]]
    headers += [(KEY_HEADER.encode(), v) for v in case["key"]]
    headers += [(b"cookie", v) for v in case["cookie"]]
    scope = {"type": "http", "method": "GET", "path": "/", "raw_path": b"/",
             "query_string": case["query"], "headers": headers, "scheme": "http",
             "server": ("test", 80), "client": ("c", 1), "root_path": "", "http_version": "1.1"}
    return Request(scope)


async def fastapi_all(sid, factory, fields, ae):
    scheme = factory(bool(ae))
    out = []
    for case in CASES:
        try:
            out.append(("value", await scheme(request_for(case, fields))))
        except (FastAPIHTTPException, StarletteHTTPException) as e:
            out.append(("exc", e))
    return out


def describe(case):
    return {k: v for k, v in case.items() if v}


def compare(kind, expected, got):
    """None if they agree, else a message."""
    rc, a, b, status, detail, ch = got
    tag, val = expected
    if tag == "exc":
        want = (DENY, None, None, val.status_code, val.detail.encode(),
                dict(val.headers or {}))
        if list(want[5]) != ["WWW-Authenticate"]:
            return "unexpected FastAPI headers %r" % (val.headers,)
        have_ = (rc, a, b, status, detail,
                 {"WWW-Authenticate": ch.decode("utf-8")} if ch is not None else None)
        if have_ != want:
            return "FastAPI raised %r %r %r; C gave %r" % (val.status_code, val.detail, val.headers, got)
        return None
    if val is None:
        if got != (NONE, None, None, 0, None, None):
            return "FastAPI returned None; C gave %r" % (got,)
        return None
    if rc != OK or status != 0 or detail is not None or ch is not None or a is None:
        return "FastAPI returned %r; C gave %r" % (val, got)
    # decode C's bytes the way the engine documents them
    if kind in (APIKEY_QUERY, APIKEY_COOKIE):
        text = lambda x: x.decode("utf-8")  # noqa: E731
    elif kind == HTTP_BASIC:
        text = lambda x: x.decode("ascii")  # noqa: E731
    else:
        text = lambda x: x.decode("latin-1")  # noqa: E731
    if isinstance(val, str):
        ok = type(val) is str and text(a) == val and b is None
    elif isinstance(val, fs.HTTPBasicCredentials):
        ok = kind == HTTP_BASIC and (text(a), text(b)) == (val.username, val.password)
    elif isinstance(val, fs.HTTPAuthorizationCredentials):
        ok = kind in (HTTP_BASE, HTTP_BEARER, HTTP_DIGEST) and \
            (text(a), text(b)) == (val.scheme, val.credentials)
    else:
        return "unexpected FastAPI value %r" % (val,)
    return None if ok else "FastAPI returned %r; C gave %r" % (val, got)


@pytest.mark.parametrize("ae", [1, 0], ids=["auto_error", "no_auto_error"])
@pytest.mark.parametrize("sid,factory,fields", SCHEMES, ids=[s[0] for s in SCHEMES])
def test_parity(sid, factory, fields, ae, c_results):
    expected = asyncio.run(fastapi_all(sid, factory, fields, ae))
    bad, seen = [], set()
    for ci, (case, exp) in enumerate(zip(CASES, expected)):
        msg = compare(fields["kind"], exp, c_results[(sid, ae, ci)])
        if msg:
            bad.append("case %d %r: %s" % (ci, describe(case), msg))
        tag, val = exp
        seen.add("deny" if tag == "exc" else "none" if val is None else "ok")
    assert not bad, "%d of %d cases differ:\n%s" % (len(bad), len(CASES), "\n".join(bad[:10]))
    # the inputs must reach every outcome this class can give
    want = {"ok", "deny"} | ({"none"} if not ae else set())
    if not ae and fields["kind"] != HTTP_BASIC:
        want.discard("deny")  # only HTTPBasic denies without auto_error
    assert want <= seen, "outcomes reached: %r" % (seen,)
    if not ae and fields["kind"] != HTTP_BASIC:
        assert "deny" not in seen


def test_inputs_are_varied():
    """The generator covers what the parity tests are meant to exercise."""
    rnd = CASES[len(FIXED):]
    assert len(rnd) == N_RANDOM
    assert sum(len(c["auth"]) > 1 for c in rnd) >= 20
    assert sum(len(c["cookie"]) > 1 for c in rnd) >= 20
    assert sum(len(c["key"]) > 1 for c in rnd) >= 20
    assert sum(b"%" in c["query"] for c in rnd) >= 50
    assert sum(any(a[:6].lower() == b"basic " for a in c["auth"]) for c in rnd) >= 50
    assert sum(any(any(ch >= 0x80 for ch in a) for a in c["auth"]) for c in rnd) >= 20
    assert len({repr(c) for c in rnd}) > N_RANDOM * 0.9
