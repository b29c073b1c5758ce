"""FastAPI's ``fastapi.concurrency``: Starlette's thread-pool helpers and
``contextmanager_in_threadpool``."""
from __future__ import annotations

from contextlib import AbstractContextManager
from contextlib import asynccontextmanager as asynccontextmanager
from typing import AsyncGenerator, TypeVar

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
