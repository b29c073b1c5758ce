"""OpenID Connect discovery scheme: documents the discovery URL and passes
the raw ``Authorization`` header on."""
from __future__ import annotations

from typing import Any, Optional

from ..openapi.models import OpenIdConnect as OpenIdConnectModel
from ._request import Request
from .base import SecurityBase


class OpenIdConnect(SecurityBase):
    def __init__(self, *, openIdConnectUrl: str, scheme_name: Optional[str] = None,  # noqa: N803
                 description: Optional[str] = None, auto_error: bool = True):
        self.model = OpenIdConnectModel(openIdConnectUrl=openIdConnectUrl,
                                        description=description)
        self.scheme_name = scheme_name or self.__class__.__name__
        self.auto_error = auto_error

    def make_not_authenticated_error(self) -> Any:
        return self._not_authenticated({"WWW-Authenticate": "Bearer"}, starlette=True)

    async def __call__(self, request: Request) -> Optional[str]:
        authorization = request.headers.get("Authorization")
        if not authorization:
            if self.auto_error:
                raise self.make_not_authenticated_error()
            return None
        return authorization
