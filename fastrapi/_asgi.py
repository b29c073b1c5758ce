"""The ASGI face: ``await app(scope, receive, send)``.

A request that arrives through ASGI (uvicorn, hypercorn, granian,
``httpx.ASGITransport``, Starlette's ``TestClient``) is handed to the same
engine app the native server uses (``fr_dispatch``): the same routing,
compiled plans, dependencies, encoders and error bodies, so the same bytes
come out. Only the transport differs: the body is fed to the engine from
``receive`` as it arrives (``fr_dispatch_feed``: an upload streams to disk
as on the native server), the response goes out through ``send``. ``async def`` code runs on
the ASGI server's own event loop; ``def`` code on the engine's worker pool.
"""
from __future__ import annotations

import asyncio
import threading
import traceback
from typing import Any, Callable, Dict, Optional, Tuple
from urllib.parse import unquote_to_bytes

from . import _native_mw, _runtime
from ._fastrapi import STREAM_HIGH_WATER as _STREAM_HIGH_WATER
from .requests import BodyMessages


async def asgi_app(app: Any, scope: Dict[str, Any], receive: Callable, send: Callable) -> None:
    kind = scope["type"]
    if app.root_path:  # FastAPI.__call__: what a mounted app and the docs see
        scope["root_path"] = app.root_path
    scope["app"] = app  # Starlette.__call__ (middleware reads the routes from it)
    if kind == "http":
        if _native_mw.asgi_plan(app) is None:
            app._fr_started = True
            await app._stack()(scope, receive, send)
        elif app._fr_asgi_routes and _asgi_route(app, scope) is not None:
            await app._stack()(scope, receive, send)  # the error middleware, then the mount
        else:
            await _http(app, scope, receive, send)
    elif kind == "lifespan":
        await _lifespan(app, scope, receive, send)
    elif kind == "websocket":  # fastrapi._ws: routed as Starlette's router does
        if app.user_middleware or _native_mw.stack_replaced(app):
            app._fr_started = True
            await app._stack()(scope, receive, send)
        else:
            from ._ws import dispatch
            await dispatch(app, scope, receive, send)
    else:
        raise RuntimeError(f"fastrapi: unsupported ASGI scope type {kind!r}")


async def _lifespan(app: Any, scope: Dict[str, Any], receive: Callable, send: Callable) -> None:
    started = False
    message = await receive()
    assert message["type"] == "lifespan.startup"
    try:
        await app._startup()
        state = app._fr_lifespan_state
        if state:  # Starlette's router: the server copies it into each request's scope
            if scope.get("state") is None:
                raise RuntimeError('The server does not support "state" in the lifespan scope.')
            scope["state"].update(state)
    except BaseException:
        await send({"type": "lifespan.startup.failed", "message": traceback.format_exc()})
        raise
    started = True
    await send({"type": "lifespan.startup.complete"})
    message = await receive()
    assert message["type"] == "lifespan.shutdown"
    try:
        await app._shutdown()
    except BaseException:
        await send({"type": "lifespan.shutdown.failed", "message": traceback.format_exc()})
        raise
    if started:
        await send({"type": "lifespan.shutdown.complete"})


async def _first_body(receive: Callable) -> Optional[Tuple[bytes, bool]]:
    """The first http.request message: (body, more_body); None when the
    client left first."""
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "http.request":
            return message.get("body", b""), bool(message.get("more_body", False))
        if kind == "http.disconnect":
            return None


async def _feed_rest(server: Any, pending: Any, receive: Callable) -> bool:
    """The rest of a body, fed to the engine as it arrives (a streamed form
    goes to its temp files, anything else to one buffer; a body over the
    limit is answered at once and read no further); then the request runs.
    False: the client left, the request was dropped."""
    complete = False
    try:
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "http.request":
                rc = server.feed(pending, message.get("body", b""))
                if rc != 0:  # 1: 413 answered, the end only releases; -1: out of memory, dropped
                    complete = rc > 0
                    break
                if not message.get("more_body", False):
                    complete = True
                    break
            elif kind == "http.disconnect":
                break
    finally:
        server.dispatch_end(pending, complete)
    return complete


