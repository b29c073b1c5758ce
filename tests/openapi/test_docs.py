"""The docs pages: Swagger UI, its OAuth2 redirect page and ReDoc are the
same bytes FastAPI produces; Scalar is fastrapi's own page."""
from __future__ import annotations

import html
import json
import re

import fastapi.openapi.docs as fa_docs
import pytest

import fastrapi.openapi.docs as fr_docs

from .corpus import fastapi_fw, fastrapi_fw

SWAGGER_CASES = [
    dict(openapi_url="/openapi.json", title="FastAPI - Swagger UI"),
    dict(openapi_url="/api/openapi.json", title="T", oauth2_redirect_url="/docs/oauth2-redirect",
         init_oauth={"clientId": "abc", "scopes": "a b", "usePkceWithAuthorizationCodeGrant": True}),
    dict(openapi_url="/o.json", title="T", swagger_js_url="/s/a.js", swagger_css_url="/s/a.css",
         swagger_favicon_url="/s/f.png",
         swagger_ui_parameters={"syntaxHighlight": False, "deepLinking": False,
                                "tryItOutEnabled": True}),
    dict(openapi_url="/o.json", title="x",
         swagger_ui_parameters={"</script><script>alert(1)</script>": "<b>&"},
         init_oauth={"appName": "</script>"}),
]


@pytest.mark.parametrize("kwargs", SWAGGER_CASES)
def test_swagger_ui_html_equals_fastapi(kwargs):
    ours = fr_docs.get_swagger_ui_html(**kwargs)
    theirs = fa_docs.get_swagger_ui_html(**kwargs)
    assert ours.body == theirs.body
    assert ours.status_code == 200
    assert ours.media_type == "text/html"


def test_swagger_ui_parameters_cannot_break_out_of_script():
    body = fr_docs.get_swagger_ui_html(**SWAGGER_CASES[3]).body.decode()
    script = body.split("<script>", 1)[1]
    assert "</script><script>alert" not in script
    assert "\\u003c/script\\u003e" in script


@pytest.mark.parametrize("kwargs", [
    dict(openapi_url="/openapi.json", title="FastAPI - ReDoc"),
    dict(openapi_url="/o.json", title="T", redoc_js_url="/r.js", redoc_favicon_url="/f.png",
         with_google_fonts=False),
])
def test_redoc_html_equals_fastapi(kwargs):
    assert fr_docs.get_redoc_html(**kwargs).body == fa_docs.get_redoc_html(**kwargs).body


def test_oauth2_redirect_html_equals_fastapi():
    assert (fr_docs.get_swagger_ui_oauth2_redirect_html().body
            == fa_docs.get_swagger_ui_oauth2_redirect_html().body)


def test_default_parameters_equal_fastapi():
    assert fr_docs.swagger_ui_default_parameters == fa_docs.swagger_ui_default_parameters


def test_scalar_html():
    res = fr_docs.get_scalar_html(openapi_url="/openapi.json", title="My API - Scalar",
                                  scalar_js_url="/assets/scalar.js",
                                  configuration={"theme": "purple", "hideModels": True},
                                  scalar_proxy_url="https://proxy.example")
    body = res.body.decode()
    assert res.media_type == "text/html"
    assert "<title>My API - Scalar</title>" in body
    assert 'data-url="/openapi.json"' in body
    assert '<script src="/assets/scalar.js"></script>' in body
    config = re.search(r'data-configuration="([^"]*)"', body).group(1)
    assert json.loads(html.unescape(config)) == {
        "theme": "purple", "hideModels": True, "proxyUrl": "https://proxy.example"}


def test_scalar_html_escapes_everything():
    res = fr_docs.get_scalar_html(openapi_url='/x"><script>alert(1)</script>',
                                  title="</title><script>alert(2)</script>",
                                  configuration={"k": '"><script>alert(3)</script>'})
    body = res.body.decode()
    assert "<script>alert" not in body
    assert body.count("<script") == 2  # the api-reference element and the loader


def _client(fw, app):
    if fw.__name__ == "fastapi":
        from fastapi.testclient import TestClient
    else:
        from fastrapi.testclient import TestClient
    return TestClient(app)


def _docs_app(fw, **kwargs):
    app = fw.FastAPI(**kwargs)

    @app.get("/items/{item_id}")
    def read_item(item_id: int):
        return {"item_id": item_id}

    return app


APP_CONFIGS = [
    {},
    {"title": "Docs", "docs_url": "/api-docs", "redoc_url": "/api-redoc",
     "openapi_url": "/spec.json"},
    {"swagger_ui_oauth2_redirect_url": "/auth/cb",
     "swagger_ui_init_oauth": {"clientId": "c"},
     "swagger_ui_parameters": {"syntaxHighlight": False}},
    {"docs_url": None, "redoc_url": None},
    {"openapi_url": None},
    {"root_path": "/prefix"},
]


@pytest.mark.parametrize("config", APP_CONFIGS, ids=lambda c: ",".join(c) or "defaults")
def test_app_docs_pages_equal_fastapi(config):
    fr = fastrapi_fw()
    fa = fastapi_fw()
    paths = ["/docs", "/docs/oauth2-redirect", "/redoc", "/api-docs", "/api-redoc",
             "/auth/cb", "/openapi.json", "/spec.json"]
    results = {}
    for fw in (fa, fr):
        with _client(fw, _docs_app(fw, **config)) as client:
            results[fw.__name__] = {
                p: (r.status_code, r.headers.get("content-type"),
                    r.text if r.status_code == 200 else None)
                for p in paths for r in [client.get(p)]}
    assert results["fastrapi"] == results["fastapi"]


def test_fastrapi_asset_urls_configurable():
    fr = fastrapi_fw()
    app = _docs_app(fr, swagger_js_url="/static/sw.js", swagger_css_url="/static/sw.css",
                    swagger_favicon_url="/static/fav.png", redoc_js_url="/static/redoc.js",
                    redoc_favicon_url="/static/rfav.png", scalar_url="/scalar",
                    scalar_js_url="/static/scalar.js")
    with _client(fr, app) as client:
        docs = client.get("/docs").text
        redoc = client.get("/redoc").text
        scalar = client.get("/scalar")
    assert '<script src="/static/sw.js"></script>' in docs
    assert 'href="/static/sw.css"' in docs and 'href="/static/fav.png"' in docs
    assert '<script src="/static/redoc.js"> </script>' in redoc and "/static/rfav.png" in redoc
    assert scalar.status_code == 200 and "/static/scalar.js" in scalar.text
    assert 'data-url="/openapi.json"' in scalar.text


def test_fastrapi_scalar_off_by_default():
    fr = fastrapi_fw()
    with _client(fr, _docs_app(fr)) as client:
        assert client.get("/scalar").status_code == 404
