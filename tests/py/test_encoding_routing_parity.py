"""Small FastAPI behaviours fastrapi got wrong, each against FastAPI:

- ``FastAPI(redirect_slashes=False)`` (or ``app.router.redirect_slashes =
  False`` before serving): no 307 to the other trailing-slash form, a 404;
  fastrapi redirected anyway.
- A pydantic model returned without ``response_model`` or a return
  annotation is encoded as ``jsonable_encoder`` does, by alias (a
  ``Field(alias=)``, an alias generator, a ``serialization_alias``; also
  nested in dicts, lists and dataclasses); fastrapi used field names.
- Status 205 has no content (FastAPI's ``is_body_allowed_for_status_code``):
  FastAPI empties the body; fastrapi sent it. FastAPI keeps the
  content-length of the dropped body, which uvicorn then cannot send (it
  closes the connection); fastrapi frames the empty body with
  content-length 0 (RFC 9110 15.3.6).

Each app runs on FastAPI's TestClient, fastrapi's TestClient and fastrapi's
native server."""
import dataclasses

import httpx
import pytest
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from conftest import framework


class Aliased(BaseModel):
    full_name: str = Field(alias="fullName")


class Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
    first_name: str


class SerAlias(BaseModel):
    a: int = Field(serialization_alias="A_out")


@dataclasses.dataclass
class Holder:
    m: Aliased


def make_app(fw, redirect_slashes=True, late=False):
    app = fw.FastAPI(redirect_slashes=redirect_slashes)
    if late:  # set on the router after construction, as some apps do
        app.router.redirect_slashes = False

    @app.get("/slash/")
    def slash():
        return {"slash": True}

    @app.get("/noslash")
    def noslash():
        return {"slash": False}

    @app.get("/m")
    def m():
        return Aliased(fullName="q")

    @app.get("/camel")
    def camel():
        return Camel(first_name="a")

    @app.get("/ser")
    async def ser():
        return SerAlias(a=1)

    @app.get("/nested")
    def nested():
        return {"k": [Aliased(fullName="r")], "t": (Camel(first_name="b"),)}

    @app.get("/dc")
    def dc():
        return Holder(Aliased(fullName="z"))

    @app.get("/annotated")
    def annotated() -> Aliased:
        return Aliased(fullName="q")

    @app.get("/s205", status_code=205)
    def s205():
        return {"a": 1}

    @app.get("/r205")
    def r205(response: fw.Response):
        response.status_code = 205
        return {"a": 1}

    return app


def answers(app_factory, cases):
    """[(status, body, location)] per case, for FastAPI's TestClient,
    fastrapi's TestClient and fastrapi's native server."""
    from fastapi.testclient import TestClient as FATC

    from fastrapi.testclient import TestClient as FRTC
    out = []
    with FATC(app_factory(framework("fastapi"))) as fa, FRTC(app_factory(framework("fastrapi"))) as fr:
        srv = app_factory(framework("fastrapi"))._start_background("127.0.0.1", 0)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", timeout=10) as nat:
                for path in cases:
                    row = []
                    for c in (fa, fr, nat):
                        r = c.get(path, follow_redirects=False)
                        row.append((r.status_code, r.content, r.headers.get("location", "").split("/", 3)[-1]))
                    out.append((path, row))
        finally:
            srv.stop()
    return out


@pytest.mark.parametrize("kind", ["constructor", "router attribute"])
def test_redirect_slashes_false(kind):
    rows = answers(lambda fw: make_app(fw, redirect_slashes=kind != "constructor",
                                       late=kind != "constructor"), ["/slash", "/noslash/", "/slash/"])
    for path, (fa, fr, nat) in rows:
        assert fr == fa and nat == fa, path
    assert rows[0][1][0] == (404, b'{"detail":"Not Found"}', "")
    assert rows[2][1][0][0] == 200


def test_redirect_slashes_on_by_default():
    rows = answers(make_app, ["/slash", "/noslash/"])
    for path, (fa, fr, nat) in rows:
        assert fa[0] == 307 and fr == fa and nat == fa, path


def test_returned_models_are_encoded_by_alias():
    rows = answers(make_app, ["/m", "/camel", "/ser", "/nested", "/dc", "/annotated"])
    for path, (fa, fr, nat) in rows:
        assert fr == fa and nat == fa, path
    assert [r[1][0][1] for r in rows] == [
        b'{"fullName":"q"}', b'{"firstName":"a"}', b'{"A_out":1}',
        b'{"k":[{"fullName":"r"}],"t":[{"firstName":"b"}]}', b'{"m":{"fullName":"z"}}',
        b'{"fullName":"q"}']


def test_205_has_no_content():
    rows = answers(make_app, ["/s205", "/r205"])
    for path, (fa, fr, nat) in rows:
        assert fa == (205, b"", "") and fr == fa and nat == fa, path
    srv = make_app(framework("fastrapi"))._start_background("127.0.0.1", 0)
    try:  # framed: the connection stays usable for the next request
        with httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", timeout=10) as c:
            for _ in range(3):
                r = c.get("/s205")
                assert (r.status_code, r.headers["content-length"], r.content) == (205, "0", b"")
            assert c.get("/noslash").json() == {"slash": False}
    finally:
        srv.stop()


