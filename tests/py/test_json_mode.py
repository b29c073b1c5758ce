"""A JSON body model validated in one pass (pydantic's validate_json on the
bytes) where the plan found JSON mode agrees with FastAPI's json.loads +
Python-mode validation (fastrapi._compat.json_validator).

- differential: every schema type the check lets through, against FastAPI,
  on JSON values chosen to sit on the modes' edges (numbers as strings,
  floats into ints, NaN/Infinity, 1e400, big ints, lone surrogates, control
  characters, duplicate keys, timestamps, enum values): same status, same
  bytes, and the validated value's repr and type;
- the one-pass validator is really called for those models and never for the
  ones the check refuses, and a refused body still gets FastAPI's errors;
- RequestValidationError.body stays FastAPI's when another parameter fails.
"""
import datetime
import enum
import importlib
import json
import uuid
from decimal import Decimal
from typing import Annotated, Any, Dict, FrozenSet, List, Literal, Optional, Set, Tuple, Union

import pytest
from pydantic import (BaseModel, ConfigDict, Field, HttpUrl, RootModel, TypeAdapter,
                      field_validator)

from conftest import framework


class Color(str, enum.Enum):
    red = "red"
    one = "1"


class Num(enum.IntEnum):
    a = 1
    b = 2


class Mixed(enum.Enum):
    red = "red"
    two = 2


TYPES = {
    "str": str, "int": int, "float": float, "bool": bool, "any": Any,
    "datetime": datetime.datetime, "date": datetime.date, "time": datetime.time,
    "timedelta": datetime.timedelta, "uuid": uuid.UUID, "strenum": Color, "intenum": Num,
    "enum": Mixed, "url": HttpUrl, "tuple": Tuple[int, ...], "tuple2": Tuple[int, str],
    "set": Set[int], "frozenset": FrozenSet[str], "dictint": Dict[int, int],
    "literal": Literal["a", 1, True, None], "listany": List[Any], "optint": Optional[int],
    "dictany": Dict[str, Any], "optlist": Optional[List[Optional[float]]],
    # refused by the check (TAKEN_ELSEWHERE): FastAPI's path, compared all the same
    "strictdt": Annotated[datetime.datetime, Field(strict=True)], "strictint": Annotated[int, Field(strict=True)],
    "union": Union[datetime.datetime, str], "decimal": Decimal, "bytes": bytes,
}

VALUES = [
    'null', 'true', 'false', '0', '-0', '1', '-1', '1.0', '1.5', '-0.0', '1e2', '1E2', '1e400',
    '-1e400', '1e-400', 'NaN', 'Infinity', '-Infinity', '123456789012345678901234567890',
    '9223372036854775808', '0.1', '1.7976931348623157e308', '1.00000000000000000001',
    '""', '"abc"', '"123"', '"1.5"', '"1e2"', '" 1 "', '"true"', '"yes"', '"off"', '"1"', '"0"',
    '"2020-01-01"', '"2020-01-01T00:00:00"', '"2020-01-01T00:00:00Z"', '"12:00"', '"P1D"',
    '"00000000-0000-0000-0000-000000000000"', '"http://x.com"', '"\\ud800"',
    '"\\udc00\\ud800"', '"\\ud83d\\ude00"', '"\\u0000"', '"\u00e9"', '"\\u00e9"',
    '"\U0001F600"', '"a\\nb"', '"a\tb"', '"\x01"', '"red"', '1640995200', '1640995200.5',
    '"1640995200"', '[]', '[1,2]', '[1,1]', '["a","a"]', '[1,"a"]', '[1.0]', '[[1],[2]]',
    '{}', '{"1":2}', '{"a":1}', '{"1":2,"1":3}', '{"a":1,"a":2}',
]


def _app(fw, models):
    app = fw.FastAPI()
    for name, model in models.items():
        def echo(m: model):  # noqa: ANN001 - the model is the route's body
            x = m.x
            return {"repr": repr(x), "type": type(x).__name__}
        app.post("/t/" + name)(echo)
    return app


def _models():
    return {name: type("M_" + name, (BaseModel,), {"__annotations__": {"x": t}})
            for name, t in TYPES.items()}


@pytest.fixture(scope="module")
def pair():
    from fastapi.testclient import TestClient as FATC
    from fastrapi.testclient import TestClient as FRTC
    models = _models()
    fa = FATC(_app(framework("fastapi"), models), raise_server_exceptions=False)
    fr = FRTC(_app(framework("fastrapi"), models), raise_server_exceptions=False)
    return fa, fr


@pytest.mark.parametrize("name", list(TYPES))
def test_same_as_fastapi(pair, name):
    fa, fr = pair
    for v in VALUES:
        body = ('{"x": %s}' % v).encode("utf-8", "surrogatepass")
        kw = dict(content=body, headers={"content-type": "application/json"})
        ra, rb = fa.post("/t/" + name, **kw), fr.post("/t/" + name, **kw)
        assert (rb.status_code, rb.content) == (ra.status_code, ra.content), (name, v)


# HttpUrl is pydantic's own function-wrap around the url schema, and the
# rest may differ between the modes: refused (FastAPI's path, compared above)
TAKEN_ELSEWHERE = {"url", "strictdt", "strictint", "union", "decimal", "bytes"}


def test_checked_types_agree():
    from fastrapi._compat import json_validator
    for name, model in _models().items():
        jv = json_validator(TypeAdapter(Annotated[model, Field()]))
        assert (jv is None) == (name in TAKEN_ELSEWHERE), name


