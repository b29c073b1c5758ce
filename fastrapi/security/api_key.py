"""API key schemes: a key in a query parameter, a header or a cookie."""
from __future__ import annotations

from typing import Any, Optional

from ..openapi.models import APIKey, APIKeyIn
from ._request import Request
from .base import SecurityBase


class APIKeyBase(SecurityBase):
    model: APIKey

    def __init__(self, location: APIKeyIn, name: str, description: Optional[str],
                 scheme_name: Optional[str], auto_error: bool):
        self.auto_error = auto_error
        self.model = APIKey(**{"in": location}, name=name, description=description)
        self.scheme_name = scheme_name or self.__class__.__name__

    def make_not_authenticated_error(self) -> Any:
        """401 with ``WWW-Authenticate: APIKey`` (FastAPI >= 0.122 behaviour)."""
        return self._not_authenticated({"WWW-Authenticate": "APIKey"}, starlette=True)

    def check_api_key(self, api_key: Optional[str]) -> Optional[str]:
        if not api_key:
            if self.auto_error:
                raise self.make_not_authenticated_error()
            return None
        return api_key


class APIKeyQuery(APIKeyBase):
    """API key read from the query parameter ``name``."""

    def __init__(self, *, name: str, scheme_name: Optional[str] = None,
                 description: Optional[str] = None, auto_error: bool = True):
        super().__init__(location=APIKeyIn.query, name=name, scheme_name=scheme_name,
                         description=description, auto_error=auto_error)

    async def __call__(self, request: Request) -> Optional[str]:
        return self.check_api_key(request.query_params.get(self.model.name))


class APIKeyHeader(APIKeyBase):
    """API key read from the header ``name`` (case-insensitive)."""

    def __init__(self, *, name: str, scheme_name: Optional[str] = None,
                 description: Optional[str] = None, auto_error: bool = True):
        super().__init__(location=APIKeyIn.header, name=name, scheme_name=scheme_name,
                         description=description, auto_error=auto_error)

    async def __call__(self, request: Request) -> Optional[str]:
        return self.check_api_key(request.headers.get(self.model.name))


class APIKeyCookie(APIKeyBase):
    """API key read from the cookie ``name``."""

    def __init__(self, *, name: str, scheme_name: Optional[str] = None,
                 description: Optional[str] = None, auto_error: bool = True):
        super().__init__(location=APIKeyIn.cookie, name=name, scheme_name=scheme_name,
                         description=description, auto_error=auto_error)

    async def __call__(self, request: Request) -> Optional[str]:
        return self.check_api_key(request.cookies.get(self.model.name))
