"""Exceptions (FastAPI's ``fastapi.exceptions`` names). ``HTTPException`` and
``WebSocketException`` subclass Starlette's, as FastAPI's do."""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, TypedDict

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.exceptions import WebSocketException as StarletteWebSocketException


class EndpointContext(TypedDict, total=False):
    function: str
    path: str
    file: str
    line: int


class HTTPException(StarletteHTTPException):
    """An HTTP error for the client: ``{"detail": detail}`` with ``status_code``
    and optional ``headers``."""

    def __init__(self, status_code: int, detail: Any = None,
                 headers: Optional[Mapping[str, str]] = None) -> None:
        super().__init__(status_code=status_code, detail=detail, headers=headers)


class WebSocketException(StarletteWebSocketException):
    def __init__(self, code: int, reason: Optional[str] = None) -> None:
        super().__init__(code=code, reason=reason)


class FastAPIError(RuntimeError):
    """A generic, FastAPI-specific error (misconfiguration at decoration time)."""


FastrAPIError = FastAPIError


class DependencyScopeError(FastAPIError):
    """A dependency depends on another one with a narrower scope."""


class PydanticV1NotSupportedError(FastAPIError):
    """A pydantic.v1 model is used, which is not supported."""


class FastAPIDeprecationWarning(UserWarning):
    """A deprecation warning that is shown by default (DeprecationWarning is not)."""


class ValidationException(Exception):
    def __init__(self, errors: Sequence[Any], *,
                 endpoint_ctx: Optional[EndpointContext] = None) -> None:
        self._errors = errors
        self.endpoint_ctx = endpoint_ctx
        ctx = endpoint_ctx or {}
        self.endpoint_function = ctx.get("function")
        self.endpoint_path = ctx.get("path")
        self.endpoint_file = ctx.get("file")
        self.endpoint_line = ctx.get("line")

    def errors(self) -> Sequence[Any]:
        return self._errors

    def _format_endpoint_context(self) -> str:
        if not (self.endpoint_file and self.endpoint_line and self.endpoint_function):
            if self.endpoint_path:
                return f"\n  Endpoint: {self.endpoint_path}"
            return ""
        context = (f'\n  File "{self.endpoint_file}", line {self.endpoint_line}, '
                   f"in {self.endpoint_function}")
        if self.endpoint_path:
            context += f"\n    {self.endpoint_path}"
        return context

    def __str__(self) -> str:
        n = len(self._errors)
        message = f"{n} validation error{'s' if n != 1 else ''}:\n"
        for err in self._errors:
            message += f"  {err}\n"
        message += self._format_endpoint_context()
        return message.rstrip()


class RequestValidationError(ValidationException):
    def __init__(self, errors: Sequence[Any], *, body: Any = None,
                 endpoint_ctx: Optional[EndpointContext] = None) -> None:
        super().__init__(errors, endpoint_ctx=endpoint_ctx)
        self.body = body


class WebSocketRequestValidationError(ValidationException):
    def __init__(self, errors: Sequence[Any], *,
                 endpoint_ctx: Optional[EndpointContext] = None) -> None:
        super().__init__(errors, endpoint_ctx=endpoint_ctx)


class ResponseValidationError(ValidationException):
    def __init__(self, errors: Sequence[Any], *, body: Any = None,
                 endpoint_ctx: Optional[EndpointContext] = None) -> None:
        super().__init__(errors, endpoint_ctx=endpoint_ctx)
        self.body = body


def __getattr__(name: str) -> Any:
    # FastAPI's error models (pydantic create_model at import would cost import time)
    if name in ("RequestErrorModel", "WebSocketErrorModel"):
        from pydantic import create_model
        model = create_model("Request" if name == "RequestErrorModel" else "WebSocket")
        globals()[name] = model
        return model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
