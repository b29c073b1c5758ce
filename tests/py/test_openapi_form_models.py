"""A ``Form()`` pydantic model beside other form parameters (another Form
field, a second form model, an UploadFile) or an optional form model:
FastAPI 0.165 flattens the model into the request-body schema, each model an
``allOf`` entry and the plain form fields ``properties``
(``_get_form_model_schema`` / ``_apply_form_body_schema`` in
``fastapi/dependencies/utils.py``). fastrapi nested the model as a required
property named after the parameter (``{"properties": {"data": {"$ref":
...}}, "required": ["data"]}``).

Each variant is one app source built with both frameworks: the
``/openapi.json`` bytes must be equal, FastAPI's document must have the
shape named here (what fastrapi is held to), and the same form posts (valid
and invalid) must get the same status and JSON. The plain cases (a form
model alone, plain Form fields, File/UploadFile, JSON bodies) are checked
the same way so the flattening stays confined to form models."""
import json
import warnings
from typing import Annotated, Any, Callable, Dict, List, Optional, Tuple

import pytest
from pydantic import AliasChoices, BaseModel, Field

from conftest import framework

REF = "#/components/schemas/"


class Login(BaseModel):
    username: str
    password: str


class A(BaseModel):
    name: str
    age: int = 0


class B(BaseModel):
    city: str


class Aliased(BaseModel):
    user_name: str = Field(alias="userName")
    other: str = Field(validation_alias=AliasChoices("o1", "o2"))


# ------------------------------------------------------------------ apps
def app_login(fw: Any) -> Any:
    app = fw.FastAPI()

    @app.post("/login")
    def login(data: Annotated[Login, fw.Form()], remember: Annotated[bool, fw.Form()] = False):
        return {"data": data, "remember": remember}

    return app


def app_mixed(fw: Any) -> Any:
    app = fw.FastAPI()

    @app.post("/mixed")
    def mixed(a: Annotated[A, fw.Form()], token: Annotated[str, fw.Form()]):
        return {"a": a, "token": token}

    return app


def app_two(fw: Any) -> Any:
    app = fw.FastAPI()

    @app.post("/two")
    def two(a: Annotated[A, fw.Form()], b: Annotated[B, fw.Form()]):
        return {"a": a, "b": b}

    return app


def app_with_file(fw: Any) -> Any:
    app = fw.FastAPI()

    @app.post("/with_file")
    async def with_file(a: Annotated[A, fw.Form()], f: fw.UploadFile):
        return {"a": a, "filename": f.filename, "content": (await f.read()).decode()}

    return app


def app_optional(fw: Any) -> Any:
    app = fw.FastAPI()

    @app.post("/optional")
    def optional(a: Annotated[Optional[B], fw.Form()] = None):
        return {"a": a}

    return app


def app_aliased(fw: Any) -> Any:
    app = fw.FastAPI()

    @app.post("/aliased")
    def aliased(a: Annotated[Aliased, fw.Form()],
                t: Annotated[str, fw.Form(alias="T")] = "x"):
        return {"a": a, "t": t}

    return app


def app_alone(fw: Any) -> Any:
    app = fw.FastAPI()

    @app.post("/alone")
    def alone(a: Annotated[A, fw.Form()]):
        return {"a": a}

    return app


def app_plain(fw: Any) -> Any:
    app = fw.FastAPI()

    @app.post("/plain")
    def plain(x: Annotated[str, fw.Form()], y: Annotated[int, fw.Form()] = 2):
        return {"x": x, "y": y}

    return app


def app_files(fw: Any) -> Any:
    app = fw.FastAPI()

    @app.post("/files")
    async def files(f: fw.UploadFile, g: Annotated[bytes, fw.File()],
                    h: Annotated[str, fw.Form()] = "z"):
        return {"f": (await f.read()).decode(), "g": g.decode(), "h": h}

    return app


def app_json(fw: Any) -> Any:
    app = fw.FastAPI()

    @app.post("/json")
    def js(a: A, b: B):
        return {"a": a, "b": b}

    @app.post("/json1")
    def js1(a: A):
        return {"a": a}

    return app


# ------------------------------------------- FastAPI's shape, per variant
def _components(doc: Dict[str, Any]) -> Dict[str, Any]:
    return doc["components"]["schemas"]


def _body(doc: Dict[str, Any], path: str) -> Tuple[Dict[str, Any], str, Dict[str, Any]]:
    """(requestBody, its media type, the schema it names, $ref resolved)."""
    body = doc["paths"][path]["post"]["requestBody"]
    (media_type, content), = body["content"].items()
    schema = content["schema"]
    if "$ref" in schema:
        schema = _components(doc)[schema["$ref"][len(REF):]]
    return body, media_type, schema


