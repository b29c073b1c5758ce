"""Native routes (fastrapi.native, src/native.h): C handlers from a shared
library compiled against the installed fastrapi.h, loaded into a running
Python app without rebuilding fastrapi, served by the same engine beside the
Python routes.

The example (examples/python/native: a pydantic CRUD API + C routes) is built
here with gcc and with clang and hit over HTTP on the native server
(fastrapi.testclient: a real socket) and through the ASGI face; a test module
built here covers user_data, FR_PENDING from a thread, fr_py_call and its
failures; libraries the engine must refuse (another header version, a struct
that changed size, a wrong or missing descriptor, an embedded engine, an
engine function that does not exist) raise NativeModuleError naming both
sides, and nothing is registered."""
import asyncio
import ctypes
import hashlib
import hmac
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import time

import httpx
import pytest

import fastrapi
import fastrapi.native as native
from fastrapi import APIRouter, Depends, FastrAPI
from fastrapi.native import NativeModuleError, NativeRoute
from fastrapi.testclient import TestClient

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "python", "native")
COMPILERS = [cc for cc in ("gcc", "clang") if shutil.which(cc)]
# the Python face's build of the engine: the same FASTRAPI_VERSION as the package
ENGINE_VERSION = fastrapi.__version__

T_NATIVE = r"""
#include "fastrapi.h"
#include <pthread.h>
#include <stdio.h>
#include <string.h>

FR_NATIVE_MODULE();

/* the route's user_data as text ("(null)" for none) */
FR_NATIVE_EXPORT int echo_ud(fr_req *req, void *ud) {
    const char *s = ud ? (const char *)ud : "(null)";
    return fr_res_text(req, 200, "text/plain; charset=utf-8", s, strlen(s));
}

/* user_data is the address of an int the Python side owns */
FR_NATIVE_EXPORT int read_int(fr_req *req, void *ud) {
    char b[64];
    int n = snprintf(b, sizeof b, "{\"value\":%d}", ud ? *(const int *)ud : -1);
    return fr_res_json(req, 200, b, (size_t)n);
}

FR_NATIVE_EXPORT int item(fr_req *req, void *ud) {
    char b[96];
    fr_str m = fr_req_method(req);
    int n = snprintf(b, sizeof b, "{\"id\":%lld,\"method\":\"%.*s\"}",
                     (long long)fr_req_param_int(req, "id"), (int)m.len, m.buf);
    (void)ud;
    return fr_res_json(req, 200, b, (size_t)n);
}

/* FR_PENDING: another thread finishes the response */
static void *later(void *arg) {
    fr_req *req = (fr_req *)arg;
    fr_res_status(req, 202);
    fr_res_header(req, "x-thread", "worker");
    fr_res_header(req, "content-type", "application/json");
    fr_res_body(req, "{\"deferred\":true}", 17);
    fr_res_send(req);
    return NULL;
}
FR_NATIVE_EXPORT int deferred(fr_req *req, void *ud) {
    pthread_t t;
    (void)ud;
    if (pthread_create(&t, NULL, later, req) != 0) return fr_res_json(req, 503, "{}", 2);
    pthread_detach(t);
    return FR_PENDING;
}

/* fr_py_call(name from ?name=, JSON from ?args= or none) */
FR_NATIVE_EXPORT int call(fr_req *req, void *ud) {
    fr_str name = {0}, args = {0};
    fr_buf out = {0};
    char nm[64];
    int rc;
    (void)ud;
    fr_req_query_get(req, "name", &name);
    fr_req_query_get(req, "args", &args);
    snprintf(nm, sizeof nm, "%.*s", (int)name.len, name.buf ? name.buf : "");
    if (fr_py_call(req, nm, args, &out) < 0)
        return fr_res_json(req, 500, "{\"detail\":\"callback failed\"}", 28);
    rc = fr_res_json(req, 200, out.buf, out.len);
    fr_buf_free(&out);
    return rc;
}

/* invalid responses: the engine answers 500 and logs (fastrapi.error) */
FR_NATIVE_EXPORT int bad_status(fr_req *req, void *ud) {
    (void)ud;
    return fr_res_json(req, 1000, "{}", 2);
}
FR_NATIVE_EXPORT int bad_header(fr_req *req, void *ud) {
    (void)ud;
    fr_res_header(req, "x-evil", "1\r\nset-cookie: stolen=1");
    return fr_res_json(req, 200, "{\"ok\":true}", 11);
}

/* the result is APPENDED to out, which a failure leaves as it was */
FR_NATIVE_EXPORT int call_append(fr_req *req, void *ud) {
    fr_buf out = {0};
    int ok, rc;
    (void)ud;
    fr_buf_append_str(&out, "[\"before\",");
    ok = fr_py_call(req, "boom", FR_STR(""), &out) == 0;
    ok += 2 * (fr_py_call(req, "seven", FR_STR(""), &out) == 0);
    fr_buf_printf(&out, ",%d]", ok);
    rc = fr_res_json(req, 200, out.buf, out.len);
    fr_buf_free(&out);
    return rc;
}

/* fr_py_call from the thread that owns a FR_PENDING request */
static void *call_later(void *arg) {
    fr_req *req = (fr_req *)arg;
    fr_buf out = {0};
    if (fr_py_call(req, "seven", FR_STR(""), &out) < 0) fr_res_json(req, 500, "{}", 2);
    else fr_res_json(req, 200, out.buf, out.len);
    fr_buf_free(&out);
    return NULL;
}
FR_NATIVE_EXPORT int deferred_call(fr_req *req, void *ud) {
    pthread_t t;
    (void)ud;
    if (pthread_create(&t, NULL, call_later, req) != 0) return fr_res_json(req, 503, "{}", 2);
    pthread_detach(t);
    return FR_PENDING;
}
"""


