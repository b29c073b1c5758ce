"""The seed's (FastrAPI's) extras, decided in the engine: route keywords
cache_resp=True and rate_limit=N, the Instrumentator (Prometheus metrics kept
in C, aggregated across workers=N) and the seed's top-level exports.

Rate-limit windows are the engine's CLOCK_MONOTONIC seconds, the clock
Python's time.monotonic() reads on Linux: a burst that starts and ends in the
same second must see exactly N allowed; a burst that straddles a second
boundary is retried (bounded), never judged by a duration."""
import http.client
import textwrap
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

import fastrapi
from fastrapi import FastrAPI, Instrumentator, APIRouter
from fastrapi.testclient import TestClient

from helpers import free_port, raw_request, spawn


def _families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def _sample(fams, family, name, **labels):
    for s in fams[family].samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None


def _burst(do, n):
    """n calls of do() -> statuses, all inside one engine second (retried).
    The limiter's windows are whole seconds of the monotonic clock: a burst
    starts just after a second begins, and a retry waits for a fresh window
    (the straddled attempt's tail has counted in the next one)."""
    for _ in range(5):
        time.sleep(1.02 - time.monotonic() % 1)
        w0 = int(time.monotonic())
        codes = [do() for _ in range(n)]
        if int(time.monotonic()) == w0:
            return codes
    pytest.fail("could not fit a burst into one second in 5 tries")


# ---------------------------------------------------------------- exports

def test_seed_top_level_exports_are_the_real_classes():
    from fastrapi.security import (APIKeyCookie, APIKeyHeader, APIKeyQuery, HTTPBasic,
                                   HTTPBearer, OAuth2PasswordBearer, SecurityScopes)
    from starlette.staticfiles import StaticFiles
    from fastrapi.instrumentator import Instrumentator as I2
    assert fastrapi.SecurityScopes is SecurityScopes
    assert fastrapi.OAuth2PasswordBearer is OAuth2PasswordBearer
    assert fastrapi.HTTPBearer is HTTPBearer
    assert fastrapi.HTTPBasic is HTTPBasic
    assert fastrapi.APIKeyHeader is APIKeyHeader
    assert fastrapi.APIKeyQuery is APIKeyQuery
    assert fastrapi.APIKeyCookie is APIKeyCookie
    assert fastrapi.StaticFiles is StaticFiles
    assert fastrapi.Instrumentator is I2
    # everything FastrAPI's module exports at top level
    for name in ["FastrAPI", "Depends", "Query", "Path", "Body", "HTTPException",
                 "BackgroundTasks", "Header", "Cookie", "Form", "File", "Security",
                 "UploadFile", "APIRouter"]:
        assert hasattr(fastrapi, name), name
        assert name in fastrapi.__all__


# ---------------------------------------------------------------- cache_resp

def _cache_app():
    app = FastrAPI()
    calls = {"c": 0, "u": 0}

    @app.get("/c", cache_resp=True)
    def cached():
        calls["c"] += 1
        return {"Hello": "World", "n": 1}

    @app.get("/u")
    def uncached():
        calls["u"] += 1
        return {"Hello": "World", "n": 1}

    return app, calls


def test_cache_resp_testclient_runs_handler_once_at_startup():
    app, calls = _cache_app()
    with TestClient(app) as client:
        assert calls["c"] == 1  # computed during startup, as FastrAPI does
        for _ in range(30):
            r = client.get("/c")
            assert r.status_code == 200
        u = client.get("/u")
    assert calls["c"] == 1
    assert calls["u"] == 1
    assert r.content == u.content == b'{"Hello":"World","n":1}'
    strip = lambda h: {k: v for k, v in h.items() if k != "date"}  # noqa: E731
    assert strip(r.headers) == strip(u.headers)


def test_cache_resp_without_startup_first_get_fills():
    app, calls = _cache_app()
    client = TestClient(app)  # no `with`: no startup
    for _ in range(10):
        assert client.get("/c").json() == {"Hello": "World", "n": 1}
    assert calls["c"] == 1


def test_cache_resp_never_stores_a_credentialed_answer():
    app, calls = _cache_app()
    client = TestClient(app)  # no startup: requests fill
    client.get("/c", headers={"Authorization": "Bearer alice"})
    client.get("/c", headers={"Cookie": "session=bob"})
    assert calls["c"] == 2  # neither answer was stored
    client.get("/c")  # an anonymous GET is
    client.get("/c", headers={"Authorization": "Bearer carol"})
    assert calls["c"] == 3


