"""WebSocket routes (FastAPI's ``APIWebSocketRoute``) on both faces.

The endpoint gets Starlette's ``WebSocket``. Its parameters (path, query,
header, cookie) and ``Depends`` (with ``yield`` teardown) are solved once
per connection, as FastAPI does; a validation error raises
``WebSocketRequestValidationError`` (closed with 1008 by FastAPI's handler).

- ASGI face (uvicorn, TestClient): ``dispatch`` routes a websocket scope the
  way Starlette's router does and runs the route inside FastAPI's exception
  handling; an unknown path is closed before accept (HTTP 403 on a server).
- Native server: the engine serves the socket (src/ws.c: handshake, frames,
  deflate, limits); fastrapi_py.c hands each connection to ``native_start``
  on the asyncio loop and feeds it the messages the engine read. ``_Channel``
  is the ASGI receive/send pair over that: conversion only.
"""
from __future__ import annotations

import asyncio
import collections
import functools
import json
import logging
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from copy import deepcopy
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence, Tuple

from starlette import routing
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, ImmutableMultiDict
from starlette.routing import Match, compile_path, get_name
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from . import params
from ._compat import Undefined, get_missing_field_error
from .dependencies import utils as _du
from .dependencies.models import Dependant
from .exceptions import WebSocketRequestValidationError

logger = logging.getLogger("fastrapi.error")

# uvicorn's default --ws-max-size: a bigger message closes the socket with 1009
WS_MAX_SIZE = 16 * 1024 * 1024


# ---------------------------------------------------------------- the route

def websocket_session(func: Callable[[WebSocket], Any]) -> Callable:
    """FastAPI's websocket_session: ``func(websocket)`` as an ASGI app, with
    the dependencies' exit stacks and Starlette's exception handling."""
    from starlette._exception_handler import wrap_app_handling_exceptions

    async def app(scope: Any, receive: Any, send: Any) -> None:
        ch = scope.pop("fastrapi.channel", None)  # dispatch's: this route, no middleware between
        if ch is not None and receive == ch.receive:
            session: WebSocket = _NativeWebSocket(scope, receive, send, ch)
        else:
            session = WebSocket(scope, receive=receive, send=send)

        async def inner(scope: Any, receive: Any, send: Any) -> None:
            async with AsyncExitStack() as request_stack:
                scope["fastapi_inner_astack"] = request_stack
                async with AsyncExitStack() as function_stack:
                    scope["fastapi_function_astack"] = function_stack
                    await func(session)

        await wrap_app_handling_exceptions(inner, session)(scope, receive, send)

    return app


def get_websocket_app(dependant: Dependant, dependency_overrides_provider: Any = None,
                      embed_body_fields: bool = False) -> Callable:
    async def app(websocket: WebSocket) -> None:
        values, errors = await solve_dependencies(
            websocket, dependant, dependency_overrides_provider, {})
        if errors:
            ctx: Dict[str, Any] = {}
            if dependant.path:
                mount_path = websocket.scope.get("root_path", "").rstrip("/")
                ctx["path"] = f"WS {mount_path}{dependant.path}"
            raise WebSocketRequestValidationError(errors, endpoint_ctx=ctx or None)
        assert dependant.call is not None, "dependant.call must be a function"
        await dependant.call(**values)

    return app


