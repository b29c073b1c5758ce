"""Which responses get the headers set on an injected ``response: Response``,
differential against FastAPI.

FastAPI sends a Response the endpoint returns as it is, and adds the
sub-response's headers (and cookies) to the responses it builds itself: a
returned value's, ``response_class=`` ones, and the streams of path
operations that yield. fastrapi added them to a returned ``FileResponse``
or ``StreamingResponse`` too. FastAPI's TestClient, fastrapi's TestClient
and its native server."""
import os
from typing import AsyncIterator

import pytest

from conftest import framework
from helpers import served

HEADERS = ("x-custom", "set-cookie", "content-type")


def make_app(fw, path):
    R = fw.responses
    app = fw.FastAPI()

    def dep(response: fw.Response):
        response.headers["x-custom"] = "dep"
        response.set_cookie("d", "1")

    deps = [fw.Depends(dep)]

    @app.get("/file", dependencies=deps)
    def file():
        return R.FileResponse(path)

    @app.get("/stream", dependencies=deps)
    def stream():
        return R.StreamingResponse(iter([b"a", b"b"]))

    @app.get("/json", dependencies=deps)
    def json_response():
        return R.JSONResponse({"a": 1})

    @app.get("/value", dependencies=deps)
    def value():
        return {"a": 1}

    @app.get("/file-class", dependencies=deps, response_class=R.FileResponse)
    def file_class():
        return path

    @app.get("/plain-class", dependencies=deps, response_class=R.PlainTextResponse)
    def plain_class():
        return "text"

    @app.get("/jsonl", dependencies=deps)
    async def jsonl() -> AsyncIterator[int]:
        for i in range(2):
            yield i

    @app.get("/own-sub")
    def own_sub(response: fw.Response):
        response.headers["x-custom"] = "own"
        return R.StreamingResponse(iter([b"x"]))

    return app


PATHS = ["/file", "/stream", "/json", "/value", "/file-class", "/plain-class", "/jsonl", "/own-sub"]


def answers(kind, path):
    app = make_app(framework("fastapi" if kind == "fastapi" else "fastrapi"), path)
    with served(app, kind) as client:
        out = []
        for p in PATHS:
            for method in ("GET", "HEAD"):
                r = client.request(method, p)
                out.append((method, p, r.status_code, r.content,
                            {h: r.headers.get(h) for h in HEADERS}))
        return out


@pytest.fixture(scope="module")
def body_file(tmp_path_factory):
    path = os.path.join(str(tmp_path_factory.mktemp("sub")), "b.json")
    with open(path, "w") as f:
        f.write('{"file": true}')
    return path


def test_sub_response_headers_as_in_fastapi(body_file):
    want = answers("fastapi", body_file)
    by = {(m, p): h for m, p, _, _, h in want}
    assert by[("GET", "/file")]["x-custom"] is None  # returned: as it is
    assert by[("GET", "/stream")]["set-cookie"] is None
    assert by[("GET", "/own-sub")]["x-custom"] is None
    assert by[("GET", "/value")]["x-custom"] == "dep"  # built by FastAPI: merged
    assert by[("GET", "/file-class")]["x-custom"] == "dep"
    assert by[("GET", "/jsonl")]["set-cookie"] == "d=1; Path=/; SameSite=lax"
    for kind in ("fastrapi", "native"):
        assert answers(kind, body_file) == want, kind