def test_cache_resp_keeps_status_and_headers_and_router_and_add_api_route():
    from fastrapi.responses import PlainTextResponse
    app = FastrAPI()
    router = APIRouter()
    calls = []

    @router.get("/r", cache_resp=True, status_code=201)
    def r():
        calls.append("r")
        return PlainTextResponse("made", status_code=201, headers={"x-a": "b"})

    def plain():
        calls.append("p")
        return {"p": 1}

    app.include_router(router, prefix="/api")
    app.add_api_route("/p", plain, cache_resp=True)
    with TestClient(app) as client:
        for _ in range(5):
            a = client.get("/api/r")
            b = client.get("/p")
    assert a.status_code == 201 and a.text == "made" and a.headers["x-a"] == "b"
    assert b.json() == {"p": 1}
    assert sorted(calls) == ["p", "r"]


def test_cache_resp_errors_are_not_stored():
    app = FastrAPI()
    calls = []

    @app.get("/flaky", cache_resp=True)
    def flaky():
        calls.append(1)
        if len(calls) < 3:
            from fastrapi import HTTPException
            raise HTTPException(503, "later")
        return {"ok": True}

    with TestClient(app) as client:  # startup: 503, not stored
        assert client.get("/flaky").status_code == 503
        assert client.get("/flaky").json() == {"ok": True}
        assert client.get("/flaky").json() == {"ok": True}
    assert len(calls) == 3


def test_cache_resp_bad_routes_fail_at_decoration():
    app = FastrAPI()
    with pytest.raises(ValueError, match="without parameters"):
        @app.get("/items/{id}", cache_resp=True)
        def item(id: int):
            return id
    with pytest.raises(ValueError, match="GET"):
        @app.post("/p", cache_resp=True)
        def p():
            return 1


def test_cache_resp_native_server_startup_and_identical_bytes():
    port = free_port()
    code = textwrap.dedent(f"""
        from fastrapi import FastrAPI
        app = FastrAPI()
        calls = {{"n": 0}}

        @app.get("/c", cache_resp=True)
        def c():
            calls["n"] += 1
            return {{"Hello": "World"}}

        @app.get("/u")
        def u():
            return {{"Hello": "World"}}

        @app.get("/count")
        def count():
            return calls["n"]

        app.serve("127.0.0.1", {port}, access_log=False)
    """)
    proc = spawn(code, port)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

        def get(path):
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, [(k.lower(), v) for k, v in r.getheaders() if k.lower() != "date"], r.read()

        assert get("/count")[2] == b"1"  # ran at startup, before any request
        first = get("/c")
        for _ in range(50):
            assert get("/c") == first
        assert get("/count")[2] == b"1"
        assert first == get("/u")  # same status, headers (date aside) and body
        assert first[0] == 200 and first[2] == b'{"Hello":"World"}'
    finally:
        proc.kill()
        proc.communicate(timeout=10)


# ---------------------------------------------------------------- rate_limit

def test_rate_limit_burst_gets_429_with_retry_after():
    app = FastrAPI()

    @app.get("/rl", rate_limit=3)
    def rl():
        return {"ok": 1}

    @app.get("/other")
    def other():
        return {"ok": 2}

    client = TestClient(app)
    codes = _burst(lambda: client.get("/rl").status_code, 6)
    assert codes == [200, 200, 200, 429, 429, 429]
    r = client.get("/rl")
    if r.status_code == 429:  # still the same second
        assert r.headers["retry-after"] == "1"
        assert r.headers["content-type"] == "application/json"
        assert r.json() == {"detail": "Too Many Requests"}
    assert all(client.get("/other").status_code == 200 for _ in range(10))  # other route


def test_rate_limit_is_per_client_address_asgi_face():
    import asyncio
    import httpx
    app = FastrAPI()

    @app.get("/rl", rate_limit=2)
    def rl():
        return 1

    async def run():
        ta = httpx.ASGITransport(app=app, client=("10.1.1.1", 1234))
        tb = httpx.ASGITransport(app=app, client=("10.2.2.2", 1234))
        async with httpx.AsyncClient(transport=ta, base_url="http://t") as a, \
                httpx.AsyncClient(transport=tb, base_url="http://t") as b:
            for _ in range(5):
                w0 = int(time.monotonic())
                codes = []
                for _ in range(3):
                    codes.append(((await a.get("/rl")).status_code,
                                  (await b.get("/rl")).status_code))
                if int(time.monotonic()) == w0:
                    return codes
        pytest.fail("could not fit a burst into one second in 5 tries")

    assert asyncio.run(run()) == [(200, 200), (200, 200), (429, 429)]


