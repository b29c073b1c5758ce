"""A form route's RequestValidationError, differential against FastAPI.

FastAPI's documented handler returns ``exc.body``: on a Form/File route that
is the parsed form (Starlette's FormData), and the handler's
``request.form()`` gives the same fields while ``request.body()`` raises
"Stream consumed" (the form parser read the stream). fastrapi gave
``body=None``, an empty ``request.form()`` on multipart routes and the raw
bytes (or ``b""``) from ``request.body()``. A ``Body()`` parameter beside
``Form()`` ones is read from the form, as FastAPI reads every body
parameter of a form route (fastrapi never filled it). Runs on FastAPI's TestClient
(the reference), on FastAPI under uvicorn, on fastrapi's TestClient and on
its native server."""
from typing import Optional

import pytest

from conftest import framework
from helpers import served


def make_app(fw):
    app = fw.FastAPI()
    if fw.name == "fastapi":
        from fastapi.encoders import jsonable_encoder
        from fastapi.exceptions import RequestValidationError
    else:
        from fastrapi.encoders import jsonable_encoder
        from fastrapi.exceptions import RequestValidationError

    @app.exception_handler(RequestValidationError)
    async def handler(request, exc):
        body = exc.body
        seen = {"type": type(body).__name__, "encoded": jsonable_encoder(body)}
        if hasattr(body, "multi_items"):
            seen["items"] = [(k, v if isinstance(v, str) else ["file", v.filename, (await v.read()).decode()])
                             for k, v in body.multi_items()]
        try:
            seen["request.body"] = len(await request.body())
        except RuntimeError as e:
            seen["request.body"] = ["RuntimeError", str(e)]
        seen["request.form"] = sorted((await request.form()).keys())
        return fw.responses.JSONResponse({"errors": jsonable_encoder(exc.errors()),
                                          "seen": seen}, status_code=422)

    @app.post("/form")
    async def form(a: int = fw.Form(), up: Optional[fw.UploadFile] = None):
        return {"a": a}

    @app.post("/form-request")
    async def form_request(request: fw.Request, a: int = fw.Form()):
        return {"a": a}

    @app.post("/files")
    def files(f: fw.UploadFile, g: int = fw.Form()):
        return {}

    @app.post("/form-and-body")  # Body() beside Form(): read from the form too
    async def form_and_body(a: int = fw.Form(), b: str = fw.Body(), c: Optional[str] = fw.Body(None)):
        return {"a": a, "b": b, "c": c}

    @app.post("/file-and-body")
    def file_and_body(f: fw.UploadFile, n: int = fw.Body()):
        return {"f": f.filename, "n": n}

    @app.post("/json")
    async def json_body(a: int = fw.Body(embed=True)):
        return {"a": a}

    return app


REQUESTS = [
    ("/form", {"data": {"a": "x", "b": "y"}}),
    ("/form", {"data": {"a": "x"}, "files": {"up": ("u.txt", b"u")}}),
    ("/form", {"data": {"a": "7"}}),
    ("/form-request", {"data": {"a": "x"}}),
    ("/form-request", {"data": {"a": "x"}, "files": {"up": ("u.txt", b"u")}}),
    ("/files", {"data": {"f": "not a file", "g": "1"}}),
    ("/files", {"files": {"f": ("a.txt", b"1"), "g": ("g.txt", b"2")}}),
    ("/form-and-body", {"data": {"a": "1", "b": "hello", "c": "see"}}),
    ("/form-and-body", {"data": {"a": "1"}}),
    ("/form-and-body", {"json": {"a": 1, "b": "json"}}),
    ("/file-and-body", {"data": {"n": "3"}, "files": {"f": ("a.txt", b"x")}}),
    ("/file-and-body", {"data": {"n": "x"}, "files": {"f": ("a.txt", b"x")}}),
    ("/json", {"json": {"a": "x"}}),
    ("/json", {"content": b"{", "headers": {"content-type": "application/json"}}),
]


def answers(kind):
    app = make_app(framework("fastapi" if kind.startswith("fastapi") else "fastrapi"))
    with served(app, kind) as client:
        return [(path, client.post(path, **kw)) for path, kw in REQUESTS]


@pytest.fixture(scope="module")
def reference():
    return [(p, r.status_code, r.json()) for p, r in answers("fastapi")]


def test_reference(reference):
    first = reference[0][2]["seen"]
    assert first["type"] == "FormData" and first["encoded"] == {"a": "x", "b": "y"}
    assert first["request.body"] == ["RuntimeError", "Stream consumed"]
    assert first["request.form"] == ["a", "b"]
    assert reference[1][2]["seen"]["items"][0] == ["a", "x"]
    assert reference[1][2]["seen"]["items"][1][1][:2] == ["file", "u.txt"]
    assert reference[2][1:] == (200, {"a": 7})
    assert reference[7][1:] == (200, {"a": 1, "b": "hello", "c": "see"})
    assert reference[10][1:] == (200, {"f": "a.txt", "n": 3})
    assert reference[12][2]["seen"]["type"] == "dict"


@pytest.mark.parametrize("kind", ["fastapi-uvicorn", "fastrapi", "native"])
def test_form_validation_body_as_in_fastapi(reference, kind):
    got = [(p, r.status_code, r.json()) for p, r in answers(kind)]
    for want, have in zip(reference, got):
        assert have == want
