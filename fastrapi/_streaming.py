"""Path operations that ``yield`` (FastAPI 0.134+): JSON Lines by default,
Server-Sent Events with ``response_class=EventSourceResponse``, the raw items
handed to any other ``response_class``. Decoration time decides which
(``stream_kind``, ``stream_item_type``); the route's plan then calls the
endpoint through ``plan_call``, which returns the ``StreamingResponse`` that
the engine streams. Items are validated and serialised as FastAPI does."""
from __future__ import annotations

import asyncio
import collections.abc as cabc
import copy
import json
import math
from typing import Any, AsyncIterator, Callable, Iterator, Optional, get_args, get_origin

from ._compat import lenient_issubclass
from .datastructures import DefaultPlaceholder
from .dependencies import utils as _du

SSE, JSONL, RAW = "sse", "jsonl", "raw"

_STREAM_ORIGINS = {cabc.AsyncIterable, cabc.AsyncIterator, cabc.AsyncGenerator,
                   cabc.Iterable, cabc.Iterator, cabc.Generator}

# the private name under which the plan passes the sub-response (FastAPI's
# `response: Response` parameter) when the endpoint does not declare one
_SUB = "_fr_stream_sub_response"


def is_generator(call: Any) -> bool:
    return _du.is_gen_callable(call) or _du.is_async_gen_callable(call)


def get_stream_item_type(annotation: Any) -> Any:
    """FastAPI's: the item type of ``AsyncIterable[X]`` & co, ``Any`` when
    bare, None for anything else."""
    origin = get_origin(annotation)
    if origin is not None and origin in _STREAM_ORIGINS:
        args = get_args(annotation)
        return args[0] if args else Any
    return None


def stream_kind(endpoint: Any, response_class: Any) -> Optional[str]:
    if not is_generator(endpoint):
        return None
    from .sse import EventSourceResponse
    if isinstance(response_class, DefaultPlaceholder):
        return JSONL
    if lenient_issubclass(response_class, EventSourceResponse):
        return SSE
    return RAW


def item_type_for(kind: Optional[str], annotation: Any) -> Any:
    """(is_stream_annotation, item type to validate or None)."""
    from .sse import ServerSentEvent
    item = get_stream_item_type(annotation)
    if item is None or kind is None:
        return False, None
    if kind in (JSONL, SSE) and not lenient_issubclass(item, ServerSentEvent):
        return True, item
    return True, None


# ---- per-item serialisation (FastAPI's _serialize_data) ----

def _normalize_non_finite_floats(data: Any) -> Any:
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: _normalize_non_finite_floats(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_normalize_non_finite_floats(v) for v in data]
    return data


def _json_plain(data: Any) -> bytes:
    from .encoders import jsonable_encoder
    return json.dumps(_normalize_non_finite_floats(jsonable_encoder(data))).encode("utf-8")


def serializer(route: Any) -> Callable[[Any], bytes]:
    field = getattr(route, "stream_item_field", None)
    if field is None:
        return _json_plain
    from .exceptions import ResponseValidationError
    kw = dict(include=route.response_model_include, exclude=route.response_model_exclude,
              by_alias=route.response_model_by_alias,
              exclude_unset=route.response_model_exclude_unset,
              exclude_defaults=route.response_model_exclude_defaults,
              exclude_none=route.response_model_exclude_none)

    def ser(item: Any) -> bytes:
        value, errors = field.validate(item, {}, loc=("response",))
        if errors:
            raise ResponseValidationError(errors=errors, body=item)
        return field.serialize_json(value, **kw)

    return ser


def sse_serializer(route: Any) -> Callable[[Any], bytes]:
    from .sse import ServerSentEvent, format_sse_event
    ser = serializer(route)

    def to_event(item: Any) -> bytes:
        if isinstance(item, ServerSentEvent):
            # the user's event: its data is not validated against the item type
            if item.raw_data is not None:
                data: Optional[str] = item.raw_data
            elif item.data is not None:
                if hasattr(item.data, "model_dump_json"):
                    data = item.data.model_dump_json()
                else:
                    data = _json_plain(item.data).decode("utf-8")
            else:
                data = None
            return format_sse_event(data_str=data, event=item.event, id=item.id,
                                    retry=item.retry, comment=item.comment)
        return format_sse_event(data_str=ser(item).decode("utf-8"))

    return to_event


# ---- the streamed bodies ----

