"""The request type the scheme dependencies declare (so the dependency
analysis injects the current request into ``__call__``)."""
from __future__ import annotations

try:
    from ..requests import Request
except ImportError:  # pragma: no cover - only while the package is being assembled
    class Request:  # type: ignore[no-redef]
        """Placeholder until fastrapi.requests exists."""

__all__ = ["Request"]
