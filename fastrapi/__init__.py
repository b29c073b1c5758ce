"""fastrapi: a FastAPI-compatible web framework on a C11 engine.

    from fastrapi import FastrAPI
    app = FastrAPI()

    @app.get("/hello")
    def hello():
        return {"message": "world"}

    app.serve("127.0.0.1", 8080)
"""
__version__ = "0.1.0"


def get_include() -> str:
    """The directory of ``fastrapi.h`` for compiling native modules
    (``cc -shared -fPIC -I$(python -c 'import fastrapi; print(fastrapi.get_include())')``;
    see fastrapi.native)."""
    from .native import get_include as _get_include
    return _get_include()


from . import status as status
from .applications import FastAPI as FastAPI
from .applications import FastrAPI as FastrAPI
from .background import BackgroundTasks as BackgroundTasks
from .datastructures import UploadFile as UploadFile
from .exceptions import HTTPException as HTTPException
from .exceptions import RequestValidationError as RequestValidationError
from .exceptions import WebSocketException as WebSocketException
from .param_functions import Body as Body
from .param_functions import Cookie as Cookie
from .param_functions import Depends as Depends
from .param_functions import File as File
from .param_functions import Form as Form
from .param_functions import Header as Header
from .param_functions import Path as Path
from .param_functions import Query as Query
from .param_functions import Security as Security
from .requests import Request as Request
from .responses import Response as Response
from .routing import APIRoute as APIRoute
from .routing import APIRouter as APIRouter
from .websockets import WebSocket as WebSocket
from .websockets import WebSocketDisconnect as WebSocketDisconnect
# the seed's (FastrAPI's) other top-level names, aliases of the real classes
from .instrumentator import Instrumentator as Instrumentator
from .security import APIKeyCookie as APIKeyCookie
from .security import APIKeyHeader as APIKeyHeader
from .security import APIKeyQuery as APIKeyQuery
from .security import HTTPBasic as HTTPBasic
from .security import HTTPBearer as HTTPBearer
from .security import OAuth2PasswordBearer as OAuth2PasswordBearer
from .security import SecurityScopes as SecurityScopes
from .staticfiles import StaticFiles as StaticFiles

__all__ = ["FastrAPI", "FastAPI", "APIRouter", "APIRoute", "Depends", "Query", "Path", "Body",
           "Header", "Cookie", "Form", "File", "Security", "UploadFile", "Request", "Response",
           "HTTPException", "RequestValidationError", "BackgroundTasks", "status",
           "WebSocket", "WebSocketDisconnect", "WebSocketException",
           "Instrumentator", "SecurityScopes", "OAuth2PasswordBearer", "HTTPBearer", "HTTPBasic",
           "APIKeyHeader", "APIKeyQuery", "APIKeyCookie", "StaticFiles"]