def _route_path(scope: Dict[str, Any]) -> str:
    """Starlette's get_route_path: the path without the root_path prefix (a
    mounted app's scope, or a server's --root-path) -- what the routes see."""
    path: str = scope.get("path", "/")
    root = scope.get("root_path", "")
    if not root or not path.startswith(root):
        return path
    if path == root:
        return ""
    return path[len(root):] if path[len(root)] == "/" else path


def _target(scope: Dict[str, Any]) -> bytes:
    raw = scope.get("raw_path")
    path = scope.get("path", "/")
    route = _route_path(scope)
    if raw and route != path:  # cut the root_path from the raw path too, when it is there
        root = path[:len(path) - len(route)].encode("utf-8")
        raw = raw[len(root):] if raw.startswith(root) and raw[len(root):len(root) + 1] == b"/" else None
    if raw and (b"%" in raw or raw.decode("latin-1") != route) and \
            unquote_to_bytes(raw).decode("utf-8", "replace") != route:
        raw = None  # a middleware rewrote scope["path"]: Starlette routes on it
    if not raw:
        from urllib.parse import quote
        raw = quote(route or "/", safe="/:@!$&'()*+,;=-._~%").encode("ascii")
    qs = scope.get("query_string", b"")
    return raw + b"?" + qs if qs else raw


def _asgi_route(app: Any, scope: Dict[str, Any]) -> Any:
    """The Mount or Host route that serves this request (else None) -- the
    engine's decision (app.mount() prefixes are engine routes), Host routes by
    Starlette's rule: the first in app.routes order that matches wins."""
    if "fastrapi.route" in scope:
        return scope["fastrapi.route"]
    from starlette.routing import Host, Match, Mount
    route = app._asgi_server().route_for(scope["method"], _route_path(scope))[1]
    hosts = [r for r in app._fr_asgi_routes if isinstance(r, Host)]
    if hosts:
        order = {id(r): i for i, r in enumerate(app.routes)}
        for h in hosts:
            if route is not None and order.get(id(route), -1) < order[id(h)]:
                break  # the engine's route comes first in app.routes
            if h.matches(scope)[0] == Match.FULL:
                route = h
                break
    if not isinstance(route, (Mount, Host)):
        return None
    scope["fastrapi.route"] = route
    return route


def _exception_handlers(app: Any) -> Dict[Any, Callable]:
    """FastAPI's ExceptionMiddleware handlers: its defaults, then the app's
    (500/Exception go to ServerErrorMiddleware)."""
    from starlette.exceptions import HTTPException

    from . import exception_handlers as eh
    from .exceptions import RequestValidationError, WebSocketRequestValidationError
    handlers: Dict[Any, Callable] = {
        HTTPException: eh.http_exception_handler,
        RequestValidationError: eh.request_validation_exception_handler,
        WebSocketRequestValidationError: eh.websocket_request_validation_exception_handler,
    }
    handlers.update((k, v) for k, v in app.exception_handlers.items() if k not in (500, Exception))
    return handlers


async def _serve_route(app: Any, route: Any, scope: Dict[str, Any], receive: Callable,
                       send: Callable) -> None:
    """A mounted app (or Host route) as FastAPI's router reaches it: inside
    FastAPI's ExceptionMiddleware, so an HTTPException it raises (StaticFiles'
    404) gets the app's handler, e.g. {"detail": "Not Found"}."""
    from starlette.exceptions import HTTPException
    from starlette.middleware.exceptions import ExceptionMiddleware
    from starlette.routing import Match

    async def handle(scope: Dict[str, Any], receive: Callable, send: Callable) -> None:
        match, child = route.matches(scope)
        if match != Match.FULL:  # the engine and Starlette's regex disagree: never expected
            raise HTTPException(status_code=404)
        scope.setdefault("router", app.router)
        scope["route"] = route
        scope.update(child)
        await route.handle(scope, receive, send)

    scope.pop("fastrapi.route", None)
    await ExceptionMiddleware(handle, handlers=_exception_handlers(app),
                              debug=app.debug)(scope, receive, send)