async def _jsonl_async(gen: Any, ser: Callable[[Any], bytes]) -> AsyncIterator[bytes]:
    try:
        async for item in gen:
            yield ser(item) + b"\n"
    finally:
        await gen.aclose()


def _jsonl_sync(gen: Any, ser: Callable[[Any], bytes]) -> Iterator[bytes]:
    try:
        for item in gen:
            yield ser(item) + b"\n"
    finally:
        gen.close()


async def _sse_body(gen: Any, is_async: bool, to_event: Callable[[Any], bytes]) -> AsyncIterator[bytes]:
    """FastAPI's producer + keep-alive inserter: a task pulls the generator
    (a sync one on a thread), the body waits for it at most _PING_INTERVAL
    seconds (fastrapi.routing._PING_INTERVAL, read per wait) and sends
    KEEPALIVE_COMMENT when it is idle."""
    from . import routing
    from .sse import KEEPALIVE_COMMENT
    if is_async:
        source: Any = gen
    else:
        from starlette.concurrency import iterate_in_threadpool
        source = iterate_in_threadpool(gen)
    queue: asyncio.Queue = asyncio.Queue(maxsize=1)
    end = object()

    async def producer() -> None:
        try:
            async for raw in source:
                await queue.put(to_event(raw))
        except asyncio.CancelledError:
            raise
        except BaseException as e:  # handed to the body, which raises it
            await queue.put(e)
            return
        await queue.put(end)

    task = asyncio.ensure_future(producer())
    getter: Any = None
    try:
        while True:
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({getter}, timeout=routing._PING_INTERVAL)
            if not done:
                getter.cancel()
                yield KEEPALIVE_COMMENT
                continue
            data = getter.result()
            if data is end:
                return
            if isinstance(data, BaseException):
                raise data
            yield data
    finally:
        if getter is not None:
            getter.cancel()
        task.cancel()
        try:
            await task
        except BaseException:
            pass
        if is_async:
            await gen.aclose()
        else:
            try:
                gen.close()
            except ValueError:  # still running on its thread
                pass


def _response(route: Any, gen: Any, sub: Any) -> Any:
    """FastAPI's streamed answer of a path operation that yields: the
    sub-response's (``response: Response``) status and headers join it."""
    resp = _stream_response(route, gen, sub)
    if sub is not None:
        resp.raw_headers.extend(h for h in sub.raw_headers if h[0].lower() != b"content-length")
    return resp


def _stream_response(route: Any, gen: Any, sub: Any) -> Any:
    from .responses import StreamingResponse
    kind = route._fr_stream
    is_async = _du.is_async_gen_callable(route.endpoint) or hasattr(gen, "__anext__")
    args: dict = {}
    status = route.status_code or None
    sub_status = getattr(sub, "status_code", None)
    if status or sub_status:
        args["status_code"] = sub_status or status
    if kind == SSE:
        body = _sse_body(gen, is_async, route._fr_stream_ser)
        resp = StreamingResponse(body, media_type="text/event-stream", **args)
        resp.headers["Cache-Control"] = "no-cache"
        resp.headers["X-Accel-Buffering"] = "no"
        return resp
    if kind == JSONL:
        ser = route._fr_stream_ser
        body = _jsonl_async(gen, ser) if is_async else _jsonl_sync(gen, ser)
        return StreamingResponse(body, media_type="application/jsonl", **args)
    rc = route.response_class
    if isinstance(rc, DefaultPlaceholder):
        rc = rc.value
    return rc(content=gen, **args)


def prepare(route: Any) -> None:
    """Per-route serialisers (after stream_item_field is set)."""
    route._fr_stream_ser = (sse_serializer(route) if route._fr_stream == SSE
                            else serializer(route))


def plan_dependant(route: Any) -> Any:
    """The route's dependant with its call replaced by one that calls the
    generator function and returns the response to stream."""
    dep = copy.copy(route.dependant)
    endpoint = dep.call
    own = dep.response_param_name
    if own is None:
        dep.response_param_name = _SUB
    prepare(route)

    async def call(**kw: Any) -> Any:
        sub = kw.pop(_SUB, None) if own is None else kw.get(own)
        return _response(route, endpoint(**kw), sub)

    call.__name__ = getattr(endpoint, "__name__", "endpoint")
    call.__qualname__ = getattr(endpoint, "__qualname__", call.__name__)
    call.__module__ = getattr(endpoint, "__module__", None)  # type: ignore[assignment]
    dep.call = call
    return dep
