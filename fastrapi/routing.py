"""Routes and routers (FastAPI's ``APIRoute``/``APIRouter`` surface). Routes
are analysed when declared; ``APIRoute._fr_plan()`` produces the plan that
the C glue executes."""
from __future__ import annotations

import inspect
import re
from enum import Enum
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Type, Union

from . import params
from ._compat import ModelField, lenient_issubclass
from .datastructures import Default, DefaultPlaceholder
from .dependencies.models import Dependant
from .dependencies.utils import (get_flat_dependant, get_typed_signature,
                                 _should_embed_body_fields)
from .exceptions import FastAPIError
from .responses import JSONResponse, Response

from .dependencies import utils as _du

from ._fastrapi import RESP_CLASS, RESP_DUMP, RESP_JSON, PlanResponse  # noqa: E402


def generate_unique_id(route: "APIRoute") -> str:
    operation_id = f"{route.name}{route.path_format}"
    operation_id = re.sub(r"\W", "_", operation_id)
    assert route.methods
    return f"{operation_id}_{list(route.methods)[0].lower()}"


def is_body_allowed_for_status_code(status_code: Union[int, str, None]) -> bool:
    if status_code is None:
        return True
    if status_code in {"default", "1XX", "2XX", "3XX", "4XX", "5XX"}:
        return True
    current = int(status_code)
    return not (current < 200 or current in {204, 205, 304})


def get_value_or_default(first: Any, *extra: Any) -> Any:
    items = (first,) + extra
    for item in items:
        if not isinstance(item, DefaultPlaceholder):
            return item
    return first


def _path_format(path: str) -> str:
    return re.sub(r"{([^}:]+)(:[^}]*)?}", r"{\1}", path)


def _get_parameterless_sub_dependant(depends: params.Depends, path: str) -> Dependant:
    assert callable(depends.dependency), "A parameter-less dependency must have a callable dependency"
    scopes = list(depends.scopes or []) if isinstance(depends, params.Security) else None
    return get_dependant_(path=path, call=depends.dependency, security_scopes=scopes,
                          use_cache=depends.use_cache, scope=depends.scope)


def get_dependant_(**kw: Any) -> Dependant:
    return _du.get_dependant(**kw)


class APIRoute:
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
    ) -> None:
        self.path = path
        self.endpoint = endpoint
        if isinstance(response_model, DefaultPlaceholder):
            ret = get_typed_signature(endpoint).return_annotation
            if ret is inspect.Signature.empty or lenient_issubclass(ret, Response) or ret is None:
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
        self.name = endpoint.__name__ if name is None and hasattr(endpoint, "__name__") else (name or repr(endpoint))
        self.path_format = _path_format(path)
        if methods is None:
            methods = ["GET"]
        self.methods: Set[str] = {m.upper() for m in methods}
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
        return compile_plan_(self.dependant, route=self, overrides=overrides,
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


class Route:
    """A plain (Starlette-style) route: ``endpoint(request) -> Response``.

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
        self.name = endpoint.__name__ if name is None and hasattr(endpoint, "__name__") \
            else (name or repr(endpoint))
        self.include_in_schema = include_in_schema
        self.path_format = _path_format(path)
        if methods is None:
            self.methods: Optional[Set[str]] = {"GET", "HEAD"}
        else:
            self.methods = {m.upper() for m in methods}
            if "GET" in self.methods:
                self.methods.add("HEAD")
        from .requests import Request
        if _du.is_coroutine_callable(endpoint):
            async def call(request: Request) -> Any:
                return await endpoint(request)
        else:
            def call(request: Request) -> Any:  # type: ignore[misc]
                return endpoint(request)
        call.__name__ = self.name
        call.__annotations__ = {"request": Request}  # real class, not a __future__ string
        self._api_route = APIRoute(path, call, methods=sorted(self.methods), name=self.name,
                                   include_in_schema=False, operation_id=self.name,
                                   response_model=None)

    def _fr_plan(self) -> Any:
        return self._api_route._fr_plan()

    def __repr__(self) -> str:
        return f"Route(path={self.path!r}, name={self.name!r}, methods={sorted(self.methods or ())!r})"


class APIRouter:
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
    ) -> None:
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
        self.on_startup: List[Callable] = list(on_startup or [])
        self.on_shutdown: List[Callable] = list(on_shutdown or [])
        self.lifespan_context = lifespan
        self._routes_version = 0

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
    ) -> APIRoute:
        route_class = route_class_override or self.route_class
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
            generate_unique_id_function=current_gen)
        self.routes.append(route)
        self._routes_version += 1
        return route

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
        if event_type == "startup":
            self.on_startup.append(func)
        else:
            self.on_shutdown.append(func)

    def on_event(self, event_type: str) -> Callable:
        def decorator(func: Callable) -> Callable:
            self.add_event_handler(event_type, func)
            return func
        return decorator

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
    ) -> None:
        if prefix:
            assert prefix.startswith("/"), "A path prefix must start with '/'"
            assert not prefix.endswith("/"), "A path prefix must not end with '/', as the routes will start with '/'"
        for r in router.routes:
            if isinstance(r, Route):
                self.add_route(prefix + r.path, r.endpoint, methods=r.methods, name=r.name,
                               include_in_schema=r.include_in_schema)
                continue
            if not isinstance(r, APIRoute):
                self.routes.append(r)
                continue
            combined_responses = {**(responses or {}), **r.responses}
            use_response_class = get_value_or_default(
                r.response_class, router.default_response_class, default_response_class,
                self.default_response_class)
            current_tags = list(tags or []) + list(r.tags)
            current_dependencies = list(dependencies or []) + list(r.dependencies)
            current_callbacks = list(callbacks or []) + list(r.callbacks or [])
            current_gen = get_value_or_default(
                r.generate_unique_id_function, router.generate_unique_id_function,
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
                route_class_override=type(r), callbacks=current_callbacks,
                openapi_extra=r.openapi_extra, generate_unique_id_function=current_gen)
        self._routes_version += 1
        self.on_startup.extend(router.on_startup)
        self.on_shutdown.extend(router.on_shutdown)

    def url_path_for(self, name: str, **path_params: Any) -> str:
        for r in self.routes:
            if getattr(r, "name", None) == name:
                path = r.path_format
                for k, v in path_params.items():
                    path = path.replace("{" + k + "}", str(v))
                return path
        raise LookupError(f'No route exists for name "{name}" and params "{path_params}".')
