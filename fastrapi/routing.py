"""Routes and routers (FastAPI's ``APIRoute``/``APIRouter`` surface). Routes
are analysed when declared; ``APIRoute._fr_plan()`` produces the plan that
the C glue executes."""
from __future__ import annotations

import contextlib
import functools
import inspect
import os
import re
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from enum import Enum
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple, Type, Union

from starlette import routing
from starlette.routing import BaseRoute as BaseRoute  # noqa: F401
from starlette.routing import Match as Match  # noqa: F401
from starlette.routing import Mount as Mount  # noqa: F401
from starlette.routing import NoMatchFound as NoMatchFound  # noqa: F401
from starlette.routing import compile_path as compile_path  # noqa: F401
from starlette.routing import get_name as get_name  # noqa: F401

from . import _foreign, params
from ._compat import ModelField, lenient_issubclass
from .datastructures import Default, DefaultPlaceholder
from .dependencies.models import Dependant
from .dependencies.utils import (get_flat_dependant, get_typed_signature,
                                 _should_embed_body_fields)
from .exceptions import FastAPIError
from .responses import JSONResponse, Response

from .dependencies import utils as _du
from . import _streaming
from . import _limits
from . import _extras
from .sse import _PING_INTERVAL as _PING_INTERVAL  # noqa: F401  (FastAPI's patch point)
from .dependencies.utils import get_dependant as get_dependant  # noqa: F401
from .dependencies.utils import get_parameterless_sub_dependant as get_parameterless_sub_dependant  # noqa: F401,E501
from .dependencies.utils import get_typed_return_annotation as get_typed_return_annotation  # noqa: F401,E501
from .utils import generate_unique_id as generate_unique_id  # noqa: F401
from .utils import get_value_or_default as get_value_or_default  # noqa: F401
from .utils import is_body_allowed_for_status_code as is_body_allowed_for_status_code  # noqa: F401

from ._fastrapi import RESP_CLASS, RESP_DUMP, RESP_JSON, PlanResponse  # noqa: E402


def _path_format(path: str) -> str:
    return re.sub(r"{([^}:]+)(:[^}]*)?}", r"{\1}", path)


def _get_parameterless_sub_dependant(depends: params.Depends, path: str) -> Dependant:
    return _du.get_parameterless_sub_dependant(depends=depends, path=path)


def get_dependant_(**kw: Any) -> Dependant:
    return _du.get_dependant(**kw)


def request_response(func: Callable[[Any], Any]) -> Callable[..., Any]:
    """FastAPI's ``request_response``: ``func(request) -> Response`` (sync or
    async) as an ASGI application (Starlette's request/response cycle). The
    engine never calls it: routes are served from their compiled plans."""
    from starlette.concurrency import run_in_threadpool

    from .requests import Request
    f = func if _du.is_coroutine_callable(func) else functools.partial(run_in_threadpool, func)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        response = await f(Request(scope, receive, send))
        await response(scope, receive, send)

    return app


def _route_handler(route: "APIRoute") -> Callable[[Any], Any]:
    """What ``APIRoute.get_route_handler()`` returns, as FastAPI's
    ``get_request_handler``: ``await handler(request) -> Response`` runs the
    route's plan for that request and raises its errors (HTTPException,
    RequestValidationError, the endpoint's own) instead of answering them
    (``fastrapi._asgi.route_call``)."""
    async def handler(request: Any) -> Any:
        app = route.dependency_overrides_provider
        if app is None:  # a route of no app (get_request_handler): the request's
            app = getattr(request, "scope", {}).get("app")
        if app is None or not hasattr(app, "_fr_inner_server"):
            raise RuntimeError(f"{route!r} is not part of an application")
        from ._asgi import route_call
        return await route_call(app, request, route)

    return handler


_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def get_request_handler(dependant: Dependant, body_field: Any = None, status_code: Optional[int] = None,
                        response_class: Any = Default(JSONResponse), response_field: Any = None,
                        response_model_include: Any = None, response_model_exclude: Any = None,
                        response_model_by_alias: bool = True, response_model_exclude_unset: bool = False,
                        response_model_exclude_defaults: bool = False,
                        response_model_exclude_none: bool = False,
                        dependency_overrides_provider: Any = None, **_more: Any) -> Callable[[Any], Any]:
    """FastAPI's ``get_request_handler``: ``await handler(request) ->
    Response`` runs ``dependant.call`` as a path operation with these
    options, raising its errors (as ``APIRoute.get_route_handler()``'s
    handler does). fastrapi's own routes do not go through it (the engine
    runs their plans); plugins that wrap it at start-up (sentry-sdk's
    FastAPI integration) find it, and code that calls it gets this handler.
    ``body_field`` and the other FastAPI internals are derived again from
    the endpoint."""
    model = response_field.field_info.annotation if response_field is not None else None
    route = APIRoute(dependant.path or "/", dependant.call, methods=_ALL_METHODS, status_code=status_code,
                     response_class=response_class, response_model=model,
                     response_model_include=response_model_include,
                     response_model_exclude=response_model_exclude,
                     response_model_by_alias=response_model_by_alias,
                     response_model_exclude_unset=response_model_exclude_unset,
                     response_model_exclude_defaults=response_model_exclude_defaults,
                     response_model_exclude_none=response_model_exclude_none,
                     dependency_overrides_provider=dependency_overrides_provider)
    return _route_handler(route)


