"""Starlette's built-in middlewares run by the engine, in C.

An app whose user middleware list (``add_middleware`` / ``middleware=[...]``)
holds only these classes -- the same objects whether imported from
``starlette.middleware.*``, ``fastapi.middleware.*`` or ``fastrapi.middleware``
--

    CORSMiddleware, GZipMiddleware, TrustedHostMiddleware, HTTPSRedirectMiddleware,
    SessionMiddleware

and ``@app.middleware("http")`` functions (Starlette's ``BaseHTTPMiddleware``
with ``dispatch=func``, exactly that class)

gets them configured in the engine app with the user's options
(``fr_app_use_cors`` / ``_gzip`` / ``_trusted_host`` / ``_https_redirect`` /
``_session``: the glue puts Starlette's ``Session`` in ``request.scope``), in
the same order, the first of the list outermost): no request runs Python for
them, on the native server and through the ASGI face alike. A
``@app.middleware`` function is an "around" layer of the engine's chain
(middleware.h, AROUND LAYERS) on the native server: ``dispatch(request,
call_next)`` runs on the asyncio thread, ``call_next`` continues the engine's
chain inward and gets the inner response captured by the engine
(``_CallNextResponse``: Starlette's ``_StreamingResponse`` whose body stays in
the engine until read); the response dispatch returns goes outward through the
C middlewares outside it. A streamed inner response reaches call_next at its
head (middleware.h, STREAMED CAPTURE), compressed piece by piece when a
GZipMiddleware sits inside the decorator: returned untouched, its body flows to
the client as the handler makes it (fr_mw_pass); its body_iterator reads the
pieces as they come (fr_mw_take); a response of dispatch's own closes the
inner stream (its generator's finally runs) and goes out once it has
stopped. Through the ASGI face such an app keeps Starlette's stack. Anything else --
another class (a subclass too), options the engine does
not take (an ``allow_origin_regex`` outside its regex subset, a
``compresslevel`` zlib refuses, text that is not Latin-1), a build without
zlib for GZip, an app with Mount/Host routes -- keeps Starlette's own classes
in the Python ASGI stack (fastrapi._asgi), exactly as before.

The decision is made at decoration time and cached per middleware list and
routes version; nothing here runs per request."""
from __future__ import annotations

import asyncio
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
    from starlette.middleware.base import BaseHTTPMiddleware

    from .applications import _setup_extension
    ext = _setup_extension()
    known = _known()
    if getattr(app, "_fr_asgi_routes", None):
        return None  # Mount/Host routes run through the Python stack
    plan: Plan = []
    for m in app.user_middleware:
        cls, args, kwargs = m
        if cls is BaseHTTPMiddleware:  # @app.middleware("http"): an engine around layer
            dispatch = kwargs.get("dispatch")
            if args or set(kwargs) != {"dispatch"} or not callable(dispatch):
                return None
            plan.append(("http", (dispatch,)))
            continue
        conv = known.get(cls)
        if conv is None:
            return None
        try:
            plan.append((cls.__name__, conv(ext, _options(cls, tuple(args), dict(kwargs)))))
        except _Refuse:
            return None
    # The engine holds one streamed response per request (middleware.h,
    # STREAMED CAPTURE): with two decorators the outer one would get a
    # stream whole (an endless one never), so such an app keeps Starlette's
    # stack, where every stream flows. A GZipMiddleware inside the decorator
    # compresses the held stream piece by piece (the capture takes the head
    # GZip decided): it stays in the engine.
    if sum(1 for name, _ in plan if name == "http") > 1:
        return None
    return plan


def stack_replaced(app: Any) -> bool:
    """``build_middleware_stack`` replaced: on the instance (OpenTelemetry's
    and logfire's ``instrument_fastapi`` wrap it there) or by a subclass.
    Every request then runs through the stack it builds."""
    from .applications import FastrAPI
    return ("build_middleware_stack" in app.__dict__
            or type(app).build_middleware_stack is not FastrAPI.build_middleware_stack)


