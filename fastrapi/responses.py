"""Response classes: Starlette's own (as FastAPI re-exports them).

The C glue reads ``status_code``, ``raw_headers``, ``body`` and
``background`` of any ``starlette.responses.Response``, iterates
``body_iterator`` of a ``StreamingResponse`` and sends the file of a
``FileResponse`` itself (``fastrapi._runtime.file_open``)."""
from __future__ import annotations

import importlib
from collections.abc import AsyncIterable
from typing import Any, Mapping, Optional

from starlette.background import BackgroundTask
from starlette.responses import FileResponse as FileResponse  # noqa: F401
from starlette.responses import HTMLResponse as HTMLResponse  # noqa: F401
from starlette.responses import JSONResponse as JSONResponse  # noqa: F401
from starlette.responses import PlainTextResponse as PlainTextResponse  # noqa: F401
from starlette.responses import RedirectResponse as RedirectResponse  # noqa: F401
from starlette.responses import Response as Response  # noqa: F401
from starlette.responses import StreamingResponse as StarletteStreamingResponse
from starlette.datastructures import MutableHeaders as MutableHeaders  # noqa: F401
from typing_extensions import deprecated

from .exceptions import FastAPIDeprecationWarning


class _StopIter(Exception):
    """StopIteration cannot cross a thread's future (as Starlette's)."""


def _next(it: Any) -> Any:
    try:
        return next(it)
    except StopIteration:
        raise _StopIter from None


class ThreadpoolIterator:
    """Starlette's ``iterate_in_threadpool`` over a sync iterable, as an
    object: ``async for`` takes each item on a worker thread, as Starlette's
    async generator does. The engine knows this type and iterates the sync
    iterator itself (``_fr_sync``) on its worker, with no hop per chunk."""

    __slots__ = ("content", "it")

    def __init__(self, content: Any) -> None:
        self.content = content
        self.it: Any = None

    @property
    def _fr_sync(self) -> Any:
        if self.it is None:
            self.it = iter(self.content)
        return self.it

    def __aiter__(self) -> "ThreadpoolIterator":
        return self

    async def __anext__(self) -> Any:
        import anyio.to_thread
        it = self._fr_sync
        try:
            return await anyio.to_thread.run_sync(_next, it)
        except _StopIter:
            raise StopAsyncIteration from None


class StreamingResponse(StarletteStreamingResponse):
    """Starlette's ``StreamingResponse``. A sync iterable becomes a
    ``ThreadpoolIterator``: asynchronously iterable, as Starlette's
    ``iterate_in_threadpool`` makes it, while the engine iterates the sync
    iterator on its worker thread directly (Starlette hops to a thread per
    chunk)."""

    def __init__(self, content: Any, status_code: int = 200,
                 headers: Optional[Mapping[str, str]] = None,
                 media_type: Optional[str] = None,
                 background: Optional[BackgroundTask] = None) -> None:
        self.body_iterator = content if isinstance(content, AsyncIterable) else ThreadpoolIterator(content)
        self.status_code = status_code
        self.media_type = self.media_type if media_type is None else media_type
        self.background = background
        self.init_headers(headers)


def _optional(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:  # pragma: no cover
        return None


_DEPRECATED = ("{} is deprecated, FastAPI now serializes data directly to JSON bytes via "
               "Pydantic when a return type or response model is set, which is faster and "
               "doesn't need a custom response class. Read more in the FastAPI docs: "
               "https://fastapi.tiangolo.com/advanced/custom-response/#orjson-or-response-model "
               "and https://fastapi.tiangolo.com/tutorial/response-model/")


@deprecated(_DEPRECATED.format("UJSONResponse"), category=FastAPIDeprecationWarning,
            stacklevel=2)
class UJSONResponse(JSONResponse):
    """JSON with ujson (deprecated, as in FastAPI), which must be installed."""

    def render(self, content: Any) -> bytes:
        ujson = _optional("ujson")
        assert ujson is not None, "ujson must be installed to use UJSONResponse"
        return ujson.dumps(content, ensure_ascii=False).encode("utf-8")


@deprecated(_DEPRECATED.format("ORJSONResponse"), category=FastAPIDeprecationWarning,
            stacklevel=2)
class ORJSONResponse(JSONResponse):
    """JSON with orjson (deprecated, as in FastAPI), which must be installed."""

    def render(self, content: Any) -> bytes:
        orjson = _optional("orjson")
        assert orjson is not None, "orjson must be installed to use ORJSONResponse"
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)


def __getattr__(name: str) -> Any:
    # FastAPI's fastapi.responses re-exports fastapi.sse's EventSourceResponse
    # (imported on first use: fastrapi.sse imports this module)
    if name == "EventSourceResponse":
        from .sse import EventSourceResponse
        return EventSourceResponse
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
