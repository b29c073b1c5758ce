"""``TestClient``: Starlette's TestClient API over real sockets.

The app is served by the C engine on an ephemeral 127.0.0.1 port in a
background thread and an ``httpx.Client`` talks to it, so tests exercise the
real parser, router, parameter extraction and encoder. Requests carry
``Host: testserver`` like Starlette's client. ``with TestClient(app)`` runs
the lifespan (startup/shutdown)."""
from __future__ import annotations

from typing import Any, Dict, Optional

import httpx


class _Transport(httpx.BaseTransport):
    def __init__(self, port: int) -> None:
        self._port = port
        # plain HTTP to 127.0.0.1: no TLS, so no CA bundle to load (25 ms per client)
        self._inner = httpx.HTTPTransport(retries=1, verify=False)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # Send a copy addressed to the socket; the client keeps `request`,
        # whose URL (http://testserver/...) decides what a redirect keeps
        # (httpx drops Authorization across origins) and the cookie domain,
        # as with Starlette's TestClient.
        headers = httpx.Headers(request.headers)
        if "host" not in headers:
            headers["host"] = request.url.netloc.decode("ascii")
        wire = httpx.Request(request.method,
                             request.url.copy_with(scheme="http", host="127.0.0.1",
                                                   port=self._port),
                             headers=headers, stream=request.stream,
                             extensions=request.extensions)
        return self._inner.handle_request(wire)

    def close(self) -> None:
        self._inner.close()


class TestClient(httpx.Client):
    __test__ = False

    def __new__(cls, app: Any, *args: Any, **kwargs: Any) -> Any:
        if not hasattr(app, "_start_background"):
            # not a fastrapi app (a Starlette app, a middleware wrapped around
            # the app, a bare ASGI callable: what fastapi.testclient takes
            # under fastrapi.compat): Starlette's own TestClient serves it
            from starlette.testclient import TestClient as StarletteTestClient
            return StarletteTestClient(app, *args, **kwargs)
        return super().__new__(cls)

    def __init__(self, app: Any, base_url: str = "http://testserver",
                 raise_server_exceptions: bool = True, root_path: str = "",
                 backend: str = "asyncio", backend_options: Optional[Dict[str, Any]] = None,
                 cookies: Any = None, headers: Optional[Dict[str, str]] = None,
                 follow_redirects: bool = True, client: Any = ("testclient", 50000)) -> None:
        self.app = app
        # Starlette's TestClient re-raises the app's unhandled exceptions in
        # the test; the engine reports them per route (fastrapi._runtime.log_exc).
        self._exc_sink: Optional[list] = [] if raise_server_exceptions else None
        self._mark_routes()
        self._version = app._routes_version()
        self._templates: list = []  # (template, context) of template answers (response.template)
        self._running = app._start_background("127.0.0.1", 0)
        self._running.server.set_debug_sink(self._templates)
        self._running.server.set_exc_sink(False if self._exc_sink is None else self._exc_sink)
        self._lifespan_running = False
        self._closed = False
        hdrs = {"user-agent": "testclient"}
        hdrs.update(headers or {})
        self._fr_transport = _Transport(self._running.port)
        super().__init__(base_url=base_url, headers=hdrs, transport=self._fr_transport,
                         follow_redirects=follow_redirects, cookies=cookies, timeout=60)

    def _mark_routes(self) -> None:
        try:
            self.app._fr_exc_sink = self._exc_sink
        except AttributeError:
            pass
        for route in getattr(self.app, "routes", ()):
            try:
                route._fr_exc_sink = self._exc_sink
            except AttributeError:
                pass

    def _refresh(self) -> None:
        """Routes added (or replaced) since the server started are served: the
        engine's routes are compiled when it starts, so start a new one."""
        version = self.app._routes_version()
        if (version == self._version and self._running is not None) or self._closed:
            return
        self._mark_routes()  # (a server again after a `with` block ended, as
        old, self._version = self._running, version  # Starlette's client keeps working)
        self._running = self.app._start_background("127.0.0.1", 0)
        self._running.server.set_debug_sink(self._templates)
        self._running.server.set_exc_sink(False if self._exc_sink is None else self._exc_sink)
        self._fr_transport._port = self._running.port
        if old is not None:
            old.stop()

    def request(self, *args: Any, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        self._refresh()
        sink = self._exc_sink
        del self._templates[:]
        try:
            response = super().request(*args, **kwargs)
        except httpx.TransportError as e:
            # a stream whose producer raised is cut without its terminal
            # chunk (as uvicorn cuts it): the app's exception, logged before
            # the cut, is what Starlette's TestClient raises
            if sink:
                exc = sink[0]
                sink.clear()
                raise exc from e
            raise
        if self._templates:  # Starlette's TestClient: from the http.response.debug message
            response.template, response.context = self._templates[-1]  # type: ignore[attr-defined]
        self._wait_after_work()  # raise_server_exceptions=False too: the call is whole
        if sink:
            exc = sink[0]
            sink.clear()
            raise exc
        return response

    def _wait_after_work(self) -> None:
        """Starlette's TestClient returns once the whole ASGI call is done, its
        background tasks included, and raises what they raised: wait until
        the server has no answered request whose after-work still runs."""
        import time
        running = self._running
        if running is None:
            return
        deadline = time.monotonic() + 60
        delay = 0.0005
        while running.server.live_requests() > 0 and time.monotonic() < deadline:
            time.sleep(delay)
            delay = min(delay * 2, 0.02)

    def websocket_connect(self, url: str, subprotocols: Any = None, **kwargs: Any) -> Any:
        """Starlette's ``websocket_connect`` (its session object), through the
        app's ASGI face (fastrapi._ws): same routes, dependencies and close
        codes as the native server, which tests/py/test_websockets.py checks."""
        from starlette.testclient import TestClient as StarletteTestClient
        client = StarletteTestClient(self.app, base_url=str(self.base_url),
                                     raise_server_exceptions=self._exc_sink is not None,
                                     headers=dict(self.headers), cookies=self.cookies)
        # the lifespan's state (websocket.state starts as its copy), as the
        # TestClient whose lifespan ran gives it
        client.app_state.update(getattr(self.app, "_fr_lifespan_state", None) or {})
        return client.websocket_connect(url, subprotocols=subprotocols, **kwargs)

    @property
    def port(self) -> int:
        return self._running.port

    @property
    def app_state(self) -> Dict[str, Any]:
        """Starlette's: the state the lifespan yielded ({} without one)."""
        state = getattr(self.app, "_fr_lifespan_state", None)
        return state if state is not None else {}

    def __enter__(self) -> "TestClient":
        # as Starlette's: the lifespan runs per `with` block, and the client
        # stays usable after it (and may enter again)
        self._refresh()
        self.app._run_startup()
        self._lifespan_running = True
        return self

    def __exit__(self, *args: Any) -> None:
        try:
            if self._lifespan_running:
                self._lifespan_running = False
                self.app._run_shutdown()
        finally:
            self._stop()  # a later request starts another server

    def _stop(self) -> None:
        r = getattr(self, "_running", None)
        if r is not None:
            self._running = None
            r.stop()

    def close(self) -> None:
        self._closed = True
        super().close()
        self._stop()

    def __del__(self) -> None:
        try:
            self._stop()
        except Exception:
            pass
