"""Credential parsing shared by the security schemes.

Each function parses one credential shape from a header value and nothing
else, so the C fast path (the dependency plan) can replace it one-for-one.
"""
from __future__ import annotations

import binascii
from base64 import b64decode
from typing import Optional, Tuple


def _py_get_authorization_scheme_param(authorization_header_value: Optional[str]) -> Tuple[str, str]:
    """``"Bearer abc "`` -> ``("Bearer", "abc")``; empty/missing -> ``("", "")``.

    The scheme is everything before the first space, the parameter the rest
    with surrounding whitespace removed (FastAPI's behaviour, byte for byte).
    """
    if not authorization_header_value:
        return "", ""
    scheme, _, param = authorization_header_value.partition(" ")
    return scheme, param.strip()


def _py_parse_basic_credentials(param: str) -> Optional[Tuple[str, str]]:
    """Decode the parameter of ``Authorization: Basic <param>``.

    Returns ``(username, password)``, or None when the parameter is not
    base64 of ASCII ``user:password`` (no colon, bad padding, non-ASCII).
    """
    try:
        data = b64decode(param).decode("ascii")
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return None
    username, separator, password = data.partition(":")
    if not separator:
        return None
    return username, password


# The engine does the parsing (fr_auth_parse / fr_auth_basic_decode, which
# mirror the Python reference functions above byte for byte; the tests run
# both over the same inputs). The Python versions stay as the reference.
try:
    from fastrapi._fastrapi import auth_scheme_param as _c_scheme_param
    from fastrapi._fastrapi import basic_credentials as _c_basic
except ImportError:  # pragma: no cover - extension not built
    _c_scheme_param = _c_basic = None


def get_authorization_scheme_param(authorization_header_value: Optional[str]) -> Tuple[str, str]:
    """``"Bearer abc "`` -> ``("Bearer", "abc")``; empty/missing -> ``("", "")``
    (FastAPI's behaviour, byte for byte), parsed in C."""
    if _c_scheme_param is None:
        return _py_get_authorization_scheme_param(authorization_header_value)
    return _c_scheme_param(authorization_header_value)


def parse_basic_credentials(param: str) -> Optional[Tuple[str, str]]:
    """``(username, password)`` from the parameter of ``Authorization: Basic``,
    or None when FastAPI would answer 401; decoded in C."""
    if _c_basic is None:
        return _py_parse_basic_credentials(param)
    return _c_basic(param)
