"""Several Cookie header lines (HTTP/2 cookie crumbs a proxy forwards
unjoined), differential against FastAPI.

Starlette 1.x parses every Cookie line in order, later pairs winning, for
``request.cookies`` and so for ``Cookie()`` parameters; fastrapi's engine read
the first line only (``fr_req_cookie_get``, the parameters, the session
middleware). FastAPI's TestClient, fastrapi's TestClient and its native
server."""
from typing import Optional

from conftest import framework
from helpers import served

CASES = [
    [("cookie", "a=1"), ("cookie", "b=2")],
    [("cookie", "a=1"), ("cookie", "a=2")],
    [("cookie", "a=1; b=x"), ("cookie", "c=3"), ("cookie", "b=\"q\\\"\"")],
    [("cookie", "a=1;"), ("cookie", ""), ("cookie", "b=2")],
    [("cookie", "a=1")],
    [],
]


def make_app(fw):
    app = fw.FastAPI()

    @app.get("/c")
    def cookies(request: fw.Request, a: Optional[str] = fw.Cookie(None),
                b: Optional[str] = fw.Cookie(None), c: Optional[int] = fw.Cookie(None)):
        return {"a": a, "b": b, "c": c, "all": request.cookies}

    return app


def answers(kind):
    app = make_app(framework("fastapi" if kind == "fastapi" else "fastrapi"))
    with served(app, kind) as client:
        return [(r.status_code, r.json()) for r in (client.get("/c", headers=h) for h in CASES)]


def test_cookie_lines_as_in_fastapi():
    want = answers("fastapi")
    assert want[0][1] == {"a": "1", "b": "2", "c": None, "all": {"a": "1", "b": "2"}}
    assert want[1][1]["a"] == "2"
    assert want[2][1]["b"] == 'q"' and want[2][1]["c"] == 3
    for kind in ("fastrapi", "native"):
        assert answers(kind) == want, kind
