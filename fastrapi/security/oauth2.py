"""OAuth2 schemes (password and authorization-code flows), the password
request form, and ``SecurityScopes``."""
from __future__ import annotations

from typing import Annotated, Any, Dict, List, Optional, Union

from ..openapi.models import OAuth2 as OAuth2Model
from ..openapi.models import OAuthFlows as OAuthFlowsModel
from ..param_functions import Form
from ._request import Request
from .base import SecurityBase
from .utils import get_authorization_scheme_param


class OAuth2PasswordRequestForm:
    """Form body of the OAuth2 password flow (``username``, ``password``,
    optional ``grant_type=password``, ``scope`` split on spaces into
    ``.scopes``, ``client_id``, ``client_secret``). Use with ``Depends()``."""

    def __init__(
        self,
        *,
        grant_type: Annotated[Union[str, None], Form(pattern="^password$")] = None,
        username: Annotated[str, Form()],
        password: Annotated[str, Form(json_schema_extra={"format": "password"})],
        scope: Annotated[str, Form()] = "",
        client_id: Annotated[Union[str, None], Form()] = None,
        client_secret: Annotated[Union[str, None],
                                 Form(json_schema_extra={"format": "password"})] = None,
    ):
        self.grant_type = grant_type
        self.username = username
        self.password = password
        self.scopes = scope.split()
        self.client_id = client_id
        self.client_secret = client_secret


class OAuth2PasswordRequestFormStrict(OAuth2PasswordRequestForm):
    """Same as ``OAuth2PasswordRequestForm`` but ``grant_type`` is required."""

    def __init__(
        self,
        grant_type: Annotated[str, Form(pattern="^password$")],
        username: Annotated[str, Form()],
        password: Annotated[str, Form()],
        scope: Annotated[str, Form()] = "",
        client_id: Annotated[Union[str, None], Form()] = None,
        client_secret: Annotated[Union[str, None], Form()] = None,
    ):
        super().__init__(grant_type=grant_type, username=username, password=password,
                         scope=scope, client_id=client_id, client_secret=client_secret)


class OAuth2(SecurityBase):
    """Generic OAuth2 scheme: documents ``flows`` and returns the raw
    ``Authorization`` header value."""

    def __init__(self, *, flows: Union[OAuthFlowsModel, Dict[str, Dict[str, Any]]] = OAuthFlowsModel(),
                 scheme_name: Optional[str] = None, description: Optional[str] = None,
                 auto_error: bool = True):
        self.model = OAuth2Model(flows=flows, description=description)  # type: ignore[arg-type]
        self.scheme_name = scheme_name or self.__class__.__name__
        self.auto_error = auto_error

    def make_not_authenticated_error(self) -> Any:
        return self._not_authenticated({"WWW-Authenticate": "Bearer"})

    async def __call__(self, request: Request) -> Optional[str]:
        authorization = request.headers.get("Authorization")
        if not authorization:
            if self.auto_error:
                raise self.make_not_authenticated_error()
            return None
        return authorization

    def _bearer_token(self, request: Request) -> Optional[str]:
        authorization = request.headers.get("Authorization")
        scheme, param = get_authorization_scheme_param(authorization)
        if not authorization or scheme.lower() != "bearer":
            if self.auto_error:
                raise self.make_not_authenticated_error()
            return None
        return param


class OAuth2PasswordBearer(OAuth2):
    """Password flow with a bearer token; returns the token."""

    def __init__(self, tokenUrl: str, scheme_name: Optional[str] = None,  # noqa: N803
                 scopes: Optional[Dict[str, str]] = None, description: Optional[str] = None,
                 auto_error: bool = True, refreshUrl: Optional[str] = None):  # noqa: N803
        flows = OAuthFlowsModel(password={  # type: ignore[arg-type]
            "tokenUrl": tokenUrl, "refreshUrl": refreshUrl, "scopes": scopes or {}})
        super().__init__(flows=flows, scheme_name=scheme_name, description=description,
                         auto_error=auto_error)

    async def __call__(self, request: Request) -> Optional[str]:
        return self._bearer_token(request)


class OAuth2AuthorizationCodeBearer(OAuth2):
    """Authorization-code flow with a bearer token; returns the token."""

    def __init__(self, authorizationUrl: str, tokenUrl: str,  # noqa: N803
                 refreshUrl: Optional[str] = None, scheme_name: Optional[str] = None,  # noqa: N803
                 scopes: Optional[Dict[str, str]] = None, description: Optional[str] = None,
                 auto_error: bool = True):
        flows = OAuthFlowsModel(authorizationCode={  # type: ignore[arg-type]
            "authorizationUrl": authorizationUrl, "tokenUrl": tokenUrl,
            "refreshUrl": refreshUrl, "scopes": scopes or {}})
        super().__init__(flows=flows, scheme_name=scheme_name, description=description,
                         auto_error=auto_error)

    async def __call__(self, request: Request) -> Optional[str]:
        return self._bearer_token(request)


class SecurityScopes:
    """Injected into a dependency to read the scopes required by every
    ``Security(..., scopes=[...])`` above it: ``.scopes`` and ``.scope_str``."""

    def __init__(self, scopes: Optional[List[str]] = None):
        self.scopes: List[str] = scopes or []
        self.scope_str: str = " ".join(self.scopes)
