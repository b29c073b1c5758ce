"""Constraints and validators inside an optional parameter's type
(``Optional[PositiveInt]``, ``Annotated[int, Query(ge=1)] | None``,
``Optional[Annotated[int, AfterValidator(...)]]``) are enforced as FastAPI
enforces them. fastrapi took such a parameter for a plain int/str and
converted it in C, so bad values passed and validators did not run."""
from typing import Annotated, Optional

import pytest
from pydantic import AfterValidator, PositiveInt, conint, constr

from conftest import framework
from helpers import served


def make_app(fw):
    app = fw.FastAPI()

    @app.get("/pos")
    def pos(n: Optional[PositiveInt] = None):
        return {"n": n}

    @app.get("/conint")
    def ci(n: Optional[conint(ge=1, le=100)] = None):
        return {"n": n}

    @app.get("/constr")
    def cs(s: Optional[constr(max_length=3)] = None):
        return {"s": s}

    @app.get("/pep604")
    def p604(n: Annotated[int, fw.Query(ge=1)] | None = None):
        return {"n": n}

    @app.get("/validator")
    def val(n: Optional[Annotated[int, AfterValidator(lambda v: v * 2)]] = None):
        return {"n": n}

    @app.get("/header")
    def hd(x_n: Annotated[Optional[PositiveInt], fw.Header()] = None):
        return {"n": x_n}

    @app.get("/cookie")
    def ck(n: Annotated[Optional[PositiveInt], fw.Cookie()] = None):
        return {"n": n}

    @app.get("/path/{o}")
    def pt(o: Optional[PositiveInt]):
        return {"o": o}

    return app


CASES = [
    ("/pos?n=0", {}), ("/pos?n=3", {}), ("/pos", {}), ("/pos?n=x", {}),
    ("/conint?n=500", {}), ("/conint?n=50", {}),
    ("/constr?s=abcd", {}), ("/constr?s=abc", {}),
    ("/pep604?n=0", {}), ("/pep604?n=1", {}),
    ("/validator?n=2", {}), ("/validator?n=z", {}),
    ("/header", {"headers": {"x-n": "0"}}), ("/header", {"headers": {"x-n": "7"}}),
    ("/cookie", {"headers": {"cookie": "n=0"}}), ("/cookie", {"headers": {"cookie": "n=5"}}),
    ("/path/0", {}), ("/path/9", {}),
]


def answers(kind, name):
    with served(make_app(framework(name)), kind) as c:
        return [(r.status_code, r.json()) for r in (c.get(url, **kw) for url, kw in CASES)]


@pytest.mark.parametrize("kind", ["fastrapi", "native"])
def test_optional_constrained_params_match_fastapi(kind):
    want = answers("fastapi", "fastapi")
    assert answers(kind, "fastrapi") == want
    # and what FastAPI answers is what the constraints say
    by_url = dict(zip([u + str(kw) for u, kw in CASES], want))
    assert by_url["/pos?n=0{}"][0] == 422
    assert by_url["/pos?n=3{}"] == (200, {"n": 3})
    assert by_url["/validator?n=2{}"] == (200, {"n": 4})
    assert by_url["/header{'headers': {'x-n': '0'}}"][1]["detail"][0]["loc"] == ["header", "x-n"]
    assert by_url["/path/0{}"][0] == 422
