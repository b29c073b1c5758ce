"""Server-Sent Events (FastAPI's ``fastapi.sse``): ``EventSourceResponse`` as
the ``response_class`` of a path operation that ``yield``s, ``ServerSentEvent``
for full control of one event. Each event is framed by the engine's
``fr_sse_event`` (src/sse.c); the path operation's items are validated and
JSON-encoded as FastAPI does (see ``fastrapi.routing``)."""
from __future__ import annotations

from typing import Annotated, Any, List, Optional

from pydantic import AfterValidator, BaseModel, Field, model_validator

from ._fastrapi import sse_event as _sse_event
from .responses import StreamingResponse

# FastAPI's canonical SSE event schema (OpenAPI 3.2, section 4.14.4)
_SSE_EVENT_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "data": {"type": "string"},
        "event": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer", "minimum": 0},
    },
}


class EventSourceResponse(StreamingResponse):
    """Streaming response with the ``text/event-stream`` media type. Use as
    ``response_class=EventSourceResponse`` on a path operation that yields
    (any HTTP method)."""

    media_type = "text/event-stream"


def _check_single_line(v: Optional[str], field_name: str) -> Optional[str]:
    if v is not None and ("\r" in v or "\n" in v):
        raise ValueError(f"SSE '{field_name}' must be a single line")
    return v


def _check_event_single_line(v: Optional[str]) -> Optional[str]:
    return _check_single_line(v, "event")


def _check_id_valid(v: Optional[str]) -> Optional[str]:
    if v is not None and "\0" in v:
        raise ValueError("SSE 'id' must not contain null characters")
    return _check_single_line(v, "id")


class ServerSentEvent(BaseModel):
    """Represents a single Server-Sent Event.

    When `yield`ed from a *path operation function* that uses
    `response_class=EventSourceResponse`, each `ServerSentEvent` is encoded
    into the [SSE wire format](https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream)
    (`text/event-stream`).

    If you yield a plain object (dict, Pydantic model, etc.) instead, it is
    automatically JSON-encoded and sent as the `data:` field.

    All `data` values **including plain strings** are JSON-serialized.

    For example, `data="hello"` produces `data: "hello"` on the wire (with
    quotes).
    """

    data: Any = None
    raw_data: Optional[str] = None
    event: Annotated[Optional[str], AfterValidator(_check_event_single_line)] = None
    id: Annotated[Optional[str], AfterValidator(_check_id_valid)] = None
    retry: Annotated[Optional[int], Field(ge=0)] = None
    comment: Optional[str] = None

    @model_validator(mode="after")
    def _check_data_exclusive(self) -> "ServerSentEvent":
        if self.data is not None and self.raw_data is not None:
            raise ValueError(
                "Cannot set both 'data' and 'raw_data' on the same "
                "ServerSentEvent. Use 'data' for JSON-serialized payloads "
                "or 'raw_data' for pre-formatted strings."
            )
        return self


def _split_sse_lines(value: str) -> List[str]:
    return value.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def format_sse_event(*, data_str: Optional[str] = None, event: Optional[str] = None,
                     id: Optional[str] = None, retry: Optional[int] = None,
                     comment: Optional[str] = None) -> bytes:
    """SSE wire-format bytes from pre-serialised data (ends with ``\\n\\n``)."""
    return _sse_event(data_str, event, id, retry, comment)


# Keep-alive comment, per the SSE spec recommendation
KEEPALIVE_COMMENT = b": ping\n\n"

# Seconds between keep-alive pings when a generator is idle. Private but
# importable so tests can monkeypatch it (fastrapi.routing._PING_INTERVAL is
# the one read, as fastapi.routing's).
_PING_INTERVAL: float = 15.0