def test_rate_limit_bad_values_fail_at_decoration():
    app = FastrAPI()
    for bad, exc in [(0, ValueError), (-1, ValueError), ("5", TypeError), (True, TypeError),
                     (1.5, TypeError)]:
        with pytest.raises(exc):
            @app.get("/x%s" % id(bad), rate_limit=bad)
            def x():
                return 1


def _raw_get(port, path, xff=None):
    extra = ("X-Forwarded-For: %s\r\n" % xff) if xff else ""
    data = raw_request(port, ("GET %s HTTP/1.1\r\nHost: t\r\n%sConnection: close\r\n\r\n"
                              % (path, extra)).encode())
    return int(data.split(b" ", 2)[1]), data


@pytest.mark.parametrize("trusted", [True, False])
def test_rate_limit_native_server_forwarded_only_from_trusted_proxy(trusted):
    port = free_port()
    code = textwrap.dedent(f"""
        from fastrapi import FastrAPI
        app = FastrAPI()

        @app.get("/rl", rate_limit=2)
        def rl():
            return 1

        app.serve("127.0.0.1", {port}, access_log=False, workers=1,
                  forwarded_allow_ips={'"127.0.0.1"' if trusted else '"10.9.9.9"'})
    """)
    proc = spawn(code, port)
    try:
        def pair():
            return (_raw_get(port, "/rl", "203.0.113.1")[0], _raw_get(port, "/rl", "203.0.113.2")[0])

        codes = _burst(pair, 2)
        if trusted:  # two clients as the proxy says: each has its own budget
            assert codes == [(200, 200), (200, 200)]
        else:  # the peer is not a trusted proxy: one client (127.0.0.1), 2 per second
            assert codes == [(200, 200), (429, 429)]
        status, data = _raw_get(port, "/rl", "203.0.113.1")
        if status == 429:
            assert b"retry-after: 1\r\n" in data.lower()
            assert data.endswith(b'{"detail":"Too Many Requests"}')
    finally:
        proc.kill()
        proc.communicate(timeout=10)


# ---------------------------------------------------------------- metrics

def test_instrumentator_prometheus_text_is_valid_and_counts():
    app = FastrAPI()

    @app.get("/items/{item_id}")
    def item(item_id: int):
        return {"id": item_id}

    @app.get("/boom")
    def boom():
        raise RuntimeError("x")

    inst = Instrumentator().instrument(app)
    assert inst.expose(app, endpoint="/metrics") is inst
    client = TestClient(app, raise_server_exceptions=False)
    for i in range(4):
        assert client.get("/items/%d" % i).status_code == 200
    assert client.get("/items/x").status_code == 422
    assert client.get("/nowhere/%d" % 1).status_code == 404
    assert client.get("/boom").status_code == 500
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    fams = _families(r.text)
    assert fams["fastrapi_requests"].type == "counter"
    assert fams["fastrapi_request_duration_seconds"].type == "histogram"
    lbl = dict(handler="/items/{item_id}", method="GET")
    assert _sample(fams, "fastrapi_requests", "fastrapi_requests_total", status="200", **lbl) == 4
    assert _sample(fams, "fastrapi_requests", "fastrapi_requests_total", status="422", **lbl) == 1
    assert _sample(fams, "fastrapi_requests", "fastrapi_requests_total",
                   handler="none", method="GET", status="404") == 1
    assert _sample(fams, "fastrapi_requests", "fastrapi_requests_total",
                   handler="/boom", method="GET", status="500") == 1
    assert "/nowhere/1" not in r.text  # raw paths never become labels
    assert _sample(fams, "fastrapi_request_duration_seconds",
                   "fastrapi_request_duration_seconds_count", status="200", **lbl) == 4
    assert _sample(fams, "fastrapi_request_duration_seconds",
                   "fastrapi_request_duration_seconds_bucket", status="200", le="+Inf", **lbl) == 4
    buckets = [s for s in fams["fastrapi_request_duration_seconds"].samples
               if s.name.endswith("_bucket") and s.labels["status"] == "200"
               and s.labels["handler"] == "/items/{item_id}"]
    assert len(buckets) == 15  # 14 default bounds + +Inf, cumulative
    assert [b.value for b in buckets] == sorted(b.value for b in buckets)