async def run_endpoint_function(*, dependant: Dependant, values: Dict[str, Any], is_coroutine: bool) -> Any:
    """FastAPI's: call the endpoint with its solved values (a ``def`` one in
    the threadpool). The engine calls endpoints itself; this is for code that
    calls or wraps it."""
    assert dependant.call is not None, "dependant.call must be a function"
    if is_coroutine:
        return await dependant.call(**values)
    from starlette.concurrency import run_in_threadpool
    return await run_in_threadpool(dependant.call, **values)


class _DefaultLifespan:
    """FastAPI's default lifespan: runs the router's on_startup/on_shutdown
    handlers."""

    def __init__(self, router: "APIRouter") -> None:
        self._router = router

    async def __aenter__(self) -> None:
        await self._router._startup()

    async def __aexit__(self, *exc_info: object) -> None:
        await self._router._shutdown()

    def __call__(self, app: object) -> "_DefaultLifespan":
        return self


class _AsyncLiftContextManager(AbstractAsyncContextManager):
    def __init__(self, cm: Any) -> None:
        self._cm = cm

    async def __aenter__(self) -> Any:
        return self._cm.__enter__()

    async def __aexit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> Any:
        return self._cm.__exit__(exc_type, exc_value, traceback)


def _wrap_gen_lifespan_context(lifespan_context: Callable[[Any], Any]) -> Callable[[Any], Any]:
    cmgr = contextlib.contextmanager(lifespan_context)

    @functools.wraps(cmgr)
    def wrapper(app: Any) -> _AsyncLiftContextManager:
        return _AsyncLiftContextManager(cmgr(app))

    return wrapper


def _merge_lifespan_context(original_context: Any, nested_context: Any) -> Any:
    @asynccontextmanager
    async def merged_lifespan(app: Any) -> Any:
        async with original_context(app) as maybe_original_state:
            async with nested_context(app) as maybe_nested_state:
                if maybe_nested_state is None and maybe_original_state is None:
                    yield None
                else:
                    yield {**(maybe_nested_state or {}), **(maybe_original_state or {})}

    return merged_lifespan


