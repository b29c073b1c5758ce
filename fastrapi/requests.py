"""``Request``: built by the C glue only when a handler or dependency asks for
it, from an ASGI-like scope dict (method, path, raw_path, query_string,
headers, client, path_params, body, app)."""
from __future__ import annotations

import json
from http import cookies as http_cookies
from typing import Any, Dict, Optional
from urllib.parse import unquote

from . import _fastrapi
from .datastructures import FormData, Headers, QueryParams, State


class URL(str):
    """The request URL (a str with a few Starlette-like attributes)."""

    def __new__(cls, scope: Dict[str, Any]) -> "URL":
        host = "testserver"
        for k, v in scope.get("headers", ()):
            if k == b"host":
                host = v.decode("latin-1")
                break
        path = scope.get("raw_path", b"").decode("latin-1") or scope.get("path", "/")
        qs = scope.get("query_string", b"").decode("latin-1")
        url = f"{scope.get('scheme', 'http')}://{host}{path}" + (f"?{qs}" if qs else "")
        self = super().__new__(cls, url)
        self.scheme = scope.get("scheme", "http")
        self.netloc = host
        self.hostname = host.split(":")[0]
        self.path = scope.get("path", "/")
        self.query = qs
        try:
            self.port: Optional[int] = int(host.rsplit(":", 1)[1]) if ":" in host else None
        except ValueError:
            self.port = None
        return self

    def include_query_params(self, **kwargs: Any) -> str:
        from urllib.parse import urlencode
        base = str(self).split("?")[0]
        q = dict(QueryParams(self.query))
        q.update({k: str(v) for k, v in kwargs.items()})
        return base + "?" + urlencode(q)


def cookie_parser(cookie_string: str) -> Dict[str, str]:
    cookie_dict: Dict[str, str] = {}
    for chunk in cookie_string.split(";"):
        if "=" in chunk:
            key, val = chunk.split("=", 1)
        else:
            key, val = "", chunk
        key, val = key.strip(), val.strip()
        if key or val:
            cookie_dict[key] = http_cookies._unquote(val)  # type: ignore[attr-defined]
    return cookie_dict


class Address(tuple):
    @property
    def host(self) -> str:
        return self[0]

    @property
    def port(self) -> int:
        return self[1]


class HTTPConnection:
    def __init__(self, scope: Dict[str, Any]) -> None:
        self.scope = scope

    def __getitem__(self, key: str) -> Any:
        return self.scope[key]

    @property
    def app(self) -> Any:
        return self.scope.get("app")

    @property
    def url(self) -> URL:
        if not hasattr(self, "_url"):
            self._url = URL(self.scope)
        return self._url

    @property
    def base_url(self) -> str:
        u = self.url
        return f"{u.scheme}://{u.netloc}/"

    @property
    def headers(self) -> Headers:
        if not hasattr(self, "_headers"):
            self._headers = Headers(raw=[(k.decode("latin-1"), v.decode("latin-1"))
                                         for k, v in self.scope.get("headers", ())])
        return self._headers

    @property
    def query_params(self) -> QueryParams:
        if not hasattr(self, "_query_params"):
            self._query_params = QueryParams(self.scope.get("query_string", b"").decode("latin-1"))
        return self._query_params

    @property
    def path_params(self) -> Dict[str, Any]:
        return self.scope.get("path_params", {})

    @property
    def cookies(self) -> Dict[str, str]:
        if not hasattr(self, "_cookies"):
            c: Dict[str, str] = {}
            for v in self.headers.getlist("cookie"):
                c.update(cookie_parser(v))
            self._cookies = c
        return self._cookies

    @property
    def client(self) -> Optional[Address]:
        c = self.scope.get("client")
        return Address(c) if c else None

    @property
    def state(self) -> State:
        if "state" not in self.scope:
            self.scope["state"] = State()
        return self.scope["state"]

    def url_for(self, name: str, **path_params: Any) -> str:
        app = self.app
        path = app.url_path_for(name, **path_params)
        return self.base_url.rstrip("/") + path


class Request(HTTPConnection):
    @property
    def method(self) -> str:
        return self.scope["method"]

    @property
    def receive(self) -> Any:  # pragma: no cover - ASGI compat shim
        raise RuntimeError("fastrapi requests have no ASGI receive channel")

    async def body(self) -> bytes:
        return self.scope.get("body", b"")

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = self.scope.get("body", b"")
            try:  # the engine's JSON reader; json.loads for what it refuses (NaN, errors)
                self._json = _fastrapi.loads(body)
            except ValueError:
                self._json = json.loads(body)
        return self._json

    async def form(self, **kwargs: Any) -> FormData:
        if not hasattr(self, "_form"):
            from ._runtime import parse_multipart
            self._form = FormData(parse_multipart(self.scope.get("body", b""),
                                                  self.headers.get("content-type")))
        return self._form

    async def stream(self):
        yield self.scope.get("body", b"")
        yield b""

    async def is_disconnected(self) -> bool:
        return False

    async def close(self) -> None:
        if hasattr(self, "_form"):
            await self._form.close()
