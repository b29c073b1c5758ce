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


class BodyMessages:
    """The http.request messages of a body the engine read (scope["body"]):
    its bytes at once, or a spooled one (a temp file the engine wrote it to)
    in 64 KiB pieces; None once all were given."""

    def __init__(self, body: Any) -> None:
        self.body, self.off, self.done = body, 0, False

    def next(self) -> Optional[Message]:
        if self.done:
            return None
        if self.body.__class__ is bytes:
            self.done = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        piece = os.pread(self.body.fileno(), _PIECE, self.off)  # its own offset: the fd is shared
        self.off += len(piece)
        self.done = len(piece) < _PIECE
        return {"type": "http.request", "body": piece, "more_body": not self.done}


class _EngineRequest(StarletteRequest):
    def __init__(self, scope: Scope, receive: Optional[Receive] = None,
                 send: Send = empty_send) -> None:
        if "body" in scope:  # the engine's request: the body is read already
            # received as from a server: Starlette's stream() and body() then
            # behave as FastAPI's ("Stream consumed")
            self._fr_messages = BodyMessages(scope["body"])
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
        message = self._fr_messages.next()
        if message is not None:
            return message
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
        if "body" not in self.scope or self._fr_messages.body.__class__ is not bytes:  # spooled
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
        gone = self.scope.get("fastrapi.client_gone")
        if gone is not None:  # the engine knows (fr_req_client_gone), or the ASGI face watches
            return bool(gone())
        if "body" in self.scope:
            return False
        return await super().is_disconnected()


Request = StarletteRequest
