"""FastAPI's ``fastapi.middleware`` import paths (Starlette's classes, as in
FastAPI), plus the seed's ``from fastrapi.middleware import CORSMiddleware,
GZipMiddleware, SessionMiddleware, TrustedHostMiddleware,
HTTPSRedirectMiddleware``. Names load lazily: a middleware's optional
dependency (itsdangerous for sessions) is imported only when it is used."""
from typing import Any

from starlette.middleware import Middleware as Middleware

_LAZY = {
    "CORSMiddleware": "starlette.middleware.cors",
    "GZipMiddleware": "starlette.middleware.gzip",
    "TrustedHostMiddleware": "starlette.middleware.trustedhost",
    "HTTPSRedirectMiddleware": "starlette.middleware.httpsredirect",
    "SessionMiddleware": "starlette.middleware.sessions",
}

__all__ = ["Middleware", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fastrapi.middleware' has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(module), name)
