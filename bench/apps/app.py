"""One benchmark app, run unchanged by every FastAPI-shaped framework.

BENCH_FRAMEWORK selects the import:
    fastapi        FastAPI (served by uvicorn, see serve.py)
    fastapi-granian  FastAPI served by granian
    fastrapi       this repository's fastrapi (C engine)
    fastrapi-pypi  FastrAPI from PyPI (the Rust/Axum one), in its own venv

Every endpoint is registered separately: a framework that cannot register one
(missing feature) simply lacks it, and bench_py.py reports "N/A" after
checking each endpoint's answer once before measuring it.

Endpoints (JSON unless said):
    GET  /hello                 sync handler      {"message":"Hello World"}
    GET  /hello-async           async handler     {"message":"Hello World"}
    GET  /items/{item_id}       int path param    {"item_id":N}
    GET  /search?q=..&limit=..  query params      {"q":..,"limit":N}
    POST /echo                  pydantic body     the validated item back
    GET  /deps                  3-level dependency chain (generator -> async ->
                                sync) + OAuth2PasswordBearer (Authorization:
                                Bearer <token>)   {"user":..,"db":..,"token":..}
    GET  /params/{item_id}?q=..&limit=..   path + query {"item_id":N,"q":..,"limit":N}
    POST /order                 the ~10 KB Order document (workload.py) validated
                                by pydantic       workload.order_summary()
    GET  /list                  response_model=List[Row], 100 objects
    GET  /db/{row_id}           one SQLite row (stdlib sqlite3, BENCH_SQLITE)
    GET  /page                  HTML: templates/page.html through Jinja2Templates
                                (extends a layout, 20 rows, autoescaped)
"""
import os
import sys
from typing import List

from pydantic import BaseModel

import workload
from workload import Order, Row

FRAMEWORK = os.environ.get("BENCH_FRAMEWORK", "fastapi")
SKIPPED = {}  # endpoint -> why it could not be registered

if FRAMEWORK.startswith("fastapi"):
    from fastapi import FastAPI as App
else:
    from fastrapi import FastrAPI as App

try:
    if FRAMEWORK.startswith("fastapi"):
        from fastapi import Depends
        from fastapi.security import OAuth2PasswordBearer
    else:
        from fastrapi import Depends
        from fastrapi.security import OAuth2PasswordBearer
except Exception as e:  # noqa: BLE001 - a missing feature is a result, not a crash
    Depends = OAuth2PasswordBearer = None
    SKIPPED["/deps"] = "import: %r" % e

try:
    if FRAMEWORK.startswith("fastapi"):
        from fastapi import Request
        from fastapi.templating import Jinja2Templates
    else:
        from fastrapi import Request
        from fastrapi.templating import Jinja2Templates
except Exception as e:  # noqa: BLE001
    Request = Jinja2Templates = None
    SKIPPED["/page"] = "import: %r" % e

app = App()


class Item(BaseModel):
    name: str
    price: float
    tags: List[str] = []


def _register(path, fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        SKIPPED[path] = repr(e)
        print("bench app: %s not registered: %r" % (path, e), file=sys.stderr)


def _hello():
    @app.get("/hello")
    def hello():
        return {"message": "Hello World"}


def _hello_async():
    @app.get("/hello-async")
    async def hello_async():
        return {"message": "Hello World"}


def _items():
    @app.get("/items/{item_id}")
    def read_item(item_id: int):
        return {"item_id": item_id}


def _search():
    @app.get("/search")
    def search(q: str = "", limit: int = 10):
        return {"q": q, "limit": limit}


def _echo():
    @app.post("/echo")
    def echo(item: Item):
        return item


def _deps():
    if Depends is None:
        raise RuntimeError(SKIPPED.get("/deps", "no Depends"))
    oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")

    def get_db():  # level 1: generator dependency (teardown after the response)
        db = {"name": "db", "open": True}
        try:
            yield db
        finally:
            db["open"] = False

    async def get_user(token: str = Depends(oauth2_scheme), db: dict = Depends(get_db)):
        return {"name": "alice", "db": db["name"], "token": token}  # level 2: async

    def get_profile(user: dict = Depends(get_user)):  # level 3: sync
        return {"user": user["name"], "db": user["db"], "token": user["token"]}

    @app.get("/deps")
    def deps(profile: dict = Depends(get_profile)):
        return profile


def _params():
    @app.get("/params/{item_id}")
    def params(item_id: int, q: str = "", limit: int = 10):
        return {"item_id": item_id, "q": q, "limit": limit}


def _order():
    @app.post("/order")
    def order(order: Order):
        return workload.order_summary(order)


def _list():
    @app.get("/list", response_model=List[Row])
    def rows():
        return workload.ROWS


def _db():
    @app.get("/db/{row_id}")
    def db(row_id: int):
        return workload.db_row(row_id)


def _page():
    templates = Jinja2Templates(directory=workload.TEMPLATES)

    @app.get("/page")
    async def page(request: Request):  # as FastAPI's templates docs write it
        return templates.TemplateResponse(request, "page.html", dict(workload.PAGE_CONTEXT))


for _path, _fn in (("/hello", _hello), ("/hello-async", _hello_async),
                   ("/items/{item_id}", _items), ("/search", _search), ("/echo", _echo),
                   ("/deps", _deps), ("/params/{item_id}", _params), ("/order", _order),
                   ("/list", _list), ("/db/{row_id}", _db), ("/page", _page)):
    if _path not in SKIPPED:
        _register(_path, _fn)
