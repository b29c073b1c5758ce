"""Security schemes end to end: the same app source under FastAPI and
fastrapi, the same requests (valid, missing, malformed and other-scheme
credentials); status, JSON body and WWW-Authenticate must match."""
from __future__ import annotations

import base64
import warnings
from typing import Annotated, Optional

import pytest

from .corpus import fastapi_fw, fastrapi_fw


def make_app(fw):
    sec = fw.security
    app = fw.FastAPI()
    schemes = {
        "basic": sec.HTTPBasic(), "basic_realm": sec.HTTPBasic(realm="zone"),
        "basic_opt": sec.HTTPBasic(auto_error=False),
        "bearer": sec.HTTPBearer(), "bearer_opt": sec.HTTPBearer(auto_error=False),
        "digest": sec.HTTPDigest(), "digest_opt": sec.HTTPDigest(auto_error=False),
        "oauth2pw": sec.OAuth2PasswordBearer(tokenUrl="token"),
        "oauth2pw_opt": sec.OAuth2PasswordBearer(tokenUrl="token", auto_error=False),
        "oauth2code": sec.OAuth2AuthorizationCodeBearer(authorizationUrl="a", tokenUrl="t"),
        "oidc": sec.OpenIdConnect(openIdConnectUrl="https://x/.well-known"),
        "oidc_opt": sec.OpenIdConnect(openIdConnectUrl="https://x/.well-known", auto_error=False),
        "key_header": sec.APIKeyHeader(name="X-Key"),
        "key_query": sec.APIKeyQuery(name="key"),
        "key_cookie": sec.APIKeyCookie(name="key"),
        "key_header_opt": sec.APIKeyHeader(name="X-Key", auto_error=False),
    }

    def encode(value):
        if value is None or isinstance(value, str):
            return {"value": value}
        return value.model_dump()

    for name, scheme in schemes.items():
        def endpoint(cred=fw.Depends(scheme)):
            return encode(cred)

        endpoint.__name__ = "ep_" + name
        app.get("/" + name)(endpoint)

    scopes_scheme = sec.OAuth2PasswordBearer(tokenUrl="token", scopes={"a": "A", "b": "B"})

    def current(security_scopes: sec.SecurityScopes, token: Annotated[str, fw.Depends(scopes_scheme)]):
        return {"token": token, "scopes": security_scopes.scopes, "str": security_scopes.scope_str}

    @app.get("/scoped")
    def scoped(user: Annotated[dict, fw.Security(current, scopes=["a", "b"])]):
        return user

    @app.post("/token")
    def token(form: Annotated[sec.OAuth2PasswordRequestForm, fw.Depends()]):
        return {"u": form.username, "p": form.password, "scopes": form.scopes,
                "grant": form.grant_type, "cid": form.client_id}

    @app.post("/token-strict")
    def token_strict(form: Annotated[sec.OAuth2PasswordRequestFormStrict, fw.Depends()]):
        return {"u": form.username, "grant": form.grant_type}

    return app


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


AUTHS: list[Optional[str]] = [
    None, "", "Bearer tok", "bearer  tok", "Bearer", "Token x", "Basic " + b64(b"al:pw"),
    "Basic " + b64(b"nocolon"), "Basic %%%", "Basic " + b64("é:x".encode()), "Digest abc",
]
PATHS = ["/basic", "/basic_realm", "/basic_opt", "/bearer", "/bearer_opt", "/digest",
         "/digest_opt", "/oauth2pw", "/oauth2pw_opt", "/oauth2code", "/oidc", "/oidc_opt",
         "/scoped"]


def _clients():
    fr = fastrapi_fw()
    from fastapi.testclient import TestClient as FaClient

    from fastrapi.testclient import TestClient as FrClient

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FaClient(make_app(fastapi_fw())), FrClient(make_app(fr))


@pytest.fixture(scope="module")
def clients():
    fa, fr = _clients()
    with fa, fr:
        yield fa, fr


def observe(res):
    try:
        body = res.json()
    except ValueError:
        body = res.text
    return res.status_code, body, res.headers.get("www-authenticate")


def both(clients, method, path, **kwargs):
    fa, fr = clients
    return observe(fr.request(method, path, **kwargs)), observe(fa.request(method, path, **kwargs))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("auth", AUTHS)
def test_authorization_header_schemes(clients, path, auth):
    headers = {} if auth is None else {"Authorization": auth}
    ours, theirs = both(clients, "GET", path, headers=headers)
    assert ours == theirs


@pytest.mark.parametrize("path,kwargs", [
    ("/key_header", {}), ("/key_header", {"headers": {"X-Key": "k1"}}),
    ("/key_header", {"headers": {"x-key": ""}}), ("/key_header_opt", {}),
    ("/key_query", {}), ("/key_query", {"params": {"key": "k2"}}), ("/key_query", {"params": {"key": ""}}),
    ("/key_cookie", {}), ("/key_cookie", {"headers": {"Cookie": "key=k3"}}),
])
def test_api_key_schemes(clients, path, kwargs):
    ours, theirs = both(clients, "GET", path, **kwargs)
    assert ours == theirs


@pytest.mark.parametrize("path,data", [
    ("/token", {"username": "u", "password": "p"}),
    ("/token", {"username": "u", "password": "p", "scope": "a  b", "grant_type": "password",
                "client_id": "c"}),
    ("/token", {"username": "u", "password": "p", "grant_type": "other"}),
    ("/token", {"username": "u"}),
    ("/token", {}),
    ("/token-strict", {"username": "u", "password": "p"}),
    ("/token-strict", {"username": "u", "password": "p", "grant_type": "password"}),
])
def test_password_request_forms(clients, path, data):
    ours, theirs = both(clients, "POST", path, data=data)
    assert ours == theirs