def plan(app: Any) -> Optional[Plan]:
    """The middlewares the engine runs for this app (outermost first), or None
    when the app keeps Starlette's Python stack (middleware the engine does
    not run, or a replaced build_middleware_stack). [] without user
    middleware."""
    if stack_replaced(app):
        return None
    if not app.user_middleware:
        return []
    key = (tuple(id(m) for m in app.user_middleware), app._routes_version())
    cur = app.__dict__.get("_fr_native_mw")
    if cur is None or cur[0] != key:
        cur = app._fr_native_mw = (key, _compute(app))
    return cur[1]


def asgi_plan(app: Any) -> Optional[Plan]:
    """The plan for the ASGI face: None (Starlette's stack) also when the app
    has an @app.middleware (its around layer needs the native server's loop)."""
    p = plan(app)
    if p is None or any(name == "http" for name, _ in p):
        return None
    return p


def apply(srv: Any, p: Plan) -> None:
    """Configure the engine app of `srv` (an ext.Server) with the plan."""
    for name, opts in p:
        if name == "http":
            srv.use_http_middleware(opts[0], run_http)
        elif name == "CORSMiddleware":
            srv.use_cors(*opts)
        elif name == "GZipMiddleware":
            srv.use_gzip(*opts)
        elif name == "TrustedHostMiddleware":
            srv.use_trusted_host(*opts)
        elif name == "SessionMiddleware":
            srv.use_session(*opts)
        else:
            srv.use_https_redirect()


# ---- @app.middleware("http") on the native server (the glue calls run_http)

_ext: Any = None
_CallNextResponse: Any = None


def _call_next_class() -> Any:
    global _CallNextResponse, _ext
    if _CallNextResponse is None:
        from starlette.middleware.base import _StreamingResponse
        from starlette.responses import StreamingResponse

        from .applications import _setup_extension
        _ext = _setup_extension()

        class CallNextResponse(_StreamingResponse, StreamingResponse):
            """What call_next returns: Starlette's _StreamingResponse (status_code,
            headers, raw_headers, body_iterator, background) over the response the
            engine captured; the body is copied out of the engine only when
            body_iterator is read."""

            def __init__(self, ch: Any, status: int, raw_headers: list, live: int = 0) -> None:
                self._fr_ch = ch
                self._fr_live = live
                self._fr_read = False
                self._fr_body = self._fr_iter()
                _StreamingResponse.__init__(self, content=self._fr_body, status_code=status)
                self.raw_headers = raw_headers

            async def _fr_iter(self) -> Any:
                self._fr_read = True
                if not self._fr_live:
                    body = _ext.mw_body(self._fr_ch)
                    if body:
                        yield body
                    return
                loop = asyncio.get_running_loop()
                while True:  # a live stream: its pieces as the handler makes them
                    fut = loop.create_future()
                    data, state = _ext.mw_take(self._fr_ch, fut)
                    if state == 0:
                        await fut
                        continue
                    if data:
                        yield data
                    if state == 2:
                        return

        _CallNextResponse = CallNextResponse
    return _CallNextResponse


async def run_http(dispatch: Any, request: Any, ch: Any) -> Any:
    """One request through an @app.middleware function. Returns (status,
    raw_headers) when dispatch gave back call_next's response with its body
    untouched (the engine sends its captured body), else dispatch's Response."""
    cls = _CallNextResponse or _call_next_class()
    given: List[Any] = []

    async def call_next(req: Any) -> Any:
        fut = asyncio.get_running_loop().create_future()
        _ext.mw_next(ch, fut)
        status, raw, live = await fut
        resp = cls(ch, status, raw, live)
        given.append(resp)
        return resp

    response = await dispatch(request, call_next)
    if given and response is given[0] and not response._fr_read \
            and response.body_iterator is response._fr_body and response.background is None:
        return (response.status_code, response.raw_headers)
    return response
