"""fastrapi.security against fastapi.security, scheme by scheme.

Each scheme is called directly as a dependency with the same credentials
(valid, missing, malformed, other scheme) and ``auto_error`` on and off; the
outcome — returned value, or the HTTPException's status, detail and headers —
must be identical. The OpenAPI ``model`` of every scheme must serialise to
the same security scheme object. End-to-end checks through the server are in
test_security_http.py.
"""
from __future__ import annotations

import asyncio
import base64
from typing import Any, Dict, List, Optional

import pytest
from pydantic import BaseModel

import fastapi.security as fa_sec
import fastrapi.security as fr_sec
from fastrapi.openapi.utils import jsonable
from fastrapi.security.utils import get_authorization_scheme_param, parse_basic_credentials


class _CIDict(dict):
    """Case-insensitive header mapping (what Request.headers offers)."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        for k, v in self.items():
            if k.lower() == key.lower():
                return v
        return default


class FakeRequest:
    """The slice of fastrapi.requests.Request the schemes read."""

    def __init__(self, headers: Dict[str, str], query: Dict[str, str], cookies: Dict[str, str]):
        self.headers = _CIDict(headers)
        self.query_params = dict(query)
        self.cookies = dict(cookies)


def starlette_request(headers: Dict[str, str], query: Dict[str, str], cookies: Dict[str, str]):
    from urllib.parse import urlencode

    from starlette.requests import Request

    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    if cookies:
        raw.append((b"cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()).encode()))
    scope = {"type": "http", "method": "GET", "path": "/", "headers": raw,
             "query_string": urlencode(query).encode()}
    return Request(scope)


def outcome(scheme: Any, request: Any) -> Any:
    try:
        value = asyncio.run(scheme(request))
    except Exception as exc:  # both frameworks raise an HTTPException subclass
        return ("error", type(exc).__name__, getattr(exc, "status_code", None),
                getattr(exc, "detail", None), getattr(exc, "headers", None))
    if isinstance(value, BaseModel):
        return ("ok", type(value).__name__, value.model_dump())
    return ("ok", value)


def b64(text: bytes) -> str:
    return base64.b64encode(text).decode("ascii")


AUTH_VALUES: List[Optional[str]] = [
    None, "", " ", "Bearer", "Bearer ", "Bearer abc", "bearer abc", "BEARER  abc  ",
    "Bearer abc def", "Token abc", "Basic " + b64(b"alice:s3cret"), "basic " + b64(b"bob:"),
    "Basic " + b64(b"nocolon"), "Basic !!!notbase64", "Basic " + b64("é:x".encode()),
    "Basic " + b64(b":"), "Basic", "Digest username=\"x\", realm=\"r\"", "digest abc",
    "Basic " + b64(b"a:b:c"),
]

SCHEMES = [
    ("HTTPBasic", {}), ("HTTPBasic", {"realm": "my realm"}), ("HTTPBasic", {"auto_error": False}),
    ("HTTPBearer", {}), ("HTTPBearer", {"auto_error": False}),
    ("HTTPDigest", {}), ("HTTPDigest", {"auto_error": False}),
    ("OAuth2PasswordBearer", {"tokenUrl": "token"}),
    ("OAuth2PasswordBearer", {"tokenUrl": "token", "auto_error": False}),
    ("OAuth2AuthorizationCodeBearer", {"authorizationUrl": "a", "tokenUrl": "t"}),
    ("OAuth2AuthorizationCodeBearer", {"authorizationUrl": "a", "tokenUrl": "t",
                                       "auto_error": False}),
    ("OAuth2", {}), ("OAuth2", {"auto_error": False}),
    ("OpenIdConnect", {"openIdConnectUrl": "https://x/.well-known"}),
    ("OpenIdConnect", {"openIdConnectUrl": "https://x/.well-known", "auto_error": False}),
]


@pytest.mark.parametrize("cls,kwargs", SCHEMES, ids=lambda v: str(v))
@pytest.mark.parametrize("auth", AUTH_VALUES)
def test_authorization_schemes_match_fastapi(cls, kwargs, auth):
    headers = {} if auth is None else {"Authorization": auth}
    ours = outcome(getattr(fr_sec, cls)(**kwargs), FakeRequest(headers, {}, {}))
    theirs = outcome(getattr(fa_sec, cls)(**kwargs), starlette_request(headers, {}, {}))
    assert ours == theirs


def test_http_base_generic_scheme_matches_fastapi():
    from fastapi.security.http import HTTPBase as FaBase

    from fastrapi.security.http import HTTPBase as FrBase

    for auth in AUTH_VALUES:
        headers = {} if auth is None else {"Authorization": auth}
        for auto_error in (True, False):
            ours = outcome(FrBase(scheme="custom", auto_error=auto_error), FakeRequest(headers, {}, {}))
            theirs = outcome(FaBase(scheme="custom", auto_error=auto_error),
                             starlette_request(headers, {}, {}))
            assert ours == theirs, auth


@pytest.mark.parametrize("auto_error", [True, False])
@pytest.mark.parametrize("value", [None, "", "k3y", "with space"])
@pytest.mark.parametrize("where", ["header", "query", "cookie"])
def test_api_keys_match_fastapi(where, value, auto_error):
    cls = {"header": "APIKeyHeader", "query": "APIKeyQuery", "cookie": "APIKeyCookie"}[where]
    name = {"header": "X-API-Key", "query": "api_key", "cookie": "session"}[where]
    sent = {} if value is None else {name: value}
    headers = {name.lower(): value} if where == "header" and value is not None else {}
    query = sent if where == "query" else {}
    # a cookie value with a space is not representable in a Cookie header
    cookies = sent if where == "cookie" and value and " " not in value else {}
    ours = outcome(getattr(fr_sec, cls)(name=name, auto_error=auto_error),
                   FakeRequest(headers, query, cookies))
    theirs = outcome(getattr(fa_sec, cls)(name=name, auto_error=auto_error),
                     starlette_request(headers, query, cookies))
    assert ours == theirs


def test_missing_credentials_are_401_with_challenge():
    exc = outcome(fr_sec.HTTPBearer(), FakeRequest({}, {}, {}))
    assert exc[:5] == ("error", "HTTPException", 401, "Not authenticated",
                       {"WWW-Authenticate": "Bearer"})
    exc = outcome(fr_sec.HTTPBasic(realm="r"), FakeRequest({}, {}, {}))
    assert exc[4] == {"WWW-Authenticate": 'Basic realm="r"'}
    exc = outcome(fr_sec.APIKeyHeader(name="k"), FakeRequest({}, {}, {}))
    assert exc[2:] == (401, "Not authenticated", {"WWW-Authenticate": "APIKey"})


def test_basic_malformed_is_401_even_without_auto_error():
    bad = FakeRequest({"Authorization": "Basic " + b64(b"nocolon")}, {}, {})
    assert outcome(fr_sec.HTTPBasic(auto_error=False), bad)[2] == 401


MODELS = [
    ("APIKeyHeader", {"name": "k", "description": "d"}), ("APIKeyQuery", {"name": "k"}),
    ("APIKeyCookie", {"name": "k", "scheme_name": "c"}), ("HTTPBasic", {"realm": "r"}),
    ("HTTPBearer", {"bearerFormat": "JWT"}), ("HTTPDigest", {"description": "dg"}),
    ("OAuth2PasswordBearer", {"tokenUrl": "/t", "scopes": {"a": "A"}, "refreshUrl": "/r"}),
    ("OAuth2AuthorizationCodeBearer", {"authorizationUrl": "/a", "tokenUrl": "/t"}),
    ("OAuth2", {"flows": {"implicit": {"authorizationUrl": "/a", "scopes": {}}}}),
    ("OpenIdConnect", {"openIdConnectUrl": "/oidc", "description": "x"}),
]


@pytest.mark.parametrize("cls,kwargs", MODELS, ids=lambda v: str(v))
def test_scheme_models_and_names_match_fastapi(cls, kwargs):
    from fastapi.encoders import jsonable_encoder

    ours = getattr(fr_sec, cls)(**kwargs)
    theirs = getattr(fa_sec, cls)(**kwargs)
    assert ours.scheme_name == theirs.scheme_name
    assert jsonable(ours.model, exclude_none=True) == jsonable_encoder(
        theirs.model, by_alias=True, exclude_none=True)
    assert ours.auto_error == theirs.auto_error


def test_security_scopes_and_password_form():
    s = fr_sec.SecurityScopes(["a", "b"])
    assert (s.scopes, s.scope_str) == (["a", "b"], "a b")
    assert fr_sec.SecurityScopes().scopes == []
    form = fr_sec.OAuth2PasswordRequestForm(username="u", password="p", scope="x  y")
    assert (form.username, form.password, form.scopes, form.grant_type) == ("u", "p", ["x", "y"], None)
    strict = fr_sec.OAuth2PasswordRequestFormStrict(grant_type="password", username="u", password="p")
    assert strict.grant_type == "password" and strict.scopes == []


def test_exports_match_fastapi():
    assert set(fr_sec.__all__) == {n for n in dir(fa_sec) if not n.startswith("_")} - {
        "api_key", "base", "http", "oauth2", "open_id_connect_url", "utils"}


@pytest.mark.parametrize("value,expected", [
    (None, ("", "")), ("", ("", "")), ("Bearer x", ("Bearer", "x")),
    ("Bearer   x  ", ("Bearer", "x")), ("Bearer", ("Bearer", "")), (" x", ("", "x")),
])
def test_get_authorization_scheme_param(value, expected):
    from fastapi.security.utils import get_authorization_scheme_param as fa

    assert get_authorization_scheme_param(value) == expected == fa(value)


@pytest.mark.parametrize("param,expected", [
    (b64(b"u:p"), ("u", "p")), (b64(b"u:"), ("u", "")), (b64(b":p"), ("", "p")),
    (b64(b"u:p:q"), ("u", "p:q")), (b64(b"nocolon"), None), ("***", None), ("abc", None),
    (b64("ü:x".encode()), None), ("", None),
])
def test_parse_basic_credentials(param, expected):
    assert parse_basic_credentials(param) == expected
