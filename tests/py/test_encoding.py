"""The C encoder must produce exactly FastAPI's bytes: jsonable_encoder +
json.dumps(ensure_ascii=False, allow_nan=False, separators=(",", ":"))."""
import dataclasses
import datetime
import decimal
import enum
import json
import random
import uuid

import pytest
from pydantic import BaseModel

from fastapi.encoders import jsonable_encoder as fa_encoder
from fastrapi import _fastrapi  # noqa: F401  (built extension)
from fastrapi.applications import _setup_extension

ext = _setup_extension()


def reference(obj):
    return json.dumps(fa_encoder(obj), ensure_ascii=False, allow_nan=False, indent=None,
                      separators=(",", ":")).encode("utf-8")


class M(BaseModel):
    a: int
    b: float = 0.5
    c: list = []


class E(enum.Enum):
    x = "ex"
    y = 2


@dataclasses.dataclass
class D:
    p: int
    q: list


def rand_value(rng, depth=0):
    k = rng.randrange(14 if depth < 4 else 8)
    if k == 0:
        return rng.choice([None, True, False])
    if k == 1:
        return rng.randint(-2 ** 70, 2 ** 70)
    if k == 2:
        return rng.choice([0.0, -0.0, 1.5, 1e16, 1e-7, 123456.789, 5e-324, 1.7976931348623157e308,
                           rng.random() * 10 ** rng.randint(-20, 20)])
    if k == 3:
        return "".join(rng.choice(['a', 'é', '"', '\\', '\n', '\x00', '\x1f', '😀', '\u2028', ' '])
                       for _ in range(rng.randrange(8)))
    if k == 4:
        return rng.choice([uuid.UUID(int=rng.getrandbits(128)), datetime.date(2021, 3, 4),
                           datetime.datetime(2021, 3, 4, 5, 6, 7, 8), datetime.time(1, 2),
                           decimal.Decimal("1.25"), decimal.Decimal("7"), E.x, E.y, b"bytes"])
    if k == 5:
        return M(a=rng.randint(0, 9), c=[1, "x"])
    if k == 6:
        return D(1, [2, 3])
    if k == 7:
        return datetime.timedelta(seconds=rng.randint(0, 10000))
    if k in (8, 9):
        return [rand_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    if k == 10:
        return tuple(rand_value(rng, depth + 1) for _ in range(rng.randrange(4)))
    if k == 11:
        return {rng.choice(["k", "é", "_sa_x", "n"]) + str(i): rand_value(rng, depth + 1)
                for i in range(rng.randrange(5))}
    if k == 12:
        return {rng.choice([1, 2.5, None, True, "s"]): rand_value(rng, depth + 1)}
    return frozenset([1, 2])


@pytest.mark.parametrize("seed", range(300))
def test_random_structures_match_fastapi(seed):
    rng = random.Random(seed)
    v = rand_value(rng)
    assert ext.dumps(v) == reference(v)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), object(), {1: object()}])
def test_unencodable_raises(bad):
    with pytest.raises((ValueError, TypeError)):
        ext.dumps(bad)


def test_deep_nesting_is_an_error_not_a_crash():
    v = []
    for _ in range(100000):
        v = [v]
    with pytest.raises(RecursionError):
        ext.dumps(v)


@pytest.mark.parametrize("doc", [b"{}", b"[1,2.5,-3e2,true,false,null]", b'{"a":{"b":[1,"\\u00e9"]}}',
                                 b"123456789012345678901234567890", b'"\\ud83d\\ude00"'])
def test_loads_matches_json(doc):
    assert ext.loads(doc) == json.loads(doc)


# Raw UTF-8 (not \\u escapes) becomes a str of the narrowest kind: each
# boundary of CPython's Latin-1 / UCS-2 / UCS-4 storage, alone, mixed, as a
# key and a value. A str of the wrong kind compares unequal to json.loads'.
_EDGES = ["\x80", "\xe9", "\xff", "\u0100", "\u07ff", "\u0800", "\uffff", "\U00010000",
          "\U0010ffff"]


@pytest.mark.parametrize("text", _EDGES + ["a" + "".join(_EDGES) + "z", "caf\xe9 \u2014 \U0001f600",
                                           "Zo\xeb \xc5ngstr\xf6m", "\xe9" * 17, "x\\n\xe9"])
def test_loads_non_ascii_kinds(text):
    for doc in (json.dumps({text: [text, text + "\u0101"]}, ensure_ascii=False).encode(),
                json.dumps(text).encode()):
        got = ext.loads(doc)
        assert got == json.loads(doc)
        if isinstance(got, dict):
            k = next(iter(got))
            assert hash(k) == hash(text) and got[text][0] == text


@pytest.mark.parametrize("doc", [b"", b"{", b"[1,]", b"nan", b"01", b'"\x01"', b"\xff"])
def test_loads_rejects(doc):
    with pytest.raises(ValueError):
        ext.loads(doc)
