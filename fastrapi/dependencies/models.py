"""The dependency graph as analysed at decoration time (mirror of FastAPI's
``fastapi.dependencies.models.Dependant``). The route's compiled plan for the
C engine is derived from this tree (see ``fastrapi.dependencies.utils``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional

from .._compat import ModelField


@dataclass
class SecurityRequirement:
    security_scheme: Any
    scopes: Optional[List[str]] = None


@dataclass
class Dependant:
    path_params: List[ModelField] = field(default_factory=list)
    query_params: List[ModelField] = field(default_factory=list)
    header_params: List[ModelField] = field(default_factory=list)
    cookie_params: List[ModelField] = field(default_factory=list)
    body_params: List[ModelField] = field(default_factory=list)
    dependencies: List["Dependant"] = field(default_factory=list)
    security_requirements: List[SecurityRequirement] = field(default_factory=list)
    name: Optional[str] = None
    call: Optional[Callable[..., Any]] = None
    request_param_name: Optional[str] = None
    websocket_param_name: Optional[str] = None
    http_connection_param_name: Optional[str] = None
    response_param_name: Optional[str] = None
    background_tasks_param_name: Optional[str] = None
    security_scopes_param_name: Optional[str] = None
    security_scopes: Optional[List[str]] = None
    own_oauth_scopes: Optional[List[str]] = None
    parent_oauth_scopes: Optional[List[str]] = None
    use_cache: bool = True
    path: Optional[str] = None
    scope: Optional[str] = None
    concurrency: Any = None  # Depends(max_concurrency=...)'s _DependencyConcurrency

    @property
    def cache_key(self):
        """FastAPI 0.165's: the OAuth2 scopes count only for a dependency that
        uses them (itself or below it); a generator's scope is "request"
        when none is given."""
        scopes = tuple(sorted(set(self.security_scopes or []))) if _uses_scopes(self) else ()
        return (self.call, scopes, _computed_scope(self) or "")


def oauth_scopes(parent: Optional[List[str]], own: Optional[List[str]]) -> List[str]:
    """FastAPI's _get_oauth_scopes: the parent's scopes, then its own that
    are not among them yet."""
    scopes = list(parent or [])
    for scope in own or []:
        if scope not in scopes:
            scopes.append(scope)
    return scopes


def _uses_scopes(dep: Dependant) -> bool:
    if dep.own_oauth_scopes or dep.security_scopes_param_name is not None:
        return True
    from .utils import _security_base_class
    base = _security_base_class()
    if base is not None and isinstance(dep.call, base):
        return True
    return any(_uses_scopes(sub) for sub in dep.dependencies)


def _computed_scope(dep: Dependant) -> Optional[str]:
    if dep.scope:
        return dep.scope
    from .utils import is_async_gen_callable, is_gen_callable
    if is_gen_callable(dep.call) or is_async_gen_callable(dep.call):
        return "request"
    return None
