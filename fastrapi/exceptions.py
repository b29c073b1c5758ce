"""Exceptions (FastAPI's ``fastapi.exceptions`` names)."""
from __future__ import annotations

import http
from typing import Any, Dict, Optional, Sequence


class HTTPException(Exception):
    def __init__(self, status_code: int, detail: Any = None,
                 headers: Optional[Dict[str, str]] = None) -> None:
        if detail is None:
            detail = http.HTTPStatus(status_code).phrase
        self.status_code = status_code
        self.detail = detail
        self.headers = headers

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}"

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(status_code={self.status_code!r}, detail={self.detail!r})"


class FastAPIError(RuntimeError):
    """A misconfiguration detected at decoration time."""


FastrAPIError = FastAPIError


class ValidationException(Exception):
    def __init__(self, errors: Sequence[Any]) -> None:
        self._errors = errors

    def errors(self) -> Sequence[Any]:
        return self._errors

    def __str__(self) -> str:
        return f"{len(self._errors)} validation error(s):\n" + "\n".join(
            f"  {e}" for e in self._errors)


class RequestValidationError(ValidationException):
    def __init__(self, errors: Sequence[Any], *, body: Any = None) -> None:
        super().__init__(errors)
        self.body = body


class ResponseValidationError(ValidationException):
    def __init__(self, errors: Sequence[Any], *, body: Any = None) -> None:
        super().__init__(errors)
        self.body = body


class WebSocketRequestValidationError(ValidationException):
    pass