class APIWebSocketRoute(routing.WebSocketRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], *, name: Optional[str] = None,
                 dependencies: Optional[Sequence[params.Depends]] = None,
                 dependency_overrides_provider: Any = None) -> None:
        self.path = path
        self.endpoint = endpoint
        self.name = get_name(endpoint) if name is None else name
        self.dependencies = list(dependencies or [])
        self.dependency_overrides_provider = dependency_overrides_provider
        self.path_regex, self.path_format, self.param_convertors = compile_path(path)
        self.dependant = _du.get_dependant(path=self.path_format, call=self.endpoint)
        for depends in self.dependencies[::-1]:
            self.dependant.dependencies.insert(0, _du.get_parameterless_sub_dependant(
                depends=depends, path=self.path_format))
        self._flat_dependant = _du.get_flat_dependant(self.dependant)
        self._embed_body_fields = False
        self.app = websocket_session(get_websocket_app(
            dependant=self.dependant, dependency_overrides_provider=dependency_overrides_provider))

    def matches(self, scope: Any) -> Tuple[Match, Any]:
        match, child_scope = super().matches(scope)
        if match != Match.NONE:
            child_scope["route"] = self
        return match, child_scope

    def __repr__(self) -> str:
        return f"APIWebSocketRoute(path={self.path!r}, name={self.name!r})"


# ---------------------------------------------------------------- parameters and Depends

def _multidict_value(field: Any, values: Any, alias: str) -> Any:
    seq = _du.field_annotation_is_sequence(field.field_info.annotation)
    if seq and isinstance(values, (ImmutableMultiDict, Headers)):
        value = values.getlist(alias)
    else:
        value = values.get(alias, None)
    if value is None or (seq and len(value) == 0):
        return Undefined
    return value


def _params_to_args(fields: Sequence[Any], received: Any) -> Tuple[Dict[str, Any], List[Any]]:
    values: Dict[str, Any] = {}
    errors: List[Any] = []
    for field in fields:
        alias = _du.get_validation_alias(field)
        value = _multidict_value(field, received, alias)
        loc = (field.field_info.in_.value, alias)
        if value is Undefined:
            if field.field_info.is_required():
                errors.append(get_missing_field_error(loc=loc))
                continue
            value = deepcopy(field.default)
            if not field.field_info.validate_default:
                values[field.name] = value
                continue
        v, errs = field.validate(value, values, loc=loc)
        if errs:
            errors.extend(errs)
        else:
            values[field.name] = v
    return values, errors


async def _solve_generator(call: Callable, stack: AsyncExitStack, kwargs: Dict[str, Any]) -> Any:
    if _du.is_async_gen_callable(call):
        return await stack.enter_async_context(asynccontextmanager(call)(**kwargs))
    cm = contextmanager(call)(**kwargs)
    value = await run_in_threadpool(cm.__enter__)

    async def exit_(*exc: Any) -> Any:
        return await run_in_threadpool(cm.__exit__, *exc)

    stack.push_async_exit(exit_)
    return value


async def solve_dependencies(ws: WebSocket, dependant: Dependant, provider: Any,
                             cache: Dict[Any, Any]) -> Tuple[Dict[str, Any], List[Any]]:
    """FastAPI's solve_dependencies for a websocket: sub-dependencies first
    (overrides, per-connection cache, generator teardown on the scope's exit
    stacks), then this level's path/query/header/cookie parameters."""
    values: Dict[str, Any] = {}
    errors: List[Any] = []
    overrides = getattr(provider, "dependency_overrides", None) or {}
    for sub in dependant.dependencies:
        use = sub
        if sub.call in overrides:
            use = _du.get_dependant(path=sub.path or "", call=overrides[sub.call], name=sub.name,
                                    parent_oauth_scopes=sub.security_scopes, use_cache=sub.use_cache,
                                    scope=sub.scope)
        sub_values, sub_errors = await solve_dependencies(ws, use, provider, cache)
        if sub_errors:
            errors.extend(sub_errors)
            continue
        key = sub.cache_key
        call = use.call
        if sub.use_cache and key in cache:
            solved = cache[key]
        elif _du.is_gen_callable(call) or _du.is_async_gen_callable(call):
            name = "fastapi_function_astack" if sub.scope == "function" else "fastapi_inner_astack"
            solved = await _solve_generator(call, ws.scope[name], sub_values)
        elif _du.is_coroutine_callable(call):
            solved = await call(**sub_values)
        else:
            solved = await run_in_threadpool(call, **sub_values)
        if sub.name is not None:
            values[sub.name] = solved
        cache.setdefault(key, solved)
    for fields, received in ((dependant.path_params, ws.path_params),
                             (dependant.query_params, ws.query_params),
                             (dependant.header_params, ws.headers),
                             (dependant.cookie_params, ws.cookies)):
        if fields:
            v, e = _params_to_args(fields, received)
            values.update(v)
            errors += e
    for name in (dependant.request_param_name, dependant.websocket_param_name,
                 dependant.http_connection_param_name):
        if name:
            values[name] = ws
    if dependant.security_scopes_param_name:
        ss = _du._security_scopes_class()
        values[dependant.security_scopes_param_name] = ss(scopes=list(dependant.security_scopes or []))
    if dependant.background_tasks_param_name:  # FastAPI gives one (a websocket never runs it)
        from .background import BackgroundTasks
        values[dependant.background_tasks_param_name] = BackgroundTasks()
    return values, errors