def test_instrumentator_options_and_bad_input():
    with pytest.raises(ValueError):
        Instrumentator(buckets=[1.0, 0.5])
    with pytest.raises(ValueError):
        Instrumentator(metric_namespace="bad name")
    app = FastrAPI()
    with pytest.raises(ValueError, match="start with '/'"):
        Instrumentator().instrument(app).expose(app, endpoint="metrics")
    with pytest.raises(RuntimeError, match="already instrumented"):
        Instrumentator().instrument(app)  # one table per app
    app = FastrAPI()
    inst = Instrumentator(buckets=[0.1, 1, float("inf")], metric_namespace="my_app")
    inst.instrument(app).expose(app)

    @app.get("/")
    def root():
        return 1

    client = TestClient(app)
    client.get("/")
    fams = _families(client.get("/metrics").text)
    b = [s.labels["le"] for s in fams["my_app_request_duration_seconds"].samples
         if s.name.endswith("_bucket") and s.labels["handler"] == "/"]
    assert b == ["0.1", "1.0", "+Inf"]


def test_instrumentator_counts_rate_limited_and_cached_answers():
    app = FastrAPI()

    @app.get("/rl", rate_limit=1)
    def rl():
        return 1

    @app.get("/c", cache_resp=True)
    def c():
        return 2

    Instrumentator().instrument(app).expose(app)
    client = TestClient(app)
    codes = _burst(lambda: client.get("/rl").status_code, 3)
    assert codes == [200, 429, 429]
    for _ in range(3):
        client.get("/c")
    fams = _families(client.get("/metrics").text)
    assert _sample(fams, "fastrapi_requests", "fastrapi_requests_total",
                   handler="/rl", status="429") == 2
    assert _sample(fams, "fastrapi_requests", "fastrapi_requests_total",
                   handler="/c", status="200") == 3


def test_instrumentator_aggregates_across_workers():
    port = free_port()
    code = textwrap.dedent(f"""
        import os
        from fastrapi import FastrAPI, Instrumentator
        app = FastrAPI()

        @app.get("/pid")
        def pid():
            return os.getpid()

        Instrumentator().instrument(app).expose(app, endpoint="/metrics")
        app.serve("127.0.0.1", {port}, workers=2, access_log=False)
    """)
    proc = spawn(code, port)
    try:
        pids, n = set(), 0
        for _ in range(400):  # bounded: until both workers answered a few times
            status, data = _raw_get(port, "/pid")
            assert status == 200
            pids.add(data.rsplit(b"\r\n\r\n", 1)[1])
            n += 1
            if len(pids) == 2 and n >= 20:
                break
        assert len(pids) == 2, "the two workers never both answered"
        for _ in range(40):  # ask several times: whichever worker answers has the total
            status, data = _raw_get(port, "/metrics")
            assert status == 200
            fams = _families(data.split(b"\r\n\r\n", 1)[1].decode())
            total = _sample(fams, "fastrapi_requests", "fastrapi_requests_total",
                            handler="/pid", method="GET", status="200")
            assert total == n
    finally:
        proc.terminate()  # the master drains and stops its workers
        proc.communicate(timeout=60)


def test_rate_limit_one_budget_across_workers():
    port = free_port()
    code = textwrap.dedent(f"""
        import os
        from fastrapi import FastrAPI
        app = FastrAPI()

        @app.get("/rl", rate_limit=3)
        def rl():
            return os.getpid()

        @app.get("/pid")
        def pid():
            return os.getpid()

        app.serve("127.0.0.1", {port}, workers=2, access_log=False)
    """)
    proc = spawn(code, port)
    try:
        pids = set()
        for _ in range(400):  # bounded: until both workers are answering
            pids.add(_raw_get(port, "/pid")[1].rsplit(b"\r\n\r\n", 1)[1])
            if len(pids) == 2:
                break
        assert len(pids) == 2, "the two workers never both answered"
        codes = _burst(lambda: _raw_get(port, "/rl")[0], 10)
        # one shared table: 3 per second for this client, whichever worker answers
        assert codes.count(200) == 3 and codes.count(429) == 7, codes
    finally:
        proc.terminate()
        proc.communicate(timeout=60)