class RewriteOld:
    """A raw ASGI middleware that moves /old/... to /new/... in
    scope["path"] only (raw_path untouched), as path-rewriting middleware
    commonly does: Starlette routes on scope["path"]."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith("/old/"):
            scope = dict(scope, path="/new/" + scope["path"][5:])
        await self.app(scope, receive, send)


def make_rewrite_app(fw):
    app = fw.FastAPI()
    app.add_middleware(RewriteOld)

    @app.get("/new/{x}")
    def new(x: str, request: fw.Request):
        return {"x": x, "path": request.url.path}

    return app


def test_a_middlewares_path_rewrite_is_routed():
    from fastapi.testclient import TestClient as FATC

    from fastrapi.testclient import TestClient as FRTC
    paths = ["/old/abc", "/new/abc", "/old/a%20b", "/new/caf%C3%A9", "/old/", "/other"]
    with FATC(make_rewrite_app(framework("fastapi"))) as fa, \
            FRTC(make_rewrite_app(framework("fastrapi"))) as fr:
        srv = make_rewrite_app(framework("fastrapi"))._start_background("127.0.0.1", 0)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", timeout=10) as nat:
                for p in paths:
                    want = fa.get(p)
                    for c in (fr, nat):
                        r = c.get(p)
                        assert (r.status_code, r.content) == (want.status_code, want.content), p
        finally:
            srv.stop()
    assert want.status_code == 404  # /other


def make_allow_app(fw):
    app = fw.FastAPI()

    @app.get("/items/{i}")
    def get_item(i: int):
        return {"i": i}

    @app.post("/items/{i}")
    def post_item(i: int):
        return {"posted": i}

    @app.api_route("/multi", methods=["PATCH", "PUT"])
    def multi():
        return {}

    @app.delete("/multi")
    def multi_delete():
        return {}

    async def plain(request):
        return fw.responses.PlainTextResponse("plain")

    app.add_route("/plain", plain, methods=["GET"])

    @app.post("/plain")
    def plain_post():
        return {}

    return app


def test_405_allow_names_the_first_matching_routes_methods():
    """Starlette answers 405 with the first route that matched the path:
    separate @app.get and @app.post on one path give `allow: GET`
    (fastrapi listed every method of the path). FastAPI's order inside one
    route comes from a set, so methods are compared as sets."""
    from fastapi.testclient import TestClient as FATC

    from fastrapi.testclient import TestClient as FRTC
    cases = [("PUT", "/items/1"), ("DELETE", "/items/1"), ("GET", "/multi"), ("POST", "/multi"),
             ("DELETE", "/plain"), ("POST", "/items/1")]
    rows = []
    with FATC(make_allow_app(framework("fastapi"))) as fa, FRTC(make_allow_app(framework("fastrapi"))) as fr:
        srv = make_allow_app(framework("fastrapi"))._start_background("127.0.0.1", 0)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", timeout=10) as nat:
                for method, path in cases:
                    row = []
                    for c in (fa, fr, nat):
                        r = c.request(method, path)
                        allow = r.headers.get("allow")
                        row.append((r.status_code, r.content,
                                    None if allow is None else sorted(allow.split(", "))))
                    assert row[1] == row[0] and row[2] == row[0], (method, path)
                    rows.append(row[0])
        finally:
            srv.stop()
    assert [r[2] for r in rows[:5]] == [["GET"], ["GET"], ["PATCH", "PUT"], ["PATCH", "PUT"],
                                        ["GET", "HEAD"]]
    assert rows[5][0] == 200


def make_scope_app(fw):
    app = fw.FastAPI()
    router = fw.APIRouter(prefix="/r")

    @app.get("/items/{i}")
    def handler(i: int, request: fw.Request):
        s = request.scope
        return {"endpoint": s["endpoint"].__name__, "route": s["route"].path,
                "router_is_app_router": s["router"] is request.app.router,
                "path_params": s["path_params"]}

    @router.get("/x")
    async def included(request: fw.Request):
        return {"endpoint": request.scope["endpoint"].__name__,
                "router_is_app_router": request.scope["router"] is request.app.router}

    app.include_router(router)
    return app


def test_scope_has_starlettes_routing_keys():
    """scope["endpoint"] and scope["router"] as Starlette's router sets them
    (instrumentation reads them); fastrapi set only "route"."""
    from fastapi.testclient import TestClient as FATC

    from fastrapi.testclient import TestClient as FRTC
    with FATC(make_scope_app(framework("fastapi"))) as fa, FRTC(make_scope_app(framework("fastrapi"))) as fr:
        srv = make_scope_app(framework("fastrapi"))._start_background("127.0.0.1", 0)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", timeout=10) as nat:
                for p in ("/items/3", "/r/x"):
                    want = fa.get(p).json()
                    assert fr.get(p).json() == want and nat.get(p).json() == want, p
        finally:
            srv.stop()
    assert want == {"endpoint": "included", "router_is_app_router": True}