class APIRoute(routing.Route):
    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        response_model: Any = Default(None),
        status_code: Optional[int] = None,
        tags: Optional[List[Union[str, Enum]]] = None,
        dependencies: Optional[Sequence[params.Depends]] = None,
        summary: Optional[str] = None,
        description: Optional[str] = None,
        response_description: str = "Successful Response",
        responses: Optional[Dict[Union[int, str], Dict[str, Any]]] = None,
        deprecated: Optional[bool] = None,
        name: Optional[str] = None,
        methods: Optional[Union[Set[str], List[str]]] = None,
        operation_id: Optional[str] = None,
        response_model_include: Any = None,
        response_model_exclude: Any = None,
        response_model_by_alias: bool = True,
        response_model_exclude_unset: bool = False,
        response_model_exclude_defaults: bool = False,
        response_model_exclude_none: bool = False,
        include_in_schema: bool = True,
        response_class: Union[Type[Response], DefaultPlaceholder] = Default(JSONResponse),
        dependency_overrides_provider: Optional[Any] = None,
        callbacks: Optional[List[Any]] = None,
        openapi_extra: Optional[Dict[str, Any]] = None,
        generate_unique_id_function: Union[Callable[["APIRoute"], str], DefaultPlaceholder] = Default(generate_unique_id),
        max_body_size: Optional[int] = None,
        form_limits: Optional[Dict[str, int]] = None,
        cache_resp: bool = False,  # the seed's extras (fastrapi._extras), decided in C
        rate_limit: Optional[int] = None,
    ) -> None:
        self.path = path
        self.endpoint = endpoint
        # FastAPI 0.165's limits (fastrapi._limits); the engine applies them
        _limits.validate_max_body_size(max_body_size)
        self.max_body_size = max_body_size
        self.form_limits = _limits.validate_form_limits(form_limits)
        # a path operation that yields streams (JSON Lines / SSE): _streaming
        self._fr_stream = _streaming.stream_kind(endpoint, response_class)
        self.is_sse_stream = self._fr_stream == _streaming.SSE
        self.is_json_stream = self._fr_stream == _streaming.JSONL
        self.stream_item_type: Any = None
        if isinstance(response_model, DefaultPlaceholder):
            ret = get_typed_signature(endpoint).return_annotation
            is_stream, self.stream_item_type = _streaming.item_type_for(self._fr_stream, ret)
            if is_stream:
                response_model = None
            elif ret is inspect.Signature.empty or lenient_issubclass(ret, Response) or ret is None or ret is type(None):
                response_model = None
            else:
                response_model = ret
        self.response_model = response_model
        self.summary = summary
        self.response_description = response_description
        self.deprecated = deprecated
        self.operation_id = operation_id
        self.response_model_include = response_model_include
        self.response_model_exclude = response_model_exclude
        self.response_model_by_alias = response_model_by_alias
        self.response_model_exclude_unset = response_model_exclude_unset
        self.response_model_exclude_defaults = response_model_exclude_defaults
        self.response_model_exclude_none = response_model_exclude_none
        self.include_in_schema = include_in_schema
        self.response_class = response_class
        self.dependency_overrides_provider = dependency_overrides_provider
        self.callbacks = callbacks
        self.openapi_extra = openapi_extra
        self.generate_unique_id_function = generate_unique_id_function
        self.tags = tags or []
        self.responses = responses or {}
        self.name = get_name(endpoint) if name is None else name
        self.path_regex, self.path_format, self.param_convertors = compile_path(path)
        if methods is None:
            methods = ["GET"]
        self.methods: Set[str] = {m.upper() for m in methods}
        _extras.route_options(self, cache_resp, rate_limit)
        if isinstance(generate_unique_id_function, DefaultPlaceholder):
            current_gen = generate_unique_id_function.value
        else:
            current_gen = generate_unique_id_function
        self.unique_id = self.operation_id or current_gen(self)
        if isinstance(status_code, Enum):
            status_code = int(status_code.value)
        self.status_code = status_code
        if self.response_model:
            assert is_body_allowed_for_status_code(status_code), (
                f"Status code {status_code} must not have a response body")
            try:
                self.response_field: Optional[ModelField] = ModelField(
                    field_info=_response_field_info(self.response_model),
                    name="Response_" + self.unique_id, mode="serialization")
            except Exception as e:
                raise FastAPIError(
                    "Invalid args for response field! Hint: check that "
                    f"{self.response_model} is a valid Pydantic field type. If you are using a "
                    "return type annotation that is not a valid Pydantic field (e.g. Union[Response, "
                    "dict, None]) you can disable generating the response model from the type "
                    "annotation with the path operation decorator parameter response_model=None."
                ) from e
        else:
            self.response_field = None
        self.stream_item_field: Optional[ModelField] = None
        if self.stream_item_type:
            self.stream_item_field = ModelField(
                field_info=_response_field_info(self.stream_item_type),
                name="StreamItem_" + self.unique_id, mode="serialization")
        self.dependencies = list(dependencies or [])
        self.description = description or inspect.cleandoc(self.endpoint.__doc__ or "")
        self.description = self.description.split("\f")[0].strip()
        response_fields = {}
        for additional_status_code, response in self.responses.items():
            assert isinstance(response, dict), "An additional response must be a dict"
            model = response.get("model")
            if model:
                assert is_body_allowed_for_status_code(additional_status_code), (
                    f"Status code {additional_status_code} must not have a response body")
                response_fields[additional_status_code] = ModelField(
                    field_info=_response_field_info(model),
                    name=f"Response_{additional_status_code}_{self.unique_id}",
                    mode="serialization")
        self.response_fields = response_fields
        self.dependant = _du.get_dependant(path=self.path_format, call=self.endpoint)
        for depends in self.dependencies[::-1]:
            self.dependant.dependencies.insert(
                0, _get_parameterless_sub_dependant(depends, self.path_format))
        self._flat_dependant = get_flat_dependant(self.dependant)
        self._embed_body_fields = _should_embed_body_fields(self._flat_dependant.body_params)
        self.body_field = _du.get_body_field(flat_dependant=self._flat_dependant,
                                             name=self.unique_id,
                                             embed_body_fields=self._embed_body_fields)
        # a plan now, so misconfiguration fails at decoration time
        self._plan = self._fr_plan()
        # FastAPI's custom route classes: a subclass's get_route_handler() is
        # called here, as FastAPI does, and its handler is what serves the
        # route (_HandlerRoute); super().get_route_handler() runs the plan
        self._fr_handler: Optional[Callable[[Any], Any]] = None
        if type(self).get_route_handler is not APIRoute.get_route_handler:
            self._fr_handler = self.get_route_handler()

    # ---- Starlette/FastAPI route surface (the engine serves the plan, not these)
    @property
    def app(self) -> Any:
        app = self.__dict__.get("app")
        if app is None:
            app = self.__dict__["app"] = request_response(self._fr_handler or _route_handler(self))
        return app

    @app.setter
    def app(self, value: Any) -> None:
        self.__dict__["app"] = value

    def get_route_handler(self) -> Callable[[Any], Any]:
        """FastAPI's hook, called after a plugin changed ``self.dependant``
        (fastapi-pagination does): the route's plan is compiled again, for
        running servers too; returns ``handler(request) -> Response``."""
        self._flat_dependant = get_flat_dependant(self.dependant)
        self._plan = self._fr_plan()
        prov = self.dependency_overrides_provider
        changed = getattr(prov, "_overrides_changed", None)
        if changed is not None:
            changed()  # the engine recompiles the plans of running servers
        return _route_handler(self)

    def _fr_served(self) -> Any:
        """The route whose plan the engine serves for this one: itself, or the
        custom route class's handler (_HandlerRoute)."""
        if self._fr_handler is None:
            return self
        served = self.__dict__.get("_fr_handler_route")
        if served is None:
            served = self.__dict__["_fr_handler_route"] = _HandlerRoute(self)
        return served

    def matches(self, scope: Any) -> Any:
        match, child_scope = super().matches(scope)
        if match != Match.NONE:
            child_scope["route"] = self
        return match, child_scope

    # ---- plan
    def _response_plan(self) -> Any:
        dump_kwargs = dict(include=self.response_model_include,
                           exclude=self.response_model_exclude,
                           by_alias=self.response_model_by_alias,
                           exclude_unset=self.response_model_exclude_unset,
                           exclude_defaults=self.response_model_exclude_defaults,
                           exclude_none=self.response_model_exclude_none)
        adapter = self.response_field._type_adapter if self.response_field else None
        rc = self.response_class
        mode = RESP_CLASS
        if isinstance(rc, DefaultPlaceholder):
            rc = JSONResponse
            mode = RESP_JSON if adapter is None else RESP_DUMP
        elif rc is JSONResponse and adapter is None:
            mode = RESP_JSON
        else:
            dump_kwargs["mode"] = "json"
        if mode == RESP_JSON:
            dump_kwargs = None
        return _du._mk(PlanResponse, status_code=self.status_code, mode=mode, adapter=adapter,
                       dump_kwargs=dump_kwargs, response_class=rc)

    def _fr_plan(self) -> Any:
        overrides = None
        prov = self.dependency_overrides_provider
        if prov is not None:
            overrides = getattr(prov, "dependency_overrides", None) or None
        dependant = _streaming.plan_dependant(self) if self._fr_stream else self.dependant
        return compile_plan_(dependant, route=self, overrides=overrides,
                             embed_body_fields=self._embed_body_fields,
                             response=self._response_plan())

    def __repr__(self) -> str:
        return f"APIRoute(path={self.path!r}, name={self.name!r}, methods={sorted(self.methods)!r})"


