"""Prometheus metrics, FastrAPI's ``Instrumentator`` (and the usual
prometheus-fastapi-instrumentator spelling)::

    from fastrapi import Instrumentator
    Instrumentator().instrument(app).expose(app, endpoint="/metrics")

Counted in C (metrics.h) by a middleware outermost in the engine's chain,
per route template, method and status:

- ``fastrapi_requests_total`` (counter)
- ``fastrapi_request_duration_seconds`` (histogram; Prometheus' default
  buckets unless ``buckets=`` is given)
- ``fastrapi_metrics_dropped_total`` (label sets refused: table full)

Unmatched requests are labelled ``handler="none"``; unknown methods
``method="OTHER"`` (raw paths never become labels). The table is made when
the Instrumentator is created, as a shared mapping: with ``workers=N`` every
worker process counts into the same table and any of them answers the totals.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from .responses import Response

CONTENT_TYPE_LATEST = "text/plain; version=0.0.4; charset=utf-8"


class Instrumentator:
    """``buckets``: histogram upper bounds in seconds (increasing, at most 32);
    ``max_series``: label sets kept (0 = the engine's FR_METRICS_MAX_SERIES,
    1024); ``metric_namespace``: the metric name prefix (default "fastrapi")."""

    def __init__(self, *, buckets: Optional[Sequence[float]] = None, max_series: int = 0,
                 metric_namespace: str = "fastrapi") -> None:
        from . import _fastrapi
        if buckets is not None:
            buckets = [float(b) for b in buckets]
            if buckets and buckets[-1] == float("inf"):  # prometheus_client style: +Inf implied
                buckets = buckets[:-1]
        self._cap = _fastrapi.metrics_new(int(max_series), buckets, metric_namespace)

    def instrument(self, app: Any) -> "Instrumentator":
        """Count every request of ``app`` (from the next server build on)."""
        if getattr(app, "_fr_metrics", None) not in (None, self._cap):
            raise RuntimeError("this app is already instrumented by another Instrumentator")
        app._fr_metrics = self._cap
        bump = getattr(getattr(app, "router", None), "_routes_version", None)
        if isinstance(bump, int):  # rebuild the ASGI face's engine app with the middleware
            app.router._routes_version += 1
        return self

    def render(self) -> bytes:
        """The exposition text (Prometheus text format 0.0.4)."""
        from . import _fastrapi
        return _fastrapi.metrics_render(self._cap)

    def expose(self, app: Any, endpoint: str = "/metrics", include_in_schema: bool = True,
               tags: Optional[Sequence[str]] = None, **kwargs: Any) -> "Instrumentator":
        """Serve the exposition on GET ``endpoint``; extra keyword arguments go
        to ``app.add_api_route`` (e.g. ``dependencies=``)."""
        if not isinstance(endpoint, str) or not endpoint.startswith("/"):
            raise ValueError("Prometheus metrics endpoint must start with '/', got %r"
                             % (endpoint,))
        render = self.render

        def metrics() -> Response:
            return Response(content=render(), media_type=CONTENT_TYPE_LATEST)

        app.add_api_route(endpoint, metrics, methods=["GET"], include_in_schema=include_in_schema,
                          tags=list(tags) if tags else None, **kwargs)
        return self
