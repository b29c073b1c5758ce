"""Pydantic models as Query / Header / Cookie / Form parameters (FastAPI's
"Query Parameter Models", "Header Parameter Models", "Cookie Parameter
Models", "Form Models"), and parameters with ``validation_alias=
AliasChoices(...)`` (read under the first name the request has; fastrapi
read only the first name), differential against FastAPI 0.165.

fastrapi answered every such route 422 ``missing`` at the parameter's own
name; FastAPI reads the model's fields one by one (lists from repeated
keys, aliases, header names with underscores converted) and validates the
dict with the model, so ``extra="forbid"`` reports the other keys and a
missing field sits at ``("query", field)`` with ``input`` ``{}``. The same
app runs on FastAPI's TestClient, fastrapi's TestClient and fastrapi's
native server."""
from typing import Annotated, List, Literal, Optional

import httpx
import pytest
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from conftest import framework


class FilterParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(100, gt=0, le=100)
    offset: int = Field(0, ge=0)
    order_by: Literal["created_at", "updated_at"] = "created_at"
    tags: List[str] = []


class Lenient(BaseModel):
    q: str
    page: int = 1


class Allowing(BaseModel):
    model_config = ConfigDict(extra="allow")
    q: str = "x"


class Aliased(BaseModel):
    item_query: str = Field(alias="item-query")


class CommonHeaders(BaseModel):
    host: str
    save_data: bool
    if_modified_since: Optional[str] = None
    traceparent: Optional[str] = None
    x_tag: List[str] = []


class Cookies(BaseModel):
    session_id: str
    fatebook_tracker: Optional[str] = None


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str
    password: str
    remember: bool = False
    roles: List[str] = []


def make_app(fw):
    app = fw.FastAPI()

    @app.get("/items")
    def items(filter_query: Annotated[FilterParams, fw.Query()]):
        return filter_query

    @app.get("/lenient")
    async def lenient(p: Annotated[Lenient, fw.Query()], extra: int = 0):
        return {"p": p, "extra": extra}

    @app.get("/allow")
    def allow(p: Annotated[Allowing, fw.Query()]):
        return p.model_dump()

    @app.get("/aliased")
    def aliased(p: Annotated[Aliased, fw.Query()]):
        return p

    @app.get("/optional")
    def optional(p: Annotated[Optional[Lenient], fw.Query()] = None):
        return {"p": p}

    @app.get("/headers")
    def headers(h: Annotated[CommonHeaders, fw.Header()]):
        return h

    @app.get("/raw-headers")
    def raw_headers(h: Annotated[Lenient, fw.Header(convert_underscores=False)]):
        return h

    @app.get("/cookies")
    def cookies(c: Annotated[Cookies, fw.Cookie()]):
        return c

    def paging(p: Annotated[Lenient, fw.Query()]):
        return p.page

    @app.get("/dep")
    def dep(page: int = fw.Depends(paging)):
        return {"page": page}

    @app.get("/choices")
    def choices(x: str = fw.Query(validation_alias=AliasChoices("xa", "xb")),
                n: int = fw.Query(0, validation_alias=AliasChoices("n1", "n2")),
                h: Optional[str] = fw.Header(None, validation_alias=AliasChoices("x-a", "x-b")),
                c: List[str] = fw.Query([], validation_alias=AliasChoices("c1", "c2"))):
        return {"x": x, "n": n, "h": h, "c": c}

    @app.post("/login")
    def login(data: Annotated[Login, fw.Form()]):
        return data

    def needs_z(z: int):
        return z

    @app.get("/mixed/{n}")  # a model's errors in place among the others' (one 422)
    def mixed(n: int, f: Annotated[FilterParams, fw.Query()], h: Annotated[Lenient, fw.Header()],
              y: int, d: int = fw.Depends(needs_z), after: Annotated[Optional[Lenient], fw.Query()] = None):
        return {"n": n, "y": y, "d": d}

    @app.post("/login-mixed")
    def login_mixed(data: Annotated[Login, fw.Form()], token: Annotated[str, fw.Form()],
                    q: int = 0):
        return {"data": data, "token": token, "q": q}

    @app.post("/login-optional")
    async def login_optional(data: Annotated[Optional[Login], fw.Form()] = None):
        return {"data": data}

    return app


