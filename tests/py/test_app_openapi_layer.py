"""The app layer under the OpenAPI/docs modules (fastrapi/openapi/NEEDS.md):
plain docs routes, scalar detection of str-Enums, Annotated Field(...)
merging, schema cache invalidation and concurrent first generation."""
import sys
import threading
from enum import Enum
from typing import Annotated, List, Literal, Optional, Union

import pytest
from pydantic import BaseModel, Field

from fastrapi import APIRouter, Body, Depends, FastAPI, Header, HTTPException, Query, Request
from fastrapi.openapi.utils import get_openapi
from fastrapi.responses import PlainTextResponse
from fastrapi.routing import APIRoute, Route
from fastrapi.testclient import TestClient


class Color(str, Enum):
    red = "red"
    blue = "blue"


def test_str_enum_params_are_query_params():
    app = FastAPI()

    @app.get("/c")
    def c(color: Color = Color.red, maybe: Optional[Color] = None,
          many: List[Color] = Query(default=[])):
        return {"color": color, "maybe": maybe, "many": many}

    params = {p["name"]: p["in"] for p in app.openapi()["paths"]["/c"]["get"]["parameters"]}
    assert params == {"color": "query", "maybe": "query", "many": "query"}
    assert "requestBody" not in app.openapi()["paths"]["/c"]["get"]
    with TestClient(app) as client:
        assert client.get("/c").json() == {"color": "red", "maybe": None, "many": []}
        r = client.get("/c?color=blue&maybe=red&many=red&many=blue")
        assert r.json() == {"color": "blue", "maybe": "red", "many": ["red", "blue"]}
        bad = client.get("/c?color=green")
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["query", "color"]


class Cat(BaseModel):
    pet_type: Literal["cat"]
    meows: int


class Dog(BaseModel):
    pet_type: Literal["dog"]
    barks: float