# ---------------------------------------------------------------- the ASGI face

async def dispatch(app: Any, scope: Dict[str, Any], receive: Callable, send: Callable,
                   channel: Optional["_Channel"] = None) -> None:
    """A websocket scope as FastAPI's router and exception middleware serve it:
    the first route that matches (a websocket route, or a Mount/Host), else
    closed before accept (Starlette's WebSocketClose: HTTP 403 on a server).
    ``channel``: receive/send are that native channel's, with no middleware
    between; an APIWebSocketRoute of this app then gets a _NativeWebSocket."""
    from starlette.middleware.exceptions import ExceptionMiddleware
    from starlette.websockets import WebSocketClose

    from ._asgi import _exception_handlers

    async def handle(scope: Dict[str, Any], receive: Callable, send: Callable) -> None:
        scope.setdefault("router", app.router)
        for route in app.router.routes:
            match, child = route.matches(scope)
            if match == Match.FULL:
                scope.update(child)
                if channel is not None and type(route) is APIWebSocketRoute:
                    scope["fastrapi.channel"] = channel  # popped by websocket_session
                await route.handle(scope, receive, send)
                return
        await WebSocketClose()(scope, receive, send)

    scope.setdefault("app", app)
    await ExceptionMiddleware(handle, handlers=_exception_handlers(app),
                              debug=app.debug)(scope, receive, send)


# ---------------------------------------------------------------- the native server

