"""Starlette's own ``Route`` objects put among an app's routes --
``FastAPI(routes=[...])``, ``APIRouter(routes=[...])`` then
``include_router``, ``app.routes.append``/``insert`` -- are served as FastAPI
serves them (fastrapi answered 404: only ``add_route``'s were served)."""
import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from conftest import framework
from helpers import served


async def plain(request):
    endpoint = request.scope.get("endpoint")
    return PlainTextResponse(f"plain {request.url.path} {request.method} {getattr(endpoint, '__name__', None)}")


def sync_plain(request):
    return PlainTextResponse("sync " + request.url.path)


def make(name):
    fw = framework(name)
    app = fw.FastAPI(routes=[Route("/ctor", plain)])
    router = fw.APIRouter(routes=[Route("/rctor", plain, methods=["POST"])])
    app.include_router(router, prefix="/p")
    app.routes.append(Route("/appended", sync_plain))
    app.router.routes.insert(0, Route("/inserted", plain))

    @app.get("/api")
    def api():
        return {"ok": True}
    return app


CASES = [("GET", "/ctor"), ("HEAD", "/ctor"), ("POST", "/ctor"), ("POST", "/p/rctor"), ("GET", "/p/rctor"),
         ("GET", "/appended"), ("GET", "/inserted"), ("GET", "/api")]


def answers(name, kind):
    app = make(name)
    with served(app, kind) as c:
        # Allow's order comes from a set in FastAPI (it changes with the hash seed)
        out = [(r.status_code, sorted((r.headers.get("allow") or "").split(", ")), r.text)
               for r in (c.request(m, p) for m, p in CASES)]
    return out, app.openapi()["paths"].keys()


@pytest.mark.parametrize("kind", ["fastrapi", "native", "fastrapi-uvicorn"])
def test_starlette_route_objects_are_served(kind):
    want = answers("fastapi", "fastapi")
    assert want[0][0] == (200, [""], "plain /ctor GET plain")
    assert want[0][3] == (200, [""], "plain /p/rctor POST plain")
    assert list(want[1]) == ["/api"]
    got = answers("fastrapi", kind)
    assert got[0] == want[0]
    assert list(got[1]) == list(want[1])