def test_annotated_field_discriminator_is_kept_for_bodies():
    app = FastAPI()

    @app.post("/pets")
    def pets(pet: Annotated[Union[Cat, Dog], Field(discriminator="pet_type")]):
        return {"kind": type(pet).__name__}

    schema = app.openapi()["paths"]["/pets"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    assert schema["discriminator"]["propertyName"] == "pet_type"
    assert "oneOf" in schema
    with TestClient(app) as client:
        assert client.post("/pets", json={"pet_type": "dog", "barks": 1}).json() == {"kind": "Dog"}
        bad = client.post("/pets", json={"pet_type": "cow"})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["type"] == "union_tag_invalid"


def test_docs_routes_are_plain_routes_without_app_dependencies():
    def token(x_token: str = Header()):
        if x_token != "secret":
            raise HTTPException(403, "no")

    def first_tag(route: APIRoute) -> str:  # IndexError for a route without tags
        return route.tags[0] + "-" + route.name

    app = FastAPI(dependencies=[Depends(token)], generate_unique_id_function=first_tag)

    @app.get("/items", tags=["items"])
    def items():
        return []

    docs = [r for r in app.routes if not isinstance(r, APIRoute)]
    assert [type(r) for r in docs] == [Route] * 4
    assert [r.path for r in docs] == ["/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"]
    assert all(r.methods == {"GET", "HEAD"} and not r.include_in_schema for r in docs)
    assert not hasattr(docs[0], "dependant")
    with TestClient(app) as client:
        doc = client.get("/openapi.json")
        assert doc.status_code == 200
        assert list(doc.json()["paths"]) == ["/items"]
        assert doc.json()["paths"]["/items"]["get"]["operationId"] == "items-items"
        assert client.get("/docs").status_code == 200
        head = client.head("/redoc")
        assert head.status_code == 200 and head.content == b""
        assert client.post("/docs").status_code == 405
        assert client.get("/items").status_code == 422  # the app dependency still applies
        assert client.get("/items", headers={"x-token": "secret"}).json() == []


def test_add_route_plain_endpoints_and_include_prefix():
    app = FastAPI(openapi_url=None)

    async def hello(request: Request):
        return PlainTextResponse(f"hello {request.query_params.get('n', '?')}")

    app.add_route("/hello", hello)
    router = APIRouter()

    @router.route("/plain", methods=["POST"])
    def plain(request):
        return PlainTextResponse("plain " + request.method)

    app.include_router(router, prefix="/r")
    assert [r.path for r in app.routes] == ["/hello", "/r/plain"]
    assert app.url_path_for("plain") == "/r/plain"
    with TestClient(app) as client:
        assert client.get("/hello?n=x").text == "hello x"
        assert client.post("/r/plain").text == "plain POST"
        assert client.get("/r/plain").status_code == 405
        assert client.get("/docs").status_code == 404


def test_schema_rebuilt_when_routes_change():
    app = FastAPI(openapi_external_docs={"url": "https://example.com", "description": "more"})

    @app.get("/a")
    def a():
        return {}

    first = app.openapi()
    assert app.openapi() is first
    assert set(first["paths"]) == {"/a"}
    # FastAPI's value (pydantic's URL normalisation adds the slash)
    assert first["externalDocs"] == {"url": "https://example.com/", "description": "more"}
    router = APIRouter(prefix="/r")

    @router.get("/b")
    def b():
        return {}

    app.include_router(router)
    assert set(app.openapi()["paths"]) == {"/a", "/r/b"}
    app.add_api_route("/c", a, methods=["POST"])
    assert set(app.openapi()["paths"]) == {"/a", "/r/b", "/c"}


def test_root_path_server_entry_and_asset_urls():
    app = FastAPI(root_path="/prefix", servers=[{"url": "https://api.example.com"}],
                  swagger_js_url="/s/sw.js", redoc_js_url="/s/redoc.js", scalar_url="/scalar")
    with TestClient(app) as client:
        doc = client.get("/openapi.json").json()
        assert doc["servers"] == [{"url": "/prefix"}, {"url": "https://api.example.com"}]
        assert "servers" not in app.openapi() or app.openapi()["servers"] == [
            {"url": "https://api.example.com"}]  # the cached schema is not modified
        docs = client.get("/docs").text
        assert '<script src="/s/sw.js"></script>' in docs and "/prefix/openapi.json" in docs
        assert '<script src="/s/redoc.js"> </script>' in client.get("/redoc").text
        assert 'data-url="/prefix/openapi.json"' in client.get("/scalar").text
    off = FastAPI(root_path="/prefix", root_path_in_servers=False)
    with TestClient(off) as client:
        assert "servers" not in client.get("/openapi.json").json()


def _param_model_app():
    class Hdrs(BaseModel):
        host: str
        x_a: int = 0

    class Q(BaseModel):
        q: str = ""
        limit: int = 10

    app = FastAPI()

    @app.get("/h")
    def h(headers: Annotated[Hdrs, Header()], q: Annotated[Q, Query()]):
        return {}

    return app


def test_concurrent_first_schema_generation():
    """Sync docs routes run on worker threads: concurrent first requests must
    not race inside the generator (a KeyError used to escape as a 500)."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(5):
            app = _param_model_app()
            errors, docs = [], []
            barrier = threading.Barrier(6)

            def run():
                barrier.wait()
                try:
                    # the generator itself (different apps may share models) ...
                    get_openapi(title="t", version="1", routes=app.routes)
                    # ... and the app's cached schema
                    docs.append(app.openapi())
                except Exception as e:  # pragma: no cover - the failure being tested
                    errors.append(repr(e))

            threads = [threading.Thread(target=run) for _ in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert errors == []
            assert all(d is docs[0] for d in docs)  # built once
    finally:
        sys.setswitchinterval(old)
    app = _param_model_app()
    with TestClient(app) as client:
        results = []

        def fetch():
            results.append(client.get("/openapi.json").status_code)

        threads = [threading.Thread(target=fetch) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == [200] * 6


def test_openapi_json_follows_the_schema_as_fastapi_does():
    """/openapi.json is app.openapi() encoded per request, as FastAPI serves
    it: the same bytes while nothing changes, a route added afterwards, and
    an in-place edit of the cached schema (the docs' x-logo recipe done after
    the first fetch; fastrapi cached the first encoding and served it on)."""
    from fastapi import FastAPI as FastAPIApp
    from fastapi.testclient import TestClient as FATC

    from fastrapi import FastAPI
    from fastrapi.testclient import TestClient as TC

    seen = {}
    for name, App, Client in (("fastapi", FastAPIApp, FATC), ("fastrapi", FastAPI, TC)):
        app = App()

        @app.get("/a")
        def a():
            return 1

        with Client(app) as client:
            first = client.get("/openapi.json")
            assert first.headers["content-type"] == "application/json"
            assert client.get("/openapi.json").content == first.content
            app.openapi()["info"]["x-logo"] = {"url": "/logo.png"}
            edited = client.get("/openapi.json").json()

        @app.get("/b")
        def b():
            return 2

        with Client(app) as client:
            third = client.get("/openapi.json").json()
        seen[name] = (first.content, edited["info"], sorted(third["paths"]))
    assert seen["fastrapi"] == seen["fastapi"]
    assert seen["fastapi"][1]["x-logo"] == {"url": "/logo.png"}