def shape_login(doc: Dict[str, Any]) -> None:
    body, media_type, schema = _body(doc, "/login")
    assert body["required"] is True
    assert media_type == "application/x-www-form-urlencoded"
    assert schema == {
        "allOf": [{"$ref": REF + "Login"}],
        "properties": {"remember": {"type": "boolean", "title": "Remember", "default": False}},
        "type": "object",
        "title": "Body_login_login_post",
    }
    assert "data" not in json.dumps(schema)


def shape_mixed(doc: Dict[str, Any]) -> None:
    body, media_type, schema = _body(doc, "/mixed")
    assert body["required"] is True
    assert media_type == "application/x-www-form-urlencoded"
    assert schema == {
        "allOf": [{"$ref": REF + "A"}],
        "properties": {"token": {"type": "string", "title": "Token"}},
        "type": "object",
        "required": ["token"],
        "title": "Body_mixed_mixed_post",
    }


def shape_two(doc: Dict[str, Any]) -> None:
    body, media_type, schema = _body(doc, "/two")
    assert body["required"] is True
    assert media_type == "application/x-www-form-urlencoded"
    assert schema == {
        "allOf": [{"$ref": REF + "A"}, {"$ref": REF + "B"}],
        "type": "object",
        "title": "Body_two_two_post",
    }


def shape_with_file(doc: Dict[str, Any]) -> None:
    body, media_type, schema = _body(doc, "/with_file")
    assert body["required"] is True
    assert media_type == "multipart/form-data"
    assert schema == {
        "allOf": [{"$ref": REF + "A"}],
        "properties": {"f": {"type": "string", "contentMediaType": "application/octet-stream",
                             "title": "F"}},
        "type": "object",
        "required": ["f"],
        "title": "Body_with_file_with_file_post",
    }


def shape_optional(doc: Dict[str, Any]) -> None:
    body, media_type, schema = _body(doc, "/optional")
    # an absent form group is "none of its fields", not a null body
    assert "required" not in body
    assert media_type == "application/x-www-form-urlencoded"
    assert schema == {
        "allOf": [{"anyOf": [
            {"not": {"anyOf": [{"required": ["city"]}]}},
            {"anyOf": [{"$ref": REF + "B"}], "title": "A"},
        ]}],
        "type": "object",
        "title": "Body_optional_optional_post",
    }


def shape_aliased(doc: Dict[str, Any]) -> None:
    _, media_type, schema = _body(doc, "/aliased")
    assert media_type == "application/x-www-form-urlencoded"
    # the model inline, under the form's names; either choice satisfies "other"
    assert schema["allOf"] == [{
        "allOf": [{"anyOf": [{"required": ["o1"]}, {"required": ["o2"]}]}],
        "properties": {"userName": {"type": "string", "title": "Username"},
                       "o1": {"type": "string", "title": "O1"}},
        "type": "object",
        "required": ["userName"],
        "title": "Aliased",
    }]
    assert schema["properties"] == {"T": {"type": "string", "title": "T", "default": "x"}}
    assert "required" not in schema


def shape_alone(doc: Dict[str, Any]) -> None:
    body = doc["paths"]["/alone"]["post"]["requestBody"]
    assert body == {"content": {"application/x-www-form-urlencoded": {
        "schema": {"$ref": REF + "A"}}}, "required": True}
    assert not any(k.startswith("Body_") for k in _components(doc))


def shape_plain(doc: Dict[str, Any]) -> None:
    _, media_type, schema = _body(doc, "/plain")
    assert media_type == "application/x-www-form-urlencoded"
    assert "allOf" not in schema
    assert schema["properties"] == {"x": {"type": "string", "title": "X"},
                                    "y": {"type": "integer", "title": "Y", "default": 2}}
    assert schema["required"] == ["x"]


def shape_files(doc: Dict[str, Any]) -> None:
    _, media_type, schema = _body(doc, "/files")
    assert media_type == "multipart/form-data"
    assert "allOf" not in schema
    assert list(schema["properties"]) == ["f", "g", "h"]
    assert schema["required"] == ["f", "g"]


def shape_json(doc: Dict[str, Any]) -> None:
    _, media_type, schema = _body(doc, "/json")
    assert media_type == "application/json"
    assert "allOf" not in schema
    assert schema["properties"] == {"a": {"$ref": REF + "A"}, "b": {"$ref": REF + "B"}}
    assert schema["required"] == ["a", "b"]
    body = doc["paths"]["/json1"]["post"]["requestBody"]
    assert body["content"] == {"application/json": {"schema": {"$ref": REF + "A"}}}


# --------------------------------------------------------------- posts
# (path, form data, files, expected status on FastAPI); the JSON answers
# must be equal on both frameworks.
Post = Tuple[str, Dict[str, Any], Optional[Dict[str, Any]], int]

