"""Differential tests for bugs of the Python glue, one app source run on real
FastAPI (fastapi.testclient) and on fastrapi (fastrapi.testclient):

a. default_factory of Query/Body/Header/Form is called per request (a
   counter gives 1, 2, 3; a mutable default is not shared between requests);
b. a request header whose name is longer than 256 bytes reaches
   request.headers whole;
c. urlencoded bodies and query strings: raw UTF-8 and Latin-1 bytes,
   percent-encoding, '+', repeated keys -- a Form() parameter and
   `await request.form()` give what FastAPI gives (Starlette decodes the raw
   field bytes as Latin-1 before unquote_plus);
d. `await request.json()`: valid JSON, invalid JSON (json.JSONDecodeError in
   the handler: raised in the test, or a 500), NaN/Infinity (json.loads
   accepts them).

Every FastAPI answer is also pinned literally, so a change on either side
shows which side moved."""
import http.client
import itertools
import json
import warnings
from typing import List

import pytest

from conftest import framework

FORM = {"content-type": "application/x-www-form-urlencoded"}
LONG = "x" * 300  # a header name longer than 256 bytes


def make_app(fw):
    app = fw.FastAPI()

    def counter():
        it = itertools.count(1)
        return lambda: next(it)

    # ---- a. default_factory (one counter per route)
    q_next, b_next, e_next, h_next, f_next = (counter() for _ in range(5))

    @app.get("/qcount")
    def qcount(n: int = fw.Query(default_factory=q_next)):
        return n

    @app.get("/qlist")
    def qlist(a: List[str] = fw.Query(default_factory=list)):
        a.append("added")  # must not leak into the next request
        return a

    @app.post("/bcount")
    def bcount(n: int = fw.Body(default_factory=b_next)):
        return n

    @app.post("/blist")
    def blist(items: List[int] = fw.Body(default_factory=list)):
        items.append(len(items))
        return items

    @app.post("/bdict")
    def bdict(d: dict = fw.Body(default_factory=dict)):
        d["seen"] = d.get("seen", 0) + 1
        return d

    @app.post("/bembed")
    def bembed(x: int = fw.Body(embed=True), items: List[int] = fw.Body(default_factory=list),
               n: int = fw.Body(default_factory=e_next)):
        items.append(x)
        return {"items": items, "n": n}

    @app.get("/hcount")
    def hcount(n: int = fw.Header(default_factory=h_next)):
        return n

    @app.post("/fcount")
    def fcount(a: str = fw.Form(default="z"), n: int = fw.Form(default_factory=f_next)):
        return [a, n]

    # ---- b. long header names
    @app.get("/headers")
    def headers(request: fw.Request):
        return {"x_names": [k for k in request.headers.keys() if k.startswith("x")],
                "long": request.headers.get(LONG),
                "short": request.headers.get("x-short")}

    @app.get("/header-param")
    def header_param(v: str = fw.Header(alias=LONG, default="missing")):
        return v

    # ---- c. urlencoded bodies and query strings
    @app.post("/form")
    def form(a: str = fw.Form()):
        return a

    @app.post("/formlist")
    def formlist(a: List[str] = fw.Form()):
        return a

    @app.post("/rawform")
    async def rawform(request: fw.Request):
        f = await request.form()
        return {"a": f.get("a"), "all": f.getlist("a"), "items": list(f.multi_items())}

    @app.get("/query")
    def query(a: str = fw.Query()):
        return a

    @app.get("/querylist")
    def querylist(a: List[str] = fw.Query()):
        return a

    @app.get("/rawquery")
    def rawquery(request: fw.Request):
        qp = request.query_params
        return {"a": qp.get("a"), "all": qp.getlist("a"), "items": list(qp.multi_items())}

    # ---- d. request.json()
    @app.post("/json")
    async def rjson(request: fw.Request):
        v = await request.json()
        return {"repr": repr(v), "type": type(v).__name__}

    return app


def _clients(raise_server_exceptions):
    from fastrapi.testclient import TestClient as FRTC
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette: "install httpx2"
        from fastapi.testclient import TestClient as FATC
        fa = FATC(make_app(framework("fastapi")), raise_server_exceptions=raise_server_exceptions)
    fr = FRTC(make_app(framework("fastrapi")), raise_server_exceptions=raise_server_exceptions)
    return fa, fr


@pytest.fixture
def pair():
    """Fresh apps (fresh counters) for each test."""
    fa, fr = _clients(False)
    with fa, fr:
        yield fa, fr


@pytest.fixture
def raising_pair():
    fa, fr = _clients(True)
    with fa, fr:
        yield fa, fr


def answer(r):
    ct = r.headers.get("content-type", "")
    return r.status_code, (r.json() if ct.startswith("application/json") else r.text)


