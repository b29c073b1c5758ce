"""Dependencies: sub-dependencies, caching, classes, yield, router-level."""
from typing import Annotated, Optional


def make_app(fw):
    Depends, Header, Query = fw.Depends, fw.Header, fw.Query
    calls = []

    def common(q: Optional[str] = None, skip: int = 0, limit: int = 100):
        return {"q": q, "skip": skip, "limit": limit}

    def counter():
        calls.append(1)
        return len(calls)

    def sub(c1: int = Depends(counter), c2: int = Depends(counter)):
        return c1 == c2

    def nocache(c1: int = Depends(counter), c2: int = Depends(counter, use_cache=False)):
        return c2 - c1

    class Pager:
        def __init__(self, page: int = 1, size: int = Query(10, le=50)):
            self.page, self.size = page, size

    def token(x_token: str = Header()):
        if x_token != "secret":
            raise fw.HTTPException(status_code=400, detail="X-Token header invalid")
        return x_token

    async def async_dep(v: int = 3):
        return v * 2

    def gen_dep():
        yield "from-gen"

    async def agen_dep():
        yield "from-agen"

    CommonDep = Annotated[dict, Depends(common)]

    router = fw.APIRouter(prefix="/r", tags=["r"], dependencies=[Depends(token)])

    @router.get("/x")
    def rx(c: CommonDep):
        return c

    app = fw.FastAPI()

    @app.get("/common")
    def get_common(c: dict = Depends(common)):
        return c

    @app.get("/annotated")
    def get_annotated(c: CommonDep):
        return c

    @app.get("/cache")
    def get_cache(same: bool = Depends(sub)):
        return {"same": same}

    @app.get("/nocache")
    def get_nocache(d: int = Depends(nocache)):
        return {"diff": d}

    @app.get("/class")
    def get_class(p: Pager = Depends()):
        return {"page": p.page, "size": p.size}

    @app.get("/async")
    async def get_async(v: int = Depends(async_dep)):
        return {"v": v}

    @app.get("/sync_with_async_dep")
    def sync_with_async(v: int = Depends(async_dep)):
        return {"v": v}

    @app.get("/gen")
    def get_gen(g: str = Depends(gen_dep), a: str = Depends(agen_dep)):
        return {"g": g, "a": a}

    @app.get("/protected", dependencies=[Depends(token)])
    def protected():
        return {"ok": True}

    @app.get("/two_errors")
    def two_errors(c: dict = Depends(common), t: str = Depends(token), n: int = Query()):
        return {}

    app.include_router(router)
    return app


CASES = [
    ("GET", "/common", {}), ("GET", "/common?q=a&skip=1&limit=5", {}), ("GET", "/common?skip=x", {}),
    ("GET", "/annotated?limit=2", {}), ("GET", "/cache", {}), ("GET", "/class?page=2&size=5", {}),
    ("GET", "/class?size=100", {}), ("GET", "/async?v=4", {}), ("GET", "/async?v=x", {}),
    ("GET", "/sync_with_async_dep", {}), ("GET", "/gen", {}),
    ("GET", "/protected", {}), ("GET", "/protected", {"headers": {"x-token": "bad"}}),
    ("GET", "/protected", {"headers": {"x-token": "secret"}}),
    ("GET", "/two_errors?skip=x", {}), ("GET", "/two_errors?skip=x", {"headers": {"x-token": "bad"}}),
    ("GET", "/r/x", {}), ("GET", "/r/x?q=1", {"headers": {"x-token": "secret"}}),
]
