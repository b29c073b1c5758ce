"""The user-facing parameter functions (``Query(...)``, ``Path(...)``...), as in
FastAPI's ``fastapi.param_functions``. Each returns the matching
``fastrapi.params`` instance; all keyword arguments of the classes apply."""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from . import params
from ._compat import Undefined


def Path(default: Any = ..., **kwargs: Any) -> Any:  # noqa: N802
    return params.Path(default, **kwargs)


def Query(default: Any = Undefined, **kwargs: Any) -> Any:  # noqa: N802
    return params.Query(default, **kwargs)


def Header(default: Any = Undefined, *, convert_underscores: bool = True,  # noqa: N802
           **kwargs: Any) -> Any:
    return params.Header(default, convert_underscores=convert_underscores, **kwargs)


def Cookie(default: Any = Undefined, **kwargs: Any) -> Any:  # noqa: N802
    return params.Cookie(default, **kwargs)


def Body(default: Any = Undefined, *, embed: Optional[bool] = None,  # noqa: N802
         media_type: str = "application/json", **kwargs: Any) -> Any:
    return params.Body(default, embed=embed, media_type=media_type, **kwargs)


def Form(default: Any = Undefined, *,  # noqa: N802
         media_type: str = "application/x-www-form-urlencoded", **kwargs: Any) -> Any:
    return params.Form(default, media_type=media_type, **kwargs)


def File(default: Any = Undefined, *, media_type: str = "multipart/form-data",  # noqa: N802
         **kwargs: Any) -> Any:
    return params.File(default, media_type=media_type, **kwargs)


def Depends(dependency: Optional[Callable[..., Any]] = None, *,  # noqa: N802
            use_cache: bool = True, scope: Optional[str] = None,
            max_concurrency: Optional[int] = None) -> Any:
    return params.Depends(dependency=dependency, use_cache=use_cache, scope=scope,
                          max_concurrency=max_concurrency)


def Security(dependency: Optional[Callable[..., Any]] = None, *,  # noqa: N802
             scopes: Optional[Sequence[str]] = None, use_cache: bool = True) -> Any:
    return params.Security(dependency=dependency, scopes=scopes, use_cache=use_cache)
