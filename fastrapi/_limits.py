"""FastAPI 0.165's ``max_body_size=`` and ``form_limits=`` (app, routers,
include_router, path operations): validation and precedence as FastAPI's
(fastapi/_body_limit.py, fastapi/_form_limits.py). The engine applies them
per route: the body limit by fr_route_opts.max_body (src/server.c), the form
limits by the multipart/urlencoded decoders (src/multipart.c)."""
from __future__ import annotations

from typing import Any, Dict, Iterator, Optional, Tuple

from pydantic import ConfigDict, NonNegativeInt, TypeAdapter, with_config
from typing_extensions import TypedDict

# Starlette's Request.form() defaults
_DEFAULTS = {"max_files": 1000, "max_fields": 1000, "max_part_size": 1024 * 1024}


@with_config(ConfigDict(strict=True, extra="forbid"))
class _FormLimits(TypedDict, total=False):
    """Limits for automatic parsing of ``Form``, ``File`` and ``UploadFile``
    parameters."""

    max_fields: NonNegativeInt
    max_files: NonNegativeInt
    max_part_size: NonNegativeInt


_adapter: Optional[TypeAdapter] = None


def validate_form_limits(limits: Optional[Dict[str, Any]]) -> Dict[str, int]:
    global _adapter
    if limits is None:
        return {}
    if _adapter is None:
        _adapter = TypeAdapter(_FormLimits)
    return _adapter.validate_python(limits)


def validate_max_body_size(max_body_size: Any) -> None:
    if max_body_size is None:
        return
    if isinstance(max_body_size, bool) or not isinstance(max_body_size, int) or max_body_size < 0:
        raise ValueError("max_body_size must be a non-negative integer or None")


def get_body_size_limit(*limits: Optional[int]) -> Optional[int]:
    for limit in limits:
        if limit is not None:
            return limit
    return None


def engine_form_limits(limits: Optional[Dict[str, int]]) -> Optional[Tuple[int, int, int]]:
    """(max_files, max_fields, max_part_size) for the glue, None = defaults."""
    if not limits:
        return None
    d = {**_DEFAULTS, **limits}
    return (d["max_files"], d["max_fields"], d["max_part_size"])


def _dependants(route: Any) -> Iterator[Any]:
    """Each Dependant of the route's tree once (none for a route without)."""
    dependant = getattr(route, "dependant", None)
    todo, seen = ([dependant] if dependant is not None else []), set()
    while todo:
        dep = todo.pop()
        if id(dep) in seen:
            continue
        seen.add(id(dep))
        yield dep
        todo.extend(dep.dependencies)


def _no_body_params(route: Any) -> bool:
    return getattr(route, "dependant", None) is not None and getattr(route, "body_field", None) is None


# a body a Request reads (or the bridge's ASGI receive gives) waits in a temp
# file past this many bytes: Starlette's own spool size for uploads
SPOOL_BYTES = 1024 * 1024


def body_unread(route: Any) -> bool:
    """True when nothing in the route can read the request body: no body
    parameter and no Request anywhere in its dependency tree (FastAPI's limit
    acts as the body is read, so an unread chunked body is never refused)."""
    return _no_body_params(route) and not any(d.request_param_name or d.body_params
                                              for d in _dependants(route))


def body_spool(route: Any) -> bool:
    """True when the route's body is read by user code only, through a
    Request (its stream(), body(), form()...): no body parameter anywhere in
    its dependency tree, a Request somewhere. The engine may then keep a
    big body in a temp file (fr_route_opts.body_spool) that the Request
    reads in pieces, as FastAPI's Request reads it from the server."""
    deps = list(_dependants(route))
    return (_no_body_params(route) and not any(d.body_params for d in deps)
            and any(d.request_param_name for d in deps))


def multipart_stream(route: Any) -> bool:
    """True when the engine may stream this route's multipart/form-data
    bodies to disk as they arrive (fr_route_opts.multipart_stream): its body
    is Form/File parameters only and nothing in its dependency tree sees the
    raw request (Request, HTTPConnection), which would need the body bytes
    (Request.body(), a Request built over the whole body)."""
    from .dependencies.param_models import form_model
    from .params import Form
    form = False
    for dep in _dependants(route):
        if (dep.request_param_name or getattr(dep, "http_connection_param_name", None)
                or getattr(dep, "websocket_param_name", None)):
            return False
        for f in dep.body_params:
            if not isinstance(getattr(f, "field_info", None), Form):
                return False
            if form_model(f) is not None:  # read through a Request (param_models)
                return False
            form = True
    return form
