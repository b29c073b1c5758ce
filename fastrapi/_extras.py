"""The seed's route extras, mapped onto the engine (policy.h, metrics.h).

- ``cache_resp=True``: the route's response is computed once -- at startup
  (FastrAPI calls the handler during startup), or by the first GET when the
  app was not started (a TestClient used without ``with``) -- and then served
  by the engine from a stored copy (status, headers, body), no Python per
  request.
- ``rate_limit=N``: N requests per second per client address on that route,
  then 429 ``{"detail":"Too Many Requests"}`` with ``Retry-After``, decided in C.
- metrics (fastrapi.instrumentator): counted in C, outermost in the chain.

The engine objects are made at decoration time, before ``workers=N`` forks,
so the rate-limit and metrics tables are shared by every worker process.
Nothing here runs per request.
"""
from __future__ import annotations

import logging
import re
from typing import Any, List, Optional

logger = logging.getLogger("fastrapi")

_PARAM = re.compile(r"{[^}]*}")


def _ext() -> Any:
    from . import _fastrapi
    return _fastrapi


def route_options(route: Any, cache_resp: bool, rate_limit: Optional[int]) -> None:
    """Validate and attach the extras of one APIRoute (decoration time)."""
    route.cache_resp = bool(cache_resp)
    route.rate_limit = rate_limit
    route._fr_ratelimit = None
    route._fr_resp_cache = None
    if rate_limit is not None:
        if isinstance(rate_limit, bool) or not isinstance(rate_limit, int):
            raise TypeError("rate_limit must be an int (requests per second per client), "
                            "got %r" % (rate_limit,))
        if rate_limit < 1:
            raise ValueError("rate_limit must be >= 1 request per second, got %r" % (rate_limit,))
        route._fr_ratelimit = _ext().ratelimit_new(rate_limit)
    if cache_resp:
        if _PARAM.search(route.path):
            raise ValueError("cache_resp=True needs a path without parameters (the response "
                             "is computed once), got %r" % route.path)
        if "GET" not in (route.methods or ()):
            raise ValueError("cache_resp=True needs a GET route (the stored response is the "
                             "one a GET gets), got methods %r" % sorted(route.methods or ()))
        route._fr_resp_cache = _ext().resp_cache_new()


def _policy_routes(app: Any) -> List[Any]:
    return [r for r in app.routes
            if getattr(r, "_fr_ratelimit", None) is not None
            or getattr(r, "_fr_resp_cache", None) is not None]


def use_metrics(app: Any, srv: Any) -> None:
    """Build time, before the other middlewares: metrics is the outermost."""
    cap = getattr(app, "_fr_metrics", None)
    if cap is not None:
        _ext().use_metrics(srv, cap)


def use_policies(app: Any, srv: Any, engine_path: Any) -> None:
    """Build time, after the other middlewares: the policies are innermost."""
    entries = []
    seen = set()
    for r in _policy_routes(app):
        for m in sorted(r.methods):
            key = (m, engine_path(r.path))
            if key in seen:  # Starlette: the first registered route wins
                continue
            seen.add(key)
            entries.append((m, key[1], r._fr_ratelimit, r._fr_resp_cache))
    if entries:
        _ext().use_policies(srv, entries)


async def warm(app: Any) -> None:
    """Startup: run each cache_resp route once so its response is stored."""
    ext = _ext()
    for r in _policy_routes(app):
        cache = r._fr_resp_cache
        if cache is None or ext.resp_cache_filled(cache):
            continue
        path = r.path
        scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
                 "http_version": "1.1", "method": "GET", "scheme": "http", "path": path,
                 "raw_path": path.encode("utf-8"), "query_string": b"", "root_path": "",
                 "headers": [(b"host", b"localhost")], "client": None,
                 "server": ("localhost", 80)}
        sent = {"status": None}

        async def receive() -> Any:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            if message.get("type") == "http.response.start":
                sent["status"] = message.get("status")

        try:
            await app(scope, receive, send)
        except Exception:  # the route stays uncached; its first GET fills it
            logger.exception("cache_resp: computing %s at startup failed", path)
            continue
        if not ext.resp_cache_filled(cache):
            logger.warning("cache_resp: %s answered %s at startup (only 2xx/3xx complete "
                           "bodies are stored); the first GET that gets one fills it",
                           path, sent["status"])