def run(client, steps):
    return [answer(client.request(m, url, **kw)) for m, url, kw in steps]


def same(pair, steps, expected):
    """The steps (method, url, kwargs) in order on both apps: FastAPI gives
    `expected`, fastrapi gives what FastAPI gives."""
    fa, fr = pair
    theirs = run(fa, steps)
    assert theirs == expected  # the reference itself
    ours = run(fr, steps)
    assert ours == theirs


# =====================================================================
# a. default_factory is called per request
# =====================================================================

def test_query_default_factory_counter(pair):
    same(pair, [("GET", "/qcount", {}), ("GET", "/qcount", {}), ("GET", "/qcount?n=10", {}),
                ("GET", "/qcount", {})],
         [(200, 1), (200, 2), (200, 10), (200, 3)])


def test_query_default_factory_list_not_shared(pair):
    same(pair, [("GET", "/qlist", {}), ("GET", "/qlist", {}), ("GET", "/qlist?a=q", {}),
                ("GET", "/qlist", {})],
         [(200, ["added"]), (200, ["added"]), (200, ["q", "added"]), (200, ["added"])])


def test_body_default_factory_counter(pair):
    same(pair, [("POST", "/bcount", {}), ("POST", "/bcount", {}), ("POST", "/bcount", {"json": 7}),
                ("POST", "/bcount", {})],
         [(200, 1), (200, 2), (200, 7), (200, 3)])


def test_body_default_factory_mutable_not_shared(pair):
    same(pair, [("POST", "/blist", {}), ("POST", "/blist", {}), ("POST", "/blist", {"json": [5]}),
                ("POST", "/bdict", {}), ("POST", "/bdict", {}), ("POST", "/bdict", {"json": {"seen": 4}})],
         [(200, [0]), (200, [0]), (200, [5, 1]),
          (200, {"seen": 1}), (200, {"seen": 1}), (200, {"seen": 5})])


def test_embedded_body_default_factory(pair):
    same(pair, [("POST", "/bembed", {"json": {"x": 1}}), ("POST", "/bembed", {"json": {"x": 2}}),
                ("POST", "/bembed", {"json": {"x": 3, "items": [9], "n": 0}}),
                ("POST", "/bembed", {"json": {"x": 4}})],
         [(200, {"items": [1], "n": 1}), (200, {"items": [2], "n": 2}),
          (200, {"items": [9, 3], "n": 0}), (200, {"items": [4], "n": 3})])


def test_header_and_form_default_factory(pair):
    same(pair, [("GET", "/hcount", {}), ("GET", "/hcount", {"headers": {"n": "50"}}),
                ("GET", "/hcount", {}),
                ("POST", "/fcount", {"data": {"a": "q"}}),
                ("POST", "/fcount", {"data": {"a": "q", "n": "40"}}),
                ("POST", "/fcount", {"data": {"a": "r"}})],
         [(200, 1), (200, 50), (200, 2), (200, ["q", 1]), (200, ["q", 40]), (200, ["r", 2])])


# =====================================================================
# b. header names longer than 256 bytes
# =====================================================================

@pytest.mark.parametrize("n", [256, 257, 300, 1000])
def test_long_header_name_through_testclient(pair, n):
    name = "x" * n
    value = "v%d" % n
    expected = {"x_names": ["x-short", name], "long": value if n == 300 else None,
                "short": "s"}
    same(pair, [("GET", "/headers", {"headers": [("X-Short", "s"), (name, value)]})],
         [(200, expected)])


def test_long_header_name_raw_request(pair):
    """The exact bytes on the wire (http.client, no TestClient in between)."""
    fa, fr = pair
    theirs = answer(fa.get("/headers", headers=[("X-Short", "s"), (LONG, "whole")]))
    assert theirs == (200, {"x_names": ["x-short", LONG], "long": "whole", "short": "s"})
    conn = http.client.HTTPConnection("127.0.0.1", fr.port, timeout=10)
    try:
        conn.putrequest("GET", "/headers", skip_accept_encoding=True)
        conn.putheader("X-Short", "s")
        conn.putheader(LONG.upper(), "whole")
        conn.endheaders()
        r = conn.getresponse()
        assert (r.status, json.loads(r.read())) == theirs
    finally:
        conn.close()


def test_long_header_name_as_header_param(pair):
    same(pair, [("GET", "/header-param", {"headers": {LONG: "long"}}),
                ("GET", "/header-param", {})],
         [(200, "long"), (200, "missing")])


# =====================================================================
# c. urlencoded bodies and query strings
# =====================================================================

