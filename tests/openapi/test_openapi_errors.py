"""Bad OpenAPI input: the same error (type and message) as FastAPI, at
decoration time or on the first ``app.openapi()``, and the app still works
afterwards."""
from __future__ import annotations

import warnings

import pytest

from fastrapi.openapi.utils import get_openapi

from .corpus import fastapi_fw, fastrapi_fw


def _fw(name):
    return fastapi_fw() if name == "fastapi" else fastrapi_fw()


def _outcome(fn):
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn()
    except Exception as exc:  # noqa: BLE001 - we compare the failure itself
        return ("raised", type(exc).__name__, str(exc))
    return ("ok", sorted(str(w.message) for w in caught if "Duplicate" in str(w.message)))


def _duplicate_ids(fw):
    app = fw.FastAPI()

    @app.get("/a", operation_id="same")
    def a():
        return {}

    @app.get("/b", operation_id="same")
    def b():
        return {}

    app.openapi()


def _bad_status_key(fw):
    app = fw.FastAPI()

    @app.get("/a", responses={"abc": {"description": "nope"}})
    def a():
        return {}

    app.openapi()


def _non_dict_response(fw):
    app = fw.FastAPI()

    @app.get("/a", responses={404: "not a dict"})
    def a():
        return {}

    app.openapi()


@pytest.mark.parametrize("case", [_duplicate_ids, _bad_status_key, _non_dict_response],
                         ids=lambda f: f.__name__)
def test_errors_match_fastapi(case):
    theirs = _outcome(lambda: case(_fw("fastapi")))
    ours = _outcome(lambda: case(_fw("fastrapi")))
    if ours[0] == "ok" and ours[1]:
        # the duplicate-ID warning names the endpoint and its file
        assert [m.split(" at ")[0] for m in ours[1]] == [m.split(" at ")[0] for m in theirs[1]]
    else:
        assert ours[:2] == theirs[:2]


def test_duplicate_operation_id_warning_text():
    fw = fastapi_fw()
    app = fw.FastAPI()

    @app.get("/a", operation_id="dup")
    def first():
        return {}

    @app.get("/b", operation_id="dup")
    def second():
        return {}

    from fastapi.routing import iter_route_contexts

    with pytest.warns(UserWarning, match=r"Duplicate Operation ID dup for function second at .*test_openapi_errors\.py"):
        get_openapi(title="t", version="1", routes=list(iter_route_contexts(app.routes)))


def test_generator_rejects_routes_without_methods():
    class Broken:
        dependant = object()
        methods = None
        response_class = None

    # not an API route at all -> ignored, empty paths
    assert get_openapi(title="t", version="1", routes=[Broken()])["paths"] == {}


def test_app_still_serves_after_a_schema_error():
    fw = fastrapi_fw()
    from fastrapi import testclient
    app = fw.FastAPI()

    @app.get("/a", responses={"abc": {"description": "nope"}})
    def a():
        return {"ok": True}

    # like FastAPI: the schema error reaches a raising TestClient ...
    with testclient.TestClient(app) as client:
        with pytest.raises(ValueError):
            client.get("/openapi.json")
        assert client.get("/a").json() == {"ok": True}
    # ... and is a 500 for anyone else, while the app keeps serving
    with testclient.TestClient(app, raise_server_exceptions=False) as client:
        bad = client.get("/openapi.json")
        good = client.get("/a")
    assert bad.status_code == 500
    assert good.status_code == 200 and good.json() == {"ok": True}