async def _until_disconnect(receive: Callable) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _http(app: Any, scope: Dict[str, Any], receive: Callable, send: Callable,
                inner: bool = False) -> None:
    """One HTTP request through the engine. At the top (no middleware) an
    unhandled exception is answered 500 and re-raised, as Starlette's
    ServerErrorMiddleware does; as the innermost app of a middleware stack
    (`inner`) it is raised before anything is sent, as FastAPI's router and
    exception middleware do, so the middleware sees it."""
    server = app._asgi_server()
    loop = asyncio.get_running_loop()
    _runtime.bind_loop(loop)
    scope.setdefault("router", app.router)  # Starlette's router: also for a 404
    route_path = _route_path(scope)
    if route_path != scope.get("path", "/") and await _root_redirect(app, server, scope, route_path,
                                                                     receive, send):
        return
    first = await _first_body(receive)
    if first is None:
        return
    queue: "asyncio.Queue[Tuple[str, Any]]" = asyncio.Queue()
    # Flow control, as `await send` gives it under FastAPI: post() answers 1
    # once more than the engine's high-water mark waits to be sent; the
    # engine pauses the response there (a stream's producer, a file body) and
    # posts ("wait", resume), called here once what came before it was sent
    # (resume(0)), or when this consumer is gone (resume(-1); post answers -1
    # from then on). While a response is paused, receive() is watched: a
    # client that leaves (http.disconnect) ends the producer (post answers -1
    # to its pieces: a generator is closed, a file read no further) instead
    # of the server dropping everything it still makes, as the native server
    # does (uvicorn's send() does not raise once the client has gone).
    flow_lock = threading.Lock()
    flow: Dict[str, Any] = {"pending": 0, "gone": False, "left": False, "waiting": [],
                            "answered": False}

    def post(item: Tuple[str, Any]) -> int:  # any thread, with the GIL
        kind = item[0]
        with flow_lock:
            if flow["gone"]:
                return -1
            if kind == "body":
                flow["pending"] += len(item[1][0])
                flow["answered"] = flow["answered"] or not item[1][1]
            elif kind == "wait":
                flow["waiting"].append(item[1])
            elif kind == "end":
                flow["answered"] = True
            full = flow["pending"] > _STREAM_HIGH_WATER
            left = flow["left"]
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is gone (client or server shut down)
            return -1
        return -1 if left else 1 if full else 0

    def resume(waiter: Callable[[int], None], value: int) -> None:
        with flow_lock:
            if waiter not in flow["waiting"]:
                return
            flow["waiting"].remove(waiter)
        waiter(value)

    def client_left(task: "asyncio.Task[None]") -> None:
        if task.cancelled() or task.exception() is not None:
            return
        with flow_lock:
            flow["left"] = True
            waiting = list(flow["waiting"])
        for waiter in waiting:
            resume(waiter, -1)

    watcher: "Optional[asyncio.Task[None]]" = None

    def watch() -> None:  # on the loop: receive() is read from now on, for http.disconnect
        nonlocal watcher
        if watcher is None and not flow["gone"]:
            watcher = loop.create_task(_until_disconnect(receive))
            watcher.add_done_callback(client_left)

    def client_gone() -> bool:
        """request.is_disconnected() (fastrapi.requests): the body has been
        read, so the first call starts watching receive() and says False."""
        if flow["left"] or flow["gone"] or flow["answered"]:  # uvicorn: disconnect once answered
            return True
        try:
            loop.call_soon_threadsafe(watch)
        except RuntimeError:  # the loop is gone
            return True
        return False

    # the native server's bridge already put the engine's own (fr_req_client_gone)
    scope.setdefault("fastrapi.client_gone", client_gone)
    client = scope.get("client")
    args = (scope["method"].encode("ascii"), _target(scope), scope.get("headers", []), first[0],
            tuple(client) if client else None, scope.get("scheme", "http"), post, scope)
    if not first[1]:  # the whole body in one message
        server.dispatch(*args)
    else:
        pending = server.dispatch_begin(*args)
        if pending is not None and not await _feed_rest(server, pending, receive):
            return
    error: Optional[BaseException] = None
    sent = False
    try:
        while True:  # until "done": background tasks and teardowns have run, as in Starlette
            kind, value = await queue.get()
            if kind == "start":
                status, headers = value
                await send({"type": "http.response.start", "status": status, "headers": headers})
            elif kind == "body":
                data, more = value
                if not flow["left"]:
                    await send({"type": "http.response.body", "body": data, "more_body": more})
                with flow_lock:
                    flow["pending"] -= len(data)
                sent = not more
            elif kind == "wait":
                watch()
                resume(value, -1 if flow["left"] else 0)
            elif kind == "end":  # the last body, and nothing runs after it: "done" too
                if not flow["left"]:
                    await send({"type": "http.response.body", "body": value[0], "more_body": False})
                break
            elif kind == "exception":
                if inner and not sent:  # before the response: the middleware sees it
                    raise value
                if error is None:  # the 500 is on its way, or a background task failed
                    error = value
            elif kind == "done":
                break
    finally:
        if watcher is not None:
            watcher.remove_done_callback(client_left)
            watcher.cancel()
        with flow_lock:
            flow["gone"] = True
            waiting = list(flow["waiting"])
        for waiter in waiting:  # a paused response ends
            resume(waiter, -1)
    if error is not None:
        # like Starlette's ServerErrorMiddleware: the server (or TestClient)
        # sees the exception after the 500 response was sent
        raise error