CASES = [
    ("GET", "/items", {}),
    ("GET", "/items?limit=5&offset=2&order_by=updated_at&tags=a&tags=b", {}),
    ("GET", "/items?limit=0", {}),
    ("GET", "/items?limit=x&offset=-1", {}),
    ("GET", "/items?order_by=name", {}),
    ("GET", "/items?tool=plumbus", {}),
    ("GET", "/items?tags=a&tool=1&tool=2", {}),
    ("GET", "/lenient?q=hi", {}),
    ("GET", "/lenient?q=hi&page=2&other=1&extra=7", {}),
    ("GET", "/lenient", {}),
    ("GET", "/lenient?page=x", {}),
    ("GET", "/allow?z=1&q=y", {}),
    ("GET", "/aliased?item-query=v", {}),
    ("GET", "/aliased?item_query=v", {}),
    ("GET", "/optional", {}),
    ("GET", "/optional?q=a", {}),
    ("GET", "/optional?page=2", {}),
    ("GET", "/headers", {"headers": {"save-data": "1"}}),
    ("GET", "/headers", {"headers": {"save-data": "yes", "traceparent": "t", "x-tag": "a"}}),
    ("GET", "/headers", {"headers": {"save-data": "0", "x-tag": ["a", "b"]}}),
    ("GET", "/headers", {"headers": {"save-data": "maybe", "if-modified-since": "x"}}),
    ("GET", "/headers", {"headers": {"save-data": "1", "x-unknown": "u"}}),
    ("GET", "/headers", {"headers": {"save_data": "1"}}),
    ("GET", "/raw-headers", {"headers": {"q": "a", "page": "3"}}),
    ("GET", "/cookies", {"headers": {"cookie": "session_id=s1; fatebook_tracker=t"}}),
    ("GET", "/cookies", {"headers": {"cookie": "other=1"}}),
    ("GET", "/dep?q=x&page=4", {}),
    ("GET", "/dep?page=4", {}),
    # AliasChoices (FastAPI reads the first name the request has)
    ("GET", "/choices?xb=2", {}),
    ("GET", "/choices?xa=1&xb=2&n2=5", {}),
    ("GET", "/choices?xb=2&n2=x", {}),
    ("GET", "/choices", {}),
    ("GET", "/choices?xa=1&c2=a&c2=b", {}),
    ("GET", "/choices?xa=1", {"headers": {"x-b": "hb"}}),
    ("POST", "/login", {"data": {"username": "u", "password": "p"}}),
    ("POST", "/login", {"data": {"username": "u", "password": "p", "remember": "on",
                                 "roles": ["a", "b"]}}),
    ("POST", "/login", {"data": {"username": "u"}}),
    ("POST", "/login", {"data": {"username": "u", "password": "p", "extra": "1"}}),
    ("POST", "/login", {"data": {"username": "", "password": "p"}}),
    ("POST", "/login", {"files": {"username": (None, "u"), "password": (None, "p")}}),
    ("POST", "/login", {"content": b"", "headers": {"content-type": "application/x-www-form-urlencoded"}}),
    ("GET", "/mixed/x?limit=0&y=q&z=w&page=zz", {"headers": {"page": "p"}}),
    ("GET", "/mixed/1?limit=3&y=1&z=2", {"headers": {"q": "hq"}}),
    ("GET", "/mixed/1?y=1&z=2&limit=101", {"headers": {"page": "x"}}),
    ("POST", "/login-mixed?q=bad", {"data": {"username": "u"}}),
    ("POST", "/login-mixed", {"data": {"username": "u", "password": "p", "token": "t"}}),
    ("POST", "/login-optional", {"data": {"username": "u", "password": "p"}}),
    ("POST", "/login-optional", {"data": {"zzz": "1"}}),
    ("POST", "/login-optional", {"content": b"", "headers": {"content-type": "application/x-www-form-urlencoded"}}),
]


@pytest.fixture(scope="module")
def clients():
    from fastapi.testclient import TestClient as FATC

    from fastrapi.testclient import TestClient as FRTC
    fa = FATC(make_app(framework("fastapi")))
    fr = FRTC(make_app(framework("fastrapi")))
    srv = make_app(framework("fastrapi"))._start_background("127.0.0.1", 0)
    nat = httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", headers={"host": "testserver"},
                       timeout=10)
    yield fa, fr, nat
    nat.close()
    fr.close()
    fa.close()
    srv.stop()


@pytest.mark.parametrize("method,path,kw", CASES, ids=[f"{i}-{m}-{p}" for i, (m, p, _) in enumerate(CASES)])
def test_same_answer_as_fastapi(clients, method, path, kw):
    got = []
    for c in clients:
        kw2 = dict(kw)
        headers = kw2.pop("headers", {})
        multi = [(k, x) for k, v in headers.items() for x in (v if isinstance(v, list) else [v])]
        r = c.request(method, path, headers=httpx.Headers(multi), **kw2)
        if path.startswith(("/headers", "/mixed")) and r.status_code == 422:
            # a missing header's input is every header the client sent (each
            # client sends its own): compared by error type and place
            got.append((422, [(e["type"], e["loc"]) for e in r.json()["detail"]]))
        else:
            got.append((r.status_code, r.content))
    assert got[1] == got[0]
    assert got[2] == got[0]


def test_the_answers_are_not_all_errors(clients):
    """A server answering 422 everywhere would agree with nothing above; the
    happy paths are spelled out."""
    fa = clients[0]
    assert fa.get("/items?limit=5&tags=a&tags=b").json() == {
        "limit": 5, "offset": 0, "order_by": "created_at", "tags": ["a", "b"]}
    for c in clients[1:]:
        assert c.get("/items?limit=5&tags=a&tags=b").json()["tags"] == ["a", "b"]
        r = c.get("/items?tool=plumbus")
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "tool"]
        assert c.post("/login", data={"username": "u", "password": "p"}).json() == {
            "username": "u", "password": "p", "remember": False, "roles": []}
