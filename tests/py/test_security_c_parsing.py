"""The security utilities parse credentials in C (fr_auth_parse and
fr_auth_basic_decode through fastrapi._fastrapi); they must agree with the
Python reference (FastAPI's own rules) on every input."""
import base64
import random

import pytest

from fastrapi import _fastrapi
from fastrapi.security import utils

EDGE = [None, "", " ", "Bearer", "Bearer ", "Bearer abc ", "basic  x", "Basic\xa0a", " x",
        "Basic YWw6cHc", "Basic YWw6cHc=", "Basic YWw6cHc=\x85", "Basic \u20ac", "Basic \x00",
        "Basic YWxpY2U6c2VjcmV0", "Basic ===", "Basic Y", "Basic YQ", "Basic YQ=", "Basic YQ==",
        "Basic Y W w 6 c H c", "Basic YWw6\ncHc=", "Basic 4pyTOng=", "Digest a=b, c=d",
        "Bearer \t tok \t\x1c", "\xa0Bearer x"]


def test_functions_are_the_c_ones():
    assert utils._c_scheme_param is _fastrapi.auth_scheme_param
    assert utils._c_basic is _fastrapi.basic_credentials


@pytest.mark.parametrize("value", EDGE)
def test_scheme_param_edges(value):
    assert utils.get_authorization_scheme_param(value) == \
        utils._py_get_authorization_scheme_param(value)


@pytest.mark.parametrize("value", [v.partition(" ")[2] for v in EDGE if v])
def test_basic_edges(value):
    assert utils.parse_basic_credentials(value) == utils._py_parse_basic_credentials(value)


def test_random_agreement():
    rnd = random.Random(20261125)
    alpha = "ABCab01+/=:- \t\xa0\x85!é\x00\n"
    for _ in range(20000):
        s = "".join(rnd.choice(alpha) for _ in range(rnd.randint(0, 14)))
        if rnd.random() < 0.5:
            s = base64.b64encode(s.encode("latin-1", "replace")).decode()
            if rnd.random() < 0.3:
                s = s.rstrip("=")
        assert utils.get_authorization_scheme_param(s) == utils._py_get_authorization_scheme_param(s), s
        assert utils.parse_basic_credentials(s) == utils._py_parse_basic_credentials(s), repr(s)


def test_bad_types_raise_type_error():
    with pytest.raises(TypeError):
        _fastrapi.auth_scheme_param(b"Basic x")
    with pytest.raises(TypeError):
        _fastrapi.basic_credentials(None)
