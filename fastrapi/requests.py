"""``Request`` is Starlette's class itself, as ``fastapi.Request`` is (plugins
compare annotations by identity: fastapi-cache2's ``p.annotation is Request``).
The C glue builds a ``_EngineRequest`` (a subclass) only when a handler or
dependency asks for one, as ``_EngineRequest(scope)``. The scope is an
ASGI HTTP scope plus ``body``: the whole request body, already read by the
engine, so ``body()``, ``stream()``, ``json()`` and ``form()`` read it from
there -- as bytes, or, for a big body of a route that reads it only
through its Request, as a temp file the engine wrote it to as it arrived
(fr_route_opts.body_spool), read in 64 KiB pieces as a server would send
them. Everything else (url, headers, query_params, cookies, client, state,
url_for...) is Starlette's own code. Without a ``body`` key in the scope the
class is a plain Starlette ``Request`` over ``receive``."""
from __future__ import annotations

import json
import os
from typing import Any, Optional

from starlette.requests import ClientDisconnect as ClientDisconnect  # noqa: F401
from starlette.requests import HTTPConnection as HTTPConnection  # noqa: F401
from starlette.requests import Request as StarletteRequest
from starlette.requests import cookie_parser as cookie_parser  # noqa: F401
from starlette.requests import empty_send
from starlette.types import Message, Receive, Scope, Send

from . import _fastrapi
from .datastructures import URL as URL  # noqa: F401
from .datastructures import Address as Address  # noqa: F401
from .datastructures import FormData
from .datastructures import Headers as Headers  # noqa: F401
from .datastructures import QueryParams as QueryParams  # noqa: F401
from .datastructures import State as State  # noqa: F401


_PIECE = 65536  # a spooled body's pieces (what uvicorn's reads give)


def read_piece(f: Any, off: int) -> Message:
    """The http.request message of a spooled body (a temp file the engine
    wrote it to) from offset `off`: pread, as the fd's own offset is shared."""
    piece = os.pread(f.fileno(), _PIECE, off)
    return {"type": "http.request", "body": piece, "more_body": len(piece) == _PIECE}


class _EngineRequest(StarletteRequest):
    def __init__(self, scope: Scope, receive: Optional[Receive] = None,
                 send: Send = empty_send) -> None:
        if "body" in scope:  # the engine's request: the body is read already
            body = scope["body"]  # received as from a server: Starlette's stream() and
            if body.__class__ is bytes:  # body() then behave as FastAPI's ("Stream consumed")
                self._fr_bytes = body
            else:  # a temp file (the engine spooled a big body): read in pieces
                self._fr_file, self._fr_off = body, 0
            if "state" not in scope:  # uvicorn: a copy of the lifespan state, {} without
                state = getattr(scope.get("app"), "_fr_lifespan_state", None)
                scope["state"] = state.copy() if state else {}
            super().__init__(scope, self._fr_receive if receive is None else receive, send)
        elif receive is None:
            super().__init__(scope, send=send)
        else:
            super().__init__(scope, receive, send)

    async def _fr_receive(self) -> Message:
        """The ASGI receive channel over the body the engine has read: the
        body once (a spooled one in pieces), then (as a connected client)
        nothing until cancelled."""
        f = self.__dict__.get("_fr_file")
        if f is not None and not self.__dict__.get("_fr_sent"):
            message = read_piece(f, self._fr_off)
            self._fr_off += len(message["body"])
            self._fr_sent = not message["more_body"]
            return message
        if not self.__dict__.get("_fr_sent"):
            self._fr_sent = True
            return {"type": "http.request", "body": self._fr_bytes, "more_body": False}
        import asyncio
        await asyncio.get_running_loop().create_future()
        raise AssertionError("unreachable")  # pragma: no cover

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:  # the engine's JSON reader; json.loads for what it refuses (NaN, errors)
                self._json = _fastrapi.loads(body)
            except ValueError:
                self._json = json.loads(body)
        return self._json

    def form(self, *, max_files: Any = 1000, max_fields: Any = 1000,
             max_part_size: int = 1024 * 1024) -> Any:
        if "body" not in self.scope or "_fr_file" in self.__dict__:
            return super().form(max_files=max_files, max_fields=max_fields,
                                max_part_size=max_part_size)
        from starlette._utils import AwaitableOrContextManagerWrapper
        return AwaitableOrContextManagerWrapper(self._fr_form(max_files, max_fields, max_part_size))

    async def _fr_form(self, max_files: Any = 1000, max_fields: Any = 1000,
                       max_part_size: int = 1024 * 1024) -> FormData:
        if self._form is None:
            from ._runtime import parse_multipart
            body = b"".join([c async for c in self.stream()])  # as Starlette's parser: consumed
            self._form = FormData(parse_multipart(body, self.headers.get("content-type"),
                                                  max_files, max_fields, max_part_size))
        return self._form

    async def is_disconnected(self) -> bool:
        if "body" in self.scope:
            return False
        return await super().is_disconnected()


Request = StarletteRequest