def _build(tmp_path, name, source, cc="gcc", include=None, flags=()):
    src = tmp_path / (name + ".c")
    src.write_text(source)
    out = str(tmp_path / (name + ".so"))
    cmd = [cc, "-shared", "-fPIC", "-O1", "-Wall", "-Wextra", "-Werror",
           "-I" + (include or fastrapi.get_include()), *flags, str(src), "-o", out]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module", params=COMPILERS)
def example_lib(request, tmp_path_factory):
    """examples/python/native/handlers.c built with gcc, then clang."""
    d = tmp_path_factory.mktemp("example-" + request.param)
    out = str(d / "handlers.so")
    built = native.build(os.path.join(EXAMPLE, "handlers.c"), out, cc=request.param,
                         extra_args=["-Wall", "-Wextra", "-Werror"])
    assert built == out and os.path.exists(out)
    return out


@pytest.fixture(scope="module")
def example_module(tmp_path_factory):
    lib = native.build(os.path.join(EXAMPLE, "handlers.c"),
                       str(tmp_path_factory.mktemp("example-mod") / "handlers.so"))
    old = os.environ.get("FASTRAPI_NATIVE_LIB")
    os.environ["FASTRAPI_NATIVE_LIB"] = lib
    try:
        spec = importlib.util.spec_from_file_location("native_example_app",
                                                      os.path.join(EXAMPLE, "app.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        if old is None:
            os.environ.pop("FASTRAPI_NATIVE_LIB", None)
        else:
            os.environ["FASTRAPI_NATIVE_LIB"] = old
    return mod


@pytest.fixture(scope="module")
def tlib(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("tnative"), "t_native", T_NATIVE)


def _players(c):
    ids = []
    for name, score in (("ada", 42), ("bob", 7), ("cy", 99), ("dee", 42)):
        r = c.post("/players", json={"name": name, "score": score})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


# ---- the example, over HTTP

def test_example_crud_and_c_routes(example_module, example_lib):
    app = example_module.create_app(example_lib, signing_key=b"k3y")
    with TestClient(app) as c:
        assert c.get("/leaderboard").json() == []  # published empty at startup
        ids = _players(c)
        # Python routes
        assert [p["name"] for p in c.get("/players").json()] == ["ada", "bob", "cy", "dee"]
        assert c.get(f"/players/{ids[1]}").json() == {"name": "bob", "score": 7, "id": ids[1]}
        assert c.post("/players", json={"name": "", "score": -1}).status_code == 422
        # C route, inline: the board Python precomputed
        r = c.get("/leaderboard", params={"limit": 3})
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        assert r.json() == [{"rank": 1, "id": ids[2], "name": "cy", "score": 99},
                            {"rank": 2, "id": ids[0], "name": "ada", "score": 42},
                            {"rank": 3, "id": ids[3], "name": "dee", "score": 42}]
        assert len(c.get("/leaderboard").json()) == 4
        for bad in ("0", "101", "x", ""):
            r = c.get("/leaderboard", params={"limit": bad})
            assert r.status_code == 422
            assert r.json() == {"detail": "limit must be an integer from 1 to 100"}
        # Python writes are seen by the C route at once
        assert c.put(f"/players/{ids[1]}", json={"name": "bob", "score": 1000}).status_code == 200
        assert c.get("/leaderboard", params={"limit": 1}).json()[0]["name"] == "bob"
        assert c.delete(f"/players/{ids[1]}").status_code == 204
        assert [e["name"] for e in c.get("/leaderboard").json()] == ["cy", "ada", "dee"]
        # C route keyed by user_data
        for body in (b"hello", b"", b"x" * 100000):
            r = c.post("/sign", content=body)
            assert r.status_code == 200
            assert r.json() == {"hmac": hmac.new(b"k3y", body, hashlib.sha256).hexdigest()}
        assert c.get("/sign").status_code == 405
        # C route deferred to a thread that calls Python (fr_py_call)
        r = c.get(f"/players/{ids[3]}/report")
        assert r.status_code == 200
        assert r.json() == {"id": ids[3], "name": "dee", "score": 42, "rank": 3, "players": 3}
        r = c.get("/players/12345/report")
        assert (r.status_code, r.json()) == (404, {"detail": "Player not found"})
        assert c.get("/players/abc/report").status_code == 404  # {player_id:int}


def test_example_through_asgi_face(example_module, example_lib):
    app = example_module.create_app(example_lib, signing_key=b"asgi")

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            for name, score in (("ada", 5), ("bob", 9)):
                assert (await c.post("/players", json={"name": name, "score": score})).status_code == 201
            board = (await c.get("/leaderboard?limit=1")).json()
            signed = (await c.post("/sign", content=b"abc")).json()
            report = await c.get("/players/1/report")  # FR_PENDING: finished off-thread
            return board, signed, report.status_code, report.json()

    board, signed, status, report = asyncio.run(go())
    assert board == [{"rank": 1, "id": 2, "name": "bob", "score": 9}]
    assert signed == {"hmac": hmac.new(b"asgi", b"abc", hashlib.sha256).hexdigest()}
    assert (status, report) == (200, {"id": 1, "name": "ada", "score": 5, "rank": 2, "players": 2})


def test_example_openapi(example_module, example_lib):
    app = example_module.create_app(example_lib)
    with TestClient(app) as c:
        doc = c.get("/openapi.json").json()
    from openapi_spec_validator import validate
    validate(doc)
    assert list(doc["paths"]) == ["/players", "/players/{player_id}", "/leaderboard", "/sign",
                                  "/players/{player_id}/report"]
    lb = doc["paths"]["/leaderboard"]["get"]
    assert lb["tags"] == ["native"]
    assert lb["description"] == "The top `limit` players (1..100), precomputed, served by C."
    assert lb["parameters"] == [{"name": "limit", "in": "query", "required": False,
                                 "schema": {"type": "integer", "default": 10, "title": "Limit"}}]
    assert lb["responses"]["200"]["content"]["application/json"]["schema"]["items"] == {
        "$ref": "#/components/schemas/Entry"}
    sign = doc["paths"]["/sign"]["post"]
    assert sign["summary"] == "HMAC-SHA256 of the request body"
    assert sign["responses"]["200"]["content"]["application/json"]["schema"]["properties"] == {
        "hmac": {"type": "string"}}
    rep = doc["paths"]["/players/{player_id}/report"]["get"]
    assert rep["parameters"][0]["schema"]["type"] == "integer"
    assert rep["responses"]["404"] == {"description": "Player not found"}
    assert rep["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Report"}


# ---- routes from the test module

def test_user_data_kinds(tlib):
    app = FastrAPI()
    keep = ctypes.c_int(41)
    app.add_native_route("GET", "/b", tlib, "echo_ud", user_data=b"bytes\x00cut")
    app.add_native_route("GET", "/s", tlib, "echo_ud", user_data="str é")
    app.add_native_route("GET", "/n", tlib, "echo_ud")
    app.add_native_route("GET", "/ptr", tlib, "read_int", user_data=keep)
    app.add_native_route("GET", "/addr", tlib, "read_int", user_data=ctypes.addressof(keep))
    with TestClient(app) as c:
        assert c.get("/b").text == "bytes"  # a NUL-terminated copy
        assert c.get("/s").text == "str é"
        assert c.get("/n").text == "(null)"
        keep.value = 42  # the handler reads the live object
        assert c.get("/ptr").json() == {"value": 42}
        assert c.get("/addr").json() == {"value": 42}
    for bad, exc in ((3.5, TypeError), (True, TypeError), (-1, ValueError), ([1], TypeError)):
        with pytest.raises(exc):
            app.add_native_route("GET", "/bad", tlib, "echo_ud", user_data=bad)
    assert "/bad" not in [r.path for r in app.routes]


def test_path_params_methods_and_python_routes_side_by_side(tlib):
    app = FastrAPI()

    @app.get("/items/{id}/py")
    def py(id: int):
        return {"py": id}

    route = app.add_native_route(["GET", "put"], "/items/{id:int}", tlib, "item")
    assert isinstance(route, NativeRoute) and route.methods == {"GET", "PUT"}
    assert route in app.routes
    assert app.url_path_for("item", id=5) == "/items/5"
    with TestClient(app) as c:
        assert c.get("/items/7").json() == {"id": 7, "method": "GET"}
        assert c.put("/items/8").json() == {"id": 8, "method": "PUT"}
        assert c.post("/items/8").status_code == 405
        assert c.get("/items/x").status_code == 404
        assert c.get("/items/3/py").json() == {"py": 3}


def test_pending_from_thread(tlib):
    app = FastrAPI()
    app.add_native_route("GET", "/d", tlib, "deferred")
    with TestClient(app) as c:
        for _ in range(20):
            r = c.get("/d")
            assert (r.status_code, r.headers["x-thread"], r.json()) == (202, "worker", {"deferred": True})


def test_python_callback(tlib):
    app = FastrAPI()
    app.add_native_route("GET", "/call", tlib, "call")
    app.add_native_route("GET", "/append", tlib, "call_append")
    app.add_native_route("GET", "/later", tlib, "deferred_call")
    seen = []

    @app.native_callback("double")
    def double(args):
        seen.append(args)
        return {"doubled": [x * 2 for x in args["xs"]], "model": fastrapi.native.__name__}

    app.native_callback("seven", lambda: 7)
    with TestClient(app) as c:
        r = c.get("/call", params={"name": "double", "args": json.dumps({"xs": [1, 2.5]})})
        assert r.json() == {"doubled": [2, 5.0], "model": "fastrapi.native"}
        assert seen == [{"xs": [1, 2.5]}]
        assert c.get("/call", params={"name": "seven"}).json() == 7
        assert c.get("/later").json() == 7


def test_python_callback_failures(tlib, caplog):
    app = FastrAPI()
    app.add_native_route("GET", "/call", tlib, "call")
    app.add_native_route("GET", "/append", tlib, "call_append")
    app.native_callback("seven", lambda: 7)

    @app.native_callback("boom")
    def boom(args):
        raise RuntimeError("callback broke")

    app.native_callback("opaque", lambda args: object())
    with TestClient(app) as c:  # the callback's exception reaches the test
        with pytest.raises(RuntimeError, match="callback broke"):
            c.get("/call", params={"name": "boom", "args": "1"})
    with caplog.at_level(logging.ERROR, logger="fastrapi.error"), \
            TestClient(app, raise_server_exceptions=False) as c:
        for params in ({"name": "boom", "args": "1"}, {"name": "nope"},
                       {"name": "boom", "args": "{bad json"}, {"name": "opaque", "args": "[]"}):
            r = c.get("/call", params=params)
            assert (r.status_code, r.json()) == (500, {"detail": "callback failed"}), params
        # a failed call leaves out as it was; the result of a good one is appended
        assert c.get("/append").json() == ["before", 7, 2]
        for _ in range(200):  # the log lines come from C threads
            if caplog.text.count("Exception in native callback") >= 5:
                break
            time.sleep(0.05)
    text = caplog.text
    assert "Exception in native callback 'boom' (GET /call)" in text
    assert "callback broke" in text
    assert "no native callback named 'nope'" in text
    assert "json_args is not valid JSON" in text
    assert "Exception in native callback 'opaque'" in text


def test_native_callback_validation():
    app = FastrAPI()

    async def coro(args):
        return 1

    with pytest.raises(TypeError, match="def function"):
        app.native_callback("c", coro)
    with pytest.raises(TypeError, match="callable"):
        app.native_callback("c", 3)
    with pytest.raises(TypeError, match="name"):
        app.native_callback("", lambda: 1)


def test_access_log_and_engine_middleware(tlib, caplog):
    from starlette.middleware.cors import CORSMiddleware
    app = FastrAPI()
    app.add_middleware(CORSMiddleware, allow_origins=["https://a.example"])
    app.add_native_route("GET", "/items/{id:int}", tlib, "item")
    with caplog.at_level(logging.INFO, logger="fastrapi.access"):
        running = app._start_background("127.0.0.1", 0, access_log=True)
        try:
            r = httpx.get(f"http://127.0.0.1:{running.port}/items/9",
                          headers={"origin": "https://a.example"})
            assert r.json() == {"id": 9, "method": "GET"}
            assert r.headers["access-control-allow-origin"] == "https://a.example"
            for _ in range(200):
                if "/items/9" in caplog.text:
                    break
                time.sleep(0.05)
        finally:
            running.stop()
    assert '"GET /items/9 HTTP/1.1" 200' in caplog.text


def test_python_http_middleware_wraps_native_route(tlib):
    app = FastrAPI()

    @app.middleware("http")
    async def tag(request, call_next):
        response = await call_next(request)
        response.headers["x-mw"] = request.url.path
        return response

    app.add_native_route("GET", "/items/{id:int}", tlib, "item")
    with TestClient(app) as c:
        r = c.get("/items/4")
        assert r.json() == {"id": 4, "method": "GET"}
        assert r.headers["x-mw"] == "/items/4"


def test_decorator_form_and_include_router(tlib):
    lib = native.load(tlib)
    router = APIRouter(prefix="/v1", tags=["v1"])
    native.add_native_route(router, "GET", "/items/{id:int}", lib, "item")
    app = FastrAPI()

    @app.native_route("GET", "/things/{id:int}", lib, symbol="item", summary="A thing")
    def thing(id: int) -> dict:
        """Served by C."""
        raise AssertionError("never called")

    app.include_router(router, prefix="/api")
    paths = {r.path: r for r in app.routes if isinstance(r, NativeRoute)}
    assert set(paths) == {"/things/{id:int}", "/api/v1/items/{id:int}"}
    with TestClient(app) as c:
        assert c.get("/things/2").json() == {"id": 2, "method": "GET"}
        assert c.get("/api/v1/items/3").json() == {"id": 3, "method": "GET"}
        doc = c.get("/openapi.json").json()
    op = doc["paths"]["/things/{id}"]["get"]
    assert (op["summary"], op["description"]) == ("A thing", "Served by C.")
    assert doc["paths"]["/api/v1/items/{id}"]["get"]["tags"] == ["v1"]


def test_openapi_entry_from_options(tlib):
    app = FastrAPI()
    app.add_native_route("GET", "/items/{id:int}", tlib, "item", name="get_item",
                         summary="One item", tags=["c"], operation_id="itemFromC",
                         responses={404: {"description": "No such item"}},
                         openapi_extra={"x-served-by": "C"})
    app.add_native_route("GET", "/hidden", tlib, "echo_ud", include_in_schema=False)
    doc = app.openapi()
    assert "/hidden" not in doc["paths"]
    op = doc["paths"]["/items/{id}"]["get"]
    assert op["summary"] == "One item" and op["operationId"] == "itemFromC"
    assert op["tags"] == ["c"] and op["x-served-by"] == "C"
    assert op["parameters"] == [{"name": "id", "in": "path", "required": True,
                                 "schema": {"type": "integer", "title": "Id"}}]
    assert op["responses"]["404"] == {"description": "No such item"}


def test_dependencies_are_refused(tlib):
    def dep():
        return 1

    app = FastrAPI(dependencies=[Depends(dep)])
    with pytest.raises(ValueError, match="dependencies .* do not run for a C handler"):
        app.add_native_route("GET", "/x", tlib, "item")
    app2 = FastrAPI()
    with pytest.raises(ValueError, match="do not run for a C handler"):
        app2.add_native_route("GET", "/x", tlib, "item", dependencies=[Depends(dep)])
    router = APIRouter()
    native.add_native_route(router, "GET", "/x", tlib, "item")
    with pytest.raises(ValueError, match="do not run for a C handler"):
        app2.include_router(router, dependencies=[Depends(dep)])
    assert not any(isinstance(r, NativeRoute) for r in app.routes + app2.routes)


# ---- refused libraries

def _refused(path, *needles):
    app = FastrAPI()
    before = list(app.routes)
    with pytest.raises(NativeModuleError) as ei:
        app.add_native_route("GET", "/x", path, "h")
    for n in needles:
        assert n in str(ei.value), str(ei.value)
    assert app.routes == before
    return str(ei.value)


HANDLER = 'FR_NATIVE_EXPORT int h(fr_req *req, void *ud) { (void)ud; return fr_res_json(req, 200, "{}", 2); }\n'


def _patched_header(tmp_path, old, new):
    text = open(os.path.join(fastrapi.get_include(), "fastrapi.h")).read()
    assert text.count(old) == 1
    d = tmp_path / "inc"
    d.mkdir()
    (d / "fastrapi.h").write_text(text.replace(old, new))
    return str(d)


def test_other_header_version_is_refused(tmp_path):
    major, minor, patch = (int(x) for x in ENGINE_VERSION.split("."))
    inc = _patched_header(tmp_path, f"#define FASTRAPI_VERSION_MINOR {minor}\n",
                          f"#define FASTRAPI_VERSION_MINOR {minor + 7}\n")
    lib = _build(tmp_path, "v", '#include "fastrapi.h"\nFR_NATIVE_MODULE();\n' + HANDLER, include=inc)
    _refused(lib, f"built against fastrapi.h {major}.{minor + 7}.{patch}",
             f"the running engine is {ENGINE_VERSION}", "MAJOR.MINOR must match", lib)


def test_changed_struct_is_refused(tmp_path):
    inc = _patched_header(tmp_path, "typedef struct fr_config {\n",
                          "typedef struct fr_config {\n    int added_field[4];\n")
    lib = _build(tmp_path, "s", '#include "fastrapi.h"\nFR_NATIVE_MODULE();\n' + HANDLER, include=inc)
    from fastrapi import _fastrapi  # noqa: F401
    msg = _refused(lib, "sizeof(fr_config) is", "in the library but", "in the running engine")
    got = [int(w) for w in msg.split() if w.isdigit()]
    assert got[0] == got[1] + 16


def test_wrong_descriptor_is_refused(tmp_path):
    lib = _build(tmp_path, "m", '#include "fastrapi.h"\n'
                 'FR_NATIVE_EXPORT const fr_native_abi fr_native_module = {0xdeadbeefu, 1, 0, 0, 0, 0, 0, {0}};\n'
                 + HANDLER)
    _refused(lib, "not a fastrapi module descriptor (magic 0xdeadbeef")


def test_missing_descriptor_is_refused(tmp_path):
    lib = _build(tmp_path, "nod", '#include "fastrapi.h"\n' + HANDLER)
    _refused(lib, "no fr_native_module descriptor", "FR_NATIVE_MODULE()")


def test_embedded_engine_is_refused(tmp_path):
    lib = _build(tmp_path, "impl", '#define FASTRAPI_IMPLEMENTATION\n#include "fastrapi.h"\n'
                 'FR_NATIVE_MODULE();\n' + HANDLER, flags=["-Wno-unused-function"])
    _refused(lib, "engine of its own", "FASTRAPI_IMPLEMENTATION")


def test_unknown_engine_function_is_refused(tmp_path):
    lib = _build(tmp_path, "undef", '#include "fastrapi.h"\nFR_NATIVE_MODULE();\n'
                 'int fr_not_in_this_engine(void);\n'
                 'FR_NATIVE_EXPORT int h(fr_req *req, void *ud) { (void)ud; (void)req; '
                 'return fr_not_in_this_engine(); }\n')
    _refused(lib, "cannot load native module", "undefined symbol: fr_not_in_this_engine",
             f"the running engine is fastrapi {ENGINE_VERSION}")


def test_missing_symbol(tlib):
    lib = native.load(tlib)
    app = FastrAPI()
    with pytest.raises(NativeModuleError, match="has no symbol 'nope'"):
        app.add_native_route("GET", "/x", lib, "nope")
    with pytest.raises(NativeModuleError, match="has no symbol 'nope'"):
        lib.nope
    with pytest.raises(NativeModuleError, match="has no symbol 'absent'"):
        @app.native_route("GET", "/y", lib)
        def absent():
            pass
    assert not any(isinstance(r, NativeRoute) for r in app.routes)
    assert lib.item.symbol == "item" and lib.item.address
    assert native.load(tlib) is lib  # loaded once per file version


def test_bad_paths(tmp_path):
    _refused(str(tmp_path / "nope.so"), "No such file")
    _refused(str(tmp_path), "cannot load native module")  # a directory
    text = tmp_path / "text.so"
    text.write_text("not a library")
    _refused(str(text), "cannot load native module", str(text))


# ---- packaging and tools

def test_get_include_and_versions():
    inc = fastrapi.get_include()
    header = os.path.join(inc, "fastrapi.h")
    assert os.path.isfile(header)
    text = open(header).read()
    assert f'#define FASTRAPI_VERSION_STRING "{ENGINE_VERSION}"' in text
    assert native.engine_version() == ENGINE_VERSION
    import tomllib
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        assert tomllib.load(f)["project"]["version"] == ENGINE_VERSION


def test_wheel_ships_the_header(tmp_path):
    r = subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    shipped = tmp_path / "fastrapi" / "fastrapi.h"
    assert shipped.read_bytes() == open(os.path.join(ROOT, "fastrapi.h"), "rb").read()


def test_build_native_cli(tmp_path):
    src = tmp_path / "mod.c"
    src.write_text('#include "fastrapi.h"\n#include <math.h>\nFR_NATIVE_MODULE();\n' + HANDLER)
    out = tmp_path / "mod.so"
    r = subprocess.run([sys.executable, "-m", "fastrapi", "build-native", str(src), "-o", str(out),
                        "--", "-Wall", "-Werror", "-L", str(tmp_path), "-lm"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[0]
    assert first.startswith("cc -shared -fPIC -O2 -I" + fastrapi.get_include()), first
    assert first.endswith(f"-Wall -Werror -L {tmp_path} -lm -o {out}")
    app = FastrAPI()
    app.add_native_route("GET", "/h", str(out), "h")
    with TestClient(app) as c:
        assert c.get("/h").json() == {}
    bad = tmp_path / "bad.c"
    bad.write_text("this is not C\n")
    r = subprocess.run([sys.executable, "-m", "fastrapi", "build-native", str(bad)],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "failed" in r.stderr
    assert not (tmp_path / "bad.so").exists()


def test_invalid_response_from_c_is_500_and_logged(tlib, caplog):
    """A C handler that sets a status outside 100..999 or a header with CR LF
    gets uvicorn's answer for such an app (500 text/plain), nothing of its
    response leaks (no header injection), and one line in fastrapi.error."""
    app = FastrAPI()
    app.add_native_route("GET", "/bad-status", tlib, "bad_status")
    app.add_native_route("GET", "/bad-header", tlib, "bad_header")

    @app.get("/ok")
    def ok():
        return {"ok": 1}

    with caplog.at_level(logging.ERROR, logger="fastrapi.error"), \
            TestClient(app, raise_server_exceptions=False) as c:
        for path, why in (("/bad-status", "invalid status code"), ("/bad-header", "invalid response header")):
            r = c.get(path)
            assert (r.status_code, r.text) == (500, "Internal Server Error")
            assert r.headers["content-type"] == "text/plain; charset=utf-8"
            assert "set-cookie" not in r.headers and "x-evil" not in r.headers
            for _ in range(200):  # logged from the thread that sent the response
                if f"GET {path}" in caplog.text:
                    break
                time.sleep(0.05)
            assert f"invalid response ({why}) from the handler of GET {path}; answered 500" in caplog.text
        assert c.get("/ok").json() == {"ok": 1}