# (body bytes, FastAPI's value for `a: str = Form()` -- the last one --, for
# `a: List[str] = Form()`)
FORM_CASES = [
    (b"a=\xc3\xa9", "\u00c3\u00a9", ["\u00c3\u00a9"]),  # raw UTF-8: Latin-1 decoded
    (b"a=\xe9", "\u00e9", ["\u00e9"]),                    # a raw Latin-1 byte
    (b"a=%C3%A9", "\u00e9", ["\u00e9"]),                  # percent-encoded UTF-8
    (b"a=%E9", "\ufffd", ["\ufffd"]),                     # percent-encoded, invalid UTF-8
    (b"a=caf\xc3\xa9+%C3%A9", "caf\u00c3\u00a9 \u00e9", ["caf\u00c3\u00a9 \u00e9"]),
    (b"a=+x+", " x ", [" x "]),
    (b"a=1&a=2", "2", ["1", "2"]),
    (b"a=&a=x", "x", ["", "x"]),                          # blank values are kept
]


@pytest.mark.parametrize("body,last,allv", FORM_CASES, ids=[repr(c[0]) for c in FORM_CASES])
def test_urlencoded_form(pair, body, last, allv):
    kw = {"content": body, "headers": FORM}
    same(pair, [("POST", "/form", kw), ("POST", "/formlist", kw), ("POST", "/rawform", kw)],
         [(200, last), (200, allv),
          (200, {"a": last, "all": allv, "items": [["a", v] for v in allv]})])


# The query string goes through httpx on both sides, which percent-encodes
# non-ASCII (raw bytes in a request target are not valid HTTP/1.1: h11 and
# the engine answer 400 to them).
QUERY_CASES = [
    ("a=%C3%A9", "\u00e9", ["\u00e9"]),
    ("a=\u00e9", "\u00e9", ["\u00e9"]),
    ("a=%E9", "\ufffd", ["\ufffd"]),
    ("a=+x+", " x ", [" x "]),
    ("a=%2B", "+", ["+"]),
    ("a=1&a=2", "2", ["1", "2"]),
    ("a=&a=x", "x", ["", "x"]),
]


@pytest.mark.parametrize("qs,last,allv", QUERY_CASES, ids=[c[0] for c in QUERY_CASES])
def test_query_string(pair, qs, last, allv):
    same(pair, [("GET", "/query?" + qs, {}), ("GET", "/querylist?" + qs, {}),
                ("GET", "/rawquery?" + qs, {})],
         [(200, last), (200, allv),
          (200, {"a": last, "all": allv, "items": [["a", v] for v in allv]})])


# =====================================================================
# d. request.json()
# =====================================================================

JSON_OK = [
    (b'{"a": [1, 2.5, null, true]}', "{'a': [1, 2.5, None, True]}", "dict"),
    (b'"x"', "'x'", "str"),
    (b"[NaN, Infinity, -Infinity]", "[nan, inf, -inf]", "list"),
    (b"  1e400 ", "inf", "float"),
    (b'{"a": 1, "a": 2}', "{'a': 2}", "dict"),
]


@pytest.mark.parametrize("body,rep,typ", JSON_OK, ids=[repr(c[0]) for c in JSON_OK])
def test_request_json(pair, body, rep, typ):
    steps = [("POST", "/json", {"content": body, "headers": {"content-type": "application/json"}}),
             ("POST", "/json", {"content": body, "headers": {"content-type": "text/plain"}})]
    same(pair, steps, [(200, {"repr": rep, "type": typ})] * 2)


INVALID_JSON = [b'{"a": ', b"", b"{'a': 1}", b"[1,]"]


@pytest.mark.parametrize("body", INVALID_JSON, ids=repr)
def test_request_json_invalid_is_a_500(pair, body):
    same(pair, [("POST", "/json", {"content": body,
                                   "headers": {"content-type": "application/json"}})],
         [(500, "Internal Server Error")])


@pytest.mark.parametrize("body", INVALID_JSON, ids=repr)
def test_request_json_invalid_raises_in_the_test(raising_pair, body):
    errors = []
    for client in raising_pair:
        with pytest.raises(json.JSONDecodeError) as ei:
            client.post("/json", content=body, headers={"content-type": "application/json"})
        errors.append((ei.value.msg, ei.value.pos))
    assert errors[1] == errors[0]


@pytest.mark.parametrize("name", ["fastapi", "fastrapi"])
def test_none_return_annotation_with_204(name):
    """`-> None` on a 204 route is no response model (FastAPI accepts it;
    fastrapi asserted 'Status code 204 must not have a response body')."""
    fw = framework(name)
    app = fw.FastAPI()

    @app.delete("/x", status_code=204)
    def delete() -> None:
        return None

    assert app.openapi()["paths"]["/x"]["delete"]["responses"] == {
        "204": {"description": "Successful Response"}}
    client = __import__(f"{name}.testclient", fromlist=["TestClient"]).TestClient
    r = client(app).delete("/x")
    assert (r.status_code, r.content) == (204, b"")