def compile_plan_(*a: Any, **kw: Any) -> Any:
    return _du.compile_plan(*a, **kw)


def _response_field_info(model: Any) -> Any:
    from pydantic.fields import FieldInfo
    fi = FieldInfo(annotation=model)
    return fi


def _response_only(result: Any) -> Any:
    """A plain endpoint's result is called as an ASGI app by Starlette's
    request_response: anything but a Response is a TypeError (a 500)."""
    if isinstance(result, Response):
        return result
    if callable(result):
        raise TypeError(f"fastrapi serves a Response from {type(result).__name__!r}, "
                        "not another ASGI application")
    raise TypeError(f"{type(result).__name__!r} object is not callable")


class Route(routing.Route):
    """A plain (Starlette) route: ``endpoint(request) -> Response``.

    What FastAPI's ``add_route`` creates (the /openapi.json and docs pages):
    no parameter analysis, no router/app ``dependencies``, no
    ``generate_unique_id_function``, never in the OpenAPI document (it has
    no ``dependant``, so ``get_openapi`` skips it). The engine serves it
    through a private APIRoute that only injects the request."""

    def __init__(self, path: str, endpoint: Callable[..., Any], *,
                 methods: Optional[Union[Set[str], List[str]]] = None,
                 name: Optional[str] = None, include_in_schema: bool = True) -> None:
        assert path.startswith("/"), "Routed paths must start with '/'"
        self.path = path
        self.endpoint = endpoint
        self.name = get_name(endpoint) if name is None else name
        self.include_in_schema = include_in_schema
        self.path_regex, self.path_format, self.param_convertors = compile_path(path)
        self.app = request_response(endpoint)
        if methods is None:
            self.methods: Optional[Set[str]] = {"GET", "HEAD"}
        else:
            self.methods = {m.upper() for m in methods}
            if "GET" in self.methods:
                self.methods.add("HEAD")
        from .requests import Request
        if _du.is_coroutine_callable(endpoint):
            async def call(request: Request) -> Any:
                return _response_only(await endpoint(request))
        else:
            def call(request: Request) -> Any:  # type: ignore[misc]
                return _response_only(endpoint(request))
        call.__name__ = self.name
        call.__annotations__ = {"request": Request}  # real class, not a __future__ string
        self._api_route = APIRoute(path, call, methods=sorted(self.methods), name=self.name,
                                   include_in_schema=False, operation_id=self.name,
                                   response_model=None)

    def _fr_plan(self) -> Any:
        api = self._api_route  # the plan names this route (scope["route"], as Starlette's router)
        return compile_plan_(api.dependant, route=self._fr_scope_route(), response=api._response_plan())

    @classmethod
    def _fr_for(cls, route: routing.Route) -> Optional["Route"]:
        """The Route the engine serves for Starlette's own ``Route`` object
        put among the routes (``FastAPI(routes=[...])``,
        ``app.routes.append(...)``): a request -> Response function served as
        ``add_route``'s, ``scope["route"]`` being the object itself. None for
        an ASGI-app endpoint (not served by the engine)."""
        cur = route.__dict__.get("_fr_route")
        if cur is None:
            if not (inspect.isfunction(route.endpoint) or inspect.ismethod(route.endpoint)):
                return None
            cur = _AdoptedRoute(route)
            route.__dict__["_fr_route"] = cur
        return cur

    def _fr_scope_route(self) -> Any:
        return self

    def __repr__(self) -> str:
        return f"Route(path={self.path!r}, name={self.name!r}, methods={sorted(self.methods or ())!r})"


class _AdoptedRoute(Route):
    """Route._fr_for's: serves a Starlette Route object's endpoint."""

    def __init__(self, original: routing.Route) -> None:
        super().__init__(original.path, original.endpoint, methods=original.methods, name=original.name,
                         include_in_schema=original.include_in_schema)
        self._fr_original = original

    def _fr_scope_route(self) -> Any:
        return self._fr_original


class _HandlerRoute(Route):
    """What the engine serves for an APIRoute whose class overrides
    ``get_route_handler`` (FastAPI's "custom APIRoute class" recipes): that
    handler, called with the Request, as FastAPI's ``route.app`` does; its
    errors go to the app's exception handlers. The plan names the APIRoute
    (``scope["route"]``, ``scope["endpoint"]``, the error log)."""

    def __init__(self, route: APIRoute) -> None:
        super().__init__(route.path, route._fr_handler, methods=sorted(route.methods),  # type: ignore[arg-type]
                         name=route.name, include_in_schema=False)
        self._route = route
        self.max_body_size = route.max_body_size
        self.form_limits = route.form_limits

    def _fr_scope_route(self) -> Any:
        return self._route