VARIANTS: Dict[str, Tuple[Callable[[Any], Any], Callable[[Dict[str, Any]], None], List[Post]]] = {
    "login": (app_login, shape_login, [
        ("/login", {"username": "u", "password": "p"}, None, 200),
        ("/login", {"username": "u", "password": "p", "remember": "true"}, None, 200),
        ("/login", {"username": "u"}, None, 422),
    ]),
    "mixed": (app_mixed, shape_mixed, [
        ("/mixed", {"name": "x", "age": "3", "token": "t"}, None, 200),
        ("/mixed", {"name": "x", "age": "zz", "token": "t"}, None, 422),
        ("/mixed", {"token": "t"}, None, 422),
        ("/mixed", {"name": "x"}, None, 422),
    ]),
    "two": (app_two, shape_two, [
        ("/two", {"name": "x", "city": "c"}, None, 200),
        ("/two", {"name": "x"}, None, 422),
    ]),
    "with_file": (app_with_file, shape_with_file, [
        ("/with_file", {"name": "x", "age": "4"}, {"f": ("a.txt", b"hi")}, 200),
        ("/with_file", {"name": "x"}, None, 422),
    ]),
    "optional": (app_optional, shape_optional, [
        ("/optional", {"city": "c"}, None, 200),
        ("/optional", {}, None, 200),
        ("/optional", {"other": "1"}, None, 200),
        ("/optional", {"city": ""}, None, 422),
    ]),
    "aliased": (app_aliased, shape_aliased, [
        ("/aliased", {"userName": "u", "o2": "z", "T": "tt"}, None, 200),
        ("/aliased", {"userName": "u", "o1": "y"}, None, 200),
        ("/aliased", {"userName": "u"}, None, 422),
    ]),
    "alone": (app_alone, shape_alone, [
        ("/alone", {"name": "x"}, None, 200),
        ("/alone", {"age": "1"}, None, 422),
    ]),
    "plain": (app_plain, shape_plain, [
        ("/plain", {"x": "a", "y": "5"}, None, 200),
        ("/plain", {"y": "no"}, None, 422),
    ]),
    "files": (app_files, shape_files, [
        ("/files", {"h": "k"}, {"f": ("f.txt", b"F"), "g": ("g.txt", b"G")}, 200),
        ("/files", {"h": "k"}, {"f": ("f.txt", b"F")}, 422),
    ]),
}


@pytest.fixture(scope="module")
def clients() -> Dict[Tuple[str, str], Any]:
    from fastapi.testclient import TestClient as FATC

    from fastrapi.testclient import TestClient as FRTC

    fa, fr = framework("fastapi"), framework("fastrapi")
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, (make, _, _) in list(VARIANTS.items()) + [("json", (app_json, None, None))]:
            out[("fastapi", name)] = FATC(make(fa))
            out[("fastrapi", name)] = FRTC(make(fr))
    return out


ALL = list(VARIANTS) + ["json"]


@pytest.mark.parametrize("variant", ALL)
def test_openapi_bytes_identical(clients: Dict[Tuple[str, str], Any], variant: str) -> None:
    a = clients[("fastapi", variant)].get("/openapi.json")
    b = clients[("fastrapi", variant)].get("/openapi.json")
    assert a.status_code == b.status_code == 200
    assert b.content == a.content, (
        f"\nfastapi:  {a.content.decode()}\nfastrapi: {b.content.decode()}")


@pytest.mark.parametrize("variant", ALL)
def test_fastapi_shape(clients: Dict[Tuple[str, str], Any], variant: str) -> None:
    """What fastrapi's document is held to (asserted on FastAPI's)."""
    shape = shape_json if variant == "json" else VARIANTS[variant][1]
    shape(clients[("fastapi", variant)].get("/openapi.json").json())
    shape(clients[("fastrapi", variant)].get("/openapi.json").json())


POSTS = [(variant, i) for variant, (_, _, posts) in VARIANTS.items() for i in range(len(posts))]


@pytest.mark.parametrize("variant,index", POSTS,
                         ids=[f"{v}-{i}" for v, i in POSTS])
def test_form_post_same_answer(clients: Dict[Tuple[str, str], Any], variant: str,
                               index: int) -> None:
    path, data, files, status = VARIANTS[variant][2][index]
    answers = []
    for fw in ("fastapi", "fastrapi"):
        kwargs: Dict[str, Any] = {"data": data}
        if files is not None:
            kwargs["files"] = files
        r = clients[(fw, variant)].post(path, **kwargs)
        answers.append((r.status_code, r.json()))
    assert answers[0][0] == status, answers[0]
    assert answers[1] == answers[0]


def test_json_posts_same_answer(clients: Dict[Tuple[str, str], Any]) -> None:
    for path, body, status in (
            ("/json", {"a": {"name": "x"}, "b": {"city": "c"}}, 200),
            ("/json", {"a": {"name": "x"}}, 422),
            ("/json1", {"name": "x", "age": 2}, 200)):
        answers = [(r.status_code, r.json()) for r in (
            clients[(fw, "json")].post(path, json=body) for fw in ("fastapi", "fastrapi"))]
        assert answers[0][0] == status, answers[0]
        assert answers[1] == answers[0]
