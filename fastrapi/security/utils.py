"""Credential parsing shared by the security schemes.

Each function parses one credential shape from a header value and nothing
else, so the C fast path (the dependency plan) can replace it one-for-one.
"""
from __future__ import annotations

import binascii
from base64 import b64decode
from typing import Optional, Tuple


def get_authorization_scheme_param(authorization_header_value: Optional[str]) -> Tuple[str, str]:
    """``"Bearer abc "`` -> ``("Bearer", "abc")``; empty/missing -> ``("", "")``.

    The scheme is everything before the first space, the parameter the rest
    with surrounding whitespace removed (FastAPI's behaviour, byte for byte).
    """
    if not authorization_header_value:
        return "", ""
    scheme, _, param = authorization_header_value.partition(" ")
    return scheme, param.strip()


def parse_basic_credentials(param: str) -> Optional[Tuple[str, str]]:
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
