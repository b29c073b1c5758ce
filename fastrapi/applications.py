"""``FastrAPI`` (and its alias ``FastAPI``): routes, handlers, lifespan and the
``serve()`` entry point that hands everything to the C engine."""
from __future__ import annotations

import functools
import inspect
import itertools
import logging
import os
import re
import signal
import sys
import threading
from enum import Enum
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Type, Union

from . import params
from .datastructures import Default, DefaultPlaceholder, State
from .exceptions import HTTPException, RequestValidationError, WebSocketRequestValidationError
from .responses import HTMLResponse, JSONResponse, Response
from .routing import APIRoute, APIRouter, Route, generate_unique_id

logger = logging.getLogger("fastrapi.error")

_SUPPORTED_CONVERTORS = {"int", "float", "path", "str", "uuid"}


def _route_limits(app: Any, r: Any) -> Tuple[int, Any, bool, bool, int, bool]:
    """(max_body, form_limits, body_unread, multipart_stream, body_spool,
    body_drop) for the engine: the route's max_body_size, else the app's (-1
    = none); its form_limits as the glue's tuple (or None); whether nothing
    in the route can read the body; whether its multipart bodies may stream
    to disk; past how many bytes a body waits in a temp file for its Request
    (0: never); whether a big body may be dropped as it arrives (nothing in
    the route reads it, and no @app.middleware function that could)."""
    from ._limits import (SPOOL_BYTES, body_spool, body_unread, engine_form_limits,
                          get_body_size_limit, multipart_stream)
    from ._native_mw import plan as native_plan
    limit = get_body_size_limit(getattr(r, "max_body_size", None),
                                getattr(app, "max_body_size", None))
    api = getattr(r, "_api_route", r)  # a plain Route: the APIRoute that serves it
    unread = body_unread(api)
    mw = native_plan(app)
    drop = unread and mw is not None and not any(name == "http" for name, _ in mw)
    return (-1 if limit is None else limit,
            engine_form_limits(getattr(r, "form_limits", None)), unread,
            multipart_stream(api), SPOOL_BYTES if body_spool(api) else 0, drop)


def _served(r: Any) -> Any:
    """The route the engine serves for ``r``: itself, or the handler of a
    custom route class (fastrapi.routing._HandlerRoute)."""
    return r._fr_served() if isinstance(r, APIRoute) else r


_allow_groups = itertools.count(1)


def _allow_group(r: Any) -> int:
    """The route's methods are one group for the engine's 405 allow
    (fr_route_opts.allow_group): Starlette names the first matching route's."""
    g = r.__dict__.get("_fr_allow_group")
    if g is None:
        g = r.__dict__["_fr_allow_group"] = next(_allow_groups) & 0x7FFFFFFF or 1
    return g


def _engine_path(path: str) -> str:
    def sub(m: "re.Match[str]") -> str:
        name, conv = m.group(1), m.group(2)
        if conv and conv[1:] in _SUPPORTED_CONVERTORS and conv[1:] != "str":
            return "{" + name + conv + "}"
        return "{" + name + "}"
    return re.sub(r"{([^}:]+)(:[^}]*)?}", sub, path)


_FRONTEND_FALLBACKS = {"auto": 0, "index.html": 1, "404.html": 2, None: 3}


def _native_static(app: Any, mount: Any) -> Optional[Tuple[str, str, bool, bool]]:
    """(prefix, directory, html, follow_symlink) when ``mount`` serves a plain
    Starlette ``StaticFiles`` the engine can serve exactly (src/static.c);
    None keeps the ASGI bridge: a subclass, ``packages=``, a bytes directory,
    a path with parameters, or an app whose exception handlers would see
    the mount's 401/404/405/500."""
    from starlette.staticfiles import StaticFiles
    st = mount.app
    if type(st) is not StaticFiles or st.packages or st.directory is None or "{" in mount.path:
        return None
    directory = os.fspath(st.directory)
    if not isinstance(directory, str) or len(st.all_directories) != 1:
        return None
    if _custom_error_handlers(app):
        return None
    return mount.path, directory, bool(st.html), bool(st.follow_symlink)


async def _frontend_files() -> Any:
    """A frontend's dependencies were solved: the engine's file answer next."""
    from ._runtime import FRONTEND_FILES
    return FRONTEND_FILES


def _frontend_guard(app: Any, path: str, deps: List[Any]) -> Optional[APIRoute]:
    """FastAPI's _FrontendRouteGroup dependant: the frontend's dependencies
    (none: no guard) before an endpoint that hands over to the files."""
    if not deps:
        return None
    return APIRoute(path, _frontend_files, methods=["GET"], dependencies=list(deps),
                    include_in_schema=False, dependency_overrides_provider=app)


def _custom_error_handlers(app: Any) -> bool:
    """An exception handler that would see a static 401/404/405/500."""
    from starlette.exceptions import HTTPException as SHTTPException
    for key in app.exception_handlers:
        if key in (401, 404, 405, 500) or (inspect.isclass(key) and (
                issubclass(SHTTPException, key) or issubclass(key, SHTTPException))):
            return True
    return False


def _static_types(srv: Any, done: List[Any]) -> None:
    """Python's mimetypes.types_map (with /etc/mime.types), once per server
    (``done``: a list local to one _build_server call)."""
    if done:
        return
    import mimetypes
    if not mimetypes.inited:
        mimetypes.init()
    srv.add_static_types(tuple((k, v) for k, v in mimetypes.types_map.items()
                               if isinstance(k, str) and isinstance(v, str)))
    done.append(srv)


_setup_done = False


