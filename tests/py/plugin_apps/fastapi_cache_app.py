"""Run by tests/py/test_plugins.py: an app as the plugin's README shows, driven
over HTTP; the runner's prelude defines TestClient (FastAPI's, fastrapi's native
server, or Starlette's over the ASGI face). Prints what must be equal."""
# flake8: noqa: F821
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from fastapi import FastAPI, Request, Response
from fastapi_cache import FastAPICache
from fastapi_cache.backends.inmemory import InMemoryBackend
from fastapi_cache.decorator import cache
from pydantic import BaseModel

class FrozenClockBackend(InMemoryBackend):
    """The plugin's in-memory backend on a clock that does not move: its
    clock is whole seconds, so a hit's max-age (the entry's remaining TTL)
    read one request after its miss is 29 instead of 30 whenever a second
    boundary falls between them -- in either framework's run, at random. No
    entry here lives long enough to expire."""
    _frozen = int(__import__("time").time())

    @property
    def _now(self) -> int:
        return self._frozen


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    FastAPICache.init(FrozenClockBackend(), prefix="fastapi-cache")
    yield

app = FastAPI(lifespan=lifespan)
calls = {"index": 0, "item": 0, "sync": 0, "model": 0}

class Item(BaseModel):
    name: str
    n: int

@app.get("/")
@cache(expire=60)
async def index():
    calls["index"] += 1
    return dict(hello="world", calls=calls["index"])

@app.get("/items/{item_id}")
@cache(namespace="items", expire=60)
async def item(item_id: int, q: str = "x"):
    calls["item"] += 1
    return {"item_id": item_id, "q": q, "calls": calls["item"]}

@app.get("/sync")
@cache(expire=30)
def sync_route(request: Request, response: Response):
    calls["sync"] += 1
    return {"calls": calls["sync"], "path": request.url.path}

@app.get("/model", response_model=Item)
@cache(expire=60)
async def model():
    calls["model"] += 1
    return Item(name="m", n=calls["model"])

def show(r):
    h = r.headers
    print(r.request.method, r.request.url.raw_path.decode(), r.status_code, r.text, h.get("x-fastapi-cache"), h.get("cache-control"), "etag" in h,
          h.get("content-type"))
    return r

with TestClient(app) as c:
    for u in ["/", "/", "/items/1", "/items/1", "/items/1?q=y", "/items/2", "/items/x",
              "/sync", "/sync", "/model", "/model"]:
        show(c.get(u))
    show(c.get("/", headers={"Cache-Control": "no-cache"}))  # bypasses the cache, stores anew
    show(c.get("/", headers={"Cache-Control": "no-store"}))
    r = show(c.get("/"))
    show(c.get("/", headers={"If-None-Match": r.headers["etag"]}))
    show(c.post("/"))
print(calls)
print(sorted(app.openapi()["paths"]))
