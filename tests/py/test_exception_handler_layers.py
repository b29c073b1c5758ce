"""Exception handlers in Starlette's layers, differential against FastAPI.

FastAPI runs a route's exception inside two ExceptionMiddleware layers (the
route's and the app's) under ServerErrorMiddleware:
- ``@app.exception_handler(500)`` and ``(Exception)`` are the same slot, the
  last registered wins, and it only sees unhandled exceptions: an
  ``HTTPException(500)`` gets the HTTPException handler (fastrapi sent it to
  the 500 handler and ignored the 500 key for unhandled errors);
- what a handler raises goes to the app's layer (a re-raise runs the same
  handler twice), what that raises to the 500 / Exception handler, and a
  handler returning something that is not a response raises TypeError
  (fastrapi answered a plain 500 at once).
Each app runs on FastAPI's TestClient, fastrapi's TestClient and fastrapi's
native server; answers and the handler calls are compared."""
import logging
import time

import httpx
import pytest

from conftest import framework


class KErr(Exception):
    pass


class E1(Exception):
    pass


def make_layers_app(fw, log):
    app = fw.FastAPI()

    @app.exception_handler(Exception)
    async def last_resort(request, exc):
        log.append(("Exception handler", repr(exc)))
        return fw.responses.JSONResponse({"last_resort": type(exc).__name__}, status_code=500)

    @app.exception_handler(KErr)
    async def converts(request, exc):
        log.append("KErr handler")
        raise ValueError("raised in handler")

    @app.exception_handler(LookupError)
    async def reraises(request, exc):
        log.append("LookupError handler")
        raise exc

    @app.exception_handler(E1)
    def to_http(request, exc):
        log.append("E1 handler")
        raise fw.HTTPException(400, "raised in handler")

    @app.exception_handler(TypeError)
    async def not_a_response(request, exc):
        log.append("TypeError handler")
        return {"not": "a Response"}

    @app.get("/kerr")
    def kerr():
        raise KErr()

    @app.get("/lookup")
    async def lookup():
        raise IndexError("idx")

    @app.get("/e1")
    def e1():
        raise E1()

    @app.get("/notresp")
    def notresp():
        raise TypeError()

    @app.get("/fine")
    def fine():
        return {"ok": True}

    return app


def make_500_app(fw, log, order):
    app = fw.FastAPI()

    async def h500(request, exc):
        log.append(("500", type(exc).__name__))
        return fw.responses.JSONResponse({"via": "500"}, status_code=503)

    async def hexc(request, exc):
        log.append(("Exception", type(exc).__name__))
        return fw.responses.JSONResponse({"via": "Exception"}, status_code=500)

    for key in order:
        app.add_exception_handler(key, h500 if key == 500 else hexc)

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    @app.get("/http500")
    def http500():
        raise fw.HTTPException(500, "explicit")

    @app.get("/http503")
    async def http503():
        raise fw.HTTPException(503, "unavailable", headers={"retry-after": "1"})

    return app


def three_runs(factory, paths):
    """{path: [(status, body, log)] for FastAPI TC, fastrapi TC, native}."""
    from fastapi.testclient import TestClient as FATC

    from fastrapi.testclient import TestClient as FRTC
    out = {p: [] for p in paths}
    for kind in ("fastapi", "fastrapi", "native"):
        log = []
        app = factory(framework("fastapi" if kind == "fastapi" else "fastrapi"), log)
        if kind == "native":
            srv = app._start_background("127.0.0.1", 0)
            client = httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", timeout=10)
        else:
            srv = None
            client = (FATC if kind == "fastapi" else FRTC)(app, raise_server_exceptions=False)
        try:
            for p in paths:
                log.clear()
                r = client.get(p)
                time.sleep(0.02)
                out[p].append((r.status_code, r.content, r.headers.get("retry-after"), list(log)))
        finally:
            client.close()
            if srv is not None:
                srv.stop()
    return out


@pytest.fixture(autouse=True)
def quiet():
    logging.disable(logging.CRITICAL)  # the tracebacks these apps log on purpose
    yield
    logging.disable(logging.NOTSET)


def test_what_handlers_raise_goes_outward_as_in_fastapi():
    got = three_runs(make_layers_app, ["/kerr", "/lookup", "/e1", "/notresp", "/fine"])
    for path, (fa, fr, nat) in got.items():
        assert fr == fa and nat == fa, path
    assert got["/lookup"][0][3] == ["LookupError handler", "LookupError handler",
                                    ("Exception handler", "IndexError('idx')")]
    assert got["/e1"][0][:2] == (400, b'{"detail":"raised in handler"}')
    assert got["/notresp"][0][1] == b'{"last_resort":"TypeError"}'


@pytest.mark.parametrize("order", [(500,), (Exception,), (Exception, 500), (500, Exception)],
                         ids=["500", "Exception", "Exception-then-500", "500-then-Exception"])
def test_500_and_exception_handlers_as_in_fastapi(order):
    got = three_runs(lambda fw, log: make_500_app(fw, log, order), ["/boom", "/http500", "/http503"])
    for path, (fa, fr, nat) in got.items():
        assert fr == fa and nat == fa, path
    want = {500: 503, Exception: 500}[order[-1]]
    assert got["/boom"][0][0] == want  # the last registered of the two
    assert got["/http500"][0][:2] == (500, b'{"detail":"explicit"}')  # never the 500 handler


@pytest.mark.parametrize("key", [Exception, 500])
@pytest.mark.parametrize("name", ["fastapi", "fastrapi"])
def test_server_error_handler_answers_and_the_test_still_raises(name, key):
    """ServerErrorMiddleware sends the Exception/500 handler's answer and then
    re-raises: a TestClient(raise_server_exceptions=True) and an ASGITransport
    client raise it (fastrapi returned the handler's 500 silently)."""
    import asyncio

    import httpx
    from conftest import framework
    fw = framework(name)
    TestClient = __import__(name + ".testclient", fromlist=["x"]).TestClient
    app = fw.FastAPI()

    @app.exception_handler(key)
    async def handler(request, exc):
        return fw.responses.JSONResponse({"err": str(exc)}, status_code=500)

    @app.get("/boom")
    def boom():
        raise ValueError("kaboom")

    with pytest.raises(ValueError, match="kaboom"):
        TestClient(app).get("/boom")
    r = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert (r.status_code, r.json()) == (500, {"err": "kaboom"})

    async def via_asgi():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            await c.get("/boom")
    with pytest.raises(ValueError, match="kaboom"):
        asyncio.run(via_asgi())
