"""Real FastAPI objects handed to a fastrapi app.

A project that switches its own import to fastrapi may still import the
real ``fastapi`` somewhere (a plugin, a shared module): then parameters are
declared with ``fastapi.params.Query/Depends/...``, dependencies are
``fastapi.security`` schemes and routers are ``fastapi.APIRouter``. Those
objects are not fastrapi's, and isinstance checks would silently treat a
``fastapi.Depends(dep)`` default as a plain value. This module converts them,
at decoration time only, into fastrapi's equivalents (the classes are ports
of FastAPI's with the same attributes), so they behave exactly as on FastAPI.

Only exact FastAPI classes are converted; a user's subclass of a FastAPI
class is left alone (its overridden methods could not be carried over) and
keeps working as a plain callable dependency where it is one."""
from __future__ import annotations

import dataclasses
from typing import Any, Optional

_PARAMS = {"Query", "Path", "Header", "Cookie", "Body", "Form", "File"}
_DEPENDS = {"Depends", "Security"}
_SECURITY = {"APIKeyQuery", "APIKeyHeader", "APIKeyCookie", "HTTPBasic", "HTTPBearer",
             "HTTPDigest", "OAuth2", "OAuth2PasswordBearer", "OAuth2AuthorizationCodeBearer",
             "OpenIdConnect"}


def _origin(obj: Any) -> Optional[str]:
    """The FastAPI module that defines type(obj), or None when it is not FastAPI's."""
    mod = getattr(type(obj), "__module__", "") or ""
    if mod == "fastapi" or mod.startswith("fastapi."):
        return mod
    return None


def _copy_into(target: type, obj: Any) -> Any:
    new = target.__new__(target)
    for cls in type(obj).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if hasattr(obj, slot):
                object.__setattr__(new, slot, getattr(obj, slot))
    if hasattr(obj, "__dict__"):
        new.__dict__.update({k: _value(v) for k, v in obj.__dict__.items()})
    return new


def _value(v: Any) -> Any:
    """An attribute of a converted object: FastAPI's ParamTypes members and
    Default placeholders become fastrapi's."""
    mod = _origin(v)
    if mod == "fastapi.params" and type(v).__name__ == "ParamTypes":
        from .params import ParamTypes
        return ParamTypes(v.value)
    if mod is not None:
        return adopt(v)
    return v


def adopt(obj: Any) -> Any:
    """fastrapi's equivalent of a real FastAPI parameter declaration, Depends,
    security scheme or Default placeholder; anything else unchanged."""
    mod = _origin(obj)
    if mod is None:
        return obj
    name = type(obj).__name__
    if mod == "fastapi.params" and name in _PARAMS:
        from . import params
        return _copy_into(getattr(params, name), obj)
    if mod == "fastapi.params" and name in _DEPENDS:
        from . import params
        target = getattr(params, name)
        kw = {f.name: getattr(obj, f.name) for f in dataclasses.fields(target)
              if f.init and hasattr(obj, f.name)}
        kw["dependency"] = adopt(kw.get("dependency"))
        if getattr(obj, "max_concurrency", None) is not None:
            kw["max_concurrency"] = obj.max_concurrency
        return target(**kw)
    if mod.startswith("fastapi.security") and name in _SECURITY:
        from . import security
        return _copy_into(getattr(security, name), obj)
    if mod == "fastapi.datastructures" and name == "DefaultPlaceholder":
        from .datastructures import Default
        return Default(obj.value)
    return obj


def adopt_exception(exc: BaseException) -> BaseException:
    """A real FastAPI ``RequestValidationError`` (raised by a plugin that
    imports fastapi itself, as fastapi-filter does): fastrapi's, with its
    errors and body, so the app's handlers and the default 422 answer it as
    FastAPI would; anything else unchanged."""
    if _origin(exc) != "fastapi.exceptions" or type(exc).__name__ != "RequestValidationError":
        return exc
    from .exceptions import RequestValidationError
    new = RequestValidationError(exc.errors(), body=getattr(exc, "body", None))
    new.__cause__ = exc.__cause__
    new.__context__ = exc.__context__
    return new.with_traceback(exc.__traceback__)


def is_fastapi_route(route: Any) -> bool:
    """A real ``fastapi.routing.APIRoute`` (exact class) from an included
    ``fastapi.APIRouter``."""
    return _origin(route) == "fastapi.routing" and type(route).__name__ == "APIRoute"


def is_fastapi_default_lifespan(lifespan: Any) -> bool:
    """A real FastAPI/Starlette router's default lifespan (it only runs the
    router's on_startup/on_shutdown handlers, which include_router copies)."""
    mod = getattr(type(lifespan), "__module__", "") or ""
    return type(lifespan).__name__ == "_DefaultLifespan" and mod in ("fastapi.routing",
                                                                       "starlette.routing")
