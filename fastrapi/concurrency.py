"""FastAPI's ``fastapi.concurrency``: Starlette's thread-pool helpers and
``contextmanager_in_threadpool``."""
from __future__ import annotations

from contextlib import AbstractContextManager
from contextlib import asynccontextmanager as asynccontextmanager
import weakref
from typing import Any, AsyncGenerator, TypeVar

import anyio.to_thread
from anyio import CancelScope, CapacityLimiter
from starlette.concurrency import iterate_in_threadpool as iterate_in_threadpool  # noqa: F401
from starlette.concurrency import run_in_threadpool as run_in_threadpool  # noqa: F401
from starlette.concurrency import run_until_first_complete as run_until_first_complete  # noqa: F401

_T = TypeVar("_T")


@asynccontextmanager
async def contextmanager_in_threadpool(cm: AbstractContextManager) -> AsyncGenerator:
    """A sync context manager used from async code: ``__enter__`` and
    ``__exit__`` run in the thread pool (``__exit__`` without the pool's
    capacity limit, as FastAPI does, so it never waits for a free thread)."""
    exit_limiter = CapacityLimiter(1)
    value = await run_in_threadpool(cm.__enter__)
    try:
        yield value
    except BaseException as e:
        with CancelScope(shield=True):
            ok = bool(await anyio.to_thread.run_sync(
                cm.__exit__, type(e), e, e.__traceback__, limiter=exit_limiter))
        if not ok:
            raise
    else:
        with CancelScope(shield=True):
            await anyio.to_thread.run_sync(cm.__exit__, None, None, None, limiter=exit_limiter)


class _DependencyConcurrency:
    """``Depends(max_concurrency=N)``: at most N calls of that dependency at
    once per event loop (FastAPI 0.165); a waiting call holds no thread."""

    def __init__(self, max_concurrency: int) -> None:
        self.max_concurrency = max_concurrency
        self._semaphores: "weakref.WeakKeyDictionary[Any, anyio.Semaphore]" = \
            weakref.WeakKeyDictionary()

    def get_semaphore(self) -> "anyio.Semaphore":
        import asyncio
        loop = asyncio.get_running_loop()
        sem = self._semaphores.get(loop)
        if sem is None:
            sem = self._semaphores[loop] = anyio.Semaphore(self.max_concurrency)
        return sem


def limit_dependency(call: Any, kind: str, concurrency: _DependencyConcurrency) -> Any:
    """``call`` as an async function ("async") or async generator ("agen")
    that holds a slot of ``concurrency`` while it runs -- for a generator,
    until the code after its ``yield`` has finished, as FastAPI does. A sync
    function or generator still runs in the thread pool, only once it has
    its slot. Decoration time; the engine then runs the wrapper like any
    other async dependency."""
    if kind in ("sync", "async"):
        async def limited(*args: Any, **kwargs: Any) -> Any:
            async with concurrency.get_semaphore():
                if kind == "async":
                    return await call(*args, **kwargs)
                return await run_in_threadpool(call, *args, **kwargs)
    else:
        from contextlib import contextmanager

        async def limited(*args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
            async with concurrency.get_semaphore():
                if kind == "agen":
                    cm: Any = asynccontextmanager(call)(*args, **kwargs)
                else:
                    cm = contextmanager_in_threadpool(contextmanager(call)(*args, **kwargs))
                async with cm as value:
                    yield value
    limited.__name__ = getattr(call, "__name__", type(call).__name__)
    limited.__qualname__ = getattr(call, "__qualname__", limited.__name__)
    limited.__wrapped_dependency__ = call  # type: ignore[attr-defined]
    return limited
