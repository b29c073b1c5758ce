"""Background tasks: run after the response has been sent."""
from __future__ import annotations

import asyncio
import inspect
from typing import Any, Callable, List


class BackgroundTask:
    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs
        f = func
        while hasattr(f, "func") and not inspect.isfunction(f):  # functools.partial
            f = f.func
        self.is_async = inspect.iscoroutinefunction(f) or inspect.iscoroutinefunction(
            getattr(f, "__call__", None))

    async def __call__(self) -> None:
        if self.is_async:
            await self.func(*self.args, **self.kwargs)
        else:
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: self.func(*self.args, **self.kwargs))


class BackgroundTasks(BackgroundTask):
    def __init__(self, tasks: Any = None) -> None:
        self.tasks: List[BackgroundTask] = list(tasks) if tasks else []

    def add_task(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.tasks.append(BackgroundTask(func, *args, **kwargs))

    async def __call__(self) -> None:
        for task in self.tasks:
            await task()
