"""What a RequestValidationError / ResponseValidationError handler sees,
against FastAPI: the endpoint context (exc.endpoint_function, _path,
_file, _line, and str(exc) ending with them, which logging handlers
print) and a ResponseValidationError's body (the endpoint's return value).
fastrapi left all of them None."""
import httpx
import pytest
from pydantic import BaseModel

from conftest import framework


class Out(BaseModel):
    a: int


def make_app(fw):
    from importlib import import_module
    exc_mod = import_module(fw.name + ".exceptions")
    app = fw.FastAPI()

    def describe(exc):
        return {"str": str(exc), "function": exc.endpoint_function, "path": exc.endpoint_path,
                "line": exc.endpoint_line, "file": (exc.endpoint_file or "").rsplit("/", 1)[-1],
                "body": getattr(exc, "body", None)}

    @app.exception_handler(exc_mod.RequestValidationError)
    async def rve(request, exc):
        return fw.responses.JSONResponse(describe(exc), status_code=422)

    @app.exception_handler(exc_mod.ResponseValidationError)
    def resp(request, exc):
        return fw.responses.JSONResponse(describe(exc), status_code=500)

    @app.get("/items/{i}")
    def read_item(i: int, q: int = 0):
        return {"i": i}

    @app.post("/body")
    async def body(item: Out):
        return item

    @app.get("/bad", response_model=Out)
    def bad():
        return {"a": "x"}

    router = fw.APIRouter(prefix="/r")

    @router.get("/{n}")
    def routed(n: int):
        return n

    app.include_router(router)
    return app


CASES = [("GET", "/items/x", None), ("GET", "/items/1?q=y", None), ("POST", "/body", b'{"a": "z"}'),
         ("POST", "/body", b"{bad"), ("GET", "/bad", None), ("GET", "/r/x", None)]


@pytest.mark.parametrize("method,path,content", CASES, ids=[p for _, p, _ in CASES])
def test_handlers_see_fastapis_context(method, path, content):
    from fastapi.testclient import TestClient as FATC

    from fastrapi.testclient import TestClient as FRTC
    got = []
    with FATC(make_app(framework("fastapi"))) as fa, FRTC(make_app(framework("fastrapi"))) as fr:
        srv = make_app(framework("fastrapi"))._start_background("127.0.0.1", 0)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", timeout=10) as nat:
                for c in (fa, fr, nat):
                    r = c.request(method, path, content=content,
                                  headers={"content-type": "application/json"} if content else None)
                    got.append((r.status_code, r.json()))
        finally:
            srv.stop()
    assert got[1] == got[0] and got[2] == got[0]
    ctx = got[0][1]  # not None everywhere: FastAPI's context is there to agree with
    assert ctx["function"] and ctx["line"] and ctx["file"] == "test_validation_error_context.py"
    assert ctx["path"].startswith(method + " /") and ctx["str"].endswith(ctx["path"])


@pytest.mark.parametrize("name", ["fastapi", "fastrapi"])
def test_unhandled_response_validation_error_has_context(name):
    """Without a handler the TestClient raises the ResponseValidationError;
    its str() ends with the endpoint's place, as FastAPI's (fastrapi's had
    none: the context was filled in only on the way to a handler)."""
    from importlib import import_module
    fw = framework(name)
    app = fw.FastAPI()

    @app.get("/bad")
    def bad() -> Out:
        return {"nope": 1}

    TestClient = import_module(name + ".testclient").TestClient
    exc_mod = import_module(name + ".exceptions")
    with pytest.raises(exc_mod.ResponseValidationError) as info:
        TestClient(app).get("/bad")
    exc = info.value
    assert exc.endpoint_function == "bad" and exc.endpoint_path == "GET /bad"
    assert exc.endpoint_file == __file__
    assert str(exc).endswith(f'  File "{__file__}", line {exc.endpoint_line}, in bad\n    GET /bad')
    r = TestClient(app, raise_server_exceptions=False).get("/bad")
    assert (r.status_code, r.text) == (500, "Internal Server Error")


def test_context_cache_follows_the_function_not_its_address():
    """The endpoint context is cached per function, held weakly: an id()
    key outlived its function, and an endpoint later made at the same
    address (apps made and dropped, as in a test suite) got the old one's
    file, line and name."""
    import gc
    from types import SimpleNamespace

    from fastrapi import _runtime
    from fastrapi.exceptions import RequestValidationError

    def first():
        pass

    exc = RequestValidationError([])
    _runtime.endpoint_ctx(exc, SimpleNamespace(endpoint=first, path="/a"), "GET", "")
    assert exc.endpoint_function == "first"
    assert first in _runtime._endpoint_ctx_cache
    qualname = first.__qualname__
    del first
    gc.collect()  # its entry goes with it
    assert not any(getattr(k, "__qualname__", None) == qualname for k in _runtime._endpoint_ctx_cache.keys())

    def second():
        pass

    exc = RequestValidationError([])
    _runtime.endpoint_ctx(exc, SimpleNamespace(endpoint=second, path="/b"), "POST", "")
    assert (exc.endpoint_function, exc.endpoint_path) == ("second", "POST /b")
