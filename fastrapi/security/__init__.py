"""Security utilities, the same classes FastAPI's ``fastapi.security`` has.

Each scheme instance is a dependency (``Depends(scheme)`` /
``Security(scheme, scopes=[...])``) that reads the credentials from the
request and describes itself in the OpenAPI document.
"""
from .api_key import APIKeyCookie as APIKeyCookie
from .api_key import APIKeyHeader as APIKeyHeader
from .api_key import APIKeyQuery as APIKeyQuery
from .http import HTTPAuthorizationCredentials as HTTPAuthorizationCredentials
from .http import HTTPBasic as HTTPBasic
from .http import HTTPBasicCredentials as HTTPBasicCredentials
from .http import HTTPBearer as HTTPBearer
from .http import HTTPDigest as HTTPDigest
from .oauth2 import OAuth2 as OAuth2
from .oauth2 import OAuth2AuthorizationCodeBearer as OAuth2AuthorizationCodeBearer
from .oauth2 import OAuth2PasswordBearer as OAuth2PasswordBearer
from .oauth2 import OAuth2PasswordRequestForm as OAuth2PasswordRequestForm
from .oauth2 import OAuth2PasswordRequestFormStrict as OAuth2PasswordRequestFormStrict
from .oauth2 import SecurityScopes as SecurityScopes
from .open_id_connect_url import OpenIdConnect as OpenIdConnect

__all__ = [
    "APIKeyCookie", "APIKeyHeader", "APIKeyQuery", "HTTPAuthorizationCredentials",
    "HTTPBasic", "HTTPBasicCredentials", "HTTPBearer", "HTTPDigest", "OAuth2",
    "OAuth2AuthorizationCodeBearer", "OAuth2PasswordBearer", "OAuth2PasswordRequestForm",
    "OAuth2PasswordRequestFormStrict", "OpenIdConnect", "SecurityScopes",
]
