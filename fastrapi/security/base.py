"""Base class of the security schemes.

A scheme is a dependency (its instance is passed to ``Depends``/``Security``)
that also describes itself for OpenAPI: ``model`` is the OpenAPI security
scheme object and ``scheme_name`` its key in ``components.securitySchemes``.
"""
from __future__ import annotations

from typing import Any

from ..openapi.models import SecurityBase as SecurityBaseModel


class SecurityBase:
    model: SecurityBaseModel
    scheme_name: str
    auto_error: bool

    def _not_authenticated(self, headers: dict, starlette: bool = False) -> Any:
        """The 401 raised when credentials are missing or unusable: fastapi's
        HTTPException, or Starlette's (FastAPI's API key and OpenID Connect
        schemes raise Starlette's)."""
        if starlette:
            from starlette.exceptions import HTTPException
        else:
            from ..exceptions import HTTPException  # type: ignore[assignment]

        return HTTPException(status_code=401, detail="Not authenticated", headers=headers)
