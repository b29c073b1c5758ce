"""Differential OpenAPI tests: for every application source of the corpus,
fastrapi's document equals FastAPI's, and both validate as OpenAPI 3.1."""
from __future__ import annotations

import json
import warnings

import pytest

from fastrapi.openapi.utils import get_openapi

from .corpus import build, corpus_names, fastapi_fw, fastrapi_fw, normalise

NAMES = corpus_names()


def validate(doc):
    import openapi_spec_validator as spec_validator  # a [test] extra

    spec_validator.validate(json.loads(json.dumps(doc)))


def test_corpus_is_large_enough():
    assert len(NAMES) >= 40, NAMES


def _fastapi_doc(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build(fastapi_fw(), name).openapi()


def _our_generator_over_fastapi_routes(app):
    """Run fastrapi's generator over FastAPI's own analysed routes (the
    attribute names match), isolating the generator from the app layer."""
    from fastapi.routing import iter_route_contexts

    return get_openapi(
        title=app.title, version=app.version, openapi_version=app.openapi_version,
        summary=app.summary, description=app.description,
        routes=list(iter_route_contexts(app.routes)),
        webhooks=list(iter_route_contexts(app.webhooks.routes)),
        tags=app.openapi_tags, servers=app.servers,
        terms_of_service=app.terms_of_service, contact=app.contact,
        license_info=app.license_info,
        separate_input_output_schemas=app.separate_input_output_schemas,
    )


@pytest.mark.parametrize("name", NAMES)
def test_generator_matches_fastapi_on_fastapi_routes(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app = build(fastapi_fw(), name)
        expected = app.openapi()
        ours = _our_generator_over_fastapi_routes(app)
    assert ours == expected
    assert normalise(ours) == normalise(expected)


@pytest.mark.parametrize("name", NAMES)
def test_fastapi_document_is_valid_openapi(name):
    validate(_fastapi_doc(name))


@pytest.mark.parametrize("name", NAMES)
def test_fastrapi_document_equals_fastapi(name):
    fw = fastrapi_fw()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = build(fw, name).openapi()
    expected = _fastapi_doc(name)
    assert normalise(ours) == normalise(expected)
    assert ours == expected


@pytest.mark.parametrize("name", NAMES)
def test_fastrapi_document_is_valid_openapi(name):
    fw = fastrapi_fw()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        validate(build(fw, name).openapi())


@pytest.mark.parametrize("name", NAMES)
def test_fastrapi_openapi_cached(name):
    fw = fastrapi_fw()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app = build(fw, name)
        first = app.openapi()
    assert app.openapi() is first


@pytest.mark.parametrize("name", NAMES)
def test_fastrapi_served_openapi_json_equals_fastapi(name):
    fw = fastrapi_fw()
    from fastrapi import testclient

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app = build(fw, name)
    url = app.openapi_url  # every corpus app serves its schema
    assert url
    with testclient.TestClient(app) as client:
        res = client.get(url)
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("application/json")
    assert normalise(res.json()) == normalise(_fastapi_doc(name))


LIVE_APPS = ["a10_body_model", "a28_routers", "a33_security_scopes", "a37_additional_responses",
             "a43_app_metadata", "a50_store"]


@pytest.mark.parametrize("name", LIVE_APPS)
def test_fastrapi_live_server_openapi_json_equals_fastapi(name):
    """GET /openapi.json over a real socket from ``app.serve()``."""
    import httpx

    from .liveserver import live_app

    fastrapi_fw()
    with live_app("fastrapi", name) as base:
        res = httpx.get(base + "/openapi.json", timeout=10)
    assert res.status_code == 200
    assert res.headers["content-type"] == "application/json"
    assert normalise(json.loads(res.content)) == normalise(_fastapi_doc(name))


def _tiny_app(fw):
    app = fw.FastAPI()

    @app.get("/a")
    def a(q: int = 0):
        return {}

    return app


@pytest.mark.parametrize("fw_name", ["fastapi", "fastrapi"])
def test_adding_a_route_invalidates_the_cached_schema(fw_name):
    fw = fastapi_fw() if fw_name == "fastapi" else fastrapi_fw()
    app = _tiny_app(fw)
    assert set(app.openapi()["paths"]) == {"/a"}

    @app.get("/b")
    def b():
        return {}

    assert set(app.openapi()["paths"]) == {"/a", "/b"}


@pytest.mark.parametrize("fw_name", ["fastapi", "fastrapi"])
def test_user_override_of_app_openapi_is_served(fw_name):
    """FastAPI's "Extending OpenAPI" recipe: replace ``app.openapi``."""
    fw = fastapi_fw() if fw_name == "fastapi" else fastrapi_fw()
    utils = __import__(f"{fw_name}.openapi.utils", fromlist=["get_openapi"])
    app = _tiny_app(fw)

    def custom_openapi():
        if app.openapi_schema:
            return app.openapi_schema
        schema = utils.get_openapi(title="Custom title", version="2.5.0",
                                   summary="custom", routes=app.routes)
        schema["info"]["x-logo"] = {"url": "https://example.com/logo.png"}
        app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = custom_openapi
    if fw_name == "fastapi":
        from fastapi.testclient import TestClient
    else:
        from fastrapi.testclient import TestClient
    with TestClient(app) as client:
        doc = client.get("/openapi.json").json()
    assert doc["info"] == {"title": "Custom title", "version": "2.5.0", "summary": "custom",
                           "x-logo": {"url": "https://example.com/logo.png"}}
    assert "/a" in doc["paths"]


def test_default_metadata_of_fastapi_alias():
    fw = fastrapi_fw()
    app = fw.FastAPI()
    assert (app.title, app.version, app.openapi_url, app.openapi_version) == (
        "FastAPI", "0.1.0", "/openapi.json", "3.1.0")
    assert app.openapi()["info"] == {"title": "FastAPI", "version": "0.1.0"}