def _setup_extension() -> Any:
    """Import the C extension and register the classes it needs (once)."""
    global _setup_done
    from . import _fastrapi
    if _setup_done:
        return _fastrapi
    import asyncio
    import copy
    import dataclasses
    import datetime
    import decimal
    import enum
    import json
    import uuid

    import pydantic
    from starlette import exceptions as s_exceptions
    from starlette.datastructures import FormData

    from .dependencies.param_models import ParamErrors
    from starlette import responses as s_responses

    from . import _foreign, _runtime, encoders, exceptions, requests, responses
    from .background import BackgroundTasks

    _fastrapi._setup({
        # Starlette's base classes: what the engine raises (404, 405, 400...) is
        # Starlette's HTTPException, as Starlette's router raises it, and any
        # HTTPException/Response of Starlette's family is recognised
        "HTTPException": s_exceptions.HTTPException,
        "RequestValidationError": exceptions.RequestValidationError,
        "ResponseValidationError": exceptions.ResponseValidationError,
        "Response": s_responses.Response,
        "StreamingResponse": s_responses.StreamingResponse,
        "FileResponse": s_responses.FileResponse,
        "ThreadpoolIterator": responses.ThreadpoolIterator,
        "rt_adopt_exc": _foreign.adopt_exception,
        "jsonable_encoder": encoders.jsonable_encoder,
        "decimal_encoder": encoders.decimal_encoder,
        "json_loads": json.loads,
        "JSONDecodeError": json.JSONDecodeError,
        "deepcopy": copy.deepcopy,
        "Request": requests._EngineRequest,
        "UUID_from_int": lambda i: uuid.UUID(int=i),
        "BackgroundTasks": BackgroundTasks,
        "BaseModel": pydantic.BaseModel,
        "Enum": enum.Enum,
        "UUID": uuid.UUID,
        "Decimal": decimal.Decimal,
        "date": datetime.date,
        "time": datetime.time,
        "dt": datetime.datetime,
        "ValidationError": pydantic.ValidationError,
        "asdict": dataclasses.asdict,
        "rt_resume": _runtime.resume,
        "rt_after": _runtime.after_response,
        "rt_call_handler": _runtime.call_handler,
        "rt_stream": _runtime.stream,
        "rt_log_exc": _runtime.log_exc,
        "rt_parse_multipart": _runtime.parse_multipart,
        "rt_upload_items": _runtime.upload_items,
        "rt_recompile": _runtime.recompile,
        "rt_log_access": _runtime.log_access,
        "rt_unwind_sync": _runtime.unwind_sync,
        "rt_unwind_function": _runtime.unwind_function,
        "rt_unwind_error": _runtime.unwind_error,
        "rt_format_exc": _runtime.format_exc,
        "rt_file_open": _runtime.file_open,
        "frontend_files": _runtime.FRONTEND_FILES,
        "rt_endpoint_ctx": _runtime.endpoint_ctx,
        "FormData": FormData,
        "ParamErrors": ParamErrors,
        "enter_task": asyncio.tasks._enter_task,
        "leave_task": asyncio.tasks._leave_task,
    })
    _setup_done = True
    return _fastrapi


class _Overrides(dict):
    """``app.dependency_overrides``: mutations tell the engine to recompile plans."""

    def __init__(self, app: "FastrAPI") -> None:
        super().__init__()
        self._app = app

    def _changed(self) -> None:
        self._app._overrides_changed()

    def __setitem__(self, k: Any, v: Any) -> None:
        super().__setitem__(k, v)
        self._changed()

    def __delitem__(self, k: Any) -> None:
        super().__delitem__(k)
        self._changed()

    def clear(self) -> None:
        super().clear()
        self._changed()

    def update(self, *a: Any, **kw: Any) -> None:
        super().update(*a, **kw)
        self._changed()

    def pop(self, *a: Any) -> Any:
        r = super().pop(*a)
        self._changed()
        return r

    def popitem(self) -> Any:
        r = super().popitem()
        self._changed()
        return r

    def setdefault(self, k: Any, v: Any = None) -> Any:
        r = super().setdefault(k, v)
        self._changed()
        return r


