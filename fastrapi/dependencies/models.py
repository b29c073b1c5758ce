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
        return (self.call, tuple(sorted(set(self.security_scopes or []))), self.scope or "")
