"""HTTP authentication schemes (RFC 7235): Basic, Bearer, Digest and a
generic one. Each reads ``Authorization`` and answers 401 with the matching
``WWW-Authenticate`` challenge when it is missing or of another scheme."""
from __future__ import annotations

from typing import Any, Dict, Optional

from pydantic import BaseModel

from ..openapi.models import HTTPBase as HTTPBaseModel
from ..openapi.models import HTTPBearer as HTTPBearerModel
from ._request import Request
from .base import SecurityBase
from .utils import get_authorization_scheme_param, parse_basic_credentials


class HTTPBasicCredentials(BaseModel):
    """What ``HTTPBasic`` returns: the decoded user name and password."""

    username: str
    password: str


class HTTPAuthorizationCredentials(BaseModel):
    """What ``HTTPBearer``/``HTTPDigest``/``HTTPBase`` return: the scheme as
    sent and the rest of the header value."""

    scheme: str
    credentials: str


class HTTPBase(SecurityBase):
    model: HTTPBaseModel

    def __init__(self, *, scheme: str, scheme_name: Optional[str] = None,
                 description: Optional[str] = None, auto_error: bool = True):
        self.model = HTTPBaseModel(scheme=scheme, description=description)
        self.scheme_name = scheme_name or self.__class__.__name__
        self.auto_error = auto_error

    def make_authenticate_headers(self) -> Dict[str, str]:
        return {"WWW-Authenticate": f"{self.model.scheme.title()}"}

    def make_not_authenticated_error(self) -> Any:
        return self._not_authenticated(self.make_authenticate_headers())

    def _credentials(self, request: Request, required_scheme: Optional[str]
                     ) -> Optional[HTTPAuthorizationCredentials]:
        authorization = request.headers.get("Authorization")
        scheme, credentials = get_authorization_scheme_param(authorization)
        if not (authorization and scheme and credentials) or (
                required_scheme is not None and scheme.lower() != required_scheme):
            if self.auto_error:
                raise self.make_not_authenticated_error()
            return None
        return HTTPAuthorizationCredentials(scheme=scheme, credentials=credentials)

    async def __call__(self, request: Request) -> Optional[HTTPAuthorizationCredentials]:
        return self._credentials(request, None)


class HTTPBasic(HTTPBase):
    """HTTP Basic: returns ``HTTPBasicCredentials``. Undecodable credentials
    are a 401 even with ``auto_error=False`` (as in FastAPI)."""

    def __init__(self, *, scheme_name: Optional[str] = None, realm: Optional[str] = None,
                 description: Optional[str] = None, auto_error: bool = True):
        self.model = HTTPBaseModel(scheme="basic", description=description)
        self.scheme_name = scheme_name or self.__class__.__name__
        self.realm = realm
        self.auto_error = auto_error

    def make_authenticate_headers(self) -> Dict[str, str]:
        if self.realm:
            return {"WWW-Authenticate": f'Basic realm="{self.realm}"'}
        return {"WWW-Authenticate": "Basic"}

    async def __call__(self, request: Request) -> Optional[HTTPBasicCredentials]:  # type: ignore[override]
        authorization = request.headers.get("Authorization")
        scheme, param = get_authorization_scheme_param(authorization)
        if not authorization or scheme.lower() != "basic":
            if self.auto_error:
                raise self.make_not_authenticated_error()
            return None
        parsed = parse_basic_credentials(param)
        if parsed is None:
            raise self.make_not_authenticated_error()
        return HTTPBasicCredentials(username=parsed[0], password=parsed[1])


class HTTPBearer(HTTPBase):
    """``Authorization: Bearer <token>``; returns HTTPAuthorizationCredentials."""

    def __init__(self, *, bearerFormat: Optional[str] = None,  # noqa: N803
                 scheme_name: Optional[str] = None, description: Optional[str] = None,
                 auto_error: bool = True):
        self.model = HTTPBearerModel(bearerFormat=bearerFormat, description=description)
        self.scheme_name = scheme_name or self.__class__.__name__
        self.auto_error = auto_error

    async def __call__(self, request: Request) -> Optional[HTTPAuthorizationCredentials]:
        return self._credentials(request, "bearer")


class HTTPDigest(HTTPBase):
    """``Authorization: Digest ...``; returns the raw credentials (checking
    them is the application's job)."""

    def __init__(self, *, scheme_name: Optional[str] = None,
                 description: Optional[str] = None, auto_error: bool = True):
        self.model = HTTPBaseModel(scheme="digest", description=description)
        self.scheme_name = scheme_name or self.__class__.__name__
        self.auto_error = auto_error

    async def __call__(self, request: Request) -> Optional[HTTPAuthorizationCredentials]:
        return self._credentials(request, "digest")