def _configure_logging() -> None:
    root = logging.getLogger("fastrapi")
    if root.handlers or logging.getLogger().handlers:
        if root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
        return

    class _Fmt(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            msg = super().format(record)
            return f"{record.levelname + ':':<10}{msg}"

    h = logging.StreamHandler(sys.stderr)
    h.setFormatter(_Fmt("%(message)s"))
    root.addHandler(h)
    root.setLevel(logging.INFO)
    root.propagate = False


class _Running:
    """A server started in a background thread (TestClient, tests)."""

    def __init__(self, app: "FastrAPI", server: Any, port: int, thread: threading.Thread) -> None:
        self.app, self.server, self.port, self.thread = app, server, port, thread

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(30)
        self.app._fr_forget(self.server)


from starlette.applications import Starlette  # noqa: E402


_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _request_timeout_ms(seconds: Optional[float]) -> int:
    """FastrAPI's request_timeout (seconds; None/0 = none) in whole ms (>= 1)."""
    if seconds is None or seconds == 0:
        return 0
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0 \
            or seconds > 2_000_000:
        raise ValueError(f"request_timeout must be a positive number of seconds, got {seconds!r}")
    return max(1, int(round(seconds * 1000)))


def _header_options(request_id: Any, powered_by: Any) -> Tuple[Optional[str], Optional[str]]:
    """request_id_header: a header name (True = "X-Request-ID"), None/False =
    off; powered_by_header: True = "X-Powered-By: FastrAPI", a str = that
    value, False/None = off. Refused here, at construction."""
    if request_id is True:
        request_id = "X-Request-ID"
    elif request_id is False:
        request_id = None
    if request_id is not None and (not isinstance(request_id, str) or not request_id
                                   or not set(request_id) <= _TOKEN):
        raise ValueError(f"request_id_header must be a header name, not {request_id!r}")
    if powered_by is True:
        powered_by = "FastrAPI"
    elif powered_by is False:
        powered_by = None
    if powered_by is not None:
        if not isinstance(powered_by, str) or any(c in powered_by for c in "\r\n\0"):
            raise ValueError(f"powered_by_header must be a bool or a header value, not {powered_by!r}")
        try:
            powered_by.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(f"powered_by_header must be latin-1 text: {powered_by!r}") from None
    return request_id, powered_by


class FastrAPI(Starlette):
    """FastAPI's application class on the engine. Like FastAPI's it is a
    ``starlette.applications.Starlette`` (plugins check that); Starlette's
    __init__ is not run: the attributes it sets are set here."""
    def __init__(
        self,
        *,
        debug: bool = False,
        routes: Optional[List[Any]] = None,
        title: str = "FastrAPI",
        summary: Optional[str] = None,
        description: str = "",
        version: str = "0.1.0",
        openapi_url: Optional[str] = "/openapi.json",
        openapi_tags: Optional[List[Dict[str, Any]]] = None,
        servers: Optional[List[Dict[str, Union[str, Any]]]] = None,
        dependencies: Optional[Sequence[params.Depends]] = None,
        default_response_class: Type[Response] = Default(JSONResponse),
        redirect_slashes: bool = True,
        docs_url: Optional[str] = "/docs",
        redoc_url: Optional[str] = "/redoc",
        swagger_ui_oauth2_redirect_url: Optional[str] = "/docs/oauth2-redirect",
        swagger_ui_init_oauth: Optional[Dict[str, Any]] = None,
        middleware: Optional[Sequence[Any]] = None,
        exception_handlers: Optional[Dict[Union[int, Type[Exception]], Callable]] = None,
        on_startup: Optional[Sequence[Callable[[], Any]]] = None,
        on_shutdown: Optional[Sequence[Callable[[], Any]]] = None,
        lifespan: Any = None,
        terms_of_service: Optional[str] = None,
        contact: Optional[Dict[str, Union[str, Any]]] = None,
        license_info: Optional[Dict[str, Union[str, Any]]] = None,
        openapi_prefix: str = "",
        root_path: str = "",
        root_path_in_servers: bool = True,
        responses: Optional[Dict[Union[int, str], Dict[str, Any]]] = None,
        callbacks: Optional[List[Any]] = None,
        webhooks: Optional[APIRouter] = None,
        deprecated: Optional[bool] = None,
        include_in_schema: bool = True,
        swagger_ui_parameters: Optional[Dict[str, Any]] = None,
        generate_unique_id_function: Callable[[APIRoute], str] = Default(generate_unique_id),
        separate_input_output_schemas: bool = True,
        openapi_external_docs: Optional[Dict[str, Any]] = None,
        swagger_js_url: Optional[str] = None,
        swagger_css_url: Optional[str] = None,
        swagger_favicon_url: Optional[str] = None,
        redoc_js_url: Optional[str] = None,
        redoc_favicon_url: Optional[str] = None,
        scalar_url: Optional[str] = None,
        scalar_js_url: Optional[str] = None,
        max_body_size: Optional[int] = None,
        form_limits: Optional[Dict[str, int]] = None,
        request_id_header: Union[str, bool, None] = None,
        powered_by_header: Union[str, bool] = False,
        request_timeout: Optional[float] = None,
        **extra: Any,
    ) -> None:
        self.debug = debug
        self.title = title
        self.summary = summary
        self.description = description
        self.version = version
        self.terms_of_service = terms_of_service
        self.contact = contact
        self.license_info = license_info
        self.openapi_url = openapi_url
        self.openapi_tags = openapi_tags
        self.root_path_in_servers = root_path_in_servers
        self.docs_url = docs_url
        self.redoc_url = redoc_url
        self.swagger_ui_oauth2_redirect_url = swagger_ui_oauth2_redirect_url
        self.swagger_ui_init_oauth = swagger_ui_init_oauth
        self.swagger_ui_parameters = swagger_ui_parameters
        self.servers = servers or []
        self.separate_input_output_schemas = separate_input_output_schemas
        self.openapi_external_docs = openapi_external_docs
        # fastrapi additions: docs asset URLs (None = the docs helpers' defaults,
        # so the pages stay byte-identical to FastAPI's) and an opt-in Scalar page
        self.swagger_js_url = swagger_js_url
        self.swagger_css_url = swagger_css_url
        self.swagger_favicon_url = swagger_favicon_url
        self.redoc_js_url = redoc_js_url
        self.redoc_favicon_url = redoc_favicon_url
        self.scalar_url = scalar_url
        self.scalar_js_url = scalar_js_url
        # FastrAPI's options, decided in the engine (fr_app_use_request_id /
        # fr_app_use_response_header, outermost): a request id propagated or
        # generated (uuid4 hex), echoed and logged; an X-Powered-By header
        self.request_id_header, self.powered_by_header = _header_options(
            request_id_header, powered_by_header)
        # FastrAPI's request_timeout (seconds): the native server answers 504
        # {"detail":"Gateway Timeout"} when a handler has not answered in time
        # (fr_config.request_timeout_ms); the handler runs on, its answer is dropped
        _request_timeout_ms(request_timeout)  # a bad value fails here, not at serve time
        self.request_timeout = request_timeout
        self._openapi_routes_version: Any = None
        self._openapi_lock = threading.RLock()
        self.extra = extra
        self.openapi_version = "3.1.0"
        self.openapi_schema: Optional[Dict[str, Any]] = None
        self.root_path = root_path or openapi_prefix
        self.webhooks = webhooks or APIRouter()
        self.state = State()
        self.dependency_overrides = _Overrides(self)
        self.router = APIRouter(
            routes=routes, redirect_slashes=redirect_slashes, dependency_overrides_provider=self,
            on_startup=on_startup, on_shutdown=on_shutdown, lifespan=lifespan,
            default_response_class=default_response_class, dependencies=dependencies,
            callbacks=callbacks, deprecated=deprecated, include_in_schema=include_in_schema,
            responses=responses, generate_unique_id_function=generate_unique_id_function,
            max_body_size=max_body_size, form_limits=form_limits)
        self.max_body_size = max_body_size  # FastAPI 0.165 (engine: per route, fastrapi._limits)
        self.exception_handlers: Dict[Any, Callable] = dict(exception_handlers or {})
        self.user_middleware = list(middleware or [])
        self.middleware_stack: Any = None
        self._servers: List[Any] = []
        self.setup()

    # ---- openapi / docs hook points (fastrapi.openapi is optional)
    def _routes_version(self) -> Any:
        # FastAPI compares a routes version counter; routes appended straight
        # to ``app.routes`` change the length
        return (self.router._routes_version, len(self.router.routes))

    def openapi(self) -> Dict[str, Any]:
        version = self._routes_version()
        if self.openapi_schema and self._openapi_routes_version == version:
            return self.openapi_schema
        # the docs routes are sync (worker threads): build the schema once
        # even when the first requests arrive together
        with self._openapi_lock:
            version = self._routes_version()
            if self.openapi_schema and self._openapi_routes_version == version:
                return self.openapi_schema
            from .openapi.utils import get_openapi
            self.openapi_schema = get_openapi(
                title=self.title, version=self.version, openapi_version=self.openapi_version,
                summary=self.summary, description=self.description,
                terms_of_service=self.terms_of_service, contact=self.contact,
                license_info=self.license_info, routes=self.routes, webhooks=self.webhooks.routes,
                tags=self.openapi_tags, servers=self.servers,
                separate_input_output_schemas=self.separate_input_output_schemas,
                external_docs=self.openapi_external_docs)
            self._openapi_routes_version = version
            return self.openapi_schema

    @staticmethod
    def _given(**kw: Any) -> Dict[str, Any]:
        return {k: v for k, v in kw.items() if v is not None}

    def setup(self) -> None:
        # plain routes like FastAPI's (``add_route``): no app dependencies, no
        # generate_unique_id_function, never in the schema
        if self.openapi_url:
            def openapi(req: Any) -> Any:
                root_path = (req.scope.get("root_path") or self.root_path or "").rstrip("/")
                schema = self.openapi()
                if root_path and self.root_path_in_servers:
                    server_urls = {s.get("url") for s in schema.get("servers", [])}
                    if root_path not in server_urls:
                        schema = dict(schema)
                        schema["servers"] = [{"url": root_path}] + schema.get("servers", [])
                # encoded per request, as FastAPI does: an app that edits the
                # cached schema in place (app.openapi()["info"][...] = ...) serves it
                return JSONResponse(schema)
            self.add_route(self.openapi_url, openapi, include_in_schema=False)
        if self.openapi_url and self.docs_url:
            def swagger_ui_html(req: Any) -> Any:
                from .openapi.docs import get_swagger_ui_html
                root_path = (req.scope.get("root_path") or self.root_path or "").rstrip("/")
                oauth2 = self.swagger_ui_oauth2_redirect_url
                return get_swagger_ui_html(
                    openapi_url=root_path + self.openapi_url,
                    title=f"{self.title} - Swagger UI",
                    oauth2_redirect_url=(root_path + oauth2) if oauth2 else None,
                    init_oauth=self.swagger_ui_init_oauth,
                    swagger_ui_parameters=self.swagger_ui_parameters,
                    **self._given(swagger_js_url=self.swagger_js_url,
                                  swagger_css_url=self.swagger_css_url,
                                  swagger_favicon_url=self.swagger_favicon_url))
            self.add_route(self.docs_url, swagger_ui_html, include_in_schema=False)
            if self.swagger_ui_oauth2_redirect_url:
                def swagger_ui_redirect(req: Any) -> Any:
                    from .openapi.docs import get_swagger_ui_oauth2_redirect_html
                    return get_swagger_ui_oauth2_redirect_html()
                self.add_route(self.swagger_ui_oauth2_redirect_url, swagger_ui_redirect,
                               include_in_schema=False)
        if self.openapi_url and self.redoc_url:
            def redoc_html(req: Any) -> Any:
                from .openapi.docs import get_redoc_html
                root_path = (req.scope.get("root_path") or self.root_path or "").rstrip("/")
                return get_redoc_html(
                    openapi_url=root_path + self.openapi_url, title=f"{self.title} - ReDoc",
                    **self._given(redoc_js_url=self.redoc_js_url,
                                  redoc_favicon_url=self.redoc_favicon_url))
            self.add_route(self.redoc_url, redoc_html, include_in_schema=False)
        if self.openapi_url and self.scalar_url:
            def scalar_html(req: Any) -> Any:
                from .openapi.docs import get_scalar_html
                root_path = (req.scope.get("root_path") or self.root_path or "").rstrip("/")
                return get_scalar_html(
                    openapi_url=root_path + self.openapi_url, title=f"{self.title} - Scalar",
                    **self._given(scalar_js_url=self.scalar_js_url))
            self.add_route(self.scalar_url, scalar_html, include_in_schema=False)

    # ---- routes
    @property
    def routes(self) -> List[Any]:
        return self.router.routes

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> APIRoute:
        return self.router.add_api_route(path, endpoint, **kwargs)

    def add_route(self, path: str, route: Callable[..., Any],
                  methods: Optional[List[str]] = None, name: Optional[str] = None,
                  include_in_schema: bool = True) -> Route:
        """Starlette's ``add_route``: ``route(request)`` returns a Response."""
        return self.router.add_route(path, route, methods=methods, name=name,
                                     include_in_schema=include_in_schema)

    def route(self, path: str, methods: Optional[List[str]] = None, name: Optional[str] = None,
              include_in_schema: bool = True) -> Callable:
        return self.router.route(path, methods=methods, name=name,
                                 include_in_schema=include_in_schema)

    def api_route(self, path: str, **kwargs: Any) -> Callable:
        return self.router.api_route(path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Callable:
        return self.router.get(path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Callable:
        return self.router.put(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable:
        return self.router.post(path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Callable:
        return self.router.delete(path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> Callable:
        return self.router.options(path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> Callable:
        return self.router.head(path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Callable:
        return self.router.patch(path, **kwargs)

    def trace(self, path: str, **kwargs: Any) -> Callable:
        return self.router.trace(path, **kwargs)

    def include_router(self, router: APIRouter, **kwargs: Any) -> None:
        self.router.include_router(router, **kwargs)

    # ---- websockets (fastrapi._ws)
    def add_api_websocket_route(self, path: str, endpoint: Callable[..., Any],
                                name: Optional[str] = None, *,
                                dependencies: Optional[Sequence[params.Depends]] = None) -> None:
        self.router.add_api_websocket_route(path, endpoint, name=name, dependencies=dependencies)

    def websocket(self, path: str, name: Optional[str] = None, *,
                  dependencies: Optional[Sequence[params.Depends]] = None) -> Callable:
        return self.router.websocket(path, name=name, dependencies=dependencies)

    def websocket_route(self, path: str, name: Optional[str] = None) -> Callable:
        return self.router.websocket_route(path, name=name)

    # ---- native routes: C handlers loaded at run time (fastrapi.native, src/native.h)
    def add_native_route(self, method: Union[str, Sequence[str]], path: str, library: Any,
                         symbol: str, *, user_data: Any = None, **kwargs: Any) -> Any:
        """Serve ``method path`` with the C function ``symbol`` of a native
        module (a path, or a ``fastrapi.native.load`` result), beside the
        Python routes: same router, middleware and access log. ``user_data``
        (bytes/str copied into the route and NUL-terminated, an int address
        or a ctypes object) is the handler's ``ud``. Route options (name,
        summary, description, tags, responses, response_model, status_code,
        openapi_extra, include_in_schema, ...) make its OpenAPI operation;
        ``endpoint=`` a Python function to document it from. Raises
        fastrapi.native.NativeModuleError for a module the engine refuses."""
        from .native import add_native_route
        return add_native_route(self, method, path, library, symbol, user_data=user_data,
                                **kwargs)

    def native_route(self, method: Union[str, Sequence[str]], path: str, library: Any,
                     **kwargs: Any) -> Callable:
        """Decorator form of add_native_route: the decorated Python function
        (never called) names the C symbol (unless ``symbol=``) and documents
        the route by its signature, return annotation and docstring."""
        from .native import native_route
        return native_route(self, method, path, library, **kwargs)

    def native_callback(self, name: str, fn: Optional[Callable] = None) -> Any:
        """Register ``fn`` (a def function; also as ``@app.native_callback(name)``)
        for C handlers' ``fr_py_call(req, name, json_args, &out)``: called
        with the decoded JSON argument, its result encoded as JSON."""
        from .native import native_callback
        return native_callback(self, name, fn)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        return self.router.url_path_for(name, **path_params)

    # ---- events and handlers
    def on_event(self, event_type: str) -> Callable:
        return self.router.on_event(event_type)

    def add_event_handler(self, event_type: str, func: Callable) -> None:
        self.router.add_event_handler(event_type, func)

    def mount(self, path: str, app: Any, name: Optional[str] = None) -> None:
        """Starlette's ``mount``: any ASGI app under ``path`` (a FastAPI app,
        StaticFiles, a WSGI app through its adapter). The engine routes the
        prefix; only requests under it run the mounted app (fastrapi._asgi)."""
        self.router.mount(path, app=app, name=name)

    def frontend(self, path: str, *, directory: Union[str, "os.PathLike[str]"],
                 fallback: Optional[str] = "auto", check_dir: Union[bool, str] = "auto") -> None:
        """FastAPI's ``app.frontend``: a static frontend build (``dist``) as
        low-priority routes -- path operations first, then files under
        ``path``, directory ``index.html`` files, and for a missing file the
        fallback ("auto": 404.html if present, else index.html for browser
        navigations; "index.html"; "404.html"; None). Served by the engine
        (src/static.c)."""
        self.router.frontend(path, directory=directory, fallback=fallback, check_dir=check_dir)

    def host(self, host: str, app: Any, name: Optional[str] = None) -> None:
        """Starlette's ``host``. On the native server an app with Host routes
        runs every request through its ASGI stack (the Host header decides)."""
        self.router.host(host, app=app, name=name)

    @property
    def _fr_asgi_routes(self) -> List[Any]:
        """The Mount and Host routes (served through ASGI), per routes version."""
        version = self._routes_version()
        cur = self.__dict__.get("_fr_asgi_cache")
        if cur is None or cur[0] != version:
            from starlette.routing import Host, Mount
            found = [r for r in self.routes if isinstance(r, (Mount, Host))]
            cur = self._fr_asgi_cache = (version, found)
        return cur[1]

    def add_exception_handler(self, exc_class_or_status_code: Union[int, Type[Exception]],
                              handler: Callable) -> None:
        self.exception_handlers[exc_class_or_status_code] = handler

    def exception_handler(self, exc_class_or_status_code: Union[int, Type[Exception]]) -> Callable:
        def decorator(func: Callable) -> Callable:
            self.add_exception_handler(exc_class_or_status_code, func)
            return func
        return decorator

    def middleware(self, middleware_type: str) -> Callable:
        """``@app.middleware("http")``: Starlette's BaseHTTPMiddleware with
        ``dispatch=func`` (``call_next`` semantics exactly as FastAPI's). The
        native server runs it as an around layer of the engine's C middleware
        chain (fastrapi._native_mw); the ASGI face runs Starlette's class."""
        assert middleware_type == "http", 'Currently only middleware("http") is supported.'

        def decorator(func: Callable) -> Callable:
            from starlette.middleware.base import BaseHTTPMiddleware
            self.add_middleware(BaseHTTPMiddleware, dispatch=func)
            return func
        return decorator

    def add_middleware(self, middleware_class: Any, *args: Any, **kwargs: Any) -> None:
        """Starlette's ``add_middleware``: the last added is the outermost. Any
        ASGI middleware class works: requests of an app with middleware run
        through its ASGI stack (fastrapi._asgi), on the native server too."""
        from starlette.middleware import Middleware
        if getattr(self, "_fr_started", False):
            raise RuntimeError("Cannot add middleware after an application has started")
        self.user_middleware.insert(0, Middleware(middleware_class, *args, **kwargs))
        self.middleware_stack = None

    def build_middleware_stack(self) -> Any:
        """FastAPI's stack: ServerErrorMiddleware outermost, the user's
        middleware, then the engine (routing, dependencies, exception
        handlers) as the innermost ASGI app."""
        from starlette.middleware import Middleware
        from ._asgi import EngineApp, server_error_middleware
        ServerErrorMiddleware = server_error_middleware()
        error_handler = None
        for key, value in self.exception_handlers.items():
            if key in (500, Exception):
                error_handler = value
        middleware = ([Middleware(ServerErrorMiddleware, handler=error_handler, debug=self.debug)]
                      + list(self.user_middleware))
        app: Any = EngineApp(self)
        for m in reversed(middleware):
            cls, args, kwargs = m
            app = cls(app, *args, **kwargs)
        return app

    def _stack(self) -> Any:
        if self.middleware_stack is None:
            self.middleware_stack = self.build_middleware_stack()
        return self.middleware_stack

    def _handler_dict(self) -> Dict[Any, Any]:
        # defaults (None = the engine's C implementation) unless replaced; keyed
        # like FastAPI's: a handler for Starlette's HTTPException also answers
        # fastrapi's (a subclass), and the engine's own 404/405
        # Starlette's build_middleware_stack: the last of 500 / Exception is
        # ServerErrorMiddleware's handler (unhandled exceptions only, keyed
        # Exception here); neither is an ExceptionMiddleware key, so an
        # HTTPException(500) gets the HTTPException handler
        from starlette.exceptions import HTTPException as SHTTPException
        d: Dict[Any, Any] = {SHTTPException: None, RequestValidationError: None}
        error_handler = None
        for k, v in self.exception_handlers.items():
            if k in (500, Exception):
                error_handler = v
            elif isinstance(k, int) or inspect.isclass(k):
                d[k] = v
        if error_handler is not None:
            d[Exception] = error_handler
        return d

    def _overrides_changed(self) -> None:
        for s in list(getattr(self, "_servers", ())):
            s.bump()

    @property
    def dependency_overrides(self) -> Dict[Callable, Callable]:
        return self._dependency_overrides

    @dependency_overrides.setter
    def dependency_overrides(self, value: Any) -> None:
        # `app.dependency_overrides = {}` (FastAPI's testing docs) must reach the engine:
        # keep the change-tracking mapping type and recompile plans
        if isinstance(value, _Overrides) and value._app is self:
            new = value
        else:
            new = _Overrides(self)
            dict.update(new, value or {})
        self._dependency_overrides = new
        self._overrides_changed()

    # ---- lifespan
    async def _startup(self) -> None:
        router = self.router
        router._fr_handlers_ran = False
        self._fr_lifespan_state = None
        lifespan = router.lifespan_context  # FastAPI's default one runs the handlers
        if lifespan is not None:
            self._lifespan_cm = lifespan(self)
            if not hasattr(self._lifespan_cm, "__aenter__"):  # `async with`'s own error
                raise TypeError(f"'{type(self._lifespan_cm).__name__}' object does not support "
                                "the asynchronous context manager protocol")
            state = await self._lifespan_cm.__aenter__()
            if state:
                # Starlette: each request's `request.state` starts as a copy
                # (app.state is not touched)
                self._fr_lifespan_state = dict(state)
        # with a lifespan of the user's, fastrapi still runs on_startup/on_shutdown
        # handlers (FastAPI ignores them then)
        self._fr_own_handlers = not router._fr_handlers_ran
        if self._fr_own_handlers:
            await router._startup()
        from . import _extras  # cache_resp: each such route computed once, now
        await _extras.warm(self)

    async def _shutdown(self) -> None:
        if getattr(self, "_fr_own_handlers", True):
            await self.router._shutdown()
        self._fr_lifespan_state = None  # a later client without a lifespan has no state
        cm = getattr(self, "_lifespan_cm", None)
        if cm is not None:
            self._lifespan_cm = None
            await cm.__aexit__(None, None, None)

    def _run_startup(self) -> None:
        from . import _runtime
        _setup_extension()
        _runtime.run_coro(self._startup())

    def _run_shutdown(self) -> None:
        from . import _runtime
        _runtime.run_coro(self._shutdown())

    # ---- serving
    def _build_server(self, *, access_log: bool = True, no_signals: bool = False,
                      reuse_port: bool = False, threads: int = 0, max_body: int = 0,
                      own_loop: bool = True, net: Optional[Dict[str, Any]] = None) -> Any:
        ext = _setup_extension()
        from . import _runtime
        if own_loop:  # the native server's loop thread (the ASGI face uses the server's loop)
            _runtime.get_loop()
        net = dict(net or {})
        # serve(request_timeout=) wins over the constructor's
        net.setdefault("request_timeout_ms", _request_timeout_ms(self.request_timeout))
        srv = ext.Server(self, threads=threads, access_log=int(access_log),
                         no_signals=int(no_signals), reuse_port=int(reuse_port),
                         debug=int(self.debug), max_body=max_body,
                         redirect_slashes=bool(self.router.redirect_slashes), **net)
        from starlette.routing import Host, Mount, Route as StarletteRoute
        asgi_routes = self._fr_asgi_routes
        seen: set = set()
        if own_loop:  # websocket routes: the engine's ws, whatever serves HTTP (fastrapi._ws)
            from ._ws import WS_MAX_SIZE, register_native
            register_native(self, srv, seen, _engine_path,
                            getattr(self, "_fr_ws_max_size", None) or WS_MAX_SIZE)
        from ._native_mw import asgi_plan, plan as native_plan
        # None: middleware that only Starlette's stack runs (the ASGI face: also
        # @app.middleware, an around layer of the native server's chain)
        native = native_plan(self) if own_loop else asgi_plan(self)
        if own_loop and (native is None or any(isinstance(r, Host) for r in asgi_routes)):
            # every request runs through the app's ASGI stack; its innermost
            # app dispatches to the engine app that has the routes
            from ._asgi import native_bridge
            from ._limits import SPOOL_BYTES
            self._fr_started = True
            srv.set_bridge(native_bridge(self), True, SPOOL_BYTES)  # a big body: from a temp file
            self._servers.append(srv)
            return srv
        if own_loop and asgi_routes:  # only requests under a mount take the bridge
            from ._asgi import native_bridge
            self._fr_started = True
            srv.set_bridge(native_bridge(self), False)
        typed: List[Any] = []  # mimetypes handed to the engine (static files)
        mounted: List[str] = []  # prefixes of the mounts so far: Starlette's router,
        # matching in order, never reaches a later route under one of them
        for r in self.routes:
            if isinstance(r, Mount):
                if "{" not in r.path:
                    mounted.append(r.path + "/")
                key = ("*", _engine_path(r.path + "/{path:path}"))
                if key not in seen:  # Starlette: the first of two equal mounts wins
                    seen.add(key)
                    static = _native_static(self, r)
                    if static is not None:  # StaticFiles served by the engine (src/static.c)
                        _static_types(srv, typed)
                        srv.add_static(*static)
                    else:
                        from ._limits import SPOOL_BYTES
                        srv.add_mount(key[1], r, SPOOL_BYTES)  # a big body: from a temp file
                continue
            if hasattr(r, "_fr_native_register"):  # a C handler (fastrapi.native.NativeRoute)
                r._fr_native_register(srv, seen, _engine_path)
                continue
            if isinstance(r, StarletteRoute) and not isinstance(r, (APIRoute, Route)):
                r = Route._fr_for(r) or r  # Starlette's own Route object among the routes
            if not isinstance(r, (APIRoute, Route)):
                continue
            if any(r.path.startswith(m) for m in mounted):  # shadowed by an earlier mount
                continue
            served = _served(r)
            plan = served._fr_plan()
            for m in sorted(r.methods):
                key = (m, _engine_path(r.path))
                if key in seen:  # Starlette: the first registered route wins
                    continue
                seen.add(key)
                srv.add_route(m, key[1], plan, served, *_route_limits(self, served), _allow_group(r))
        if getattr(self, "max_body_size", None) is not None:  # FastAPI's app-level limit
            srv.set_unmatched_limit(self.max_body_size)
        for f_path, f_dir, f_fallback, f_deps in self.router._fr_all_frontends():
            _static_types(srv, typed)  # app.frontend: low-priority engine routes
            guard = _frontend_guard(self, f_path, f_deps)  # its dependencies run first
            srv.add_frontend(f_path, f_dir, _FRONTEND_FALLBACKS[f_fallback],
                             _custom_error_handlers(self),
                             *((guard._fr_plan(), guard) if guard else ()))
        srv.set_handlers(self._handler_dict())
        from . import _extras  # the seed's extras: metrics outermost, route policies innermost
        _extras.use_metrics(self, srv)
        rid, pby = getattr(self, "request_id_header", None), getattr(self, "powered_by_header", None)
        if rid:  # outermost, before any user middleware (their 500s carry the id too)
            srv.use_request_id(rid.encode("latin-1"), True)
        if pby:
            srv.use_response_header(b"x-powered-by", pby.encode("latin-1"))
        if native:  # Starlette's built-in middleware classes, run by the engine in C
            from ._native_mw import apply as native_apply
            self._fr_started = True
            native_apply(srv, native)
        _extras.use_policies(self, srv, _engine_path)  # cache_resp / rate_limit routes
        self._servers.append(srv)
        if own_loop:  # routes added while this server runs are served too
            seen.update(("*", id(r)) for r in self.routes
                        if isinstance(r, (Mount, Host)) or hasattr(r, "_fr_native_register"))
            hooks = self.router.__dict__.setdefault("_fr_on_routes_changed", [])
            hooks.append(functools.partial(self._fr_live_routes, srv, seen, hooks))
        return srv

    def _fr_forget(self, srv: Any) -> None:
        """A server that stopped (or was replaced): no longer bumped nor told
        of route changes, so nothing keeps it (and its engine app, its
        sockets and wake-up fds) alive."""
        try:
            self._servers.remove(srv)
        except ValueError:
            pass
        hooks = self.router.__dict__.get("_fr_on_routes_changed")
        if hooks:
            hooks[:] = [h for h in hooks if getattr(h, "args", (None,))[0] is not srv]

    def _fr_live_routes(self, srv: Any, seen: set, hooks: List[Any]) -> None:
        """The routes changed while ``srv`` (a native server) exists: register
        the path operations and Starlette routes it does not have yet (the
        engine swaps in a new routing table: fr_route while serving). A
        mount, Host, websocket or C route added while serving is served from
        the next start (logged once)."""
        if srv not in self._servers:  # stopped: forget it
            hooks[:] = [h for h in hooks if getattr(h, "args", (None,))[0] is not srv]
            return
        from starlette.routing import Host, Mount
        for r in list(self.routes):
            if isinstance(r, (APIRoute, Route)) and not hasattr(r, "_fr_native_register"):
                keys = [(m, _engine_path(r.path)) for m in sorted(r.methods)]
                new = [k for k in keys if k not in seen]
                if not new:
                    continue
                served = _served(r)
                for key in new:
                    seen.add(key)
                    try:
                        srv.add_route(key[0], key[1], served._fr_plan(), served,
                                      *_route_limits(self, served), _allow_group(r))
                    except Exception:  # noqa: BLE001 - the app keeps running; say why
                        logging.getLogger("fastrapi.error").exception(
                            "%s %s was added while the server runs but cannot be served",
                            key[0], r.path)
            elif isinstance(r, (Mount, Host)) or hasattr(r, "_fr_native_register"):
                key = ("*", id(r))
                if key not in seen and not self.__dict__.get("_fr_live_warned"):
                    seen.add(key)
                    self._fr_live_warned = True
                    logging.getLogger("fastrapi.error").warning(
                        "%r was added while the server runs: it is served from the next start",
                        r)

    def _start_background(self, host: str = "127.0.0.1", port: int = 0,
                          access_log: bool = False, threads: int = 1) -> _Running:
        srv = self._build_server(access_log=access_log, no_signals=True, threads=threads)
        try:
            bound = srv.listen(host, port)
        except BaseException:
            self._fr_forget(srv)
            raise
        t = threading.Thread(target=srv.serve, name="fastrapi-server", daemon=True)
        t.start()
        return _Running(self, srv, bound, t)

    def serve(self, host: str = "127.0.0.1", port: int = 8000, workers: int = 1, *,
              access_log: bool = True, threads: int = 0, log_level: str = "info",
              max_body: int = 0, reload: bool = False, root_path: str = "",
              proxy_headers: bool = True,
              forwarded_allow_ips: Optional[Union[str, List[str]]] = None,
              ssl_certfile: Optional[str] = None, ssl_keyfile: Optional[str] = None,
              ssl_keyfile_password: Optional[str] = None, ssl_ca_certs: Optional[str] = None,
              ssl_cert_reqs: int = 0, ssl_ciphers: Optional[str] = None,
              ssl_version: int = 17,
              ws_max_size: int = 16 * 1024 * 1024,
              timeout_keep_alive: Optional[float] = None, timeout_header: Optional[float] = None,
              timeout_body: Optional[float] = None,
              timeout_graceful_shutdown: Optional[float] = None,
              limit_concurrency: Optional[int] = None,
              request_timeout: Optional[float] = None) -> None:
        """Serve until Ctrl-C/SIGTERM (or ``stop()`` from another thread).

        workers: processes forked on one SO_REUSEPORT port. threads: engine I/O
        threads (0 = CPU count). access_log: one line per request on logger
        "fastrapi.access". max_body: request body limit in bytes (0 = none, as FastAPI).
        reload: serve from a child process restarted when a .py file under the
        current directory changes (the app must be a module-level variable of an
        importable file; see fastrapi._reload). Behind a proxy, as uvicorn:
        root_path: the prefix the proxy strips (ASGI root_path); proxy_headers:
        trust X-Forwarded-For/Proto from forwarded_allow_ips (default: env
        FORWARDED_ALLOW_IPS, else "127.0.0.1"; "*" = any peer). workers > 1: a
        supervising master (fastrapi._workers: restarts dead workers, SIGTERM
        drains all, SIGHUP replaces them one by one). ws_max_size: the largest
        WebSocket message (uvicorn's --ws-max-size; bigger: close 1009).
        ssl_certfile/ssl_keyfile: serve HTTPS (PEM files, as uvicorn; the key
        may sit in the certificate file); SIGHUP re-reads them (one process;
        with workers SIGHUP replaces the workers, which read them anew).
        ssl_keyfile_password: an encrypted key's passphrase; ssl_ca_certs +
        ssl_cert_reqs (ssl.CERT_NONE/OPTIONAL/REQUIRED: 0, 1, 2): client
        certificates verified against that CA bundle; ssl_ciphers: OpenSSL's
        cipher list for TLS 1.2 (None: OpenSSL's default; uvicorn's default
        "TLSv1" would keep TLS 1.2 to CBC suites); ssl_version: uvicorn's
        (Python's ssl.PROTOCOL_*: 17 TLS_SERVER and 2 TLS take TLS 1.2 and
        1.3, 5 TLSv1_2 TLS 1.2 only, 3 and 4 TLS 1.0 / 1.1 only).
        Timeouts in seconds and limits, as uvicorn's options (None = the
        engine's default): timeout_keep_alive: an idle keep-alive connection
        is closed (5); timeout_header: a request head must arrive within it
        (10; else 408); timeout_body: the body, and each write of the
        response, may stall this long (30; else 408 / close);
        timeout_graceful_shutdown: a stop waits this long for in-flight
        requests (10); limit_concurrency: most open connections per process
        (10000; above it a new connection gets 503, as uvicorn);
        request_timeout: overrides FastAPI(request_timeout=) (504 for a handler
        that has not answered in time)."""
        from ._runtime import server_limits
        limits = server_limits(timeout_keep_alive=timeout_keep_alive,
                               timeout_header=timeout_header, timeout_body=timeout_body,
                               timeout_graceful_shutdown=timeout_graceful_shutdown,
                               limit_concurrency=limit_concurrency)
        ssl = _ssl_settings(ssl_certfile, ssl_keyfile, ssl_keyfile_password, ssl_ca_certs,
                            ssl_cert_reqs, ssl_ciphers, ssl_version)
        self._fr_ws_max_size = ws_max_size
        _configure_logging()
        logging.getLogger("fastrapi").setLevel(log_level.upper())
        if reload:
            from ._reload import serve_reload
            return serve_reload(self, sys._getframe(1), host, port, workers, dict(
                access_log=access_log, threads=threads, log_level=log_level, max_body=max_body,
                root_path=root_path, proxy_headers=proxy_headers,
                forwarded_allow_ips=forwarded_allow_ips, ssl_certfile=ssl_certfile,
                ssl_keyfile=ssl_keyfile, ssl_keyfile_password=ssl_keyfile_password,
                ssl_ca_certs=ssl_ca_certs, ssl_cert_reqs=ssl_cert_reqs, ssl_ciphers=ssl_ciphers,
                ssl_version=ssl_version, timeout_keep_alive=timeout_keep_alive,
                timeout_header=timeout_header, timeout_body=timeout_body,
                timeout_graceful_shutdown=timeout_graceful_shutdown,
                limit_concurrency=limit_concurrency, request_timeout=request_timeout))
        acc = logging.getLogger("fastrapi.access")
        if acc.disabled or not acc.isEnabledFor(logging.INFO):
            access_log = False  # nothing would be printed: skip the C-side hook
        if forwarded_allow_ips is None:
            forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
        elif not isinstance(forwarded_allow_ips, str):
            forwarded_allow_ips = ",".join(forwarded_allow_ips)
        net = {"forwarded_allow_ips": forwarded_allow_ips if proxy_headers else None,
               "root_path": root_path or None, **limits}
        if request_timeout is not None:
            net["request_timeout_ms"] = _request_timeout_ms(request_timeout)
        if workers > 1:
            # one engine I/O thread per worker process unless asked otherwise:
            # the processes already spread over the cores
            from ._workers import serve_workers
            return serve_workers(self, host, port, workers, dict(
                access_log=access_log, threads=threads or 1, max_body=max_body, net=net, ssl=ssl))
        self._serve_one(host, port, access_log=access_log, threads=threads, max_body=max_body,
                        net=net, ssl=ssl)

    run = serve

    # ---- the ASGI face (fastrapi._asgi): the same engine app, fed from ASGI
    async def __call__(self, scope: Dict[str, Any], receive: Callable, send: Callable) -> None:
        from ._asgi import asgi_app
        await asgi_app(self, scope, receive, send)

    def _asgi_server(self) -> Any:
        """The engine app ASGI requests are dispatched to; rebuilt when routes
        change (so routes added at any time are served)."""
        version = self._routes_version()
        cur = self.__dict__.get("_asgi_srv")
        if cur is not None and cur[0] == version:
            return cur[1]
        with self._openapi_lock:
            cur = self.__dict__.get("_asgi_srv")
            if cur is not None and cur[0] == version:
                return cur[1]
            srv = self._build_server(access_log=False, no_signals=True, threads=1,
                                     own_loop=False)
            if cur is not None:
                self._fr_forget(cur[1])
            self._asgi_srv = (version, srv)
            return srv

    def _fr_inner_server(self, route: Any) -> Any:
        """The engine app that runs ``route``'s own plan for its
        ``get_route_handler()`` handler (fastrapi._asgi.route_call): the route
        alone, every error raised to the caller instead of answered."""
        cur = route.__dict__.get("_fr_inner")
        if cur is not None and cur[0] is self:
            return cur[1]
        with self._openapi_lock:
            cur = route.__dict__.get("_fr_inner")
            if cur is not None and cur[0] is self:
                return cur[1]
            srv = _setup_extension().Server(self, threads=1, access_log=0, no_signals=1,
                                            debug=int(self.debug), redirect_slashes=False,
                                            raise_errors=True)
            plan = route._fr_plan()
            for m in sorted(route.methods):
                srv.add_route(m, _engine_path(route.path), plan, route, *_route_limits(self, route),
                              _allow_group(route))
            self._servers.append(srv)  # dependency_overrides reach it (bump)
            route.__dict__["_fr_inner"] = (self, srv)
            return srv

    def stop(self) -> None:
        for s in list(self._servers):
            s.stop()

    def _serve_one(self, host: str, port: int, *, access_log: bool, threads: int,
                   reuse_port: bool = False, announce: bool = True, max_body: int = 0,
                   net: Optional[Dict[str, Any]] = None, sock: Any = None,
                   on_ready: Optional[Callable[[], None]] = None,
                   ssl: Optional[Tuple[Any, ...]] = None) -> None:
        """Serve in this process; `sock`: an inherited listening socket (workers);
        `ssl`: the listener's TLS settings (_ssl_settings) for HTTPS."""
        main = threading.current_thread() is threading.main_thread()
        try:
            self._run_startup()
        except Exception:  # uvicorn: the traceback, then exit code 3 (STARTUP_FAILURE)
            logger.exception("Exception in 'lifespan' protocol")
            logger.error("Application startup failed. Exiting.")
            sys.exit(3)
        srv = self._build_server(access_log=access_log, no_signals=not main,
                                 reuse_port=reuse_port, threads=threads, max_body=max_body,
                                 net=net)
        try:
            tls = ssl or ()
            bound = srv.listen_fd(sock.fileno(), *tls) if sock is not None else srv.listen(host, port, *tls)
            if announce:
                logger.info("fastrapi running on %s://%s:%d (Press CTRL+C to quit)",
                            "https" if ssl else "http", host, bound)
            if on_ready is not None:
                on_ready()
            saved = None
            if main:
                saved = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
            try:
                srv.serve(bool(ssl) and main and sock is None)  # SIGHUP: reload the certificate
            finally:
                if saved is not None:
                    signal.signal(signal.SIGINT, saved[0])
                    signal.signal(signal.SIGTERM, saved[1])
        finally:
            self._fr_forget(srv)
            if announce:
                logger.info("Shutting down")
            self._run_shutdown()


# uvicorn's --ssl-version (Python's ssl.PROTOCOL_*) -> fr_tls_opts' lowest and
# highest TLS versions (0: the engine's default, TLS 1.2 to 1.3)
_SSL_VERSIONS = {17: (0, 0), 2: (0, 0), 5: (0x0303, 0x0303), 4: (0x0302, 0x0302), 3: (0x0301, 0x0301)}


def _ssl_settings(certfile: Any, keyfile: Any, password: Optional[str] = None, ca_certs: Any = None,
                  cert_reqs: int = 0, ciphers: Optional[str] = None,
                  version: int = 17) -> Optional[Tuple[Any, ...]]:
    """serve()'s ssl_* options as the engine's listener settings (fr_tls_opts:
    cert, key, key password, CA bundle, cert_reqs, ciphers, lowest and highest
    TLS version)."""
    if keyfile and not certfile:
        raise ValueError("ssl_keyfile needs ssl_certfile")
    if int(version) == 16:  # uvicorn fails to start on it too
        raise ValueError("ssl_version 16 is ssl.PROTOCOL_TLS_CLIENT, a client's protocol "
                         "(a server takes 17, ssl.PROTOCOL_TLS_SERVER)")
    if int(version) not in _SSL_VERSIONS:
        raise ValueError(f"invalid or unsupported protocol version {version!r}")  # ssl.SSLContext's
    if not certfile:
        if password or ca_certs or cert_reqs or ciphers or int(version) != 17:
            raise ValueError("the ssl_* options need ssl_certfile")
        return None
    reqs = int(cert_reqs)
    if reqs not in (0, 1, 2):
        raise ValueError(f"ssl_cert_reqs must be ssl.CERT_NONE, CERT_OPTIONAL or CERT_REQUIRED "
                         f"(0, 1, 2), not {cert_reqs!r}")
    if reqs and not ca_certs:
        raise ValueError("ssl_cert_reqs (client certificates) needs ssl_ca_certs")
    return (os.fspath(certfile), os.fspath(keyfile or certfile), password,
            os.fspath(ca_certs) if ca_certs else None, reqs, ciphers) + _SSL_VERSIONS[int(version)]


class FastAPI(FastrAPI):
    """Drop-in name: same as FastrAPI but with FastAPI's default title."""

    def __init__(self, *, title: str = "FastAPI", **kwargs: Any) -> None:
        super().__init__(title=title, **kwargs)