class _Channel:
    """ASGI receive/send over one engine websocket (fastrapi_py.c section
    "WebSockets"). feed() runs on the loop thread with what the engine read."""

    def __init__(self, conn: Any) -> None:
        from . import _fastrapi as ext
        self.ext = ext
        self.conn = conn
        # ASGI message dicts (connect, disconnect) and, for what the peer
        # sent, the engine's own (kind, payload) tuples: receive() makes the
        # dict, _NativeWebSocket's receive_text/bytes never need one
        self.inbox: Deque[Any] = collections.deque([{"type": "websocket.connect"}])
        self.loop = asyncio.get_running_loop()  # made on the loop (native_start)
        self.waiter: Optional[asyncio.Future] = None  # receive() waiting for feed()
        self.drained = asyncio.Event()
        self.state = 0  # 0 handshake, 1 accepted, 2 closed/answered, 3 denial response begun
        self.denial: Any = None  # (status, headers, body pieces) of a denial response
        self.closed_by_peer = False

    def feed(self, events: List[Tuple[int, Any]]) -> None:
        ext, append = self.ext, self.inbox.append
        for ev in events:
            kind = ev[0]
            if kind == _TEXT or kind == _BINARY:
                append(ev)
                continue
            payload = ev[1]
            if kind == ext.WS_DRAIN:
                self.drained.set()
            elif kind == ext.WS_CLOSE:
                code, reason = payload
                if code == 1006:  # TCP gone without a close frame: uvicorn reports 1005
                    code = 1005
                self.closed_by_peer = True
                self.state = 2
                self.drained.set()
                self.inbox.append({"type": "websocket.disconnect", "code": code, "reason": reason})
        w = self.waiter
        if w is not None and self.inbox:
            self.waiter = None
            if not w.done():
                w.set_result(None)

    async def wait(self) -> None:
        # a bare future, not an asyncio.Event: one wake-up per batch that
        # feed() delivers, no per-message Event bookkeeping
        while not self.inbox:
            w = self.waiter = self.loop.create_future()
            try:
                await w
            finally:
                if self.waiter is w:
                    self.waiter = None

    async def receive(self) -> Dict[str, Any]:
        if not self.inbox:
            await self.wait()
        m = self.inbox.popleft()
        if m.__class__ is tuple:
            return {"type": "websocket.receive", "text" if m[0] == _TEXT else "bytes": m[1]}
        return m  # type: ignore[no-any-return]

    async def send(self, message: Dict[str, Any]) -> None:
        ext, kind = self.ext, message["type"]
        if kind == "websocket.accept":
            if self.state != 0:
                raise RuntimeError(f'Expected ASGI message "websocket.send" or "websocket.close", '
                                   f'but got {kind!r}')
            headers = [(bytes(k).lower(), bytes(v)) for k, v in message.get("headers") or ()]
            self.state = 1
            if ext.ws_accept(self.conn, message.get("subprotocol"), headers) < 0:
                self.state = 2
                raise OSError("the websocket handshake failed")
        elif kind == "websocket.send":
            if self.state != 1:
                raise OSError("the websocket is closed")  # Starlette: WebSocketDisconnect(1006)
            text = message.get("text")
            if text is not None:
                op, data = ext.WS_TEXT, text.encode("utf-8")
            else:
                op, data = ext.WS_BINARY, message.get("bytes") or b""
            while True:
                r = ext.ws_send(self.conn, op, data)
                if r != ext.WS_EFULL:
                    break
                self.drained.clear()  # backpressure: wait until the engine's queue drains
                await self.drained.wait()
            if r == ext.WS_ECLOSED:
                self.state = 2
                raise OSError("the websocket is closed")
            if r != ext.WS_OK:
                raise RuntimeError("invalid websocket message")
        elif kind == "websocket.http.response.start":  # a denial response, before accept
            if self.state != 0:
                raise RuntimeError(f"Unexpected ASGI message {kind!r}")
            self.state = 3
            self.denial = (int(message["status"]), list(message.get("headers") or ()), [])
        elif kind == "websocket.http.response.body":
            if self.state != 3:
                raise RuntimeError(f"Unexpected ASGI message {kind!r}")
            self.denial[2].append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                self.state = 2
                status, headers, body = self.denial
                ext.ws_deny(self.conn, status, [(bytes(k), bytes(v)) for k, v in headers], b"".join(body))
        elif kind == "websocket.close":
            if self.state == 0:
                self.state = 2
                ext.ws_deny(self.conn, 403)
            elif self.state == 1:
                self.state = 2
                reason = (message.get("reason") or "").encode("utf-8")
                ext.ws_send(self.conn, ext.WS_CLOSE, reason, int(message.get("code", 1000)))
        else:
            raise RuntimeError(f"Unexpected ASGI message {kind!r}")

    def finish(self, failed: bool) -> None:
        """The endpoint returned: an unanswered handshake is a 500 and an open
        socket is closed (1011 after an exception, else 1000)."""
        if self.state in (0, 3):  # unanswered, or a denial response left unfinished
            self.ext.ws_deny(self.conn, 500)
        elif self.state == 1:
            self.ext.ws_send(self.conn, self.ext.WS_CLOSE, b"", 1011 if failed else 1000)
        self.state = 2


_TEXT, _BINARY = 1, 2  # the engine's FR_WS_TEXT / FR_WS_BINARY (fastrapi_py.c: WS_TEXT, WS_BINARY)
_CONNECTED, _DISCONNECTED = WebSocketState.CONNECTED, WebSocketState.DISCONNECTED


