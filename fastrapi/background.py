"""Background tasks (run after the response has been sent): Starlette's
``BackgroundTask``, and ``BackgroundTasks`` subclassing Starlette's, as
FastAPI's does."""
from __future__ import annotations

from typing import Any, Callable

from starlette.background import BackgroundTask as BackgroundTask  # noqa: F401
from starlette.background import BackgroundTasks as StarletteBackgroundTasks


class BackgroundTasks(StarletteBackgroundTasks):
    """Functions (``def`` or ``async def``) called after the response is sent."""

    def add_task(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        return super().add_task(func, *args, **kwargs)
