"""Starlette's SessionMiddleware run by the engine (fr_app_use_session; the
glue puts Starlette's Session in request.scope, fastrapi._native_mw decides):
the same app source served by FastAPI under uvicorn and by fastrapi's native
server over real HTTP must answer the same status, headers (Set-Cookie
attributes, Vary) and body; a cookie minted by one is read by the other;
tampered, expired and future cookies give an empty session; a validly signed
payload that is not a JSON object is a 500 on both; Session + CORS + GZip
layer as Starlette's stack does. Set-Cookie values carry the signing second:
the payload part is compared byte for byte, the timestamp and signature are
verified with itsdangerous instead (two servers may sign in different
seconds)."""
import asyncio
import base64
import json
import re
import time

import httpx
import itsdangerous
import pytest

from conftest import framework
from helpers import Uvicorn

SECRET = "s3cret-\u00e9-key"
BIG = "".join(chr(97 + (i * 7 + i // 13) % 26) for i in range(3000))


def routes(app, fw):
    R = fw.responses
    Request = fw.Request

    def sess_dep(request: Request):
        request.session["dep"] = "yes"
        return request.session

    @app.get("/set")
    def set_(request: Request, k: str = "user", v: str = "alice"):
        request.session[k] = v
        return {"session": dict(request.session)}

    @app.get("/incr")
    async def incr(request: Request):
        request.session["n"] = request.session.get("n", 0) + 1
        return {"n": request.session["n"]}

    @app.get("/get")
    def get(request: Request):
        return dict(request.session)

    @app.get("/clear")
    def clear(request: Request):
        request.session.clear()
        return {"cleared": True}

    @app.get("/pop-missing")
    def pop_missing(request: Request):
        return {"v": request.session.pop("zz", None)}

    @app.get("/untouched")
    def untouched():
        return {"ok": 1}

    @app.get("/dep")
    def dep(s=fw.Depends(sess_dep)):
        return {"keys": sorted(s)}

    @app.get("/unicode")
    def uni(request: Request):
        request.session["name"] = "J\u00fcrgen \u2603 \"q\" </>"
        request.session["list"] = [1, 2.5, None, True, {"a": "b"}]
        return {"ok": True}

    @app.get("/stream")
    def stream(request: Request):
        request.session["streamed"] = 1
        return R.StreamingResponse(iter([b"a" * 300, b"b" * 300]), media_type="text/plain")

    @app.get("/big")
    def big(request: Request):
        request.session["big"] = True
        return R.PlainTextResponse(BIG)

    @app.get("/http-error")
    def http_error(request: Request):
        request.session["err"] = 1
        raise fw.HTTPException(status_code=418, detail="teapot")

    @app.get("/boom")
    def boom(request: Request):
        request.session["boom"] = 1
        raise ValueError("boom")

    @app.get("/not-json")
    def not_json(request: Request):
        request.session["x"] = object()
        return {"ok": 1}


def make_app(fw, opts, extra=()):
    from starlette.middleware.sessions import SessionMiddleware
    app = fw.FastAPI()
    for cls, kw in extra:
        app.add_middleware(cls, **kw)
    app.add_middleware(SessionMiddleware, secret_key=SECRET, **opts)
    routes(app, fw)
    return app


def layered_app(fw):
    """GZip innermost, Session, CORS outermost (with credentials)."""
    from starlette.middleware.cors import CORSMiddleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.middleware.sessions import SessionMiddleware
    app = fw.FastAPI()
    app.add_middleware(GZipMiddleware, minimum_size=100)
    app.add_middleware(SessionMiddleware, secret_key=SECRET, same_site="none", https_only=True)
    app.add_middleware(CORSMiddleware, allow_origins=["https://a.example"], allow_credentials=True,
                       allow_methods=["GET"], allow_headers=["x-h"])
    routes(app, fw)
    return app


def seed_import_app(fw):
    """The seed's `from fastrapi.middleware import SessionMiddleware` (FastAPI's
    side: fastapi has no sessions module; Starlette's class, as the seed's is)."""
    if fw.name == "fastrapi":
        from fastrapi.middleware import SessionMiddleware
        from fastrapi.middleware.sessions import SessionMiddleware as S2
        assert S2 is SessionMiddleware
    else:
        from starlette.middleware.sessions import SessionMiddleware
    from starlette.middleware import Middleware
    app = fw.FastAPI(middleware=[Middleware(SessionMiddleware, secret_key=SECRET,
                                            session_cookie="seed_sess", max_age=3600)])
    routes(app, fw)
    return app


CONFIGS = {
    "default": dict(),
    "named_no_max_age": dict(session_cookie="sid", max_age=None, path="/", same_site="strict"),
    "path_domain": dict(path="/api", domain="example.com", max_age=60),
    "secure_none": dict(same_site="none", https_only=True, partitioned=True, max_age=1),
    "max_age_zero": dict(max_age=0),
}


def cookie_name(opts):
    return opts.get("session_cookie", "session")


def sign(payload: bytes, ts=None, secret=SECRET):
    class S(itsdangerous.TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) if ts is None else ts
    return S(secret).sign(base64.b64encode(payload)).decode()


def sign_raw(payload: bytes, ts):
    """Signed as is, not base64-encoded first (a cookie whose payload is not base64)."""
    class S(itsdangerous.TimestampSigner):
        def get_timestamp(self):
            return ts
    return S(SECRET).sign(payload).decode()


def mint(data, **kw):
    return sign(json.dumps(data).encode(), **kw)


_servers = {}


def servers(name):
    if name not in _servers:
        if name == "layered":
            make = layered_app
        elif name == "seed":
            make = seed_import_app
        else:
            def make(fw, _o=CONFIGS[name]):
                return make_app(fw, _o)
        fa_app, fr_app = make(framework("fastapi")), make(framework("fastrapi"))
        _servers[name] = (Uvicorn(fa_app), fr_app._start_background("127.0.0.1", 0), fr_app)
    return _servers[name]


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    for fa, fr, _ in _servers.values():
        fa.close()
        fr.stop()
    _servers.clear()


DROP = {"date", "server", "connection", "keep-alive"}
SETC = re.compile(r"^([^=]*)=([^.;]*)\.([^.;]*)\.([^.;]*)(;.*)$")


def norm_cookie(v, secret=SECRET):
    """name=<payload>.TS.SIG; attrs with the signature verified."""
    m = SETC.match(v)
    if not m:
        return v  # the clearing cookie: "name=null; ..."
    name, payload, ts, sig, attrs = m.groups()
    itsdangerous.TimestampSigner(secret).unsign(f"{payload}.{ts}.{sig}")  # raises if bad
    return f"{name}={payload}.TS.SIG{attrs}"


def raw(client, method, url, headers):
    h = {"host": "testserver", "accept-encoding": "identity"}
    h.update(headers)
    with client.stream(method, url, headers=h) as r:
        body = b"".join(r.iter_raw())
        items = []
        for k, v in r.headers.multi_items():
            k = k.lower()
            if k in DROP:
                continue
            items.append((k, norm_cookie(v) if k == "set-cookie" else v))
        return r.status_code, sorted(items), body


def both(name, method, url, headers):
    fa, fr, _ = servers(name)
    with httpx.Client(base_url=f"http://127.0.0.1:{fa.port}", timeout=30) as ca, \
            httpx.Client(base_url=f"http://127.0.0.1:{fr.port}", timeout=30) as cb:
        return raw(ca, method, url, headers), raw(cb, method, url, headers)


def cookies_now(opts):
    """The cookies a request list refers to, minted when the test runs (a
    list built at collection would age). With a max_age under a minute
    every cookie that would be signed now is 100 s old instead: expired for
    both servers whatever second each request falls in (signed in this
    second, a max_age=0 cookie is valid or expired depending on whether the
    second turns between the two servers' requests)."""
    now = int(time.time())
    short = opts.get("max_age", 1) is not None and opts.get("max_age", 60) < 60
    ts = now - 100 if short else now  # every cookie signed "now", not only "good"
    good = mint({"user": "bob", "n": 41}, ts=ts)
    return {
        "cn": cookie_name(opts),
        "good": good,
        "empty": mint({}, ts=ts),
        "old": mint({"user": "old"}, ts=now - 100000),
        "future": mint({"user": "future"}, ts=now + 100000),
        "tampered": good[:-2] + ("A" if good[-2] != "A" else "B") + good[-1],
        "other_secret": mint({"user": "x"}, ts=ts, secret="another"),
        "not_json": sign(b"not json at all", ts=ts),
        "a_list": sign(b"[1, 2]", ts=ts),
        "not_b64": sign_raw(b"!!!%%%", ts=ts),
    }


def requests_for():
    """(method, url, headers); header values are formatted with cookies_now()."""
    def ck(kind):
        return {"cookie": "{cn}={%s}" % kind}
    out = [
        ("GET", "/untouched", {}),
        ("GET", "/untouched", ck("good")),
        ("GET", "/set", {}),
        ("GET", "/set?k=a&v=%C3%A9", ck("good")),
        ("GET", "/incr", ck("good")),
        ("GET", "/get", {}),
        ("GET", "/get", ck("good")),
        ("GET", "/get", ck("empty")),
        ("GET", "/get", ck("tampered")),
        ("GET", "/get", ck("other_secret")),
        ("GET", "/get", {"cookie": "{cn}=garbage"}),
        ("GET", "/get", {"cookie": "{cn}="}),
        ("GET", "/get", {"cookie": "other={good}"}),
        ("GET", "/get", {"cookie": "{cn}=garbage; {cn}={good}"}),
        ("GET", "/clear", {}),
        ("GET", "/clear", ck("good")),
        ("GET", "/clear", ck("tampered")),
        ("GET", "/clear", ck("empty")),
        ("GET", "/pop-missing", ck("good")),
        ("GET", "/dep", ck("good")),
        ("GET", "/unicode", {}),
        ("GET", "/stream", ck("good")),
        ("GET", "/http-error", ck("good")),
        ("GET", "/boom", ck("good")),
        ("GET", "/not-json", {}),
        ("GET", "/nope", ck("good")),
        ("POST", "/get", ck("good")),
        ("GET", "/untouched", ck("not_json")),
        ("GET", "/get", ck("a_list")),
        ("GET", "/get", ck("not_b64")),
        ("GET", "/get", ck("old")),  # max_age None: no expiry, read whatever its age
        ("GET", "/get", ck("future")),
    ]
    return out


def cases():
    for name in CONFIGS:
        for i, (m, u, h) in enumerate(requests_for()):
            yield pytest.param(name, m, u, h, id=f"{name}-{i}-{m}-{u}")


@pytest.mark.parametrize("name,method,url,headers", list(cases()))
def test_same_answer_as_fastapi(name, method, url, headers):
    c = cookies_now(CONFIGS[name])
    a, b = both(name, method, url, {k: v.format(**c) for k, v in headers.items()})
    assert b == a


def test_each_option_in_set_cookie():
    """Not only equal to Starlette: the attributes each option asks for."""
    want = {
        "default": "; path=/; Max-Age=1209600; httponly; samesite=lax",
        "named_no_max_age": "; path=/; httponly; samesite=strict",
        "path_domain": "; path=/api; Max-Age=60; httponly; samesite=lax; domain=example.com",
        "secure_none": "; path=/; Max-Age=1; httponly; samesite=none; secure; partitioned",
        "max_age_zero": "; path=/; Max-Age=0; httponly; samesite=lax",
    }
    for name, attrs in want.items():
        _, fr, _ = servers(name)
        r = httpx.get(f"http://127.0.0.1:{fr.port}/set")
        (sc,) = r.headers.get_list("set-cookie")
        assert sc.startswith(cookie_name(CONFIGS[name]) + "=eyJ1c2VyIjogImFsaWNlIn0=.")
        assert sc.endswith(attrs), (name, sc)
        assert r.headers["vary"] == "Cookie"


def test_cookies_cross_both_ways():
    """A session written by Starlette is read by fastrapi and the reverse,
    across a chain of updates (users stay logged in across a switch)."""
    fa, fr, _ = servers("default")
    ua, ub = f"http://127.0.0.1:{fa.port}", f"http://127.0.0.1:{fr.port}"
    jar = None
    expect = 0
    for i in range(6):
        base = ua if i % 2 == 0 else ub
        cookies = {"session": jar} if jar else {}
        r = httpx.get(base + "/incr", cookies=cookies)
        expect += 1
        assert r.json() == {"n": expect}
        jar = r.cookies["session"]
        got = httpx.get((ub if i % 2 == 0 else ua) + "/get", cookies={"session": jar}).json()
        assert got == {"n": expect}
    # a logged-in session from Starlette, cleared by fastrapi, is gone on Starlette too
    r = httpx.get(ub + "/clear", cookies={"session": jar})
    assert r.headers["set-cookie"].startswith("session=null; path=/; expires=Thu, 01 Jan 1970")


def test_tampered_and_expired_are_empty():
    _, fr, _ = servers("path_domain")  # max_age=60
    base = f"http://127.0.0.1:{fr.port}"
    good = mint({"user": "bob"})
    assert httpx.get(base + "/get", cookies={"session": good}).json() == {"user": "bob"}
    # tamper the signature's FIRST character: its last one carries unused
    # base64 bits, and a change there can decode to the same signature
    body, _, sig = good.rpartition(".")
    tampered = body + "." + ("x" if sig[0] != "x" else "y") + sig[1:]
    for bad in (tampered, good.replace("eyJ", "eyK", 1),
                mint({"user": "bob"}, ts=int(time.time()) - 61 - 5),
                mint({"user": "bob"}, ts=int(time.time()) + 3600), mint({"user": "bob"}, secret="x")):
        r = httpx.get(base + "/get", cookies={"session": bad})
        assert r.status_code == 200 and r.json() == {}, bad
        assert "set-cookie" not in r.headers


LAYERED = [
    ("GET", "/big", {"accept-encoding": "gzip", "origin": "https://a.example"}),
    ("GET", "/big", {"accept-encoding": "gzip"}),
    ("GET", "/set", {"origin": "https://a.example"}),
    ("GET", "/get", {"origin": "https://evil.example", "cookie": "session=" + mint({"a": 1})}),
    ("GET", "/stream", {"accept-encoding": "gzip", "origin": "https://a.example"}),
    ("OPTIONS", "/set", {"origin": "https://a.example", "access-control-request-method": "GET",
                         "access-control-request-headers": "x-h", "cookie": "session=x"}),
    ("GET", "/untouched", {"accept-encoding": "gzip", "origin": "https://a.example"}),
    ("GET", "/clear", {"origin": "https://a.example", "cookie": "session=" + mint({"a": 1})}),
]


@pytest.mark.parametrize("i", range(len(LAYERED)))
def test_session_with_cors_and_gzip(i):
    a, b = both("layered", *LAYERED[i])
    assert b == a


@pytest.mark.parametrize("url", ["/set", "/get", "/clear", "/untouched"])
def test_seed_import_path(url):
    hdr = {"cookie": "seed_sess=" + mint({"user": "seed"})}
    a, b = both("seed", "GET", url, hdr)
    assert b == a


@pytest.mark.parametrize("name", list(CONFIGS) + ["layered", "seed"])
def test_runs_in_the_engine(name):
    """The session middleware is in the engine app's chain and the app never
    built Starlette's Python stack."""
    _, fr, fr_app = servers(name)
    assert httpx.get(f"http://127.0.0.1:{fr.port}/get").status_code == 200
    want = 3 if name == "layered" else 1
    assert fr_app._servers[-1].middleware_count() == want
    assert fr_app.middleware_stack is None


def test_other_options_keep_starlettes_class():
    """A max_age Starlette writes as a float, or a subclass, stays Python:
    still the same answers as FastAPI."""
    from starlette.middleware.sessions import SessionMiddleware

    class MySession(SessionMiddleware):
        pass

    for cls, kw in ((SessionMiddleware, dict(max_age=60.5)), (MySession, {})):
        fw = framework("fastrapi")
        app = fw.FastAPI()
        app.add_middleware(cls, secret_key=SECRET, **kw)
        routes(app, fw)
        run = app._start_background("127.0.0.1", 0)
        try:
            r = httpx.get(f"http://127.0.0.1:{run.port}/set")
            assert r.status_code == 200
            assert app.middleware_stack is not None
            if kw:
                assert "Max-Age=60.5;" in r.headers["set-cookie"]
        finally:
            run.stop()


def test_bad_options_fail_like_starlette():
    """No secret_key: Starlette raises when its stack is built (the first
    request); fastrapi keeps the class, so the request fails the same."""
    from starlette.middleware.sessions import SessionMiddleware
    from fastrapi import _native_mw
    results = []
    for name in ("fastapi", "fastrapi"):
        fw = framework(name)
        app = fw.FastAPI()
        app.add_middleware(SessionMiddleware)
        routes(app, fw)
        if name == "fastrapi":
            assert _native_mw.plan(app) is None

        async def go():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                await c.get("/get")
        with pytest.raises(TypeError) as e:
            asyncio.run(go())
        results.append(str(e.value))
    assert results[0] == results[1]


async def _asgi(app, reqs):
    out = []
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        for m, u, h in reqs:
            r = await c.request(m, u, headers=h)
            items = sorted((k, norm_cookie(v) if k == "set-cookie" else v)
                           for k, v in r.headers.multi_items() if k not in DROP)
            out.append((r.status_code, items, r.content))
    return out


def test_asgi_face_same_as_fastapi():
    c = cookies_now({})
    reqs = [(m, u, {k: v.format(**c) for k, v in h.items()})
            for m, u, h in requests_for() if u != "/stream"]
    fa_app = make_app(framework("fastapi"), {})
    fr_app = make_app(framework("fastrapi"), {})
    a = asyncio.run(_asgi(fa_app, reqs))
    b = asyncio.run(_asgi(fr_app, reqs))
    for req, x, y in zip(reqs, a, b):
        assert y == x, req
    assert fr_app.middleware_stack is None