class _NativeWebSocket(WebSocket):
    """Starlette's WebSocket (a subclass: everything it does, it does) whose
    receive_text/bytes/json and send_text/bytes/json go straight to the
    engine channel while both sides are connected -- no ASGI message dict,
    no future when a message is already queued. Any other state, type or
    outcome (a close, a full send queue, a str to send_bytes...) takes
    Starlette's own code path, so its errors and state changes are the same."""

    def __init__(self, scope: Any, receive: Any, send: Any, channel: "_Channel") -> None:
        super().__init__(scope, receive=receive, send=send)
        self._fr_ch = channel

    def _fr_pop(self, kind: int, key: str) -> Any:
        """The payload of the next message, which must be of ``kind`` (else
        Starlette's KeyError for message[key]); a disconnect is Starlette's
        receive() + _raise_on_disconnect."""
        m = self._fr_ch.inbox.popleft()
        if m.__class__ is tuple:
            if m[0] != kind:
                raise KeyError(key)
            return m[1]
        if m["type"] != "websocket.disconnect":  # cannot happen: connect was consumed
            raise RuntimeError('Expected ASGI message "websocket.receive" or "websocket.disconnect", '
                               f'but got {m["type"]!r}')
        self.client_state = _DISCONNECTED
        raise WebSocketDisconnect(m["code"], m.get("reason"))

    # Each receive waits inline (no helper coroutine: every frame between
    # the task and the future is resumed on every message); a cancelled
    # waiter left in ch.waiter is skipped by feed() (done).
    async def receive_text(self) -> str:
        if self.application_state is not _CONNECTED or self.client_state is not _CONNECTED:
            return await WebSocket.receive_text(self)
        ch = self._fr_ch
        while not ch.inbox:
            ch.waiter = w = ch.loop.create_future()
            await w
        return self._fr_pop(_TEXT, "text")  # type: ignore[no-any-return]

    async def receive_bytes(self) -> bytes:
        if self.application_state is not _CONNECTED or self.client_state is not _CONNECTED:
            return await WebSocket.receive_bytes(self)
        ch = self._fr_ch
        while not ch.inbox:
            ch.waiter = w = ch.loop.create_future()
            await w
        return self._fr_pop(_BINARY, "bytes")  # type: ignore[no-any-return]

    async def receive_json(self, mode: str = "text") -> Any:
        if mode not in {"text", "binary"}:
            raise RuntimeError('The "mode" argument should be "text" or "binary".')
        if self.application_state is not _CONNECTED or self.client_state is not _CONNECTED:
            return await WebSocket.receive_json(self, mode)
        ch = self._fr_ch
        while not ch.inbox:
            ch.waiter = w = ch.loop.create_future()
            await w
        if mode == "text":
            return json.loads(self._fr_pop(_TEXT, "text"))
        return json.loads(self._fr_pop(_BINARY, "bytes").decode("utf-8"))

    # A send goes straight to the engine (ws_send takes a str as its UTF-8)
    # while connected; otherwise -- not connected, queue full, closed: a
    # failed ws_send sent nothing -- Starlette's path runs (and redoes it),
    # doing what Starlette does on that outcome.
    def _fr_send(self, op: int, data: Any) -> bool:
        ch = self._fr_ch
        if self.application_state is not _CONNECTED or ch.state != 1:
            return False
        return ch.ext.ws_send(ch.conn, op, data) == 0  # WS_OK

    async def send_text(self, data: str) -> None:
        ch = self._fr_ch
        if (data.__class__ is not str or self.application_state is not _CONNECTED or ch.state != 1
                or ch.ext.ws_send(ch.conn, _TEXT, data) != 0):
            await WebSocket.send_text(self, data)

    async def send_bytes(self, data: bytes) -> None:
        ch = self._fr_ch
        if (data.__class__ is not bytes or self.application_state is not _CONNECTED or ch.state != 1
                or ch.ext.ws_send(ch.conn, _BINARY, data) != 0):
            await WebSocket.send_bytes(self, data)

    async def send_json(self, data: Any, mode: str = "text") -> None:
        if mode not in {"text", "binary"}:
            raise RuntimeError('The "mode" argument should be "text" or "binary".')
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if mode == "text":
            if not self._fr_send(_TEXT, text):
                await self.send({"type": "websocket.send", "text": text})
        elif not self._fr_send(_BINARY, text.encode("utf-8")):
            await self.send({"type": "websocket.send", "bytes": text.encode("utf-8")})


