"""FastrAPI's constructor options request_id_header and powered_by_header,
decided by the engine (fr_app_use_request_id / fr_app_use_response_header,
outermost in the chain): the id is propagated from the request when it is
1..128 visible ASCII characters, else a fresh uuid4 hex; it is echoed on
every answer (404, 500, streams, CORS preflights, Python middleware apps,
the ASGI face) and ends the access-log line. Off by default: a FastAPI app
answers the same bytes as before."""
import asyncio
import time
import uuid

import httpx
import pytest

from fastrapi import FastAPI, FastrAPI, HTTPException
from fastrapi.responses import StreamingResponse
from helpers import access_log_records


def make(**kw):
    app = FastrAPI(**kw)

    @app.get("/")
    def root():
        return {"ok": True}

    @app.get("/boom")
    def boom():
        raise ValueError("boom")

    @app.get("/teapot")
    def teapot():
        raise HTTPException(418, "teapot")

    @app.get("/stream")
    def stream():
        return StreamingResponse(iter([b"a", b"b"]), media_type="text/plain")

    return app


def is_uuid4_hex(v):
    return len(v) == 32 and v == v.lower() and uuid.UUID(hex=v).version == 4


@pytest.fixture(scope="module")
def served():
    app = make(request_id_header="X-Request-ID", powered_by_header=True)
    run = app._start_background("127.0.0.1", 0)
    yield f"http://127.0.0.1:{run.port}"
    run.stop()


def test_generated_and_echoed(served):
    seen = set()
    for url in ("/", "/", "/boom", "/teapot", "/stream", "/nope"):
        r = httpx.get(served + url)
        rid = r.headers["x-request-id"]
        assert is_uuid4_hex(rid), (url, rid)
        assert r.headers["x-powered-by"] == "FastrAPI"
        assert len(r.headers.get_list("x-request-id")) == 1
        seen.add(rid)
    assert len(seen) == 6


@pytest.mark.parametrize("incoming,kept", [
    ("abc-123", True), ("req_0.9:Z", True), ("x" * 128, True),
    ("x" * 129, False), ("a b", False), ("caf\u00e9", False), ("", False), ("a\tb", False),
])
def test_propagated_only_when_safe(served, incoming, kept):
    r = httpx.get(served + "/", headers={"x-request-id": incoming.encode("utf-8")})
    got = r.headers["x-request-id"]
    if kept:
        assert got == incoming
    else:
        assert got != incoming and is_uuid4_hex(got)


def test_the_500_and_404_carry_the_incoming_id(served):
    for url, status in (("/boom", 500), ("/nope", 404), ("/teapot", 418)):
        r = httpx.get(served + url, headers={"X-Request-ID": "trace-7"})
        assert r.status_code == status
        assert r.headers["x-request-id"] == "trace-7"


def test_off_by_default():
    app = make()
    run = app._start_background("127.0.0.1", 0)
    try:
        r = httpx.get(f"http://127.0.0.1:{run.port}/", headers={"x-request-id": "abc"})
        assert "x-request-id" not in r.headers and "x-powered-by" not in r.headers
        assert app._servers[-1].middleware_count() == 0
    finally:
        run.stop()


def test_options_spelled_other_ways():
    app = make(request_id_header=True, powered_by_header="Acme/1.0")
    run = app._start_background("127.0.0.1", 0)
    try:
        r = httpx.get(f"http://127.0.0.1:{run.port}/", headers={"X-Request-ID": "q1"})
        assert r.headers["x-request-id"] == "q1"
        assert r.headers["x-powered-by"] == "Acme/1.0"
    finally:
        run.stop()
    app = make(request_id_header="Correlation-Id")
    run = app._start_background("127.0.0.1", 0)
    try:
        r = httpx.get(f"http://127.0.0.1:{run.port}/", headers={"correlation-id": "c9"})
        assert r.headers["correlation-id"] == "c9"
        assert "x-request-id" not in r.headers and "x-powered-by" not in r.headers
    finally:
        run.stop()


@pytest.mark.parametrize("kw", [
    dict(request_id_header="bad name"), dict(request_id_header=""), dict(request_id_header=5),
    dict(powered_by_header="a\r\nSet-Cookie: x=1"), dict(powered_by_header=3),
    dict(powered_by_header="\u2603"),
])
def test_bad_values_refused_at_construction(kw):
    with pytest.raises(ValueError):
        FastrAPI(**kw)


def test_with_engine_middleware_and_preflight():
    from starlette.middleware.cors import CORSMiddleware
    app = make(request_id_header="X-Request-ID")
    app.add_middleware(CORSMiddleware, allow_origins=["https://a.example"], allow_methods=["GET"])
    run = app._start_background("127.0.0.1", 0)
    try:
        base = f"http://127.0.0.1:{run.port}"
        r = httpx.options(base + "/", headers={"origin": "https://a.example",
                                               "access-control-request-method": "GET",
                                               "x-request-id": "pf-1"})
        assert r.status_code == 200 and r.headers["x-request-id"] == "pf-1"
        assert r.headers["access-control-allow-origin"] == "https://a.example"
        r = httpx.get(base + "/", headers={"origin": "https://a.example"})
        assert is_uuid4_hex(r.headers["x-request-id"])
        assert app._servers[-1].middleware_count() == 2
    finally:
        run.stop()


def test_with_python_middleware():
    app = make(request_id_header="X-Request-ID")

    @app.middleware("http")
    async def tag(request, call_next):
        response = await call_next(request)
        response.headers["x-tag"] = "1"
        return response

    run = app._start_background("127.0.0.1", 0)
    try:
        r = httpx.get(f"http://127.0.0.1:{run.port}/", headers={"x-request-id": "py-1"})
        assert r.headers["x-tag"] == "1"
        assert r.headers["x-request-id"] == "py-1"
    finally:
        run.stop()


def test_asgi_face():
    app = make(request_id_header="X-Request-ID", powered_by_header=True)

    async def go():
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            a = await c.get("/", headers={"x-request-id": "asgi-1"})
            b = await c.get("/nope")
            return a, b
    a, b = asyncio.run(go())
    assert a.headers["x-request-id"] == "asgi-1" and a.headers["x-powered-by"] == "FastrAPI"
    assert is_uuid4_hex(b.headers["x-request-id"])


def test_access_log_line_ends_with_the_id():
    app = make(request_id_header="X-Request-ID")
    with access_log_records() as records:
        run = app._start_background(access_log=True)
        try:
            httpx.get(f"http://127.0.0.1:{run.port}/?logged=1", headers={"x-request-id": "log-42"})
            r = httpx.get(f"http://127.0.0.1:{run.port}/?logged=2")
            gen = r.headers["x-request-id"]
            for _ in range(400):
                if sum("logged=" in x for x in records) >= 2:
                    break
                time.sleep(0.025)
        finally:
            run.stop()
    one = next(x for x in records if "logged=1" in x)
    two = next(x for x in records if "logged=2" in x)
    assert one.endswith('"GET /?logged=1 HTTP/1.1" 200 request_id=log-42')
    assert two.endswith(" request_id=" + gen)


def test_fastapi_class_takes_them_too():
    app = FastAPI(request_id_header="X-Request-ID")
    assert app.request_id_header == "X-Request-ID" and app.powered_by_header is None
