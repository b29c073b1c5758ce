"""Starlette's built-in middlewares run by the engine, in C.

An app whose user middleware list (``add_middleware`` / ``middleware=[...]``)
holds only these classes -- the same objects whether imported from
``starlette.middleware.*``, ``fastapi.middleware.*`` or ``fastrapi.middleware``
--

    CORSMiddleware, GZipMiddleware, TrustedHostMiddleware, HTTPSRedirectMiddleware,
    SessionMiddleware

gets them configured in the engine app with the user's options
(``fr_app_use_cors`` / ``_gzip`` / ``_trusted_host`` / ``_https_redirect`` /
``_session``: the glue puts Starlette's ``Session`` in ``request.scope``), in
the same order, the first of the list outermost): no request runs Python for
them, on the native server and through the ASGI face alike. Anything else --
another class (a subclass too), ``@app.middleware``, options the engine does
not take (an ``allow_origin_regex`` outside its regex subset, a
``compresslevel`` zlib refuses, text that is not Latin-1), a build without
zlib for GZip, an app with Mount/Host routes -- keeps Starlette's own classes
in the Python ASGI stack (fastrapi._asgi), exactly as before.

The decision is made at decoration time and cached per middleware list and
routes version; nothing here runs per request."""
from __future__ import annotations

import inspect
from typing import Any, List, Optional, Tuple

Plan = List[Tuple[str, tuple]]

_GZIP_DEFAULT_EXCLUDE = None  # filled lazily from GZipMiddleware's signature


def _known() -> dict:
    from starlette.middleware.cors import CORSMiddleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.middleware.httpsredirect import HTTPSRedirectMiddleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    known = {CORSMiddleware: _cors, GZipMiddleware: _gzip, TrustedHostMiddleware: _trusted_host,
             HTTPSRedirectMiddleware: _https_redirect}
    try:  # needs itsdangerous, as Starlette's does
        from starlette.middleware.sessions import SessionMiddleware
    except ImportError:
        return known
    known[SessionMiddleware] = _session
    return known


class _Refuse(Exception):
    """These options stay with Starlette's class."""


async def _noop(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
    pass


def _options(cls: Any, args: tuple, kwargs: dict) -> dict:
    """The options as Starlette's __init__ sees them (defaults applied), after
    Starlette itself accepted them (its assertions and errors stay Python's:
    the app then keeps the class, which raises when the stack is built)."""
    try:
        cls(_noop, *args, **kwargs)
        bound = inspect.signature(cls.__init__).bind(None, _noop, *args, **kwargs)
    except Exception as e:
        raise _Refuse(str(e)) from None
    bound.apply_defaults()
    opts = dict(bound.arguments)
    opts.pop("self", None)
    opts.pop("app", None)
    return opts


def _latin1(items: Any) -> List[bytes]:
    if isinstance(items, (str, bytes)):
        raise _Refuse("a string where Starlette expects a collection")
    out = []
    for x in items:
        if not isinstance(x, str):
            raise _Refuse("not a str: %r" % (x,))
        try:
            out.append(x.encode("latin-1"))
        except UnicodeEncodeError:
            raise _Refuse("not Latin-1: %r" % (x,)) from None
    return out


def _cors(ext: Any, o: dict) -> tuple:
    regex = o["allow_origin_regex"]
    if regex is not None:
        if not isinstance(regex, str):
            raise _Refuse("allow_origin_regex")
        regex = regex.encode("utf-8")
        if not ext.cors_regex_ok(regex):
            raise _Refuse("allow_origin_regex outside the engine's regex subset")
    max_age = str(o["max_age"]).encode("latin-1")
    return (_latin1(o["allow_origins"]), _latin1(o["allow_methods"]), _latin1(o["allow_headers"]),
            bool(o["allow_credentials"]), regex, bool(o["allow_private_network"]),
            _latin1(o["expose_headers"]), max_age)


def _gzip(ext: Any, o: dict) -> tuple:
    global _GZIP_DEFAULT_EXCLUDE
    if not ext.GZIP:
        raise _Refuse("the extension was built without zlib")
    minimum, level = o["minimum_size"], o["compresslevel"]
    if type(minimum) is not int or type(level) is not int or not -1 <= level <= 9:
        raise _Refuse("minimum_size / compresslevel")
    if _GZIP_DEFAULT_EXCLUDE is None:
        from starlette.middleware.gzip import GZipMiddleware
        _GZIP_DEFAULT_EXCLUDE = tuple(
            inspect.signature(GZipMiddleware.__init__).parameters["exclude_content_types"].default)
    exclude = o["exclude_content_types"]
    excl = None if tuple(exclude) == _GZIP_DEFAULT_EXCLUDE else _latin1(exclude)
    return (minimum, level, excl)


def _trusted_host(ext: Any, o: dict) -> tuple:
    hosts = o["allowed_hosts"]
    return (None if hosts is None else _latin1(list(hosts)), bool(o["www_redirect"]))


def _https_redirect(ext: Any, o: dict) -> tuple:
    return ()


def _text(v: Any, encoding: str = "latin-1") -> bytes:
    if not isinstance(v, str):
        raise _Refuse("not a str: %r" % (v,))
    try:
        return v.encode(encoding)
    except UnicodeEncodeError:
        raise _Refuse("not %s: %r" % (encoding, v)) from None


def _session(ext: Any, o: dict) -> tuple:
    """SessionMiddleware's options; the Set-Cookie text Starlette formats is
    latin-1 on the wire, the secret UTF-8 (itsdangerous' want_bytes)."""
    import json

    from starlette.middleware.sessions import Session
    max_age = o["max_age"]
    if max_age is not None and (type(max_age) is not int or not -2**62 < max_age < 2**62):
        raise _Refuse("max_age")  # Starlette writes str(max_age): only ints match
    domain = o["domain"]
    return (str(o["secret_key"]).encode("utf-8"), _text(o["session_cookie"]),
            max_age, _text(o["path"]), _text(o["same_site"]), bool(o["https_only"]),
            None if domain is None else _text(domain), bool(o["partitioned"]),
            Session, json.loads, json.dumps)


def _compute(app: Any) -> Optional[Plan]:
    from .applications import _setup_extension
    ext = _setup_extension()
    known = _known()
    if getattr(app, "_fr_asgi_routes", None):
        return None  # Mount/Host routes run through the Python stack
    plan: Plan = []
    for m in app.user_middleware:
        cls, args, kwargs = m
        conv = known.get(cls)
        if conv is None:
            return None
        try:
            plan.append((cls.__name__, conv(ext, _options(cls, tuple(args), dict(kwargs)))))
        except _Refuse:
            return None
    return plan


def plan(app: Any) -> Optional[Plan]:
    """The middlewares the engine runs for this app (outermost first), or None
    when the app keeps Starlette's Python stack. [] without user middleware."""
    if not app.user_middleware:
        return []
    key = (tuple(id(m) for m in app.user_middleware), app._routes_version())
    cur = app.__dict__.get("_fr_native_mw")
    if cur is None or cur[0] != key:
        cur = app._fr_native_mw = (key, _compute(app))
    return cur[1]


def apply(srv: Any, p: Plan) -> None:
    """Configure the engine app of `srv` (an ext.Server) with the plan."""
    for name, opts in p:
        if name == "CORSMiddleware":
            srv.use_cors(*opts)
        elif name == "GZipMiddleware":
            srv.use_gzip(*opts)
        elif name == "TrustedHostMiddleware":
            srv.use_trusted_host(*opts)
        elif name == "SessionMiddleware":
            srv.use_session(*opts)
        else:
            srv.use_https_redirect()