def _native_scope(app: Any, route: Any, scope: Dict[str, Any]) -> Dict[str, Any]:
    scope["type"] = "websocket"
    scope["scheme"] = "wss" if scope.get("scheme") == "https" else "ws"
    for k in ("method", "body", "route", "route_path"):
        scope.pop(k, None)
    scope["asgi"] = {"version": "3.0", "spec_version": "2.4"}
    subprotocols: List[str] = []
    for k, v in scope.get("headers", ()):
        if k == b"sec-websocket-protocol":
            subprotocols += [p.strip() for p in v.decode("latin-1").split(",") if p.strip()]
    scope["subprotocols"] = subprotocols
    scope["extensions"] = {"websocket.http.response": {}}  # denial responses (the engine answers them)
    scope.setdefault("state", dict(getattr(app, "_fr_lifespan_state", None) or {}))
    scope["fastrapi.native"] = True
    return scope


async def _run_native(app: Any, route: Any, scope: Dict[str, Any], ch: _Channel) -> None:
    failed = False
    try:
        from ._native_mw import stack_replaced
        if app.user_middleware or stack_replaced(app):  # the app's ASGI stack sees it (SessionMiddleware...)
            app._fr_started = True
            await app._stack()(scope, ch.receive, ch.send)
        else:
            await dispatch(app, scope, ch.receive, ch.send, ch)
    except Exception as exc:  # what uvicorn does: log it, close (1011) or answer 500
        failed = True
        logger.error("Exception in ASGI application", exc_info=(type(exc), exc, exc.__traceback__))
    finally:
        ch.finish(failed)


def native_start(app: Any, route: Any, scope: Dict[str, Any], conn: Any) -> Callable:
    """Called by the glue on the asyncio loop for one upgrade request: start
    the endpoint as a Task; returns the channel's feed."""
    ch = _Channel(conn)
    scope = _native_scope(app, route, scope)
    loop = asyncio.get_running_loop()
    task = loop.create_task(_run_native(app, route, scope, ch))
    tasks = app.__dict__.setdefault("_fr_ws_tasks", set())
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return ch.feed


def register_native(app: Any, srv: Any, seen: set, engine_path: Callable[[str], str],
                    max_size: int) -> None:
    """Put the app's websocket routes on a native server (before its HTTP
    routes' bridge decision: the engine serves them either way). They take
    upgrades only (fr_route_opts.websocket): a path with an HTTP GET route
    too keeps that route for plain requests, as Starlette's router; the
    engine pairs the two also when their parameter names differ. A Mount
    takes the upgrades under its prefix and a Host every path: the engine
    only lets them in, _run_native routes them in Starlette's order (the
    mounted app is called through ASGI, as uvicorn would)."""
    for r in app.routes:
        if isinstance(r, routing.WebSocketRoute):
            path = r.path
        elif isinstance(r, routing.Mount):  # the mounted app's own websocket routes
            path = r.path + "/{path:path}"
        elif isinstance(r, routing.Host):  # any path: the Host decides by header
            path = "/{path:path}"
        else:
            continue
        key = ("WEBSOCKET", engine_path(path))
        if key in seen:
            continue
        seen.add(key)
        srv.add_websocket(key[1], functools.partial(native_start, app, r), r, max_size)