async def _root_redirect(app: Any, server: Any, scope: Dict[str, Any], route_path: str,
                         receive: Callable, send: Callable) -> bool:
    """redirect_slashes under a root_path (a mounted app, a proxy prefix): the
    engine sees the path without the prefix, Starlette's location keeps it."""
    if not app.router.redirect_slashes or route_path == "/":
        return False
    if route_path:
        status = server.route_for(scope["method"], route_path)[0]
        if status != 307:
            return False
    elif server.route_for(scope["method"], "/")[0] not in (200, 405):
        return False  # the root path itself: Starlette redirects when "/" matches
    from starlette.datastructures import URL
    from starlette.responses import RedirectResponse
    redirect_scope = dict(scope)
    if route_path.endswith("/"):
        redirect_scope["path"] = redirect_scope["path"].rstrip("/")
    else:
        redirect_scope["path"] = redirect_scope["path"] + "/"
    await RedirectResponse(url=str(URL(scope=redirect_scope)))(scope, receive, send)
    return True


class EngineApp:
    """The innermost ASGI app of a middleware stack: the engine app with the
    routes (what FastAPI's router and exception middleware are)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] == "http":
            app = self.app
            route = _asgi_route(app, scope) if app._fr_asgi_routes else None
            if route is not None:
                await _serve_route(app, route, scope, receive, send)
            else:
                await _http(app, scope, receive, send, inner=True)
        elif scope["type"] == "websocket":
            from ._ws import dispatch
            await dispatch(self.app, scope, receive, send)


async def route_call(app: Any, request: Any, route: Any) -> Any:
    """``APIRoute.get_route_handler()``'s handler, FastAPI's
    ``get_request_handler``: the route's own plan runs for ``request`` (its
    scope, and the body its ``body()`` gives: a custom Request class's) on
    an engine app of its own, whose errors -- HTTPException and
    RequestValidationError too -- are raised here instead of answered, for
    the custom route class's code around it and then the app's handlers.
    Returns the answer as a Response once its body is complete (what runs
    after it -- teardowns, background tasks -- goes on meanwhile)."""
    from .responses import Response
    server = app._fr_inner_server(route)
    loop = asyncio.get_running_loop()
    _runtime.bind_loop(loop)
    body = await request.body()
    scope = request.scope
    answer: "asyncio.Future[None]" = loop.create_future()
    start: Dict[str, Any] = {"status": 500, "headers": []}
    chunks: list = []

    def on_item(item: Tuple[str, Any]) -> None:  # on the loop
        kind, value = item
        if kind == "wait":  # nothing is held back here: go on
            value(0)
        elif answer.done():
            if kind == "exception":  # after the answer: a background task, a teardown
                _runtime.error_logger.error("Exception in route handler",
                                            exc_info=(type(value), value, value.__traceback__))
        elif kind == "exception":
            answer.set_exception(value)
        elif kind == "start":
            start["status"], start["headers"] = value
        elif kind in ("body", "end"):
            chunks.append(value[0])
            if kind == "end" or not value[1]:
                answer.set_result(None)
        elif kind == "done":
            answer.set_result(None)

    def post(item: Tuple[str, Any]) -> int:  # any thread, with the GIL
        try:
            loop.call_soon_threadsafe(on_item, item)
        except RuntimeError:  # the loop is gone
            return -1
        return 0

    client = scope.get("client")
    server.dispatch(scope["method"].encode("ascii"), _target(scope), scope.get("headers", []), body,
                    tuple(client) if client else None, scope.get("scheme", "http"), post,
                    {k: v for k, v in scope.items() if k != "body"})
    await answer
    response = Response(b"".join(chunks), status_code=start["status"])
    response.raw_headers = [(bytes(k), bytes(v)) for k, v in start["headers"]]
    return response


def native_bridge(app: Any) -> Callable:
    """For the native server: a request from the socket runs through the app's
    ASGI stack. The engine calls bridge(scope, start, body, wait) on the loop
    thread; start/body write the ASGI response messages to the engine request.
    body() never blocks: 1 means the client's queue is above its high-water
    mark and wait(fut) has fut resolved once it drained (-1: gone)."""

    async def bridge(scope: Dict[str, Any], start: Callable, body: Callable,
                     wait: Optional[Callable] = None) -> None:
        messages = BodyMessages(scope.pop("body", b""))
        route = scope.pop("route", None)
        if route is not None:  # the engine routed it to a mount: no need to ask again
            scope["fastrapi.route"] = route
            scope.pop("path_params", None)  # the mount's {path} is not the app's
        if app.root_path:  # as FastAPI.__call__
            scope["root_path"] = app.root_path
        scope["asgi"] = {"version": "3.0", "spec_version": "2.3"}
        scope["fastrapi.native"] = True
        scope.setdefault("state", dict(getattr(app, "_fr_lifespan_state", None) or {}))
        finished = asyncio.Event()

        async def receive() -> Dict[str, Any]:
            message = messages.next()  # the body (a spooled one in pieces)
            if message is not None:
                return message
            await finished.wait()  # like a server: disconnect once the response is done
            return {"type": "http.disconnect"}

        async def send(message: Dict[str, Any]) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                start(message["status"], list(message.get("headers", ())))
            elif kind == "http.response.body":
                more = bool(message.get("more_body", False))
                r = body(bytes(message.get("body", b"")), more)
                if r > 0 and wait is not None:  # above high water: until drained
                    fut = asyncio.get_running_loop().create_future()
                    if wait(fut):
                        r = await fut
                if r < 0:
                    raise OSError("the client disconnected")
                if not more:
                    finished.set()

        _runtime.bind_loop(asyncio.get_running_loop())
        try:
            await app._stack()(scope, receive, send)
        except Exception as exc:  # what a server does with it: log (the 500 went out)
            _runtime.error_logger.error("Exception in ASGI application",
                                        exc_info=(type(exc), exc, exc.__traceback__))
            # and a TestClient(raise_server_exceptions) raises it, as Starlette's
            # does for one raised after the response started (a mounted app's)
            sink = getattr(app, "_fr_exc_sink", None)
            if sink is not None and not any(e is exc for e in sink):
                sink.append(exc)

    return bridge


def server_error_middleware() -> Any:
    """Starlette's ServerErrorMiddleware that also hands an unhandled exception
    to a waiting TestClient(raise_server_exceptions=True) BEFORE the 500 goes
    out (on the native server the client would otherwise see the 500 first)."""
    from starlette.middleware.errors import ServerErrorMiddleware

    class _ServerErrorMiddleware(ServerErrorMiddleware):
        def _report(self, request: Any, exc: Exception) -> None:
            app = request.scope.get("app")
            sink = getattr(app, "_fr_exc_sink", None)
            if sink is not None and request.scope.get("fastrapi.native"):
                sink.append(exc)

        def error_response(self, request: Any, exc: Exception) -> Any:
            self._report(request, exc)
            return super().error_response(request, exc)

        def debug_response(self, request: Any, exc: Exception) -> Any:
            self._report(request, exc)
            return super().debug_response(request, exc)

    return _ServerErrorMiddleware