class APIRouter(routing.Router):
    def __init__(
        self,
        *,
        prefix: str = "",
        tags: Optional[List[Union[str, Enum]]] = None,
        dependencies: Optional[Sequence[params.Depends]] = None,
        default_response_class: Type[Response] = Default(JSONResponse),
        responses: Optional[Dict[Union[int, str], Dict[str, Any]]] = None,
        callbacks: Optional[List[Any]] = None,
        routes: Optional[List[Any]] = None,
        redirect_slashes: bool = True,
        default: Any = None,
        dependency_overrides_provider: Optional[Any] = None,
        route_class: Type[APIRoute] = APIRoute,
        on_startup: Optional[Sequence[Callable[[], Any]]] = None,
        on_shutdown: Optional[Sequence[Callable[[], Any]]] = None,
        lifespan: Any = None,
        deprecated: Optional[bool] = None,
        include_in_schema: bool = True,
        generate_unique_id_function: Callable[[APIRoute], str] = Default(generate_unique_id),
        max_body_size: Optional[int] = None,
        form_limits: Optional[Dict[str, int]] = None,
    ) -> None:
        _limits.validate_max_body_size(max_body_size)
        self.max_body_size = max_body_size
        self.form_limits = _limits.validate_form_limits(form_limits)
        if prefix:
            assert prefix.startswith("/"), "A path prefix must start with '/'"
            assert not prefix.endswith("/"), "A path prefix must not end with '/', as the routes will start with '/'"
        self.prefix = prefix
        self.tags: List[Union[str, Enum]] = list(tags or [])
        self.dependencies = list(dependencies or [])
        self.deprecated = deprecated
        self.include_in_schema = include_in_schema
        self.responses = responses or {}
        self.callbacks = callbacks or []
        self.dependency_overrides_provider = dependency_overrides_provider
        self.route_class = route_class
        self.default_response_class = default_response_class
        self.generate_unique_id_function = generate_unique_id_function
        self.redirect_slashes = redirect_slashes
        self.routes: List[Any] = list(routes or [])
        self.default = self.not_found if default is None else default
        self.on_startup: List[Callable] = list(on_startup or [])
        self.on_shutdown: List[Callable] = list(on_shutdown or [])
        # FastAPI's: the default lifespan runs the on_startup/on_shutdown handlers
        if lifespan is None:
            self.lifespan_context: Any = _DefaultLifespan(self)
        elif inspect.isasyncgenfunction(lifespan):
            self.lifespan_context = asynccontextmanager(lifespan)
        elif inspect.isgeneratorfunction(lifespan):
            self.lifespan_context = _wrap_gen_lifespan_context(lifespan)
        else:
            self.lifespan_context = lifespan
        self.middleware_stack = self.app
        self._routes_version = 0

    @property
    def _routes_version(self) -> int:
        """Bumped by every change to the routes; a running native server is
        told (FastAPI._fr_live_routes) so that routes added while it serves
        are served."""
        return self.__dict__.get("_fr_routes_version", 0)

    @_routes_version.setter
    def _routes_version(self, value: int) -> None:
        self.__dict__["_fr_routes_version"] = value
        for notify in list(self.__dict__.get("_fr_on_routes_changed", ())):
            notify()

    def add_route(self, path: str, endpoint: Callable[..., Any],
                  methods: Optional[Union[Set[str], List[str]]] = None,
                  name: Optional[str] = None, include_in_schema: bool = True) -> Route:
        """Starlette's ``add_route``: a plain request -> Response endpoint."""
        route = Route(path, endpoint, methods=methods, name=name,
                      include_in_schema=include_in_schema)
        self.routes.append(route)
        self._routes_version += 1
        return route

    def add_api_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        response_model: Any = Default(None),
        status_code: Optional[int] = None,
        tags: Optional[List[Union[str, Enum]]] = None,
        dependencies: Optional[Sequence[params.Depends]] = None,
        summary: Optional[str] = None,
        description: Optional[str] = None,
        response_description: str = "Successful Response",
        responses: Optional[Dict[Union[int, str], Dict[str, Any]]] = None,
        deprecated: Optional[bool] = None,
        methods: Optional[Union[Set[str], List[str]]] = None,
        operation_id: Optional[str] = None,
        response_model_include: Any = None,
        response_model_exclude: Any = None,
        response_model_by_alias: bool = True,
        response_model_exclude_unset: bool = False,
        response_model_exclude_defaults: bool = False,
        response_model_exclude_none: bool = False,
        include_in_schema: bool = True,
        response_class: Union[Type[Response], DefaultPlaceholder] = Default(JSONResponse),
        name: Optional[str] = None,
        route_class_override: Optional[Type[APIRoute]] = None,
        callbacks: Optional[List[Any]] = None,
        openapi_extra: Optional[Dict[str, Any]] = None,
        generate_unique_id_function: Any = Default(generate_unique_id),
        max_body_size: Optional[int] = None,
        form_limits: Optional[Dict[str, int]] = None,
        cache_resp: bool = False,
        rate_limit: Optional[int] = None,
    ) -> APIRoute:
        route_class = route_class_override or self.route_class
        if cache_resp:  # passed only when set: a custom route_class keeps its signature
            limit_options_extra: Dict[str, Any] = {"cache_resp": True}
        else:
            limit_options_extra = {}
        if rate_limit is not None:
            limit_options_extra["rate_limit"] = rate_limit
        # FastAPI: the route's own limit, else the router's; form limits merge
        # over the router's key by key (as the router's scope does at run time)
        _limits.validate_max_body_size(max_body_size)
        limit_options: Dict[str, Any] = {}
        body_limit = _limits.get_body_size_limit(max_body_size, self.max_body_size)
        if body_limit is not None:
            limit_options["max_body_size"] = body_limit
        merged_form = {**self.form_limits, **_limits.validate_form_limits(form_limits)}
        if merged_form:
            limit_options["form_limits"] = merged_form
        responses = responses or {}
        combined_responses = {**self.responses, **responses}
        current_response_class = get_value_or_default(response_class, self.default_response_class)
        current_tags = list(self.tags)
        if tags:
            current_tags.extend(tags)
        current_dependencies = list(self.dependencies)
        if dependencies:
            current_dependencies.extend(dependencies)
        current_callbacks = list(self.callbacks)
        if callbacks:
            current_callbacks.extend(callbacks)
        current_gen = get_value_or_default(generate_unique_id_function,
                                           self.generate_unique_id_function)
        route = route_class(
            self.prefix + path, endpoint=endpoint, response_model=response_model,
            status_code=status_code, tags=current_tags, dependencies=current_dependencies,
            summary=summary, description=description, response_description=response_description,
            responses=combined_responses, deprecated=deprecated or self.deprecated,
            methods=methods, operation_id=operation_id,
            response_model_include=response_model_include,
            response_model_exclude=response_model_exclude,
            response_model_by_alias=response_model_by_alias,
            response_model_exclude_unset=response_model_exclude_unset,
            response_model_exclude_defaults=response_model_exclude_defaults,
            response_model_exclude_none=response_model_exclude_none,
            include_in_schema=include_in_schema and self.include_in_schema,
            response_class=current_response_class, name=name,
            dependency_overrides_provider=self.dependency_overrides_provider,
            callbacks=current_callbacks, openapi_extra=openapi_extra,
            generate_unique_id_function=current_gen, **limit_options, **limit_options_extra)
        self.routes.append(route)
        self._routes_version += 1
        return route

    # ---- websockets (fastrapi._ws: the route, its dependencies, both faces)
    def add_api_websocket_route(self, path: str, endpoint: Callable[..., Any], name: Optional[str] = None,
                                *, dependencies: Optional[Sequence[params.Depends]] = None) -> Any:
        from ._ws import APIWebSocketRoute
        current_dependencies = list(self.dependencies)
        if dependencies:
            current_dependencies.extend(dependencies)
        route = APIWebSocketRoute(self.prefix + path, endpoint=endpoint, name=name,
                                  dependencies=current_dependencies,
                                  dependency_overrides_provider=self.dependency_overrides_provider)
        self.routes.append(route)
        self._routes_version += 1
        return route

    def websocket(self, path: str, name: Optional[str] = None, *,
                  dependencies: Optional[Sequence[params.Depends]] = None) -> Callable:
        def decorator(func: Callable) -> Callable:
            self.add_api_websocket_route(path, func, name=name, dependencies=dependencies)
            return func
        return decorator

    def add_websocket_route(self, path: str, endpoint: Callable[..., Any],
                            name: Optional[str] = None) -> None:
        """Starlette's: ``endpoint(websocket)``, no parameters or dependencies."""
        self.routes.append(routing.WebSocketRoute(path, endpoint, name=name))
        self._routes_version += 1

    def websocket_route(self, path: str, name: Optional[str] = None) -> Callable:
        def decorator(func: Callable) -> Callable:
            self.add_websocket_route(path, func, name=name)
            return func
        return decorator

    def route(self, path: str, methods: Optional[List[str]] = None, name: Optional[str] = None,
              include_in_schema: bool = True) -> Callable:
        def decorator(func: Callable) -> Callable:
            self.add_route(path, func, methods=methods, name=name,
                           include_in_schema=include_in_schema)
            return func
        return decorator

    def api_route(self, path: str, *, methods: Optional[List[str]] = None, **kwargs: Any) -> Callable:
        def decorator(func: Callable) -> Callable:
            self.add_api_route(path, func, methods=methods, **kwargs)
            return func
        return decorator

    def _method(self, method: str, path: str, kwargs: Dict[str, Any]) -> Callable:
        return self.api_route(path, methods=[method], **kwargs)

    def get(self, path: str, **kwargs: Any) -> Callable:
        return self._method("GET", path, kwargs)

    def put(self, path: str, **kwargs: Any) -> Callable:
        return self._method("PUT", path, kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable:
        return self._method("POST", path, kwargs)

    def delete(self, path: str, **kwargs: Any) -> Callable:
        return self._method("DELETE", path, kwargs)

    def options(self, path: str, **kwargs: Any) -> Callable:
        return self._method("OPTIONS", path, kwargs)

    def head(self, path: str, **kwargs: Any) -> Callable:
        return self._method("HEAD", path, kwargs)

    def patch(self, path: str, **kwargs: Any) -> Callable:
        return self._method("PATCH", path, kwargs)

    def trace(self, path: str, **kwargs: Any) -> Callable:
        return self._method("TRACE", path, kwargs)

    def add_event_handler(self, event_type: str, func: Callable) -> None:
        assert event_type in ("startup", "shutdown")
        if event_type == "startup":
            self.on_startup.append(func)
        else:
            self.on_shutdown.append(func)

    async def _startup(self) -> None:
        """Run the on_startup handlers (what the default lifespan does)."""
        self._fr_handlers_ran = True
        for handler in self.on_startup:
            r = handler()
            if inspect.isawaitable(r):
                await r

    async def _shutdown(self) -> None:
        for handler in self.on_shutdown:
            r = handler()
            if inspect.isawaitable(r):
                await r

    def on_event(self, event_type: str) -> Callable:
        def decorator(func: Callable) -> Callable:
            self.add_event_handler(event_type, func)
            return func
        return decorator

    def frontend(self, path: str, *, directory: Union[str, "os.PathLike[str]"],
                 fallback: Optional[str] = "auto", check_dir: Union[bool, str] = "auto") -> None:
        """FastAPI's ``APIRouter.frontend``: a static frontend build (``dist``)
        as low-priority routes -- path operations first, then files under
        ``path``, directory ``index.html`` files, and for a missing file the
        fallback ("auto": 404.html if present, else index.html for browser
        navigations; "index.html"; "404.html"; None). Served by the engine
        (src/static.c); ``include_router`` carries them over under its prefix,
        after the including router's own (FastAPI's order)."""
        _add_frontend(self, path, directory, fallback, check_dir)

    def _fr_all_frontends(self) -> List[Tuple[str, str, Optional[str], List[Any]]]:
        """(path, directory, fallback, dependencies): this router's
        frontends, then those of the routers it included."""
        return list(self.__dict__.get("_fr_frontends", ())) + \
            list(self.__dict__.get("_fr_included_frontends", ()))

    def include_router(
        self,
        router: "APIRouter",
        *,
        prefix: str = "",
        tags: Optional[List[Union[str, Enum]]] = None,
        dependencies: Optional[Sequence[params.Depends]] = None,
        default_response_class: Type[Response] = Default(JSONResponse),
        responses: Optional[Dict[Union[int, str], Dict[str, Any]]] = None,
        callbacks: Optional[List[Any]] = None,
        deprecated: Optional[bool] = None,
        include_in_schema: bool = True,
        generate_unique_id_function: Any = Default(generate_unique_id),
        max_body_size: Optional[int] = None,
        form_limits: Optional[Dict[str, int]] = None,
    ) -> None:
        _limits.validate_max_body_size(max_body_size)
        include_form = _limits.validate_form_limits(form_limits)
        if prefix:
            assert prefix.startswith("/"), "A path prefix must start with '/'"
            assert not prefix.endswith("/"), "A path prefix must not end with '/', as the routes will start with '/'"
        for r in router.routes:
            foreign = _foreign.is_fastapi_route(r)  # from a real fastapi.APIRouter
            if isinstance(r, routing.Route) and not isinstance(r, APIRoute) and not foreign:
                # fastrapi's or Starlette's own Route, as FastAPI's include_router
                self.add_route(prefix + r.path, r.endpoint, methods=r.methods, name=r.name,
                               include_in_schema=r.include_in_schema)
                continue
            if isinstance(r, routing.WebSocketRoute) and hasattr(r, "dependant"):
                current_dependencies = list(dependencies or []) + list(r.dependencies)
                self.add_api_websocket_route(prefix + r.path, r.endpoint, name=r.name,
                                             dependencies=current_dependencies)
                continue
            if isinstance(r, routing.WebSocketRoute):
                self.add_websocket_route(prefix + r.path, r.endpoint, name=r.name)
                continue
            if not isinstance(r, APIRoute) and not foreign:
                self.routes.append(r)
                continue
            combined_responses = {**(responses or {}), **r.responses}
            use_response_class = get_value_or_default(
                _foreign.adopt(r.response_class), _foreign.adopt(router.default_response_class),
                default_response_class, self.default_response_class)
            current_tags = list(tags or []) + list(r.tags)
            current_dependencies = list(dependencies or []) + list(r.dependencies)
            current_callbacks = list(callbacks or []) + list(r.callbacks or [])
            current_gen = get_value_or_default(
                _foreign.adopt(r.generate_unique_id_function),
                _foreign.adopt(router.generate_unique_id_function),
                generate_unique_id_function, self.generate_unique_id_function)
            self.add_api_route(
                prefix + r.path, r.endpoint, response_model=r.response_model,
                status_code=r.status_code, tags=current_tags, dependencies=current_dependencies,
                summary=r.summary, description=r.description,
                response_description=r.response_description, responses=combined_responses,
                deprecated=r.deprecated or deprecated or self.deprecated, methods=r.methods,
                operation_id=r.operation_id, response_model_include=r.response_model_include,
                response_model_exclude=r.response_model_exclude,
                response_model_by_alias=r.response_model_by_alias,
                response_model_exclude_unset=r.response_model_exclude_unset,
                response_model_exclude_defaults=r.response_model_exclude_defaults,
                response_model_exclude_none=r.response_model_exclude_none,
                include_in_schema=r.include_in_schema and include_in_schema,
                response_class=use_response_class, name=r.name,
                route_class_override=APIRoute if foreign else type(r), callbacks=current_callbacks,
                openapi_extra=r.openapi_extra, generate_unique_id_function=current_gen,
                # FastAPI: route > included router > include_router(...) > this router
                max_body_size=_limits.get_body_size_limit(
                    getattr(r, "max_body_size", None), getattr(router, "max_body_size", None),
                    max_body_size),
                form_limits={**include_form, **(getattr(router, "form_limits", None) or {}),
                             **(getattr(r, "form_limits", None) or {})} or None,
                cache_resp=getattr(r, "cache_resp", False),
                rate_limit=getattr(r, "rate_limit", None))
        included = getattr(router, "_fr_all_frontends", None)
        for f_path, f_dir, f_fallback, f_deps in (included() if included else ()):
            joined = f_path if not prefix else prefix if f_path == "/" else prefix + f_path
            # FastAPI's _RouterIncludeContext: this router's dependencies, the
            # include's, then the frontend group's own
            self.__dict__.setdefault("_fr_included_frontends", []).append(
                (joined, f_dir, f_fallback,
                 [*self.dependencies, *(dependencies or []), *f_deps]))
        self._routes_version += 1
        self.on_startup.extend(router.on_startup)
        self.on_shutdown.extend(router.on_shutdown)
        # FastAPI merges the included router's lifespan into this one's (its
        # default one only runs the handlers copied above: not merged, so they
        # run once)
        if not isinstance(router.lifespan_context, _DefaultLifespan) and not (
                _foreign.is_fastapi_default_lifespan(router.lifespan_context)):
            self.lifespan_context = _merge_lifespan_context(self.lifespan_context,
                                                            router.lifespan_context)


def _add_frontend(router: Any, path: str, directory: Any, fallback: Optional[str],
                  check_dir: Union[bool, str]) -> None:
    """FastAPI 0.165's APIRouter.frontend checks, then one engine frontend."""
    import stat as _stat
    import warnings
    if check_dir == "auto":
        if os.environ.get("FASTAPI_ENV") != "development":
            check_dir = True
        else:
            if not os.path.isdir(directory):
                warnings.warn(f"Frontend directory '{directory}' does not exist. "
                              f"Resolved absolute path: '{os.path.realpath(directory)}'",
                              stacklevel=3)
            check_dir = False
    if not path:
        raise AssertionError("A frontend path cannot be empty")
    if not path.startswith("/"):
        raise AssertionError("A frontend path must start with '/'")
    if path != "/":
        path = path.rstrip("/")
    if fallback not in {"auto", "index.html", "404.html", None}:
        raise AssertionError("fallback must be 'auto', 'index.html', '404.html', or None")
    directory = os.fspath(directory)
    if check_dir and not os.path.isdir(directory):
        raise RuntimeError(f"Frontend directory '{directory}' does not exist. "
                           f"Resolved absolute path: '{os.path.realpath(directory)}'")
    if check_dir and fallback in {"index.html", "404.html"}:
        from starlette.staticfiles import StaticFiles
        _, st = StaticFiles(directory=directory, check_dir=False).lookup_path(fallback)
        if st is None or not _stat.S_ISREG(st.st_mode):
            raise RuntimeError(
                f"Frontend fallback file '{fallback}' does not exist in directory "
                f"'{directory}'. Resolved absolute directory: '{os.path.realpath(directory)}'")
    if not isinstance(directory, str):
        raise TypeError("frontend directory must be a str path")
    # FastAPI's _FrontendRouteGroup: one per router, made with the router's
    # dependencies at its first frontend (they run before the files answer)
    deps = router.__dict__.setdefault("_fr_frontend_deps", list(router.dependencies or ()))
    router.__dict__.setdefault("_fr_frontends", []).append((path, directory, fallback, deps))
    router._routes_version += 1


class _IncludedRouter(BaseRoute):
    """FastAPI's record of an ``include_router`` (the router and how it was
    included). fastrapi's ``include_router`` copies the routes into the
    including router, as FastAPI did before; nothing creates these, the name
    exists for plugins that test ``isinstance(route, _IncludedRouter)``."""

    def __init__(self, original_router: APIRouter, include_context: Any = None) -> None:
        self.original_router = original_router
        self.include_context = include_context

    @property
    def routes(self) -> List[Any]:
        return self.original_router.routes

    def effective_route_contexts(self) -> List[Any]:
        return list(self.original_router.routes)

    def matches(self, scope: Any) -> Any:
        partial = None
        for r in self.original_router.routes:
            match, child = r.matches(scope)
            if match == Match.FULL:
                return match, child
            if match == Match.PARTIAL and partial is None:
                partial = (match, child)
        return partial or (Match.NONE, {})

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        return self.original_router.url_path_for(name, **path_params)

    async def handle(self, scope: Any, receive: Any, send: Any) -> None:
        await self.original_router.app(scope, receive, send)


def __getattr__(name: str) -> Any:
    # more of the names FastAPI's routing module has (imported on first use)
    if name in ("run_in_threadpool", "iterate_in_threadpool"):
        from starlette import concurrency
        return getattr(concurrency, name)
    if name == "is_async_callable":
        from starlette._utils import is_async_callable
        return is_async_callable
    if name == "get_route_path":
        from starlette._utils import get_route_path
        return get_route_path
    if name in ("APIWebSocketRoute", "websocket_session", "get_websocket_app"):
        from . import _ws
        return getattr(_ws, name)
    if name == "jsonable_encoder":
        from .encoders import jsonable_encoder
        return jsonable_encoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