class Strict(BaseModel):
    model_config = ConfigDict(strict=True)
    x: datetime.datetime


class StrictField(BaseModel):
    x: int = Field(strict=True)


class WithDecimal(BaseModel):
    x: Decimal


class WithUnion(BaseModel):
    x: Union[datetime.datetime, str]


class WithValidator(BaseModel):
    x: int

    @field_validator("x")
    @classmethod
    def keep(cls, v):
        return v


class WithBytes(BaseModel):
    x: bytes


class Root(RootModel[List[int]]):
    pass


class CustomInit(BaseModel):
    x: int

    def __init__(self, **kw):
        super().__init__(**kw)


class Missing(enum.Enum):
    a = "a"

    @classmethod
    def _missing_(cls, value):
        return cls.a


class WithMissing(BaseModel):
    x: Missing


class Inner(BaseModel):
    x: Union[int, str]


class Outer(BaseModel):
    items: List[Inner]


class Tree(BaseModel):
    name: str
    children: List["Tree"] = []


# a recursive model using another one twice: pydantic hoists both into the
# schema's definitions, reached through definition-refs
class SharedUnion(BaseModel):
    x: Union[datetime.datetime, str]


class WithShared(BaseModel):
    children: List["WithShared"] = []
    a: Optional[SharedUnion] = None
    b: Optional[SharedUnion] = None


class SharedPlain(BaseModel):
    x: int


class WithSharedPlain(BaseModel):
    children: List["WithSharedPlain"] = []
    a: Optional[SharedPlain] = None
    b: Optional[SharedPlain] = None


REFUSED = [Strict, StrictField, WithDecimal, WithUnion, WithValidator, WithBytes, Root,
           CustomInit, WithMissing, Outer, WithShared]


@pytest.mark.parametrize("model", REFUSED, ids=lambda m: m.__name__)
def test_refused_where_modes_may_differ(model):
    from fastrapi._compat import json_validator
    assert json_validator(TypeAdapter(Annotated[model, Field()])) is None


def test_recursive_model_agrees():
    from fastrapi._compat import json_validator
    for model in (Tree, WithSharedPlain):
        assert json_validator(TypeAdapter(Annotated[model, Field()])) is not None, model


@pytest.fixture()
def counted(monkeypatch):
    """json_validator wrapped: calls of each one-pass validator are counted."""
    import fastrapi.dependencies.utils as u
    calls = []
    real = u.json_validator

    def wrap(adapter):
        v = real(adapter)
        if v is None:
            return None

        def counting(data):
            calls.append(data)
            return v(data)
        return counting
    monkeypatch.setattr(u, "json_validator", wrap)
    return calls


def _both(make):
    from fastapi.testclient import TestClient as FATC
    from fastrapi.testclient import TestClient as FRTC
    return (FATC(make(framework("fastapi")), raise_server_exceptions=False),
            FRTC(make(framework("fastrapi")), raise_server_exceptions=False))


def test_one_pass_is_taken(counted):
    def make(fw):
        app = fw.FastAPI()

        @app.post("/tree")
        def tree(t: Tree):
            return {"n": len(t.children), "type": type(t).__name__}

        @app.post("/strict")
        def strict(s: Strict):
            return {"x": s.x.isoformat()}
        return app
    fa, fr = _both(make)
    doc = {"name": "a", "children": [{"name": "b"}, {"name": "c", "children": [{"name": "d"}]}]}
    for path, body in (("/tree", json.dumps(doc)), ("/strict", '{"x": "2020-01-01T00:00:00"}'),
                       ("/tree", '{"name": 1}'), ("/tree", '{"name": "a"'), ("/tree", '[]'),
                       ("/tree", '{"name": "\\ud800"}')):
        kw = dict(content=body.encode(), headers={"content-type": "application/json"})
        ra, rb = fa.post(path, **kw), fr.post(path, **kw)
        assert (rb.status_code, rb.content) == (ra.status_code, ra.content), (path, body)
    # the five /tree bodies went through the one-pass validator, /strict's not
    assert len(counted) == 5 and counted[0] == json.dumps(doc).encode()
    # a body that is not JSON (content type) never reaches it
    rb = fr.post("/tree", content=b'{"name": "a"}', headers={"content-type": "text/plain"})
    assert rb.status_code == 422 and len(counted) == 5


def test_validation_error_body_when_another_param_fails():
    def make(fw):
        app = fw.FastAPI()

        exc_mod = importlib.import_module(fw.name + ".exceptions")

        @app.exception_handler(exc_mod.RequestValidationError)
        async def show(request, exc):
            return fw.responses.JSONResponse({"body": exc.body, "n": len(exc.errors())}, 422)

        @app.post("/t")
        def t(tree: Tree, q: int):
            return {"ok": True}
        return app
    fa, fr = _both(make)
    kw = dict(content=b'{"name": "a", "children": [{"name": "\\u00e9"}]}',
              headers={"content-type": "application/json"})
    ra, rb = fa.post("/t?q=x", **kw), fr.post("/t?q=x", **kw)
    assert ra.status_code == 422
    assert (rb.status_code, rb.json()) == (ra.status_code, ra.json())
    assert rb.json()["body"] == {"name": "a", "children": [{"name": "é"}]}
    ra, rb = fa.post("/t?q=1", **kw), fr.post("/t?q=1", **kw)
    assert (rb.status_code, rb.content) == (200, ra.content)
