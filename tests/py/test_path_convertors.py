"""Path convertors as Starlette 1.10 has them, differential against FastAPI.

``{id:uuid}`` is Starlette's regex: hex in any case, each of the four dashes
optional; the engine matched lowercase dashed UUIDs only (and routed
``{id:uuid}`` as ``{id}`` on the Python face, so a non-UUID segment reached
the handler as a 422 instead of the next route or a 404).
``request.path_params`` holds the convertors' values (``UUID``, ``int``,
``float``). FastAPI, fastrapi's TestClient and its native server."""
import uuid

import pytest

from conftest import framework
from helpers import served

U = "123e4567-e89b-12d3-a456-426614174000"


def make_app(fw):
    app = fw.FastAPI()

    @app.get("/u/{item_id:uuid}")
    def by_uuid(item_id: uuid.UUID, request: fw.Request):
        return [str(item_id), repr(request.path_params)]

    @app.get("/u/{other}")
    def fallback(other: str):
        return "other " + other

    @app.get("/m/{item_id:uuid}.json")
    def mixed(item_id: uuid.UUID):
        return str(item_id)

    @app.get("/m2/{item_id:uuid}-{rest}")
    def mixed2(item_id: uuid.UUID, rest: str, request: fw.Request):
        return [str(item_id), rest, repr(request.path_params)]

    @app.get("/n/{a:int}/{b:float}")
    def numbers(a: int, b: float, request: fw.Request):
        return repr(request.path_params)

    return app


PATHS = [
    "/u/" + U, "/u/" + U.upper(), "/u/" + U.replace("-", ""), "/u/" + U.replace("-", "").upper(),
    "/u/" + U[:-1], "/u/" + U + "0", "/u/" + U.replace("1", "g"), "/u/-" + U, "/u/nope",
    "/m/" + U.replace("-", "").upper() + ".json", "/m/x.json", "/m/" + U + ".json",
    "/m2/" + U.replace("-", "") + "-" + U[:8], "/m2/" + U + "-", "/m2/" + U + "-z",
    "/n/7/2.5", "/n/x/2.5",
]


def answers(kind):
    app = make_app(framework("fastapi" if kind == "fastapi" else "fastrapi"))
    with served(app, kind) as client:
        return [(p, *(lambda r: (r.status_code, r.content))(client.get(p))) for p in PATHS]


@pytest.fixture(scope="module")
def reference():
    return answers("fastapi")


def test_reference(reference):
    got = dict((p, (s, b)) for p, s, b in reference)
    assert got["/u/" + U.upper()][0] == 200
    assert got["/u/" + U.replace("-", "")][1].startswith(f'["{U}",'.encode())
    assert got["/u/nope"] == (200, b'"other nope"')
    assert got["/u/" + U[:-1]] == (200, f'"other {U[:-1]}"'.encode())
    assert got["/m/x.json"][0] == 404
    assert got["/n/7/2.5"] == (200, b"\"{'a': 7, 'b': 2.5}\"")


@pytest.mark.parametrize("kind", ["fastrapi", "native"])
def test_convertors_as_in_fastapi(reference, kind):
    for want, have in zip(reference, answers(kind)):
        assert have == want
